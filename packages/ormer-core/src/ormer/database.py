"""``Database.connect`` / ``Database.create_pool`` and ``DbType`` (docs/index.md)."""

from __future__ import annotations

import enum
import time
from typing import Any

from . import plugins
from .connection import Connection
from .dialect import URL, Dialect
from .errors import ConfigurationError
from .pool_builder import PoolBuilder
from .pool_config import UrlSource
from .timeouts import take_option

__all__ = ["Database", "DbType", "resolve_target"]


class DbType(enum.StrEnum):
    """The database kind. Plugins may add names: ``DbType("duckdb")`` works when one does."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    TURSO = "turso"

    @classmethod
    def _missing_(cls, value: object) -> DbType | None:
        if not isinstance(value, str):
            return None
        name = value.lower()
        for member in cls:
            if member.value == name:
                return member
        # Unknown or uninstalled: DialectNotFoundError naming the installed dialects
        # (Enum re-raises what _missing_ raises).
        plugins.registry().entry_for_name(name)
        member = str.__new__(cls, name)
        member._name_ = name.upper()
        member._value_ = name
        return member

    def __str__(self) -> str:
        return str(self.value)


def resolve_target(db_type_or_url: DbType | str, url: str | None) -> tuple[Dialect, URL]:
    """Pick the dialect and parse the URL for ``connect``/``create_pool`` arguments."""
    if url is None:
        if isinstance(db_type_or_url, DbType):
            raise ConfigurationError(f"{db_type_or_url.value}: a URL or path is required")
        target = db_type_or_url
        if "://" not in target:
            raise ConfigurationError(
                f"malformed database URL {target!r}: expected scheme://... "
                "(or pass the DbType first: Database.connect(DbType.SQLITE, 'app.db'))"
            )
        dialect = plugins.get_dialect(target.split("://", 1)[0].lower())
        return dialect, dialect.parse_target(target)
    if isinstance(db_type_or_url, DbType):
        name = db_type_or_url.value
    elif isinstance(db_type_or_url, str):
        name = db_type_or_url.lower()
    else:
        raise ConfigurationError(f"expected a DbType or dialect name, got {db_type_or_url!r}")
    registry = plugins.registry()
    dialect = registry.instance(registry.entry_for_name(name))
    return dialect, dialect.parse_target(url)


class Database:
    """Entry points: ``await Database.connect(...)`` and ``Database.create_pool(...)``."""

    @staticmethod
    async def connect(
        db_type_or_url: DbType | str, url: str | None = None, **options: Any
    ) -> Connection:
        """Open one connection.

        ``Database.connect(DbType.SQLITE, "app.db")`` or
        ``Database.connect("postgresql://u:p@host/db")`` (the scheme picks the dialect).
        ``options`` go to the driver's connect call, except ``statement_timeout``
        (seconds; also a URL option): the connection's default statement limit.
        """
        dialect, parsed = resolve_target(db_type_or_url, url)
        parsed, options, statement_timeout = take_option(parsed, options)
        start = time.monotonic()
        driver = await dialect.connect(parsed, options)
        created = plugins.query_hooks().connection_created
        conn = Connection(dialect, driver, target=parsed)
        conn.statement_timeout = statement_timeout
        if created is not None:
            created(conn=driver, pool=None, elapsed=time.monotonic() - start)
        return conn

    @staticmethod
    def create_pool(
        db_type_or_url: DbType | str | UrlSource, url: str | UrlSource | None = None
    ) -> PoolBuilder:
        """Configure a connection pool; ``await builder.build()`` (or ``await builder``) opens it.

        ``Database.create_pool(DbType.POSTGRESQL, "postgresql://...").max_size(10).build()``;
        with read replicas, ``Database.create_pool(primary_url).replicas(url, ...)``
        builds a :class:`~ormer.ReplicatedPool` (docs/scaling.md).

        The URL may be a function (or coroutine function) returning it, called at each
        connect: rotating credentials reach new connections without a restart
        (``create_pool(DbType.POSTGRESQL, fetch_url)``, or ``create_pool(fetch_url)``,
        whose first URL then names the dialect at ``build()``).
        """
        if url is None and callable(db_type_or_url) and not isinstance(db_type_or_url, str):
            return PoolBuilder(None, None, db_type_or_url)
        if callable(url) and not isinstance(url, str):
            if isinstance(db_type_or_url, DbType):
                name = db_type_or_url.value
            elif isinstance(db_type_or_url, str):
                name = db_type_or_url.lower()
            else:
                raise ConfigurationError(
                    f"expected a DbType or dialect name, got {db_type_or_url!r}"
                )
            registry = plugins.registry()
            return PoolBuilder(registry.instance(registry.entry_for_name(name)), None, url)
        if callable(db_type_or_url) and not isinstance(db_type_or_url, (str, DbType)):
            raise ConfigurationError("a URL function takes the place of the URL, not of the DbType")
        dialect, parsed = resolve_target(db_type_or_url, url)
        return PoolBuilder(dialect, parsed)

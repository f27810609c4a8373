"""``Database.connect`` / ``Database.create_pool`` and ``DbType`` (docs/index.md)."""

from __future__ import annotations

import enum
from typing import Any

from . import plugins
from .connection import Connection
from .dialect import URL, Dialect
from .errors import ConfigurationError
from .pool import PoolBuilder
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
        driver = await dialect.connect(parsed, options)
        created = plugins.query_hooks().connection_created
        conn = Connection(dialect, driver)
        conn.statement_timeout = statement_timeout
        if created is not None:
            created(conn=driver)
        return conn

    @staticmethod
    def create_pool(db_type_or_url: DbType | str, url: str | None = None) -> PoolBuilder:
        """Configure a connection pool; ``await builder.build()`` (or ``await builder``) opens it.

        ``Database.create_pool(DbType.POSTGRESQL, "postgresql://...").max_size(10).build()``;
        with read replicas, ``Database.create_pool(primary_url).replicas(url, ...)``
        builds a :class:`~ormer.ReplicatedPool` (docs/scaling.md).
        """
        dialect, parsed = resolve_target(db_type_or_url, url)
        return PoolBuilder(dialect, parsed)

"""The plugin seam: :class:`Dialect` (SQL rules, type map, capability flags).
The driver contract, :class:`DriverConnection` and its optional capabilities,
lives in :mod:`ormer.driver` (``DriverConnection`` and ``Row`` are re-exported here).

A backend subclasses :class:`Dialect` and overrides only what differs from the
portable defaults here; SQL generation itself lives in
:class:`ormer.compiler.SQLCompiler`, which a dialect may subclass too
(``compiler_class``). Nothing in core asks a dialect for its name: it reads
capability flags and calls overridable methods.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

from .driver import DriverConnection, Row
from .driverkit import json_text, typed
from .errors import ConfigurationError, NotSupportedError
from .types import ColumnType, Kind

if TYPE_CHECKING:
    from .compiler import SQLCompiler
    from .connection import Connection
    from .hydrate import RowsConverter
    from .migrations.live import LiveTable
    from .migrations.schema import ColumnSchema
    from .plans import FindPlan, InsertKey, InsertPlan, RawKey

__all__ = ["URL", "Dialect", "DriverConnection", "Dumper", "Loader", "Row", "parse_url"]

Dumper = Callable[[Any], Any]
Loader = Callable[[Any], Any]

_INT_WIDTHS = {"SMALLINT": 2, "INTEGER": 4, "INT": 4, "BIGINT": 8}
_SIZED = re.compile(r"^(VARCHAR|CHARACTER VARYING|CHAR|NUMERIC|DECIMAL)\((\d+)(?:,(\d+))?\)$")


def _portable_type_change(old: str, new: str) -> str:
    """The widenings every SQL database shares, on normalized types (else narrow)."""
    if old in _INT_WIDTHS and new in _INT_WIDTHS:
        return "widen" if _INT_WIDTHS[new] >= _INT_WIDTHS[old] else "narrow"
    if old in ("REAL", "FLOAT") and new in ("DOUBLE PRECISION", "DOUBLE"):
        return "widen"
    o, n = _SIZED.match(old), _SIZED.match(new)
    if o and o.group(1) in ("VARCHAR", "CHARACTER VARYING", "CHAR"):
        if new == "TEXT":
            return "widen"
        if n and n.group(1) == o.group(1) and int(n.group(2)) >= int(o.group(2)):
            return "widen"
    if o and n and o.group(1) in ("NUMERIC", "DECIMAL") and n.group(1) == o.group(1):
        p1, s1 = int(o.group(2)), int(o.group(3) or 0)
        p2, s2 = int(n.group(2)), int(n.group(3) or 0)
        if s2 >= s1 and p2 - s2 >= p1 - s1:
            return "widen"
    return "narrow"


ISOLATION_LEVELS = ("read uncommitted", "read committed", "repeatable read", "serializable")


@dataclass(frozen=True)
class URL:
    """A parsed database URL: ``scheme://user:password@host:port/database?options``."""

    scheme: str
    username: str | None = None
    password: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    raw: str = ""
    #: every ``host:port`` of a multi-host URL (``postgresql://h1:5433,h2:5434/db``),
    #: in order; ``host``/``port`` are the first. Empty for a single host.
    hosts: tuple[tuple[str, int | None], ...] = ()

    def __repr__(self) -> str:  # never print the password
        auth = (
            f"{self.username}:***@"
            if self.password
            else (f"{self.username}@" if self.username else "")
        )
        return f"URL('{self.scheme}://{auth}{self.address}/{self.database or ''}')"

    @property
    def address(self) -> str:
        """``host:port`` (every host of a multi-host URL, comma-separated)."""
        pairs = self.hosts or ((self.host or "", self.port),)
        return ",".join(f"{h}:{p}" if p else h for h, p in pairs)


def parse_url(text: str) -> URL:
    """Parse ``scheme://...``; raise ConfigurationError for a malformed URL."""
    if "://" not in text:
        raise ConfigurationError(
            f"malformed database URL {text!r}: expected scheme://..., e.g. "
            "postgresql://user:pass@host/db or sqlite:///app.db"
        )
    try:
        parts = urlsplit(text)
        hosts = _hosts(parts.netloc.rpartition("@")[2]) if "," in parts.netloc else ()
        host: str | None
        if hosts:
            host, port = hosts[0]
        else:
            host, port = parts.hostname, parts.port
    except ValueError as exc:
        raise ConfigurationError(f"malformed database URL: {exc}") from exc
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    return URL(
        scheme=parts.scheme.lower(),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        host=host,
        port=port,
        database=unquote(path) or None,
        query=dict(parse_qsl(parts.query)),
        raw=text,
        hosts=hosts,
    )


def _hosts(netloc: str) -> tuple[tuple[str, int | None], ...]:
    """``h1:5433,h2,[::1]:5434`` → ``(("h1", 5433), ("h2", None), ("::1", 5434))``."""
    found: list[tuple[str, int | None]] = []
    for item in netloc.split(","):
        if not item:
            raise ValueError(f"empty host in {netloc!r}")
        probe = urlsplit(f"//{item}")
        if not probe.hostname:
            raise ValueError(f"bad host {item!r} in {netloc!r}")
        found.append((probe.hostname, probe.port))
    return tuple(found)


def _enum_value(value: enum.Enum) -> Any:
    return value.value


class Dialect:
    """SQL rules, type map and capability flags of one database.

    Subclasses override class attributes and the few methods whose SQL differs;
    the portable defaults follow standard SQL with double-quoted identifiers.
    """

    #: the dialect's registered name
    name: ClassVar[str] = "generic"
    #: which ``SQLCompiler`` subclass renders statements
    compiler_class: ClassVar[type[SQLCompiler] | None] = None

    # -- capability flags ----------------------------------------------------------
    #: INSERT/UPDATE ... RETURNING
    supports_returning: ClassVar[bool] = True
    #: without RETURNING: the driver's last-insert id is the FIRST id of a multi-row insert
    lastrowid_is_first: ClassVar[bool] = False
    #: bind parameters one statement may carry
    max_bind_params: ClassVar[int] = 32766
    #: a float column keeps the sign of -0.0 (MySQL/MariaDB and SQLite store it as 0.0)
    keeps_negative_zero: ClassVar[bool] = True
    #: SAVEPOINT / RELEASE / ROLLBACK TO
    supports_savepoints: ClassVar[bool] = True
    #: isolation levels ``transaction(isolation=...)`` accepts
    isolation_levels: ClassVar[frozenset[str]] = frozenset(ISOLATION_LEVELS)
    #: ``transaction(mode=...)`` values (SQLite: deferred/immediate/exclusive)
    transaction_modes: ClassVar[frozenset[str]] = frozenset()
    #: ORDER BY ... NULLS FIRST/LAST syntax (else emulated)
    supports_nulls_order: ClassVar[bool] = True
    #: NULLs sort first in ascending order (SQLite, MySQL) or last (PostgreSQL)
    nulls_first_ascending: ClassVar[bool] = True
    #: LIKE is case-sensitive for ASCII
    like_is_case_sensitive: ClassVar[bool] = True
    #: the escape character LIKE uses without ``escape=`` (None: standard SQL, no escape;
    #: ``"\\"`` on PostgreSQL and MySQL); descriptive, read by ``ormer.testing.oracle``
    like_default_escape: ClassVar[str | None] = None
    #: ``WITH RECURSIVE`` common table expressions
    supports_recursive_cte: ClassVar[bool] = True
    #: ``INTERSECT`` and ``EXCEPT`` (MariaDB 10.3+, MySQL 8.0.31+)
    supports_intersect_except: ClassVar[bool] = True
    #: stream() uses a server-side cursor
    supports_server_side_cursor: ClassVar[bool] = False
    #: the connection can run other statements while a stream() is open (MySQL cannot:
    #: its unbuffered result must be read to the end first); a stream that preloads
    #: relations per batch on one connection needs it
    stream_allows_statements: ClassVar[bool] = True
    #: relation preloads split a key list longer than this into several statements
    #: (None: one statement for any count); a server whose plan for a long IN list is
    #: slower than several short ones sets it (MariaDB rewrites IN lists of 1,000 values
    #: or more into a semi-join plus a sort: 23 ms instead of 8 ms for 10,000 rows)
    preload_max_keys: ClassVar[int | None] = None
    #: large batch inserts that need no RETURNING go through the driver's ``copy_rows``
    supports_bulk_copy: ClassVar[bool] = False
    #: ``agg(x) FILTER (WHERE cond)`` (else rendered ``agg(CASE WHEN cond THEN x END)``)
    supports_aggregate_filter: ClassVar[bool] = True
    #: window functions (``f(...) OVER (...)``)
    supports_window_functions: ClassVar[bool] = True
    #: ``LAG/LEAD(x, n, default)`` takes a default (else emulated with a row count)
    supports_offset_default: ClassVar[bool] = True
    #: ``GROUP BY`` rollups: "rollup" (``ROLLUP (a, b)``), "with" (``a, b WITH ROLLUP``)
    #: or None (NotSupportedError)
    group_by_rollup: ClassVar[str | None] = "rollup"
    #: a rollup's select may have an ORDER BY (MariaDB: no)
    rollup_allows_order_by: ClassVar[bool] = True
    #: ``SELECT DISTINCT ON (...)`` (PostgreSQL)
    supports_distinct_on: ClassVar[bool] = False
    #: the smallest batch worth a bulk copy (smaller ones are multi-row INSERTs)
    bulk_copy_min_rows: ClassVar[int] = 1000
    #: the driver's placeholder style for raw SQL: "qmark" (?), "numeric" ($1), "format" (%s)
    paramstyle: ClassVar[str] = "qmark"
    #: one writer at a time (SQLite): a pool serialises writes and transactions
    serialize_writes: ClassVar[bool] = False
    #: transaction modes that run concurrently even where ``serialize_writes`` holds
    #: (Turso's MVCC "concurrent": ``BEGIN CONCURRENT``): such a transaction, and every
    #: statement in it, skips the pool's write gate; the database reports conflicts
    #: (``WriteConflictError``) instead
    concurrent_transaction_modes: ClassVar[frozenset[str]] = frozenset()
    #: the largest decimal precision stored exactly
    max_decimal_digits: ClassVar[int] = 38
    #: what SQL a connection may send depends on the server it reaches (MariaDB or MySQL
    #: behind one URL scheme; a Turso file in WAL or MVCC mode): its driver reports the
    #: variant (``server_dialect``), and a pool learns it when built, before compiling
    #: anything
    has_server_variants: ClassVar[bool] = False
    #: ``SELECT ... FOR UPDATE / FOR SHARE`` row locks (ormer.locks)
    supports_row_locks: ClassVar[bool] = True
    #: without row locks: transaction modes whose BEGIN takes the database's write lock,
    #: which covers any row lock (SQLite ``immediate``/``exclusive``); there
    #: ``for_update()``/``for_share()`` leave the clause out instead of raising
    row_lock_transaction_modes: ClassVar[frozenset[str]] = frozenset()
    #: ``FOR UPDATE OF table`` (MariaDB has no ``OF``)
    supports_lock_of: ClassVar[bool] = True
    #: the shared row lock clause (MariaDB: ``LOCK IN SHARE MODE``)
    share_lock_sql: ClassVar[str] = "FOR SHARE"

    def __init__(self) -> None:
        from .compiler import SQLCompiler, StatementCache
        from .plans import PlanCache

        self.compiler: type[SQLCompiler] = self.compiler_class or SQLCompiler
        #: compiled SELECT/UPDATE/DELETE statements by shape
        self.cache = StatementCache()
        #: ``find(Model, pk)`` plans, one per model class
        self.find_plans: dict[Any, FindPlan] = {}
        #: INSERT plans by table, columns, row count, RETURNING and upsert
        self.insert_plans: PlanCache[InsertKey, InsertPlan] = PlanCache()
        #: ``exec_table`` row converters by model and result column names
        self.raw_plans: PlanCache[RawKey, RowsConverter] = PlanCache()
        self._dumpers: dict[ColumnType, Dumper | None] = {}
        self._loaders: dict[ColumnType, Loader | None] = {}

    # -- connecting ------------------------------------------------------------------
    def parse_target(self, target: str) -> URL:
        """Turn the user's URL (or path, for file databases) into a :class:`URL`."""
        return parse_url(target)

    async def connect(self, url: URL, options: dict[str, Any]) -> DriverConnection:
        """Open one driver connection (bounded by a connect timeout)."""
        raise NotSupportedError(f"dialect {self.name!r} has no driver")

    # -- identifiers and placeholders -------------------------------------------------------
    def quote(self, identifier: str) -> str:
        """Quote a validated identifier."""
        return '"' + identifier.replace('"', '""') + '"'

    def placeholder(self, position: int) -> str:
        """The placeholder of the bind parameter at ``position`` (1-based)."""
        return "?"

    def param_sql(self, placeholder: str, type_: ColumnType | None) -> str:
        """A placeholder as it appears in SQL; a dialect may add a cast for its server."""
        return placeholder

    # -- transactions ---------------------------------------------------------------------
    def begin_statements(self, isolation: str | None, mode: str | None) -> list[str]:
        """The statements that open a transaction."""
        self.check_transaction_options(isolation, mode)
        if isolation is not None:
            return [f"BEGIN ISOLATION LEVEL {isolation.upper()}"]
        return ["BEGIN"]

    def check_transaction_options(self, isolation: str | None, mode: str | None) -> None:
        """Raise NotSupportedError/ConfigurationError for options the dialect lacks."""
        if isolation is not None:
            if isolation.lower() not in ISOLATION_LEVELS:
                raise ConfigurationError(
                    f"unknown isolation level {isolation!r}; "
                    f"use one of {', '.join(ISOLATION_LEVELS)}"
                )
            if isolation.lower() not in self.isolation_levels:
                raise NotSupportedError(
                    f"{self.name} does not support isolation level {isolation!r}; "
                    f"it supports: {', '.join(sorted(self.isolation_levels))}"
                )
        if mode is not None and mode.lower() not in self.transaction_modes:
            supported = ", ".join(sorted(self.transaction_modes)) or "none"
            raise NotSupportedError(
                f"{self.name} does not support transaction mode {mode!r}; supported: {supported}"
            )

    commit_sql: ClassVar[str] = "COMMIT"
    rollback_sql: ClassVar[str] = "ROLLBACK"

    def savepoint_sql(self, name: str) -> str:
        return f"SAVEPOINT {self.quote(name)}"

    def release_savepoint_sql(self, name: str) -> str:
        return f"RELEASE SAVEPOINT {self.quote(name)}"

    def rollback_to_savepoint_sql(self, name: str) -> str:
        return f"ROLLBACK TO SAVEPOINT {self.quote(name)}"

    # -- types ----------------------------------------------------------------------------
    def type_name(self, ct: ColumnType, indexed: bool) -> str:
        """The DDL type of a column; ``indexed`` when it is in a key, unique or index."""
        kind = ct.kind
        if kind is Kind.ENUM:
            kind = ct.enum_value_kind
        if kind is Kind.STR:
            return f"VARCHAR({ct.max_length})" if ct.max_length else "TEXT"
        if kind is Kind.DECIMAL:
            return f"NUMERIC({ct.max_digits}, {ct.decimal_places})"
        if kind is Kind.DATETIME:
            return "TIMESTAMP WITH TIME ZONE" if ct.timezone else "TIMESTAMP"
        return self.type_names[kind]

    type_names: ClassVar[dict[Kind, str]] = {
        Kind.INT: "BIGINT",
        Kind.FLOAT: "DOUBLE PRECISION",
        Kind.BOOL: "BOOLEAN",
        Kind.BYTES: "BLOB",
        Kind.DATE: "DATE",
        Kind.TIME: "TIME",
        Kind.UUID: "UUID",
        Kind.JSON: "JSON",
    }

    # -- schema migrations (ormer.migrations; docs/migrations.md) --------------------------
    #: DDL inside a transaction is rolled back with it (PostgreSQL, SQLite); MySQL and
    #: MariaDB commit each DDL statement implicitly
    transactional_ddl: ClassVar[bool] = True
    #: ALTER TABLE cannot change a column's type, nullability or default nor add or drop
    #: a constraint (SQLite): such plans rebuild the table (``rebuild_table_sql``)
    rebuilds_tables: ClassVar[bool] = False
    #: the driver's ``reset()`` returns a session to its state after connect (settings,
    #: temporary tables, variables): a pool runs its ``on_connect`` set-up again after one.
    #: SQLite's reset only rolls back (a connection has no session settings to undo)
    reset_clears_session: ClassVar[bool] = True
    #: read replicas behind a primary (``create_pool(...).replicas(...)``): the server
    #: reports how far a replica lags (:meth:`replica_lag`)
    supports_replicas: ClassVar[bool] = False

    def note_short_statement(self, sql: str, write: bool = False) -> None:
        """The planner knows ``sql`` is short: a primary-key lookup, a SELECT with a
        LIMIT, or (``write``) a one-row INSERT, or an UPDATE or DELETE of one object by
        its key. A driver that can run short statements without handing them to a
        thread (SQLite) may, bounding their time itself. Default: nothing. Called once
        per statement shape (when it is compiled), never per execution."""

    async def replica_lag(self, conn: Connection) -> float:
        """How many seconds the server behind ``conn`` lags its primary, from the server
        itself: 0.0 for a replica that has replayed everything it received (or a server
        that is no replica), ``math.inf`` when its replication is stopped."""
        raise NotSupportedError(f"{self.name}: read replicas (replica lag)")

    async def inspect_table(self, conn: Connection, table: str) -> LiveTable | None:
        """The table as the database has it (None when it does not exist), read from the
        catalog through ``conn``: types by :meth:`normalize_type`, defaults by
        :meth:`normalize_default`, indexes without the primary key's own."""
        raise NotSupportedError(f"{self.name}: schema introspection (plan_table, migrate_table)")

    def normalize_type(self, ddl: str) -> str:
        """A DDL type in one spelling, so a catalog's type and :meth:`type_name`'s compare
        equal (``character varying(50)`` and ``VARCHAR(50)`` on PostgreSQL)."""
        return " ".join(ddl.upper().replace(" (", "(").replace(", ", ",").split())

    def type_change(self, old: str, new: str) -> str:
        """``"same"``, ``"widen"`` (every old value fits: INT → BIGINT, VARCHAR(50) →
        VARCHAR(100) or TEXT, NUMERIC(10,2) → NUMERIC(12,2)) or ``"narrow"`` (anything
        else: destructive), for two normalized DDL types."""
        return "same" if old == new else _portable_type_change(old, new)

    def default_sql(self, column: ColumnSchema) -> str:
        """The SQL literal of a column's server default (``column.default``)."""
        value = column.default
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        if isinstance(value, str):
            return "'" + value.replace("'", "''") + "'"
        return str(value)

    def migration_lock(self, conn: Connection) -> AbstractAsyncContextManager[None]:
        """An async context manager that keeps other processes from migrating this
        database while ``ormer migrations upgrade``/``downgrade`` runs on ``conn``.

        The default is one transaction around the whole run, begun in the dialect's
        ``"exclusive"`` transaction mode when it has one (SQLite, Turso: ``BEGIN
        EXCLUSIVE``, which a second process waits for in its busy timeout); each
        revision then runs in a savepoint of it. Servers override it with a
        session-level lock (PostgreSQL advisory lock, MySQL ``GET_LOCK``)."""
        mode = "exclusive" if "exclusive" in self.transaction_modes else None
        return _transaction_lock(conn, mode)

    async def migration_check(self, conn: Connection) -> None:
        """Called inside each revision's transaction after its operations, before its
        history row: raise :class:`~ormer.errors.MigrationError` when the revision left
        the database inconsistent (SQLite, whose lock turns foreign-key enforcement off
        for the run: ``PRAGMA foreign_key_check``). Default: nothing to check."""

    def supports_default(self, column: ColumnSchema, indexed: bool) -> bool:
        """Whether the column gets its server default (``column.default``) on this
        dialect: a database that allows no DEFAULT on some types (MySQL before 8.0.13
        on TEXT/BLOB) says False and the column has none (create_table, plans)."""
        return True

    async def rebuild_guard(self, conn: Connection, table: str) -> Any:
        """Prepare a table rebuild (``SQLCompiler.rebuild_table_sql``) run on ``conn``
        before its transaction begins (SQLite: foreign-key enforcement off); returns a
        token for :meth:`rebuild_check` and :meth:`rebuild_release`."""
        return None

    async def rebuild_check(self, conn: Connection, table: str, token: Any) -> None:
        """Inside the rebuild's transaction, before it commits: raise MigrationError if
        the rebuilt table breaks a constraint (SQLite: ``PRAGMA foreign_key_check``)."""

    async def rebuild_release(self, conn: Connection, token: Any) -> None:
        """After the rebuild's transaction (committed or not): undo :meth:`rebuild_guard`."""

    def normalize_default(self, sql: str) -> str:
        """A default expression in one spelling (a catalog may add casts or parentheses)."""
        return sql.strip()

    def auto_pk_sql(self, quoted_column: str) -> str:
        """The column definition of an auto-increment integer primary key."""
        return f"{quoted_column} BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

    def dumper(self, ct: ColumnType | None) -> Dumper | None:
        """How a Python value of type ``ct`` is sent as a bind parameter (None: as is).

        Built once per type and cached; dumpers pass through values of other types.
        """
        if ct is None:
            return None
        try:
            return self._dumpers[ct]
        except KeyError:
            d = self._dumpers[ct] = self.make_dumper(ct)
            return d

    def loader(self, ct: ColumnType | None) -> Loader | None:
        """How a value read back is turned into ``ct``'s Python type (None: as is).

        Loaders are called only for non-NULL values.
        """
        if ct is None:
            return None
        try:
            return self._loaders[ct]
        except KeyError:
            fn = self._loaders[ct] = self.make_loader(ct)
            return fn

    def column_loader(self, ct: ColumnType) -> Loader | None:
        """The loader for a model's stored column (not a computed expression).

        The same as :meth:`loader` unless a dialect knows its driver already
        returns a stored column of this type as the right Python type (while an
        expression of the type, an aggregate say, may come back otherwise).
        """
        return self.loader(ct)

    #: dumpers by column kind, used before the portable ones (a None value: sent as is);
    #: :meth:`make_dumper` covers what depends on more than the kind
    kind_dumpers: ClassVar[Mapping[Kind, Dumper | None]] = {}
    #: loaders by column kind, used before the portable ones (a None value: as read)
    kind_loaders: ClassVar[Mapping[Kind, Loader | None]] = {}

    def make_dumper(self, ct: ColumnType) -> Dumper | None:
        """Build the dumper of a type: :attr:`kind_dumpers`, then the portable ones
        (enums by value, dict/list as JSON text); override per dialect."""
        if ct.kind in self.kind_dumpers:
            return self.kind_dumpers[ct.kind]
        if ct.kind is Kind.ENUM:
            return typed(_enum_value, enum.Enum)
        if ct.kind is Kind.JSON:
            return typed(json_text, (dict, list))
        return None

    def make_loader(self, ct: ColumnType) -> Loader | None:
        """Build the loader of a type: :attr:`kind_loaders`, then the portable ones;
        override per dialect."""
        if ct.kind in self.kind_loaders:
            return self.kind_loaders[ct.kind]
        if ct.kind is Kind.ENUM:
            return ct.py_type
        if ct.kind is Kind.JSON:
            return _json_loads
        return None

    # -- errors ---------------------------------------------------------------------------
    def describe(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


@asynccontextmanager
async def _transaction_lock(conn: Connection, mode: str | None) -> AsyncIterator[None]:
    async with conn.transaction(mode=mode):
        yield


def _json_loads(value: Any) -> Any:
    if isinstance(value, (bytes, str)):
        return json.loads(value)
    return value


# Converters dialects share; kept here so each dialect module only picks.
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def decimal_from_number(places: int | None) -> Loader:
    """Loader for Decimals stored as numbers: exact to the field's scale."""
    if places is None:
        return lambda v: v if isinstance(v, decimal.Decimal) else decimal.Decimal(repr(v))
    quantum = decimal.Decimal(1).scaleb(-places)

    def load(v: Any) -> decimal.Decimal:
        d = (
            v
            if isinstance(v, decimal.Decimal)
            else decimal.Decimal(repr(v) if isinstance(v, float) else str(v))
        )
        # the exact context: the default one (28 digits) refuses DECIMAL(65, s) values
        return d.quantize(quantum, context=_EXACT)

    return load


def uuid_from_text(value: Any) -> uuid.UUID:
    """Loader for UUIDs stored as text or bytes."""
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, bytes):
        return uuid.UUID(bytes=value) if len(value) == 16 else uuid.UUID(value.decode())
    return uuid.UUID(value)


def utc_naive(value: datetime.datetime) -> datetime.datetime:
    """An aware datetime as naive UTC (for servers that store no offset)."""
    return value.astimezone(datetime.UTC).replace(tzinfo=None)

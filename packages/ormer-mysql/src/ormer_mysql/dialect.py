"""The MySQL/MariaDB dialect: only what differs from ormer's portable defaults.

One registered dialect (``mysql``) serves MySQL and MariaDB. What differs
between the two servers is decided per connection, from the version the
server reports in its handshake: the driver carries the dialect *variant* for
its server (``DriverConnection.server_dialect``), and ormer's connection uses
it. Variants are shared instances (each with its own statement cache):

* :class:`MariaDBDialect` (MariaDB 10.5+): ids through ``INSERT ... RETURNING``,
  tables in ``utf8mb4_nopad_bin``, ``SIMULTANEOUS_ASSIGNMENT`` in the session.
* :class:`MariaDBLastInsertIdDialect`: MariaDB before 10.5, or any MariaDB
  with the connect option ``returning=False``: ids through ``LAST_INSERT_ID()``.
* :class:`MySQLDialect` (MySQL 8.0.17+; also the registry's instance): ids
  through ``LAST_INSERT_ID()``, tables in ``utf8mb4_0900_bin``.

Storage of the portable types (each reads back equal to what was written):

* str → ``VARCHAR(n)`` with ``max_length`` (or when indexed: ``VARCHAR(255)``
  by default), else ``LONGTEXT``; every table is ``utf8mb4`` with a binary,
  no-pad collation, so ``=``, ``LIKE`` and ``ORDER BY`` compare code points
  exactly (case- and trailing-space-sensitive), as on SQLite and PostgreSQL.
* bool → ``TINYINT(1)``, read back as bool; float → ``DOUBLE``.
* bytes → ``LONGBLOB`` (``VARBINARY(n)`` with ``max_length`` or when indexed).
* Decimal → ``DECIMAL(p, s)``; datetime → ``DATETIME(6)``: aware values are
  stored as naive UTC and read back aware in UTC (``timezone=True`` fields);
  date → ``DATE``; time → ``TIME(6)`` (the driver's ``timedelta`` becomes a
  ``time``); UUID → ``CHAR(36)``; dict/list → ``JSON``.
"""

from __future__ import annotations

import contextlib
import datetime
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ormer.compiler import Compiled, SQLCompiler
from ormer.dialect import (
    URL,
    Dialect,
    Dumper,
    Loader,
    decimal_from_number,
    parse_url,
    utc_naive,
    uuid_from_text,
)
from ormer.driver import DriverConnection
from ormer.driverkit import dump_bytes, typed
from ormer.errors import ConfigurationError, NotSupportedError
from ormer.expr import Param, RowIn
from ormer.types import ColumnType, Kind
from ormer.windows import Rollup

from . import migrate

if TYPE_CHECKING:
    from ormer.connection import Connection
    from ormer.expr import BinaryOp, Func
    from ormer.migrations.live import LiveTable
    from ormer.migrations.ops import Operation
    from ormer.migrations.schema import ColumnSchema, TableSchema
    from ormer.model import TableInfo
    from ormer.statements import CompoundStmt, DeleteStmt, InsertStmt, SelectStmt, UpdateStmt

__all__ = [
    "DEFAULT_VARCHAR_LENGTH",
    "MariaDBDialect",
    "MariaDBLastInsertIdDialect",
    "MySQLCompiler",
    "MySQLDialect",
]

#: the length of an indexed (key, unique, index) ``str`` column without ``max_length``
DEFAULT_VARCHAR_LENGTH = 255
#: the longest VARCHAR a utf8mb4 row can hold; longer ``max_length`` becomes LONGTEXT
MAX_VARCHAR_LENGTH = 16383
#: MySQL's OFFSET needs a LIMIT: the documented "no limit" value
NO_LIMIT = "18446744073709551615"

UTC = datetime.UTC


class MySQLCompiler(SQLCompiler):
    """What MySQL/MariaDB render differently from the portable SQL.

    Literal ``%`` never appears in the SQL text this compiler generates: the
    modulo operator is rendered as ``MOD(a, b)``, and a ``%`` inside a string
    literal (an ``ESCAPE '%'`` clause) is doubled for the driver's pyformat
    interpolation, which runs whenever a statement has parameters.
    """

    def row_in(self, columns: tuple[str, ...], node: RowIn) -> str:
        """``(a, b) IN ((?, ?), ...)``: MySQL 8 spells a VALUES row ``ROW(...)``, MariaDB
        does not; a list of row values works on both."""
        rows = ", ".join("(" + ", ".join(self.process(v) for v in row) + ")" for row in node.rows)
        return f"({', '.join(columns)}) IN ({rows})"

    def in_array(self, operand: str, array: Param, negate: bool) -> str:
        """``IN %s`` with the values as one sequence: the driver interpolates it as
        ``(v1, v2, ...)`` (statements are sent as text, so no bind-parameter limit)."""
        placeholder = self.bind_array(array, self.array_elements(array))
        return f"{operand} {'NOT IN' if negate else 'IN'} {placeholder}"

    no_limit = NO_LIMIT

    function_names: ClassVar[dict[str, str]] = {"length": "char_length"}  # type: ignore[misc]

    def visit_binary(self, node: BinaryOp) -> str:
        if node.op == "%":
            return f"MOD({self.process(node.left)}, {self.process(node.right)})"
        return super().visit_binary(node)

    def visit_func(self, node: Func) -> str:
        if node.name == "avg" and len(node.args) == 1 and self._is_exact_integer(node.args[0]):
            # AVG of integers is DECIMAL with 4 decimals (div_precision_increment): a
            # float average needs a DOUBLE operand.
            arg = self.process(node.args[0])
            sql = f"AVG({'DISTINCT ' if node.distinct else ''}CAST({arg} AS DOUBLE))"
            return sql + self.call_suffix(node)
        return super().visit_func(node)

    def group_by_clause(self, stmt: SelectStmt) -> str:
        """``GROUP BY a, b WITH ROLLUP``: MySQL's rollup covers the whole GROUP BY, so a
        ``rollup(...)`` must be all of it; MariaDB refuses ORDER BY with it."""
        exprs = stmt.group_by
        if not any(isinstance(e, Rollup) for e in exprs):
            return super().group_by_clause(stmt)
        if len(exprs) != 1:
            raise NotSupportedError(
                f"{self.dialect.name}: WITH ROLLUP rolls up the whole GROUP BY: give "
                "group_by(rollup(...)) alone"
            )
        if stmt.order_by and not self.dialect.rollup_allows_order_by:
            raise NotSupportedError(
                f"{self.dialect.name}: no ORDER BY with WITH ROLLUP: sort the rows after "
                "reading them, or order an outer query"
            )
        last = exprs[-1]
        assert isinstance(last, Rollup)
        return "GROUP BY " + ", ".join(self.process(e) for e in last.exprs) + " WITH ROLLUP"

    def integer_divide(self, a: str, b: str) -> str:
        """``DIV`` (MySQL's ``/`` yields DECIMAL); Python's ``//`` is built on it."""
        return f"{a} DIV {b}"

    def remainder(self, a: str, b: str) -> str:
        return f"MOD({a}, {b})"

    def string_literal(self, text: str) -> str:
        # Backslash is an escape character in MySQL string literals (unless
        # NO_BACKSLASH_ESCAPES); '%' is doubled for the driver's interpolation.
        escaped = text.replace("\\", "\\\\").replace("'", "''").replace("%", "%%")
        return "'" + escaped + "'"

    def compile(self, stmt: SelectStmt | CompoundStmt | UpdateStmt | DeleteStmt) -> Compiled:
        compiled = super().compile(stmt)
        if not compiled.slots and "%%" in compiled.sql:
            # No parameters: the driver sends the text as is, without interpolation.
            compiled.sql = compiled.sql.replace("%%", "%")
        return compiled

    def upsert_clause(self, stmt: InsertStmt) -> str:
        """``ON DUPLICATE KEY UPDATE col = VALUES(col)``.

        MySQL has no conflict target: the clause fires on a duplicate in *any*
        unique key of the table (the primary key or ``conflict=`` columns are
        what ormer expects to collide). Without RETURNING, ``id =
        LAST_INSERT_ID(id)`` makes the driver's last-insert id report the key
        of an updated row too.
        """
        q = self.q
        sets = [f"{q(f.column)} = VALUES({q(f.column)})" for f in self.upsert_updates(stmt)]
        # The version is not among the columns assigned before it, so `version + 1`
        # reads the row's old version (MySQL evaluates assignments left to right).
        bump = self.upsert_version_bump(stmt, "")
        if bump is not None:
            sets.append(bump)
        auto = stmt.table.auto
        if auto is not None and not stmt.returning and auto not in stmt.columns:
            sets.append(f"{q(auto.column)} = LAST_INSERT_ID({q(auto.column)})")
        if not sets:  # every column is part of the key: a no-op update keeps the row
            first = stmt.conflict[0] if stmt.conflict else stmt.columns[0]
            sets.append(f"{q(first.column)} = {q(first.column)}")
        return "ON DUPLICATE KEY UPDATE " + ", ".join(sets)

    def insert_default_values(self, stmt: InsertStmt) -> str:
        if stmt.rows != 1:
            return super().insert_default_values(stmt)
        return f"INSERT INTO {self.q(stmt.table.name)} () VALUES ()"

    def create_table_sql(self, info: TableInfo, if_not_exists: bool) -> list[str]:
        """``CREATE TABLE ... ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=<binary>``.

        MariaDB creates indexes with ``CREATE INDEX IF NOT EXISTS`` (as the
        other backends do); MySQL has no such statement, so its indexes are
        declared inside ``CREATE TABLE``.
        """
        dialect = self.dialect
        assert isinstance(dialect, MySQLDialect)
        statements = super().create_table_sql(info, if_not_exists)
        create, indexes = statements[0], statements[1:]
        if dialect.inline_indexes and indexes:
            q = self.q
            extra = []
            for name, group in info.index_groups:
                cols = ", ".join(q(f.column) for f in group)
                extra.append(f"INDEX {q(name)} ({cols})")
            assert create.endswith("\n)")
            create = create[:-2] + ",\n  " + ",\n  ".join(extra) + "\n)"
            indexes = []
        options = f" ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE={dialect.table_collation}"
        return [create + options, *indexes]

    def drop_table_sql(self, info: TableInfo, if_exists: bool) -> str:
        """``DROP TABLE``; on MariaDB also when other tables reference it.

        MariaDB runs it as ``SET STATEMENT foreign_key_checks = 0 FOR DROP TABLE
        ...``: the referencing foreign keys stay and bind again to the table when
        it is re-created (PostgreSQL's ``CASCADE`` drops them instead). MySQL
        has no statement-scoped setting: it refuses to drop a referenced table.
        """
        sql = super().drop_table_sql(info, if_exists)
        dialect = self.dialect
        assert isinstance(dialect, MySQLDialect)
        if dialect.is_mariadb:
            return "SET STATEMENT foreign_key_checks = 0 FOR " + sql
        return sql

    def migration_sql(
        self, op: Operation, live: LiveTable | None, target: TableSchema | None = None
    ) -> list[str] | None:
        """``ADD``/``DROP COLUMN``, ``MODIFY COLUMN`` with the whole definition,
        ``ADD/DROP INDEX``, ``ADD CONSTRAINT ... UNIQUE``/``FOREIGN KEY``, ``DROP
        FOREIGN KEY`` plus the index InnoDB made for it
        (:func:`ormer_mysql.migrate.migration_sql`)."""
        sql = migrate.migration_sql(self, op, live, target)
        if sql is not None:
            return sql
        return super().migration_sql(op, live, target)


# -- converters ------------------------------------------------------------------------
def _dump_datetime(value: Any) -> Any:
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        return utc_naive(value)
    return value


def _load_naive(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(str(value))


def _load_date(value: Any) -> datetime.date:
    # A date parameter is bound as text, so an expression mixing it with a DATE
    # column (COALESCE, CASE) is typed as text by the server.
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    return datetime.date.fromisoformat(str(value))


def _load_aware(value: Any) -> datetime.datetime:
    moment = value if isinstance(value, datetime.datetime) else _load_naive(value)
    return moment.replace(tzinfo=UTC)


def _load_time(value: Any) -> datetime.time:
    if isinstance(value, datetime.timedelta):
        micros = value.days * 86_400_000_000 + value.seconds * 1_000_000 + value.microseconds
        seconds, micro = divmod(micros, 1_000_000)
        minutes, second = divmod(seconds, 60)
        hour, minute = divmod(minutes, 60)
        return datetime.time(hour, minute, second, micro)
    if isinstance(value, datetime.time):
        return value
    return datetime.time.fromisoformat(str(value))


class MySQLDialect(Dialect):
    """MySQL 8.0.17+; the base of the MariaDB variants (see the module docstring)."""

    name = "mysql"
    compiler_class = MySQLCompiler
    supports_returning = False
    lastrowid_is_first = True  # LAST_INSERT_ID() is the first id of a multi-row INSERT
    max_bind_params = 65535
    supports_savepoints = True
    supports_nulls_order = False
    keeps_negative_zero = False  # DOUBLE stores -0.0 as 0
    nulls_first_ascending = True
    like_is_case_sensitive = True  # binary collation on every table ormer creates
    like_default_escape = "\\"  # MySQL's LIKE escapes with a backslash by default
    supports_server_side_cursor = True
    supports_aggregate_filter = False  # agg(CASE WHEN cond THEN x END)
    group_by_rollup = "with"  # GROUP BY a, b WITH ROLLUP
    stream_allows_statements = False
    supports_replicas = True
    paramstyle = "format"
    max_decimal_digits = 65
    has_server_variants = True  # MySQL or MariaDB behind mysql://: see server_dialect

    #: the collation of every table ormer creates (binary, no pad: exact comparisons)
    table_collation: ClassVar[str] = "utf8mb4_0900_bin"
    #: indexes declared inside CREATE TABLE (no CREATE INDEX IF NOT EXISTS on MySQL)
    inline_indexes: ClassVar[bool] = True
    #: sql_mode flags every session adds to the server's
    session_sql_modes: ClassVar[tuple[str, ...]] = ("STRICT_ALL_TABLES",)
    #: whether this variant describes MariaDB
    is_mariadb: ClassVar[bool] = False

    type_names: ClassVar[dict[Kind, str]] = {
        Kind.INT: "BIGINT",
        Kind.FLOAT: "DOUBLE",
        Kind.BOOL: "TINYINT(1)",
        Kind.BYTES: "LONGBLOB",
        Kind.DATE: "DATE",
        Kind.TIME: "TIME(6)",
        Kind.UUID: "CHAR(36)",
        Kind.JSON: "JSON",
    }
    kind_dumpers: ClassVar[Mapping[Kind, Dumper | None]] = {
        Kind.DATETIME: _dump_datetime,
        Kind.UUID: typed(str, uuid.UUID),
        Kind.BYTES: dump_bytes,
    }
    kind_loaders: ClassVar[Mapping[Kind, Loader | None]] = {
        Kind.BOOL: bool,
        Kind.INT: int,  # SUM() of integers comes back as DECIMAL
        Kind.FLOAT: float,  # AVG() of integers comes back as DECIMAL
        Kind.DATE: _load_date,
        Kind.TIME: _load_time,
        Kind.UUID: uuid_from_text,
    }

    def __init__(self) -> None:
        super().__init__()
        self._variants: dict[tuple[bool, bool, bool], MySQLDialect] = {}
        self._origin: MySQLDialect | None = None  # a variant's registry instance

    # -- connecting --------------------------------------------------------------------
    def parse_target(self, target: str) -> URL:
        url = parse_url(target)
        base, _, driver = url.scheme.partition("+")
        if base not in ("mysql", "mariadb") or driver not in ("", "aiomysql", "asyncmy"):
            raise ConfigurationError(
                f"not a MySQL URL: {url!r}; use mysql://, mariadb:// or mysql+asyncmy://"
            )
        return url

    async def connect(self, url: URL, options: dict[str, Any]) -> DriverConnection:
        """Open one connection with aiomysql, or asyncmy for ``mysql+asyncmy://``
        (or the option ``driver="asyncmy"``)."""
        merged: dict[str, Any] = {**url.query, **options}
        driver = str(merged.pop("driver", "") or url.scheme.partition("+")[2] or "aiomysql")
        if driver == "asyncmy":
            from .driver_asyncmy import AsyncmyDriver

            return await AsyncmyDriver.open(self, url, merged)
        if driver != "aiomysql":
            raise ConfigurationError(f"unknown MySQL driver {driver!r}: use aiomysql or asyncmy")
        from .driver import AiomysqlDriver

        return await AiomysqlDriver.open(self, url, merged)

    def for_server(self, version: str, returning: bool | None = None) -> MySQLDialect:
        """The shared dialect variant for a server's version string (handshake).

        ``returning=False`` chooses LAST_INSERT_ID() ids even where the server
        has RETURNING (MariaDB 10.5+); ``None`` uses RETURNING where it exists.
        """
        mariadb = "mariadb" in version.lower()
        numbers = _version_numbers(version)
        if mariadb:
            can_return = numbers >= (10, 5)
            use_returning = can_return if returning is None else (returning and can_return)
            set_operations = numbers >= (10, 3)
        else:
            use_returning = False
            set_operations = numbers >= (8, 0, 31) or not numbers
        key = (mariadb, use_returning, set_operations)
        base = self._base()
        variant = base._variants.get(key)
        if variant is None:
            if not set_operations:
                variant = MariaDBBefore103Dialect() if mariadb else MySQLBefore8031Dialect()
            elif not mariadb:
                variant = base
            elif use_returning:
                variant = MariaDBDialect()
            else:
                variant = MariaDBLastInsertIdDialect()
            if variant is not base:
                variant._origin = base
            base._variants[key] = variant
        return variant

    def _base(self) -> MySQLDialect:
        return self._origin or self

    def session_setup_sql(self) -> str:
        """The one statement a new (or reset) session runs: utf8mb4, autocommit
        (ormer issues START TRANSACTION itself) and the sql_mode additions."""
        modes = ",".join(self.session_sql_modes)
        return (
            "SET NAMES utf8mb4, autocommit = 1, "
            f"SESSION sql_mode = CONCAT(@@SESSION.sql_mode, ',{modes}')"
        )

    # -- transactions -----------------------------------------------------------------
    def begin_statements(self, isolation: str | None, mode: str | None) -> list[str]:
        self.check_transaction_options(isolation, mode)
        if isolation is not None:
            return [f"SET TRANSACTION ISOLATION LEVEL {isolation.upper()}", "START TRANSACTION"]
        return ["START TRANSACTION"]

    # -- identifiers and placeholders ----------------------------------------------------------
    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    def placeholder(self, position: int) -> str:
        return "%s"

    # -- types ------------------------------------------------------------------------
    def type_name(self, ct: ColumnType, indexed: bool) -> str:
        kind = ct.kind
        if kind is Kind.ENUM:
            kind = ct.enum_value_kind
        if kind is Kind.STR:
            length = ct.max_length or (DEFAULT_VARCHAR_LENGTH if indexed else None)
            if length is None or (length > MAX_VARCHAR_LENGTH and not indexed):
                return "LONGTEXT"
            return f"VARCHAR({length})"
        if kind is Kind.BYTES:
            length = ct.max_length or (DEFAULT_VARCHAR_LENGTH if indexed else None)
            return f"VARBINARY({length})" if length else "LONGBLOB"
        if kind is Kind.DECIMAL:
            return f"DECIMAL({ct.max_digits}, {ct.decimal_places})"
        if kind is Kind.DATETIME:
            return "DATETIME(6)"
        return self.type_names[kind]

    def auto_pk_sql(self, quoted_column: str) -> str:
        return f"{quoted_column} BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY"

    # -- schema migrations (ormer_mysql.migrate) ---------------------------------------------
    #: every DDL statement commits on its own: a plan that fails midway stays half applied
    transactional_ddl = False
    #: how long ``migration_lock`` waits for another process's migration (seconds)
    migration_lock_timeout: ClassVar[float] = 60.0

    async def inspect_table(self, conn: Connection, table: str) -> LiveTable | None:
        """The table in the connection's database, from information_schema."""
        return await migrate.inspect_table(self, conn, table)

    def normalize_type(self, ddl: str) -> str:
        return migrate.normalize_type(ddl)

    def type_change(self, old: str, new: str) -> str:
        return migrate.type_change(old, new, super().type_change(old, new))

    def default_sql(self, column: ColumnSchema) -> str:
        """A MySQL literal: strings with backslashes escaped (they are escapes there)."""
        if isinstance(column.default, str):
            return migrate.quote_string(column.default)
        return super().default_sql(column)

    def normalize_default(self, sql: str) -> str:
        return migrate.normalize_default(sql)

    def supports_default(self, column: ColumnSchema, indexed: bool) -> bool:
        """MySQL gives a TEXT, BLOB or JSON column no literal DEFAULT (only an
        expression one, since 8.0.13): such columns get no server default."""
        return not self.type_name(column.column_type(), indexed).endswith(("TEXT", "BLOB", "JSON"))

    async def replica_lag(self, conn: Connection) -> float:
        """From the replica: ``Seconds_Behind_Master`` (ormer_mysql.replicas)."""
        from .replicas import replica_lag

        return await replica_lag(conn)

    def migration_lock(self, conn: Connection) -> contextlib.AbstractAsyncContextManager[None]:
        """``GET_LOCK('ormer_migrations:<database>', migration_lock_timeout)`` held for
        the body; MigrationError when another process holds it longer."""
        return migrate.migration_lock(conn, self.migration_lock_timeout)

    def column_loader(self, ct: ColumnType) -> Loader | None:
        """Stored BIGINT, DOUBLE and DATE columns arrive as int, float and date already:
        no call per value. (Expressions of those types still convert: SUM/AVG come back
        DECIMAL, and COALESCE(date, '2000-01-01') as text.)"""
        if ct.kind is Kind.INT or ct.kind is Kind.FLOAT or ct.kind is Kind.DATE:
            return None
        return self.loader(ct)

    def make_loader(self, ct: ColumnType) -> Loader | None:
        kind = ct.kind
        if kind is Kind.DECIMAL:
            return decimal_from_number(ct.decimal_places)
        if kind is Kind.DATETIME:
            return _load_aware if ct.timezone else _load_naive
        return super().make_loader(ct)


class MariaDBDialect(MySQLDialect):
    """MariaDB 10.5+: ids through ``INSERT ... RETURNING``."""

    supports_returning = True
    table_collation = "utf8mb4_nopad_bin"
    inline_indexes = False
    # SIMULTANEOUS_ASSIGNMENT: UPDATE t SET a = a + 1, b = a reads the old a (standard SQL)
    session_sql_modes = ("STRICT_ALL_TABLES", "SIMULTANEOUS_ASSIGNMENT")
    is_mariadb = True
    # no FOR UPDATE OF; the shared lock's older spelling (FOR SHARE is MySQL 8's)
    supports_lock_of = False
    share_lock_sql = "LOCK IN SHARE MODE"
    supports_offset_default = False  # LAG/LEAD take no default argument
    rollup_allows_order_by = False  # error 1221: Incorrect usage of CUBE/ROLLUP and ORDER BY
    # below in_predicate_conversion_threshold (1,000): docs/performance.md, W7
    preload_max_keys = 999

    def supports_default(self, column: ColumnSchema, indexed: bool) -> bool:
        """MariaDB gives TEXT and BLOB columns a literal DEFAULT too."""
        return True


class MariaDBLastInsertIdDialect(MariaDBDialect):
    """MariaDB without RETURNING (before 10.5, or ``returning=False``): LAST_INSERT_ID()."""

    supports_returning = False


class MySQLBefore8031Dialect(MySQLDialect):
    """MySQL 8.0.17 to 8.0.30: no INTERSECT/EXCEPT (NotSupportedError)."""

    supports_intersect_except = False


class MariaDBBefore103Dialect(MariaDBLastInsertIdDialect):
    """MariaDB 10.2: no INTERSECT/EXCEPT (NotSupportedError); recursive CTEs work."""

    supports_intersect_except = False


def _version_numbers(version: str) -> tuple[int, ...]:
    """``"5.5.5-10.11.19-MariaDB-..."`` → ``(10, 11, 19)``; ``"8.0.36"`` → ``(8, 0, 36)``."""
    text = version
    if text.startswith("5.5.5-"):  # MariaDB's replication-compatibility prefix
        text = text[len("5.5.5-") :]
    head = text.split("-", 1)[0]
    numbers = []
    for part in head.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)

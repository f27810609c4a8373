"""The SQLite dialect: only what differs from ormer's portable defaults.

Storage of the portable types (each reads back equal to what was written):

* datetime → TEXT ``YYYY-MM-DD HH:MM:SS.ffffff``; aware values are stored in
  UTC with ``+00:00`` and read back aware (UTC). Fixed width keeps text order
  equal to time order, so comparisons and ORDER BY are correct.
* date, time → ISO TEXT; UUID → 36-character TEXT; JSON → TEXT.
* Decimal → ``DECIMAL(p, s)`` (NUMERIC affinity: stored as an 8-byte float or
  integer), read back quantized to the field's scale. SQLite keeps 15
  significant digits exactly; a Decimal with more is refused with a
  ValidationError rather than silently rounded.
* bool → INTEGER 0/1, read back as bool.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import json
import sqlite3
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ormer.compiler import SQLCompiler
from ormer.dialect import (
    URL,
    Dialect,
    Dumper,
    Loader,
    decimal_from_number,
    uuid_from_text,
)
from ormer.driver import DriverConnection
from ormer.driverkit import dump_bytes, typed
from ormer.errors import ConfigurationError, NotSupportedError, ValidationError
from ormer.expr import IN_ARRAY_MIN, Expr, Param
from ormer.migrations.live import LiveTable
from ormer.migrations.ops import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    DropColumn,
    DropForeignKey,
    DropIndex,
    Operation,
)
from ormer.migrations.schema import IndexSchema, TableSchema
from ormer.types import ColumnType, Kind

from . import migration_lock as _migration_lock
from . import schema as _schema
from .inline import STRIKES

if TYPE_CHECKING:
    from ormer.connection import Connection

__all__ = ["SQLiteCompiler", "SQLiteDialect"]

_VERSION = sqlite3.sqlite_version_info
SQLITE_EXACT_DIGITS = 15
#: the name SQLite gives a UNIQUE or PRIMARY KEY constraint's index
_AUTOINDEX = "sqlite_autoindex_"


class SQLiteCompiler(SQLCompiler):
    """SQLite stores decimals as 8-byte numbers, integers when whole: true and floor
    division of non-float operands go through REAL so ``100 / 3`` never truncates."""

    function_names: ClassVar[dict[str, str]] = {}  # type: ignore[misc]

    def in_array(self, operand: str, array: Param, negate: bool) -> str:
        """``IN (SELECT value FROM json_each(?))``: the values as one JSON array (SQLite
        allows 32,766 bind parameters at most); the operand's affinity applies to them."""
        elements = self.array_elements(array)

        def dump(values: Any) -> str:
            items = elements(values)
            if any(isinstance(v, bytes) for v in items):
                raise NotSupportedError(
                    f"SQLite: in_/not_in with more than {IN_ARRAY_MIN} bytes values "
                    "(they travel as one JSON array, which cannot hold bytes)"
                )
            return json.dumps(items, separators=(",", ":"), ensure_ascii=False)

        placeholder = self.bind_array(array, dump)
        keyword = "NOT IN" if negate else "IN"
        return f"{operand} {keyword} (SELECT value FROM json_each({placeholder}))"

    # -- schema migrations: SQLite's ALTER TABLE has ADD COLUMN, DROP COLUMN (3.35+,
    # not of a key, indexed or foreign-key column), RENAME; the rest is a table rebuild
    def migration_sql(
        self, op: Operation, live: LiveTable | None, target: TableSchema | None = None
    ) -> list[str] | None:
        if isinstance(op, (AlterColumn, AddForeignKey, DropForeignKey)):
            return None
        if isinstance(op, AddColumn):
            column = self.added_column(op.column, live, target)
            if not column.nullable and column.default is None:
                return None  # SQLite refuses ADD COLUMN ... NOT NULL without a default
        if isinstance(op, DropColumn) and (
            live is None
            or not getattr(self.dialect, "drops_columns", True)
            or _bound(live, op.column.name)
        ):
            return None
        if isinstance(op, DropIndex) and (op.index.unique or op.index.name.startswith(_AUTOINDEX)):
            return None  # a UNIQUE constraint's index cannot be dropped
        return super().migration_sql(op, live, target)

    def rebuild_table_sql(self, live: LiveTable, new: TableSchema | LiveTable) -> list[str]:
        """The portable rebuild, its RENAME under ``legacy_alter_table``: a view on the
        table would otherwise fail the rename (it names a table dropped a statement
        earlier); the pragma is turned off again after it (and by ``rebuild_release``)."""
        statements = super().rebuild_table_sql(live, new)
        rename = next(i for i, sql in enumerate(statements) if sql.startswith("ALTER TABLE"))
        statements[rename : rename + 1] = [
            "PRAGMA legacy_alter_table = ON",
            statements[rename],
            "PRAGMA legacy_alter_table = OFF",
        ]
        return statements

    def unique_constraint_sql(self, index: IndexSchema) -> str:
        if index.name.startswith(_AUTOINDEX):  # SQLite's own name: the constraint had none
            return f"UNIQUE ({self.columns_sql(index.columns)})"
        return super().unique_constraint_sql(index)

    def true_divide(self, left: Expr, right: Expr) -> str:
        if _is_float(left) or _is_float(right):
            return super().true_divide(left, right)
        return f"CAST({self.process(left)} AS REAL) / {self.operand(right)}"

    def floor_divide(self, left: Expr, right: Expr) -> str:
        exact = self._is_exact_integer(left) and self._is_exact_integer(right)
        if exact or _is_float(left) or _is_float(right):
            return super().floor_divide(left, right)
        return f"FLOOR(CAST({self.process(left)} AS REAL) / {self.operand(right)})"


def _bound(live: LiveTable, column: str) -> bool:
    """Whether ``column`` is in the primary key, an index or a foreign key (SQLite
    cannot DROP COLUMN those)."""
    return (
        column in live.primary_key
        or any(column in i.columns for i in live.indexes)
        or any(column in f.columns for f in live.foreign_keys)
    )


def _is_float(node: Expr) -> bool:
    return node.type is not None and node.type.kind is Kind.FLOAT


def _dump_datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC)
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds") + "+00:00"
    return value.isoformat(sep=" ", timespec="microseconds")


def _dump_time(value: datetime.time) -> str:
    return value.isoformat(timespec="microseconds")


def _dump_decimal(value: decimal.Decimal) -> float:
    # Sent as a number, not text: a TEXT parameter compared with an expression that
    # has no column affinity (``amount * 2 > ?``, ``SUM(x) > ?``) always compares
    # greater than any number. Up to 15 significant digits a float is exact.
    digits = value.as_tuple().digits
    significant = len(str(int("".join(map(str, digits)) or "0")))
    if significant > SQLITE_EXACT_DIGITS:
        raise ValidationError(
            f"Decimal {value} has {significant} significant digits; SQLite stores "
            f"decimals exactly up to {SQLITE_EXACT_DIGITS}"
        )
    return float(value)


def _load_bool(value: Any) -> bool:
    return bool(value)


def _load_datetime(value: Any) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        return value
    return datetime.datetime.fromisoformat(value)


def _load_date(value: Any) -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(value)


def _load_time(value: Any) -> datetime.time:
    if isinstance(value, datetime.time):
        return value
    return datetime.time.fromisoformat(value)


class SQLiteDialect(Dialect):
    """SQLite 3.35+ (RETURNING, NULLS FIRST/LAST, math functions when compiled in)."""

    name = "sqlite"
    compiler_class = SQLiteCompiler
    supports_returning = _VERSION >= (3, 35, 0)
    max_bind_params = 32766 if _VERSION >= (3, 32, 0) else 999
    supports_nulls_order = _VERSION >= (3, 30, 0)
    supports_aggregate_filter = _VERSION >= (3, 30, 0)
    supports_window_functions = _VERSION >= (3, 25, 0)
    group_by_rollup = None  # no ROLLUP / GROUPING SETS in SQLite
    keeps_negative_zero = False  # a REAL with no fraction is stored as an integer
    nulls_first_ascending = True
    like_is_case_sensitive = True  # the driver turns on PRAGMA case_sensitive_like
    isolation_levels = frozenset({"serializable"})
    transaction_modes = frozenset({"deferred", "immediate", "exclusive"})
    paramstyle = "qmark"
    serialize_writes = True
    reset_clears_session = False  # reset() only rolls back
    max_decimal_digits = SQLITE_EXACT_DIGITS
    # no FOR UPDATE: BEGIN IMMEDIATE/EXCLUSIVE takes the write lock on the whole file,
    # which covers every row lock (ormer.locks)
    supports_row_locks = False
    row_lock_transaction_modes = frozenset({"immediate", "exclusive"})

    type_names: ClassVar[dict[Kind, str]] = {
        **dict.fromkeys((Kind.DATE, Kind.TIME, Kind.UUID, Kind.JSON), "TEXT"),
        **dict.fromkeys((Kind.INT, Kind.BOOL), "INTEGER"),
        Kind.FLOAT: "REAL",
        Kind.BYTES: "BLOB",
    }

    kind_dumpers: ClassVar[Mapping[Kind, Dumper | None]] = {
        Kind.DATETIME: typed(_dump_datetime, datetime.datetime),
        Kind.DATE: typed(datetime.date.isoformat, datetime.date),
        Kind.TIME: typed(_dump_time, datetime.time),
        Kind.UUID: typed(str, uuid.UUID),
        Kind.DECIMAL: typed(_dump_decimal, decimal.Decimal),
        Kind.BYTES: dump_bytes,
    }
    kind_loaders: ClassVar[Mapping[Kind, Loader | None]] = {
        Kind.BOOL: _load_bool,
        Kind.DATETIME: _load_datetime,
        Kind.DATE: _load_date,
        Kind.TIME: _load_time,
        Kind.UUID: uuid_from_text,
    }

    def type_name(self, ct: ColumnType, indexed: bool) -> str:
        if ct.kind is Kind.DATETIME:
            return "TEXT"
        if ct.kind is Kind.DECIMAL:
            return f"DECIMAL({ct.max_digits}, {ct.decimal_places})"
        return super().type_name(ct, indexed)

    def auto_pk_sql(self, quoted_column: str) -> str:
        return f"{quoted_column} INTEGER PRIMARY KEY"

    # -- schema migrations ---------------------------------------------------------------------
    #: ALTER TABLE ... DROP COLUMN (SQLite 3.35+)
    drops_columns: ClassVar[bool] = _VERSION >= (3, 35, 0)
    rebuilds_tables = True

    def normalize_default(self, sql: str) -> str:
        """Turso's catalog spells ``-3`` as ``- 3``: one spelling for both."""
        sql = sql.strip()
        return sql[0] + sql[1:].lstrip() if sql[:1] in "+-" and sql[:2] != "--" else sql

    async def inspect_table(self, conn: Connection, table: str) -> LiveTable | None:
        return await _schema.inspect_sqlite_table(self, conn, table)

    async def rebuild_guard(self, conn: Connection, table: str) -> Any:
        return await _schema.rebuild_guard(conn, table)

    def migration_lock(self, conn: Connection) -> contextlib.AbstractAsyncContextManager[None]:
        """``BEGIN EXCLUSIVE`` around the whole run, foreign-key enforcement off (set
        before the transaction, restored after it) so that a revision may rebuild a
        referenced table; :meth:`migration_check` checks each revision."""
        return _migration_lock.migration_lock(conn)

    async def migration_check(self, conn: Connection) -> None:
        await _migration_lock.foreign_key_check(conn)

    async def rebuild_check(self, conn: Connection, table: str, token: Any) -> None:
        await _schema.rebuild_check(conn, table, token)

    async def rebuild_release(self, conn: Connection, token: Any) -> None:
        await _schema.rebuild_release(conn, token)

    def begin_statements(self, isolation: str | None, mode: str | None) -> list[str]:
        self.check_transaction_options(isolation, mode)
        return [f"BEGIN {mode.upper()}" if mode else "BEGIN"]

    def parse_target(self, target: str) -> URL:
        """A path, ``:memory:``, ``sqlite:///relative`` or ``sqlite:////absolute``."""
        text = target
        scheme = "sqlite"
        if "://" in target:
            scheme, _, rest = target.partition("://")
            if scheme.lower() not in ("sqlite", "sqlite3"):
                raise ConfigurationError(f"not a SQLite URL: {target!r}")
            if rest in (":memory:", "/:memory:"):
                text = ":memory:"
            elif rest.startswith("/"):
                text = rest[1:]
            else:
                raise ConfigurationError(
                    f"malformed SQLite URL {target!r}: use sqlite:///relative/path, "
                    "sqlite:////absolute/path or sqlite:///:memory:"
                )
        if text.startswith("file:"):  # an SQLite URI keeps its own ?mode=...&cache=...
            return URL(scheme=scheme.lower(), database=text, raw=target)
        text, _, query = text.partition("?")
        if not text:
            raise ConfigurationError(f"SQLite URL {target!r} names no database file")
        options = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        return URL(scheme=scheme.lower(), database=text, query=options, raw=target)

    #: most statements remembered as short (lookups by key, LIMIT selects, one-row writes)
    MAX_SHORT_STATEMENTS = 10_000

    #: runs past the inline budget in a row after which a statement is no longer taken
    #: for short (one slow run can be a busy machine, not a long statement)
    SHORT_STRIKES = STRIKES

    @property
    def short_statements(self) -> dict[str, int]:
        """SQL texts the planner marked short, each with the runs past the inline budget
        it may still have: drivers run them on the event loop's thread (the
        ``inline_reads`` and ``inline_writes`` connect options) until they are dropped."""
        found: dict[str, int] | None = self.__dict__.get("_short_statements")
        if found is None:
            found = self.__dict__["_short_statements"] = {}
        return found

    @property
    def short_writes(self) -> set[str]:
        """The short statements that write (one-row INSERT, UPDATE or DELETE by key):
        drivers run them inline outside transactions (``inline_writes``)."""
        found: set[str] | None = self.__dict__.get("_short_writes")
        if found is None:
            found = self.__dict__["_short_writes"] = set()
        return found

    def note_short_statement(self, sql: str, write: bool = False) -> None:
        short = self.short_statements
        if len(short) < self.MAX_SHORT_STATEMENTS:
            short.setdefault(sql, self.SHORT_STRIKES)
            if write:
                self.short_writes.add(sql)

    async def connect(self, url: URL, options: dict[str, Any]) -> DriverConnection:
        from .driver import SQLiteDriver

        merged = {**url.query, **options}
        assert url.database is not None
        return await SQLiteDriver.open(
            url.database, merged, self.short_statements, self.short_writes
        )

    def make_loader(self, ct: ColumnType) -> Loader | None:
        if ct.kind is Kind.DECIMAL:
            return decimal_from_number(ct.decimal_places)
        return super().make_loader(ct)

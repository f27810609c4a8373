"""Schema migrations on MySQL and MariaDB: the catalog read back (``inspect_table``),
type and default spellings, ``ALTER TABLE`` rendering and the migration lock.

The table is looked up in the connection's database (``DATABASE()``). DDL is not
transactional on either server: each ``ALTER TABLE`` commits on its own.

Catalog differences handled here:

* MariaDB shows a string default quoted (``'abc'``) and a nullable column without
  a default as the string ``NULL``; MySQL 8 shows the bare text (``abc``) and SQL
  NULL. Both become ``'abc'`` / None.
* MariaDB stores ``JSON`` as ``LONGTEXT`` with a ``CHECK (json_valid(col))``: such a
  column is reported as ``JSON``.
* InnoDB adds an index for a foreign key that no index covers (named after the
  constraint or its first column); it is not reported (a model does not declare it)
  but kept in :attr:`MySQLLiveTable.foreign_key_indexes`, so that dropping the
  foreign key drops that index too.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ormer.errors import MigrationError
from ormer.migrations.live import LiveColumn, LiveTable, live_foreign_key, live_index
from ormer.migrations.ops import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    DropColumn,
    DropForeignKey,
    DropIndex,
    Operation,
)
from ormer.migrations.schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema
from ormer.migrations.state import live_column

if TYPE_CHECKING:
    from ormer.compiler import SQLCompiler
    from ormer.connection import Connection

    from .dialect import MySQLDialect

__all__ = [
    "MIGRATION_LOCK_NAME",
    "MySQLLiveTable",
    "canonical_number",
    "inspect_table",
    "migration_lock",
    "migration_sql",
    "normalize_default",
    "normalize_type",
    "type_change",
]

#: the GET_LOCK name versioned migrations hold (suffixed with the database's name)
MIGRATION_LOCK_NAME = "ormer_migrations"

#: integer types whose display width (``bigint(20)``, MariaDB) is not part of the type
_INT_TYPES = ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT")
_INT_WIDTHS = {"TINYINT": 1, "SMALLINT": 2, "MEDIUMINT": 3, "INT": 4, "INTEGER": 4, "BIGINT": 8}
#: the bytes each TEXT/BLOB type holds
_TEXT_BYTES = {"TINYTEXT": 255, "TEXT": 65535, "MEDIUMTEXT": 16777215, "LONGTEXT": 4294967295}
_BLOB_BYTES = {"TINYBLOB": 255, "BLOB": 65535, "MEDIUMBLOB": 16777215, "LONGBLOB": 4294967295}
#: catalog data types whose defaults MySQL 8 shows unquoted
_STRING_TYPES = frozenset(
    {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
    | {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
)
_SIZED = re.compile(r"^([A-Z]+)\((\d+)(?:,(\d+))?\)$")


@dataclass(frozen=True)
class MySQLLiveTable(LiveTable):
    """A :class:`LiveTable` plus the indexes InnoDB made for foreign keys (not in
    ``indexes``: no model declares them)."""

    foreign_key_indexes: tuple[IndexSchema, ...] = ()


def normalize_type(ddl: str) -> str:
    """``bigint(20)`` → ``BIGINT`` (a display width is no type), ``decimal(12, 3)``
    → ``DECIMAL(12,3)``; ``TINYINT(1)`` (ormer's bool) keeps its width."""
    text = " ".join(ddl.upper().replace(" (", "(").replace(", ", ",").split())
    if text.startswith(_INT_TYPES) and text != "TINYINT(1)":
        text = re.sub(r"^(\w+)\(\d+\)", r"\1", text)
    return text


def canonical_number(text: str) -> str | None:
    """A numeric literal in one spelling (``0.000`` and ``0``, ``1e20`` and ``1e+20``
    agree), None when ``text`` is not a number."""
    import decimal

    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return format(number.normalize(), "f")


def quote_string(value: str) -> str:
    """A MySQL string literal (backslashes and quotes escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}


def unquote_string(literal: str) -> str | None:
    """The value of a MySQL string literal (``'it''s'`` and ``'it\\'s'`` alike), None
    when ``literal`` is not exactly one literal."""
    if len(literal) < 2 or literal[0] != "'" or literal[-1] != "'":
        return None
    out: list[str] = []
    body, i = literal[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt if nxt in "%_" else nxt))
            i += 2
        elif ch == "'":
            if body[i + 1 : i + 2] != "'":
                return None  # a quote ending the literal early: not one literal
            out.append("'")
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def normalize_default(sql: str) -> str:
    """A default in one spelling: string literals re-quoted one way (MariaDB shows
    ``'it\\'s'`` or ``'it''s'``), ``TRUE``/``FALSE`` as ``1``/``0`` (what a
    TINYINT(1) stores), numbers canonical (``0.000`` → ``0``)."""
    text = sql.strip()
    if text.startswith("'"):
        value = unquote_string(text)
        return text if value is None else quote_string(value)
    if text.upper() == "TRUE":
        return "1"
    if text.upper() == "FALSE":
        return "0"
    number = canonical_number(text)
    return number if number is not None else text


def _wider(old: str, new: str, sizes: dict[str, int], bytes_per_unit: int) -> str | None:
    """VARCHAR(n)/VARBINARY(n) → a TEXT/BLOB type: widen when n units always fit."""
    o = _SIZED.match(old)
    if o and new in sizes and o.group(1) in ("VARCHAR", "CHAR", "VARBINARY", "BINARY"):
        return "widen" if int(o.group(2)) * bytes_per_unit <= sizes[new] else "narrow"
    return None


def type_change(old: str, new: str, portable: str) -> str:
    """MySQL's widenings on normalized types, else ``portable`` (the core verdict):
    TINYTEXT < TEXT < MEDIUMTEXT < LONGTEXT (and the BLOBs), VARCHAR(n) → a TEXT
    type holding 4n bytes (utf8mb4), VARBINARY(n) → a BLOB of n bytes, integer
    widths (bool's TINYINT(1) included), DATETIME/TIME fractional digits, JSON →
    LONGTEXT."""
    if old == new:
        return "same"
    if old == "JSON" and new == "LONGTEXT":
        return "widen"  # a JSON document's text
    if old == "TINYINT(1)":
        old = "TINYINT"  # ormer's bool: an integer
    for sizes in (_TEXT_BYTES, _BLOB_BYTES):
        if old in sizes and new in sizes:
            return "widen" if sizes[new] >= sizes[old] else "narrow"
    verdict = _wider(old, new, _TEXT_BYTES, 4) if "TEXT" in new else None
    if verdict is None and "BLOB" in new:
        verdict = _wider(old, new, _BLOB_BYTES, 1)
    if verdict is not None:
        return verdict
    if old in _INT_WIDTHS and new in _INT_WIDTHS:
        return "widen" if _INT_WIDTHS[new] >= _INT_WIDTHS[old] else "narrow"
    if old == "FLOAT" and new == "DOUBLE":
        return "widen"
    o, n = _SIZED.match(old), _SIZED.match(new)
    if o and n:
        kinds = {o.group(1), n.group(1)}
        if kinds <= {"VARCHAR", "CHAR"} or kinds <= {"VARBINARY", "BINARY"}:
            return "widen" if int(n.group(2)) >= int(o.group(2)) else "narrow"
        if o.group(1) == n.group(1) and o.group(1) in ("DATETIME", "TIME", "TIMESTAMP"):
            return "widen" if int(n.group(2)) >= int(o.group(2)) else "narrow"
    return portable


def _live_default(dialect: MySQLDialect, raw: str | None, data_type: str, extra: str) -> str | None:
    if raw is None:
        return None
    if dialect.is_mariadb:
        if raw == "NULL":
            return None  # MariaDB: no default on a nullable column
        return normalize_default(raw)
    if data_type.lower() in _STRING_TYPES and "DEFAULT_GENERATED" not in extra.upper():
        return quote_string(raw)  # MySQL 8 shows string defaults unquoted
    return normalize_default(raw)


async def inspect_table(dialect: MySQLDialect, conn: Connection, table: str) -> LiveTable | None:
    """The table ``table`` in the connection's database, from information_schema."""
    rows = await conn.exec_rows(
        "SELECT column_name, column_type, is_nullable, column_default, extra, data_type "
        "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = %s "
        "ORDER BY ordinal_position",
        [table],
    )
    if not rows:
        return None
    json_columns: set[str] = set()
    if dialect.is_mariadb:
        for name, clause in await conn.exec_rows(
            "SELECT constraint_name, check_clause FROM information_schema.check_constraints "
            "WHERE constraint_schema = DATABASE() AND table_name = %s",
            [table],
        ):
            if str(clause).replace(" ", "").lower() == f"json_valid(`{name}`)".lower():
                json_columns.add(str(name))
    groups: dict[str, tuple[bool, list[str]]] = {}
    for name, non_unique, column in await conn.exec_rows(
        "SELECT index_name, non_unique, column_name FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND table_name = %s ORDER BY index_name, seq_in_index",
        [table],
    ):
        groups.setdefault(str(name), (not int(non_unique), []))[1].append(str(column))
    primary = tuple(groups.pop("PRIMARY", (True, []))[1])
    fk_columns: dict[str, list[str]] = {}
    fk_rows: dict[str, tuple[str, list[str], str | None]] = {}
    for name, column, ref_table, ref_column, rule in await conn.exec_rows(
        "SELECT k.constraint_name, k.column_name, k.referenced_table_name, "
        "k.referenced_column_name, r.delete_rule FROM information_schema.key_column_usage k "
        "JOIN information_schema.referential_constraints r "
        "ON r.constraint_schema = k.constraint_schema AND r.constraint_name = k.constraint_name "
        "AND r.table_name = k.table_name "
        "WHERE k.table_schema = DATABASE() AND k.table_name = %s "
        "AND k.referenced_table_name IS NOT NULL "
        "ORDER BY k.constraint_name, k.ordinal_position",
        [table],
    ):
        fk_columns.setdefault(str(name), []).append(str(column))
        ref = fk_rows.setdefault(str(name), (str(ref_table), [], str(rule).lower()))
        ref[1].append(str(ref_column))
    foreign_keys = tuple(
        ForeignKeySchema(name, tuple(fk_columns[name]), ref, tuple(ref_cols), rule)
        for name, (ref, ref_cols, rule) in fk_rows.items()
    )
    indexes: list[IndexSchema] = []
    fk_indexes: list[IndexSchema] = []
    for name, (unique, columns) in groups.items():
        index = IndexSchema(name, tuple(columns), unique=unique)
        backs = any(
            not unique and fk.columns == index.columns and name in (fk.name, fk.columns[0])
            for fk in foreign_keys
        )
        (fk_indexes if backs else indexes).append(index)
    columns_out = []
    for name, type_sql, nullable, default, extra, data_type in rows:
        auto = "auto_increment" in str(extra).lower()
        columns_out.append(
            LiveColumn(
                name=str(name),
                type="JSON" if name in json_columns else normalize_type(str(type_sql)),
                nullable=str(nullable).upper() == "YES",
                default=None
                if auto
                else _live_default(dialect, _text(default), str(data_type), str(extra)),
                primary=name in primary,
                auto=auto,
            )
        )
    return MySQLLiveTable(
        name=table,
        columns=tuple(columns_out),
        primary_key=primary,
        indexes=tuple(indexes),
        foreign_keys=foreign_keys,
        foreign_key_indexes=tuple(fk_indexes),
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)


# -- rendering ------------------------------------------------------------------------------
def indexed(name: str, live: LiveTable | None, target: TableSchema | None) -> bool:
    """Whether the column is in the primary key or an index, before or after (MySQL
    types an indexed ``str`` VARCHAR(255), not LONGTEXT)."""
    if target is not None and name in target.indexed_columns():
        return True
    if live is None:
        return False
    return name in live.primary_key or any(name in i.columns for i in live.indexes)


def _columns(compiler: SQLCompiler, names: Sequence[str]) -> str:
    return ", ".join(compiler.q(n) for n in names)


def column_definition(compiler: SQLCompiler, column: ColumnSchema, is_indexed: bool) -> str:
    """``col TYPE NULL|NOT NULL [DEFAULT x]``: the whole definition MODIFY COLUMN needs
    (a column it leaves out loses its default or NOT NULL)."""
    live = live_column(compiler.dialect, column, is_indexed)
    sql = f"{compiler.q(live.name)} {live.type} {'NULL' if live.nullable else 'NOT NULL'}"
    if live.default is not None:
        sql += f" DEFAULT {live.default}"
    return sql


def _covered(live: LiveTable, fk: ForeignKeySchema, besides: str) -> bool:
    """Whether an index other than ``besides`` (reported, or the primary key) starts
    with the foreign key's columns."""
    n = len(fk.columns)
    return live.primary_key[:n] == fk.columns or any(
        i.name != besides and i.columns[:n] == fk.columns for i in live.indexes
    )


def _hidden_index(live: LiveTable, fk: ForeignKeySchema) -> IndexSchema | None:
    """The unreported index backing ``fk`` (InnoDB's, or the one :func:`_drop_index`
    added): None when a reported index covers the foreign key."""
    if not isinstance(live, MySQLLiveTable):
        return None  # rendered without the catalog: unknown
    for index in live.foreign_key_indexes:
        if index.columns == fk.columns:
            return index
    if _covered(live, fk, ""):
        return None
    # not covered by any index the plan knows of: a DROP INDEX earlier in this plan
    # replaced the index it dropped by one named after the column
    return IndexSchema(fk.columns[0], fk.columns)


def _drop_index(
    compiler: SQLCompiler, table: str, index: IndexSchema, live: LiveTable | None
) -> str:
    """``DROP INDEX``; when a foreign key needs the index (InnoDB refuses to drop it)
    and no other index serves it, an index of the foreign key's own (named after its
    first column, not reported by ``inspect_table``) replaces it in the same statement."""
    q = compiler.q
    sql = f"ALTER TABLE {q(table)} DROP INDEX {q(index.name)}"
    if live is None:
        return sql
    for fk in live.foreign_keys:
        if index.columns[: len(fk.columns)] != fk.columns or _covered(live, fk, index.name):
            continue
        if isinstance(live, MySQLLiveTable) and any(
            i.columns == fk.columns for i in live.foreign_key_indexes
        ):
            continue  # an unreported index serves it already
        sql += f", ADD INDEX {q(fk.columns[0])} ({_columns(compiler, fk.columns)})"
        break
    return sql


def _create_index(
    compiler: SQLCompiler, table: str, index: IndexSchema, live: LiveTable | None
) -> str:
    """``ADD INDEX``/``ADD CONSTRAINT ... UNIQUE``; an unreported index that only served
    a foreign key the new index now serves is dropped in the same statement."""
    q = compiler.q
    kind = f"CONSTRAINT {q(index.name)} UNIQUE" if index.unique else f"INDEX {q(index.name)}"
    sql = f"ALTER TABLE {q(table)} ADD {kind} ({_columns(compiler, index.columns)})"
    if live is None:
        return sql
    for fk in live.foreign_keys:
        if index.columns[: len(fk.columns)] != fk.columns:
            continue
        hidden = _hidden_index(live, fk)
        if hidden is not None:
            sql += f", DROP INDEX {q(hidden.name)}"
            break
    return sql


def migration_sql(
    compiler: SQLCompiler, op: Operation, live: LiveTable | None, target: TableSchema | None
) -> list[str] | None:
    """MySQL's SQL for a column, index or foreign-key operation; None for the others
    (the portable rendering applies)."""
    q = compiler.q
    if isinstance(op, AddColumn):
        definition = column_definition(compiler, op.column, indexed(op.column.name, live, target))
        return [f"ALTER TABLE {q(op.table)} ADD COLUMN {definition}"]
    if isinstance(op, DropColumn):
        return [f"ALTER TABLE {q(op.table)} DROP COLUMN {q(op.column.name)}"]
    if isinstance(op, AlterColumn):
        definition = column_definition(compiler, op.new, indexed(op.new.name, live, target))
        return [f"ALTER TABLE {q(op.table)} MODIFY COLUMN {definition}"]
    if isinstance(op, CreateIndex):
        return [_create_index(compiler, op.table, op.index, live)]
    if isinstance(op, DropIndex):
        return [_drop_index(compiler, op.table, live_index(live, op.index), live)]
    if isinstance(op, AddForeignKey):
        fk = op.foreign_key
        sql = (
            f"ALTER TABLE {q(op.table)} ADD CONSTRAINT {q(fk.name)} FOREIGN KEY "
            f"({_columns(compiler, fk.columns)}) REFERENCES {q(fk.ref_table)} "
            f"({_columns(compiler, fk.ref_columns)})"
        )
        if fk.on_delete:
            sql += f" ON DELETE {fk.on_delete.upper()}"
        return [sql]
    if isinstance(op, DropForeignKey):
        fk = live_foreign_key(live, op.foreign_key)
        statements = [f"ALTER TABLE {q(op.table)} DROP FOREIGN KEY {q(fk.name)}"]
        if isinstance(live, MySQLLiveTable):
            for index in live.foreign_key_indexes:
                if index.columns == fk.columns:  # InnoDB made it for this key: drop it too
                    statements.append(f"ALTER TABLE {q(op.table)} DROP INDEX {q(index.name)}")
                    break
        return statements
    return None


@contextlib.asynccontextmanager
async def migration_lock(conn: Connection, timeout: float) -> AsyncIterator[None]:
    """Hold ``GET_LOCK('ormer_migrations:<database>', timeout)`` for the body; a
    :class:`~ormer.errors.MigrationError` when another session holds it past
    ``timeout`` seconds. Released (``RELEASE_LOCK``) also when the body raises."""
    name = f"LEFT(CONCAT('{MIGRATION_LOCK_NAME}:', DATABASE()), 64)"
    rows = await conn.exec_rows(f"SELECT GET_LOCK({name}, %s)", [timeout], timeout=None)
    if not rows or rows[0][0] != 1:
        raise MigrationError(
            f"another process is migrating this database: the lock {MIGRATION_LOCK_NAME!r} "
            f"(GET_LOCK) was not released within {timeout:g} seconds"
        )
    try:
        yield
    finally:
        await conn.exec_rows(f"SELECT RELEASE_LOCK({name})")

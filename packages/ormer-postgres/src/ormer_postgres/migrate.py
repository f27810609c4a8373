"""Schema migrations on PostgreSQL: the catalog read back (``inspect_table``), type
and default spellings, ``ALTER TABLE`` rendering and the migration advisory lock.

The table is looked up through the connection's ``search_path`` (``to_regclass``),
so a URL's ``?search_path=`` schema is the one inspected and altered. DDL is
transactional on PostgreSQL: a plan runs all or nothing.
"""

from __future__ import annotations

import contextlib
import decimal
import hashlib
import re
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from ormer.migrations.live import LiveColumn, LiveTable, live_foreign_key, live_index
from ormer.migrations.ops import (
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    DropForeignKey,
    DropIndex,
    Operation,
)
from ormer.migrations.schema import ForeignKeySchema, IndexSchema, TableSchema
from ormer.migrations.state import live_column

if TYPE_CHECKING:
    from ormer.compiler import SQLCompiler
    from ormer.connection import Connection
    from ormer.dialect import Dialect

__all__ = [
    "MIGRATION_LOCK_KEY",
    "advisory_lock",
    "inspect_table",
    "migration_sql",
    "normalize_default",
    "normalize_type",
    "type_change",
    "using_sql",
]

#: the pg_advisory_lock key versioned migrations hold: 64 bits of sha256("ormer_migrations")
MIGRATION_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"ormer_migrations").digest()[:8], "big", signed=True
)

#: catalog spellings (format_type) → the spelling ``PostgresDialect.type_name`` renders
_ALIASES = {
    "CHARACTER VARYING": "VARCHAR",
    "CHARACTER": "CHAR",
    "INT8": "BIGINT",
    "INT4": "INTEGER",
    "INT": "INTEGER",
    "INT2": "SMALLINT",
    "FLOAT8": "DOUBLE PRECISION",
    "FLOAT4": "REAL",
    "BOOL": "BOOLEAN",
    "DECIMAL": "NUMERIC",
    "TIME WITHOUT TIME ZONE": "TIME",
    "TIMESTAMP WITHOUT TIME ZONE": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "TIME WITH TIME ZONE": "TIMETZ",
}
_TYPE = re.compile(r"^([A-Z0-9 ]+?)(\(.*\))?$")
_NUMERIC_TYPES = frozenset({"BIGINT", "INTEGER", "SMALLINT", "NUMERIC", "DOUBLE PRECISION", "REAL"})
_ON_DELETE = {"r": "restrict", "c": "cascade", "n": "set null", "d": "set default"}


def normalize_type(ddl: str) -> str:
    """``character varying(50)`` → ``VARCHAR(50)``, ``timestamp with time zone`` →
    ``TIMESTAMPTZ``, ``numeric(12, 3)`` → ``NUMERIC(12,3)``: the catalog's and
    ``type_name``'s spellings made equal."""
    text = " ".join(ddl.upper().replace(" (", "(").replace(", ", ",").split())
    match = _TYPE.match(text)
    if match is None:
        return text
    base, params = match.group(1).strip(), match.group(2) or ""
    return _ALIASES.get(base, base) + params


def _split_literal(sql: str) -> tuple[str, str]:
    """A leading ``'...'`` literal (quotes doubled inside) and the rest of ``sql``."""
    i = 1
    while i < len(sql):
        if sql[i] == "'":
            if i + 1 < len(sql) and sql[i + 1] == "'":
                i += 2
                continue
            return sql[: i + 1], sql[i + 1 :]
        i += 1
    return sql, ""


def canonical_number(text: str) -> str | None:
    """A numeric literal in one spelling (``1.50`` and ``1.5``, ``1e+20`` and
    ``100000000000000000000`` agree), None when ``text`` is not a number."""
    try:
        number = decimal.Decimal(text)
    except decimal.InvalidOperation:
        return None
    if not number.is_finite():
        return None
    return format(number.normalize(), "f")


def normalize_default(sql: str) -> str:
    """A default as PostgreSQL shows it (``'abc'::text``, ``'-3'::integer``, ``(3)``,
    ``true``) in the spelling ``default_sql`` renders (``'abc'``, ``-3``, ``TRUE``):
    casts and parentheses dropped, numbers in one spelling."""
    text = sql.strip()
    cast: str | None = None
    while True:
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1].strip()
            continue
        if text.startswith("'"):
            literal, rest = _split_literal(text)
            if rest.startswith("::"):
                cast = normalize_type(rest[2:])
                text = literal
            break
        head, sep, tail = text.rpartition("::")
        if sep and re.fullmatch(r"[A-Za-z ]+(\(\d+(,\s*\d+)?\))?", tail.strip()):
            cast = normalize_type(tail)
            text = head.strip()
            continue
        break
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        if cast is not None and cast.split("(")[0] in _NUMERIC_TYPES:
            number = canonical_number(text[1:-1].replace("''", "'"))
            if number is not None:
                return number
        return text
    if text.lower() in ("true", "false"):
        return text.upper()
    number = canonical_number(text)
    return number if number is not None else text


async def inspect_table(dialect: Dialect, conn: Connection, table: str) -> LiveTable | None:
    """The table ``table`` in the connection's ``search_path``, read from pg_catalog."""
    rows = await conn.exec_rows(
        "SELECT c.oid::bigint FROM pg_class c "
        "WHERE c.oid = to_regclass(quote_ident($1::text)) AND c.relkind IN ('r', 'p')",
        [table],
    )
    if not rows:
        return None
    oid = rows[0][0]
    primary = [
        r[0]
        for r in await conn.exec_rows(
            "SELECT a.attname FROM pg_constraint k "
            "CROSS JOIN unnest(k.conkey) WITH ORDINALITY AS u(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum "
            "WHERE k.conrelid = $1::bigint::oid AND k.contype = 'p' ORDER BY u.n",
            [oid],
        )
    ]
    columns = []
    for name, type_sql, not_null, default, identity in await conn.exec_rows(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid), a.attidentity::text FROM pg_attribute a "
        "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
        "WHERE a.attrelid = $1::bigint::oid AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        [oid],
    ):
        auto = identity in ("a", "d") or (default or "").startswith("nextval(")
        columns.append(
            LiveColumn(
                name=name,
                type=normalize_type(type_sql),
                nullable=not not_null,
                default=None if auto or default is None else normalize_default(default),
                primary=name in primary,
                auto=auto,
            )
        )
    indexes = [
        IndexSchema(name, tuple(cols), unique=bool(unique))
        for name, unique, cols in await conn.exec_rows(
            "SELECT i.relname, x.indisunique, array_agg(a.attname::text ORDER BY u.n) "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "CROSS JOIN unnest(x.indkey::int2[]) WITH ORDINALITY AS u(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum "
            "WHERE x.indrelid = $1::bigint::oid AND NOT x.indisprimary "
            "AND x.indexprs IS NULL AND x.indpred IS NULL "
            "GROUP BY i.relname, x.indisunique ORDER BY i.relname",
            [oid],
        )
    ]
    foreign_keys = [
        ForeignKeySchema(name, tuple(cols), ref_table, tuple(ref_cols), _ON_DELETE.get(action))
        for name, cols, ref_table, ref_cols, action in await conn.exec_rows(
            "SELECT k.conname, "
            "(SELECT array_agg(a.attname::text ORDER BY u.n) "
            " FROM unnest(k.conkey) WITH ORDINALITY AS u(attnum, n) "
            " JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum), "
            "r.relname, "
            "(SELECT array_agg(a.attname::text ORDER BY u.n) "
            " FROM unnest(k.confkey) WITH ORDINALITY AS u(attnum, n) "
            " JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum), "
            "k.confdeltype::text "
            "FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid "
            "WHERE k.conrelid = $1::bigint::oid AND k.contype = 'f' ORDER BY k.conname",
            [oid],
        )
    ]
    return LiveTable(
        name=table,
        columns=tuple(columns),
        primary_key=tuple(primary),
        indexes=tuple(indexes),
        foreign_keys=tuple(foreign_keys),
    )


# -- rendering ------------------------------------------------------------------------------
def indexed(name: str, live: LiveTable | None, target: TableSchema | None) -> bool:
    """Whether the column is in the primary key or an index, before or after."""
    if target is not None and name in target.indexed_columns():
        return True
    if live is None:
        return False
    return name in live.primary_key or any(name in i.columns for i in live.indexes)


def _columns(compiler: SQLCompiler, names: Sequence[str]) -> str:
    return ", ".join(compiler.q(n) for n in names)


def foreign_key_sql(compiler: SQLCompiler, fk: ForeignKeySchema) -> str:
    """``CONSTRAINT name FOREIGN KEY (...) REFERENCES t (...) [ON DELETE ...]``."""
    q = compiler.q
    sql = (
        f"CONSTRAINT {q(fk.name)} FOREIGN KEY ({_columns(compiler, fk.columns)}) "
        f"REFERENCES {q(fk.ref_table)} ({_columns(compiler, fk.ref_columns)})"
    )
    if fk.on_delete:
        sql += f" ON DELETE {fk.on_delete.upper()}"
    return sql


_INTEGERS = frozenset({"SMALLINT", "INTEGER", "BIGINT"})


def type_change(old: str, new: str, portable: str) -> str:
    """PostgreSQL's widenings besides the portable ones (``portable``): JSONB → TEXT
    (its text form), BOOLEAN → an integer type (0/1)."""
    if (old, new) == ("JSONB", "TEXT") or (old == "BOOLEAN" and new in _INTEGERS):
        return "widen"
    return portable


def using_sql(column: str, old: str, new: str) -> str:
    """How a value converts to the new type: ``col::type``, except where PostgreSQL has
    no such cast (boolean to and from bigint: through integer, and ``<> 0``)."""
    target = normalize_type(new)
    if old == "BOOLEAN" and target in _INTEGERS:
        return f"{column}::INTEGER::{new}"
    if old in _INTEGERS and target == "BOOLEAN":
        return f"{column} <> 0"
    return f"{column}::{new}"


def _alter_column(
    compiler: SQLCompiler, op: AlterColumn, live: LiveTable | None, target: TableSchema | None
) -> list[str]:
    dialect = compiler.dialect
    q = compiler.q
    is_indexed = indexed(op.new.name, live, target)
    new = live_column(dialect, op.new, is_indexed)
    old = op.old if isinstance(op.old, LiveColumn) else live_column(dialect, op.old, is_indexed)
    col = q(new.name)
    new_type, new_default = new.type, new.default
    old_default = None if old.default is None else normalize_default(old.default)
    type_changes = normalize_type(old.type) != normalize_type(new_type)
    default_changes = old_default != (
        None if new_default is None else normalize_default(new_default)
    )
    actions = []
    if type_changes and old_default is not None:
        actions.append(f"ALTER COLUMN {col} DROP DEFAULT")  # it may not cast to the new type
    if type_changes:
        using = using_sql(col, normalize_type(old.type), new_type)
        actions.append(f"ALTER COLUMN {col} TYPE {new_type} USING {using}")
    if new_default is not None and (default_changes or type_changes):
        actions.append(f"ALTER COLUMN {col} SET DEFAULT {new_default}")
    elif new_default is None and default_changes and not type_changes:
        actions.append(f"ALTER COLUMN {col} DROP DEFAULT")  # (else dropped above)
    if old.nullable != new.nullable:
        actions.append(f"ALTER COLUMN {col} {'DROP' if new.nullable else 'SET'} NOT NULL")
    if not actions:
        return []
    return [f"ALTER TABLE {q(op.table)} " + ", ".join(actions)]


def migration_sql(
    compiler: SQLCompiler, op: Operation, live: LiveTable | None, target: TableSchema | None
) -> list[str] | None:
    """PostgreSQL's SQL for an index, foreign-key or column change; None for the
    others (the portable rendering applies: ADD/DROP COLUMN, tables, raw SQL)."""
    q = compiler.q
    if isinstance(op, AlterColumn):
        return _alter_column(compiler, op, live, target)
    if isinstance(op, CreateIndex):
        ix = op.index
        if ix.unique:
            return [
                f"ALTER TABLE {q(op.table)} ADD CONSTRAINT {q(ix.name)} "
                f"UNIQUE ({_columns(compiler, ix.columns)})"
            ]
        return [f"CREATE INDEX {q(ix.name)} ON {q(op.table)} ({_columns(compiler, ix.columns)})"]
    if isinstance(op, DropIndex):
        name = q(live_index(live, op.index).name)
        if op.index.unique:
            # a UNIQUE constraint (what ormer makes) or a plain unique index: whichever it is
            return [
                f"ALTER TABLE {q(op.table)} DROP CONSTRAINT IF EXISTS {name}",
                f"DROP INDEX IF EXISTS {name}",
            ]
        return [f"DROP INDEX {name}"]
    if isinstance(op, AddForeignKey):
        return [f"ALTER TABLE {q(op.table)} ADD {foreign_key_sql(compiler, op.foreign_key)}"]
    if isinstance(op, DropForeignKey):
        fk = live_foreign_key(live, op.foreign_key)
        return [f"ALTER TABLE {q(op.table)} DROP CONSTRAINT {q(fk.name)}"]
    return None


@contextlib.asynccontextmanager
async def advisory_lock(conn: Connection) -> AsyncIterator[None]:
    """Hold ``pg_advisory_lock(MIGRATION_LOCK_KEY)`` (session level) for the body: a
    second process waits until the first releases it, also when its body raised."""
    await conn.exec_rows("SELECT pg_advisory_lock($1::bigint)", [MIGRATION_LOCK_KEY], timeout=None)
    try:
        yield
    finally:
        await conn.exec_rows("SELECT pg_advisory_unlock($1::bigint)", [MIGRATION_LOCK_KEY])

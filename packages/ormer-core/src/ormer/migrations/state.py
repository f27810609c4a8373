"""Table states in a dialect's SQL: a portable :class:`TableSchema` rendered as the
:class:`LiveTable` a dialect would create for it, and a live table with one operation
applied (what a table rebuild aims at, step by step)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..errors import MigrationError
from .live import LiveColumn, LiveTable
from .ops import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    Operation,
)
from .schema import ColumnSchema, TableSchema

if TYPE_CHECKING:
    from ..dialect import Dialect

__all__ = ["live_after", "live_column", "schema_as_live"]


def live_column(
    dialect: Dialect, column: ColumnSchema, indexed: bool, type_sql: str | None = None
) -> LiveColumn:
    """``column`` as ``dialect`` creates it (``type_sql``: a plugin's type, if any)."""
    default = None
    if column.default is not None and dialect.supports_default(column, indexed):
        default = dialect.default_sql(column)
    return LiveColumn(
        name=column.name,
        type=type_sql or dialect.type_name(column.column_type(), indexed),
        nullable=column.nullable,
        default=default,
        primary=column.primary,
        auto=column.auto,
    )


def schema_as_live(
    dialect: Dialect, schema: TableSchema, types: Mapping[str, str] | None = None
) -> LiveTable:
    """The table ``dialect`` creates for ``schema`` (``types``: DDL types by column, for
    columns whose type a plugin chose)."""
    indexed = schema.indexed_columns()
    types = types or {}
    return LiveTable(
        name=schema.name,
        columns=tuple(
            live_column(dialect, c, c.name in indexed, types.get(c.name)) for c in schema.columns
        ),
        primary_key=schema.primary_key,
        indexes=schema.indexes,
        foreign_keys=schema.foreign_keys,
    )


def _indexed(live: LiveTable) -> frozenset[str]:
    return frozenset(live.primary_key) | {c for i in live.indexes for c in i.columns}


def live_after(dialect: Dialect, live: LiveTable | None, op: Operation) -> LiveTable | None:
    """The live table once ``op`` has run (``live``: before it; None: missing)."""
    if isinstance(op, CreateTable):
        return schema_as_live(dialect, op.schema)
    if live is None:
        raise MigrationError(f"{op}: table {op.table} does not exist")
    replace = dataclasses.replace
    if isinstance(op, AddColumn):
        column = live_column(dialect, op.column, False)
        return replace(live, columns=(*live.columns, column))
    if isinstance(op, DropColumn):
        return replace(live, columns=tuple(c for c in live.columns if c.name != op.column.name))
    if isinstance(op, AlterColumn):
        new = live_column(dialect, op.new, op.new.name in _indexed(live))
        return replace(live, columns=tuple(new if c.name == new.name else c for c in live.columns))
    if isinstance(op, CreateIndex):
        return replace(live, indexes=(*live.indexes, op.index))
    if isinstance(op, DropIndex):
        key = op.index.columns, op.index.unique
        kept = tuple(
            i for i in live.indexes if i.name != op.index.name and (i.columns, i.unique) != key
        )
        return replace(live, indexes=kept)
    if isinstance(op, AddForeignKey):
        return replace(live, foreign_keys=(*live.foreign_keys, op.foreign_key))
    if isinstance(op, DropForeignKey):
        fk = op.foreign_key
        kept_fks = tuple(
            f
            for f in live.foreign_keys
            if f.name != fk.name and (f.columns, f.ref_table) != (fk.columns, fk.ref_table)
        )
        return replace(live, foreign_keys=kept_fks)
    return live

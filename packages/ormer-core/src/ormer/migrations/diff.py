"""Diffs: the operations that turn one table description into another.

* :func:`diff_live` compares a model's schema with the table the database has
  (``conn.plan_table``): types and defaults compared in the dialect's own SQL;
* :func:`diff_schemas` compares two portable schemas (autogenerate: the state the
  migration files build against the models).

Both return operations in a safe order: foreign keys and indexes dropped first,
columns dropped, added and altered, then indexes and foreign keys created. Column
order and index names are not compared (an index with the same columns and
uniqueness under another name is the same index). A changed primary key is a
:class:`~ormer.errors.MigrationError` (recreate the table instead).
"""

from __future__ import annotations

from collections.abc import Sequence
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
from .schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema

if TYPE_CHECKING:
    from ..dialect import Dialect

__all__ = ["diff_live", "diff_schemas", "expected_type"]


def expected_type(dialect: Dialect, table: TableSchema, column: ColumnSchema) -> str:
    """The normalized DDL type ``dialect`` gives ``column`` in ``table``."""
    indexed = column.name in table.indexed_columns()
    return dialect.normalize_type(dialect.type_name(column.column_type(), indexed))


def _index_key(index: IndexSchema) -> tuple[tuple[str, ...], bool]:
    return index.columns, index.unique


def _fk_key(fk: ForeignKeySchema) -> tuple[object, ...]:
    on_delete = (fk.on_delete or "no action").lower()
    if on_delete == "restrict":
        on_delete = "no action"  # the same as far as a diff is concerned
    return fk.columns, fk.ref_table, fk.ref_columns, on_delete


def _constraints(
    table: str,
    old_indexes: Sequence[IndexSchema],
    new_indexes: Sequence[IndexSchema],
    old_fks: Sequence[ForeignKeySchema],
    new_fks: Sequence[ForeignKeySchema],
) -> tuple[list[Operation], list[Operation]]:
    """(drops, creates) of indexes and foreign keys."""
    drops: list[Operation] = []
    creates: list[Operation] = []
    old_fk_keys = {_fk_key(f): f for f in old_fks}
    new_fk_keys = {_fk_key(f): f for f in new_fks}
    drops += [DropForeignKey(table, f) for k, f in old_fk_keys.items() if k not in new_fk_keys]
    old_ix = {_index_key(i): i for i in old_indexes}
    new_ix = {_index_key(i): i for i in new_indexes}
    drops += [DropIndex(table, i) for k, i in old_ix.items() if k not in new_ix]
    creates += [CreateIndex(table, i) for k, i in new_ix.items() if k not in old_ix]
    creates += [AddForeignKey(table, f) for k, f in new_fk_keys.items() if k not in old_fk_keys]
    return drops, creates


def _check_primary_key(table: str, old: Sequence[str], new: Sequence[str]) -> None:
    if tuple(old) != tuple(new):
        raise MigrationError(
            f"{table}: the primary key changes from ({', '.join(old)}) to ({', '.join(new)}); "
            "ormer does not migrate primary keys: create a new table and copy the rows "
            "(a data migration)"
        )


def diff_live(dialect: Dialect, live: LiveTable | None, new: TableSchema) -> list[Operation]:
    """Operations turning the live table (None: missing) into the model's schema."""
    if live is None:
        return [CreateTable(new)]
    _check_primary_key(new.name, live.primary_key, new.primary_key)
    drops, creates = _constraints(
        new.name, live.indexes, new.indexes, live.foreign_keys, new.foreign_keys
    )
    columns: list[Operation] = []
    wanted = {c.name for c in new.columns}
    columns += [DropColumn(new.name, c) for c in live.columns if c.name not in wanted]
    for column in new.columns:
        have = live.column(column.name)
        if have is None:
            columns.append(AddColumn(new.name, column))
        elif _live_differs(dialect, new, column, have):
            indexed = column.name in new.indexed_columns()
            columns.append(AlterColumn(new.name, have, column, indexed))
    return drops + columns + creates


def _live_differs(
    dialect: Dialect, table: TableSchema, column: ColumnSchema, have: LiveColumn
) -> bool:
    if column.auto or have.auto:
        return column.auto != have.auto
    if have.nullable != column.nullable:
        return True
    if have.type != expected_type(dialect, table, column):
        return True
    expected_default = None
    if column.default is not None and dialect.supports_default(
        column, column.name in table.indexed_columns()
    ):
        expected_default = dialect.normalize_default(dialect.default_sql(column))
    return have.default != expected_default


def diff_schemas(old: TableSchema | None, new: TableSchema | None) -> list[Operation]:
    """Operations turning the portable schema ``old`` into ``new`` (either None: the
    table is created or dropped)."""
    from .ops import DropTable

    if old is None and new is None:
        return []
    if old is None:
        assert new is not None
        return [CreateTable(new)]
    if new is None:
        return [DropTable(old.name)]
    _check_primary_key(new.name, old.primary_key, new.primary_key)
    drops, creates = _constraints(
        new.name, old.indexes, new.indexes, old.foreign_keys, new.foreign_keys
    )
    columns: list[Operation] = []
    wanted = {c.name for c in new.columns}
    columns += [DropColumn(new.name, c) for c in old.columns if c.name not in wanted]
    for column in new.columns:
        have = old.column(column.name)
        if have is None:
            columns.append(AddColumn(new.name, column))
        elif have != column:
            indexed = column.name in new.indexed_columns()
            columns.append(AlterColumn(new.name, have, column, indexed))
    return drops + columns + creates

"""The ``op`` object a migration file's ``upgrade(op)`` / ``downgrade(op)`` receives.

Its methods **record** operations (:mod:`ormer.migrations.ops`), they run nothing:
the runner applies the recorded list afterwards (each revision in its own
transaction where the database has transactional DDL). Recording happens against
the portable state the earlier revisions built, so ``op.drop_column("user", "age")``
knows the full definition of ``age`` (its downgrade, the SQLite rebuild and
``upgrade --sql`` need it) and a name that does not exist is a
:class:`~ormer.errors.MigrationError` when the chain is read, before any database
is touched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import MigrationError
from ..types import Kind
from .ops import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropTable,
    Execute,
    Operation,
    Run,
)
from .schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = ["Operations", "State", "apply_to_state"]

#: the portable state a chain of migrations builds: table name → schema
State = dict[str, TableSchema]

_KINDS = frozenset(k.value for k in Kind if k is not Kind.ENUM)


class Operations:
    """The migration operations API (``op`` in ``upgrade(op)``): each method appends
    one operation to :attr:`operations` and updates :attr:`state` with it."""

    __slots__ = ("operations", "state", "where")

    def __init__(self, state: State, where: str = "") -> None:
        self.state: State = dict(state)
        self.operations: list[Operation] = []
        #: the file and function recording (for error messages)
        self.where = where

    # -- portable constructors ---------------------------------------------------------------
    @staticmethod
    def column(
        name: str,
        kind: str,
        *,
        nullable: bool = False,
        max_length: int | None = None,
        max_digits: int | None = None,
        decimal_places: int | None = None,
        timezone: bool = False,
        default: Any = None,
        primary: bool = False,
        auto: bool = False,
    ) -> ColumnSchema:
        """A column: ``kind`` is an ormer kind (``"int"``, ``"str"``, ``"float"``,
        ``"bool"``, ``"bytes"``, ``"decimal"``, ``"date"``, ``"time"``, ``"datetime"``,
        ``"uuid"``, ``"json"``); ``default`` a constant server default."""
        if kind not in _KINDS:
            raise MigrationError(
                f"column {name!r}: unknown kind {kind!r} (one of {', '.join(sorted(_KINDS))})"
            )
        return ColumnSchema(
            name=name,
            kind=kind,
            nullable=nullable,
            max_length=max_length,
            max_digits=max_digits,
            decimal_places=decimal_places,
            timezone=timezone,
            default=default,
            primary=primary,
            auto=auto,
        )

    @staticmethod
    def index(name: str, *columns: str, unique: bool = False) -> IndexSchema:
        """An index (a unique constraint with ``unique=True``) over ``columns``."""
        return IndexSchema(name, tuple(columns), unique)

    @staticmethod
    def foreign_key(
        name: str,
        columns: Iterable[str],
        ref_table: str,
        ref_columns: Iterable[str],
        on_delete: str | None = None,
    ) -> ForeignKeySchema:
        """``FOREIGN KEY (columns) REFERENCES ref_table (ref_columns)``."""
        return ForeignKeySchema(name, tuple(columns), ref_table, tuple(ref_columns), on_delete)

    # -- operations -----------------------------------------------------------------------
    def _add(self, operation: Operation) -> None:
        self.state = apply_to_state(self.state, operation, self.where)
        self.operations.append(operation)

    def _table(self, name: str) -> TableSchema:
        table = self.state.get(name)
        if table is None:
            raise MigrationError(f"{self.where}: no table {name!r} at this point of the chain")
        return table

    def create_table(
        self,
        name: str,
        *columns: ColumnSchema,
        primary_key: Iterable[str] | None = None,
        indexes: Iterable[IndexSchema] = (),
        foreign_keys: Iterable[ForeignKeySchema] = (),
    ) -> None:
        """Create a table (``primary_key`` defaults to the columns with ``primary=True``)."""
        pk = tuple(primary_key) if primary_key is not None else ()
        if primary_key is None:
            pk = tuple(c.name for c in columns if c.primary)
        cols = tuple(dataclasses.replace(c, primary=c.name in pk) for c in columns)
        schema = TableSchema(name, cols, pk, tuple(indexes), tuple(foreign_keys))
        self._add(CreateTable(schema))

    def drop_table(self, name: str) -> None:
        """Drop a table."""
        self._table(name)
        self._add(DropTable(name))

    def add_column(self, table: str, column: ColumnSchema) -> None:
        """Add a column (NOT NULL needs a ``default`` on a table holding rows)."""
        self._add(AddColumn(table, column))

    def drop_column(self, table: str, name: str) -> None:
        """Drop a column."""
        column = self._table(table).column(name)
        if column is None:
            raise MigrationError(f"{self.where}: table {table!r} has no column {name!r}")
        self._add(DropColumn(table, column))

    def alter_column(self, table: str, name: str, **changes: Any) -> None:
        """Change a column: any of ``kind``, ``nullable``, ``max_length``,
        ``max_digits``, ``decimal_places``, ``timezone``, ``default`` (None: no
        server default); the others keep their values."""
        old = self._table(table).column(name)
        if old is None:
            raise MigrationError(f"{self.where}: table {table!r} has no column {name!r}")
        allowed = {"kind", "nullable", "max_length", "max_digits", "decimal_places"}
        allowed |= {"timezone", "default"}
        unknown = set(changes) - allowed
        if unknown:
            raise MigrationError(
                f"{self.where}: alter_column({table!r}, {name!r}): unknown option(s) "
                f"{', '.join(sorted(unknown))}"
            )
        new = dataclasses.replace(old, **changes)
        self.column(new.name, new.kind)  # validates the kind
        self._add(AlterColumn(table, old, new))

    def create_index(self, table: str, name: str, *columns: str, unique: bool = False) -> None:
        """Create an index (or a unique constraint with ``unique=True``)."""
        self._add(CreateIndex(table, IndexSchema(name, tuple(columns), unique)))

    def drop_index(self, table: str, name: str) -> None:
        """Drop an index or unique constraint by name."""
        for index in self._table(table).indexes:
            if index.name == name:
                self._add(DropIndex(table, index))
                return
        raise MigrationError(f"{self.where}: table {table!r} has no index {name!r}")

    def add_foreign_key(
        self,
        table: str,
        name: str,
        columns: Iterable[str],
        ref_table: str,
        ref_columns: Iterable[str],
        on_delete: str | None = None,
    ) -> None:
        """Add a foreign key."""
        fk = self.foreign_key(name, columns, ref_table, ref_columns, on_delete)
        self._add(AddForeignKey(table, fk))

    def drop_foreign_key(self, table: str, name: str) -> None:
        """Drop a foreign key by name."""
        for fk in self._table(table).foreign_keys:
            if fk.name == name:
                self._add(DropForeignKey(table, fk))
                return
        raise MigrationError(f"{self.where}: table {table!r} has no foreign key {name!r}")

    def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        """Run raw SQL (a data migration), with ``params`` bound in the driver's
        placeholder style (as ``conn.exec_non_query``)."""
        self._add(Execute(sql, tuple(params)))

    def run(self, fn: Callable[[Connection], Awaitable[Any]]) -> None:
        """Run a Python data migration: ``await fn(conn)`` on the migrating connection,
        inside the revision's transaction where there is one."""
        self._add(Run(fn))


def _replace_table(state: State, table: TableSchema) -> State:
    new = dict(state)
    new[table.name] = table
    return new


def apply_to_state(state: State, operation: Operation, where: str = "") -> State:
    """The state after ``operation`` (a new dict; ``state`` is not changed).
    Execute and Run change no schema."""
    if isinstance(operation, (Execute, Run)):
        return state
    if isinstance(operation, CreateTable):
        if operation.schema.name in state:
            raise MigrationError(f"{where}: table {operation.schema.name!r} already exists")
        return _replace_table(state, operation.schema)
    name = operation.table
    assert name is not None
    table = state.get(name)
    if table is None:
        raise MigrationError(f"{where}: no table {name!r} at this point of the chain")
    if isinstance(operation, DropTable):
        new = dict(state)
        del new[name]
        return new
    if isinstance(operation, AddColumn):
        if table.column(operation.column.name) is not None:
            raise MigrationError(
                f"{where}: table {name!r} already has a column {operation.column.name!r}"
            )
        table = dataclasses.replace(table, columns=(*table.columns, operation.column))
    elif isinstance(operation, DropColumn):
        cols = tuple(c for c in table.columns if c.name != operation.column.name)
        indexes = tuple(i for i in table.indexes if operation.column.name not in i.columns)
        table = dataclasses.replace(table, columns=cols, indexes=indexes)
    elif isinstance(operation, AlterColumn):
        new_column = operation.new
        cols = tuple(new_column if c.name == new_column.name else c for c in table.columns)
        table = dataclasses.replace(table, columns=cols)
    elif isinstance(operation, CreateIndex):
        table = dataclasses.replace(table, indexes=(*table.indexes, operation.index))
    elif isinstance(operation, DropIndex):
        indexes = tuple(i for i in table.indexes if i.name != operation.index.name)
        table = dataclasses.replace(table, indexes=indexes)
    elif isinstance(operation, AddForeignKey):
        fks = (*table.foreign_keys, operation.foreign_key)
        table = dataclasses.replace(table, foreign_keys=fks)
    elif isinstance(operation, DropForeignKey):
        fks = tuple(f for f in table.foreign_keys if f.name != operation.foreign_key.name)
        table = dataclasses.replace(table, foreign_keys=fks)
    else:  # pragma: no cover - a new operation class
        raise MigrationError(f"{where}: unknown operation {operation!r}")
    return _replace_table(state, table)

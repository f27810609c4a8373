"""Statement trees: SELECT, INSERT, UPDATE, DELETE and DDL, as plain data.

The query builders (``ormer.query``) produce these; the compiler renders them.
SELECT/UPDATE/DELETE walk their shape like expressions do (see ``ormer.expr``)
so their SQL is cached by shape.
"""

from __future__ import annotations

from typing import Any

from .errors import ConfigurationError
from .expr import Column, Expr, Func, Key, Label, Ordering, Param, Params, TableRef
from .locks import RowLock
from .model import FieldInfo, TableInfo
from .plans import InsertKey
from .types import ColumnType

__all__ = [
    "DeleteStmt",
    "DerivedColumn",
    "DerivedTable",
    "InsertStmt",
    "Join",
    "SelectStmt",
    "UpdateStmt",
]


class Join:
    """``[LEFT] JOIN table ON condition``."""

    __slots__ = ("kind", "on", "table")

    def __init__(self, kind: str, table: TableInfo, on: Expr) -> None:
        self.kind = kind
        self.table = table
        self.on = on

    def _walk(self, key: Key, params: Params) -> None:
        key.append((self.kind, self.table.ref.name, self.table.ref.alias))
        self.on._walk(key, params)


class DerivedTable:
    """A subquery in FROM: ``(SELECT ...) AS alias``."""

    __slots__ = ("alias", "select")

    def __init__(self, select: SelectStmt, alias: str) -> None:
        self.select = select
        self.alias = alias

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("DT", self.alias))
        self.select._walk(key, params)


class DerivedColumn(Expr):
    """A column of a derived table (``alias.name``)."""

    __slots__ = ("_type", "alias", "name")
    visit_name = "derived_column"

    def __init__(self, alias: str, name: str, type_: ColumnType | None) -> None:
        self.alias = alias
        self.name = name
        self._type = type_

    @property
    def type(self) -> ColumnType | None:
        return self._type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("DC", self.alias, self.name))


SelectItem = TableInfo | Expr


class SelectStmt:
    """``SELECT`` as data. ``items``: model tables and/or expressions, in result order."""

    __slots__ = (
        "distinct",
        "distinct_on",
        "from_",
        "group_by",
        "having",
        "items",
        "joins",
        "limit",
        "lock",
        "offset",
        "order_by",
        "where",
    )

    def __init__(self, items: tuple[SelectItem, ...], from_: TableInfo | DerivedTable) -> None:
        self.items = items
        self.from_ = from_
        self.joins: tuple[Join, ...] = ()
        self.where: Expr | None = None
        self.group_by: tuple[Expr, ...] = ()
        self.having: Expr | None = None
        self.order_by: tuple[Ordering, ...] = ()
        self.limit: Param | None = None
        self.offset: Param | None = None
        self.distinct = False
        self.lock: RowLock | None = None
        self.distinct_on: tuple[Expr, ...] = ()

    def copy(self) -> SelectStmt:
        new = SelectStmt.__new__(SelectStmt)
        new.items = self.items
        new.from_ = self.from_
        new.joins = self.joins
        new.where = self.where
        new.group_by = self.group_by
        new.having = self.having
        new.order_by = self.order_by
        new.limit = self.limit
        new.offset = self.offset
        new.distinct = self.distinct
        new.lock = self.lock
        new.distinct_on = self.distinct_on
        return new

    @property
    def columns(self) -> tuple[SelectItem, ...]:
        return self.items

    @property
    def is_aggregate(self) -> bool:
        """Whether the select groups rows (GROUP BY or an aggregate in its items)."""
        return bool(self.group_by) or any(
            (isinstance(i, Func) and i.aggregate)
            or (isinstance(i, Label) and isinstance(i.expr, Func) and i.expr.aggregate)
            for i in self.items
        )

    def _walk(self, key: Key, params: Params) -> None:
        key.append("SELECT")
        key.append(self.distinct)
        key.append(len(self.items))
        for item in self.items:
            if isinstance(item, TableInfo):
                # the model class too: its fields (and the row converter) are part of the shape
                key.append((item.ref.name, item.ref.alias, item.model))
            else:
                item._walk(key, params)
        from_ = self.from_
        if isinstance(from_, TableInfo):
            key.append((from_.ref.name, from_.ref.alias))
        else:
            from_._walk(key, params)
        key.append(len(self.joins))
        for join in self.joins:
            join._walk(key, params)
        if self.where is not None:
            key.append("W")
            self.where._walk(key, params)
        if self.distinct_on:
            key.append(("DON", len(self.distinct_on)))
            for d in self.distinct_on:
                d._walk(key, params)
        if self.group_by:
            key.append(("G", len(self.group_by)))
            for g in self.group_by:
                g._walk(key, params)
        if self.having is not None:
            key.append("H")
            self.having._walk(key, params)
        if self.order_by:
            key.append(("O", len(self.order_by)))
            for o in self.order_by:
                o._walk(key, params)
        key.append((self.limit is not None, self.offset is not None))
        if self.limit is not None:
            params.append(self.limit)
        if self.offset is not None:
            params.append(self.offset)
        if self.lock is not None:
            key.append(self.lock.shape())

    def tables_in_from(self) -> list[TableInfo]:
        """The model tables this select names in FROM and its joins."""
        out: list[TableInfo] = []
        if isinstance(self.from_, TableInfo):
            out.append(self.from_)
        out.extend(j.table for j in self.joins)
        return out


class UpdateStmt:
    """``UPDATE table SET col = expr, ... WHERE ...``."""

    __slots__ = ("sets", "table", "where")

    def __init__(self, table: TableInfo) -> None:
        self.table = table
        self.sets: tuple[tuple[Column[Any], Expr], ...] = ()
        self.where: Expr | None = None

    def copy(self) -> UpdateStmt:
        new = UpdateStmt(self.table)
        new.sets = self.sets
        new.where = self.where
        return new

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("UPDATE", self.table.name, len(self.sets)))
        for column, value in self.sets:
            key.append(column.name)
            value._walk(key, params)
        if self.where is not None:
            key.append("W")
            self.where._walk(key, params)


class DeleteStmt:
    """``DELETE FROM table WHERE ...``."""

    __slots__ = ("table", "where")

    def __init__(self, table: TableInfo) -> None:
        self.table = table
        self.where: Expr | None = None

    def copy(self) -> DeleteStmt:
        new = DeleteStmt(self.table)
        new.where = self.where
        return new

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("DELETE", self.table.name))
        if self.where is not None:
            key.append("W")
            self.where._walk(key, params)


class InsertStmt:
    """``INSERT INTO table (columns) VALUES (...) x rows [upsert] [RETURNING]``.

    Values are not part of the tree: the executor binds them row by row, so
    one compiled statement serves every batch of the same size.
    """

    __slots__ = ("columns", "conflict", "returning", "rows", "table", "upsert")

    def __init__(
        self,
        table: TableInfo,
        columns: tuple[FieldInfo, ...],
        rows: int,
        returning: tuple[FieldInfo, ...] = (),
        upsert: bool = False,
        conflict: tuple[FieldInfo, ...] = (),
    ) -> None:
        if upsert and not conflict:
            raise ConfigurationError(
                f"insert_or_update on {table.model.__name__} needs a primary key or conflict=(...)"
            )
        self.table = table
        self.columns = columns
        self.rows = rows
        self.returning = returning
        self.upsert = upsert
        self.conflict = conflict

    def key(self) -> InsertKey:
        return InsertKey(
            self.table.model,
            self.table.name,
            tuple(f.column for f in self.columns),
            self.rows,
            tuple(f.column for f in self.returning),
            self.upsert,
            tuple(f.column for f in self.conflict),
        )


def table_ref_of(info: TableInfo) -> TableRef:
    """The FROM reference of a model table (helper for the compiler)."""
    return info.ref

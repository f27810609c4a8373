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
from .types import ColumnType, Kind

__all__ = [
    "CommonTable",
    "CompoundStmt",
    "CteColumn",
    "DeleteStmt",
    "DerivedColumn",
    "DerivedTable",
    "InsertStmt",
    "Join",
    "SelectStmt",
    "UpdateStmt",
]


_ROWS = ColumnType(Kind.INT, int)


def walk_row_window(
    key: Key,
    params: Params,
    order_by: tuple[Ordering, ...],
    limit: Param | None,
    offset: Param | None,
) -> None:
    """The shape walk of ORDER BY / LIMIT / OFFSET (a select's or a compound's)."""
    if order_by:
        key.append(("O", len(order_by)))
        for o in order_by:
            o._walk(key, params)
    key.append((limit is not None, offset is not None))
    if limit is not None:
        params.append(limit)
    if offset is not None:
        params.append(offset)


def row_count(n: Any, what: str) -> int:
    """``n`` checked as a row count for ``range``/``limit``/``offset``."""
    if type(n) is not int or n < 0:
        raise ConfigurationError(f"{what} must be a non-negative int, got {n!r}")
    return n


def range_params(start: int, end: int) -> tuple[Param, Param | None]:
    """The LIMIT and OFFSET parameters of ``range(start, end)`` (no OFFSET for 0)."""
    row_count(start, "range start")
    if row_count(end, "range end") < start:
        raise ConfigurationError(f"range end {end} is before start {start}")
    return Param(end - start, _ROWS), Param(start, _ROWS) if start else None


def limit_param(n: int) -> Param:
    """The LIMIT parameter of ``limit(n)``."""
    return Param(row_count(n, "limit"), _ROWS)


def offset_param(n: int) -> Param | None:
    """The OFFSET parameter of ``offset(n)`` (none for 0)."""
    return Param(row_count(n, "offset"), _ROWS) if n else None


class Join:
    """``[LEFT] JOIN table ON condition``."""

    __slots__ = ("kind", "on", "table")

    def __init__(self, kind: str, table: TableInfo | CommonTable, on: Expr) -> None:
        self.kind = kind
        self.table = table
        self.on = on

    def _walk(self, key: Key, params: Params) -> None:
        table = self.table
        if isinstance(table, CommonTable):
            key.append(self.kind)
            table._walk(key, params)
        else:
            key.append((self.kind, table.ref.name, table.ref.alias))
        self.on._walk(key, params)


class DerivedTable:
    """A subquery in FROM: ``(SELECT ...) AS alias``."""

    __slots__ = ("alias", "select")

    def __init__(self, select: SelectStmt | CompoundStmt, alias: str) -> None:
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

    def __init__(
        self, items: tuple[SelectItem, ...], from_: TableInfo | DerivedTable | CommonTable
    ) -> None:
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
        walk_row_window(key, params, self.order_by, self.limit, self.offset)
        if self.lock is not None:
            key.append(self.lock.shape())

    def tables_in_from(self) -> list[TableInfo]:
        """The model tables this select names in FROM and its joins."""
        out: list[TableInfo] = []
        if isinstance(self.from_, TableInfo):
            out.append(self.from_)
        out.extend(j.table for j in self.joins if isinstance(j.table, TableInfo))
        return out


#: set operators of a compound select, as SQL
SET_OPERATORS = frozenset({"UNION", "UNION ALL", "INTERSECT", "EXCEPT"})


def select_width(items: tuple[SelectItem, ...]) -> int:
    """The number of result columns of a select's items (a model counts its fields)."""
    return sum(len(i.fields) if isinstance(i, TableInfo) else 1 for i in items)


def output_columns(items: tuple[SelectItem, ...]) -> list[tuple[str | None, ColumnType | None]]:
    """The result columns of a select's items: (name, type); name None when unnamed.

    A model yields its fields' columns, a label its name, a column (or a CTE's column)
    its column name; any other expression has no name until it is labelled.
    """
    out: list[tuple[str | None, ColumnType | None]] = []
    for item in items:
        if isinstance(item, TableInfo):
            out.extend((f.column, f.type) for f in item.fields)
        elif isinstance(item, (Label, Column, DerivedColumn)):
            out.append((item.name, item.type))
        else:
            out.append((None, item.type))
    return out


class CompoundStmt:
    """``left UNION [ALL] | INTERSECT | EXCEPT right`` as data, with an optional
    ORDER BY (over result columns: :class:`DerivedColumn` of alias ``_u``) and
    LIMIT/OFFSET. Members are selects or compounds; the left one types the result."""

    __slots__ = ("left", "limit", "offset", "op", "order_by", "right")

    def __init__(
        self, op: str, left: SelectStmt | CompoundStmt, right: SelectStmt | CompoundStmt
    ) -> None:
        if op not in SET_OPERATORS:
            raise ConfigurationError(f"unknown set operator {op!r}")
        left_width, right_width = select_width(left.items), select_width(right.items)
        if left_width != right_width:
            raise ConfigurationError(
                f"{op} of selects with different column counts ({left_width} and "
                f"{right_width}): both sides must yield the same number of columns"
            )
        self.op = op
        self.left = left
        self.right = right
        self.order_by: tuple[Ordering, ...] = ()
        self.limit: Param | None = None
        self.offset: Param | None = None

    @property
    def items(self) -> tuple[SelectItem, ...]:
        """The result items: the left member's (they type the rows)."""
        return self.left.items

    def copy(self) -> CompoundStmt:
        new = CompoundStmt.__new__(CompoundStmt)
        new.op = self.op
        new.left = self.left
        new.right = self.right
        new.order_by = self.order_by
        new.limit = self.limit
        new.offset = self.offset
        return new

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("SET", self.op))
        self.left._walk(key, params)
        self.right._walk(key, params)
        walk_row_window(key, params, self.order_by, self.limit, self.offset)


class CteColumn(DerivedColumn):
    """A column of a common table expression (``cte.c.name``): ``"cte"."name"``."""

    __slots__ = ("cte",)

    def __init__(self, cte: CommonTable, name: str, type_: ColumnType | None) -> None:
        super().__init__(cte.name, name, type_)
        self.cte = cte


class _CteColumns:
    """The ``c`` namespace of a CTE: its result columns by name."""

    __slots__ = ("_columns", "_cte")

    def __init__(self, cte: CommonTable, columns: dict[str, CteColumn]) -> None:
        self._cte = cte
        self._columns = columns

    def __getattr__(self, name: str) -> CteColumn:
        try:
            return self._columns[name]
        except KeyError:
            raise ConfigurationError(
                f"CTE {self._cte.name!r} has no column {name!r}; its columns: "
                f"{', '.join(self._columns)}"
            ) from None

    def __getitem__(self, name: str) -> CteColumn:
        return self.__getattr__(name)

    def __iter__(self) -> Any:
        return iter(self._columns.values())

    def __dir__(self) -> list[str]:
        return list(self._columns)


class CommonTable:
    """A common table expression: ``WITH name(columns) AS (body)``, made by
    ``select(...).cte("name")``. Select from it and join it like a model; its
    columns are ``cte.c.<name>`` (typed as the body's projection). A statement
    that refers to it gets the ``WITH`` clause (with every CTE it depends on)."""

    __slots__ = ("base", "body", "c", "columns", "name")

    def __init__(
        self, name: str, body: SelectStmt | CompoundStmt, base: CommonTable | None = None
    ) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigurationError(f"a CTE name must be an identifier, got {name!r}")
        self.name = name
        self.body = body
        #: for a recursive CTE: the anchor CTE its recursive member refers to
        self.base = base
        columns: dict[str, CteColumn] = {}
        for i, (col, type_) in enumerate(output_columns(body.items)):
            if col is None:
                raise ConfigurationError(
                    f"CTE {name!r}: result column {i + 1} has no name: label it "
                    "(expr.label('name'))"
                )
            if col in columns:
                raise ConfigurationError(f"CTE {name!r}: two result columns named {col!r}")
            columns[col] = CteColumn(self, col, type_)
        self.columns = tuple(columns.values())
        self.c = _CteColumns(self, columns)

    @property
    def recursive(self) -> bool:
        """Whether the body refers to the CTE itself (``WITH RECURSIVE``)."""
        return self.base is not None

    def union_all(self, query: Any) -> CommonTable:
        """The recursive CTE ``anchor UNION ALL query``: ``query`` (a select) refers to
        this CTE (``cte.c.x``, ``join(cte, ...)``). Use the returned CTE afterwards."""
        return self._recursive("UNION ALL", query)

    def union(self, query: Any) -> CommonTable:
        """The recursive CTE ``anchor UNION query`` (duplicate rows dropped, which also
        ends a walk that revisits rows)."""
        return self._recursive("UNION", query)

    def _recursive(self, op: str, query: Any) -> CommonTable:
        if self.base is not None:
            raise ConfigurationError(f"CTE {self.name!r} is already recursive")
        statement = getattr(query, "__ormer_statement__", None)
        if statement is None:
            raise ConfigurationError(f"union_all() takes a select, not {query!r}")
        return CommonTable(self.name, CompoundStmt(op, self.body, statement()), self)

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("CTE", self.name, self.base is not None))
        self.body._walk(key, params)

    def __repr__(self) -> str:
        return f"CommonTable({self.name!r})"


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

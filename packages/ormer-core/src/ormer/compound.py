"""Compound selects: ``q1.union(q2)``, ``union_all``, ``intersect``, ``except_``
(docs/queries.md#set-operations).

A :class:`CompoundSelect` is generative like ``Select``; its rows are typed like
the first select's. ``order_by`` sorts by result columns (the first select's
columns or labels, or their names); the compiler wraps an ordered or limited
compound as a derived table, so every backend accepts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from .errors import ConfigurationError
from .expr import Column, Expr, Func, Label, Ordering, func
from .model import TableInfo
from .planner import rows_converter, statement_plan
from .statements import (
    CommonTable,
    CompoundStmt,
    DerivedColumn,
    DerivedTable,
    SelectStmt,
    limit_param,
    offset_param,
    output_columns,
    range_params,
)
from .timeouts import DEFAULT, Timeout, check_timeout
from .types import ColumnType, Kind

if TYPE_CHECKING:
    from .compiler import Compiled
    from .query import Executor

__all__ = ["CompoundSelect", "statement_of"]

T = TypeVar("T")
A = TypeVar("A")
_INT = ColumnType(Kind.INT, int)


def statement_of(query: Any, op: str) -> SelectStmt | CompoundStmt:
    """The statement of a set operation's operand (a select or a compound select)."""
    if isinstance(query, CompoundSelect):
        return query._stmt
    statement = getattr(query, "__ormer_statement__", None)
    if statement is None:
        raise ConfigurationError(f"{op.lower()}() takes a select, not {query!r}")
    stmt: SelectStmt = statement()
    return stmt


class CompoundSelect(Generic[T]):
    """A set operation of selects under construction; ``collect()`` runs it."""

    __slots__ = ("_ex", "_nullable", "_scalars", "_stmt", "_timeout")

    def __init__(
        self,
        executor: Executor,
        stmt: CompoundStmt,
        nullable: frozenset[int] = frozenset(),
        scalars: bool = False,
        timeout: Timeout = DEFAULT,
    ) -> None:
        self._ex = executor
        self._stmt = stmt
        self._nullable = nullable
        self._scalars = scalars
        self._timeout = timeout

    def _copy(self) -> CompoundSelect[T]:
        return CompoundSelect(
            self._ex, self._stmt.copy(), self._nullable, self._scalars, self._timeout
        )

    def __ormer_statement__(self) -> CompoundStmt:
        return self._stmt

    # -- chaining -------------------------------------------------------------------------
    def union(self, other: Any) -> CompoundSelect[T]:
        """``(self) UNION other``."""
        return self._set_op("UNION", other)

    def union_all(self, other: Any) -> CompoundSelect[T]:
        """``(self) UNION ALL other``."""
        return self._set_op("UNION ALL", other)

    def intersect(self, other: Any) -> CompoundSelect[T]:
        """``(self) INTERSECT other``."""
        return self._set_op("INTERSECT", other)

    def except_(self, other: Any) -> CompoundSelect[T]:
        """``(self) EXCEPT other``."""
        return self._set_op("EXCEPT", other)

    def _set_op(self, op: str, other: Any) -> CompoundSelect[T]:
        stmt = CompoundStmt(op, self._stmt, statement_of(other, op))
        return CompoundSelect(self._ex, stmt, self._nullable, self._scalars, self._timeout)

    def cte(self, name: str) -> CommonTable:
        """This compound as a common table expression ``name``."""
        return CommonTable(name, self._stmt)

    # -- ordering and slicing -------------------------------------------------------------
    def order_by(self, *items: Any) -> CompoundSelect[T]:
        """Sort by result columns: a column or label of the first select (or its name, a
        str), optionally ``.asc()``/``.desc()``/``nulls=``; NULLs placed as in ``Select``."""
        columns = output_columns(self._stmt.items)
        types = {name: type_ for name, type_ in columns if name is not None}
        orderings = []
        for item in items:
            ordering = item if isinstance(item, Ordering) else None
            expr = ordering.expr if ordering is not None else item
            name = self._result_name(expr, types)
            column = DerivedColumn("_u", name, types[name])
            if ordering is None:
                orderings.append(column.asc())
            else:
                orderings.append(Ordering(column, ordering.desc, ordering.nulls))
        new = self._copy()
        new._stmt.order_by = new._stmt.order_by + tuple(orderings)
        return new

    @staticmethod
    def _result_name(expr: Any, types: dict[str, ColumnType | None]) -> str:
        name = expr if isinstance(expr, str) else None
        if isinstance(expr, (Label, Column, DerivedColumn)):
            name = expr.name
        if name is None or name not in types:
            raise ConfigurationError(
                f"a compound select orders by its result columns ({', '.join(types)}), not {expr!r}"
            )
        return name

    def range(self, start: int, end: int) -> CompoundSelect[T]:
        """Rows ``start`` (inclusive) to ``end`` (exclusive) of the result."""
        limit, offset = range_params(start, end)
        new = self._copy()
        new._stmt.limit, new._stmt.offset = limit, offset
        return new

    def limit(self, n: int) -> CompoundSelect[T]:
        """At most ``n`` rows."""
        new = self._copy()
        new._stmt.limit = limit_param(n)
        return new

    def offset(self, n: int) -> CompoundSelect[T]:
        """Skip ``n`` rows."""
        new = self._copy()
        new._stmt.offset = offset_param(n)
        return new

    def scalars(self: CompoundSelect[tuple[A]]) -> CompoundSelect[A]:
        """For a one-column compound: bare values instead of 1-tuples."""
        items = self._stmt.items
        if len(items) != 1 or isinstance(items[0], TableInfo):
            raise ConfigurationError("scalars() applies to a select of exactly one column")
        return CompoundSelect(self._ex, self._stmt.copy(), self._nullable, True, self._timeout)

    def timeout(self, seconds: float | None) -> CompoundSelect[T]:
        """A new builder whose statement may run at most ``seconds`` (see ``Select``)."""
        new = self._copy()
        new._timeout = check_timeout(seconds)
        return new

    # -- running --------------------------------------------------------------------------
    def _compiled(self) -> tuple[Compiled, list[Any]]:
        compiled, nodes = statement_plan(self._ex.dialect, self._stmt)
        return compiled, compiled.bind(nodes)

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL and parameter list this query sends, without running it."""
        compiled, params = self._compiled()
        return compiled.sql, params

    async def collect(self) -> list[T]:
        """Run the compound select and return every result."""
        compiled, params = self._compiled()
        rows = await self._ex._read(compiled.sql, params, self._timeout)
        convert = rows_converter(
            self._ex.dialect, compiled, self._stmt.items, self._nullable, self._scalars
        )
        return cast("list[T]", convert(rows))

    async def first(self) -> T | None:
        """The first result (LIMIT 1), or None."""
        results = await self.limit(1).collect()
        return results[0] if results else None

    async def count(self) -> int:
        """The number of rows the compound yields (``COUNT(*)`` over it)."""
        expr: Expr = func.count()
        assert isinstance(expr, Func)
        outer = SelectStmt((expr,), DerivedTable(self._stmt, "_sub"))
        compiled, nodes = statement_plan(self._ex.dialect, outer)
        rows = await self._ex._read(compiled.sql, compiled.bind(nodes), self._timeout)
        values = rows_converter(self._ex.dialect, compiled, (expr,), scalars=True)(rows)
        return int(values[0] or 0) if values else 0

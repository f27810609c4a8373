"""Window functions, aggregate FILTER and ROLLUP as expression nodes.

* :class:`Window`: ``f(...) OVER (PARTITION BY ... ORDER BY ... <frame>)``, built by
  ``Func.over(partition_by=..., order_by=..., rows=(start, end) | range=(start, end))``.
  A frame bound is ``None`` (UNBOUNDED), ``0`` (CURRENT ROW), a negative int
  (``-2``: 2 PRECEDING) or a positive int (``3``: 3 FOLLOWING). Bounds are checked
  ints and part of the statement's shape key (they are SQL syntax, not values).
* :class:`WindowFunc`: the ranking and offset functions (``row_number``, ``rank``,
  ``dense_rank``, ``ntile``, ``lag``, ``lead``, ``first_value``, ``last_value``) that
  only exist with ``OVER``.
* :class:`FilteredAggregate`: ``agg(x) FILTER (WHERE cond)``, or ``agg(CASE WHEN cond
  THEN x END)`` where the dialect lacks FILTER (``Dialect.supports_aggregate_filter``).
* :class:`Rollup`: ``GROUP BY ROLLUP (a, b)`` (``Dialect.group_by_rollup``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .errors import ConfigurationError
from .expr import (
    Case,
    Expr,
    Func,
    Key,
    Ordering,
    Params,
    T_co,
    as_condition,
    as_expr,
)
from .types import ColumnType, Kind

__all__ = [
    "FilteredAggregate",
    "Frame",
    "IntLiteral",
    "Rollup",
    "Window",
    "WindowFunc",
    "rollup",
]

_INT = ColumnType(Kind.INT, int)

#: a frame bound: None (unbounded), 0 (current row), <0 preceding, >0 following
Bound = int | None


def _bound(value: Any, what: str) -> Bound:
    if value is None or (type(value) is int):
        return value
    raise ConfigurationError(
        f"{what} must be an int (negative: PRECEDING, 0: CURRENT ROW, positive: FOLLOWING) "
        f"or None (UNBOUNDED), got {value!r}"
    )


class Frame:
    """A window frame: ``ROWS``/``RANGE BETWEEN start AND end`` (see the module doc)."""

    __slots__ = ("end", "mode", "start")

    def __init__(self, mode: str, bounds: Any) -> None:
        if not (isinstance(bounds, tuple) and len(bounds) == 2):
            raise ConfigurationError(
                f"{mode}= takes a (start, end) tuple such as (-2, 0) or (None, 0), got {bounds!r}"
            )
        start = _bound(bounds[0], f"{mode} start")
        end = _bound(bounds[1], f"{mode} end")
        low = float("-inf") if start is None else start
        high = float("inf") if end is None else end
        if low > high:
            raise ConfigurationError(f"{mode}=({start!r}, {end!r}): the start is after the end")
        self.mode = mode
        self.start = start
        self.end = end

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("FRAME", self.mode, self.start, self.end))


class Window(Expr[T_co]):
    """``func OVER (PARTITION BY ... ORDER BY ... frame)``; typed like ``func``."""

    __slots__ = ("frame", "func", "order_by", "partition_by")
    visit_name: ClassVar[str] = "window"

    def __init__(
        self,
        func: Func[T_co],
        partition_by: tuple[Expr, ...],
        order_by: tuple[Ordering, ...],
        frame: Frame | None,
    ) -> None:
        self.func = func
        self.partition_by = partition_by
        self.order_by = order_by
        self.frame = frame

    @property
    def type(self) -> ColumnType | None:
        return self.func.type

    def describe(self) -> str:
        return f"{self.func.name}() OVER (...)"

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("OVER", len(self.partition_by), len(self.order_by)))
        self.func._walk(key, params)
        for expr in self.partition_by:
            expr._walk(key, params)
        for ordering in self.order_by:
            ordering._walk(key, params)
        if self.frame is not None:
            self.frame._walk(key, params)


class WindowFunc(Func[T_co]):
    """A function that only exists as a window (``ROW_NUMBER()``, ``LAG(x, 1)``, ...).

    ``literals`` are trailing int arguments rendered as SQL literals (``ntile(4)``,
    ``lag(x, 2)``): several backends take only constants there. They are part of
    the shape key.
    """

    __slots__ = ("literals",)
    visit_name: ClassVar[str] = "window_func"

    def __init__(
        self,
        name: str,
        args: tuple[Expr, ...],
        type_: ColumnType | None,
        literals: tuple[int, ...] = (),
        default: Expr | None = None,
    ) -> None:
        super().__init__(name, args, type_)
        self.literals = literals
        if default is not None:
            self.args = (*args, default)

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("WF", self.name, len(self.args), self.literals))
        for arg in self.args:
            arg._walk(key, params)


class IntLiteral(Expr[int]):
    """A checked int rendered as a SQL literal (used by the CASE emulation of FILTER)."""

    __slots__ = ("value",)
    visit_name: ClassVar[str] = "int_literal"

    def __init__(self, value: int) -> None:
        if type(value) is not int:
            raise ConfigurationError(f"an int literal must be an int, got {value!r}")
        self.value = value

    @property
    def type(self) -> ColumnType:
        return _INT

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("INT", self.value))


class FilteredAggregate(Func[T_co]):
    """``agg(args) FILTER (WHERE condition)`` (an aggregate given ``filter=``)."""

    __slots__ = ("condition",)
    visit_name: ClassVar[str] = "filtered_aggregate"

    def __init__(self, func: Func[T_co], condition: Expr) -> None:
        if not func.aggregate:
            raise ConfigurationError(f"filter= applies to aggregates, not {func.name}()")
        super().__init__(func.name, func.args, func.type, aggregate=True, distinct=func.distinct)
        self.condition = condition

    def as_case(self) -> Func[T_co]:
        """The portable form: ``agg(CASE WHEN condition THEN arg END)``
        (``COUNT(*)`` counts ``CASE WHEN condition THEN 1 END``)."""
        arg: Expr = self.args[0] if self.args else IntLiteral(1)
        case: Expr = Case(((self.condition, arg),), None)
        return Func(self.name, (case, *self.args[1:]), self.type, True, self.distinct)

    def _walk(self, key: Key, params: Params) -> None:
        super()._walk(key, params)
        key.append("FILTER")
        self.condition._walk(key, params)


def with_filter(func: Func[T_co], condition: Any) -> Func[T_co]:
    """``func`` with ``filter=condition`` applied (None: unchanged)."""
    if condition is None:
        return func
    return FilteredAggregate(func, as_condition(condition, "filter="))


def make_window(
    func: Func[T_co],
    partition_by: Any,
    order_by: Any,
    rows: Any,
    range_: Any,
) -> Window[T_co]:
    """Check ``Func.over``'s arguments and build the :class:`Window`."""
    from .query import _ordering  # the query builder's ORDER BY item rules

    if not (func.aggregate or isinstance(func, WindowFunc)):
        raise ConfigurationError(
            f"{func.name}() is not an aggregate or window function: over() does not apply"
        )
    if rows is not None and range_ is not None:
        raise ConfigurationError("over() takes rows= or range=, not both")
    parts = _as_tuple(partition_by)
    orders = _as_tuple(order_by)
    frame = None
    if rows is not None:
        frame = Frame("ROWS", rows)
    elif range_ is not None:
        frame = Frame("RANGE", range_)
        if not orders and (frame.start not in (None, 0) or frame.end not in (None, 0)):
            raise ConfigurationError("a RANGE frame with offsets needs order_by=")
    return Window(
        func,
        tuple(as_expr(p) for p in parts),
        tuple(_ordering(o) for o in orders),
        frame,
    )


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


class Rollup(Expr[Any]):
    """``ROLLUP (a, b)`` in GROUP BY: the groups, then subtotals, then the grand total
    (rolled-up columns read as NULL in the subtotal rows)."""

    __slots__ = ("exprs",)
    visit_name: ClassVar[str] = "rollup"

    def __init__(self, exprs: tuple[Expr, ...]) -> None:
        if not exprs:
            raise ConfigurationError("rollup() needs at least one expression")
        self.exprs = exprs

    def describe(self) -> str:
        return "rollup(...)"

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("ROLLUP", len(self.exprs)))
        for expr in self.exprs:
            expr._walk(key, params)


def rollup(*exprs: Any) -> Rollup:
    """``group_by(rollup(a, b))``: per (a, b), per a, and a grand total row.

    PostgreSQL renders ``GROUP BY ROLLUP (a, b)``, MySQL/MariaDB ``GROUP BY a, b WITH
    ROLLUP``; SQLite and Turso raise NotSupportedError (``Dialect.group_by_rollup``).
    """
    return Rollup(tuple(as_expr(e) for e in exprs))

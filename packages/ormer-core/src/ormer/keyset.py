"""Keyset (cursor) pagination: ``Select.after/before`` and ``Select.page`` (docs/pagination.md).

A page is read by its position in the query's ORDER BY instead of an OFFSET:
``after(cursor)`` adds the condition "the ordering values come after the
cursor's", which an index on the ordering answers without reading the rows
before it. The ordering must be *unique* (it includes the primary key or every
column of a unique constraint) and its columns must be NOT NULL, so that every
row has exactly one place in it on every backend.

For an ordering ``(a ASC, b DESC, id ASC)`` and a cursor ``(x, y, z)``,
``after`` is::

    a >= x AND (a > x OR (a = x AND b < y) OR (a = x AND b = y AND id > z))

(the leading ``a >= x`` is implied by the rest; it lets an index on ``a`` serve the
range on every backend). ``before`` flips every comparison. The values travel as
bound parameters typed by their columns, so a query has one cached SQL shape per
ordering, whatever the cursor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .errors import ConfigurationError, ValidationError
from .expr import BinaryOp, BoolOp, Column, Expr, Ordering, Param, as_expr
from .model import Model, TableInfo
from .types import ColumnType, Kind

if TYPE_CHECKING:
    from .query import Select
    from .statements import SelectStmt

__all__ = ["Keyset", "Page", "cursor_of", "fetch_page", "keyset_columns", "seek"]

T = TypeVar("T")
S = TypeVar("S")
M = TypeVar("M", bound=Model)
_BOOL = ColumnType(Kind.BOOL, bool)
_INT = ColumnType(Kind.INT, int)


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a keyset-paginated query (``await query.page(size)``).

    ``items`` are in the query's order. ``has_more`` says whether rows follow the
    page (for ``.before(c).page(n)``: whether rows precede it). ``next_cursor``
    holds the ordering values of the last item and ``prev_cursor`` those of the
    first (None on an empty page): pass them to ``after()`` / ``before()`` for the
    next or previous page.
    """

    items: list[T]
    has_more: bool
    next_cursor: tuple[Any, ...] | None
    prev_cursor: tuple[Any, ...] | None


class Keyset:
    """What ``after()``/``before()`` recorded on a select: the direction, which
    ``page()`` reads (the condition itself is in the WHERE already, and
    ``order_by()`` refuses to change the ordering it was built for)."""

    __slots__ = ("before",)

    def __init__(self, before: bool) -> None:
        self.before = before


def keyset_columns(stmt: SelectStmt, method: str) -> tuple[tuple[Column[Any], bool], ...]:
    """The ordering of ``stmt`` as ``(column, descending)`` pairs, checked for keyset
    use: plain NOT NULL columns of the root model that include a unique key."""
    root = stmt.from_
    if not isinstance(root, TableInfo):
        raise ConfigurationError(f"{method} needs a select whose FROM is a model")
    model = root.model.__name__
    if not stmt.order_by:
        raise ConfigurationError(
            f"{method} needs an ORDER BY to page through: add .order_by(...) first, "
            f"e.g. .order_by({model}.id)"
        )
    columns: list[tuple[Column[Any], bool]] = []
    for ordering in stmt.order_by:
        expr = ordering.expr
        if not isinstance(expr, Column) or expr.table.info is not root:
            what = expr.describe() if isinstance(expr, Expr) else repr(expr)
            raise ConfigurationError(
                f"{method}: the ordering item {what} is not a plain column of {model}; "
                f"keyset pagination orders by columns of the selected model only"
            )
        if expr.type.nullable:
            raise ConfigurationError(
                f"{method}: {expr.describe()} is nullable. NULL has no place in a keyset "
                "(a comparison with NULL is never true, and where NULLs sort differs between "
                "backends), so rows would be skipped: order by NOT NULL columns only"
            )
        columns.append((expr, ordering.desc))
    attrs = {c.attr for c, _ in columns}
    keys = [root.primary_key] if root.primary_key else []
    keys += [fields for _, fields in root.unique_groups]
    if not any(key and {f.attr for f in key} <= attrs for key in keys):
        hint = ", ".join(f"{model}.{f.attr}" for f in root.primary_key) or "a unique column"
        raise ConfigurationError(
            f"{method}: the ordering ({', '.join(c.describe() for c, _ in columns)}) is not "
            f"unique, so rows that tie would be skipped or repeated between pages: add "
            f"{hint} as the last ordering item (the ordering must include the primary key "
            f"or every column of a unique constraint)"
        )
    return tuple(columns)


def _cursor_params(
    columns: Sequence[tuple[Column[Any], bool]], cursor: Any, root: TableInfo, method: str
) -> list[Param]:
    """The cursor's values, one per ordering column, checked and typed by their columns."""
    if isinstance(cursor, root.model):
        raw = [cursor.__dict__.get(c.attr) for c, _ in columns]
    elif isinstance(cursor, (tuple, list)):
        if len(cursor) != len(columns):
            names = ", ".join(c.describe() for c, _ in columns)
            raise ConfigurationError(
                f"{method}: the cursor has {len(cursor)} value(s), the ordering "
                f"{len(columns)} ({names}): pass one value per ordering item"
            )
        raw = list(cursor)
    else:
        raise ConfigurationError(
            f"{method} takes a {root.model.__name__} object or a tuple of ordering values "
            f"(a page's next_cursor), not {cursor!r}"
        )
    params = []
    for (column, _), value in zip(columns, raw):
        where = f"{method} cursor value for {column.describe()}"
        if value is None:
            raise ValidationError(f"{where}: is None (an ordering column is NOT NULL)")
        if isinstance(value, Expr):
            raise ConfigurationError(f"{where}: takes a plain value, not an expression")
        try:
            param = as_expr(value, column.type, column)
        except ValidationError as exc:
            raise ValidationError(f"{method} cursor value for {exc}") from exc
        if not isinstance(param, Param):
            raise ConfigurationError(f"{where}: takes a plain value, not {value!r}")
        params.append(param)
    return params


def _keyset_condition(
    columns: Sequence[tuple[Column[Any], bool]], params: Sequence[Param], before: bool
) -> Expr:
    def cmp(op: str, i: int) -> Expr:
        p = params[i]
        return BinaryOp(op, columns[i][0], Param(p.value, p.type), _BOOL)

    def strict(i: int) -> str:
        return "<" if columns[i][1] != before else ">"

    terms: list[Expr] = []
    for i in range(len(columns)):
        parts = [cmp("=", j) for j in range(i)] + [cmp(strict(i), i)]
        terms.append(parts[0] if len(parts) == 1 else BoolOp.of("AND", *parts))
    if len(terms) == 1:
        return terms[0]
    bound = cmp(strict(0) + "=", 0)  # implied by the OR; lets an index serve the range
    return BoolOp.of("AND", bound, BoolOp("OR", tuple(terms)))


def seek(select: Select[S], cursor: Any, before: bool) -> Select[S]:
    """``select.after(cursor)`` / ``select.before(cursor)``: a new select restricted
    to the rows strictly after/before ``cursor`` in its ORDER BY."""
    method = "before()" if before else "after()"
    if select._keyset is not None:
        done = "before()" if select._keyset.before else "after()"
        raise ConfigurationError(
            f"{method} on a select that already has {done}: a query pages in one "
            "direction from one cursor; start from the base query for another page"
        )
    stmt = select._stmt
    columns = keyset_columns(stmt, method)
    assert isinstance(stmt.from_, TableInfo)
    condition = _keyset_condition(
        columns, _cursor_params(columns, cursor, stmt.from_, method), before
    )
    new = select._copy()
    new._stmt.where = condition if stmt.where is None else stmt.where & condition
    new._keyset = Keyset(before)
    return new


def cursor_of(obj: Model, columns: Sequence[tuple[Column[Any], bool]]) -> tuple[Any, ...]:
    """The ordering values of a result object: the cursor that pages past it."""
    values = obj.__dict__
    return tuple(values[c.attr] for c, _ in columns)


def _flip(ordering: Ordering) -> Ordering:
    nulls = {"first": "last", "last": "first"}.get(ordering.nulls or "")
    return Ordering(ordering.expr, not ordering.desc, nulls)


async def fetch_page(select: Select[M], size: int) -> Page[M]:
    """``await select.page(size)``: ``size`` rows (one more is fetched to learn
    whether others follow); with ``before()``, the ``size`` rows just before the
    cursor, read in reverse order and returned in the query's order."""
    if type(size) is not int or size < 1:
        raise ConfigurationError(f"page size must be a positive int, got {size!r}")
    stmt = select._stmt
    root = stmt.from_
    if not isinstance(root, TableInfo) or len(stmt.items) != 1 or stmt.items[0] is not root:
        raise ConfigurationError(
            "page() pages through model objects: use it on a select of one model "
            "(select(Post)), whose objects give the next cursor"
        )
    if stmt.limit is not None or stmt.offset is not None:
        raise ConfigurationError(
            "page() sets its own LIMIT and never an OFFSET: drop range()/limit()/offset() "
            "and pass the page size to page(size)"
        )
    columns = keyset_columns(stmt, "page()")
    keyset = select._keyset
    backwards = keyset is not None and keyset.before
    query = select._copy()
    query._stmt.limit = Param(size + 1, _INT)
    if backwards:
        query._stmt.order_by = tuple(_flip(o) for o in stmt.order_by)
    rows = await query.collect()
    has_more = len(rows) > size
    items = rows[:size]
    if backwards:
        items.reverse()
    if not items:
        return Page(items, has_more, None, None)
    return Page(items, has_more, cursor_of(items[-1], columns), cursor_of(items[0], columns))

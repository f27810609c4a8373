"""A pure-Python oracle for ormer queries (docs/testing.md).

It evaluates ormer's own expression trees (``BinaryOp``, ``BoolOp``, ``Not``,
``IsNull``, ``InList``, ``Like``, ``Between``, ``Func``, ``Case``, ``Column``,
``Param``, ``Const``, ``Label``) on model instances with SQL's three-valued
logic, and runs whole selects (WHERE, ORDER BY with ormer's NULL placement,
OFFSET/LIMIT, GROUP BY/HAVING, aggregates, window functions: ``window``) on a
list of rows.

The rules are those ormer documents for every backend (docs/queries.md and
the backend pages), so a difference between a database and the oracle is a
bug in ormer, in the oracle or in the documentation:

* comparisons of text are by code point (SQLite BINARY, MySQL ``_bin``
  collations, PostgreSQL under ``C``/``C.UTF-8``); LIKE is case-sensitive,
  ``_`` is one code point, and the escape character is ``escape=`` or else
  the dialect's ``like_default_escape``;
* NULLs sort first ascending and last descending unless ``nulls=`` says otherwise;
* ``/`` is true division, ``//`` floors, ``%`` takes the dividend's sign.

Where backends legitimately differ (integer overflow, division by zero,
float underflow, case folding beyond ASCII), the oracle raises
:class:`Unpredictable`; the property tests then reject the example.
"""

from __future__ import annotations

import collections
import decimal
import enum
import functools
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..expr import (
    Between,
    BinaryOp,
    BoolOp,
    Case,
    Column,
    Const,
    Expr,
    Func,
    InList,
    IsNull,
    Label,
    Like,
    Not,
    Ordering,
    Param,
)
from ..model import Model, table_of
from ..types import INT64_MAX, INT64_MIN, Kind

__all__ = [
    "Semantics",
    "Unpredictable",
    "aggregate",
    "check_propagated_constants",
    "close_to",
    "compare",
    "describe",
    "evaluate",
    "group_rows",
    "like_matches",
    "model_shape",
    "same_multiset",
    "select_rows",
    "set_operation",
    "shape",
    "sort_rows",
    "subexpressions",
    "window",
]


class Unpredictable(Exception):
    """The backends may legitimately differ (or fail) on this input."""


@dataclass(frozen=True)
class Semantics:
    """The dialect-dependent rules the oracle follows (see ``ormer.testing.strategies.Limits``)."""

    like_default_escape: str | None = None


Row = Model
_ARITHMETIC = frozenset({"+", "-", "*", "/", "//", "%"})
_MAX_FLOAT = 1.7976931348623157e308


# -- values ------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """A value as SQL compares it: an enum as its value, binary as bytes."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    return value


def compare(op: str, a: Any, b: Any) -> bool | None:
    """``a op b`` in SQL (``op`` one of ``= <> < <= > >=``): NULL if either is NULL."""
    if a is None or b is None:
        return None
    a, b = _plain(a), _plain(b)
    if op == "=":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise AssertionError(op)


def _int(value: int) -> int:
    if not INT64_MIN <= value <= INT64_MAX:
        raise Unpredictable(
            f"integer overflow ({value}): PostgreSQL and MySQL raise, SQLite turns to REAL"
        )
    return value


def _float(value: float, *operands: float) -> float:
    if not math.isfinite(value):
        raise Unpredictable("float overflow: PostgreSQL and MySQL raise, SQLite gives inf")
    if value == 0.0 and all(o != 0.0 for o in operands) and operands:
        raise Unpredictable("float underflow: PostgreSQL raises, the others give 0")
    return value


def _divisor(value: Any) -> None:
    if value == 0:
        raise Unpredictable("division by zero: PostgreSQL raises, SQLite and MySQL give NULL")


def _arith(node: BinaryOp, a: Any, b: Any) -> Any:
    op = node.op
    kind = node.type.kind if node.type is not None else None
    a, b = _plain(a), _plain(b)
    if kind is Kind.FLOAT or op == "/":
        x, y = float(a), float(b)
        if op == "+":
            return _float(x + y)
        if op == "-":
            return _float(x - y)
        if op == "*":
            return _float(x * y, x, y)
        if op == "/":
            _divisor(y)
            return _float(x / y, x)
        if op == "//":
            _divisor(y)
            return float(math.floor(_float(x / y, x)))
        raise Unpredictable(f"float {op}")
    if kind is Kind.INT:
        if isinstance(a, float) or isinstance(b, float):
            raise Unpredictable("mixed int/float arithmetic")
        if op == "+":
            return _int(a + b)
        if op == "-":
            return _int(a - b)
        if op == "*":
            return _int(a * b)
        if op == "//":
            _divisor(b)
            # ormer's SQL: ((a - ((a % b) + b) % b) / b), every step in 64 bits
            _int((_rem(a, b)) + b)
            return _int(a // b)
        if op == "%":
            _divisor(b)
            return _rem(a, b)
    raise Unpredictable(f"arithmetic {op} on {kind}")


def _rem(a: int, b: int) -> int:
    """SQL's remainder: the sign follows the dividend."""
    r = abs(a) % abs(b)
    return -r if a < 0 else r


# -- LIKE --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4096)
def _like_regex(pattern: str, escape: str | None) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape:
            if i + 1 >= len(pattern):
                raise Unpredictable("a LIKE pattern ending in its escape character")
            nxt = pattern[i + 1]
            if nxt not in ("%", "_", escape):
                raise Unpredictable("an escape before an ordinary character")
            out.append(re.escape(nxt))
            i += 2
            continue
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _ascii_case_only(text: str) -> str:
    for ch in text:
        if ord(ch) > 127 and (ch.lower() != ch or ch.upper() != ch):
            raise Unpredictable(
                f"case folding of {ch!r}: SQLite folds ASCII only, MySQL and PostgreSQL Unicode"
            )
    return text


def like_matches(
    value: str, pattern: str, escape: str | None, case_insensitive: bool = False
) -> bool:
    """Whether ``value LIKE pattern [ESCAPE escape]`` holds (both non-NULL)."""
    if case_insensitive:
        value = _ascii_case_only(value).lower()
        pattern = _ascii_case_only(pattern).lower()
    return _like_regex(pattern, escape).fullmatch(value) is not None


# -- evaluation --------------------------------------------------------------------------
def _not(v: bool | None) -> bool | None:
    return None if v is None else not v


def _and(values: Sequence[bool | None]) -> bool | None:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def _or(values: Sequence[bool | None]) -> bool | None:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def _truth(value: Any) -> bool | None:
    """A value used as a condition (a boolean column, or a CASE of booleans)."""
    if value is None:
        return None
    return bool(value)


def evaluate(expr: Expr, row: Row, sem: Semantics = Semantics()) -> Any:
    """The value of ``expr`` on ``row`` (``None`` is SQL NULL; conditions are
    ``True``/``False``/``None``). Columns are read from the row by attribute."""
    ev = _Evaluator(row, sem)
    return ev(expr)


class _Evaluator:
    __slots__ = ("row", "sem")

    def __init__(self, row: Row, sem: Semantics) -> None:
        self.row = row
        self.sem = sem

    def __call__(self, node: Expr) -> Any:
        method: Callable[[Any], Any] = getattr(self, "visit_" + node.visit_name)
        return method(node)

    def cond(self, node: Expr) -> bool | None:
        return _truth(self(node))

    def visit_column(self, node: Column[Any]) -> Any:
        return self.row.__dict__[node.attr]

    def visit_param(self, node: Param) -> Any:
        return node.value

    def visit_label(self, node: Label) -> Any:
        return self(node.expr)

    def visit_const(self, node: Const) -> bool:
        return node.value

    def visit_binary(self, node: BinaryOp) -> Any:
        a, b = self(node.left), self(node.right)
        if node.op in ("=", "<>", "<", "<=", ">", ">="):
            if node.left.type is not None and node.left.type.kind is Kind.BOOL:
                a, b = _truth(a), _truth(b)
            return compare(node.op, a, b)
        if a is None or b is None:
            return None
        return _arith(node, a, b)

    def visit_boolop(self, node: BoolOp) -> bool | None:
        values = [self.cond(item) for item in node.items]
        return _and(values) if node.op == "AND" else _or(values)

    def visit_not(self, node: Not) -> bool | None:
        return _not(self.cond(node.operand))

    def visit_is_null(self, node: IsNull) -> bool:
        value = self(node.operand)
        return (value is not None) if node.negate else (value is None)

    def visit_in_list(self, node: InList) -> bool | None:
        if not node.values:
            return node.negate
        value = self(node.operand)
        if value is None:
            return None
        members = [self(v) for v in node.values]
        result = _or([compare("=", value, m) for m in members])
        return _not(result) if node.negate else result

    def visit_like(self, node: Like) -> bool | None:
        value, pattern = self(node.operand), self(node.pattern)
        if value is None or pattern is None:
            return None
        escape = node.escape if node.escape is not None else self.sem.like_default_escape
        result = like_matches(_plain(value), pattern, escape, node.case_insensitive)
        return not result if node.negate else result

    def visit_between(self, node: Between) -> bool | None:
        value, low, high = self(node.operand), self(node.low), self(node.high)
        return _and([compare(">=", value, low), compare("<=", value, high)])

    def visit_case(self, node: Case) -> Any:
        for cond, value in node.whens:
            if self.cond(cond) is True:
                return self(value)
        return None if node.else_ is None else self(node.else_)

    def visit_func(self, node: Func) -> Any:
        if node.aggregate:
            raise TypeError("aggregates are evaluated by aggregate(), not per row")
        args = [self(a) for a in node.args]
        name = node.name
        if name == "coalesce":
            return next((a for a in args if a is not None), None)
        (value,) = args
        if value is None:
            return None
        value = _plain(value)
        if name == "lower":
            return _ascii_case_only(value).lower()
        if name == "upper":
            return _ascii_case_only(value).upper()
        if name == "length":
            return len(value)
        if name == "abs":
            kind = node.type.kind if node.type is not None else None
            if isinstance(value, decimal.Decimal):
                return value.copy_abs()  # abs() would round to the context's 28 digits
            return _int(abs(value)) if kind is Kind.INT else abs(value)
        raise NotImplementedError(f"the oracle has no function {name!r}")


# -- ordering and selects ----------------------------------------------------------------
def _order_compare(a: Any, b: Any) -> int:
    a, b = _plain(a), _plain(b)
    return -1 if a < b else (1 if a > b else 0)


def sort_rows(
    rows: Sequence[Row], order_by: Sequence[Ordering], sem: Semantics = Semantics()
) -> list[Row]:
    """``rows`` in ORDER BY order; NULLs first ascending, last descending unless
    ``nulls=`` is given (ormer's convention on every backend)."""
    keyed = [(row, [evaluate(o.expr, row, sem) for o in order_by]) for row in rows]

    def cmp(x: tuple[Row, list[Any]], y: tuple[Row, list[Any]]) -> int:
        for o, a, b in zip(order_by, x[1], y[1]):
            if a is None and b is None:
                continue
            nulls = o.nulls or ("last" if o.desc else "first")
            if a is None or b is None:
                a_first = (a is None) == (nulls == "first")
                return -1 if a_first else 1
            c = _order_compare(a, b)
            if c:
                return -c if o.desc else c
        return 0

    keyed.sort(key=functools.cmp_to_key(cmp))
    return [row for row, _ in keyed]


def select_rows(
    rows: Sequence[Row],
    where: Expr | None,
    order_by: Sequence[Ordering] = (),
    start: int = 0,
    end: int | None = None,
    sem: Semantics = Semantics(),
) -> list[Row]:
    """``SELECT * FROM rows WHERE where ORDER BY order_by OFFSET start LIMIT end-start``."""
    if where is not None:
        check_propagated_constants(where, sem)
    kept = [r for r in rows if where is None or _truth(evaluate(where, r, sem)) is True]
    ordered = sort_rows(kept, order_by, sem) if order_by else kept
    return ordered[start:end]


def _distinct(values: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if not any(v == d for d in out):  # == as SQL's DISTINCT: NULL matches NULL
            out.append(v)
    return out


def set_operation(op: str, left: Sequence[Any], right: Sequence[Any]) -> list[Any]:
    """``left <op> right`` over two lists of result rows, as a list in no particular
    order: ``union_all`` keeps every row, ``union``/``intersect``/``except`` return
    distinct rows (two NULLs are the same row, as SQL's set operators have it)."""
    if op == "union_all":
        return [*left, *right]
    if op == "union":
        return _distinct([*left, *right])
    if op == "intersect":
        return [v for v in _distinct(left) if any(v == r for r in right)]
    if op == "except":
        return [v for v in _distinct(left) if not any(v == r for r in right)]
    raise ValueError(f"unknown set operation {op!r}")


def same_multiset(got: Sequence[Any], expected: Sequence[Any]) -> bool:
    """Whether two lists hold the same rows (by ==), each as many times, in any order."""
    rest = list(expected)
    for g in got:
        for i, e in enumerate(rest):
            if g == e:
                del rest[i]
                break
        else:
            return False
    return not rest


def subexpressions(node: Expr) -> Iterator[Expr]:
    """``node`` and every expression below it (subqueries excluded)."""
    yield node
    children: Sequence[Any]
    if isinstance(node, BinaryOp):
        children = (node.left, node.right)
    elif isinstance(node, BoolOp):
        children = node.items
    elif isinstance(node, (Not, IsNull, Like)):
        children = (node.operand,)
    elif isinstance(node, InList):
        children = (node.operand, *node.values)
    elif isinstance(node, Between):
        children = (node.operand, node.low, node.high)
    elif isinstance(node, Case):
        children = [x for when in node.whens for x in when] + [node.else_]
    elif isinstance(node, Func):
        children = node.args
    elif isinstance(node, Label):
        children = (node.expr,)
    else:
        children = ()
    for child in children:
        if isinstance(child, Expr):
            yield from subexpressions(child)


class _Fixed:
    """A row in which one column holds a value and every other column is NULL."""

    def __init__(self, attr: str, value: Any) -> None:
        self.__dict__ = collections.defaultdict(lambda: None, {attr: value})


def check_propagated_constants(where: Expr, sem: Semantics = Semantics()) -> None:
    """Raise Unpredictable when a server may fail ``where`` on no row at all.

    MySQL's optimizer substitutes a column that ``col = constant`` fixes into
    the rest of the WHERE clause and folds the result: ``a = 2 AND a +
    9223372036854775806 IS NOT NULL`` raises "BIGINT value is out of range"
    on an empty table. Every arithmetic subexpression is evaluated here with
    each such constant in its column; one that overflows (or divides by zero)
    makes the case unpredictable.
    """
    nodes = list(subexpressions(where))
    fixed = [
        (column.attr, value.value)
        for n in nodes
        if isinstance(n, BinaryOp) and n.op == "="
        for column, value in ((n.left, n.right), (n.right, n.left))
        if isinstance(column, Column) and isinstance(value, Param) and value.value is not None
    ]
    if not fixed:
        return
    arithmetic = [n for n in nodes if isinstance(n, BinaryOp) and n.op in _ARITHMETIC]
    for attr, value in fixed:
        row: Any = _Fixed(attr, value)
        for node in arithmetic:
            try:
                evaluate(node, row, sem)
            except Unpredictable as exc:
                raise Unpredictable(
                    f"MySQL folds `{attr} = {value!r}` into {describe(node)}: {exc}"
                ) from None


def group_rows(rows: Sequence[Row], key: Expr, sem: Semantics = Semantics()) -> list[list[Row]]:
    """``rows`` grouped by the SQL equality of ``key`` (NULLs form one group)."""
    groups: dict[Any, list[Row]] = {}
    for row in rows:
        value = _plain(evaluate(key, row, sem))
        groups.setdefault(("v", value) if value is not None else ("null",), []).append(row)
    return list(groups.values())


def window(
    name: str,
    rows: Sequence[Row],
    partition_by: Expr | None,
    order_by: Sequence[Ordering],
    arg: Expr | None = None,
    sem: Semantics = Semantics(),
) -> list[Any]:
    """``name(arg) OVER (PARTITION BY partition_by ORDER BY order_by)`` per row of
    ``rows`` (same positions), with SQL's default frame: ``row_number``, ``rank``,
    ``dense_rank`` and every ``aggregate`` (over the partition without ``order_by``,
    else over the rows up to the current one's last peer). Peers: rows whose
    ``order_by`` values are equal (NULLs are peers of each other)."""
    position = {id(r): i for i, r in enumerate(rows)}
    out: list[Any] = [None] * len(rows)
    parts = group_rows(rows, partition_by, sem) if partition_by is not None else [list(rows)]
    for part in parts:
        ordered = sort_rows(part, order_by, sem) if order_by else list(part)
        keys = [[_plain(evaluate(o.expr, r, sem)) for o in order_by] for r in ordered]
        values = [evaluate(arg, r, sem) for r in ordered] if arg is not None else None
        rank = dense = 0
        for i, row in enumerate(ordered):
            if i == 0 or keys[i] != keys[i - 1]:
                rank, dense = i + 1, dense + 1
            last_peer = i
            while last_peer + 1 < len(ordered) and keys[last_peer + 1] == keys[i]:
                last_peer += 1
            if name == "row_number":
                value: Any = i + 1
            elif name == "rank":
                value = rank
            elif name == "dense_rank":
                value = dense
            else:
                upto = len(ordered) if not order_by else last_peer + 1
                framed = values[:upto] if values is not None else [1] * upto
                value = aggregate(name, framed)
            out[position[id(row)]] = value
    return out


def aggregate(name: str, values: Sequence[Any], distinct: bool = False) -> Any:
    """An aggregate over the values of one group: NULLs ignored; ``count`` of nothing
    is 0, every other aggregate of nothing is NULL. ``sum`` of bools counts them.

    ``sum``/``avg`` are exact here (``int``, ``Fraction`` for ``float`` and
    ``Decimal`` operands); comparing them with a database's floating-point
    result needs a tolerance (see ``close_to``).
    """
    present = [_plain(v) for v in values if v is not None]
    if distinct:
        unique: list[Any] = []
        for v in present:
            if not any(v == u for u in unique):
                unique.append(v)
        present = unique
    if name == "count":
        return len(present)
    if not present:
        return None
    if name == "min":
        return min(present)
    if name == "max":
        return max(present)
    if name in ("sum", "avg"):
        if all(isinstance(v, int) for v in present):  # int and bool
            total: Any = sum(int(v) for v in present)
        else:
            total = sum(Fraction(v) for v in present)
        return total if name == "sum" else Fraction(total) / len(present)
    raise NotImplementedError(name)


_EPS = Fraction(2) ** -50  # a few units in the last place of a double (2**-52)
_SUBNORMAL = Fraction(2) ** -1074  # the smallest positive double


def close_to(got: Any, exact: Any, values: Sequence[Any], quantum: Fraction) -> bool:
    """Whether a database's sum/avg ``got`` matches the ``exact`` one: within the
    rounding error of summing ``values`` in binary floating point plus ``quantum``.

    Each floating-point operation errs by at most a relative ``eps`` of its
    result plus, below the normal range, half the smallest subnormal: the
    average of 0.0 and 5e-324 is 2.5e-324 exactly, and 0.0 as a double.
    """
    if got is None or exact is None:
        return got is None and exact is None
    scale = sum(abs(Fraction(_plain(v))) for v in values if v is not None)
    ops = len(values) + 2
    allowed = ops * (_EPS * scale + _SUBNORMAL) + quantum
    return abs(Fraction(got) - Fraction(exact)) <= allowed


# -- descriptions (failure reports) --------------------------------------------------------
_OPS = {"=": "==", "<>": "!="}


def describe(node: Any) -> str:
    """Python-like source of an expression tree, for failure reports."""
    if node is None:
        return "None"
    if isinstance(node, Ordering):
        args = "" if node.nulls is None else f"nulls={node.nulls!r}"
        return f"{describe(node.expr)}.{'desc' if node.desc else 'asc'}({args})"
    if isinstance(node, Column):
        return f"M.{node.attr}"
    if isinstance(node, Param):
        return repr(node.value)
    if isinstance(node, Const):
        return f"Const({node.value})"
    if isinstance(node, Label):
        return f"{describe(node.expr)}.label({node.name!r})"
    if isinstance(node, BinaryOp):
        if node.op == "-" and isinstance(node.left, Param) and node.left.value == 0:
            return f"(-{describe(node.right)})"
        return f"({describe(node.left)} {_OPS.get(node.op, node.op)} {describe(node.right)})"
    if isinstance(node, BoolOp):
        joiner = " & " if node.op == "AND" else " | "
        return "(" + joiner.join(describe(i) for i in node.items) + ")"
    if isinstance(node, Not):
        return f"~{describe(node.operand)}"
    if isinstance(node, IsNull):
        return f"{describe(node.operand)}.{'is_not_null' if node.negate else 'is_null'}()"
    if isinstance(node, InList):
        values = ", ".join(describe(v) for v in node.values)
        return f"{describe(node.operand)}.{'not_in' if node.negate else 'in_'}([{values}])"
    if isinstance(node, Like):
        method = "ilike" if node.case_insensitive else ("not_like" if node.negate else "like")
        esc = "" if node.escape is None else f", escape={node.escape!r}"
        return f"{describe(node.operand)}.{method}({describe(node.pattern)}{esc})"
    if isinstance(node, Between):
        return f"{describe(node.operand)}.between({describe(node.low)}, {describe(node.high)})"
    if isinstance(node, Case):
        whens = ", ".join(f"({describe(c)}, {describe(v)})" for c, v in node.whens)
        return f"func.case({whens}, else_={describe(node.else_)})"
    if isinstance(node, Func):
        name = "count_distinct" if node.distinct else node.name
        return f"func.{name}({', '.join(describe(a) for a in node.args)})"
    return repr(node)


def shape(node: Any) -> str:
    """The structure of an expression without its values or column names: the
    operators and the kinds they apply to (for coverage counts)."""
    if node is None:
        return "-"
    if isinstance(node, Ordering):
        return f"order({shape(node.expr)},{'d' if node.desc else 'a'},{node.nulls})"
    if isinstance(node, Column):
        return f"col:{node.type.kind.value}{'?' if node.type.nullable else ''}"
    if isinstance(node, Param):
        return "null" if node.value is None else "lit"
    if isinstance(node, Const):
        return "const"
    if isinstance(node, Label):
        return shape(node.expr)
    if isinstance(node, BinaryOp):
        return f"{node.op}({shape(node.left)},{shape(node.right)})"
    if isinstance(node, BoolOp):
        return f"{node.op}(" + ",".join(shape(i) for i in node.items) + ")"
    if isinstance(node, Not):
        return f"not({shape(node.operand)})"
    if isinstance(node, IsNull):
        return f"{'notnull' if node.negate else 'isnull'}({shape(node.operand)})"
    if isinstance(node, InList):
        return f"{'notin' if node.negate else 'in'}{len(node.values)}({shape(node.operand)})"
    if isinstance(node, Like):
        kind = "ilike" if node.case_insensitive else ("notlike" if node.negate else "like")
        return f"{kind}{'e' if node.escape else ''}({shape(node.operand)})"
    if isinstance(node, Between):
        return f"between({shape(node.operand)})"
    if isinstance(node, Case):
        return "case(" + ",".join(shape(c) + ":" + shape(v) for c, v in node.whens) + ")"
    if isinstance(node, Func):
        return f"{node.name}(" + ",".join(shape(a) for a in node.args) + ")"
    return type(node).__name__


def model_shape(model: type[Model]) -> str:
    """The column kinds and flags of a model (for coverage counts)."""
    parts = []
    for f in table_of(model).fields:
        flags = ("?" if f.nullable else "") + ("u" if f.spec.unique else "")
        flags += "i" if f.spec.index else ""
        parts.append(f.type.kind.value + flags)
    return ",".join(sorted(parts))

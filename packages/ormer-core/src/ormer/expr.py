"""Expression trees: columns, bound parameters, operators, functions, CASE, labels.

Every node knows two things the compiler needs:

* ``visit_name``: which ``visit_<name>`` method of the compiler renders it;
* ``_walk(key, params)``: appends the node's *shape* to ``key`` and its bound
  values to ``params``. Two trees of the same shape compile to the same SQL,
  so the compiler caches SQL by ``tuple(key)`` and only re-collects params.

Python values inside expressions always become :class:`Param` nodes (bound
parameters), typed by the column they meet so the dialect can convert them.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeAlias, TypeVar, overload

from .errors import ConfigurationError, ValidationError
from .identifiers import check_identifier
from .types import ColumnType, Kind, convert_operand, find_surrogate, literal_type

if TYPE_CHECKING:
    from typing_extensions import TypeVar as TypeVarWithDefault

    from .model import FieldInfo
    from .windows import Window

__all__ = [
    "Between",
    "BinaryOp",
    "BoolOp",
    "Case",
    "Column",
    "Const",
    "Exists",
    "Expr",
    "ExprOrValue",
    "Func",
    "InList",
    "InSubquery",
    "IsNull",
    "Label",
    "Like",
    "Not",
    "Ordering",
    "Param",
    "ScalarSubquery",
    "SqlValue",
    "TableRef",
    "as_condition",
    "as_expr",
    "coerce_param",
    "exists",
    "func",
    "not_exists",
]

T = TypeVar("T")
#: What an expression yields, for type checkers: ``Expr[int]`` reads as an ``int``.
if TYPE_CHECKING:  # a PEP 696 default (Python 3.13's TypeVar): a bare ``Expr`` is ``Expr[Any]``
    T_co = TypeVarWithDefault("T_co", covariant=True, default=Any)
else:
    T_co = TypeVar("T_co", covariant=True)

#: The Python types a column or expression reads as (the supported field types and None).
#: Type checkers read a column on a model class (``User.name``) as its value type; this
#: bound is what tells such a value from an expression or a model class in ``select(...)``.
SqlValue: TypeAlias = (
    int
    | float
    | str
    | bytes
    | decimal.Decimal
    | datetime.date
    | datetime.time
    | uuid.UUID
    | enum.Enum
    | dict[Any, Any]
    | list[Any]
    | None
)
V = TypeVar("V", bound=SqlValue)
#: numbers, for the arithmetic aggregates
N = TypeVar("N", bound=int | float | decimal.Decimal | None)
Key = list[Any]
#: what a walk collects: the Param nodes, in walk order (values are read at bind time)
Params = list["Param"]

_INT = ColumnType(Kind.INT, int)
_FLOAT = ColumnType(Kind.FLOAT, float)
_STR = ColumnType(Kind.STR, str)
_BOOL = ColumnType(Kind.BOOL, bool)
_DECIMAL = ColumnType(Kind.DECIMAL, decimal.Decimal)


def statement_of(value: Any) -> Any | None:
    """The select statement behind a query builder (or a bare statement), else None."""
    stmt = getattr(value, "__ormer_statement__", None)
    return stmt() if callable(stmt) else None


def as_expr(value: Any, type_hint: ColumnType | None = None, owner: Expr | None = None) -> Expr:
    """Wrap a Python value as a bound :class:`Param` unless it already is an expression.

    A value that meets a typed expression (``User.id == value``) is checked against
    that type first, the same way on every backend: a value that cannot be compared
    with it raises :class:`ValidationError` (``owner`` names the expression in the
    message), one that converts losslessly (a UUID's text) is converted.
    """
    if isinstance(value, Expr):
        return value
    stmt = statement_of(value)
    if stmt is not None:
        return ScalarSubquery(stmt)
    if type_hint is None or value is None or type(value) is type_hint.py_type:
        if value.__class__ is str and not value.isascii() and find_surrogate(value):
            where = owner.describe() if owner is not None else "expression"
            raise ValidationError(
                f"{where}: a str with a lone surrogate cannot be sent (UTF-8 cannot encode "
                f"it): {value[:40]!r}"
            )
        return Param(value, type_hint if type_hint is not None else literal_type(value))
    return coerce_param(value, type_hint, owner)


def coerce_param(value: Any, type_hint: ColumnType, owner: Expr | None) -> Param:
    """A Python value meeting an expression of ``type_hint``, checked and converted."""
    where = owner.describe() if owner is not None else "expression"
    converted, type_ = convert_operand(value, type_hint, where)
    return Param(converted, type_)


def as_condition(value: Any, where: str) -> Expr:
    """A filter/having/join condition: an ormer expression, else TypeError saying why.

    A Python bool, None, number or string there is always a mistake (and one that
    would turn a DELETE's WHERE into "every row" or "no row"), so it never reaches SQL.
    """
    cls = type(value)
    if cls in _CONDITION_NODES or (cls is BinaryOp and value._type is _BOOL):
        return value  # type: ignore[no-any-return]  # the common case: a comparison or combination
    if isinstance(value, Expr):
        t = value.type
        if t is not None and t.kind is not Kind.BOOL:
            raise TypeError(
                f"{where} needs a condition, got {value.describe()} (a {t.kind.value} "
                "expression): compare it, e.g. User.age > 0"
            )
        return value
    raise TypeError(f"{where} takes ormer expressions such as User.age >= 18, " + _hint(value))


def _hint(value: Any) -> str:
    if isinstance(value, bool):
        return (
            f"not the Python value {value}. Probably one of: a comparison on an instance "
            "(user.id == 1) where the class was meant (User.id == 1); `is None` / "
            "`is not None`, which Python evaluates at once (use col(User.x).is_null() or "
            "User.x == None); `and`/`or`/`not`, which take truth values (use & | ~)"
        )
    if value is None:
        return (
            "not None. Probably `x is None` evaluated by Python, or a helper that returned "
            "nothing; use col(User.x).is_null() or User.x == None"
        )
    if isinstance(value, str):
        return (
            f"not the string {value!r}: raw SQL does not go in filter(); run it with "
            "exec_rows/exec_table/exec_non_query, values as bound parameters"
        )
    if isinstance(value, (int, float)):
        return (
            f"not the number {value!r}. Probably a comparison on an instance attribute "
            "where the class attribute was meant (User.id == 1)"
        )
    if statement_of(value) is not None:
        return "not a query: wrap a subquery in exists(...) or use col.in_(query)"
    return f"not {type(value).__name__} {value!r}"


def _arith_type(left: ColumnType | None, right: ColumnType | None, op: str) -> ColumnType | None:
    kinds = {t.kind for t in (left, right) if t is not None}
    if op == "/":
        return _DECIMAL if Kind.DECIMAL in kinds else _FLOAT
    if Kind.DECIMAL in kinds:
        return _DECIMAL
    if Kind.FLOAT in kinds:
        return _FLOAT
    if op == "//" or kinds <= {Kind.INT, Kind.BOOL}:
        return _INT
    return left if left is not None else right


class Expr(Generic[T_co]):
    """Base of every SQL expression node.

    Operators build new nodes: ``== != < <= > >=`` comparisons, ``& | ~`` boolean
    logic, ``+ - * / // %`` arithmetic. ``== None`` compiles to ``IS NULL``.
    Using an expression as a Python bool raises TypeError (use ``&``/``|``).

    For type checkers ``Expr[T]`` yields values of type ``T`` (``func.count()`` is
    an ``Expr[int]``); conditions are ``Expr[bool]``, arithmetic ``Expr[Any]``.
    """

    __slots__ = ()
    visit_name: ClassVar[str] = ""

    @property
    def type(self) -> ColumnType | None:
        """The portable type of the value this expression yields (None if unknown)."""
        return None

    def _walk(self, key: Key, params: Params) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        """How error messages name this expression."""
        return "the expression"

    # -- comparisons --------------------------------------------------------------
    def _compare(self, op: str, other: Any) -> Expr[bool]:
        return BinaryOp(op, self, as_expr(other, self.type, self), _BOOL)

    def __eq__(self, other: Any) -> Expr[bool]:  # type: ignore[override]
        if other is None:
            return IsNull(self, negate=False)
        return self._compare("=", other)

    def __ne__(self, other: Any) -> Expr[bool]:  # type: ignore[override]
        if other is None:
            return IsNull(self, negate=True)
        return self._compare("<>", other)

    def __lt__(self, other: Any) -> Expr[bool]:
        return self._compare("<", other)

    def __le__(self, other: Any) -> Expr[bool]:
        return self._compare("<=", other)

    def __gt__(self, other: Any) -> Expr[bool]:
        return self._compare(">", other)

    def __ge__(self, other: Any) -> Expr[bool]:
        return self._compare(">=", other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise TypeError(
            "an ormer expression has no truth value: combine conditions with & | ~ "
            "(not `and`/`or`/`not`), and compare with `is` outside queries"
        )

    # -- boolean logic ------------------------------------------------------------
    def __and__(self, other: Any) -> Expr[bool]:
        return BoolOp.of("AND", self, as_condition(other, "&"))

    def __rand__(self, other: Any) -> Expr[bool]:
        return BoolOp.of("AND", as_condition(other, "&"), self)

    def __or__(self, other: Any) -> Expr[bool]:
        return BoolOp.of("OR", self, as_condition(other, "|"))

    def __ror__(self, other: Any) -> Expr[bool]:
        return BoolOp.of("OR", as_condition(other, "|"), self)

    def __invert__(self) -> Expr[bool]:
        return Not(self)

    # -- arithmetic -----------------------------------------------------------------
    def _arith(self, op: str, other: Any, reverse: bool = False) -> Expr[Any]:
        other_expr = as_expr(other, self.type, self)
        left, right = (other_expr, self) if reverse else (self, other_expr)
        return BinaryOp(op, left, right, _arith_type(left.type, right.type, op))

    def __add__(self, other: Any) -> Expr[Any]:
        return self._arith("+", other)

    def __radd__(self, other: Any) -> Expr[Any]:
        return self._arith("+", other, True)

    def __sub__(self, other: Any) -> Expr[Any]:
        return self._arith("-", other)

    def __rsub__(self, other: Any) -> Expr[Any]:
        return self._arith("-", other, True)

    def __mul__(self, other: Any) -> Expr[Any]:
        return self._arith("*", other)

    def __rmul__(self, other: Any) -> Expr[Any]:
        return self._arith("*", other, True)

    def __truediv__(self, other: Any) -> Expr[Any]:
        return self._arith("/", other)

    def __rtruediv__(self, other: Any) -> Expr[Any]:
        return self._arith("/", other, True)

    def __floordiv__(self, other: Any) -> Expr[Any]:
        return self._arith("//", other)

    def __rfloordiv__(self, other: Any) -> Expr[Any]:
        return self._arith("//", other, True)

    def __mod__(self, other: Any) -> Expr[Any]:
        return self._arith("%", other)

    def __neg__(self) -> Expr[Any]:
        return BinaryOp("-", Param(0, self.type), self, self.type)

    # -- predicates -----------------------------------------------------------------
    def in_(self, values: Iterable[Any] | Any) -> Expr[bool]:
        """``IN (values)`` or ``IN (subquery)``; an empty list is FALSE."""
        stmt = statement_of(values)
        if stmt is not None:
            return InSubquery(self, stmt, negate=False)
        return InList(self, tuple(as_expr(v, self.type, self) for v in values), negate=False)

    def not_in(self, values: Iterable[Any] | Any) -> Expr[bool]:
        """``NOT IN (values)`` or ``NOT IN (subquery)``; an empty list is TRUE."""
        stmt = statement_of(values)
        if stmt is not None:
            return InSubquery(self, stmt, negate=True)
        return InList(self, tuple(as_expr(v, self.type, self) for v in values), negate=True)

    def like(self, pattern: Any, escape: str | None = None) -> Expr[bool]:
        """``LIKE pattern`` (``%`` any run, ``_`` one character); case rules per dialect."""
        return Like(self, as_expr(pattern, _STR, self), False, False, escape)

    def not_like(self, pattern: Any, escape: str | None = None) -> Expr[bool]:
        """``NOT LIKE pattern``."""
        return Like(self, as_expr(pattern, _STR, self), True, False, escape)

    def ilike(self, pattern: Any, escape: str | None = None) -> Expr[bool]:
        """Case-insensitive LIKE, portable across dialects."""
        return Like(self, as_expr(pattern, _STR, self), False, True, escape)

    def between(self, low: Any, high: Any) -> Expr[bool]:
        """``BETWEEN low AND high`` (inclusive)."""
        return Between(self, as_expr(low, self.type, self), as_expr(high, self.type, self))

    def is_null(self) -> Expr[bool]:
        """``IS NULL``."""
        return IsNull(self, negate=False)

    def is_not_null(self) -> Expr[bool]:
        """``IS NOT NULL``."""
        return IsNull(self, negate=True)

    # -- ordering and naming ----------------------------------------------------------
    def asc(self, nulls: str | None = None) -> Ordering:
        """Ascending order; ``nulls="first" | "last"`` pins NULL placement."""
        return Ordering(self, False, nulls)

    def desc(self, nulls: str | None = None) -> Ordering:
        """Descending order; ``nulls="first" | "last"`` pins NULL placement."""
        return Ordering(self, True, nulls)

    def label(self, name: str) -> Label[T_co]:
        """Name this expression (``expr AS name``); usable in order_by and having.

        The label yields what the expression yields (``Label[int]`` for a count).
        """
        return Label(self, name)


#: A select item or operand that yields ``V``: an expression, or a column as type checkers
#: read it (``User.name`` is a ``str`` to them).
ExprOrValue: TypeAlias = Expr[V] | V


class TableRef:
    """A model's table as it appears in a FROM clause, optionally under an alias."""

    __slots__ = ("alias", "info", "model", "name")

    def __init__(self, model: Any, name: str, alias: str | None = None) -> None:
        self.model = model
        self.name = name
        self.alias = alias
        self.info: Any = None  # the TableInfo this reference belongs to, set by the model

    @property
    def ref_name(self) -> str:
        """The name columns are qualified with: the alias, else the table name."""
        return self.alias or self.name

    def __repr__(self) -> str:
        return f"TableRef({self.name!r}, alias={self.alias!r})"


class Column(Expr[T]):
    """A model field used as an expression (``User.age``).

    On the model class it is also the descriptor that yields itself, while
    instances keep their values in their own ``__dict__``. Type checkers read
    ``User.age`` as the field's value type (``int``); ``col(User.age)`` is the
    ``Column[int]``.
    """

    __slots__ = ("_type", "attr", "field", "name", "table")
    visit_name = "column"

    def __init__(self, table: TableRef, field: FieldInfo) -> None:
        self.table = table
        self.field = field
        self.attr = field.attr
        self.name = field.column
        self._type = field.type

    @property
    def type(self) -> ColumnType:
        return self._type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(self.table.ref_name)
        # the field itself, not just its name: two models may share a table name
        # with different columns/types (nullability changes ORDER BY, types the dumpers)
        key.append(self.field)

    def describe(self) -> str:
        model = getattr(self.table.model, "__name__", self.table.ref_name)
        return f"{model}.{self.attr}"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        raise AttributeError(f"{type(instance).__name__}.{self.attr} is not set")

    def __repr__(self) -> str:
        return f"Column({self.table.ref_name}.{self.name})"


class Param(Expr):
    """A bound parameter: a Python value that travels separately from the SQL."""

    __slots__ = ("_type", "value")
    visit_name = "param"

    def __init__(self, value: Any, type_: ColumnType | None = None) -> None:
        self.value = value
        self._type = type_

    @property
    def type(self) -> ColumnType | None:
        return self._type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(self._type)
        params.append(self)

    def __repr__(self) -> str:
        return f"Param({self.value!r})"


class Const(Expr):
    """A constant truth value (what ``in_([])`` and ``not_in([])`` become)."""

    __slots__ = ("value",)
    visit_name = "const"

    def __init__(self, value: bool) -> None:
        self.value = value

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append("T" if self.value else "F")


class BinaryOp(Expr):
    """``left op right`` for comparisons and arithmetic."""

    __slots__ = ("_type", "left", "op", "right")
    visit_name = "binary"

    def __init__(self, op: str, left: Expr, right: Expr, type_: ColumnType | None) -> None:
        self.op = op
        self.left = left
        self.right = right
        self._type = type_

    @property
    def type(self) -> ColumnType | None:
        return self._type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(self.op)
        self.left._walk(key, params)
        self.right._walk(key, params)


class BoolOp(Expr):
    """``a AND b AND ...`` / ``a OR b OR ...`` (nested same-op nodes are flattened)."""

    __slots__ = ("items", "op")
    visit_name = "boolop"

    def __init__(self, op: str, items: tuple[Expr, ...]) -> None:
        self.op = op
        self.items = items

    @classmethod
    def of(cls, op: str, *items: Expr) -> BoolOp:
        flat: list[Expr] = []
        for item in items:
            if isinstance(item, BoolOp) and item.op == op:
                flat.extend(item.items)
            else:
                flat.append(item)
        return cls(op, tuple(flat))

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append(self.op)
        key.append(len(self.items))
        for item in self.items:
            item._walk(key, params)


class Not(Expr):
    """``NOT operand`` (three-valued: NOT NULL is NULL)."""

    __slots__ = ("operand",)
    visit_name = "not"

    def __init__(self, operand: Expr) -> None:
        self.operand = operand

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append("NOT")
        self.operand._walk(key, params)


class IsNull(Expr):
    """``operand IS [NOT] NULL``."""

    __slots__ = ("negate", "operand")
    visit_name = "is_null"

    def __init__(self, operand: Expr, negate: bool) -> None:
        self.operand = operand
        self.negate = negate

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append("NOTNULL" if self.negate else "ISNULL")
        self.operand._walk(key, params)


#: an ``in_`` list of plain values longer than this binds as ONE parameter (the compiler's
#: ``in_array``): one statement shape serves every length, and no bind-parameter limit
#: (32,767 on PostgreSQL, 32,766 on SQLite) is met
IN_ARRAY_MIN = 1000


def leads_an_index(operand: Expr) -> bool:
    """Whether ``operand`` is a model column that leads an index its model declares (the
    primary key's first column, a unique or index group's first): a hint for how a
    dialect binds a long IN list (``SQLCompiler.in_array_indexed``)."""
    if not isinstance(operand, Column):
        return False
    info = operand.table.info
    leading = getattr(info, "_leading_indexed", None)
    if leading is None:
        groups = [info.primary_key, *(g for _, g in info.unique_groups + info.index_groups)]
        leading = frozenset(g[0].attr for g in groups if g)
        info.__dict__["_leading_indexed"] = leading
    return operand.field.attr in leading


class InList(Expr):
    """``operand [NOT] IN (v1, v2, ...)``; empty lists compile to FALSE/TRUE.

    A list of more than :data:`IN_ARRAY_MIN` bound values travels as one parameter
    holding them all (``array``, a tuple), rendered by ``SQLCompiler.in_array``.
    """

    __slots__ = ("array", "indexed", "negate", "operand", "values")
    visit_name = "in_list"

    def __init__(self, operand: Expr, values: tuple[Expr, ...], negate: bool) -> None:
        self.operand = operand
        self.values = values
        self.negate = negate
        self.array: Param | None = None
        self.indexed = False
        if len(values) > IN_ARRAY_MIN and all(type(v) is Param for v in values):
            self.array = Param(tuple([v.value for v in values]), operand.type)  # type: ignore[attr-defined]
            self.indexed = leads_an_index(operand)

    @classmethod
    def of_array(cls, operand: Expr, values: tuple[Any, ...], negate: bool = False) -> InList:
        """``operand [NOT] IN`` the (non-empty) ``values``, bound as one array parameter
        whatever their number: one statement shape and one prepared statement for every
        length (relation preloads use it). The values must already fit the operand."""
        node = cls.__new__(cls)
        node.operand = operand
        node.values = ()
        node.negate = negate
        node.array = Param(values, operand.type)
        node.indexed = leads_an_index(operand)
        return node

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        if self.array is not None:
            key.append(("NOTIN[]" if self.negate else "IN[]", self.indexed))
            self.operand._walk(key, params)
            self.array._walk(key, params)
            return
        key.append("NOTIN" if self.negate else "IN")
        key.append(len(self.values))
        self.operand._walk(key, params)
        for value in self.values:
            value._walk(key, params)


class RowIn(Expr):
    """``(c1, c2) IN (<keys>)``: a composite key among several (relation preloads).

    One row value per key, so no expression depth grows with the count (an OR of
    ANDs is refused past a depth of 1,000 by SQLite, 100 by Turso). The keys are
    held two ways, both walked: ``rows`` (a parameter per value, for
    ``IN (VALUES (?, ?), ...)``) and ``arrays`` (one parameter per column holding
    that column's values, for a dialect that unnests arrays: PostgreSQL); the
    compiler renders one of them (``SQLCompiler.row_in``).
    """

    __slots__ = ("arrays", "columns", "rows")
    visit_name = "row_in"

    def __init__(self, columns: tuple[Expr, ...], keys: Sequence[tuple[Any, ...]]) -> None:
        self.columns = columns
        types = [c.type for c in columns]
        self.rows = tuple(tuple(Param(v, t) for v, t in zip(key, types)) for key in keys)
        self.arrays = tuple(Param(tuple(key[i] for key in keys), t) for i, t in enumerate(types))

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("ROWIN", len(self.columns), len(self.rows)))
        for column in self.columns:
            column._walk(key, params)
        for array in self.arrays:
            array._walk(key, params)
        for row in self.rows:
            for value in row:
                value._walk(key, params)


class InSubquery(Expr):
    """``operand [NOT] IN (SELECT ...)``."""

    __slots__ = ("negate", "operand", "select")
    visit_name = "in_subquery"

    def __init__(self, operand: Expr, select: Any, negate: bool) -> None:
        self.operand = operand
        self.select = select
        self.negate = negate

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append("NOTINQ" if self.negate else "INQ")
        self.operand._walk(key, params)
        self.select._walk(key, params)


class ScalarSubquery(Expr):
    """``(SELECT ...)`` used as a value."""

    __slots__ = ("select",)
    visit_name = "scalar_subquery"

    def __init__(self, select: Any) -> None:
        self.select = select

    @property
    def type(self) -> ColumnType | None:
        columns = self.select.columns
        return columns[0].type if len(columns) == 1 and isinstance(columns[0], Expr) else None

    def _walk(self, key: Key, params: Params) -> None:
        key.append("SUBQ")
        self.select._walk(key, params)


class Exists(Expr[bool]):
    """``[NOT] EXISTS (SELECT ...)``."""

    __slots__ = ("negate", "select")
    visit_name = "exists"

    def __init__(self, select: Any, negate: bool) -> None:
        self.select = select
        self.negate = negate

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append("NOTEXISTS" if self.negate else "EXISTS")
        self.select._walk(key, params)


class Like(Expr):
    """``operand [NOT] LIKE pattern [ESCAPE e]``; ``ilike`` is case-insensitive."""

    __slots__ = ("case_insensitive", "escape", "negate", "operand", "pattern")
    visit_name = "like"

    def __init__(
        self,
        operand: Expr,
        pattern: Expr,
        negate: bool,
        case_insensitive: bool,
        escape: str | None,
    ) -> None:
        if escape is not None and len(escape) != 1:
            raise ConfigurationError("LIKE escape must be a single character")
        self.operand = operand
        self.pattern = pattern
        self.negate = negate
        self.case_insensitive = case_insensitive
        self.escape = escape

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("LIKE", self.negate, self.case_insensitive, self.escape))
        self.operand._walk(key, params)
        self.pattern._walk(key, params)


class Between(Expr):
    """``operand BETWEEN low AND high``."""

    __slots__ = ("high", "low", "operand")
    visit_name = "between"

    def __init__(self, operand: Expr, low: Expr, high: Expr) -> None:
        self.operand = operand
        self.low = low
        self.high = high

    @property
    def type(self) -> ColumnType:
        return _BOOL

    def _walk(self, key: Key, params: Params) -> None:
        key.append("BETWEEN")
        self.operand._walk(key, params)
        self.low._walk(key, params)
        self.high._walk(key, params)


class Func(Expr[T_co]):
    """A SQL function call; ``name`` is portable and mapped by the dialect.

    ``aggregate`` marks aggregates (they make a select an aggregate query);
    ``distinct`` renders ``f(DISTINCT arg)``; ``args == ()`` with
    ``name == "count"`` is ``COUNT(*)``.
    """

    __slots__ = ("_type", "aggregate", "args", "distinct", "name")
    visit_name = "func"

    def __init__(
        self,
        name: str,
        args: tuple[Expr, ...],
        type_: ColumnType | None,
        aggregate: bool = False,
        distinct: bool = False,
    ) -> None:
        self.name = name
        self.args = args
        self._type = type_
        self.aggregate = aggregate
        self.distinct = distinct

    @property
    def type(self) -> ColumnType | None:
        return self._type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("F", self.name, len(self.args), self.distinct))
        for arg in self.args:
            arg._walk(key, params)

    def over(
        self,
        partition_by: Any = None,
        order_by: Any = None,
        rows: tuple[int | None, int | None] | None = None,
        range: tuple[int | None, int | None] | None = None,
    ) -> Window[T_co]:
        """This aggregate or window function as a window: ``f(...) OVER (...)``.

        ``partition_by``: an expression or a list; ``order_by``: items as
        ``Select.order_by`` takes them; a frame as ``rows=(start, end)`` or
        ``range=(start, end)``, each bound ``None`` (UNBOUNDED), ``0`` (CURRENT ROW),
        ``-n`` (n PRECEDING) or ``n`` (n FOLLOWING): ``rows=(-2, 0)`` is the row and
        the two before it. Typed like the function (``func.sum(x).over()`` is the sum's type).
        """
        from .windows import make_window

        return make_window(self, partition_by, order_by, rows, range)


class Case(Expr[T_co]):
    """``CASE WHEN c1 THEN v1 ... ELSE e END``."""

    __slots__ = ("_type", "else_", "whens")
    visit_name = "case"

    def __init__(self, whens: tuple[tuple[Expr, Expr], ...], else_: Expr | None) -> None:
        self.whens = whens
        self.else_ = else_
        types = [v.type for _, v in whens] + ([else_.type] if else_ is not None else [])
        self._type = next((t for t in types if t is not None), None)

    @property
    def type(self) -> ColumnType | None:
        return self._type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("CASE", len(self.whens), self.else_ is not None))
        for cond, value in self.whens:
            cond._walk(key, params)
            value._walk(key, params)
        if self.else_ is not None:
            self.else_._walk(key, params)


class Label(Expr[T_co]):
    """``expr AS name`` in a select list; its name elsewhere in ORDER BY."""

    __slots__ = ("expr", "name")
    visit_name = "label"

    def __init__(self, expr: Expr[T_co], name: str) -> None:
        self.expr = expr
        self.name = check_identifier(name, "label")

    @property
    def type(self) -> ColumnType | None:
        return self.expr.type

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("L", self.name))
        self.expr._walk(key, params)


class Ordering:
    """An ORDER BY item: expression, direction, optional NULLS FIRST/LAST."""

    __slots__ = ("desc", "expr", "nulls")

    def __init__(self, expr: Expr, desc: bool, nulls: str | None) -> None:
        if nulls not in (None, "first", "last"):
            raise ConfigurationError('nulls must be "first", "last" or None')
        self.expr = expr
        self.desc = desc
        self.nulls = nulls

    def _walk(self, key: Key, params: Params) -> None:
        key.append(("O", self.desc, self.nulls))
        self.expr._walk(key, params)


def _agg_type(name: str, arg: Expr | None) -> ColumnType | None:
    if name == "count":
        return _INT
    t = arg.type if arg is not None else None
    if name == "avg":
        return _DECIMAL if t is not None and t.kind is Kind.DECIMAL else _FLOAT
    if name == "sum" and t is not None and t.kind is Kind.BOOL:
        return _INT
    return t.with_nullable(True) if t is not None else None


class _Functions:
    """The ``ormer.func`` namespace of portable SQL functions and aggregates.

    For type checkers each function yields what it returns at run time:
    ``func.count()`` is a ``Func[int]``, ``func.sum(User.age)`` a ``Func[int | None]``
    (NULL over no rows). Operands a type checker cannot read fall back to ``Func[Any]``.
    """

    def count(self, expr: Any = None, *, filter: Any = None) -> Func[int]:
        """``COUNT(*)`` with no argument (rows), else ``COUNT(expr)`` (non-NULL values).

        ``filter=cond`` counts only the rows where ``cond`` holds: ``FILTER (WHERE
        cond)``, or ``COUNT(CASE WHEN cond THEN ... END)`` where the backend lacks FILTER.
        Every aggregate takes ``filter=``.
        """
        args = () if expr is None else (as_expr(expr),)
        return _filtered(Func("count", args, _INT, aggregate=True), filter)

    def count_distinct(self, expr: Any, *, filter: Any = None) -> Func[int]:
        """``COUNT(DISTINCT expr)``."""
        return _filtered(
            Func("count", (as_expr(expr),), _INT, aggregate=True, distinct=True), filter
        )

    def _aggregate(self, name: str, expr: Any, filter: Any) -> Func:
        arg = as_expr(expr)
        return _filtered(Func(name, (arg,), _agg_type(name, arg), aggregate=True), filter)

    @overload
    def sum(
        self, expr: Expr[bool | None] | bool | None, *, filter: Any = None
    ) -> Func[int | None]: ...
    @overload
    def sum(self, expr: ExprOrValue[N], *, filter: Any = None) -> Func[N | None]: ...
    @overload
    def sum(self, expr: Any, *, filter: Any = None) -> Func[Any]: ...

    def sum(self, expr: Any, *, filter: Any = None) -> Func[Any]:
        """``SUM(expr)``: keeps the operand's type (Decimal stays Decimal)."""
        return self._aggregate("sum", expr, filter)

    @overload
    def avg(
        self, expr: Expr[decimal.Decimal | None] | decimal.Decimal | None, *, filter: Any = None
    ) -> Func[decimal.Decimal | None]: ...
    @overload
    def avg(self, expr: Any, *, filter: Any = None) -> Func[float | None]: ...

    def avg(self, expr: Any, *, filter: Any = None) -> Func[Any]:
        """``AVG(expr)``: Decimal for Decimal operands, float otherwise."""
        return self._aggregate("avg", expr, filter)

    @overload
    def min(self, expr: ExprOrValue[V], *, filter: Any = None) -> Func[V | None]: ...
    @overload
    def min(self, expr: Any, *, filter: Any = None) -> Func[Any]: ...

    def min(self, expr: Any, *, filter: Any = None) -> Func[Any]:
        """``MIN(expr)``."""
        return self._aggregate("min", expr, filter)

    @overload
    def max(self, expr: ExprOrValue[V], *, filter: Any = None) -> Func[V | None]: ...
    @overload
    def max(self, expr: Any, *, filter: Any = None) -> Func[Any]: ...

    def max(self, expr: Any, *, filter: Any = None) -> Func[Any]:
        """``MAX(expr)``."""
        return self._aggregate("max", expr, filter)

    @overload
    def lower(self, expr: Expr[str] | str) -> Func[str]: ...
    @overload
    def lower(self, expr: Any) -> Func[str | None]: ...

    def lower(self, expr: Any) -> Func[Any]:
        """``LOWER(expr)``."""
        return Func("lower", (as_expr(expr),), _STR)

    @overload
    def upper(self, expr: Expr[str] | str) -> Func[str]: ...
    @overload
    def upper(self, expr: Any) -> Func[str | None]: ...

    def upper(self, expr: Any) -> Func[Any]:
        """``UPPER(expr)``."""
        return Func("upper", (as_expr(expr),), _STR)

    @overload
    def length(self, expr: Expr[str] | str) -> Func[int]: ...
    @overload
    def length(self, expr: Any) -> Func[int | None]: ...

    def length(self, expr: Any) -> Func[Any]:
        """Length in characters."""
        return Func("length", (as_expr(expr),), _INT)

    @overload
    def abs(self, expr: ExprOrValue[N]) -> Func[N]: ...
    @overload
    def abs(self, expr: Any) -> Func[Any]: ...

    def abs(self, expr: Any) -> Func[Any]:
        """``ABS(expr)``."""
        arg = as_expr(expr)
        return Func("abs", (arg,), arg.type)

    @overload
    def coalesce(
        self, a: Expr[V | None] | V | None, b: ExprOrValue[V], /, *rest: Any
    ) -> Func[V]: ...
    @overload
    def coalesce(self, a: ExprOrValue[V], /) -> Func[V]: ...
    @overload
    def coalesce(self, *exprs: Any) -> Func[Any]: ...

    def coalesce(self, *exprs: Any) -> Func[Any]:
        """``COALESCE(a, b, ...)``: the first non-NULL argument.

        Type checkers read it as ``a``'s type, without None when ``b`` is not nullable.
        """
        if not exprs:
            raise ConfigurationError("coalesce() needs at least one argument")
        first = as_expr(exprs[0])
        args = (first, *tuple(as_expr(e, first.type, first) for e in exprs[1:]))
        return Func("coalesce", args, next((a.type for a in args if a.type), None))

    @overload
    def case(self, *whens: tuple[Any, ExprOrValue[V]], else_: ExprOrValue[V]) -> Case[V]: ...
    @overload
    def case(self, *whens: tuple[Any, ExprOrValue[V]], else_: None = None) -> Case[V | None]: ...
    @overload
    def case(self, *whens: tuple[Any, Any], else_: Any = None) -> Case[Any]: ...

    def case(self, *whens: tuple[Any, Any], else_: Any = None) -> Case[Any]:
        """``CASE WHEN cond THEN value ... ELSE else_ END`` (NULL where none holds, without
        ``else_``)."""
        if not whens:
            raise ConfigurationError("case() needs at least one (condition, value) pair")
        pairs = tuple((as_condition(c, "case()"), as_expr(v)) for c, v in whens)
        first = pairs[0][1]
        return Case(pairs, None if else_ is None else as_expr(else_, first.type, first))

    # -- window functions (need .over(...)) ----------------------------------------------
    def row_number(self) -> Func[int]:
        """``ROW_NUMBER()``: 1, 2, 3... in the window's order (use with ``.over(...)``)."""
        return _window_func("row_number", (), _INT)

    def rank(self) -> Func[int]:
        """``RANK()``: ties share a rank, the next rank skips (1, 1, 3)."""
        return _window_func("rank", (), _INT)

    def dense_rank(self) -> Func[int]:
        """``DENSE_RANK()``: ties share a rank, no gaps (1, 1, 2)."""
        return _window_func("dense_rank", (), _INT)

    def ntile(self, n: int) -> Func[int]:
        """``NTILE(n)``: the bucket (1..n) of each row, buckets as equal as possible."""
        if type(n) is not int or n < 1:
            raise ConfigurationError(f"ntile() takes a positive int, got {n!r}")
        return _window_func("ntile", (), _INT, (n,))

    @overload
    def lag(self, expr: ExprOrValue[V], offset: int = 1, default: Any = None) -> Func[V | None]: ...
    @overload
    def lag(self, expr: Any, offset: int = 1, default: Any = None) -> Func[Any]: ...

    def lag(self, expr: Any, offset: int = 1, default: Any = None) -> Func[Any]:
        """``LAG(expr, offset, default)``: the value ``offset`` rows before (``default``,
        else NULL, where there is none)."""
        return _offset_func("lag", expr, offset, default)

    @overload
    def lead(
        self, expr: ExprOrValue[V], offset: int = 1, default: Any = None
    ) -> Func[V | None]: ...
    @overload
    def lead(self, expr: Any, offset: int = 1, default: Any = None) -> Func[Any]: ...

    def lead(self, expr: Any, offset: int = 1, default: Any = None) -> Func[Any]:
        """``LEAD(expr, offset, default)``: the value ``offset`` rows after."""
        return _offset_func("lead", expr, offset, default)

    @overload
    def first_value(self, expr: ExprOrValue[V]) -> Func[V | None]: ...
    @overload
    def first_value(self, expr: Any) -> Func[Any]: ...

    def first_value(self, expr: Any) -> Func[Any]:
        """``FIRST_VALUE(expr)``: the value at the first row of the frame."""
        arg = as_expr(expr)
        return _window_func("first_value", (arg,), _nullable(arg.type))

    @overload
    def last_value(self, expr: ExprOrValue[V]) -> Func[V | None]: ...
    @overload
    def last_value(self, expr: Any) -> Func[Any]: ...

    def last_value(self, expr: Any) -> Func[Any]:
        """``LAST_VALUE(expr)``: the value at the last row of the frame (the default frame
        ends at the current row: give ``rows=(None, None)`` for the partition's last)."""
        arg = as_expr(expr)
        return _window_func("last_value", (arg,), _nullable(arg.type))


def _nullable(t: ColumnType | None) -> ColumnType | None:
    return t.with_nullable(True) if t is not None else None


def _window_func(
    name: str,
    args: tuple[Expr, ...],
    type_: ColumnType | None,
    literals: tuple[int, ...] = (),
    default: Expr | None = None,
) -> Func[Any]:
    from .windows import WindowFunc

    return WindowFunc(name, args, type_, literals, default)


def _offset_func(name: str, expr: Any, offset: int, default: Any) -> Func[Any]:
    if type(offset) is not int or offset < 0:
        raise ConfigurationError(f"{name}() offset must be a non-negative int, got {offset!r}")
    arg = as_expr(expr)
    dflt = None if default is None else as_expr(default, arg.type, arg)
    return _window_func(name, (arg,), _nullable(arg.type), (offset,), dflt)


def _filtered(node: Func[T], condition: Any) -> Func[T]:
    if condition is None:
        return node
    from .windows import with_filter

    return with_filter(node, condition)


func = _Functions()


def exists(query: Any) -> Exists:
    """``EXISTS (subquery)``; a subquery naming an outer model correlates with it."""
    stmt = statement_of(query)
    if stmt is None:
        raise ConfigurationError("exists() takes a select query")
    return Exists(stmt, negate=False)


def not_exists(query: Any) -> Exists:
    """``NOT EXISTS (subquery)``."""
    stmt = statement_of(query)
    if stmt is None:
        raise ConfigurationError("not_exists() takes a select query")
    return Exists(stmt, negate=True)


#: node classes whose value is always a truth value
_CONDITION_NODES: frozenset[type] = frozenset(
    {BoolOp, Not, IsNull, InList, InSubquery, Exists, Like, Between, Const}
)


def walk_all(nodes: Sequence[Any], key: Key, params: Params) -> None:
    """Walk several nodes in order (helper for statements)."""
    key.append(len(nodes))
    for node in nodes:
        node._walk(key, params)

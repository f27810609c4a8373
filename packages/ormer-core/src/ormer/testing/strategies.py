"""Hypothesis strategies for ormer: models, rows, filter trees and queries (docs/testing.md).

Everything is built through ormer's public API (``Model`` subclasses made at
run time, column operators, ``func``), so a generated case tests what users
write. Strategies are *typed by construction*: a column is only compared
with values, columns and expressions of its own kind, because SQLite's type
affinity (and implicit casts elsewhere) would otherwise hide or invent
differences.

The value domains mix a tiny domain (collisions, ties, NULLs happen often)
with the full range of each type (extremes, unicode). What is left out, and
why, is said next to each strategy; :class:`Limits` carries what depends on
the database under test.

Exclusions (each one a documented difference or limitation, never a silent skip):

* text: no NUL (refused by validation) and no lone surrogates (not encodable
  as UTF-8 on any backend); with ``Limits.code_point_text`` false (a
  database whose collation is not code-point order), text is lowercase ASCII.
* float: finite only (validation refuses NaN/inf). ``-0.0`` and subnormals are
  generated: ``-0.0 == 0.0`` in Python and in SQL, and SQLite stores ``-0.0``
  as ``0``, so the properties compare with ``==``, never by bit pattern.
* Decimal: at the column's declared precision, at most
  ``Limits.max_decimal_digits`` digits and ``Limits.max_decimal_places``
  places (MySQL's DECIMAL scale stops at 30).
* aware datetimes: 0001-01-02 .. 9999-12-30 in local time, so that the UTC
  instant every backend stores is a valid ``datetime`` too.
* JSON: strings without NUL (PostgreSQL's ``jsonb`` refuses ``\\u0000``) and
  floats that print exactly (``jsonb`` stores numbers as NUMERIC and prints
  ``1e300`` as a 301-digit integer, see docs/postgresql.md); JSON is never
  compared or ordered (its comparison is backend-specific), only stored.
* arithmetic: ``int`` and ``float`` only (SQLite computes ``Decimal`` in binary
  floating point); the oracle rejects inputs that overflow, divide by zero or
  underflow, whose outcome is backend-specific (docs/queries.md).
* ``lower``/``upper``/``ilike`` fold ASCII letters only on SQLite: the oracle
  rejects non-ASCII cased letters there (docs/sqlite.md).
"""

from __future__ import annotations

import datetime
import decimal
import enum
import itertools
import keyword
import os
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from ..dialect import Dialect
from ..expr import Column, Expr, Ordering, func
from ..model import Model, TableInfo, primary, table_of
from ..model import field as model_field
from ..model import index as model_index
from ..model import unique as model_unique
from ..types import INT64_MAX, INT64_MIN, ColumnType, Kind
from .oracle import describe

__all__ = [
    "AggregateCase",
    "BatchCase",
    "Color",
    "ColumnSpec",
    "Level",
    "Limits",
    "ModelSpec",
    "QueryCase",
    "RoundTripCase",
    "UpsertCase",
    "aggregate_cases",
    "batch_cases",
    "build_model",
    "column_specs",
    "filters",
    "model_specs",
    "models",
    "orderings",
    "query_cases",
    "roundtrip_cases",
    "set_operation_cases",
    "rows",
    "upsert_cases",
    "value_exprs",
    "values",
]


# -- enums the generated models use ---------------------------------------------------
class Color(enum.Enum):
    """A str-valued enum (a text column): empty, mixed case and non-ASCII values."""

    RED = "red"
    GREEN = "green"
    BLUE = "Blue"
    EMPTY = ""
    SNOW = "❄"


class Level(enum.Enum):
    """An int-valued enum (an integer column), extremes included."""

    LOWEST = INT64_MIN
    MINUS = -1
    ZERO = 0
    ONE = 1
    HIGHEST = INT64_MAX


# -- what depends on the database under test --------------------------------------------
@dataclass(frozen=True)
class Limits:
    """What the generated cases may use on the database under test.

    ``max_decimal_digits``: the dialect's exact decimal precision;
    ``max_decimal_places``: the largest scale a DECIMAL may declare (MySQL: 30);
    ``code_point_text``: text compares and sorts by code point (SQLite's BINARY,
    MySQL's ``_bin`` collations ormer creates, PostgreSQL under ``C``/``C.UTF-8``);
    when false, generated text is lowercase ASCII, which every collation orders
    alike; ``like_default_escape``: the dialect's default LIKE escape character;
    ``exact_decimal_arithmetic``: sums of decimals are exact (a dialect whose
    exact precision ends within a double's 15-17 digits, SQLite, stores and adds
    them in binary floating point).
    """

    max_decimal_digits: int = 38
    max_decimal_places: int = 30
    code_point_text: bool = True
    like_default_escape: str | None = None
    exact_decimal_arithmetic: bool = True

    @classmethod
    def for_dialect(cls, dialect: Dialect, *, code_point_text: bool = True) -> Limits:
        return cls(
            max_decimal_digits=dialect.max_decimal_digits,
            max_decimal_places=min(30, dialect.max_decimal_digits),
            code_point_text=code_point_text,
            like_default_escape=dialect.like_default_escape,
            exact_decimal_arithmetic=dialect.max_decimal_digits > 17,
        )


# -- model specs -------------------------------------------------------------------------
#: every portable kind, with the annotation base type a column of it declares
KIND_TYPES: tuple[tuple[Kind, Any], ...] = (
    (Kind.INT, int),
    (Kind.STR, str),
    (Kind.FLOAT, float),
    (Kind.BOOL, bool),
    (Kind.BYTES, bytes),
    (Kind.DECIMAL, decimal.Decimal),
    (Kind.DATETIME, datetime.datetime),
    (Kind.DATE, datetime.date),
    (Kind.TIME, datetime.time),
    (Kind.UUID, uuid.UUID),
    (Kind.ENUM, Color),
    (Kind.ENUM, Level),
    (Kind.JSON, dict),
    (Kind.JSON, list),
)
ALL_KINDS = frozenset(k for k, _ in KIND_TYPES)
#: kinds whose values compare and sort the same way on every backend
ORDERABLE = frozenset(ALL_KINDS - {Kind.JSON})
#: SQL words as column names (always quoted by ormer)
SQL_WORDS = (
    "select",
    "from",
    "where",
    "order",
    "group",
    "key",
    "index",
    "table",
    "desc",
    "limit",
    "values",
    "user",
    "like",
    "in",
    "not",
    "null",
    "case",
    "end",
    "check",
    "default",
    "column",
    "range",
    "offset",
    "date",
    "time",
    "text",
    "unique",
)
_RUN = secrets.token_hex(3)
_tables = itertools.count(1)


@dataclass(frozen=True)
class ColumnSpec:
    """One generated field: attribute, column name, type and flags."""

    attr: str
    column: str
    py_type: Any
    nullable: bool = False
    unique: bool | str = False  # True: its own constraint; a str: a group name
    index: bool | str = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    timezone: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """A generated model: its columns after the integer primary key ``id``."""

    columns: tuple[ColumnSpec, ...]
    auto: bool = False


def _spec_source(c: ColumnSpec) -> str:
    name = getattr(c.py_type, "__qualname__", repr(c.py_type))
    if c.py_type in (datetime.datetime, datetime.date, datetime.time):
        name = f"datetime.{c.py_type.__name__}"
    elif c.py_type is decimal.Decimal:
        name = "decimal.Decimal"
    elif c.py_type is uuid.UUID:
        name = "uuid.UUID"
    annotation = f"{name} | None" if c.nullable else name
    options = []
    if c.max_length is not None:
        options.append(f"max_length={c.max_length}")
    if c.max_digits is not None:
        options.append(f"max_digits={c.max_digits}, decimal_places={c.decimal_places}")
    if c.timezone:
        options.append("timezone=True")
    if c.column != c.attr:
        options.append(f"column={c.column!r}")
    if c.nullable:
        options.append("default=None")
    if c.unique:
        call = "unique"
        options[:0] = [] if c.unique is True else [f"group={c.unique!r}"]
    elif c.index:
        call = "index"
        options[:0] = [] if c.index is True else [f"group={c.index!r}"]
    elif options:
        call = "field"
    else:
        return f"    {c.attr}: {annotation}"
    return f"    {c.attr}: {annotation} = {call}({', '.join(options)})"


def model_source(model: type[Model]) -> str:
    """Python source declaring ``model`` (for failure reports and regression tests)."""
    spec: ModelSpec = getattr(model, "__ormer_spec__")  # noqa: B009
    info = table_of(model)
    lines = [f"class {model.__name__}(Model, table={info.name!r}):"]
    lines.append("    id: int = primary(auto=True)" if spec.auto else "    id: int = primary()")
    lines.extend(_spec_source(c) for c in spec.columns)
    return "\n".join(lines)


def build_model(spec: ModelSpec, name: str | None = None) -> type[Model]:
    """Declare a model class for ``spec`` with a fresh, unique table name."""
    n = next(_tables)
    table = name or f"h{_RUN}_{os.getpid() % 1000}_{n}"
    annotations: dict[str, Any] = {"id": int}
    namespace: dict[str, Any] = {"id": primary(auto=True) if spec.auto else primary()}
    for c in spec.columns:
        annotations[c.attr] = c.py_type | None if c.nullable else c.py_type
        options: dict[str, Any] = {}
        if c.max_length is not None:
            options["max_length"] = c.max_length
        if c.max_digits is not None:
            options["max_digits"] = c.max_digits
            options["decimal_places"] = c.decimal_places
        if c.timezone:
            options["timezone"] = True
        if c.column != c.attr:
            options["column"] = c.column
        if c.nullable:
            options["default"] = None
        if c.unique:
            group = None if c.unique is True else c.unique
            namespace[c.attr] = model_unique(group=group, **options)
        elif c.index:
            group = None if c.index is True else c.index
            namespace[c.attr] = model_index(group=group, **options)
        else:
            namespace[c.attr] = model_field(**options)
    namespace["__annotations__"] = annotations
    namespace["__module__"] = __name__
    model: type[Model] = type(f"H{n}", (Model,), namespace, table=table)
    model.__ormer_spec__ = spec  # type: ignore[attr-defined]
    return model


def _attr_names() -> st.SearchStrategy[str]:
    return st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
        lambda s: not keyword.iskeyword(s) and not hasattr(Model, s) and s != "id"
    )


@st.composite
def column_specs(
    draw: st.DrawFn,
    limits: Limits,
    attr: str,
    column: str,
    kinds: frozenset[Kind] = ALL_KINDS,
    group: Callable[[], str | None] | None = None,
) -> ColumnSpec:
    """A column of one of ``kinds``: nullable or not, unique/index flags, precision."""
    # int, float and str twice as often: they carry arithmetic, functions and LIKE
    weighted = [kt for kt in KIND_TYPES + KIND_TYPES[:3] if kt[0] in kinds]
    kind, py_type = draw(st.sampled_from(weighted))
    nullable = draw(st.booleans())
    max_length = max_digits = places = None
    timezone = False
    if kind in (Kind.STR, Kind.BYTES):
        max_length = draw(st.none() | st.integers(1, 24))
    elif kind is Kind.DECIMAL:
        top = limits.max_decimal_digits
        max_digits = draw(st.integers(1, min(top, 30)) | st.just(top))
        places = draw(st.integers(0, min(max_digits, limits.max_decimal_places)))
    elif kind is Kind.DATETIME:
        timezone = draw(st.booleans())
    # JSON is neither unique nor indexed: MySQL cannot index JSON/LONGTEXT.
    flag: bool | str = False
    index: bool | str = False
    if kind is not Kind.JSON:
        choice = draw(st.sampled_from(["", "", "", "unique", "index", "ugroup", "igroup"]))
        if choice == "unique":
            flag = True
        elif choice == "index":
            index = True
        elif choice in ("ugroup", "igroup") and group is not None:
            name = group()
            if name is not None:
                if choice == "ugroup":
                    flag = "u" + name
                else:
                    index = "i" + name
    return ColumnSpec(
        attr, column, py_type, nullable, flag, index, max_length, max_digits, places, timezone
    )


@st.composite
def model_specs(
    draw: st.DrawFn,
    limits: Limits,
    min_columns: int = 1,
    max_columns: int = 8,
    kinds: frozenset[Kind] = ALL_KINDS,
    auto: bool = False,
) -> ModelSpec:
    """1-8 columns of the given kinds after an ``id`` primary key.

    Names are fresh identifiers, some stored under SQL keywords (``column=``).
    Unique/index groups have at most two members: MySQL limits a key to 3072
    bytes, and two indexed ``VARCHAR(255)`` in utf8mb4 already take 2040.
    """
    attrs = draw(
        st.lists(
            _attr_names(),
            min_size=min_columns,
            max_size=max_columns,
            unique_by=str.lower,
        )
    )
    used = {a.lower() for a in attrs} | {"id"}
    members: dict[str, int] = {}

    def group() -> str | None:
        for name, size in members.items():
            if size < 2:
                members[name] += 1
                return name
        if len(members) >= 2:
            return None
        name = f"g{len(members)}"
        members[name] = 1
        return name

    columns = []
    for attr in attrs:
        column = attr
        if draw(st.integers(0, 4)) == 0:
            word = draw(st.sampled_from(SQL_WORDS))
            if word not in used:
                used.add(word)
                column = word
        columns.append(draw(column_specs(limits, attr, column, kinds, group)))
    # a group of one member is just a unique/index flag with a name: keep it (it is valid)
    return ModelSpec(tuple(columns), auto)


def models(
    limits: Limits,
    min_columns: int = 1,
    max_columns: int = 8,
    kinds: frozenset[Kind] = ALL_KINDS,
    auto: bool = False,
) -> st.SearchStrategy[type[Model]]:
    """Model classes (see :func:`model_specs`), each with a fresh table name."""
    return model_specs(limits, min_columns, max_columns, kinds, auto).map(build_model)


# -- values ------------------------------------------------------------------------------
_TEXT_SAMPLES = (
    "",
    " ",
    "a",
    "a ",
    " a",
    "A",
    "ab",
    "abc",
    "b",
    "é",  # precomposed
    "e\u0301",  # e + combining acute accent
    "👍",
    "👩‍👩‍👧",  # a ZWJ sequence: five code points
    "שלום",  # right-to-left
    "\u202eabc",  # right-to-left override
    "%",
    "_",
    "\\",
    "'",
    '"',
    "a\nb",
    "\t",
    "ß",
    "İ",
    "\U0010ffff",
)
_SMALL_INTS = st.integers(-3, 3)
_EXTREME_INTS = st.sampled_from(
    [INT64_MIN, INT64_MIN + 1, INT64_MAX - 1, INT64_MAX, 2**31, -(2**31), 2**53 + 1]
)
_FLOAT_SAMPLES = st.sampled_from(
    [
        0.0,
        -0.0,
        0.5,
        -1.5,
        0.1,
        1e308,
        -1.7976931348623157e308,
        5e-324,  # the smallest subnormal
        2.2250738585072014e-308,  # the smallest normal
        2.0**53,
        1e16,
    ]
)
_UTC_OFFSETS = st.just(datetime.UTC) | st.integers(-1439, 1439).map(
    lambda m: datetime.timezone(datetime.timedelta(minutes=m))
)


def _text(limits: Limits, max_size: int) -> st.SearchStrategy[str]:
    small = st.text(alphabet="abc", max_size=min(3, max_size))
    if not limits.code_point_text:
        return small | st.text(alphabet="abcdefghij", max_size=max_size)
    samples = st.sampled_from([s for s in _TEXT_SAMPLES if len(s) <= max_size])
    full = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=max_size)
    return st.one_of(small, samples, full)


def _json(limits: Limits) -> st.SearchStrategy[Any]:
    # Floats: below 1e16, or those whose shortest repr is their exact value: jsonb
    # keeps a number as NUMERIC and prints 6.415957051027319e16 as the integer
    # 64159570510273190, which is not that float (docs/postgresql.md).
    floats = st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda f: abs(f) < 1e16 or decimal.Decimal(repr(f)) == decimal.Decimal(f)
    )
    strings = _text(limits, 8)
    scalars = st.none() | st.booleans() | st.integers(INT64_MIN, INT64_MAX) | floats | strings
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
        max_leaves=6,
    )


def _decimals(ct: ColumnType) -> st.SearchStrategy[decimal.Decimal]:
    assert ct.max_digits is not None
    assert ct.decimal_places is not None
    places = ct.decimal_places
    top = 10**ct.max_digits - 1
    small = st.integers(-3, 3).map(lambda n: max(-top, min(top, n * 10**places // 2)))
    raw = st.one_of(small, st.integers(-top, top), st.sampled_from([top, -top, 1, -1, 0]))
    exact = decimal.Context(prec=ct.max_digits + 2)
    values = raw.map(lambda n: decimal.Decimal(n).scaleb(-places, exact))
    # Another representation of the same value: Decimal("1.50") vs Decimal("1.5"), Decimal("1E+2").
    return st.one_of(values, values.map(lambda d: d.normalize(exact)))


def values(ct: ColumnType, limits: Limits) -> st.SearchStrategy[Any]:
    """Non-NULL values a column of type ``ct`` accepts (see the module docstring)."""
    kind = ct.kind
    strategy: st.SearchStrategy[Any]
    if kind is Kind.INT:
        strategy = st.one_of(_SMALL_INTS, st.integers(INT64_MIN, INT64_MAX), _EXTREME_INTS)
    elif kind is Kind.STR:
        strategy = _text(limits, ct.max_length or 16)
    elif kind is Kind.FLOAT:
        strategy = st.one_of(
            st.sampled_from([-1.5, 0.0, 0.5, 1.0, 2.0]),
            _FLOAT_SAMPLES,
            st.floats(allow_nan=False, allow_infinity=False),
        )
    elif kind is Kind.BOOL:
        strategy = st.booleans()
    elif kind is Kind.BYTES:
        size = ct.max_length or 16
        strategy = st.sampled_from([b"", b"\x00", b"a", b"\xff", b"a\x00"]).filter(
            lambda b: len(b) <= size
        ) | st.binary(max_size=size)
    elif kind is Kind.DECIMAL:
        strategy = _decimals(ct)
    elif kind is Kind.DATETIME:
        if ct.timezone:
            strategy = st.datetimes(
                min_value=datetime.datetime(1, 1, 2),
                max_value=datetime.datetime(9999, 12, 30),
                timezones=_UTC_OFFSETS,
            ) | st.sampled_from(
                [
                    datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
                    datetime.datetime(
                        2000, 1, 1, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=9))
                    ),  # the same instant
                ]
            )
        else:
            strategy = (
                st.sampled_from(
                    [datetime.datetime(2000, 1, 1), datetime.datetime(2000, 1, 1, 0, 0, 0, 1)]
                )
                | st.datetimes()
            )
    elif kind is Kind.DATE:
        strategy = st.sampled_from([datetime.date(2000, 1, 1), datetime.date(2000, 1, 2)]) | (
            st.dates()
        )
    elif kind is Kind.TIME:
        strategy = st.sampled_from([datetime.time(0), datetime.time(12, 0, 0, 1)]) | st.times()
    elif kind is Kind.UUID:
        strategy = st.sampled_from([uuid.UUID(int=0), uuid.UUID(int=1)]) | st.uuids()
    elif kind is Kind.ENUM:
        members: list[enum.Enum] = list(ct.py_type)  # type: ignore[call-overload]
        strategy = st.sampled_from(members)
    elif kind is Kind.JSON:
        inner = _json(limits)
        if ct.py_type is dict:
            strategy = st.dictionaries(_text(limits, 8), inner, max_size=4)
        else:
            strategy = st.lists(inner, max_size=4)
    else:  # pragma: no cover - every Kind is handled above
        raise AssertionError(kind)
    return strategy


def _cell(ct: ColumnType, limits: Limits) -> st.SearchStrategy[Any]:
    base = values(ct, limits)
    return st.none() | base if ct.nullable else base


class _Distinct:
    """A key that equals nothing else (a NULL in a unique column)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


def _unique_key(attrs: Sequence[str]) -> Callable[[dict[str, Any]], Any]:
    def key(row: dict[str, Any]) -> Any:
        cells = [row[a] for a in attrs]
        if any(c is None for c in cells):
            return _Distinct()
        return tuple(c.value if isinstance(c, enum.Enum) else c for c in cells)

    return key


def rows(
    model: type[Model], limits: Limits, min_size: int = 0, max_size: int = 12
) -> st.SearchStrategy[list[Model]]:
    """Instances of ``model`` with ids 1..n (unless the key is automatic), honouring
    its unique constraints (NULLs never collide, as on every backend)."""
    info = table_of(model)
    cols = [f for f in info.fields if not f.primary]
    cells = st.fixed_dictionaries({f.attr: _cell(f.type, limits) for f in cols})
    keys = tuple(_unique_key([f.attr for f in group]) for _, group in info.unique_groups)
    dicts = st.lists(cells, min_size=min_size, max_size=max_size, unique_by=keys or None)

    def build(items: list[dict[str, Any]]) -> list[Model]:
        if info.auto is not None:
            return [model(**d) for d in items]
        return [model(id=i, **d) for i, d in enumerate(items, 1)]

    return dicts.map(build)


# -- expressions -------------------------------------------------------------------------
def _columns(info: TableInfo, kinds: frozenset[Kind]) -> list[Column[Any]]:
    return [c for c in info.columns.values() if c.type.kind in kinds]


def _same_kind(a: ColumnType, b: ColumnType) -> bool:
    """Columns that may be compared with each other."""
    if a.kind is not b.kind:
        return False
    if a.kind is Kind.ENUM:
        return a.py_type is b.py_type
    if a.kind is Kind.DATETIME:
        return a.timezone == b.timezone
    return True


_NUMERIC_LITERALS: dict[Kind, st.SearchStrategy[Any]] = {
    Kind.INT: st.one_of(_SMALL_INTS, st.integers(-100, 100), _EXTREME_INTS),
    Kind.FLOAT: st.one_of(st.sampled_from([-1.5, 0.5, 2.0, 3.0]), _FLOAT_SAMPLES),
}


@st.composite
def value_exprs(
    draw: st.DrawFn,
    model: type[Model],
    limits: Limits,
    depth: int = 2,
    kinds: frozenset[Kind] = ORDERABLE,
) -> tuple[Expr, ColumnType]:
    """A value expression over ``model``'s columns of ``kinds`` (the model must have
    one) and its type: a column, arithmetic (``int``/``float``), ``abs``,
    ``length``, ``lower``/``upper``, ``coalesce``."""
    info = table_of(model)
    candidates = _columns(info, kinds)
    # the primary key only when nothing else fits: it is never NULL and rarely interesting
    column = draw(st.sampled_from([c for c in candidates if c.name != "id"] or candidates))
    ct = column.type
    if depth <= 0 or draw(st.integers(0, 2)) == 0:
        return column, ct
    kind = ct.kind
    if kind in (Kind.INT, Kind.FLOAT):
        lit = _NUMERIC_LITERALS[kind]
        others = _columns(info, frozenset({kind}))
        inner, inner_t = column, ct
        if depth > 1 and draw(st.booleans()):
            inner, inner_t = draw(value_exprs(model, limits, depth - 1, frozenset({kind})))
        op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%", "neg", "abs", "col"]))
        if kind is Kind.FLOAT and op == "%":
            op = "+"  # SQLite's % truncates floats to integers; PostgreSQL has no float %
        if op == "neg":
            return -inner, inner_t
        if op == "abs":
            return func.abs(inner), inner_t
        other: Any = draw(st.sampled_from(others)) if op == "col" else draw(lit)
        op = "-" if op == "col" else op
        if draw(st.booleans()) and op in ("+", "-", "*"):
            result = {"+": other + inner, "-": other - inner, "*": other * inner}[op]
        else:
            result = {
                "+": inner + other,
                "-": inner - other,
                "*": inner * other,
                "/": inner / other,
                "//": inner // other,
                "%": inner % other,
            }[op]
        out_t = result.type
        assert out_t is not None
        return result, out_t.with_nullable(True)
    if kind is Kind.STR:
        choice = draw(st.sampled_from(["length", "lower", "upper", "coalesce"]))
        if choice == "length":
            return func.length(column), ColumnType(Kind.INT, int, nullable=ct.nullable)
        if choice == "coalesce":
            return func.coalesce(column, draw(values(ct, limits))), ct.with_nullable(False)
        fn = func.lower if choice == "lower" else func.upper
        return fn(column), ColumnType(Kind.STR, str, nullable=ct.nullable)
    if kind is Kind.DECIMAL and draw(st.booleans()):
        return func.abs(column), ct
    if ct.nullable:
        return func.coalesce(column, draw(values(ct, limits))), ct.with_nullable(False)
    return column, ct


def _literal(ct: ColumnType, limits: Limits) -> st.SearchStrategy[Any]:
    if ct.kind in (Kind.INT, Kind.FLOAT) and ct.max_digits is None:
        return _NUMERIC_LITERALS[ct.kind] | values(ct, limits)
    return values(ct, limits)


_ESCAPES = ("\\", "!", "^")


@st.composite
def _like(draw: st.DrawFn, column: Expr, limits: Limits) -> Expr:
    """``like``/``not_like``/``ilike`` with ``%``, ``_``, escaped wildcards and an
    optional ``escape=``. An escape character is only ever followed by ``%``,
    ``_`` or itself (the meaning of anything else differs between backends)."""
    escape = draw(st.sampled_from([None, None, *_ESCAPES]))
    active = escape if escape is not None else limits.like_default_escape
    letters = "abc" if not limits.code_point_text else "abcAé👍 "
    atoms = [st.sampled_from(list(letters)), st.just("%"), st.just("_")]
    if active is not None:
        atoms.append(st.sampled_from([active + "%", active + "_", active + active]))
    pieces = draw(st.lists(st.one_of(atoms), max_size=5))
    pattern = "".join(pieces)
    if active is None:
        # no escape applies: the escape candidates may appear as ordinary characters
        pattern += draw(st.sampled_from(["", "", "\\", "!"]))
    which = draw(st.sampled_from(["like", "like", "not_like", "ilike"]))
    method: Callable[..., Expr] = getattr(column, which)
    return method(pattern) if escape is None else method(pattern, escape=escape)


@st.composite
def _leaf(draw: st.DrawFn, model: type[Model], limits: Limits) -> Expr:
    info = table_of(model)
    choice = draw(
        st.sampled_from(
            ["cmp", "cmp", "cmp", "cols", "null", "in", "between", "like", "bool", "const"]
        )
    )
    if choice == "bool":
        flags = _columns(info, frozenset({Kind.BOOL}))
        if flags:
            flag: Expr = draw(st.sampled_from(flags))
            return flag
        choice = "cmp"
    if choice == "like":
        texts = _columns(info, frozenset({Kind.STR}))
        if texts:
            return draw(_like(draw(st.sampled_from(texts)), limits))
        choice = "cmp"
    col: Column[Any]
    if choice == "null":
        col = draw(st.sampled_from(list(info.columns.values())))
        which = draw(st.sampled_from(["is_null", "is_not_null", "eq", "ne"]))
        test: Expr
        if which == "eq":
            test = col == None  # noqa: E711 (compiles to IS NULL)
        elif which == "ne":
            test = col != None  # noqa: E711
        else:
            test = col.is_null() if which == "is_null" else col.is_not_null()
        return test
    if choice == "const":
        col = draw(st.sampled_from(list(info.columns.values())))
        const: Expr = col.in_([]) if draw(st.booleans()) else col.not_in([])
        return const
    if choice == "cols":
        orderable = _columns(info, ORDERABLE)
        pairs = [(a, b) for a in orderable for b in orderable if _same_kind(a.type, b.type)]
        if pairs:
            a, b = draw(st.sampled_from(pairs))
            op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            return _compare(a, op, b)
        choice = "cmp"
    expr, ct = draw(value_exprs(model, limits))
    if ct.kind is Kind.JSON:
        return expr.is_null() if draw(st.booleans()) else expr.is_not_null()
    lit = _literal(ct, limits)
    maybe = st.none() | lit
    if choice == "in":
        items = draw(st.lists(st.one_of(lit, lit, st.none()), max_size=4))
        return expr.in_(items) if draw(st.booleans()) else expr.not_in(items)
    if choice == "between":
        return expr.between(draw(maybe), draw(maybe))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    value = draw(lit) if draw(st.integers(0, 9)) else None  # `< None` is NULL, `== None` IS NULL
    if draw(st.booleans()):
        return _compare(expr, op, value)
    return _compare(value, op, expr)  # Python reflects it: `3 < col` is `col > 3`


def _compare(left: Any, op: str, right: Any) -> Expr:
    result: Expr
    if op == "==":
        result = left == right
    elif op == "!=":
        result = left != right
    elif op == "<":
        result = left < right
    elif op == "<=":
        result = left <= right
    elif op == ">":
        result = left > right
    else:
        result = left >= right
    return result


#: a filter tree node: 0 a leaf, 1-8 the compound forms of ``_draw_tree``
_NODE = st.integers(0, 8)


def _draw_tree(draw: st.DrawFn, model: type[Model], limits: Limits, depth: int) -> Expr:
    """One filter tree, drawn node by node.

    Drawn recursively instead of built as nested strategies: a model-specific
    strategy tree would be rebuilt (and introspected by hypothesis) for every
    example, which cost two thirds of the property tests' time. Node 0 is a
    leaf, so trees shrink towards single comparisons.
    """
    node = draw(_NODE) if depth > 0 else 0
    if node == 0:
        return draw(_leaf(model, limits))

    def sub() -> Expr:
        return _draw_tree(draw, model, limits, depth - 1)

    if node == 1:
        return sub() & sub()
    if node == 2:
        return sub() | sub()
    if node == 3:
        return ~sub()
    if node == 4:
        return sub().is_null()
    if node == 5:
        return sub().is_not_null()
    if node == 6:
        return sub() == sub()  # boolean equality: NULL if either side is
    if node == 7:
        return sub() != sub()
    a, b, c = sub(), sub(), sub()
    return func.case((a, b), else_=c)


@st.composite
def _tree(draw: st.DrawFn, model: type[Model], limits: Limits, depth: int) -> Expr:
    return _draw_tree(draw, model, limits, depth)


def filters(model: type[Model], limits: Limits, max_depth: int = 4) -> st.SearchStrategy[Expr]:
    """Boolean expression trees over ``model`` of depth at most ``max_depth``:
    comparisons (with columns, literals, NULL), ``& | ~``, ``in_``/``not_in`` (empty
    lists and NULL members included), ``like``/``not_like``/``ilike`` with escapes,
    ``between``, ``is_null``, arithmetic, boolean columns, CASE and boolean ``==``."""
    return _tree(model, limits, max_depth)


@st.composite
def orderings(draw: st.DrawFn, model: type[Model], limits: Limits) -> tuple[Ordering, ...]:
    """0-3 order keys (columns or expressions, asc/desc, ``nulls=``), then the
    primary key as the tiebreaker, so the order is total."""
    keys = []
    for _ in range(draw(st.integers(0, 3))):
        expr, _ct = draw(value_exprs(model, limits))
        if _ct.kind is Kind.JSON:
            continue
        desc = draw(st.booleans())
        nulls = draw(st.sampled_from([None, None, "first", "last"]))
        keys.append(expr.desc(nulls) if desc else expr.asc(nulls))
    pk = table_of(model).columns["id"]
    keys.append(pk.desc() if draw(st.booleans()) else pk.asc())
    return tuple(keys)


# -- whole cases -------------------------------------------------------------------------
def _short(values_: Sequence[Any]) -> str:
    return "[\n" + "".join(f"    {v!r},\n" for v in values_) + "]"


class _Case:
    """Cases print as readable Python (also in hypothesis' falsifying-example report)."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


@dataclass(repr=False)
class QueryCase(_Case):
    """A model, its rows, a filter, an order, a range, and select items (None: the model)."""

    model: type[Model]
    rows: list[Model]
    where: Expr
    order_by: tuple[Ordering, ...]
    start: int
    end: int
    items: tuple[Expr, ...] | None = None
    batch: int = 1

    def __repr__(self) -> str:
        items = None if self.items is None else [describe(i) for i in self.items]
        return (
            f"{model_source(self.model)}\n\nrows = {_short(self.rows)}\n"
            f"where = {describe(self.where)}\n"
            f"order_by = {[describe(o) for o in self.order_by]}\n"
            f"range = ({self.start}, {self.end}); items = {items}; batch = {self.batch}"
        )


@st.composite
def query_cases(draw: st.DrawFn, limits: Limits, max_depth: int = 4) -> QueryCase:
    """A full select case: model, rows, filter, order (total), range, projection."""
    model = draw(models(limits))
    data = draw(rows(model, limits))
    where = draw(filters(model, limits, max_depth))
    order = draw(orderings(model, limits))
    n = len(data)
    start = draw(st.integers(0, n + 1))
    end = draw(st.integers(start, n + 2))
    items: tuple[Expr, ...] | None = None
    if draw(st.booleans()):
        exprs = draw(
            st.lists(
                st.one_of(
                    value_exprs(model, limits).map(lambda e: e[0]),
                    filters(model, limits, 1),  # a predicate as a select item (0/1 on MySQL)
                ),
                min_size=1,
                max_size=3,
            )
        )
        items = tuple(exprs)
    batch = draw(st.integers(1, 5))
    return QueryCase(model, data, where, order, start, end, items, batch)


@dataclass(repr=False)
class AggregateCase(_Case):
    """``select(key, aggregates...).filter(where).group_by(key).having(having)``."""

    model: type[Model]
    rows: list[Model]
    where: Expr | None
    key: Column[Any] | None
    target: Column[Any]
    having: Expr | None
    distinct_column: Column[Any]

    def __repr__(self) -> str:
        return (
            f"{model_source(self.model)}\n\nrows = {_short(self.rows)}\n"
            f"where = {describe(self.where)}\nkey = {describe(self.key)}\n"
            f"target = {describe(self.target)}\nhaving = {describe(self.having)}\n"
            f"distinct = {describe(self.distinct_column)}"
        )


_AGG_KINDS = frozenset({Kind.INT, Kind.FLOAT, Kind.DECIMAL, Kind.BOOL})


@st.composite
def aggregate_cases(draw: st.DrawFn, limits: Limits) -> AggregateCase:
    """Group-by/having/aggregate cases: a numeric target column (count, sum, avg,
    min, max, count_distinct), an optional group key, WHERE and HAVING."""
    spec = draw(model_specs(limits, 1, 4, ORDERABLE))
    number = draw(column_specs(limits, "aggregated", "aggregated", _AGG_KINDS))
    model = build_model(ModelSpec((*spec.columns, number)))
    info = table_of(model)
    data = draw(rows(model, limits))
    where = draw(st.none() | filters(model, limits, 2))
    keys = _columns(info, ORDERABLE)
    key = draw(st.none() | st.sampled_from(keys))
    target = info.columns["aggregated"]
    having: Expr | None = None
    if key is not None and draw(st.booleans()):
        n = draw(st.integers(0, 3))
        choice = draw(st.sampled_from(["count", "min", "max"]))
        if choice == "count":
            having = func.count() >= n
        else:
            agg = func.min(target) if choice == "min" else func.max(target)
            op = draw(st.sampled_from(["<", ">="]))
            having = _compare(agg, op, draw(values(target.type, limits)))
    distinct_column = draw(st.sampled_from(keys))
    return AggregateCase(model, data, where, key, target, having, distinct_column)


@dataclass(repr=False)
class SetOperationCase(_Case):
    """``select(column).filter(left) <op> select(column).filter(right)`` on one table."""

    model: type[Model]
    rows: list[Model]
    op: str
    column: Column[Any]
    left: Expr
    right: Expr

    def __repr__(self) -> str:
        return (
            f"{model_source(self.model)}\n\nrows = {_short(self.rows)}\n"
            f"op = {self.op!r}\ncolumn = {describe(self.column)}\n"
            f"left = {describe(self.left)}\nright = {describe(self.right)}"
        )


@st.composite
def set_operation_cases(draw: st.DrawFn, limits: Limits) -> SetOperationCase:
    """Two random filters of one table, one projected column (duplicates and NULLs
    come naturally), and a set operator: union, union_all, intersect or except."""
    spec = draw(model_specs(limits, 1, 4, ORDERABLE))
    model = build_model(spec)
    info = table_of(model)
    data = draw(rows(model, limits))
    column = draw(st.sampled_from(_columns(info, ORDERABLE)))
    left = draw(filters(model, limits, 2))
    right = draw(filters(model, limits, 2))
    op = draw(st.sampled_from(["union", "union_all", "intersect", "except"]))
    return SetOperationCase(model, data, op, column, left, right)


@dataclass(repr=False)
class RoundTripCase(_Case):
    """Rows of a model to write and read back, and an update to apply to one row."""

    model: type[Model]
    rows: list[Model]
    update_attr: str
    update_value: Any

    def __repr__(self) -> str:
        return (
            f"{model_source(self.model)}\n\nrows = {_short(self.rows)}\n"
            f"update = {self.update_attr} <- {self.update_value!r}"
        )


@st.composite
def roundtrip_cases(draw: st.DrawFn, limits: Limits) -> RoundTripCase:
    """A model with columns of every kind (1-8), rows with extreme values, and an
    update. Now and then 1000+ rows (copies with their own ids), a batch large
    enough for a dialect's bulk path (PostgreSQL's COPY) and for split INSERTs."""
    model = draw(models(limits))
    data = draw(rows(model, limits, min_size=1))
    info = table_of(model)
    if not info.unique_groups and draw(st.integers(0, 19)) == 0:
        size = draw(st.integers(1000, 1100))
        data = [model(**{**_fields(data[i % len(data)], info), "id": i + 1}) for i in range(size)]
    candidates = [f for f in info.fields if not f.primary and not f.spec.unique]
    if candidates:
        target = draw(st.sampled_from(candidates))
        value = draw(_cell(target.type, limits))
        return RoundTripCase(model, data, target.attr, value)
    return RoundTripCase(model, data, "", None)


@dataclass(repr=False)
class UpsertCase(_Case):
    """Two upsert batches: ``first`` rows, then ``second`` (new and changed rows)."""

    model: type[Model]
    first: list[Model]
    second: list[Model]

    def __repr__(self) -> str:
        return (
            f"{model_source(self.model)}\n\nfirst = {_short(self.first)}\n"
            f"second = {_short(self.second)}"
        )


@st.composite
def upsert_cases(draw: st.DrawFn, limits: Limits) -> UpsertCase:
    """Rows, their changed versions (unique columns kept, since MySQL's upsert
    fires on *any* unique key, see docs/mysql.md), and two overlapping batches."""
    model = draw(models(limits, max_columns=5))
    data = draw(rows(model, limits, min_size=1))
    info = table_of(model)
    changed = []
    for row in data:
        values_ = {}
        for f in info.fields:
            keep = f.primary or f.spec.unique
            values_[f.attr] = getattr(row, f.attr) if keep else draw(_cell(f.type, limits))
        changed.append(model(**values_))
    n = len(data)
    first_ids = draw(st.sets(st.integers(0, n - 1), min_size=1))
    second_ids = draw(st.sets(st.integers(0, n - 1), min_size=1))
    first = [data[i] for i in sorted(first_ids)]
    second = [changed[i] for i in sorted(second_ids)]
    return UpsertCase(model, first, second)


@dataclass(repr=False)
class BatchCase(_Case):
    """Objects without keys, inserted in one or two batches."""

    model: type[Model]
    batches: list[list[Model]] = field(default_factory=list)

    def __repr__(self) -> str:
        sizes = [len(b) for b in self.batches]
        head = self.batches[0][:3] if self.batches and self.batches[0] else []
        return f"{model_source(self.model)}\n\nbatch sizes {sizes}; first rows {head!r}"


@st.composite
def batch_cases(draw: st.DrawFn, limits: Limits) -> BatchCase:
    """An auto-key model and one or two batches; now and then a batch larger than
    one statement may carry (1000 rows), so the insert is split."""
    spec = draw(model_specs(limits, 1, 4, auto=True))
    model = build_model(spec)
    info = table_of(model)
    objects = draw(rows(model, limits, max_size=30))  # unique values across both batches
    cut = draw(st.integers(0, len(objects)))
    batches = [objects[:cut], objects[cut:]] if draw(st.booleans()) else [objects]
    if not info.unique_groups and objects and draw(st.integers(0, 19)) == 0:
        size = draw(st.integers(1001, 1100))
        batches[0] = [model(**_fields(objects[i % len(objects)], info)) for i in range(size)]
    return BatchCase(model, batches)


def _fields(obj: Model, info: TableInfo) -> dict[str, Any]:
    return {f.attr: getattr(obj, f.attr) for f in info.fields if not f.auto}

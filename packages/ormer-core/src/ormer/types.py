"""Portable column types: Python annotation ⇄ :class:`ColumnType`, and value validation.

A :class:`ColumnType` says what a column holds independently of any database;
each dialect maps it to a type name (DDL) and to per-type dumpers/loaders.
Validation runs on the write path only (insert, update ``set``), never per row
read.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import math
import re
import types
import typing
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError, ValidationError

__all__ = [
    "ColumnType",
    "Kind",
    "column_type_for",
    "convert_operand",
    "literal_type",
    "make_validator",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
DEFAULT_MAX_DIGITS = 18
DEFAULT_DECIMAL_PLACES = 6

#: a lone UTF-16 surrogate: no backend can store it (UTF-8 cannot encode it)
find_surrogate = re.compile("[\ud800-\udfff]").search

#: the datetimes PostgreSQL's driver turns into -infinity/infinity, refused everywhere
_DATETIME_MIN = datetime.datetime.min
_DATETIME_MAX = datetime.datetime.max


class Kind(enum.Enum):
    """The portable kinds of column value."""

    INT = "int"
    STR = "str"
    FLOAT = "float"
    BOOL = "bool"
    BYTES = "bytes"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    UUID = "uuid"
    ENUM = "enum"
    JSON = "json"


@dataclass(frozen=True)
class ColumnType:
    """What a column (or an expression) holds, independent of any dialect.

    ``py_type`` is the Python class values come back as (the enum class for
    ``Kind.ENUM``, ``dict``/``list`` for JSON). ``timezone`` marks aware
    datetimes. Hashable: it is part of compiled-statement cache keys.
    """

    kind: Kind
    py_type: type
    nullable: bool = False
    timezone: bool = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None

    def __post_init__(self) -> None:
        # Column types are hashed in every statement-cache key: hash once.
        fields = (
            self.kind,
            self.py_type,
            self.nullable,
            self.timezone,
            self.max_length,
            self.max_digits,
            self.decimal_places,
        )
        object.__setattr__(self, "_hash", hash(fields))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined, no-any-return]

    def with_nullable(self, nullable: bool) -> ColumnType:
        """This type with another nullability."""
        if nullable == self.nullable:
            return self
        return ColumnType(
            self.kind,
            self.py_type,
            nullable,
            self.timezone,
            self.max_length,
            self.max_digits,
            self.decimal_places,
        )

    @property
    def enum_value_kind(self) -> Kind:
        """For enums: the kind of the member values (``STR`` or ``INT``)."""
        assert issubclass(self.py_type, enum.Enum)
        values = [m.value for m in self.py_type]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return Kind.INT
        return Kind.STR


_SIMPLE_KINDS: dict[type, Kind] = {
    bool: Kind.BOOL,  # before int: bool subclasses int
    int: Kind.INT,
    str: Kind.STR,
    float: Kind.FLOAT,
    bytes: Kind.BYTES,
    decimal.Decimal: Kind.DECIMAL,
    datetime.datetime: Kind.DATETIME,  # before date: datetime subclasses date
    datetime.date: Kind.DATE,
    datetime.time: Kind.TIME,
    uuid.UUID: Kind.UUID,
    dict: Kind.JSON,
    list: Kind.JSON,
}


def _split_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
        raise ConfigurationError(
            f"unsupported annotation {annotation!r}: a column holds one type, "
            "optionally with None (T | None)"
        )
    return annotation, False


def column_type_for(
    annotation: Any,
    *,
    max_length: int | None = None,
    max_digits: int | None = None,
    decimal_places: int | None = None,
    timezone: bool = False,
) -> ColumnType:
    """Map a field annotation to a :class:`ColumnType` or raise ConfigurationError."""
    base, nullable = _split_optional(annotation)
    origin = typing.get_origin(base) or base
    if isinstance(origin, type) and issubclass(origin, enum.Enum):
        return ColumnType(Kind.ENUM, origin, nullable, max_length=max_length)
    kind = _SIMPLE_KINDS.get(origin) if isinstance(origin, type) else None
    if kind is None:
        raise ConfigurationError(
            f"unsupported annotation {annotation!r}; supported: int, str, float, bool, bytes, "
            "Decimal, datetime, date, time, UUID, Enum subclasses, dict/list (JSON), "
            "each optionally `| None`"
        )
    if kind is Kind.DECIMAL:
        max_digits = DEFAULT_MAX_DIGITS if max_digits is None else max_digits
        decimal_places = DEFAULT_DECIMAL_PLACES if decimal_places is None else decimal_places
        if not (max_digits > 0 and 0 <= decimal_places <= max_digits):
            raise ConfigurationError(
                f"invalid Decimal precision max_digits={max_digits}, "
                f"decimal_places={decimal_places}: need 0 <= decimal_places <= max_digits"
            )
    elif max_digits is not None or decimal_places is not None:
        raise ConfigurationError("max_digits/decimal_places apply to Decimal fields only")
    if max_length is not None and (kind not in (Kind.STR, Kind.BYTES) or max_length < 1):
        raise ConfigurationError("max_length must be >= 1 and applies to str/bytes fields only")
    if timezone and kind is not Kind.DATETIME:
        raise ConfigurationError("timezone=True applies to datetime fields only")
    return ColumnType(kind, origin, nullable, timezone, max_length, max_digits, decimal_places)


def literal_type(value: Any) -> ColumnType | None:
    """The column type of a bare Python literal in an expression (None for None)."""
    if value is None:
        return None
    cls = type(value)
    if isinstance(value, enum.Enum):
        return ColumnType(Kind.ENUM, cls)
    kind = _SIMPLE_KINDS.get(cls)
    if kind is None:
        for base, k in _SIMPLE_KINDS.items():
            if isinstance(value, base):
                kind, cls = k, base
                break
        else:
            return None
    if kind is Kind.DATETIME:
        return ColumnType(kind, cls, timezone=value.tzinfo is not None)
    return ColumnType(kind, cls)


_NUMERIC = (Kind.INT, Kind.FLOAT, Kind.DECIMAL)


def convert_operand(value: Any, ct: ColumnType, where: str) -> tuple[Any, ColumnType]:
    """Check a Python value an expression of type ``ct`` meets (``User.id == value``).

    Returns the value to bind and the type it travels as. Numbers meet numbers (a
    Decimal compared with an int column travels as a Decimal); a value converts
    only where nothing is lost (a UUID's text, an enum member's value, a ``date``
    against a naive datetime column is its midnight, ``bytearray`` is bytes);
    anything else raises :class:`ValidationError` naming ``where``, so that a
    mismatch fails before any SQL, the same way on every backend.
    """
    own = literal_type(value)
    kind = ct.kind
    if own is not None:
        if own.kind is kind and (kind is not Kind.ENUM or isinstance(value, ct.py_type)):
            if kind is Kind.STR and not value.isascii() and find_surrogate(value):
                raise ValidationError(
                    f"{where}: expected a str without lone surrogates (UTF-8 cannot encode "
                    f"them), got str {_describe(value)}"
                )
            return value, ct
        if own.kind is Kind.ENUM and kind is not Kind.ENUM:  # a member against a plain column
            return convert_operand(value.value, ct, where)
        if own.kind in _NUMERIC and kind in _NUMERIC:
            # an int meets a float/decimal column as that type; a float or Decimal
            # keeps its own type so the dialect converts it exactly
            return value, (ct if own.kind is Kind.INT else own)
    if kind is Kind.ENUM:
        members: list[enum.Enum] = list(ct.py_type)  # type: ignore[call-overload]
        for member in members:
            if type(value) is type(member.value) and value == member.value:
                return member, ct
        expected = f"a member of {ct.py_type.__name__} (or one of its values)"
    elif kind is Kind.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value), ct
        except ValueError:
            expected = "a uuid.UUID (or its text)"
    elif kind is Kind.BYTES and isinstance(value, (bytearray, memoryview)):
        return bytes(value), ct
    elif kind is Kind.DATETIME and own is not None and own.kind is Kind.DATE:
        if ct.timezone:
            expected = "an aware datetime (a date has no time zone: pass a datetime)"
        else:
            return datetime.datetime.combine(value, datetime.time()), ct
    else:
        expected = _EXPECTED.get(kind, kind.value)
    got = f"{type(value).__name__} {_describe(value)}"
    raise ValidationError(f"{where}: expected {expected}, got {got}")


_EXPECTED = {
    Kind.INT: "an int (or a float/Decimal)",
    Kind.FLOAT: "a float (or an int/Decimal)",
    Kind.DECIMAL: "a Decimal (or an int/float)",
    Kind.BOOL: "a bool",
    Kind.STR: "a str",
    Kind.BYTES: "bytes",
    Kind.DATE: "a date (use .date() of a datetime)",
    Kind.DATETIME: "a datetime",
    Kind.TIME: "a time",
    Kind.UUID: "a uuid.UUID (or its text)",
    Kind.JSON: "a dict or list",
}


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def make_validator(ct: ColumnType, where: str) -> Callable[[Any], None]:
    """Build a validator for values written to a column of type ``ct``.

    ``where`` names the field in error messages (``"User.age"``). The returned
    callable raises :class:`ValidationError` and returns None otherwise.
    """
    kind = ct.kind

    def fail(value: Any, expected: str) -> typing.NoReturn:
        raise ValidationError(
            f"{where}: expected {expected}, got {type(value).__name__} {_describe(value)}"
        )

    def check(value: Any) -> None:
        if value is None:
            if not ct.nullable:
                raise ValidationError(
                    f"{where} is not nullable: got None (annotate it `T | None` to allow NULL)"
                )
            return
        if kind is Kind.INT:
            if type(value) is bool or not isinstance(value, int):
                fail(value, "int")
            if not INT64_MIN <= value <= INT64_MAX:
                fail(value, "an int within the 64-bit signed range")
        elif kind is Kind.STR:
            if not isinstance(value, str):
                fail(value, "str")
            if "\x00" in value:
                fail(value, "a str without NUL characters")
            if not value.isascii() and find_surrogate(value):
                fail(value, "a str without lone surrogates (UTF-8 cannot encode them)")
            if ct.max_length is not None and len(value) > ct.max_length:
                fail(value, f"at most {ct.max_length} characters (max_length)")
        elif kind is Kind.FLOAT:
            if type(value) is bool or not isinstance(value, (float, int)):
                fail(value, "float")
            if isinstance(value, int):
                _check_int_for_float(value, fail)
            elif not math.isfinite(value):
                fail(value, "a finite float (NaN and infinity do not round-trip on every backend)")
        elif kind is Kind.BOOL:
            if not isinstance(value, bool):
                fail(value, "bool")
        elif kind is Kind.BYTES:
            if not isinstance(value, (bytes, bytearray, memoryview)):
                fail(value, "bytes")
            if ct.max_length is not None and len(value) > ct.max_length:
                fail(value, f"at most {ct.max_length} bytes (max_length)")
        elif kind is Kind.DECIMAL:
            if type(value) is bool or not isinstance(value, (decimal.Decimal, int)):
                fail(value, "Decimal")
            _check_decimal(decimal.Decimal(value), ct, where)
        elif kind is Kind.DATETIME:
            if not isinstance(value, datetime.datetime):
                fail(value, "datetime")
            if ct.timezone and value.tzinfo is None:
                fail(value, "an aware datetime (the field has timezone=True)")
            if not ct.timezone and value.tzinfo is not None:
                fail(value, "a naive datetime (declare field(timezone=True) for aware ones)")
            _check_datetime_range(value, fail)
        elif kind is Kind.DATE:
            if not isinstance(value, datetime.date) or isinstance(value, datetime.datetime):
                fail(value, "date")
        elif kind is Kind.TIME:
            if not isinstance(value, datetime.time):
                fail(value, "time")
            if value.tzinfo is not None:
                fail(value, "a naive time")
        elif kind is Kind.UUID:
            if not isinstance(value, uuid.UUID):
                fail(value, "uuid.UUID")
        elif kind is Kind.ENUM:
            if not isinstance(value, ct.py_type):
                fail(value, f"a member of {ct.py_type.__name__}")
        elif kind is Kind.JSON:
            if not isinstance(value, (dict, list)):
                fail(value, "dict or list (JSON)")
            _check_json(value, fail)

    return check


def _check_int_for_float(value: int, fail: Callable[[Any, str], typing.NoReturn]) -> None:
    # an int goes to the driver as an int: 2**63 does not bind on SQLite, 10**400 not at all,
    # and one a double cannot hold is rounded silently by the server
    try:
        exact = float(value) == value
    except OverflowError:
        exact = False
    if not exact or not INT64_MIN <= value <= INT64_MAX:
        fail(value, "a float, or an int a float holds exactly within the 64-bit range")


def _check_datetime_range(
    value: datetime.datetime, fail: Callable[[Any, str], typing.NoReturn]
) -> None:
    # asyncpg stores datetime.min/max as -infinity/infinity (and reads -infinity back naive);
    # an aware value is stored as UTC, which must exist as a datetime
    if value.tzinfo is None:
        if value in (_DATETIME_MIN, _DATETIME_MAX):
            fail(value, "a datetime after datetime.min and before datetime.max")
        return
    offset = value.utcoffset() or datetime.timedelta()
    naive = value.replace(tzinfo=None)
    if not (
        _DATETIME_MIN + max(offset, datetime.timedelta())
        < naive
        < _DATETIME_MAX + min(offset, datetime.timedelta())
    ):
        fail(value, "a datetime whose UTC time is after datetime.min and before datetime.max")


def _plain_json(value: Any) -> bool:
    """True when ``value`` is plain JSON: str-keyed dicts, lists, finite floats, ints,
    bools, None and text without lone surrogates (a walk, cheaper than serializing)."""
    cls = value.__class__
    if cls is str:
        return value.isascii() or not find_surrogate(value)
    if cls is int or cls is bool or value is None:
        return True
    if cls is float:
        return math.isfinite(value)
    if cls is dict:
        for k, v in value.items():
            if k.__class__ is not str or not (k.isascii() or not find_surrogate(k)):
                return False
            if not _plain_json(v):
                return False
        return True
    if cls is list:
        return all(map(_plain_json, value))
    return False


def _check_json(value: Any, fail: Callable[[Any, str], typing.NoReturn]) -> None:
    # the same JSON on every backend: NaN/Infinity are not JSON (SQLite would store them,
    # PostgreSQL and MariaDB refuse them each their own way), nor is a lone surrogate
    if _plain_json(value):
        return
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        fail(value, f"JSON-serializable data without NaN or infinity ({exc})")
    if not text.isascii() and find_surrogate(text):
        fail(value, "JSON without lone surrogates (UTF-8 cannot encode them)")


def _check_decimal(value: decimal.Decimal, ct: ColumnType, where: str) -> None:
    if not value.is_finite():
        raise ValidationError(f"{where}: Decimal {value} is not finite")
    assert ct.max_digits is not None
    assert ct.decimal_places is not None
    if value.is_zero():
        return  # fits every precision
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    # Trailing zeros after the point lose nothing when dropped: 1.50 fits decimal_places=1.
    while exponent < 0 and digits[-1] == 0:
        digits, exponent = digits[:-1], exponent + 1
    places = max(0, -exponent)
    if places > ct.decimal_places:
        raise ValidationError(
            f"{where}: {value} has {places} decimal places, the field allows "
            f"{ct.decimal_places} (decimal_places)"
        )
    integer_digits = max(0, len(digits) + exponent)
    if integer_digits > ct.max_digits - ct.decimal_places:
        raise ValidationError(
            f"{where}: {value} has {integer_digits} integer digits, the field allows "
            f"{ct.max_digits - ct.decimal_places} (max_digits - decimal_places)"
        )

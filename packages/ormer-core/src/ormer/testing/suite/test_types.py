"""Compliance suite: every portable type of docs/models.md round-trips exactly.

Each type has its own two-column model (``v`` non-null, ``n`` nullable). A
value is written through ``insert``, read back through ``select`` and used as
a bound parameter in filters; NULL is written and read for the nullable
column. Aggregates keep the result types of docs/queries.md.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import math
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from ormer import Connection, Model, field, func, primary
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires

__all__ = ["TestTypes"]

D = decimal.Decimal
UTC = datetime.UTC


def _tz(hours: int, minutes: int = 0) -> datetime.timezone:
    return datetime.timezone(datetime.timedelta(hours=hours, minutes=minutes))


class SuiteMood(enum.Enum):
    """A str-valued enum."""

    HAPPY = "happy"
    SAD = "sad"
    WITH_SPACE = "with space"


class SuitePriority(enum.Enum):
    """An int-valued enum."""

    LOW = 1
    HIGH = 10
    NEGATIVE = -5


# -- one model per type: `v` non-null, `n` nullable ---------------------------------------


class TypesInt(Model, table="suite_types_int"):
    id: int = primary()
    v: int
    n: int | None = None


class TypesStr(Model, table="suite_types_str"):
    id: int = primary()
    v: str
    n: str | None = None


class TypesVarchar(Model, table="suite_types_varchar"):
    id: int = primary()
    v: str = field(max_length=40)
    n: str | None = field(default=None, max_length=40)


class TypesFloat(Model, table="suite_types_float"):
    id: int = primary()
    v: float
    n: float | None = None


class TypesBool(Model, table="suite_types_bool"):
    id: int = primary()
    v: bool
    n: bool | None = None


class TypesBytes(Model, table="suite_types_bytes"):
    id: int = primary()
    v: bytes
    n: bytes | None = None


class TypesDecimal(Model, table="suite_types_decimal"):
    id: int = primary()
    v: decimal.Decimal = field(max_digits=12, decimal_places=4)
    n: decimal.Decimal | None = field(default=None, max_digits=12, decimal_places=4)


class TypesDatetime(Model, table="suite_types_datetime"):
    id: int = primary()
    v: datetime.datetime
    n: datetime.datetime | None = None


class TypesAware(Model, table="suite_types_aware"):
    id: int = primary()
    v: datetime.datetime = field(timezone=True)
    n: datetime.datetime | None = field(default=None, timezone=True)


class TypesDate(Model, table="suite_types_date"):
    id: int = primary()
    v: datetime.date
    n: datetime.date | None = None


class TypesTime(Model, table="suite_types_time"):
    id: int = primary()
    v: datetime.time
    n: datetime.time | None = None


class TypesUuid(Model, table="suite_types_uuid"):
    id: int = primary()
    v: uuid.UUID
    n: uuid.UUID | None = None


class TypesStrEnum(Model, table="suite_types_str_enum"):
    id: int = primary()
    v: SuiteMood
    n: SuiteMood | None = None


class TypesIntEnum(Model, table="suite_types_int_enum"):
    id: int = primary()
    v: SuitePriority
    n: SuitePriority | None = None


class TypesJsonDict(Model, table="suite_types_json_dict"):
    id: int = primary()
    v: dict  # type: ignore[type-arg]
    n: dict | None = None  # type: ignore[type-arg]


class TypesJsonList(Model, table="suite_types_json_list"):
    id: int = primary()
    v: list  # type: ignore[type-arg]
    n: list | None = None  # type: ignore[type-arg]


class TypesAgg(Model, table="suite_types_agg"):
    id: int = primary()
    grp: str = field(max_length=10)
    i: int
    f: float
    d: decimal.Decimal = field(max_digits=12, decimal_places=4)
    day: datetime.date
    at: datetime.datetime
    aware: datetime.datetime = field(timezone=True)
    opt: int | None = None


@dataclass(frozen=True)
class TypeCase:
    model: type[Model]
    values: tuple[Any, ...]
    #: equality filters with a parameter of the type (JSON has no portable equality)
    filterable: bool = True
    #: values are ordered: range filters (<, >=) are checked too
    ordered: bool = False


CASES: dict[str, TypeCase] = {
    "int": TypeCase(
        TypesInt,
        (0, 1, -1, 2**31, -(2**31) - 1, 2**63 - 1, -(2**63 - 1)),
        ordered=True,
    ),
    "str": TypeCase(
        TypesStr,
        (
            "",
            "plain ascii",
            "unicode: żółć ñ ü 日本語 Ωμέγα",
            "emoji: 😀👍🏽🚀",
            "quotes ' and \" and \\ backslash",
            "line\nbreak\tand tab",
            "x" * 5000,
        ),
    ),
    "varchar": TypeCase(
        TypesVarchar,
        ("", "short", "日本語テキスト", "🐍" * 40, "y" * 40),
    ),
    "float": TypeCase(
        TypesFloat,
        (0.0, 0.1, -2.5, 3.141592653589793, 1e300, -2.5e-300, 123456789.125),
        ordered=True,
    ),
    "bool": TypeCase(TypesBool, (True, False)),
    "bytes": TypeCase(
        TypesBytes,
        (b"", b"\x00", b"\x00\x01\xfe\xff", bytes(range(256)), b"plain"),
    ),
    "decimal": TypeCase(
        TypesDecimal,
        (
            D("0.0000"),
            D("1.5000"),
            D("-0.0001"),
            D("12345678.1234"),
            D("-99999999.9999"),
            D("42.0000"),
        ),
        ordered=True,
    ),
    "datetime": TypeCase(
        TypesDatetime,
        (
            datetime.datetime(2024, 2, 29, 23, 59, 59, 999999),
            datetime.datetime(1970, 1, 1, 0, 0, 0),
            datetime.datetime(2000, 1, 1, 12, 0, 0, 1),
            datetime.datetime(1999, 12, 31, 23, 59, 59),
            datetime.datetime(2038, 1, 19, 3, 14, 8, 500000),
        ),
        ordered=True,
    ),
    "aware_datetime": TypeCase(
        TypesAware,
        (
            datetime.datetime(2024, 6, 1, 12, 30, 45, 123456, tzinfo=UTC),
            datetime.datetime(2024, 6, 1, 1, 0, 0, tzinfo=_tz(5, 30)),
            datetime.datetime(2023, 12, 31, 20, 0, 0, 1, tzinfo=_tz(-8)),
            datetime.datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC),
        ),
        ordered=True,
    ),
    "date": TypeCase(
        TypesDate,
        (
            datetime.date(2024, 2, 29),
            datetime.date(1999, 12, 31),
            datetime.date(2000, 1, 1),
            datetime.date(1970, 1, 1),
        ),
        ordered=True,
    ),
    "time": TypeCase(
        TypesTime,
        (
            datetime.time(0, 0),
            datetime.time(23, 59, 59, 999999),
            datetime.time(12, 30, 0, 5),
            datetime.time(9, 5, 7),
        ),
        ordered=True,
    ),
    "uuid": TypeCase(
        TypesUuid,
        (
            uuid.UUID("12345678-1234-5678-1234-567812345678"),
            uuid.UUID(int=0),
            uuid.UUID(int=2**128 - 1),
            uuid.UUID("a8098c1a-f86e-11da-bd1a-00112444be1e"),
        ),
    ),
    "str_enum": TypeCase(TypesStrEnum, tuple(SuiteMood)),
    "int_enum": TypeCase(TypesIntEnum, tuple(SuitePriority)),
    "json_dict": TypeCase(
        TypesJsonDict,
        (
            {},
            {"a": 1, "b": [1, 2.5, "x", None, True, False]},
            {"nested": {"k": "ü😀", "list": [{"deep": []}]}, "empty": {}},
            {"quote": 'it\'s "quoted"', "n": -12345678901},
        ),
        filterable=False,
    ),
    "json_list": TypeCase(
        TypesJsonList,
        ([], [1, "two", {"three": 3}], [None, True, 0.5], [[[]]]),
        filterable=False,
    ),
}


def _significant_digits(value: decimal.Decimal) -> int:
    return len(value.as_tuple().digits)


def usable_values(db: Connection, case: TypeCase) -> tuple[Any, ...]:
    """The case's values the dialect can store (Decimals within max_decimal_digits)."""
    if case.model is TypesDecimal:
        limit = db.dialect.max_decimal_digits
        return tuple(v for v in case.values if _significant_digits(v) <= limit)
    return case.values


def assert_same(got: Any, expected: Any) -> None:
    """``got`` equals ``expected`` with the same Python type (aware datetimes: same instant)."""
    assert got == expected, f"read back {got!r}, wrote {expected!r}"
    if isinstance(expected, enum.Enum):
        assert got is expected
        return
    assert type(got) is type(expected), (
        f"read back {type(got).__name__} {got!r}, wrote {type(expected).__name__} {expected!r}"
    )
    if isinstance(expected, datetime.datetime):
        if expected.tzinfo is None:
            assert got.tzinfo is None, f"naive datetime came back aware: {got!r}"
        else:
            assert got.tzinfo is not None, f"aware datetime came back naive: {got!r}"
            assert got.utcoffset() is not None
    if isinstance(expected, decimal.Decimal):
        # Written at the field's scale: read back at the same scale, digit for digit.
        assert str(got) == str(expected), f"read back {got!r}, wrote {expected!r}"


class TestTypes(SuiteBase):
    """Values of every portable type read back equal to the values written."""

    @pytest.mark.parametrize("kind", list(CASES))
    async def test_round_trip(self, db: Connection, kind: str) -> None:
        case = CASES[kind]
        model: Any = case.model
        values = usable_values(db, case)
        await fresh_tables(db, model)
        objects = [model(id=i, v=value, n=value) for i, value in enumerate(values)]
        null_row = model(id=len(values), v=values[0], n=None)
        assert await db.insert([*objects, null_row]) == len(values) + 1

        rows = await db.select(model).order_by(model.id).collect()
        assert [r.id for r in rows] == list(range(len(values) + 1))
        for row, value in zip(rows, values):
            assert_same(row.v, value)
            assert_same(row.n, value)
        assert rows[-1].n is None
        assert_same(rows[-1].v, values[0])

        # single-object insert and find() take the same path for every type
        one = await db.find(model, 1)
        assert one is not None
        assert_same(one.v, values[1])

        # projections convert too
        pairs = await db.select(model.v, model.n).order_by(model.id).collect()
        for (v, n), value in zip(pairs, values):
            assert_same(v, value)
            assert_same(n, value)
        assert pairs[-1][1] is None

    @pytest.mark.parametrize("kind", [k for k, c in CASES.items() if c.filterable])
    async def test_filter_by_parameter(self, db: Connection, kind: str) -> None:
        case = CASES[kind]
        model: Any = case.model
        values = usable_values(db, case)
        await fresh_tables(db, model)
        await db.insert([model(id=i, v=value, n=value) for i, value in enumerate(values)])
        await db.insert(model(id=len(values), v=values[0], n=None))

        for i, value in enumerate(values):
            ids = (
                await db.select(model.id)
                .filter(model.v == value)
                .order_by(model.id)
                .scalars()
                .collect()
            )
            expected_ids = [i, len(values)] if i == 0 else [i]
            assert ids == expected_ids, f"v == {value!r}"
            ids = await db.select(model.id).filter(model.n == value).scalars().collect()
            assert ids == [i], f"n == {value!r}"
            found = await db.select(model).filter(model.n.in_([value])).collect()
            assert [r.id for r in found] == [i]
            assert_same(found[0].n, value)
            others = await db.select(model).filter(model.n != value).count()
            assert others == len(values) - 1  # the NULL row matches neither = nor <>

        nulls = await db.select(model.id).filter(model.n.is_null()).scalars().collect()
        assert nulls == [len(values)]
        nulls = await db.select(model.id).filter(model.n == None).scalars().collect()  # noqa: E711
        assert nulls == [len(values)]

    @pytest.mark.parametrize("kind", [k for k, c in CASES.items() if c.ordered])
    async def test_range_filter_and_order(self, db: Connection, kind: str) -> None:
        case = CASES[kind]
        model: Any = case.model
        values = usable_values(db, case)
        await fresh_tables(db, model)
        await db.insert([model(id=i, v=value) for i, value in enumerate(values)])

        ordered = await db.select(model.v).order_by(model.v.asc()).scalars().collect()
        assert ordered == sorted(values)
        for value in ordered:
            assert_same(value, next(v for v in values if v == value))
        pivot = sorted(values)[len(values) // 2]
        below = (
            await db.select(model.id).filter(model.v < pivot).order_by(model.id).scalars().collect()
        )
        assert below == [i for i, v in enumerate(values) if v < pivot]
        at_least = await (
            db.select(model.id).filter(model.v >= pivot).order_by(model.id).scalars().collect()
        )
        assert at_least == [i for i, v in enumerate(values) if v >= pivot]
        low, high = sorted(values)[1], sorted(values)[-2]
        between = await (
            db.select(model.id)
            .filter(model.v.between(low, high))
            .order_by(model.id)
            .scalars()
            .collect()
        )
        assert between == [i for i, v in enumerate(values) if low <= v <= high]

    async def test_aware_datetime_is_an_instant(self, db: Connection) -> None:
        await fresh_tables(db, TypesAware)
        instant = datetime.datetime(2024, 3, 10, 12, 0, 0, 250000, tzinfo=UTC)
        same_elsewhere = instant.astimezone(_tz(-5))
        await db.insert(TypesAware(id=1, v=same_elsewhere))
        got = await db.find(TypesAware, 1)
        assert got is not None
        assert got.v == instant
        assert got.v.tzinfo is not None
        assert got.v - instant == datetime.timedelta(0)
        # a filter written in a third zone finds the same instant
        tokyo = instant.astimezone(_tz(9))
        assert await db.select(TypesAware).filter(TypesAware.v == tokyo).count() == 1
        later = instant + datetime.timedelta(microseconds=1)
        assert (
            await db.select(TypesAware).filter(TypesAware.v < later.astimezone(_tz(2))).count() == 1
        )
        assert (
            await db.select(TypesAware).filter(TypesAware.v > instant.astimezone(_tz(2))).count()
            == 0
        )

    async def test_decimal_at_field_precision(self, db: Connection) -> None:
        await fresh_tables(db, TypesDecimal)
        written = [D("2.5"), D("7"), D("-3.12"), D("0.1234")]
        await db.insert([TypesDecimal(id=i, v=v) for i, v in enumerate(written)])
        got = await db.select(TypesDecimal.v).order_by(TypesDecimal.id).scalars().collect()
        assert got == written
        assert all(type(g) is decimal.Decimal for g in got)
        # read back at the field's scale (4 places)
        assert [g.as_tuple().exponent for g in got] == [-4, -4, -4, -4]
        # an int is a valid Decimal value; it comes back as a Decimal
        await db.insert(TypesDecimal(id=10, v=12))
        row = await db.find(TypesDecimal, 10)
        assert row is not None
        assert row.v == D(12)
        assert type(row.v) is decimal.Decimal
        # the largest value the field (and the dialect) holds exactly
        digits = min(12, db.dialect.max_decimal_digits)
        largest = D("9" * digits).scaleb(-4)
        await db.insert(TypesDecimal(id=11, v=largest, n=-largest))
        row = await db.find(TypesDecimal, 11)
        assert row is not None
        assert row.v == largest
        assert row.n == -largest
        assert await db.select(TypesDecimal).filter(TypesDecimal.v == largest).count() == 1

    async def test_accepted_input_types_read_back_as_declared(self, db: Connection) -> None:
        """An int for a float field and a bytearray/memoryview for bytes read back as declared."""
        await fresh_tables(db, TypesFloat, TypesBytes)
        await db.insert(TypesFloat(id=1, v=3, n=-7))
        row = await db.find(TypesFloat, 1)
        assert row is not None
        assert_same(row.v, 3.0)
        assert_same(row.n, -7.0)
        assert await db.select(TypesFloat).filter(TypesFloat.v == 3.0).count() == 1
        await db.insert(TypesBytes(id=1, v=bytearray(b"ab\x00"), n=memoryview(b"\xffz")))
        got = await db.find(TypesBytes, 1)
        assert got is not None
        assert_same(got.v, b"ab\x00")
        assert_same(got.n, b"\xffz")
        assert await db.select(TypesBytes).filter(TypesBytes.v == bytearray(b"ab\x00")).count() == 1

    @requires("negative_zero")
    async def test_negative_zero_keeps_its_sign(self, db: Connection) -> None:
        await fresh_tables(db, TypesFloat)
        await db.insert(TypesFloat(id=1, v=-0.0, n=0.0))
        row = await db.find(TypesFloat, 1)
        assert row is not None
        assert (math.copysign(1.0, row.v), math.copysign(1.0, row.n or 0.0)) == (-1.0, 1.0)

    @lacks("negative_zero")
    async def test_negative_zero_reads_back_as_zero(self, db: Connection) -> None:
        """Documented in docs/models.md: the sign of -0.0 is lost, the value equals."""
        await fresh_tables(db, TypesFloat)
        await db.insert(TypesFloat(id=1, v=-0.0, n=-0.0))
        row = await db.find(TypesFloat, 1)
        assert row is not None
        assert (row.v, math.copysign(1.0, row.v)) == (0.0, 1.0)
        assert await db.select(TypesFloat).filter(TypesFloat.v == -0.0).count() == 1

    async def test_none_for_every_nullable_type(self, db: Connection) -> None:
        models: list[Any] = [c.model for c in CASES.values()]
        for model in models:
            await fresh_tables(db, model)
        for model, case in zip(models, CASES.values()):
            await db.insert(model(id=1, v=usable_values(db, case)[0]))
            row = await db.find(model, 1)
            assert row is not None
            assert row.n is None, model.__name__
            assert await db.select(model).filter(model.n.is_null()).count() == 1
            assert await db.select(model).filter(model.n.is_not_null()).count() == 0
            (value,) = await db.select(model.n).filter(model.id == 1).scalars().collect()
            assert value is None

    # -- aggregate result types (docs/queries.md) -----------------------------------------------

    async def _agg_rows(self, db: Connection) -> list[TypesAgg]:
        await fresh_tables(db, TypesAgg)
        rows = [
            TypesAgg(
                id=1,
                grp="a",
                i=1,
                f=0.5,
                d=D("1.1000"),
                day=datetime.date(2024, 1, 31),
                at=datetime.datetime(2024, 1, 31, 10, 0, 0, 1),
                aware=datetime.datetime(2024, 1, 31, 10, 0, tzinfo=_tz(2)),
                opt=None,
            ),
            TypesAgg(
                id=2,
                grp="a",
                i=2,
                f=1.25,
                d=D("2.2000"),
                day=datetime.date(2023, 12, 1),
                at=datetime.datetime(2023, 12, 1, 8, 30),
                aware=datetime.datetime(2023, 12, 1, 8, 30, tzinfo=UTC),
                opt=7,
            ),
            TypesAgg(
                id=3,
                grp="b",
                i=4,
                f=2.25,
                d=D("3.3001"),
                day=datetime.date(2024, 2, 29),
                at=datetime.datetime(2024, 2, 29, 23, 59, 59, 999999),
                aware=datetime.datetime(2024, 3, 1, 1, 0, tzinfo=_tz(3)),
                opt=None,
            ),
        ]
        await db.insert(rows)
        return rows

    async def test_sum_keeps_operand_type(self, db: Connection) -> None:
        await self._agg_rows(db)
        q = db.select(TypesAgg)
        total_i = await q.sum(TypesAgg.i)
        assert total_i == 7
        assert type(total_i) is int
        total_f = await q.sum(TypesAgg.f)
        assert total_f == 4.0
        assert type(total_f) is float
        total_d = await q.sum(TypesAgg.d)
        assert total_d == D("6.6001")
        assert type(total_d) is decimal.Decimal
        total_opt = await q.sum(TypesAgg.opt)
        assert total_opt == 7
        assert type(total_opt) is int
        filtered = await q.filter(TypesAgg.day >= datetime.date(2024, 1, 1)).sum(TypesAgg.d)
        assert filtered == D("4.4001")
        assert type(filtered) is decimal.Decimal

    async def test_min_max_keep_operand_type(self, db: Connection) -> None:
        rows = await self._agg_rows(db)
        q = db.select(TypesAgg)
        for column, attr in (
            (TypesAgg.i, "i"),
            (TypesAgg.f, "f"),
            (TypesAgg.d, "d"),
            (TypesAgg.day, "day"),
            (TypesAgg.at, "at"),
            (TypesAgg.grp, "grp"),
        ):
            values = [getattr(r, attr) for r in rows]
            low, high = await q.min(column), await q.max(column)
            assert_same(low, min(values))
            assert_same(high, max(values))
        low_aware, high_aware = await q.min(TypesAgg.aware), await q.max(TypesAgg.aware)
        assert low_aware == datetime.datetime(2023, 12, 1, 8, 30, tzinfo=UTC)
        assert high_aware == datetime.datetime(2024, 2, 29, 22, 0, tzinfo=UTC)
        assert type(low_aware) is datetime.datetime
        assert low_aware.tzinfo is not None
        assert high_aware.tzinfo is not None

    async def test_avg_types(self, db: Connection) -> None:
        await self._agg_rows(db)
        q = db.select(TypesAgg)
        avg_d = await q.avg(TypesAgg.d)
        assert type(avg_d) is decimal.Decimal
        assert abs(avg_d - D("2.200033333")) < D("0.000001")
        avg_i = await q.avg(TypesAgg.i)
        assert type(avg_i) is float
        assert avg_i == pytest.approx(7 / 3)
        avg_f = await q.avg(TypesAgg.f)
        assert type(avg_f) is float
        assert avg_f == pytest.approx(4.0 / 3)

    async def test_count_is_int(self, db: Connection) -> None:
        await self._agg_rows(db)
        n = await db.select(TypesAgg).count()
        assert n == 3
        assert type(n) is int
        (row,) = (
            await db.select(
                func.count(), func.count(TypesAgg.opt), func.count_distinct(TypesAgg.grp)
            )
            .select_from(TypesAgg)
            .collect()
        )
        assert row == (3, 1, 2)
        assert all(type(v) is int for v in row)
        empty = await db.select(TypesAgg).filter(TypesAgg.i > 100).count()
        assert empty == 0
        assert type(empty) is int

    async def test_aggregate_projection_types(self, db: Connection) -> None:
        await self._agg_rows(db)
        rows = await (
            db.select(
                TypesAgg.grp,
                func.sum(TypesAgg.d),
                func.sum(TypesAgg.i),
                func.min(TypesAgg.day),
                func.max(TypesAgg.at),
                func.avg(TypesAgg.d),
                func.avg(TypesAgg.i),
                func.count(),
            )
            .group_by(TypesAgg.grp)
            .order_by(TypesAgg.grp)
            .collect()
        )
        assert [r[0] for r in rows] == ["a", "b"]
        a, b = rows
        assert_same(a[1], D("3.3000"))
        assert_same(b[1], D("3.3001"))
        assert_same(a[2], 3)
        assert_same(b[2], 4)
        assert_same(a[3], datetime.date(2023, 12, 1))
        assert_same(b[3], datetime.date(2024, 2, 29))
        assert_same(a[4], datetime.datetime(2024, 1, 31, 10, 0, 0, 1))
        assert_same(b[4], datetime.datetime(2024, 2, 29, 23, 59, 59, 999999))
        assert type(a[5]) is decimal.Decimal
        assert abs(a[5] - D("1.65")) < D("0.000001")
        assert type(a[6]) is float
        assert a[6] == pytest.approx(1.5)
        assert_same(a[7], 2)
        assert_same(b[7], 1)

    async def test_aggregates_over_no_rows_are_none(self, db: Connection) -> None:
        await fresh_tables(db, TypesAgg)
        q = db.select(TypesAgg)
        assert await q.sum(TypesAgg.d) is None
        assert await q.min(TypesAgg.day) is None
        assert await q.max(TypesAgg.at) is None
        assert await q.avg(TypesAgg.i) is None
        assert await q.count() == 0

"""Compliance suite: the error tree of docs/errors.md on a real database.

Bad values fail with ValidationError before any SQL is sent (checked through
the ``ormer.sql`` log, which records every statement, and through the table
staying empty). Statements the server refuses raise the same ormer class on
every backend, chained to the driver's exception, and leave the connection
usable, also inside transactions.
"""

from __future__ import annotations

import datetime
import decimal
import logging
from typing import Any

import pytest

from ormer import (
    Connection,
    DatabaseError,
    ForeignKeyViolationError,
    IntegrityError,
    Model,
    NotNullViolationError,
    NotSupportedError,
    OrmerError,
    QueryError,
    UniqueViolationError,
    ValidationError,
    field,
    foreign_key,
    primary,
    unique,
)
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires

__all__ = ["TestErrors"]

UTC = datetime.UTC


class ErrorsParent(Model, table="suite_errors_parent"):
    id: int = primary(auto=True)
    code: str = unique(max_length=20)


class ErrorsChild(Model, table="suite_errors_child"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key("suite_errors_parent.id", on_delete="cascade")


class ErrorsRecord(Model, table="suite_errors_record"):
    id: int = primary(auto=True)
    name: str = field(max_length=10)
    age: int = 0
    price: decimal.Decimal = field(default=decimal.Decimal("0"), max_digits=8, decimal_places=2)
    at: datetime.datetime = field(default=datetime.datetime(2024, 1, 1, tzinfo=UTC), timezone=True)
    ratio: float = 0.0
    note: str | None = None
    doc: dict[str, Any] | None = None
    local: datetime.datetime | None = None


class ErrorsNotNull(Model, table="suite_errors_not_null"):
    id: int = primary()
    name: str = field(max_length=20)
    qty: int


class ErrorsMissing(Model, table="suite_errors_never_created"):
    id: int = primary()


def good_record(**overrides: Any) -> ErrorsRecord:
    values: dict[str, Any] = {"name": "ok", "age": 1, "price": decimal.Decimal("9.99")}
    values.update(overrides)
    return ErrorsRecord(**values)


BAD_VALUES: dict[str, dict[str, Any]] = {
    "wrong_type": {"age": "forty"},
    "float_for_int": {"age": 1.5},
    "bool_for_int": {"age": True},
    "none_for_non_null": {"name": None},
    "str_too_long": {"name": "x" * 11},
    "decimal_too_many_places": {"price": decimal.Decimal("1.001")},
    "decimal_too_many_digits": {"price": decimal.Decimal("1234567.5")},
    "float_for_decimal": {"price": 1.5},
    "naive_datetime_for_aware_field": {"at": datetime.datetime(2024, 1, 1, 12, 0)},
    "date_for_datetime": {"at": datetime.date(2024, 1, 1)},
    "int_for_str": {"note": 5},
    "int_out_of_64_bit_range": {"age": 2**63},
    "nul_character_in_str": {"name": "a\x00b"},
    "nan_float": {"ratio": float("nan")},
    "infinite_float": {"ratio": float("inf")},
    # issue 15 item 8: untyped escapes, each backend differing, now ValidationError everywhere
    "int_overflowing_a_float": {"ratio": 10**400},
    "int_2_pow_63_for_float": {"ratio": 2**63},
    "int_a_float_rounds": {"ratio": 2**53 + 1},
    "lone_surrogate_in_str": {"name": "\ud800"},
    "lone_surrogate_in_nullable_str": {"note": "é\udfff"},
    "nan_in_json": {"doc": {"x": float("nan")}},
    "infinity_in_json": {"doc": {"x": [1.0, float("inf")]}},
    "surrogate_in_json": {"doc": {"x": "\ud800"}},
    "not_json_serializable": {"doc": {"x": object()}},
    # issue 15 item 7: PostgreSQL's driver stores these as -infinity/infinity
    "naive_datetime_min": {"local": datetime.datetime.min},
    "naive_datetime_max": {"local": datetime.datetime.max},
    "aware_datetime_min": {"at": datetime.datetime.min.replace(tzinfo=UTC)},
    "aware_datetime_max": {"at": datetime.datetime.max.replace(tzinfo=UTC)},
    "aware_datetime_before_utc_min": {
        "at": datetime.datetime(
            1, 1, 1, 0, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=1))
        )
    },
}


def assert_translated(exc: BaseException, cls: type[DatabaseError]) -> None:
    """``exc`` is ``cls``, in the DatabaseError/OrmerError tree, chained to the driver's error."""
    assert isinstance(exc, cls)
    assert isinstance(exc, DatabaseError)
    assert isinstance(exc, OrmerError)
    cause = exc.__cause__
    assert cause is not None, f"{type(exc).__name__} is not chained to the driver exception"
    assert isinstance(cause, Exception)
    assert not isinstance(cause, OrmerError), f"chained to {type(cause)!r}, not a driver error"
    assert not type(cause).__module__.startswith("ormer"), type(cause).__module__
    assert str(exc), "the error carries the server's message"


async def assert_usable(db: Connection) -> None:
    """The connection still runs statements and is not inside a transaction."""
    assert not db.in_transaction
    assert not db.is_closed
    rows = await db.exec_rows("SELECT 1")
    assert [tuple(int(v) for v in r) for r in rows] == [(1,)]


def sql_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "ormer.sql"]


class TestErrors(SuiteBase):
    """The same violation raises the same ormer error on every backend."""

    @pytest.mark.parametrize("case", list(BAD_VALUES))
    async def test_validation_error_before_any_sql(
        self, db: Connection, caplog: pytest.LogCaptureFixture, case: str
    ) -> None:
        await fresh_tables(db, ErrorsRecord)
        caplog.set_level(logging.DEBUG, logger="ormer.sql")
        # control: a statement that runs is logged
        caplog.clear()
        assert await db.select(ErrorsRecord).count() == 0
        assert sql_records(caplog), "ormer.sql logged no statement: the check below means nothing"

        bad = good_record(**BAD_VALUES[case])
        caplog.clear()
        with pytest.raises(ValidationError) as info:
            await db.insert(bad)
        assert sql_records(caplog) == [], "SQL was sent before the ValidationError"
        assert "ErrorsRecord." in str(info.value), "the message names the field"
        assert not isinstance(info.value, DatabaseError)
        assert bad.id is None
        # upserts validate the same way
        caplog.clear()
        with pytest.raises(ValidationError):
            await db.insert_or_update(bad)
        assert sql_records(caplog) == []
        assert not db.in_transaction
        assert await db.select(ErrorsRecord).count() == 0

    async def test_validation_error_in_a_batch_inserts_nothing(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        await fresh_tables(db, ErrorsRecord)
        caplog.set_level(logging.DEBUG, logger="ormer.sql")
        good = [good_record(name=f"g{i}") for i in range(1500)]
        batch = [*good, good_record(age="bad")]
        caplog.clear()
        with pytest.raises(ValidationError):
            await db.insert(batch)
        assert sql_records(caplog) == []
        assert all(g.id is None for g in good)
        assert not db.in_transaction
        assert await db.select(ErrorsRecord).count() == 0
        # the same objects without the bad one insert fine
        assert await db.insert(good) == 1500
        assert await db.select(ErrorsRecord).count() == 1500

    async def test_lone_surrogate_in_a_filter_is_a_validation_error(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        await fresh_tables(db, ErrorsRecord)
        await db.insert(good_record(name="é"))
        caplog.set_level(logging.DEBUG, logger="ormer.sql")
        caplog.clear()
        with pytest.raises(ValidationError):
            db.select(ErrorsRecord).filter(ErrorsRecord.name == "é\ud800")
        with pytest.raises(ValidationError):
            db.select(ErrorsRecord).filter(ErrorsRecord.note.in_(["ok", "\udfff"]))
        assert sql_records(caplog) == []
        assert await db.select(ErrorsRecord.name).scalars().collect() == ["é"]

    async def test_datetimes_next_to_the_extremes_round_trip_exactly(self, db: Connection) -> None:
        """datetime.min/max are refused (above); the values next to them are stored exactly,
        naive and aware, and read back with their kind (aware as aware)."""
        await fresh_tables(db, ErrorsRecord)
        tick = datetime.timedelta(microseconds=1)
        low = datetime.datetime.min + tick
        high = datetime.datetime.max - tick
        plus1 = datetime.timezone(datetime.timedelta(hours=1))
        cases = [
            (low, low.replace(tzinfo=UTC)),
            (high, high.replace(tzinfo=UTC)),
            (low, datetime.datetime(1, 1, 1, 1, 0, 0, 1, tzinfo=plus1)),
        ]
        for i, (local, at) in enumerate(cases):
            await db.insert(good_record(name=f"r{i}", local=local, at=at))
        rows = await db.select(ErrorsRecord).order_by(ErrorsRecord.id).collect()
        assert [(r.local, r.at) for r in rows] == cases
        for r in rows:
            assert r.local is not None and r.local.tzinfo is None
            assert r.at.tzinfo is not None
            assert r.at.utcoffset() == datetime.timedelta(0)
        # and they meet themselves in a filter
        found = (
            await db.select(ErrorsRecord.name)
            .filter(ErrorsRecord.at == high.replace(tzinfo=UTC))
            .scalars()
            .collect()
        )
        assert found == ["r1"]

    async def test_validation_error_on_update_set(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        await fresh_tables(db, ErrorsRecord)
        await db.insert(good_record())
        caplog.set_level(logging.DEBUG, logger="ormer.sql")
        caplog.clear()
        with pytest.raises(ValidationError):
            db.update(ErrorsRecord).filter(ErrorsRecord.name == "ok").set(
                ErrorsRecord.at, datetime.datetime(2024, 5, 1)
            )
        with pytest.raises(ValidationError):
            db.update(ErrorsRecord).filter(ErrorsRecord.name == "ok").set(ErrorsRecord.age, None)
        assert sql_records(caplog) == []
        (row,) = await db.select(ErrorsRecord).collect()
        assert (row.age, row.at) == (1, datetime.datetime(2024, 1, 1, tzinfo=UTC))

    async def test_unique_violation(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent)
        await db.insert(ErrorsParent(code="A"))
        with pytest.raises(UniqueViolationError) as info:
            await db.insert(ErrorsParent(code="A"))
        assert_translated(info.value, UniqueViolationError)
        assert isinstance(info.value, IntegrityError)
        await assert_usable(db)
        assert await db.select(ErrorsParent.code).scalars().collect() == ["A"]
        # a primary-key duplicate is a unique violation too
        (existing,) = await db.select(ErrorsParent).collect()
        with pytest.raises(UniqueViolationError) as info:
            await db.insert(ErrorsParent(id=existing.id, code="B"))
        assert_translated(info.value, UniqueViolationError)
        # and so is an update that creates a duplicate
        await db.insert(ErrorsParent(code="C"))
        with pytest.raises(UniqueViolationError) as info:
            await (
                db.update(ErrorsParent).filter(ErrorsParent.code == "C").set(ErrorsParent.code, "A")
            )
        assert_translated(info.value, UniqueViolationError)
        await assert_usable(db)
        assert sorted(await db.select(ErrorsParent.code).scalars().collect()) == ["A", "C"]

    async def test_foreign_key_violation(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent, ErrorsChild)
        parent = ErrorsParent(code="P")
        await db.insert(parent)
        assert parent.id is not None
        with pytest.raises(ForeignKeyViolationError) as info:
            await db.insert(ErrorsChild(parent_id=parent.id + 999))
        assert_translated(info.value, ForeignKeyViolationError)
        assert isinstance(info.value, IntegrityError)
        await assert_usable(db)
        assert await db.select(ErrorsChild).count() == 0
        child = ErrorsChild(parent_id=parent.id)
        await db.insert(child)
        assert await db.select(ErrorsChild).collect() == [child]

    async def test_not_null_violation_from_raw_sql(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsNotNull)
        q, ph = db.dialect.quote, db.dialect.placeholder
        insert = (
            f"INSERT INTO {q('suite_errors_not_null')} ({q('id')}, {q('name')}, {q('qty')}) "
            f"VALUES ({ph(1)}, {ph(2)}, {ph(3)})"
        )
        with pytest.raises(NotNullViolationError) as info:
            await db.exec_non_query(insert, [1, None, 5])
        assert_translated(info.value, NotNullViolationError)
        assert isinstance(info.value, IntegrityError)
        await assert_usable(db)
        assert await db.select(ErrorsNotNull).count() == 0
        with pytest.raises(NotNullViolationError) as info:
            await db.exec_non_query(insert, [2, "named", None])
        assert_translated(info.value, NotNullViolationError)
        # the same statement with values is fine: only the NULLs were refused
        assert await db.exec_non_query(insert, [3, "kept", 7]) == 1
        assert await db.select(ErrorsNotNull).collect() == [ErrorsNotNull(id=3, name="kept", qty=7)]
        # an update to NULL is refused by the database too
        with pytest.raises(NotNullViolationError):
            await db.exec_non_query(
                f"UPDATE {q('suite_errors_not_null')} SET {q('qty')} = {ph(1)}", [None]
            )
        assert await db.select(ErrorsNotNull.qty).scalars().collect() == [7]

    @pytest.mark.parametrize("case", ["syntax", "unknown_table", "unknown_column"])
    async def test_query_error(self, db: Connection, case: str) -> None:
        await fresh_tables(db, ErrorsParent)
        q = db.dialect.quote
        sql = {
            "syntax": "SELEC 1",
            "unknown_table": f"SELECT * FROM {q('suite_errors_no_such_table')}",
            # qualified: SQLite reads an unknown bare "name" as a string literal
            "unknown_column": (
                f"SELECT {q('suite_errors_parent')}.{q('no_such_column')} "
                f"FROM {q('suite_errors_parent')}"
            ),
        }[case]
        with pytest.raises(QueryError) as info:
            await db.exec_rows(sql)
        assert_translated(info.value, QueryError)
        assert not isinstance(info.value, IntegrityError)
        await assert_usable(db)
        await db.insert(ErrorsParent(code="after"))
        assert await db.select(ErrorsParent.code).scalars().collect() == ["after"]

    async def test_query_error_from_the_orm(self, db: Connection) -> None:
        await db.drop_table(ErrorsMissing, if_exists=True)
        with pytest.raises(QueryError) as info:
            await db.select(ErrorsMissing).collect()
        assert_translated(info.value, QueryError)
        with pytest.raises(QueryError) as info:
            await db.insert(ErrorsMissing(id=1))
        assert_translated(info.value, QueryError)
        with pytest.raises(QueryError):
            await db.drop_table(ErrorsMissing, if_exists=False)
        await assert_usable(db)

    async def test_connection_works_after_each_failure(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent, ErrorsChild)
        parent = ErrorsParent(code="P")
        await db.insert(parent)
        q = db.dialect.quote
        failures: list[tuple[Any, type[DatabaseError]]] = [
            (lambda: db.insert(ErrorsParent(code="P")), UniqueViolationError),
            (lambda: db.insert(ErrorsChild(parent_id=-1)), ForeignKeyViolationError),
            (lambda: db.exec_rows("SELEC 1"), QueryError),
            (lambda: db.exec_rows(f"SELECT * FROM {q('suite_errors_nothing')}"), QueryError),
        ]
        for round_ in range(2):
            for make, cls in failures:
                with pytest.raises(cls):
                    await make()
                await assert_usable(db)
            await db.insert(ErrorsParent(code=f"round{round_}"))
        assert sorted(await db.select(ErrorsParent.code).scalars().collect()) == [
            "P",
            "round0",
            "round1",
        ]

    async def test_failed_statement_in_transaction_rolls_back(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent)
        await db.insert(ErrorsParent(code="before"))

        async def work() -> None:
            async with db.transaction():
                await db.insert(ErrorsParent(code="inside"))
                await db.insert(ErrorsParent(code="before"))

        with pytest.raises(UniqueViolationError) as info:
            await work()
        assert_translated(info.value, UniqueViolationError)
        await assert_usable(db)
        assert await db.select(ErrorsParent.code).scalars().collect() == ["before"]
        # the next transaction on the same connection commits normally
        async with db.transaction():
            await db.insert(ErrorsParent(code="after"))
        assert sorted(await db.select(ErrorsParent.code).scalars().collect()) == ["after", "before"]

    async def test_caught_failure_then_block_exception_rolls_back(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent)

        class Abort(Exception):
            pass

        async def work() -> None:
            async with db.transaction():
                await db.insert([ErrorsParent(code="one"), ErrorsParent(code="two")])
                await (
                    db.update(ErrorsParent)
                    .filter(ErrorsParent.code == "one")
                    .set(ErrorsParent.code, "uno")
                )
                with pytest.raises(QueryError):
                    await db.exec_rows("SELEC 1")
                raise Abort

        with pytest.raises(Abort):
            await work()
        await assert_usable(db)
        assert await db.select(ErrorsParent).count() == 0
        async with db.transaction():
            await db.insert(ErrorsParent(code="three"))
        assert await db.select(ErrorsParent.code).scalars().collect() == ["three"]

    @lacks("savepoints")
    async def test_savepoint_not_supported(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent)
        async with db.transaction():
            await db.insert(ErrorsParent(code="outer"))
            with pytest.raises(NotSupportedError, match="savepoints"):
                async with db.transaction():
                    await db.insert(ErrorsParent(code="inner"))
        await assert_usable(db)
        assert await db.select(ErrorsParent.code).scalars().collect() == ["outer"]

    @requires("savepoints")
    async def test_failure_inside_savepoint(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent)

        async def nested() -> None:
            async with db.transaction():
                await db.insert(ErrorsParent(code="inner"))
                await db.insert(ErrorsParent(code="outer"))

        async with db.transaction():
            await db.insert(ErrorsParent(code="outer"))
            with pytest.raises(UniqueViolationError):
                await nested()
            # the outer transaction goes on after the savepoint rolled back
            await db.insert(ErrorsParent(code="outer2"))
        await assert_usable(db)
        assert sorted(await db.select(ErrorsParent.code).scalars().collect()) == ["outer", "outer2"]

    async def test_manual_transaction_after_failure(self, db: Connection) -> None:
        await fresh_tables(db, ErrorsParent)
        tx = await db.begin()
        await db.insert(ErrorsParent(code="x"))
        with pytest.raises(UniqueViolationError):
            await db.insert(ErrorsParent(code="x"))
        await tx.rollback()
        await assert_usable(db)
        assert await db.select(ErrorsParent).count() == 0

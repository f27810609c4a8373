# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (User.age.in_(...)) and operators on them are unknown to mypy here; see ormer.col().
"""Compliance suite: raw SQL, schema helpers, closing, logging and hooks (docs/raw-sql.md)."""

from __future__ import annotations

import datetime
import decimal
import logging
from typing import Any

import pytest

import ormer.errors
import ormer.plugins
from ormer import Connection, Database, DatabaseError, Model, field, primary
from ormer.hookspecs import hookimpl
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestRawSQL"]

D = decimal.Decimal
TABLE = "suite_raw_sql_item"


class RItem(Model, table="suite_raw_sql_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=100)
    qty: int
    price: decimal.Decimal | None = field(default=None, max_digits=10, decimal_places=2)
    day: datetime.date | None = None
    flag: bool = False
    note: str | None = None


class RMissing(Model, table="suite_raw_sql_never_created"):
    id: int = primary()


def sql_parts(db: Connection) -> tuple[Any, Any, str]:
    """``(q, ph, table)``: the dialect's identifier quoting, placeholder and the quoted table."""
    return db.dialect.quote, db.dialect.placeholder, db.dialect.quote(TABLE)


async def seed(db: Connection) -> list[RItem]:
    await fresh_tables(db, RItem)
    items = [
        RItem(
            name="apple",
            qty=3,
            price=D("1.25"),
            day=datetime.date(2024, 5, 1),
            flag=True,
            note="red",
        ),
        RItem(name="pear", qty=0, price=D("2.50"), day=datetime.date(2024, 5, 2)),
        RItem(name="plum", qty=12, price=D("0.75"), day=datetime.date(2024, 6, 30), flag=True),
    ]
    await db.insert(items)
    return items


class Tracer:
    """A plugin recording what the per-statement hooks see."""

    def __init__(self) -> None:
        self.before: list[tuple[str, Any, Any]] = []
        self.after: list[dict[str, Any]] = []

    @hookimpl
    def ormer_before_execute(self, sql: str, params: Any, dialect: Any) -> None:
        self.before.append((sql, params, dialect))

    @hookimpl
    def ormer_after_execute(
        self,
        sql: str,
        params: Any,
        dialect: Any,
        elapsed: float,
        rowcount: int,
        error: BaseException | None,
    ) -> None:
        self.after.append(
            {
                "sql": sql,
                "params": params,
                "dialect": dialect,
                "elapsed": elapsed,
                "rowcount": rowcount,
                "error": error,
            }
        )


class TestRawSQL(SuiteBase):
    """docs/raw-sql.md, docs/logging.md: exec_* calls, DDL helpers, close, logging."""

    async def test_exec_table_maps_columns_by_name(self, db: Connection) -> None:
        items = await seed(db)
        q, ph, table = sql_parts(db)
        # columns deliberately in another order than the model declares them
        cols = ", ".join(q(c) for c in ("note", "flag", "day", "price", "qty", "name", "id"))
        sql = f"SELECT {cols} FROM {table} WHERE {q('qty')} >= {ph(1)} ORDER BY {q('id')}"
        got = await db.exec_table(RItem, sql, [1])
        assert got == [items[0], items[2]]
        first = got[0]
        assert isinstance(first, RItem)
        assert type(first.id) is int
        assert type(first.qty) is int
        assert type(first.price) is decimal.Decimal
        assert first.price == D("1.25")
        assert type(first.day) is datetime.date
        assert first.day == datetime.date(2024, 5, 1)
        assert first.flag is True
        assert got[1].note is None
        star = await db.exec_table(RItem, f"SELECT * FROM {table} ORDER BY {q('id')}")
        assert star == items
        none = await db.exec_table(
            RItem, f"SELECT * FROM {table} WHERE {q('qty')} > {ph(1)}", [1000]
        )
        assert none == []

    async def test_exec_non_query_returns_affected_rows(self, db: Connection) -> None:
        await seed(db)
        q, ph, table = sql_parts(db)
        n = await db.exec_non_query(
            f"UPDATE {table} SET {q('qty')} = {q('qty')} + {ph(1)} WHERE {q('qty')} >= {ph(2)}",
            [10, 1],
        )
        assert n == 2
        assert await db.select(RItem.qty).order_by(RItem.id).scalars().collect() == [13, 0, 22]
        assert (
            await db.exec_non_query(
                f"UPDATE {table} SET {q('note')} = {ph(1)} WHERE {q('qty')} > {ph(2)}", ["x", 1000]
            )
            == 0
        )
        # raw SQL binds what the driver binds: ints and strings everywhere
        inserted = await db.exec_non_query(
            f"INSERT INTO {table} ({q('name')}, {q('qty')}, {q('note')}, {q('flag')}) "
            f"VALUES ({ph(1)}, {ph(2)}, {ph(3)}, {ph(4)})",
            ["fig", 7, "green", False],
        )
        assert inserted == 1
        fig = await db.select(RItem).filter(RItem.name == "fig").first()
        assert fig is not None
        assert (fig.qty, fig.note, fig.price, fig.day) == (
            7,
            "green",
            None,
            None,
        )
        assert fig.flag is False
        deleted = await db.exec_non_query(f"DELETE FROM {table} WHERE {q('qty')} < {ph(1)}", [10])
        assert deleted == 2  # pear (0) and fig (7)
        # params are optional
        assert await db.exec_non_query(f"UPDATE {table} SET {q('qty')} = 1") == 2
        assert await db.select(RItem.qty).scalars().collect() == [1, 1]

    async def test_exec_rows_returns_tuples(self, db: Connection) -> None:
        await seed(db)
        q, ph, table = sql_parts(db)
        rows = await db.exec_rows(
            f"SELECT {q('name')}, {q('qty')} FROM {table} WHERE {q('qty')} > {ph(1)} "
            f"ORDER BY {q('name')}",
            [0],
        )
        assert rows == [("apple", 3), ("plum", 12)]
        assert all(type(r) is tuple for r in rows)
        assert await db.exec_rows(f"SELECT COUNT(*) FROM {table}") == [(3,)]
        assert await db.exec_rows(f"SELECT COUNT(*) FROM {table}", None) == [(3,)]
        assert await db.exec_rows(f"SELECT {q('name')} FROM {table} WHERE {q('id')} < 0") == []
        assert await db.exec_rows(
            f"SELECT {q('name')} FROM {table} WHERE {q('name')} = {ph(1)} OR {q('name')} = {ph(2)} "
            f"ORDER BY {q('name')}",
            ("plum", "apple"),
        ) == [("apple",), ("plum",)]

    async def test_values_are_bound_not_interpolated(self, db: Connection) -> None:
        await seed(db)
        q, ph, table = sql_parts(db)
        tricky = [
            "O'Brien",
            "x'); DROP TABLE suite_raw_sql_item; --",
            "' OR '1'='1",
            'back\\slash "double" ?',
        ]
        for i, text in enumerate(tricky):
            await db.exec_non_query(
                f"INSERT INTO {table} ({q('name')}, {q('qty')}, {q('flag')}) "
                f"VALUES ({ph(1)}, {ph(2)}, {ph(3)})",
                [text, 100 + i, True],
            )
        for text in tricky:
            rows = await db.exec_rows(
                f"SELECT {q('name')} FROM {table} WHERE {q('name')} = {ph(1)}", [text]
            )
            assert rows == [(text,)]
        # an injection attempt in a WHERE parameter matches nothing instead of everything
        assert (
            await db.exec_rows(
                f"SELECT {q('name')} FROM {table} WHERE {q('name')} = {ph(1)}",
                ["nothing' OR '1'='1"],
            )
            == []
        )
        # the table is still there, with every row
        assert await db.select(RItem).count() == 3 + len(tricky)
        stored = (
            await db.select(RItem.name)
            .filter(RItem.qty >= 100)
            .order_by(RItem.qty)
            .scalars()
            .collect()
        )
        assert stored == tricky

    async def test_create_and_drop_table_idempotent(self, db: Connection) -> None:
        await seed(db)
        await db.create_table(RItem, if_not_exists=True)
        await db.create_table(RItem, if_not_exists=True)
        assert await db.select(RItem).count() == 3  # existing rows survive
        await db.drop_table(RMissing, if_exists=True)
        await db.drop_table(RMissing, if_exists=True)
        with pytest.raises(DatabaseError):
            await db.create_table(RItem, if_not_exists=False)
        with pytest.raises(DatabaseError):
            await db.drop_table(RMissing, if_exists=False)
        await db.drop_table(RItem, if_exists=True)
        with pytest.raises(DatabaseError):
            await db.select(RItem).count()
        await db.create_table(RItem)
        assert await db.select(RItem).count() == 0

    async def test_connection_context_manager_closes(self, db: Connection, ormer_url: str) -> None:
        await seed(db)
        async with await Database.connect(ormer_url) as db2:
            assert not db2.is_closed
            assert await db2.select(RItem).count() == 3
            assert await db2.exec_rows("SELECT 1") == [(1,)]
        assert db2.is_closed
        with pytest.raises(ormer.errors.ConnectionError):
            await db2.select(RItem).count()
        with pytest.raises(ormer.errors.ConnectionError):
            await db2.exec_rows("SELECT 1")
        with pytest.raises(ormer.errors.ConnectionError):
            await db2.insert(RItem(name="late", qty=1, price=D("1"), day=datetime.date.today()))
        assert not issubclass(ormer.errors.ConnectionError, ConnectionError)
        # closing on error exits too, and the error propagates
        with pytest.raises(ZeroDivisionError):  # noqa: PT012
            async with await Database.connect(ormer_url) as db3:
                assert await db3.select(RItem).count() == 3
                _ = 1 / 0
        assert db3.is_closed
        # the first connection is unaffected
        assert await db.select(RItem).count() == 3

    async def test_close_twice(self, db: Connection, ormer_url: str) -> None:
        other = await Database.connect(ormer_url)
        assert await other.exec_rows("SELECT 1") == [(1,)]
        await other.close()
        await other.close()
        assert other.is_closed
        with pytest.raises(ormer.errors.ConnectionError):
            await other.exec_rows("SELECT 1")
        assert await db.exec_rows("SELECT 2") == [(2,)]
        await db.close()
        await db.close()  # and the fixture closes it a third time
        assert db.is_closed
        with pytest.raises(ormer.errors.ConnectionError):
            await db.exec_non_query("SELECT 1")

    async def test_sql_logger(self, db: Connection, caplog: pytest.LogCaptureFixture) -> None:
        await seed(db)
        q, ph, table = sql_parts(db)
        caplog.set_level(logging.DEBUG, logger="ormer.sql")
        caplog.clear()
        query = db.select(RItem.name).filter(RItem.qty > 1).order_by(RItem.name)
        select_sql, _ = query.sql()
        assert await query.scalars().collect() == ["apple", "plum"]
        raw = f"SELECT {q('qty')} FROM {table} WHERE {q('name')} = {ph(1)}"
        assert await db.exec_rows(raw, ["pear"]) == [(0,)]
        assert await db.update(RItem).filter(RItem.name == "pear").set(RItem.qty, 5).execute() == 1
        records = [r for r in caplog.records if r.name == "ormer.sql"]
        assert len(records) == 3, [r.getMessage() for r in records]
        assert all(r.levelno == logging.DEBUG for r in records)
        assert select_sql in records[0].getMessage()
        assert raw in records[1].getMessage()
        assert "UPDATE" in records[2].getMessage().upper()
        assert table in records[2].getMessage()
        # nothing is logged above DEBUG for ordinary statements
        caplog.clear()
        caplog.set_level(logging.INFO, logger="ormer.sql")
        assert await db.select(RItem).count() == 3
        assert [r for r in caplog.records if r.name == "ormer.sql"] == []

    async def test_execute_hooks(self, db: Connection) -> None:
        await seed(db)
        q, ph, table = sql_parts(db)
        tracer = Tracer()
        name = ormer.plugins.register(tracer, name="suite_raw_sql_tracer")
        try:
            query = db.select(RItem).filter(RItem.qty >= 0).order_by(RItem.id)
            select_sql, select_params = query.sql()
            rows = await query.collect()
            assert len(rows) == 3
            n = await db.exec_non_query(
                f"UPDATE {table} SET {q('qty')} = {ph(1)} WHERE {q('qty')} > {ph(2)}", [1, 0]
            )
            assert n == 2
            with pytest.raises(DatabaseError):
                await db.exec_rows(f"SELECT * FROM {q('suite_raw_sql_no_such_table')}")
        finally:
            ormer.plugins.unregister(name)
        assert len(tracer.before) == 3
        assert len(tracer.after) == 3
        sql, params, dialect = tracer.before[0]
        assert sql == select_sql
        assert list(params) == select_params
        assert dialect is db.dialect
        first = tracer.after[0]
        assert first["sql"] == select_sql
        assert first["dialect"] is db.dialect
        assert first["rowcount"] == 3
        assert first["error"] is None
        assert isinstance(first["elapsed"], float)
        assert first["elapsed"] >= 0
        second = tracer.after[1]
        assert "UPDATE" in second["sql"].upper()
        assert second["rowcount"] == 2
        assert list(second["params"]) == [1, 0]
        assert second["error"] is None
        third = tracer.after[2]
        assert "suite_raw_sql_no_such_table" in third["sql"]
        assert isinstance(third["error"], DatabaseError)
        # unregistered: no more calls
        assert await db.select(RItem).count() == 3
        await db.exec_non_query(f"UPDATE {table} SET {q('qty')} = 9")
        assert len(tracer.before) == 3
        assert len(tracer.after) == 3
        assert await db.select(RItem.qty).scalars().collect() == [9, 9, 9]

"""MySQL/MariaDB and statement timeouts: KILL QUERY on a side connection, error 1317,
and what a timeout does to a transaction (only the statement is rolled back)."""

from __future__ import annotations

import pytest

from ormer import Database, Model, StatementTimeoutError, primary
from ormer.testing.base import fresh_tables

pytestmark = pytest.mark.mysql


class MyTimed(Model, table="my_timeout_item"):
    id: int = primary(auto=True)
    n: int


async def test_kill_query_keeps_the_session(mysql_url: str) -> None:
    async with await Database.connect(mysql_url) as db:
        [(cid,)] = await db.exec_rows("SELECT CONNECTION_ID()")
        with pytest.raises(StatementTimeoutError) as info:
            await db.exec_rows("SELECT SLEEP(5)", timeout=0.2)
        assert info.value.sqlstate == "1317"  # Query execution was interrupted
        assert info.value.timeout == 0.2
        assert await db.exec_rows("SELECT CONNECTION_ID()") == [(cid,)]


async def test_a_timeout_rolls_back_only_the_statement(mysql_url: str) -> None:
    """MariaDB/MySQL roll back the interrupted statement only: the transaction goes on
    and commits its other writes."""
    async with await Database.connect(mysql_url) as db:
        await fresh_tables(db, MyTimed)
        async with db.transaction():
            await db.insert(MyTimed(n=1))
            with pytest.raises(StatementTimeoutError):
                await db.exec_rows("SELECT SLEEP(5)", timeout=0.2)
            assert db.in_transaction
            await db.insert(MyTimed(n=2))
        assert sorted(t.n for t in await db.select(MyTimed).collect()) == [1, 2]

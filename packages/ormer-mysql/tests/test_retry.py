"""run_transaction retries a real InnoDB deadlock on MariaDB/MySQL, on both drivers."""

from __future__ import annotations

import asyncio

import pytest

from ormer import Connection, Database, Model, TransientError, primary
from ormer.testing import fresh_tables

pytestmark = pytest.mark.mysql

FILLER = 30  # rows the other writer changes first: InnoDB picks the lighter side as victim


class RetryCounter(Model, table="retry_counter"):
    id: int = primary()
    n: int = 0


class RetryFiller(Model, table="retry_filler"):
    id: int = primary()


async def wait_for_lock_wait(watcher: Connection) -> None:
    """Until a transaction waits for a row lock (InnoDB's own view), at most 6 s.

    InnoDB refreshes its INNODB_TRX snapshot only when nobody has read it for
    100 ms, so polling faster than that can keep a stale "nobody waits" forever.
    """
    for _ in range(40):
        rows = await watcher.exec_rows(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'"
        )
        if rows[0][0]:
            return
        await asyncio.sleep(0.15)
    pytest.fail("the other writer never waited for counter 1")


async def heavy_writer(a: Connection, started: asyncio.Event) -> None:
    """Changes many rows and counter 2, then waits for counter 1 (which b holds)."""
    async with a.transaction():
        await a.insert([RetryFiller(id=i) for i in range(FILLER)])
        await (
            a.update(RetryCounter)
            .filter(RetryCounter.id == 2)
            .set(RetryCounter.n, RetryCounter.n + 100)
            .execute()
        )
        started.set()
        await (
            a.update(RetryCounter)
            .filter(RetryCounter.id == 1)
            .set(RetryCounter.n, RetryCounter.n + 100)
            .execute()
        )


async def test_run_transaction_retries_a_deadlock(mysql_url: str) -> None:
    async with (
        await Database.connect(mysql_url) as a,
        await Database.connect(mysql_url) as b,
        await Database.connect(mysql_url) as watcher,
    ):
        await fresh_tables(a, RetryCounter, RetryFiller)
        await a.insert([RetryCounter(id=1), RetryCounter(id=2)])
        attempts = 0
        other: asyncio.Task[None] | None = None

        async def bump_both(conn: Connection) -> int:
            nonlocal attempts, other
            attempts += 1
            inc = RetryCounter.n + 1
            await (
                conn.update(RetryCounter)
                .filter(RetryCounter.id == 1)
                .set(RetryCounter.n, inc)
                .execute()
            )
            if attempts == 1:  # the heavy writer locks counter 2 and queues on counter 1
                started = asyncio.Event()
                other = asyncio.create_task(heavy_writer(a, started))
                await started.wait()
                await wait_for_lock_wait(watcher)
            # attempt 1: a deadlock (InnoDB rolls this lighter transaction back)
            await (
                conn.update(RetryCounter)
                .filter(RetryCounter.id == 2)
                .set(RetryCounter.n, inc)
                .execute()
            )
            return attempts

        assert await b.run_transaction(bump_both) == 2
        assert other is not None
        await other  # the heavy writer was not the victim: it committed
        rows = await a.select(RetryCounter).order_by(RetryCounter.id).collect()
        assert [(r.id, r.n) for r in rows] == [(1, 101), (2, 101)]
        assert await a.select(RetryFiller).count() == FILLER


async def test_deadlock_without_retries_is_raised(mysql_url: str) -> None:
    async with (
        await Database.connect(mysql_url) as a,
        await Database.connect(mysql_url) as b,
        await Database.connect(mysql_url) as watcher,
    ):
        await fresh_tables(a, RetryCounter, RetryFiller)
        await a.insert([RetryCounter(id=1), RetryCounter(id=2)])
        other: asyncio.Task[None] | None = None

        async def bump_both(conn: Connection) -> None:
            nonlocal other
            await (
                conn.update(RetryCounter)
                .filter(RetryCounter.id == 1)
                .set(RetryCounter.n, 1)
                .execute()
            )
            started = asyncio.Event()
            other = asyncio.create_task(heavy_writer(a, started))
            await started.wait()
            await wait_for_lock_wait(watcher)
            await (
                conn.update(RetryCounter)
                .filter(RetryCounter.id == 2)
                .set(RetryCounter.n, 1)
                .execute()
            )

        with pytest.raises(TransientError, match=r"(?i)deadlock") as info:
            await b.run_transaction(bump_both, retries=0)
        assert info.value.sqlstate == "1213"
        assert other is not None
        await other
        assert not b.in_transaction
        rows = await b.select(RetryCounter).order_by(RetryCounter.id).collect()
        assert [(r.id, r.n) for r in rows] == [(1, 100), (2, 100)]  # none of b's writes

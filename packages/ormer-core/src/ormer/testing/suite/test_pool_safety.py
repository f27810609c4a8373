"""Compliance suite: first-hour pool mistakes get a fast, clear answer.

* A task that already holds every connection of the pool and asks the pool for
  another (``pool.select(...)`` inside ``async with pool.get() as conn`` with
  ``max_size=1``) would wait on itself until ``acquire_timeout``: it fails at
  once with ``PoolExhaustedByTaskError``. A connection held by another task,
  or a connect in flight, still makes it wait.
* A borrowed connection garbage-collected without release warns, and with
  ``ORMER_DEBUG=1`` the warning shows the borrower's own frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ormer import (
    Database,
    Model,
    Pool,
    PooledConnection,
    PoolExhaustedByTaskError,
    PoolTimeoutError,
    field,
    primary,
)
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestPoolSafety"]

#: seconds a fail-fast must beat (acquire_timeout is far longer)
FAST = 5.0


class SafeItem(Model, table="suite_pool_safety_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=100)


@contextlib.asynccontextmanager
async def opened(
    url: str, max_size: int, acquire_timeout: float | None = 30
) -> AsyncIterator[Pool]:
    builder = Database.create_pool(url).max_size(max_size).acquire_timeout(acquire_timeout)
    pool = await builder.build()
    try:
        yield pool
    finally:
        await pool.close(timeout=10)


async def until_true(check: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def leak_a_connection_here(pool: Pool) -> PooledConnection:
    return await pool.get()


class TestPoolSafety(SuiteBase):
    """The pool's answers to a task starving itself, and the debug leak stack."""

    # -- a task holding every connection ------------------------------------------------
    async def test_pool_query_inside_the_only_connection_fails_fast(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1) as pool:
            async with pool.get() as conn:
                await fresh_tables(conn, SafeItem)
                await conn.insert(SafeItem(name="held"))
                start = time.monotonic()
                with pytest.raises(PoolExhaustedByTaskError) as info:
                    await pool.select(SafeItem).collect()
                assert time.monotonic() - start < FAST
                message = str(info.value)
                assert "this task already holds all 1 of the pool's connections" in message
                assert "conn.select(...)" in message
                assert "max_size" in message
                assert isinstance(info.value, PoolTimeoutError)  # caught as a timeout too
                # the connection held is untouched and the pool consistent
                assert [i.name for i in await conn.select(SafeItem).collect()] == ["held"]
                stats = pool.stats()
                assert (stats.size, stats.in_use, stats.waiting) == (1, 1, 0)
            assert [i.name for i in await pool.select(SafeItem).collect()] == ["held"]

    async def test_get_while_holding_every_connection_fails_fast(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2) as pool:
            first = await pool.get()
            second = await pool.get()
            start = time.monotonic()
            with pytest.raises(PoolExhaustedByTaskError, match="holds all 2"):
                await pool.get()
            assert time.monotonic() - start < FAST
            await first.release()
            async with pool.get() as third:  # a free connection again: no error
                assert await third.exec_rows("SELECT 1") == [(1,)]
            await second.release()
            assert pool.stats().in_use == 0

    async def test_fails_fast_even_without_acquire_timeout(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=None) as pool:
            async with pool.get():
                # asyncio.timeout, not wait_for: wait_for (before 3.12) runs its
                # awaitable in a new task, which holds nothing and rightly waits
                with pytest.raises(PoolExhaustedByTaskError):
                    async with asyncio.timeout(FAST):
                        await pool.exec_rows("SELECT 1")

    async def test_holding_some_connections_is_fine(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2) as pool:
            async with pool.get() as conn:
                await fresh_tables(conn, SafeItem)
                await pool.insert(SafeItem(name="through the pool"))
                assert [i.name for i in await conn.select(SafeItem).collect()] == [
                    "through the pool"
                ]

    async def test_waits_when_another_task_holds_a_connection(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            mine = await pool.get()
            borrowed = asyncio.Event()
            release = asyncio.Event()

            async def other_task() -> None:
                async with pool.get():
                    borrowed.set()
                    await release.wait()

            other = asyncio.create_task(other_task())
            await borrowed.wait()
            waiter = asyncio.create_task(pool.exec_rows("SELECT 2"))
            assert await until_true(lambda: pool.stats().waiting == 1)
            release.set()
            assert await asyncio.wait_for(waiter, 10) == [(2,)]
            await other
            await mine.release()

    async def test_waits_when_a_connect_is_in_flight(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            mine = await pool.get()

            async def other_task() -> list[tuple[Any, ...]]:
                async with pool.get() as conn:
                    return await conn.exec_rows("SELECT 3")

            other = asyncio.create_task(other_task())
            await asyncio.sleep(0)  # the other task takes the last slot and starts connecting
            stats = pool.stats()
            assert (stats.size, stats.in_use, stats.idle) == (2, 1, 0)  # a connect in flight
            async with pool.get(timeout=10) as conn:  # waits for it, no error
                assert await conn.exec_rows("SELECT 4") == [(4,)]
            assert await other == [(3,)]
            await mine.release()

    async def test_each_task_counts_its_own_connections(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            gate = asyncio.Barrier(2)

            async def hold_one_then_ask_again() -> list[tuple[Any, ...]]:
                async with pool.get():
                    await gate.wait()  # both tasks hold one: the pool is full
                    return await pool.exec_rows("SELECT 5")  # someone else may release

            async def hold_one_then_leave() -> None:
                async with pool.get():
                    await gate.wait()
                    await asyncio.sleep(0.05)

            asker = asyncio.create_task(hold_one_then_ask_again())
            await hold_one_then_leave()
            assert await asyncio.wait_for(asker, 10) == [(5,)]

    # -- the ORMER_DEBUG leak stack ---------------------------------------------------------
    async def test_debug_leak_warning_shows_the_borrowers_frames(
        self, ormer_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORMER_DEBUG", "1")
        async with opened(ormer_url, max_size=1) as pool:
            conn = await leak_a_connection_here(pool)
            gc.collect()
            with pytest.warns(ResourceWarning, match="garbage-collected") as record:
                del conn
                gc.collect()
            text = "\n".join(str(w.message) for w in record)
            _, _, where = text.partition("Acquired at:\n")
            frames = re.findall(r'File "[^"]+", line \d+, in (\w+)', where)
            # the borrower's frames, innermost last; not the pool's nor the event loop's
            assert frames[-2:] == [
                "test_debug_leak_warning_shows_the_borrowers_frames",
                "leak_a_connection_here",
            ], where
            assert "return await pool.get()" in where
            assert "base_events.py" not in where
            assert "_acquire" not in frames
            assert "(in task " in where
            assert await until_true(lambda: pool.stats().size == 0)

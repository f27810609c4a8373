"""Pooled connections killed on the server (pg_terminate_backend, MariaDB KILL)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from ormer import ConnectionLostError, Database, PooledConnection

from .conftest import Backend, bounded
from .workload import (
    Ledger,
    Tally,
    assert_pool_whole,
    assert_server_sessions,
    check_ledger,
    reset_table,
    until,
)

pytestmark = pytest.mark.faults

MAX_SIZE = 5
#: a killed statement must end (typed) within this
KILL_BOUND = 3.0


async def warm(pool: object, n: int) -> None:
    """Open n connections (n borrowed at once, then returned idle)."""
    conns = [await pool.get() for _ in range(n)]  # type: ignore[attr-defined]
    for c in conns:
        await c.exec_rows("SELECT 1")
        await c.release()


@bounded(60)
async def test_kill_idle_connections_reads_never_notice(
    backend: Backend, figure: Callable[[str], None]
) -> None:
    """Needs the pool's transparent retry of reads (issue 15 item 5): 20/20 reads succeed
    after every idle connection was killed inside the health-check window."""
    url = backend.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(MAX_SIZE).build() as pool:
        await warm(pool, 4)
        ids = await backend.session_ids()
        assert len(ids) == 4
        for sid in ids:
            await backend.kill(sid)
        assert await until(lambda: _none_of(backend, ids)), "the sessions were not killed"

        failures: list[BaseException] = []
        for _ in range(20):
            try:
                await pool.select(Ledger).collect()
            except Exception as exc:
                failures.append(exc)
        figure(f"{backend.name}: 4 idle connections killed, then 20 reads: {20 - len(failures)} ok")
        assert not failures, f"{len(failures)}/20 reads failed: {failures[:3]!r}"
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)


async def _none_of(backend: Backend, ids: list[int]) -> bool:
    return not set(ids) & set(await backend.session_ids())


@bounded(60)
async def test_kill_busy_connections(backend: Backend, figure: Callable[[str], None]) -> None:
    """Statements running when their session is killed raise ConnectionLostError (never a
    plain DatabaseError) within a bound; the pool discards them and serves on."""
    url = backend.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(MAX_SIZE).build() as pool:
        conns: list[PooledConnection] = [await pool.get() for _ in range(3)]
        sleepers = [asyncio.create_task(c.exec_rows(backend.sleep_sql.format(10))) for c in conns]
        assert await until(lambda: _count_is(backend, 3))
        await asyncio.sleep(0.2)  # the sleeps are running on the server
        killed_at = time.monotonic()
        for sid in await backend.session_ids():
            await backend.kill(sid)
        results = await asyncio.gather(*sleepers, return_exceptions=True)
        took = time.monotonic() - killed_at
        kinds = [type(r).__name__ for r in results]
        assert all(isinstance(r, ConnectionLostError) for r in results), kinds
        assert took <= KILL_BOUND, f"killed statements ended after {took:.2f}s"
        for c in conns:
            await c.release()
        rows = await pool.select(Ledger).collect()
        assert rows == []
        figure(f"{backend.name}: 3 busy statements killed, all ConnectionLostError in {took:.2f}s")
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)


async def _count_is(backend: Backend, n: int) -> bool:
    return len(await backend.session_ids()) == n


@bounded(60)
async def test_kill_inside_transaction_loses_it_whole(backend: Backend) -> None:
    """A session killed between the two inserts of a transfer: ConnectionLostError, and
    neither row is there; an acknowledged transfer before it is."""
    url = backend.url()
    await reset_table(url)
    tally = Tally()
    async with await Database.create_pool(url).max_size(MAX_SIZE).build() as pool:
        async with pool.get() as conn, conn.transaction():
            await conn.insert(Ledger(pair=1, amount=5))
            await conn.insert(Ledger(pair=1, amount=-5))
        tally.acked.add(1)
        tally.attempted.update({1, 2})

        async def killed_midway() -> None:
            async with pool.get() as conn, conn.transaction():
                await conn.insert(Ledger(pair=2, amount=5))
                (sid,) = await backend.session_ids()
                await backend.kill(sid)
                await conn.insert(Ledger(pair=2, amount=-5))

        with pytest.raises(ConnectionLostError):
            await killed_midway()
        counts = await check_ledger(url, tally)
        assert counts["pairs"] == 1
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)

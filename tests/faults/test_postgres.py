"""PostgreSQL only: the server refusing new connections (max_connections reached)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from ormer import Connection, ConnectionError, Database, PoolTimeoutError

from .conftest import Backend, bounded
from .workload import SLACK, Ledger, assert_pool_whole, assert_server_sessions, reset_table, timed

pytestmark = pytest.mark.faults

ACQUIRE = 5.0


async def _hog(backend: Backend) -> list[Connection]:
    """Open connections (another client) until the server refuses one."""
    held: list[Connection] = []
    url = backend.server.url("ormer_faults_hog")  # type: ignore[union-attr]
    for _ in range(100):
        try:
            held.append(await Database.connect(url, connect_timeout=5))
        except ConnectionError:
            return held
    raise AssertionError("the server never refused a connection")


async def _borrow(pool: object) -> None:
    async with pool.get() as conn:  # type: ignore[attr-defined]
        await conn.select(Ledger).count()
        await asyncio.sleep(0.05)


@bounded(90)
async def test_max_connections_callers_wait_for_the_pools_connections(
    pg: Backend, figure: Callable[[str], None]
) -> None:
    """Needs issue 15 item 6: a refused connect makes the caller wait (up to
    acquire_timeout) for a connection the pool holds, instead of failing at once."""
    url = pg.url()
    await reset_table(url)
    pool = await Database.create_pool(url).max_size(5).acquire_timeout(ACQUIRE).build()
    empty = await Database.create_pool(url).max_size(5).acquire_timeout(1).build()
    held: list[Connection] = []
    try:
        await asyncio.gather(*(_borrow(pool) for _ in range(2)))  # the pool holds 2
        assert pool.stats().size == 2
        held = await _hog(pg)
        start = time.monotonic()
        results = await asyncio.gather(*(_borrow(pool) for _ in range(20)), return_exceptions=True)
        took = time.monotonic() - start
        failed = [r for r in results if isinstance(r, BaseException)]
        # a pool that holds no connection cannot serve: a typed error within its bound
        empty_took, empty_err = await timed(_borrow(empty), 1, "get() on an empty pool")
        for c in held:
            await c.close()
        held = []
        assert not failed, f"{len(failed)}/20 callers failed: {failed[:3]!r}"
        assert took <= ACQUIRE, f"the 20 callers took {took:.2f}s"
        assert isinstance(empty_err, (ConnectionError, PoolTimeoutError)), repr(empty_err)
        assert empty_took <= 1 + SLACK, f"an empty pool's get() took {empty_took:.2f}s"
        # the slots are free again: the pool grows to max_size
        await asyncio.gather(*(_borrow(pool) for _ in range(5)))
        await assert_pool_whole(pool)
        await pool.terminate()
        await empty.terminate()
        figure(
            f"postgres max_connections full: 20 callers on a pool holding 2 connections all "
            f"served in {took:.2f}s; an empty pool failed in {empty_took:.2f}s "
            f"({type(empty_err).__name__})"
        )
    finally:
        for c in held:
            await c.close()
        await pool.terminate()
        await empty.terminate()


@bounded(60)
async def test_terminated_sessions_read_at_once(pg: Backend) -> None:
    """Every pooled session terminated (57P01) and read from at once, before asyncpg had
    a chance to notice: 10/10 reads succeed (needs issue 15 item 5, the pool's retry of a
    read on a connection found dead)."""
    url = pg.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(4).build() as pool:
        await asyncio.gather(*(_borrow(pool) for _ in range(4)))
        await pg.admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            f" WHERE application_name = '{pg.app}'"  # type: ignore[attr-defined]
        )
        for _ in range(10):
            assert await pool.select(Ledger).count() == 0
        await assert_pool_whole(pool)
        await assert_server_sessions(pg, pool)

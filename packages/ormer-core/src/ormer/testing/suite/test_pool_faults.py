"""Compliance suite: the pool under faults (docs/pool.md, "Faults").

Network faults go through a :class:`~ormer.testing.tcpproxy.TcpProxy` the test
owns (the shared server is never touched): a frozen proxy is a server that
accepts and never answers, a refusing one a server at max_connections, a severed
one a server that killed its sessions. Backends without a host (SQLite) skip
those tests; the waiter-count test runs everywhere.

After every scenario the pool's bookkeeping is checked (:func:`consistent`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from ormer import (
    ConnectionError,
    ConnectionLostError,
    Database,
    Model,
    Pool,
    PoolTimeoutError,
    field,
    primary,
)
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.tcpproxy import TcpProxy, url_through

__all__ = ["TestPoolFaults", "consistent"]


class FaultItem(Model, table="suite_pool_fault_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=100)


def consistent(pool: Pool) -> None:
    """The bookkeeping invariants of pool.py hold (between two awaits)."""
    s = pool.stats()
    opening = pool._opening
    assert s.size == s.idle + s.in_use + opening, (s, opening)
    assert 0 <= s.size <= s.max_size, s
    assert s.in_use >= 0 and s.idle >= 0 and opening >= 0, (s, opening)


async def settled(pool: Pool, timeout: float = 10.0) -> None:
    """Wait for abandoned connects and pings to end, then check the bookkeeping."""
    deadline = time.monotonic() + timeout
    while pool._opening and time.monotonic() < deadline:  # noqa: ASYNC110 (polls a counter)
        await asyncio.sleep(0.01)
    assert pool._opening == 0
    consistent(pool)


@contextlib.asynccontextmanager
async def proxied(url: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    """A proxy to the backend's server and the URL through it (skip: no host)."""
    parts = urlsplit(url)
    if not parts.hostname or parts.port is None:
        pytest.skip("the backend's URL names no host:port to proxy")
    async with await TcpProxy.start(parts.hostname, parts.port) as proxy:
        yield proxy, url_through(url, proxy)


@contextlib.asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[Pool]:
    b = Database.create_pool(url)
    for name, value in options.items():
        b = getattr(b, name)(value)
    pool = await b.build()
    try:
        yield pool
    finally:
        await pool.terminate()


class TestPoolFaults(SuiteBase):
    """Every wait of get() bounded, connect refusals waited out, dead reads retried."""

    @pytest.fixture
    async def table(self, ormer_url: str) -> None:
        async with await Database.connect(ormer_url) as db:
            await fresh_tables(db, FaultItem)
            await db.insert([FaultItem(name=f"n{i}") for i in range(5)])

    # -- item 1: the acquire deadline bounds connect and ping ----------------------------
    async def test_get_bounded_against_a_server_that_never_answers(self, ormer_url: str) -> None:
        async with proxied(ormer_url) as (proxy, url), opened(url, acquire_timeout=1) as pool:
            proxy.freeze()  # accepts TCP, never answers: the driver's connect would wait 10 s+
            start = time.monotonic()
            with pytest.raises(PoolTimeoutError, match=r"within 1s \(acquire_timeout\)"):
                await pool.get()
            elapsed = time.monotonic() - start
            print(f"get() against a silent server: PoolTimeoutError after {elapsed:.2f} s")
            assert 0.9 <= elapsed < 3
            # get(timeout=...) bounds it the same way
            start = time.monotonic()
            with pytest.raises(PoolTimeoutError, match=r"get\(timeout=0.5\)"):
                await pool.get(timeout=0.5)
            assert time.monotonic() - start < 2.5
            await settled(pool)
            assert pool.stats().size == 0  # the abandoned connects freed their slots
            assert pool.stats().timeouts == 2
            proxy.thaw()
            async with pool.get() as conn:  # recovers once the server answers
                assert await conn.exec_rows("SELECT 1") == [(1,)]
            await settled(pool)

    async def test_a_hanging_health_ping_is_bounded(self, ormer_url: str) -> None:
        async with (
            proxied(ormer_url) as (proxy, url),
            opened(url, acquire_timeout=1, health_check=0) as pool,
        ):
            async with pool.get() as conn:  # one idle connection, pinged at every checkout
                assert await conn.exec_rows("SELECT 1") == [(1,)]
            assert pool.stats().idle == 1
            proxy.freeze()  # its ping now never gets an answer
            start = time.monotonic()
            with pytest.raises(PoolTimeoutError):
                await pool.get()
            elapsed = time.monotonic() - start
            print(f"get() with a ping on a stalled server: PoolTimeoutError after {elapsed:.2f} s")
            assert elapsed < 3
            await settled(pool)
            s = pool.stats()
            assert (s.idle, s.in_use, s.closed) == (0, 0, 1)  # the silent connection went
            proxy.thaw()
            async with pool.get() as conn:
                assert await conn.exec_rows("SELECT 2") == [(2,)]
            await settled(pool)

    async def test_ping_bounded_without_an_acquire_timeout(self, ormer_url: str) -> None:
        async with (
            proxied(ormer_url) as (proxy, url),
            opened(url, acquire_timeout=None, health_check=0, health_check_timeout=0.5) as pool,
        ):
            async with pool.get():
                pass
            proxy.freeze()
            task = asyncio.ensure_future(pool.get())
            # the ping ends after 0.5 s and discards the connection; the connect that
            # follows waits on the frozen proxy: thaw it and get() completes
            await asyncio.sleep(1.5)
            assert pool.stats().closed == 1
            proxy.thaw()
            conn = await asyncio.wait_for(task, 15)
            assert await conn.exec_rows("SELECT 3") == [(3,)]
            await conn.release()
            await settled(pool)

    # -- item 6: refused connects wait for live connections -----------------------------
    async def test_refused_connects_wait_for_a_held_connection(
        self, ormer_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="ormer.pool")
        async with (
            proxied(ormer_url) as (proxy, url),
            opened(url, max_size=5, acquire_timeout=10) as pool,
        ):
            held = await pool.get()
            proxy.refuse()  # the server takes no new connection (max_connections)

            async def one(i: int) -> list[tuple[Any, ...]]:
                async with pool.get() as conn:
                    return await conn.exec_rows(f"SELECT {i}")

            tasks = [asyncio.ensure_future(one(i)) for i in range(20)]
            await asyncio.sleep(0.3)
            assert not any(t.done() for t in tasks)  # none failed at once: they wait
            consistent(pool)
            await held.release()
            start = time.monotonic()
            results = await asyncio.wait_for(asyncio.gather(*tasks), 15)
            print(f"20 callers served by one connection in {time.monotonic() - start:.2f} s")
            assert sorted(r[0][0] for r in results) == list(range(20))
            # no connect storm: the connects already in flight when the first failed
            # (max_size - 1) and at most one per back-off period, not one per caller
            failed = [r for r in caplog.records if "connect failed" in r.getMessage()]
            print(f"connect attempts while refused: {len(failed)} for 20 callers")
            assert len(failed) <= 4 + 1
            await settled(pool)
            assert pool.stats().size == 1

    async def test_refused_connect_with_no_connection_fails_at_once(self, ormer_url: str) -> None:
        async with (
            proxied(ormer_url) as (proxy, url),
            opened(url, max_size=5, acquire_timeout=10) as pool,
        ):
            proxy.refuse()
            start = time.monotonic()
            with pytest.raises(ConnectionError):
                await pool.get()
            assert time.monotonic() - start < 3
            await settled(pool)
            assert pool.stats().size == 0

    async def test_refused_connects_time_out_naming_the_connect_error(self, ormer_url: str) -> None:
        async with (
            proxied(ormer_url) as (proxy, url),
            opened(url, max_size=2, acquire_timeout=1.5) as pool,
        ):
            # held by another task (a task holding every live connection fails at once)
            held = await asyncio.ensure_future(pool.get())
            proxy.refuse()
            with pytest.raises(PoolTimeoutError, match="last connect error") as info:
                await pool.get()
            assert isinstance(info.value.__cause__, ConnectionError)
            await held.release()
            await settled(pool)

    # -- item 5: a dead connection costs its next reader nothing ------------------------
    async def test_dead_connections_cost_readers_nothing(self, ormer_url: str, table: None) -> None:
        async with (
            proxied(ormer_url) as (proxy, url),
            opened(url, max_size=4, health_check=30) as pool,
        ):
            conns = [await pool.get() for _ in range(4)]
            for c in conns:
                await c.release()
            ok = 0
            for i in range(20):
                if i % 5 == 0:
                    proxy.sever()  # the server killed every session, inside health_check
                rows = await pool.select(FaultItem).order_by(FaultItem.id).collect()
                assert [r.name for r in rows] == [f"n{j}" for j in range(5)]
                ok += 1
            assert ok == 20
            proxy.sever()
            assert await pool.select(FaultItem).count() == 5
            proxy.sever()
            assert await pool.find(FaultItem, 1) is not None
            proxy.sever()
            names = [r.name async for r in pool.select(FaultItem).order_by(FaultItem.id).stream()]
            assert names == [f"n{j}" for j in range(5)]
            # a held connection swaps its dead connection for a fresh one
            async with pool.get() as conn:
                proxy.sever()
                assert await conn.select(FaultItem).count() == 5
                assert await conn.exec_rows("SELECT 7") == [(7,)]  # the fresh one is usable
            await settled(pool)

    async def test_no_retry_for_writes_transactions_or_raw_sql(
        self, ormer_url: str, table: None
    ) -> None:
        async with proxied(ormer_url) as (proxy, url), opened(url, max_size=2) as pool:
            async with pool.get() as conn:
                async with conn.transaction():
                    assert await conn.select(FaultItem).count() == 5
                proxy.sever()
                with pytest.raises(ConnectionLostError):
                    async with conn.transaction():
                        await conn.insert(FaultItem(name="lost"))
            async with pool.get() as conn:
                proxy.sever()
                with pytest.raises(ConnectionLostError):
                    async with conn.transaction():
                        await conn.select(FaultItem).count()  # a read, but in a transaction
            async with pool.get() as conn:
                await conn.exec_rows("SELECT 1")
                proxy.sever()
                with pytest.raises(ConnectionLostError):
                    await conn.exec_rows("SELECT 1")  # raw SQL: never retried
            async with pool.get() as conn:
                await conn.exec_rows("SELECT 1")
                proxy.sever()
                with pytest.raises(ConnectionLostError):
                    await conn.update(FaultItem).all().set("name", "x")  # a write: never retried
            await settled(pool)
        async with await Database.connect(ormer_url) as db:
            names = await db.select(FaultItem.name).scalars().collect()
            assert sorted(names) == [f"n{j}" for j in range(5)]  # nothing half-written

    # -- item 11: the waiter count at expiry -----------------------------------------------
    async def test_waiters_timing_out_together_report_the_true_count(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            held = await pool.get()
            n = 85
            tasks = [asyncio.ensure_future(pool.get(timeout=0.5)) for _ in range(n)]
            results = await asyncio.gather(*tasks, return_exceptions=True)
            assert all(isinstance(r, PoolTimeoutError) for r in results), results[:3]
            counts = sorted(
                (int(m.group(1)) for r in results if (m := re.search(r"waiting=(\d+)", str(r)))),
                reverse=True,
            )
            assert len(counts) == n
            assert counts[0] == n
            # each saw at least those that had not expired before it
            assert all(c >= n - i for i, c in enumerate(counts)), counts
            assert pool.stats().timeouts == n
            await held.release()
            consistent(pool)

"""Compliance suite: the pool's lifecycle options and operations (docs/pool.md).

``on_connect``, URL functions, ``max_waiting``, ``leak_detection``, ``max_uses``, the
jittered ``max_lifetime``, ``keepalive``, ``reconnect_backoff``/``on_reconnect_failed``,
and ``resize``/``drain``/``pause``/``resume``, each on the backend's own database.
A connection is told apart from another by its driver object, which a pool keeps for
the connection's whole life.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    ConnectionError,
    Database,
    Pool,
    PoolClosedError,
    PooledConnection,
    PoolQueueFullError,
    PoolTimeoutError,
)
from ormer.testing.base import SuiteBase

from .test_pool import builder, opened, until

__all__ = ["TestPoolLifecycle"]

TAG_TABLE = "ormer_suite_session_tag"


def driver_of(conn: PooledConnection) -> object:
    return conn.driver


def unreachable(url: str, tmp: Path) -> str:
    """A URL of the same backend that cannot connect: a closed port, or a file in a
    directory that does not exist."""
    scheme, _, rest = url.partition("://")
    if "@" in rest or rest.split("/", 1)[0]:
        auth, _, host_db = rest.rpartition("@")
        db = host_db.partition("/")[2]
        return f"{scheme}://{auth + '@' if auth else ''}127.0.0.1:9/{db}"
    return f"{scheme}:///{tmp / 'missing' / 'dir' / 'x.db'}"


class TestPoolLifecycle(SuiteBase):
    """Every lifecycle option and operation, on every backend."""

    # -- on_connect ---------------------------------------------------------------------
    async def test_on_connect_sets_up_each_new_connection(self, ormer_url: str) -> None:
        calls: list[object] = []

        async def set_up(conn: Connection) -> None:  # may run again after a reset: idempotent
            calls.append(conn.driver)
            await conn.exec_non_query(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {TAG_TABLE} (v INTEGER)"
            )
            await conn.exec_non_query(f"DELETE FROM {TAG_TABLE}")
            await conn.exec_non_query(f"INSERT INTO {TAG_TABLE} (v) VALUES (7)")

        async with opened(ormer_url, max_size=2, on_connect=set_up) as pool:
            a, b = await pool.get(), await pool.get()
            assert calls == [a.driver, b.driver]  # once per new connection, before it is lent
            await a.release()
            await b.release()
            async with pool.get() as again:  # a reused connection: not set up again
                assert again.driver in calls
                assert await again.exec_rows(f"SELECT v FROM {TAG_TABLE}") == [(7,)]
                assert len(calls) == 2

    async def test_on_connect_runs_again_after_a_reset(self, ormer_url: str) -> None:
        calls = 0

        async def set_up(conn: Connection) -> None:
            nonlocal calls
            calls += 1
            await conn.exec_non_query(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {TAG_TABLE} (v INTEGER)"
            )

        async with opened(ormer_url, max_size=1, on_connect=set_up) as pool:
            async with pool.get() as conn:
                await conn.exec_non_query("SELECT 1")  # raw SQL: the session is reset on return
            # set up at connect, and again after a reset that undid it
            assert calls == (2 if pool.dialect.reset_clears_session else 1)
            async with pool.get() as conn:
                assert await conn.exec_rows(f"SELECT COUNT(*) FROM {TAG_TABLE}") == [(0,)]
            assert pool.stats().created == 1

    async def test_on_connect_failure_discards_the_connection(self, ormer_url: str) -> None:
        async def broken(conn: Connection) -> None:
            raise RuntimeError("set-up failed")

        async with opened(ormer_url, on_connect=broken) as pool:
            with pytest.raises(RuntimeError, match="set-up failed"):
                await pool.get()
            s = pool.stats()
            assert (s.size, s.idle, s.in_use) == (0, 0, 0)
        with pytest.raises(ConfigurationError, match="on_connect must be an async function"):
            await builder(ormer_url, on_connect=lambda conn: None).build()

    # -- URL functions ------------------------------------------------------------------
    async def test_url_function_is_called_at_each_connect(
        self, ormer_url: str, tmp_path: Path
    ) -> None:
        current = ormer_url
        calls = 0

        async def fetch() -> str:
            nonlocal calls
            calls += 1
            return current

        async with opened(fetch, max_size=3, idle_timeout=None) as pool:  # type: ignore[arg-type]
            before = calls  # the first URL (at build) named the dialect
            conns = [await pool.get() for _ in range(2)]
            assert calls == before + 2  # one call per connect
            for c in conns:
                assert await c.exec_rows("SELECT 1") == [(1,)]
            current = unreachable(ormer_url, tmp_path)  # the credentials rotate, say
            with pytest.raises(ConnectionError):
                async with pool.get(timeout=2):
                    pass
            for c in conns:  # connections already open keep serving
                assert await c.exec_rows("SELECT 2") == [(2,)]
                await c.release()
        sync_calls = []

        def fetch_sync() -> str:
            sync_calls.append(1)
            return ormer_url

        async with await Database.create_pool(fetch_sync).build() as pool3:
            before = len(sync_calls)
            assert await pool3.exec_rows("SELECT 3") == [(3,)]
            assert len(sync_calls) == before + 1

    # -- max_waiting ----------------------------------------------------------------------
    async def test_max_waiting_fails_at_once_beyond_the_queue(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, max_waiting=1, acquire_timeout=10) as pool:
            held = await pool.get()
            waiter = asyncio.ensure_future(pool.get())
            assert await until(lambda: pool.stats().waiting == 1)
            start = time.monotonic()
            with pytest.raises(PoolQueueFullError, match="max_waiting=1") as info:
                await asyncio.ensure_future(pool.get())  # another borrower
            assert time.monotonic() - start < 0.5  # at once, not after acquire_timeout
            assert isinstance(info.value, PoolTimeoutError)
            await held.release()
            got = await asyncio.wait_for(waiter, 5)
            await got.release()
        async with opened(ormer_url, max_size=1, max_waiting=0) as pool:
            async with pool.get():
                with pytest.raises(PoolQueueFullError):
                    await asyncio.ensure_future(pool.get())

    # -- leak detection -------------------------------------------------------------------
    async def test_leak_detection_warns_once_with_the_stack(
        self, ormer_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.WARNING, logger="ormer.pool")
        async with opened(ormer_url, leak_detection=0.1) as pool:
            async with pool.get():
                await asyncio.sleep(0.02)  # returned in time: no warning
            assert "held for" not in caplog.text
            conn = await pool.get()
            await asyncio.sleep(0.35)
            await conn.release()
            leaks = [r for r in caplog.records if "held for" in r.getMessage()]
            assert len(leaks) == 1  # once
            assert "test_leak_detection_warns_once_with_the_stack" in leaks[0].getMessage()

    # -- max_uses, max_lifetime ----------------------------------------------------------------
    async def test_max_uses_retires_a_connection(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, max_uses=3) as pool:
            drivers = []
            for _ in range(7):
                async with pool.get() as conn:
                    drivers.append(conn.driver)
                    assert await conn.exec_rows("SELECT 1") == [(1,)]
            # three uses each: 3 + 3 + 1
            assert drivers[0] is drivers[1] is drivers[2]
            assert drivers[3] is drivers[4] is drivers[5] and drivers[3] is not drivers[0]
            assert drivers[6] is not drivers[3]
            assert pool.stats().created == 3 and pool.stats().closed == 2

    async def test_max_lifetime_is_jittered(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=6, max_lifetime=100) as pool:
            conns = [await pool.get() for _ in range(6)]
            lives = [c._holder.expires - c._holder.created for c in conns]
            for c in conns:
                await c.release()
        assert all(95 - 1e-6 <= life <= 100 for life in lives), lives
        assert len({round(life, 6) for life in lives}) > 1  # not all alike

    # -- keepalive ---------------------------------------------------------------------------
    async def test_keepalive_pings_idle_connections(self, ormer_url: str) -> None:
        async with opened(ormer_url, min_size=2, keepalive=0.1, idle_timeout=None) as pool:
            idle = list(pool._idle)
            before = [h.last_used for h in idle]
            assert await until(lambda: all(h.last_used > b for h, b in zip(idle, before)), 5)
            s = pool.stats()
            assert s.idle == 2 and s.closed == 0  # the same connections, pinged, kept
            assert {id(h) for h in pool._idle} == {id(h) for h in idle}

    # -- reconnect back-off -----------------------------------------------------------------
    async def test_reconnect_backoff_and_failure_callback(
        self, ormer_url: str, tmp_path: Path
    ) -> None:
        target = ormer_url
        failures: list[tuple[Pool, BaseException]] = []

        def fetch() -> str:
            return target

        def failed(pool: Pool, error: BaseException) -> None:
            failures.append((pool, error))

        pool = await (
            Database.create_pool(fetch)
            .reconnect_backoff(0.05, 0.2)
            .on_reconnect_failed(failed, after=3)
            .build()
        )
        try:
            target = unreachable(ormer_url, tmp_path)
            delays = []
            for _ in range(5):
                with pytest.raises(ConnectionError):
                    await pool.get(timeout=2)
                delays.append(pool.backoff_delay())
            assert delays == [0.05, 0.1, 0.2, 0.2, 0.2]  # doubling up to the maximum
            assert len(failures) == 1 and failures[0][0] is pool  # once per streak
            assert isinstance(failures[0][1], ConnectionError)
            target = ormer_url
            await asyncio.sleep(0.25)
            async with pool.get() as conn:  # a success ends the streak
                assert await conn.exec_rows("SELECT 1") == [(1,)]
            assert pool.backoff_delay() == 0.05
            target = unreachable(ormer_url, tmp_path)
            await pool.drain()  # no idle connection left: the next get() must connect
            for _ in range(3):
                with pytest.raises(ConnectionError):
                    await pool.get(timeout=2)
            assert len(failures) == 2
        finally:
            await pool.close()

    # -- resize ------------------------------------------------------------------------------
    async def test_resize_grows_for_waiters_and_shrinks_on_return(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            held = [await pool.get() for _ in range(2)]
            waiters = [asyncio.ensure_future(pool.get()) for _ in range(2)]
            assert await until(lambda: pool.stats().waiting == 2)
            await pool.resize(0, 4)
            more = await asyncio.wait_for(asyncio.gather(*waiters), 5)
            assert pool.stats().in_use == 4 and pool.stats().max_size == 4
            await pool.resize(0, 1)
            assert pool.stats().max_size == 1
            for c in [*held, *more]:
                await c.release()
            s = pool.stats()
            assert s.size == 1 and s.idle == 1  # three closed as they came back
            await pool.resize(2, 3)
            assert pool.stats().idle == 2  # grown to the new min_size
            with pytest.raises(ConfigurationError, match="resize"):
                await pool.resize(3, 2)

    # -- drain ----------------------------------------------------------------------------------
    async def test_drain_replaces_every_connection(self, ormer_url: str) -> None:
        async with opened(ormer_url, min_size=2, max_size=3) as pool:
            held = await pool.get()
            old = {h.driver for h in pool._idle} | {held.driver}
            await pool.drain()
            # the idle ones replaced (min_size counts the borrowed one too)
            assert pool.stats().idle == 1 and not ({h.driver for h in pool._idle} & old)
            assert await held.exec_rows("SELECT 1") == [(1,)]  # the borrower keeps it
            await held.release()  # ... and it is closed on return
            assert pool.stats().size == 1 and pool.stats().closed == 2
            for _ in range(3):
                async with pool.get() as conn:
                    assert conn.driver not in old

    # -- pause / resume ---------------------------------------------------------------------------
    async def test_pause_holds_borrowers_until_resume(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2) as pool:
            held = await pool.get()
            pool.pause()
            assert pool.stats().paused
            with pytest.raises(PoolTimeoutError, match="paused"):
                await pool.get(timeout=0.2)
            waiting = asyncio.create_task(pool.exec_rows("SELECT 5"))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            assert await held.exec_rows("SELECT 4") == [(4,)]  # a borrowed one is unaffected
            pool.resume()
            assert await asyncio.wait_for(waiting, 5) == [(5,)]
            await held.release()
            pool.pause()
            stuck = asyncio.ensure_future(pool.get())
            await asyncio.sleep(0.05)
        with pytest.raises(PoolClosedError):  # closing wakes a paused get()
            await asyncio.wait_for(stuck, 5)

    # -- validation ----------------------------------------------------------------------------
    @pytest.mark.parametrize(
        ("option", "value"),
        [
            ("max_waiting", -1),
            ("max_uses", 0),
            ("keepalive", 0),
            ("leak_detection", -1),
            ("name", 3),
        ],
    )
    async def test_lifecycle_options_are_validated(
        self, ormer_url: str, option: str, value: Any
    ) -> None:
        with pytest.raises(ConfigurationError, match=option):
            await builder(ormer_url, **{option: value}).build()
        with pytest.raises(ConfigurationError, match="reconnect_backoff"):
            await builder(ormer_url).reconnect_backoff(2, 1).build()
        with pytest.raises(ConfigurationError, match="on_reconnect_failed"):
            await builder(ormer_url).on_reconnect_failed(lambda p, e: None, after=0).build()

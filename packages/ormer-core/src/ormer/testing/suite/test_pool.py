# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (User.age.in_(...)) and operators on them are unknown to mypy here; see ormer.col().
"""Compliance suite: the connection pool (docs/pool.md), on the backend's own database.

Every test builds its pools from ``ormer_url`` and closes them (``async with``), so
no connection outlives its test. Time-dependent behaviour (the reaper, lifetimes,
health checks) is observed with poll loops, never with tight wall-clock bounds.

A backend's test module may override the ``slow_query_sql`` fixture (see there) with
a query that runs for seconds on its server (``SELECT pg_sleep(5)``, ``SELECT
SLEEP(5)``); the default is a portable recursive CTE.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sys
import time
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import ormer.plugins
from ormer import (
    ConfigurationError,
    ConnectionReleasedError,
    Database,
    Model,
    Pool,
    PoolBuilder,
    PoolClosedError,
    PooledConnection,
    PoolTimeoutError,
    field,
    primary,
)
from ormer.hookspecs import hookimpl
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.suite.test_timeouts import Running, assert_not_running

__all__ = ["TestPool", "slow_query_sql"]

TABLE = "suite_pool_item"

#: counts to three million: seconds on any SQL database with recursive CTEs
SLOW_QUERY_SQL = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 3000000) "
    "SELECT COUNT(*) FROM c"
)


class PItem(Model, table="suite_pool_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=100)


def builder(url: str, **options: Any) -> PoolBuilder:
    """``Database.create_pool(url)`` with ``options`` applied through the builder's setters."""
    b = Database.create_pool(url)
    for name, value in options.items():
        b = getattr(b, name)(value)
    return b


@contextlib.asynccontextmanager
async def opened(url: str, **options: Any) -> AsyncIterator[Pool]:
    """A pool built from ``options``, closed at block exit.

    ``close(timeout=...)``: a test failing with a connection still borrowed must
    not wait for it forever (``Pool.__aexit__`` waits without a bound).
    """
    pool = await builder(url, **options).build()
    try:
        yield pool
    finally:
        await pool.close(timeout=10)


async def until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``cond`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def fresh(pool: Pool) -> None:
    """(Re)create the suite's table through one of the pool's connections."""
    async with pool.get() as conn:
        await fresh_tables(conn, PItem)


async def names(conn: Any) -> list[str]:
    return list(await conn.select(PItem.name).order_by(PItem.name).scalars().collect())


async def borrow(pool: Pool) -> PooledConnection:
    return await pool.get()


async def _acquire_for_debug_stack(pool: Pool) -> PooledConnection:
    return await pool.get()


class Recorder:
    """A plugin recording statements and the pool's connection events."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.created: list[Any] = []
        self.checkout: list[Any] = []
        self.checkin: list[Any] = []

    @hookimpl
    def ormer_before_execute(self, sql: str, params: Any, dialect: Any) -> None:
        self.statements.append(sql)

    @hookimpl
    def ormer_connection_created(self, conn: Any) -> None:
        self.created.append(conn)

    @hookimpl
    def ormer_connection_checkout(self, conn: Any) -> None:
        self.checkout.append(conn)

    @hookimpl
    def ormer_connection_checkin(self, conn: Any) -> None:
        self.checkin.append(conn)


@pytest.fixture
def slow_query_sql() -> str:
    """A query that runs for seconds, for the mid-query cancellation tests.

    ``from ormer.testing.suite import *`` brings this default into a backend's test
    module; the module overrides it by defining its own ``slow_query_sql`` fixture
    after that import (a class- or conftest-level fixture would not take precedence).
    """
    return SLOW_QUERY_SQL


class TestPool(SuiteBase):
    """docs/pool.md: the pool's behaviour, the same on every backend."""

    @pytest.fixture
    def recorder(self) -> Any:
        rec = Recorder()
        name = ormer.plugins.register(rec, name="suite-pool-recorder")
        try:
            yield rec
        finally:
            ormer.plugins.unregister(name)

    # -- the builder ---------------------------------------------------------------------
    async def test_builder_every_option(self, ormer_url: str) -> None:
        b = Database.create_pool(ormer_url)
        assert b.max_size(5) is b
        assert b.min_size(2) is b
        assert b.idle_timeout(10) is b
        assert b.acquire_timeout(3) is b
        assert b.max_lifetime(100) is b
        assert b.health_check(1) is b
        assert b.connect_options() is b
        async with await b.build() as pool:
            assert isinstance(pool, Pool)
            assert (pool.min_size, pool.max_size) == (2, 5)
            assert pool.idle_timeout == 10
            assert pool.acquire_timeout == 3
            assert pool.max_lifetime == 100
            assert pool.health_check == 1
            s = pool.stats()
            assert (s.size, s.idle, s.in_use, s.created) == (2, 2, 0, 2)
            assert (s.min_size, s.max_size) == (2, 5)
            # build opened min_size working connections: borrowing them opens no more
            a, b2 = await pool.get(), await pool.get()
            assert a.driver is not b2.driver
            assert await a.exec_rows("SELECT 1") == [(1,)]
            assert await b2.exec_rows("SELECT 2") == [(2,)]
            assert pool.stats().created == 2
            await a.release()
            await b2.release()
        # awaiting the builder itself builds; range(lo, hi) = min_size..max_size
        async with await Database.create_pool(ormer_url).range(1, 3) as pool:
            assert (pool.min_size, pool.max_size) == (1, 3)
            assert pool.stats().size == 1

    async def test_builder_defaults(self, ormer_url: str) -> None:
        async with await Database.create_pool(ormer_url).build() as pool:
            s = pool.stats()
            assert (s.min_size, s.max_size, s.size, s.created) == (0, 10, 0, 0)
            assert pool.idle_timeout == 300
            assert pool.acquire_timeout == 30
            assert pool.max_lifetime is None
            assert pool.health_check == 30

    @pytest.mark.parametrize(
        "options",
        [
            {"min_size": 3, "max_size": 2},
            {"range": (4, 2)},
            {"max_size": 0},
            {"max_size": -1},
            {"max_size": 2.5},
            {"min_size": -1},
            {"idle_timeout": -1},
            {"acquire_timeout": -0.5},
            {"max_lifetime": -1},
            {"health_check": -1},
            {"health_check": "30"},
        ],
    )
    async def test_builder_validation(self, ormer_url: str, options: dict[str, Any]) -> None:
        def configured() -> PoolBuilder:
            b = Database.create_pool(ormer_url)
            for name, value in options.items():
                setter = getattr(b, name)
                b = setter(*value) if isinstance(value, tuple) else setter(value)
            return b  # the setters accept anything: validation happens at build

        with pytest.raises(ConfigurationError):
            await configured().build()
        with pytest.raises(ConfigurationError):
            await configured()

    # -- get, release, close ---------------------------------------------------------------
    async def test_get_awaitable_and_context_manager(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=4, acquire_timeout=10) as pool:
            await fresh(pool)
            conn = await pool.get()
            assert isinstance(conn, PooledConnection)
            assert not conn.released
            assert pool.stats().in_use == 1
            await conn.insert(PItem(name="a"))
            await conn.release()
            assert conn.released
            assert pool.stats().in_use == 0
            async with pool.get() as conn2:
                assert isinstance(conn2, PooledConnection)
                assert pool.stats().in_use == 1
                assert await names(conn2) == ["a"]
            assert conn2.released
            s = pool.stats()
            assert (s.in_use, s.idle, s.size) == (0, 1, 1)
            await conn.release()  # idempotent
            assert pool.stats().idle == 1

    async def test_context_manager_returns_on_error(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2) as pool:
            with pytest.raises(RuntimeError, match="boom"):  # noqa: PT012
                async with pool.get() as conn:
                    await conn.exec_rows("SELECT 1")
                    raise RuntimeError("boom")
            assert conn.released
            s = pool.stats()
            assert (s.in_use, s.idle, s.size) == (0, 1, 1)
            async with pool.get() as again:
                assert again.driver is conn.driver

    async def test_use_after_release_raises(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2) as pool:
            await fresh(pool)
            conn = await pool.get()
            await conn.release()
            with pytest.raises(ConnectionReleasedError):
                await conn.select(PItem).collect()
            with pytest.raises(ConnectionReleasedError):
                await conn.exec_rows("SELECT 1")
            with pytest.raises(ConnectionReleasedError):
                await conn.exec_non_query("SELECT 1")
            with pytest.raises(ConnectionReleasedError):
                await conn.insert(PItem(name="x"))
            with pytest.raises(ConnectionReleasedError):
                await conn.begin()
            # the connection went back intact: the next borrower uses it normally
            async with pool.get() as other:
                assert other.driver is conn.driver
                await other.insert(PItem(name="ok"))
                assert await names(other) == ["ok"]
            assert pool.stats().in_use == 0

    async def test_close_retires_the_connection(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2) as pool:
            conn = await pool.get()
            driver = conn.driver
            before = pool.stats()
            await conn.close()
            assert conn.released
            after = pool.stats()
            assert after.closed == before.closed + 1
            assert after.size == before.size - 1
            assert (after.in_use, after.idle) == (0, 0)
            assert await until(lambda: driver.is_closed)
            with pytest.raises(ConnectionReleasedError):
                await conn.exec_rows("SELECT 1")
            await conn.close()  # idempotent
            await conn.release()  # and harmless
            assert pool.stats().closed == after.closed
            async with pool.get() as again:
                assert again.driver is not driver
                assert await again.exec_rows("SELECT 3") == [(3,)]

    async def test_close_inside_a_transaction(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            await fresh(pool)
            conn = await pool.get()
            await conn.begin()
            await conn.insert(PItem(name="dropped"))
            await conn.close()
            # nothing of the retired connection's transaction blocks or shows
            async with pool.get() as other:
                assert not other.in_transaction
                await asyncio.wait_for(other.insert(PItem(name="kept")), 10)
                assert await names(other) == ["kept"]

    async def test_garbage_collected_connection_warns_and_recovers(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=10) as pool:
            conn = await pool.get()
            driver = conn.driver
            assert pool.stats().size == 1
            gc.collect()  # unrelated garbage first
            with pytest.warns(ResourceWarning, match="garbage-collected"):
                del conn
                gc.collect()
            # its slot is recovered (the connection's state is unknown: it is closed)
            assert await until(lambda: pool.stats().size == 0)
            s = pool.stats()
            assert (s.in_use, s.closed) == (0, 1)
            assert await until(lambda: driver.is_closed)
            async with pool.get() as conn2:
                assert conn2.driver is not driver
                assert await conn2.exec_rows("SELECT 1") == [(1,)]

    async def test_garbage_collected_inside_a_transaction(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            await fresh(pool)
            conn = await pool.get()
            await conn.begin()
            await conn.insert(PItem(name="lost"))
            gc.collect()
            with pytest.warns(ResourceWarning, match="garbage-collected"):
                del conn
                gc.collect()
            assert await until(lambda: pool.stats().in_use == 0)
            async with pool.get() as other:
                assert not other.in_transaction
                await asyncio.wait_for(other.insert(PItem(name="ok")), 10)
                assert await names(other) == ["ok"]

    async def test_garbage_collected_recovers_when_warnings_are_errors(
        self, ormer_url: str
    ) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=10) as pool:
            conn = await pool.get()
            driver = conn.driver
            gc.collect()
            unraisable: list[Any] = []
            hook = sys.unraisablehook
            sys.unraisablehook = unraisable.append
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", ResourceWarning)
                    del conn  # the warning is raised (and ignored) in __del__
                    gc.collect()
            finally:
                sys.unraisablehook = hook
            assert [type(u.exc_value) for u in unraisable] == [ResourceWarning]
            assert await until(lambda: pool.stats().size == 0)
            async with pool.get() as conn2:
                assert conn2.driver is not driver
                assert await conn2.exec_rows("SELECT 1") == [(1,)]

    async def test_debug_warning_shows_acquiring_stack(
        self, ormer_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ORMER_DEBUG", "1")
        async with opened(ormer_url, max_size=1) as pool:
            conn = await _acquire_for_debug_stack(pool)
            gc.collect()
            with pytest.warns(ResourceWarning, match="garbage-collected") as record:
                del conn
                gc.collect()
            text = "\n".join(str(w.message) for w in record)
            assert "_acquire_for_debug_stack" in text
            assert "test_debug_warning_shows_acquiring_stack" in text
            assert await until(lambda: pool.stats().size == 0)

    async def test_no_debug_stack_without_env(
        self, ormer_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("ORMER_DEBUG", raising=False)
        async with opened(ormer_url, max_size=1) as pool:
            conn = await _acquire_for_debug_stack(pool)
            gc.collect()
            with pytest.warns(ResourceWarning, match="ORMER_DEBUG") as record:
                del conn
                gc.collect()
            text = "\n".join(str(w.message) for w in record)
            assert "_acquire_for_debug_stack" not in text
            assert await until(lambda: pool.stats().size == 0)

    # -- sizing, ordering, timeouts ---------------------------------------------------------
    async def test_never_more_than_max_size_while_connecting(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=3, acquire_timeout=30) as pool:
            await fresh(pool)  # one connection, idle again
            sizes: list[int] = []
            drivers: set[int] = set()
            active: set[int] = set()
            most_active = 0
            stop = False

            async def watch() -> None:
                while not stop:
                    sizes.append(pool.stats().size)
                    await asyncio.sleep(0)

            async def use(i: int) -> None:
                nonlocal most_active
                async with pool.get() as conn:
                    key = id(conn.driver)
                    assert key not in active, "one connection lent to two borrowers"
                    active.add(key)
                    drivers.add(key)
                    most_active = max(most_active, len(active))
                    assert await conn.exec_rows(f"SELECT {i}") == [(i,)]
                    await asyncio.sleep(0.001)
                    active.discard(key)

            watcher = asyncio.create_task(watch())
            # 30 borrowers at once on an almost empty pool: two connects race, the rest wait
            await asyncio.gather(*(use(i) for i in range(30)))
            stop = True
            await watcher
            assert sizes and max(sizes) <= 3
            assert most_active == 3
            assert len(drivers) == 3
            s = pool.stats()
            assert (s.created, s.closed) == (3, 0)
            assert s.acquired == 31
            assert (s.size, s.idle, s.in_use, s.waiting) == (3, 3, 0, 0)

    async def test_waiters_are_served_fifo(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            first = await pool.get()
            order: list[int] = []

            async def waiter(i: int) -> None:
                async with pool.get() as conn:
                    order.append(i)
                    assert conn.driver is first.driver
                    await asyncio.sleep(0.001)

            tasks = []
            for i in range(8):
                tasks.append(asyncio.create_task(waiter(i)))
                assert await until(lambda i=i: pool.stats().waiting == i + 1)
            assert pool.stats().waiting == 8
            await first.release()
            await asyncio.gather(*tasks)
            assert order == list(range(8))
            s = pool.stats()
            assert (s.waiting, s.in_use, s.size, s.created) == (0, 0, 1, 1)

    async def test_most_recently_used_idle_first(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=3) as pool:
            a, b, c = await pool.get(), await pool.get(), await pool.get()
            da, db_, dc = a.driver, b.driver, c.driver
            assert len({id(da), id(db_), id(dc)}) == 3
            await a.release()
            await c.release()
            await b.release()
            taken = [await pool.get() for _ in range(3)]
            assert [t.driver for t in taken] == [db_, dc, da]
            for t in taken:
                await t.release()
            assert pool.stats().created == 3

    async def test_acquire_timeout(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=0.05) as pool:
            # borrowed by another task: this one waits (holding it itself fails fast,
            # see test_pool_safety)
            held = await asyncio.create_task(borrow(pool))
            with pytest.raises(PoolTimeoutError) as info:
                await pool.get()
            message = str(info.value)
            assert "size" in message and "in use" in message and "waiting" in message
            assert "1/1" in message  # size/max_size
            assert "within 0.05s (acquire_timeout)" in message
            s = pool.stats()
            assert (s.timeouts, s.waiting, s.size, s.in_use) == (1, 0, 1, 1)
            # the message names the timeout that expired: get()'s own, not the pool's
            with pytest.raises(PoolTimeoutError, match=r"within 0\.01s \(get\(timeout=0\.01\)\)"):
                async with pool.get(timeout=0.01):
                    pass
            assert pool.stats().timeouts == 2
            await held.release()
            async with pool.get() as conn:
                assert conn.driver is held.driver
                assert await conn.exec_rows("SELECT 1") == [(1,)]
            s = pool.stats()
            assert (s.timeouts, s.waiting, s.size, s.in_use) == (2, 0, 1, 0)

    # -- health checks and lifetimes -------------------------------------------------------
    async def test_dead_idle_connection_is_replaced(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, health_check=0) as pool:
            conn = await pool.get()
            driver = conn.driver
            await conn.release()
            await driver.close()  # killed behind the pool's back while idle
            async with pool.get() as conn2:
                assert conn2.driver is not driver
                assert await conn2.exec_rows("SELECT 42") == [(42,)]
            s = pool.stats()
            assert (s.created, s.closed, s.size, s.in_use) == (2, 1, 1, 0)

    async def test_health_check_passes_a_live_connection(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, health_check=0) as pool:
            conn = await pool.get()
            driver = conn.driver
            await conn.release()
            for _ in range(3):  # pinged at every checkout, and kept
                async with pool.get() as again:
                    assert again.driver is driver
                    assert await again.exec_rows("SELECT 5") == [(5,)]
            s = pool.stats()
            assert (s.created, s.closed) == (1, 0)

    async def test_max_lifetime_closes_on_return(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, max_lifetime=0.05) as pool:
            conn = await pool.get()
            driver = conn.driver
            await asyncio.sleep(0.1)
            await conn.release()
            s = pool.stats()
            assert (s.closed, s.size, s.idle) == (1, 0, 0)
            assert await until(lambda: driver.is_closed)
            async with pool.get() as conn2:
                assert conn2.driver is not driver
            assert pool.stats().created == 2

    async def test_max_lifetime_closes_idle_connections(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, max_lifetime=0.1) as pool:
            conn = await pool.get()
            driver = conn.driver
            await conn.release()  # young: kept
            assert pool.stats().idle == 1
            assert await until(lambda: pool.stats().size == 0)  # the reaper retires it
            assert await until(lambda: driver.is_closed)
            async with pool.get() as conn2:
                assert conn2.driver is not driver
                assert await conn2.exec_rows("SELECT 1") == [(1,)]

    # -- state on return -------------------------------------------------------------------
    async def test_open_transaction_rolled_back_on_return(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            await fresh(pool)
            conn = await pool.get()
            driver = conn.driver
            await conn.begin()
            await conn.insert(PItem(name="uncommitted"))
            assert await names(conn) == ["uncommitted"]
            await conn.release()
            assert pool.stats().closed == 0  # rolled back, not discarded
            async with pool.get() as a, pool.get() as b:
                assert driver in (a.driver, b.driver)
                for c in (a, b):
                    assert not c.in_transaction
                    assert not c.driver_in_transaction()
                    assert await c.select(PItem).count() == 0
                await asyncio.wait_for(a.insert(PItem(name="after")), 10)
            async with await Database.connect(ormer_url) as outside:
                assert await names(outside) == ["after"]

    async def test_raw_begin_rolled_back_on_return(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=10) as pool:
            await fresh(pool)
            conn = await pool.get()
            d = conn.dialect
            await conn.exec_non_query("BEGIN")
            await conn.exec_non_query(
                f"INSERT INTO {d.quote(TABLE)} ({d.quote('name')}) VALUES ({d.placeholder(1)})",
                ["raw"],
            )
            assert conn.driver_in_transaction()
            await conn.release()
            async with pool.get() as c:
                assert c.driver is conn.driver
                assert not c.driver_in_transaction()
                assert await c.select(PItem).count() == 0
                await asyncio.wait_for(c.insert(PItem(name="after")), 10)
            async with await Database.connect(ormer_url) as outside:
                assert await names(outside) == ["after"]

    async def test_raw_sql_then_reset_keeps_the_connection(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=10) as pool:
            await fresh(pool)
            conn = await pool.get()
            d = conn.dialect
            table = d.quote(TABLE)
            inserted = await conn.exec_non_query(
                f"INSERT INTO {table} ({d.quote('name')}) VALUES ({d.placeholder(1)})", ["raw"]
            )
            assert inserted == 1
            assert not conn.driver_in_transaction()
            await conn.release()  # raw SQL ran: the dialect resets the session
            s = pool.stats()
            assert (s.closed, s.idle) == (0, 1)
            async with pool.get() as c:
                assert c.driver is conn.driver
                assert not c.driver_in_transaction()
                assert await c.exec_rows(f"SELECT COUNT(*) FROM {table}") == [(1,)]
                assert await names(c) == ["raw"]
            async with await Database.connect(ormer_url) as outside:
                assert await names(outside) == ["raw"]  # autocommitted, not rolled back

    async def test_clean_checkout_costs_no_statement(
        self, ormer_url: str, recorder: Recorder
    ) -> None:
        async with opened(ormer_url, max_size=2, health_check=None) as pool:
            await fresh(pool)  # the first checkout connects
            async with pool.get() as first, pool.get():
                pass  # both connections open
            recorder.statements.clear()
            for _ in range(5):
                conn = await pool.get()
                await conn.release()
                async with pool.get() as a, pool.get() as b:
                    assert a.driver is not b.driver
                async with pool.get() as c:
                    await c.select(PItem).collect()  # an ORM read leaves no state behind
            assert len(recorder.statements) == 5  # the five selects, nothing else
            recorder.statements.clear()
            async with pool.get() as conn:
                await conn.exec_rows("SELECT 1")
            assert recorder.statements == ["SELECT 1"]
            assert first.released

    async def test_pool_hooks_fire(self, ormer_url: str, recorder: Recorder) -> None:
        async with opened(ormer_url, max_size=2, min_size=1) as pool:
            assert len(recorder.created) == 1
            a = await pool.get()
            assert a.driver is recorder.created[0]  # the one opened at build
            b = await pool.get()
            assert len(recorder.created) == 2
            assert b.driver is recorder.created[1]
            assert recorder.checkout == [a, b]
            assert recorder.checkin == []
            await a.release()
            await b.close()
            assert recorder.checkin == [a, b]
            async with pool.get() as c:
                assert c.driver is a.driver
            assert (len(recorder.created), len(recorder.checkout), len(recorder.checkin)) == (
                2,
                3,
                3,
            )
            assert recorder.checkout[2] is c and recorder.checkin[2] is c

    # -- the reaper ------------------------------------------------------------------------
    async def test_reaper_closes_idle_above_min_size(self, ormer_url: str) -> None:
        async with opened(ormer_url, min_size=1, max_size=4, idle_timeout=0.05) as pool:
            conns = [await pool.get() for _ in range(4)]
            assert pool.stats().size == 4
            for c in conns:
                await c.release()
            newest = conns[-1].driver  # released last: the most recently used
            assert await until(lambda: pool.stats().size == 1)
            # it stays at min_size
            await asyncio.sleep(0.2)
            s = pool.stats()
            assert (s.size, s.idle, s.closed, s.created) == (1, 1, 3, 4)
            async with pool.get() as survivor:
                assert survivor.driver is newest
                assert await survivor.exec_rows("SELECT 1") == [(1,)]

    async def test_reaper_refills_to_min_size(self, ormer_url: str) -> None:
        async with opened(ormer_url, min_size=2, max_size=4, idle_timeout=0.05) as pool:
            a = await pool.get()
            b = await pool.get()
            await a.close()
            await b.close()
            assert pool.stats().size == 0
            assert await until(lambda: pool.stats().idle == 2)
            s = pool.stats()
            assert (s.size, s.created, s.closed) == (2, 4, 2)
            async with pool.get() as c, pool.get() as d:
                assert {c.driver, d.driver}.isdisjoint({a.driver, b.driver})
                assert await c.exec_rows("SELECT 1") == [(1,)]
                assert await d.exec_rows("SELECT 1") == [(1,)]

    async def test_manual_reap(self, ormer_url: str) -> None:
        async with opened(ormer_url, min_size=1, max_size=4, idle_timeout=3600) as pool:
            conns = [await pool.get() for _ in range(4)]
            for c in conns:
                await c.release()
            assert pool.reap() == 0  # none idle past the timeout
            pool.idle_timeout = 0.01
            await asyncio.sleep(0.05)
            assert pool.reap() == 3  # down to min_size in one pass, the newest kept
            s = pool.stats()
            assert (s.size, s.idle, s.closed) == (1, 1, 3)
            assert pool.reap() == 0  # never below min_size
            assert await until(lambda: all(c.driver.is_closed for c in conns[:3]))
            async with pool.get() as survivor:
                assert survivor.driver is conns[3].driver
                assert await survivor.exec_rows("SELECT 1") == [(1,)]

    # -- stats and closing -----------------------------------------------------------------
    async def test_stats_consistent(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=3, acquire_timeout=10) as pool:
            s = pool.stats()
            assert (s.size, s.idle, s.in_use, s.waiting, s.acquired) == (0, 0, 0, 0, 0)
            conns = [await pool.get() for _ in range(3)]
            s = pool.stats()
            assert (s.size, s.in_use, s.idle, s.acquired, s.created) == (3, 3, 0, 3, 3)
            waiter = asyncio.create_task(borrow(pool))
            assert await until(lambda: pool.stats().waiting == 1)
            await conns[0].release()
            late = await asyncio.wait_for(waiter, 10)
            assert late.driver is conns[0].driver
            s = pool.stats()
            assert (s.size, s.in_use, s.idle, s.waiting, s.acquired) == (3, 3, 0, 0, 4)
            await late.release()
            s = pool.stats()
            assert (s.size, s.in_use, s.idle) == (3, 2, 1)
            await conns[1].close()
            s = pool.stats()
            assert (s.size, s.in_use, s.idle, s.closed) == (2, 1, 1, 1)
            await conns[2].release()
            s = pool.stats()
            assert s.size == s.idle + s.in_use == 2
            assert s.created - s.closed == s.size
            assert (s.waiting, s.timeouts, s.min_size, s.max_size) == (0, 0, 0, 3)

    async def test_close_waits_for_borrowed(self, ormer_url: str) -> None:
        pool = await builder(ormer_url, max_size=2).build()
        conn = await pool.get()
        driver = conn.driver
        released = asyncio.Event()

        async def later() -> None:
            await asyncio.sleep(0.05)
            assert await conn.exec_rows("SELECT 1") == [(1,)]  # still usable while closing
            await conn.release()
            released.set()

        task = asyncio.create_task(later())
        await pool.close(timeout=30)
        assert released.is_set()
        await task
        assert pool.is_closed
        assert driver.is_closed
        s = pool.stats()
        assert (s.size, s.in_use, s.idle) == (0, 0, 0)
        with pytest.raises(PoolClosedError):
            await pool.get()
        with pytest.raises(PoolClosedError):
            async with pool.get():
                pass
        await pool.close()  # idempotent

    async def test_close_timeout_then_forces(self, ormer_url: str) -> None:
        pool = await builder(ormer_url, max_size=1).build()
        conn = await pool.get()
        await pool.close(timeout=0.05)
        assert pool.is_closed
        assert pool.stats().size == 0
        assert conn.driver.is_closed
        await conn.release()  # harmless after the pool closed
        s = pool.stats()
        assert (s.size, s.in_use, s.closed) == (0, 0, 1)

    async def test_waiters_fail_when_pool_closes(self, ormer_url: str) -> None:
        pool = await builder(ormer_url, max_size=1, acquire_timeout=30).build()
        held = await pool.get()
        waiters = [asyncio.create_task(borrow(pool)) for _ in range(3)]
        assert await until(lambda: pool.stats().waiting == 3)

        async def release_later() -> None:
            await asyncio.sleep(0.05)
            await held.release()

        releaser = asyncio.create_task(release_later())
        await pool.close(timeout=30)
        await releaser
        for w in waiters:
            with pytest.raises(PoolClosedError):
                await w
        s = pool.stats()
        assert (s.size, s.in_use, s.waiting) == (0, 0, 0)

    async def test_async_with_closes_pool(self, ormer_url: str) -> None:
        async with await Database.create_pool(ormer_url).max_size(2).build() as p:
            async with p.get() as conn:
                driver = conn.driver
            assert not p.is_closed
        assert p.is_closed
        assert driver.is_closed
        with pytest.raises(PoolClosedError):
            await p.get()

    async def test_terminate(self, ormer_url: str) -> None:
        pool = await builder(ormer_url, max_size=2, min_size=1).build()
        conn = await pool.get()
        await pool.terminate()
        assert pool.is_closed
        assert conn.driver.is_closed
        assert pool.stats().size == 0
        with pytest.raises(PoolClosedError):
            await pool.get()
        await conn.release()  # after terminate: no double counting
        s = pool.stats()
        assert (s.size, s.in_use) == (0, 0)
        assert s.closed == s.created == 1
        await pool.close()  # a no-op now

    # -- cancellation --------------------------------------------------------------------
    async def test_cancelled_waiter_leaks_nothing(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            held = await pool.get()
            doomed = asyncio.create_task(borrow(pool))
            assert await until(lambda: pool.stats().waiting == 1)
            served = asyncio.create_task(borrow(pool))
            assert await until(lambda: pool.stats().waiting == 2)
            doomed.cancel()
            with pytest.raises(asyncio.CancelledError):
                await doomed
            s = pool.stats()
            assert (s.waiting, s.size) == (1, 1)
            await held.release()
            conn = await asyncio.wait_for(served, 10)
            assert conn.driver is held.driver
            await conn.release()
            s = pool.stats()
            assert (s.waiting, s.size, s.in_use, s.idle, s.created) == (0, 1, 0, 1, 1)

    async def test_cancel_racing_a_grant_leaks_nothing(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            held = await pool.get()
            doomed = asyncio.create_task(borrow(pool))
            assert await until(lambda: pool.stats().waiting == 1)
            nxt = asyncio.create_task(borrow(pool))
            assert await until(lambda: pool.stats().waiting == 2)
            await held.release()  # grants the connection to `doomed` ...
            doomed.cancel()  # ... which is cancelled before it runs
            with pytest.raises(asyncio.CancelledError):
                await doomed
            conn = await asyncio.wait_for(nxt, 10)
            assert conn.driver is held.driver
            await conn.release()
            s = pool.stats()
            assert (s.waiting, s.size, s.in_use, s.idle, s.created) == (0, 1, 0, 1, 1)

    async def test_cancelled_while_connecting_leaks_nothing(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            doomed = asyncio.create_task(borrow(pool))
            await asyncio.sleep(0)  # it has started to connect
            assert pool.stats().size == 1
            doomed.cancel()
            with pytest.raises(asyncio.CancelledError):
                await doomed
            assert pool.stats().size == 0
            # cancelled at later points of the connect (or after it)
            for delay in (0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032):
                task = asyncio.create_task(borrow(pool))
                await asyncio.sleep(delay)
                task.cancel()
                try:
                    conn = await task
                except asyncio.CancelledError:
                    pass
                else:
                    await conn.close()  # so that the next round connects again
                s = pool.stats()
                assert (s.size, s.in_use, s.idle, s.waiting) == (0, 0, 0, 0)
                assert s.created == s.closed
            async with pool.get() as conn:
                assert await conn.exec_rows("SELECT 1") == [(1,)]
            s = pool.stats()
            assert (s.size, s.in_use, s.idle) == (1, 0, 1)
            gc.collect()  # a connection the cancelled connects left open would warn here

    async def test_cancelled_in_transaction_not_handed_on_dirty(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            await fresh(pool)
            inside = asyncio.Event()

            async def work() -> None:
                async with pool.get() as conn, conn.transaction():
                    await conn.insert(PItem(name="never"))
                    inside.set()
                    await asyncio.sleep(60)

            task = asyncio.create_task(work())
            await asyncio.wait_for(inside.wait(), 30)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert pool.stats().in_use == 0
            async with pool.get() as conn:
                assert not conn.in_transaction
                assert not conn.driver_in_transaction()
                assert await conn.select(PItem).count() == 0
                await asyncio.wait_for(conn.insert(PItem(name="next")), 10)
            async with await Database.connect(ormer_url) as outside:
                assert await names(outside) == ["next"]

    async def test_cancelled_mid_query_discards_connection(
        self, ormer_url: str, slow_query_sql: str
    ) -> None:
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            await fresh(pool)
            started = asyncio.Event()
            drivers: list[Any] = []

            async def work() -> None:
                async with pool.get() as conn:
                    drivers.append(conn.driver)
                    started.set()
                    await conn.exec_rows(slow_query_sql)

            task = asyncio.create_task(work())
            await asyncio.wait_for(started.wait(), 30)
            await asyncio.sleep(0.05)  # the slow query is in flight
            assert not task.done(), "slow_query_sql finished at once: override it for this backend"
            before = pool.stats().closed
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            s = pool.stats()
            assert (s.closed, s.in_use, s.size) == (before + 1, 0, 0)
            async with pool.get() as conn:
                assert conn.driver is not drivers[0]
                assert not conn.driver_in_transaction()
                assert await conn.exec_rows("SELECT 7") == [(7,)]
                await asyncio.wait_for(conn.insert(PItem(name="fine")), 10)
                assert await names(conn) == ["fine"]

    async def test_cancelled_mid_query_in_transaction(
        self, ormer_url: str, slow_query_sql: str, running_statements: Running | None
    ) -> None:
        marker = "ormer_cancelled_in_transaction_probe"
        async with opened(ormer_url, max_size=1, acquire_timeout=30) as pool:
            await fresh(pool)
            started = asyncio.Event()

            async def work() -> None:
                async with pool.get() as conn, conn.transaction():
                    await conn.insert(PItem(name="never"))
                    started.set()
                    await conn.exec_rows(f"{slow_query_sql} /* {marker} */")

            task = asyncio.create_task(work())
            await asyncio.wait_for(started.wait(), 30)
            await asyncio.sleep(0.05)
            assert not task.done(), "slow_query_sql finished at once: override it for this backend"
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert pool.stats().in_use == 0
            # the server stops the statement (and the transaction's locks go with it),
            # not seconds later when it would have finished
            await assert_not_running(running_statements, ormer_url, marker)
            async with pool.get() as conn:
                assert not conn.in_transaction
                assert not conn.driver_in_transaction()
                await asyncio.wait_for(conn.insert(PItem(name="next")), 10)
                assert await names(conn) == ["next"]
            async with await Database.connect(ormer_url) as outside:
                assert await names(outside) == ["next"]

    # -- the pool-level query API ----------------------------------------------------------
    async def test_pool_query_api_borrows_per_statement(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=2, acquire_timeout=10) as pool:
            acquired = 0

            def borrowed_once_more() -> bool:
                nonlocal acquired
                s = pool.stats()
                more = s.in_use == 0 and s.acquired == acquired + 1
                acquired = s.acquired
                return more

            await pool.drop_table(PItem)
            assert borrowed_once_more()
            await pool.create_table(PItem)
            assert borrowed_once_more()
            await pool.insert([PItem(name="a"), PItem(name="b")])
            assert borrowed_once_more()
            items = await pool.select(PItem).order_by(PItem.id).collect()
            assert [i.name for i in items] == ["a", "b"]
            assert borrowed_once_more()
            updated = await pool.update(PItem).filter(PItem.name == "a").set(PItem.name, "z")
            assert updated == 1
            assert borrowed_once_more()
            found = await pool.find(PItem, items[0].id)
            assert found is not None and found.name == "z"
            assert borrowed_once_more()
            assert await pool.delete(PItem).filter(PItem.name == "b") == 1
            assert borrowed_once_more()
            d = pool.dialect
            table = d.quote(TABLE)
            assert await pool.exec_rows(f"SELECT COUNT(*) FROM {table}") == [(1,)]
            assert borrowed_once_more()
            mapped = await pool.exec_table(PItem, f"SELECT * FROM {table}")
            assert [(i.id, i.name) for i in mapped] == [(items[0].id, "z")]
            assert borrowed_once_more()
            streamed = []
            async for item in pool.select(PItem).stream(batch=1):
                assert pool.stats().in_use == 1  # one connection for the whole stream
                streamed.append(item.name)
            assert streamed == ["z"]
            assert borrowed_once_more()
            assert await pool.exec_non_query(f"DELETE FROM {table}") == 1
            assert borrowed_once_more()
            assert await pool.select(PItem).count() == 0
            assert borrowed_once_more()
            assert pool.stats().size == 1  # one connection served them all, in turn

    # -- concurrency ------------------------------------------------------------------------
    async def test_concurrent_inserts(self, ormer_url: str) -> None:
        """50 tasks x 100 single-row inserts through a pool of 8: exactly 5,000 rows and
        no error (on SQLite: no "database is locked", the pool serialises the writers)."""
        async with opened(ormer_url, max_size=8, acquire_timeout=60) as pool:
            await fresh(pool)
            errors: list[BaseException] = []

            async def writer(t: int) -> None:
                try:
                    for i in range(100):
                        async with pool.get() as conn:
                            await conn.insert(PItem(name=f"{t}-{i}"))
                except Exception as exc:
                    errors.append(exc)

            await asyncio.gather(*(writer(t) for t in range(50)))
            assert errors == []
            assert await pool.select(PItem).count() == 5000
            names = await pool.select(PItem.name).scalars().collect()
            assert sorted(names) == sorted(f"{t}-{i}" for t in range(50) for i in range(100))
            s = pool.stats()
            assert s.size <= 8 and s.in_use == 0 and s.timeouts == 0

    async def test_concurrent_transactions(self, ormer_url: str) -> None:
        async with opened(ormer_url, max_size=8, acquire_timeout=60) as pool:
            await fresh(pool)
            errors: list[BaseException] = []

            async def worker(t: int) -> None:
                try:
                    for i in range(10):
                        async with pool.get() as conn, conn.transaction():
                            n = await conn.select(PItem).count()
                            await conn.insert(PItem(name=f"{t}-{i}-{n}"))
                except Exception as exc:
                    errors.append(exc)

            await asyncio.gather(*(worker(t) for t in range(20)))
            assert errors == []
            assert await pool.select(PItem).count() == 200
            s = pool.stats()
            assert s.size <= 8 and s.in_use == 0

"""The connection pool (DESIGN §3) on real SQLite files."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import ormer.plugins
from ormer import (
    ConfigurationError,
    ConnectionReleasedError,
    Database,
    DbType,
    Model,
    Pool,
    PoolClosedError,
    PooledConnection,
    PoolTimeoutError,
    primary,
)
from ormer.errors import ConnectionError as OrmerConnectionError
from ormer.hookspecs import hookimpl

pytestmark = pytest.mark.sqlite

LONG_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
    "SELECT count(*) FROM c"
)


class PoolItem(Model, table="pool_items"):
    id: int = primary(auto=True)
    name: str


def builder(path: Path, **kw: Any) -> Any:
    b = Database.create_pool(DbType.SQLITE, str(path))
    for name, value in kw.items():
        b = getattr(b, name)(value)
    return b


async def until(cond: Callable[[], bool], tries: int = 200) -> bool:
    for _ in range(tries):
        if cond():
            return True
        await asyncio.sleep(0.01)
    return cond()


async def init_wal(path: Path) -> None:
    """Switch a fresh file to WAL up front.

    Several first connects racing on a fresh file can fail their
    ``PRAGMA journal_mode = WAL`` with "database is locked" (see the report).
    """
    async with await builder(path, max_size=1).build() as pool:
        await pool.create_table(PoolItem)


async def no_worker_threads() -> None:
    """Let aiosqlite's worker threads of failed connects stop before the loop closes.

    On a failed connect aiosqlite stops its thread with a future nobody awaits; the
    thread posts its result to the loop, which must still be open then.
    """
    assert await until(
        lambda: (
            not any(
                "_connection_worker_thread" in t.name and t.is_alive()
                for t in threading.enumerate()
            )
        )
    )
    await asyncio.sleep(0.01)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "pool.db"


@pytest.fixture
async def pool(db_path: Path) -> AsyncIterator[Pool]:
    p = await builder(db_path, max_size=4, acquire_timeout=5).build()
    await p.create_table(PoolItem)
    try:
        yield p
    finally:
        await p.close(timeout=5)


class _Counter:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.created = 0
        self.checkout = 0
        self.checkin = 0

    @hookimpl
    def ormer_before_execute(self, sql: str, params: Any, dialect: Any) -> None:
        self.statements.append(sql)

    @hookimpl
    def ormer_connection_created(self, conn: Any) -> None:
        self.created += 1

    @hookimpl
    def ormer_connection_checkout(self, conn: Any) -> None:
        self.checkout += 1

    @hookimpl
    def ormer_connection_checkin(self, conn: Any) -> None:
        self.checkin += 1


@pytest.fixture
def counter() -> Any:
    c = _Counter()
    name = ormer.plugins.register(c, name="pool-test-counter")
    try:
        yield c
    finally:
        ormer.plugins.unregister(name)


# --- builder ---------------------------------------------------------------------------
async def test_builder_every_option(db_path: Path) -> None:
    b = Database.create_pool(DbType.SQLITE, str(db_path))
    assert b.max_size(5) is b
    assert b.min_size(2) is b
    assert b.idle_timeout(10) is b
    assert b.acquire_timeout(3) is b
    assert b.max_lifetime(100) is b
    assert b.health_check(1) is b
    assert b.connect_options(timeout=2) is b
    pool = await b.build()
    try:
        assert isinstance(pool, Pool)
        assert (pool.min_size, pool.max_size) == (2, 5)
        assert pool.idle_timeout == 10
        assert pool.acquire_timeout == 3
        assert pool.max_lifetime == 100
        assert pool.health_check == 1
        assert pool.stats().size == 2
        assert pool.stats().created == 2
    finally:
        await pool.close()
    pool = await Database.create_pool(DbType.SQLITE, str(db_path)).range(1, 3)
    try:
        assert (pool.min_size, pool.max_size) == (1, 3)
        assert pool.stats().size == 1
    finally:
        await pool.close()


async def test_builder_defaults(db_path: Path) -> None:
    async with await Database.create_pool(DbType.SQLITE, str(db_path)).build() as pool:
        s = pool.stats()
        assert (s.min_size, s.max_size, s.size) == (0, 10, 0)
        assert pool.idle_timeout == 300
        assert pool.acquire_timeout == 30
        assert pool.max_lifetime is None
        assert pool.health_check == 30


@pytest.mark.parametrize(
    "options",
    [
        {"min_size": 3, "max_size": 2},
        {"max_size": 0},
        {"max_size": -1},
        {"min_size": -1},
        {"idle_timeout": -1},
        {"acquire_timeout": -0.5},
        {"max_lifetime": -1},
        {"health_check": -1},
    ],
)
async def test_builder_validation(db_path: Path, options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        await builder(db_path, **options).build()
    with pytest.raises(ConfigurationError):
        await builder(db_path, **options)


async def test_range_validation(db_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        await Database.create_pool(DbType.SQLITE, str(db_path)).range(4, 2).build()


async def test_connect_options_reach_the_driver(db_path: Path) -> None:
    async with await builder(db_path, max_size=1).connect_options(timeout=1.5).build() as pool:
        async with pool.get() as conn:
            assert (await conn.exec_rows("PRAGMA busy_timeout"))[0][0] == 1500
    with pytest.raises((ConfigurationError, OrmerConnectionError)):
        await builder(db_path, min_size=1).connect_options(no_such_option=1).build()
    await no_worker_threads()


async def test_unreachable_database_fails_build(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    with pytest.raises(OrmerConnectionError):
        await builder(missing, min_size=1).build()
    await no_worker_threads()


async def test_unreachable_database_fails_get(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "x.db"
    async with await builder(missing, max_size=2).build() as pool:
        with pytest.raises(OrmerConnectionError):
            await pool.get()
        s = pool.stats()
        assert s.size == 0 and s.in_use == 0
    await no_worker_threads()


# --- get / release / close ------------------------------------------------------------
async def test_get_awaitable_and_context_manager(pool: Pool) -> None:
    conn = await pool.get()
    assert isinstance(conn, PooledConnection)
    assert pool.stats().in_use == 1
    await conn.insert(PoolItem(name="a"))
    await conn.release()
    assert conn.released
    assert pool.stats().in_use == 0
    async with pool.get() as conn2:
        assert pool.stats().in_use == 1
        assert len(await conn2.select(PoolItem).collect()) == 1
    assert conn2.released
    assert pool.stats().in_use == 0
    await conn.release()  # idempotent


async def test_context_manager_returns_on_error(pool: Pool) -> None:
    with pytest.raises(RuntimeError):
        async with pool.get():
            raise RuntimeError("boom")
    s = pool.stats()
    assert s.in_use == 0 and s.idle == s.size == 1


async def test_use_after_release_raises(pool: Pool) -> None:
    conn = await pool.get()
    await conn.release()
    with pytest.raises(ConnectionReleasedError):
        await conn.select(PoolItem).collect()
    with pytest.raises(ConnectionReleasedError):
        await conn.exec_rows("SELECT 1")
    with pytest.raises(ConnectionReleasedError):
        await conn.insert(PoolItem(name="x"))


async def test_close_retires_the_connection(pool: Pool) -> None:
    conn = await pool.get()
    driver = conn.driver
    before = pool.stats()
    await conn.close()
    after = pool.stats()
    assert after.closed == before.closed + 1
    assert after.size == before.size - 1
    assert after.in_use == 0
    assert await until(lambda: driver.is_closed)
    with pytest.raises(ConnectionReleasedError):
        await conn.exec_rows("SELECT 1")
    async with pool.get() as again:
        assert again.driver is not driver


async def test_close_inside_a_transaction_frees_the_write_gate(pool: Pool) -> None:
    conn = await pool.get()
    await conn.begin()
    await conn.insert(PoolItem(name="dropped"))
    await conn.close()
    async with pool.get() as other:
        await asyncio.wait_for(other.insert(PoolItem(name="kept")), 2)
        names = [i.name for i in await other.select(PoolItem).collect()]
    assert names == ["kept"]


async def test_garbage_collected_connection_warns_and_recovers(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, acquire_timeout=2).build() as pool:
        conn = await pool.get()
        assert pool.stats().size == 1
        with pytest.warns(ResourceWarning, match="garbage-collected"):
            del conn
            gc.collect()
        await asyncio.sleep(0)
        assert await until(lambda: pool.stats().size == 0)
        async with pool.get() as conn2:
            assert await conn2.exec_rows("SELECT 1") == [(1,)]


async def test_garbage_collected_in_transaction_frees_the_write_gate(db_path: Path) -> None:
    async with await builder(db_path, max_size=2, acquire_timeout=2).build() as pool:
        await pool.create_table(PoolItem)
        conn = await pool.get()
        await conn.begin()
        await conn.insert(PoolItem(name="lost"))
        with pytest.warns(ResourceWarning):
            del conn
            gc.collect()
        assert await until(lambda: pool.stats().in_use == 0)
        async with pool.get() as other:
            await asyncio.wait_for(other.insert(PoolItem(name="ok")), 2)


async def _acquire_for_debug_stack(pool: Pool) -> PooledConnection:
    return await pool.get()


async def test_debug_warning_shows_acquiring_stack(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORMER_DEBUG", "1")
    async with await builder(db_path, max_size=1).build() as pool:
        conn = await _acquire_for_debug_stack(pool)
        with pytest.warns(ResourceWarning) as record:
            del conn
            gc.collect()
        await asyncio.sleep(0)
        text = "\n".join(str(w.message) for w in record)
        assert "_acquire_for_debug_stack" in text
        assert "test_debug_warning_shows_acquiring_stack" in text


async def test_no_debug_stack_without_env(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORMER_DEBUG", raising=False)
    async with await builder(db_path, max_size=1).build() as pool:
        conn = await _acquire_for_debug_stack(pool)
        with pytest.warns(ResourceWarning, match="ORMER_DEBUG") as record:
            del conn
            gc.collect()
        await asyncio.sleep(0)
        assert "_acquire_for_debug_stack" not in "\n".join(str(w.message) for w in record)


# --- sizing, ordering, timeouts ------------------------------------------------------
async def test_never_more_than_max_size_while_connecting(db_path: Path) -> None:
    await init_wal(db_path)
    async with await builder(db_path, max_size=3, acquire_timeout=10).build() as pool:
        seen: list[int] = []
        stop = False

        async def watch() -> None:
            while not stop:
                seen.append(pool.stats().size)
                await asyncio.sleep(0)

        watcher = asyncio.create_task(watch())

        async def use(i: int) -> None:
            async with pool.get() as conn:
                seen.append(pool.stats().size)
                await conn.exec_rows("SELECT ?", [i])
                await asyncio.sleep(0.001)

        await asyncio.gather(*(use(i) for i in range(30)))
        stop = True
        await watcher
        assert seen and max(seen) <= 3
        s = pool.stats()
        assert s.created == 3
        assert s.acquired == 30
        assert s.size == 3 and s.idle == 3 and s.in_use == 0


async def test_waiters_are_served_fifo(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, acquire_timeout=10).build() as pool:
        first = await pool.get()
        order: list[int] = []

        async def waiter(i: int) -> None:
            async with pool.get():
                order.append(i)
                await asyncio.sleep(0.001)

        tasks = []
        for i in range(8):
            tasks.append(asyncio.create_task(waiter(i)))
            await until(lambda i=i: pool.stats().waiting == i + 1)
        assert pool.stats().waiting == 8
        await first.release()
        await asyncio.gather(*tasks)
        assert order == list(range(8))


async def test_most_recently_used_idle_first(pool: Pool) -> None:
    a = await pool.get()
    b = await pool.get()
    da, db_ = a.driver, b.driver
    assert da is not db_
    await a.release()
    await b.release()
    c = await pool.get()
    assert c.driver is db_
    d = await pool.get()
    assert d.driver is da
    await c.release()
    await d.release()


async def test_acquire_timeout(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, acquire_timeout=0.05).build() as pool:
        held = await pool.get()
        with pytest.raises(PoolTimeoutError) as info:
            await pool.get()
        message = str(info.value)
        assert "size" in message and "in use" in message and "waiting" in message
        s = pool.stats()
        assert s.timeouts == 1 and s.waiting == 0 and s.size == 1 and s.in_use == 1
        with pytest.raises(PoolTimeoutError):
            async with pool.get(timeout=0.01):
                pass
        assert pool.stats().timeouts == 2
        await held.release()
        async with pool.get() as conn:
            assert await conn.exec_rows("SELECT 1") == [(1,)]


# --- health, lifetime ---------------------------------------------------------------
async def test_dead_idle_connection_is_replaced(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, health_check=0).build() as pool:
        conn = await pool.get()
        driver = conn.driver
        await conn.release()
        await driver.close()
        async with pool.get() as conn2:
            assert conn2.driver is not driver
            assert await conn2.exec_rows("SELECT 42") == [(42,)]
        s = pool.stats()
        assert s.created == 2 and s.closed == 1 and s.size == 1


async def test_failed_ping_replaces_connection(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, health_check=0).build() as pool:
        conn = await pool.get()
        driver = conn.driver
        await conn.release()
        # break the sqlite3 connection underneath: the driver still says "open",
        # so only the health-check ping can find out
        raw = driver._raw  # type: ignore[attr-defined]
        await driver._aconn._execute(raw.close)  # type: ignore[attr-defined]
        assert not driver.is_closed
        async with pool.get() as conn2:
            assert conn2.driver is not driver
            assert await conn2.exec_rows("SELECT 1") == [(1,)]
        await driver.close()


async def test_max_lifetime(db_path: Path) -> None:
    async with await builder(db_path, max_size=2, max_lifetime=0.05).build() as pool:
        conn = await pool.get()
        driver = conn.driver
        await asyncio.sleep(0.1)
        await conn.release()
        s = pool.stats()
        assert s.closed == 1 and s.size == 0
        async with pool.get() as conn2:
            assert conn2.driver is not driver
        assert pool.stats().created == 2


# --- state on return ---------------------------------------------------------------
async def test_open_transaction_rolled_back_on_return(pool: Pool) -> None:
    conn = await pool.get()
    await conn.begin()
    await conn.insert(PoolItem(name="uncommitted"))
    await conn.release()
    async with pool.get() as a, pool.get() as b:
        for c in (a, b):
            assert not c.in_transaction
            assert not c.driver_in_transaction()
            assert await c.select(PoolItem).count() == 0
        await a.insert(PoolItem(name="after"))  # the write gate is free again
    assert await pool.select(PoolItem).count() == 1


async def test_raw_begin_rolled_back_on_return(pool: Pool) -> None:
    conn = await pool.get()
    await conn.exec_non_query("BEGIN")
    await conn.exec_non_query("INSERT INTO pool_items (name) VALUES ('raw')")
    await conn.release()
    async with pool.get() as c:
        assert not c.driver_in_transaction()
    assert await pool.select(PoolItem).count() == 0


async def test_raw_sql_marks_session_dirty_and_reset_runs(pool: Pool) -> None:
    conn = await pool.get()
    assert not conn._session_dirty
    await conn.exec_non_query("INSERT INTO pool_items (name) VALUES ('raw')")
    assert conn._session_dirty
    driver = conn.driver
    await conn.release()
    async with pool.get() as c:
        assert c.driver is driver
        assert not c._session_dirty
        assert await c.exec_rows("SELECT count(*) FROM pool_items") == [(1,)]


async def test_clean_checkout_costs_no_statement(db_path: Path, counter: _Counter) -> None:
    async with await builder(db_path, max_size=2, health_check=None).build() as pool:
        async with pool.get():
            pass  # the first checkout connects
        counter.statements.clear()
        for _ in range(5):
            conn = await pool.get()
            await conn.release()
            async with pool.get():
                pass
        assert counter.statements == []
        async with pool.get() as conn:
            await conn.exec_rows("SELECT 1")
        assert counter.statements == ["SELECT 1"]


async def test_pool_hooks_fire(db_path: Path, counter: _Counter) -> None:
    async with await builder(db_path, max_size=2, min_size=1).build() as pool:
        assert counter.created == 1
        a = await pool.get()
        b = await pool.get()
        assert counter.created == 2
        assert counter.checkout == 2
        await a.release()
        await b.close()
        assert counter.checkin == 2
        async with pool.get():
            pass
        assert (counter.created, counter.checkout, counter.checkin) == (2, 3, 3)


# --- the reaper -------------------------------------------------------------------
async def test_reaper_closes_idle_above_min_size(db_path: Path) -> None:
    async with await builder(db_path, min_size=1, max_size=4, idle_timeout=0.05).build() as pool:
        conns = [await pool.get() for _ in range(4)]
        assert pool.stats().size == 4
        for c in conns:
            await c.release()
        await asyncio.sleep(0.3)
        assert await until(lambda: pool.stats().size == 1)
        s = pool.stats()
        assert s.idle == 1 and s.closed == 3


async def test_reaper_refills_to_min_size(db_path: Path) -> None:
    async with await builder(db_path, min_size=2, max_size=4, idle_timeout=0.05).build() as pool:
        a = await pool.get()
        b = await pool.get()
        await a.close()
        await b.close()
        assert pool.stats().size == 0
        assert await until(lambda: pool.stats().size == 2)
        assert await until(lambda: pool.stats().idle == 2)
        assert pool.stats().created == 4


async def test_manual_reap(db_path: Path) -> None:
    async with await builder(db_path, max_size=3, idle_timeout=0.01).build() as pool:
        conns = [await pool.get() for _ in range(3)]
        for c in conns:
            await c.release()
        await asyncio.sleep(0.05)
        pool.reap()
        assert pool.stats().size == 0


# --- stats and closing ---------------------------------------------------------------
async def test_stats_consistent(pool: Pool) -> None:
    s = pool.stats()
    assert s.size == s.idle + s.in_use
    conns = [await pool.get() for _ in range(3)]
    s = pool.stats()
    assert (s.size, s.in_use, s.idle) == (3, 3, 0)
    await conns[0].release()
    s = pool.stats()
    assert (s.size, s.in_use, s.idle) == (3, 2, 1)
    for c in conns[1:]:
        await c.release()
    s = pool.stats()
    assert s.size == s.idle + s.in_use == 3
    assert s.acquired >= 3 and s.waiting == 0 and s.timeouts == 0


async def test_close_waits_for_borrowed(db_path: Path) -> None:
    pool = await builder(db_path, max_size=2).build()
    conn = await pool.get()
    released = asyncio.Event()

    async def later() -> None:
        await asyncio.sleep(0.05)
        await conn.release()
        released.set()

    task = asyncio.create_task(later())
    await pool.close(timeout=5)
    assert released.is_set()
    await task
    assert pool.is_closed
    s = pool.stats()
    assert s.size == 0 and s.in_use == 0
    with pytest.raises(PoolClosedError):
        await pool.get()
    with pytest.raises(PoolClosedError):
        async with pool.get():
            pass
    await pool.close()  # idempotent


async def test_close_timeout_then_forces(db_path: Path) -> None:
    pool = await builder(db_path, max_size=1).build()
    conn = await pool.get()
    await pool.close(timeout=0.05)
    assert pool.stats().size == 0
    assert conn.driver.is_closed
    await conn.release()  # harmless after the pool closed
    s = pool.stats()
    assert s.size == 0 and s.in_use == 0 and s.closed == 1


async def test_waiters_fail_when_pool_closes(db_path: Path) -> None:
    pool = await builder(db_path, max_size=1, acquire_timeout=10).build()
    held = await pool.get()
    waiters = [asyncio.create_task(pool._acquire(None)) for _ in range(3)]
    assert await until(lambda: pool.stats().waiting == 3)

    async def release_later() -> None:
        await asyncio.sleep(0.05)
        await held.release()

    releaser = asyncio.create_task(release_later())
    await pool.close(timeout=5)
    await releaser
    for w in waiters:
        with pytest.raises(PoolClosedError):
            await w


async def test_async_with_closes_pool(db_path: Path) -> None:
    async with await Database.create_pool(DbType.SQLITE, str(db_path)).max_size(2).build() as p:
        async with p.get() as conn:
            driver = conn.driver
    assert p.is_closed
    assert driver.is_closed
    with pytest.raises(PoolClosedError):
        await p.get()


async def test_terminate(db_path: Path) -> None:
    pool = await builder(db_path, max_size=2, min_size=1).build()
    conn = await pool.get()
    await pool.terminate()
    assert pool.is_closed
    assert conn.driver.is_closed
    assert pool.stats().size == 0
    with pytest.raises(PoolClosedError):
        await pool.get()
    await conn.release()  # after terminate: no double counting
    s = pool.stats()
    assert s.size == 0 and s.in_use == 0 and s.closed == s.created == 1


# --- cancellation ------------------------------------------------------------------
async def test_cancelled_waiter_leaks_nothing(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, acquire_timeout=10).build() as pool:
        held = await pool.get()
        doomed = asyncio.create_task(pool._acquire(None))
        assert await until(lambda: pool.stats().waiting == 1)
        served = asyncio.create_task(pool._acquire(None))
        assert await until(lambda: pool.stats().waiting == 2)
        doomed.cancel()
        with pytest.raises(asyncio.CancelledError):
            await doomed
        s = pool.stats()
        assert s.waiting == 1 and s.size == 1
        await held.release()
        conn = await asyncio.wait_for(served, 2)
        assert conn.driver is held.driver
        await conn.release()
        s = pool.stats()
        assert (s.waiting, s.size, s.in_use, s.idle) == (0, 1, 0, 1)


async def test_cancel_racing_a_grant_leaks_nothing(db_path: Path) -> None:
    async with await builder(db_path, max_size=1, acquire_timeout=10).build() as pool:
        held = await pool.get()
        doomed = asyncio.create_task(pool._acquire(None))
        assert await until(lambda: pool.stats().waiting == 1)
        nxt = asyncio.create_task(pool._acquire(None))
        assert await until(lambda: pool.stats().waiting == 2)
        await held.release()  # grants the connection to `doomed` ...
        doomed.cancel()  # ... which is cancelled before it runs
        with pytest.raises(asyncio.CancelledError):
            await doomed
        conn = await asyncio.wait_for(nxt, 2)
        await conn.release()
        s = pool.stats()
        assert (s.waiting, s.size, s.in_use) == (0, 1, 0)


async def test_cancelled_in_transaction_not_handed_on_dirty(pool: Pool) -> None:
    inside = asyncio.Event()

    async def work() -> None:
        async with pool.get() as conn, conn.transaction():
            await conn.insert(PoolItem(name="never"))
            inside.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(work())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pool.get() as conn:
        assert not conn.in_transaction
        assert not conn.driver_in_transaction()
        assert await conn.select(PoolItem).count() == 0
        await asyncio.wait_for(conn.insert(PoolItem(name="next")), 2)
    assert pool.stats().in_use == 0


async def test_cancelled_mid_query_discards_connection(pool: Pool) -> None:
    started = asyncio.Event()
    drivers: list[Any] = []

    async def work() -> None:
        async with pool.get() as conn:
            drivers.append(conn.driver)
            started.set()
            await conn.exec_rows(LONG_QUERY)

    task = asyncio.create_task(work())
    await started.wait()
    await asyncio.sleep(0.01)
    before = pool.stats().closed
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pool.stats().closed == before + 1
    assert pool.stats().in_use == 0
    async with pool.get() as conn:
        assert conn.driver is not drivers[0]
        assert await conn.exec_rows("SELECT 7") == [(7,)]
        await conn.insert(PoolItem(name="fine"))


async def test_cancelled_mid_query_in_transaction(pool: Pool) -> None:
    started = asyncio.Event()

    async def work() -> None:
        async with pool.get() as conn, conn.transaction():
            await conn.insert(PoolItem(name="never"))
            started.set()
            await conn.exec_rows(LONG_QUERY)

    task = asyncio.create_task(work())
    await started.wait()
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with pool.get() as conn:
        assert not conn.in_transaction
        await asyncio.wait_for(conn.insert(PoolItem(name="next")), 5)
        names = [i.name for i in await conn.select(PoolItem).collect()]
    assert names == ["next"]


# --- the pool-level query API --------------------------------------------------------
async def test_pool_query_api_borrows_per_statement(db_path: Path) -> None:
    async with await builder(db_path, max_size=2).build() as pool:

        def check(acquired_before: int) -> int:
            s = pool.stats()
            assert s.in_use == 0
            assert s.acquired > acquired_before
            return s.acquired

        n = 0
        await pool.create_table(PoolItem)
        n = check(n)
        await pool.insert([PoolItem(name="a"), PoolItem(name="b")])
        n = check(n)
        assert [i.name for i in await pool.select(PoolItem).order_by(PoolItem.id).collect()] == [
            "a",
            "b",
        ]
        n = check(n)
        assert await pool.update(PoolItem).filter(PoolItem.name == "a").set(PoolItem.name, "z") == 1
        n = check(n)
        found = await pool.find(PoolItem, 1)
        assert found is not None and found.name == "z"
        n = check(n)
        assert await pool.delete(PoolItem).filter(PoolItem.name == "b") == 1
        n = check(n)
        assert await pool.exec_rows("SELECT count(*) FROM pool_items") == [(1,)]
        n = check(n)
        assert await pool.exec_non_query("DELETE FROM pool_items") == 1
        n = check(n)
        assert await pool.select(PoolItem).count() == 0
        check(n)
        assert pool.stats().size == 1


# --- SQLite safety ------------------------------------------------------------------
async def test_concurrent_inserts(db_path: Path) -> None:
    async with await builder(db_path, max_size=8, acquire_timeout=60).build() as pool:
        await pool.create_table(PoolItem)
        errors: list[BaseException] = []

        async def writer(t: int) -> None:
            try:
                for i in range(100):
                    async with pool.get() as conn:
                        await conn.insert(PoolItem(name=f"{t}-{i}"))
            except BaseException as exc:
                errors.append(exc)

        await asyncio.gather(*(writer(t) for t in range(50)))
        assert errors == []
        assert await pool.select(PoolItem).count() == 5000
        assert pool.stats().size <= 8


async def test_concurrent_transactions_never_locked(db_path: Path) -> None:
    async with await builder(db_path, max_size=8, acquire_timeout=60).build() as pool:
        await pool.create_table(PoolItem)
        errors: list[BaseException] = []

        async def worker(t: int) -> None:
            try:
                for i in range(10):
                    async with pool.get() as conn, conn.transaction():
                        n = await conn.select(PoolItem).count()
                        await conn.insert(PoolItem(name=f"{t}-{i}-{n}"))
            except BaseException as exc:
                errors.append(exc)

        await asyncio.gather(*(worker(t) for t in range(20)))
        assert [e for e in errors if "locked" in str(e)] == []
        assert errors == []
        assert await pool.select(PoolItem).count() == 200


async def test_wal_and_busy_timeout(pool: Pool) -> None:
    async with pool.get() as conn:
        assert (await conn.exec_rows("PRAGMA journal_mode"))[0][0].lower() == "wal"
        assert (await conn.exec_rows("PRAGMA busy_timeout"))[0][0] > 0


def test_env_not_leaked() -> None:
    assert os.environ.get("ORMER_DEBUG") in (None, "", "0")

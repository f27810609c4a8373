"""The connection pool (docs/pool.md) on real SQLite files: what only SQLite has.

The pool's backend-independent behaviour is tested by the compliance suite
(``ormer.testing.suite.test_pool`` / ``test_pool_stateful``), which every backend
runs, ormer-sqlite included (``packages/ormer-sqlite/tests/test_suite.py``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from ormer import ConfigurationError, Database, DbType, Model, Pool, primary
from ormer.errors import ConnectionError as OrmerConnectionError

pytestmark = pytest.mark.sqlite


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


# --- connecting ---------------------------------------------------------------------------


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


# --- health checks ---------------------------------------------------------------


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


# --- SQLite safety ------------------------------------------------------------------


async def test_wal_and_busy_timeout(pool: Pool) -> None:
    async with pool.get() as conn:
        assert (await conn.exec_rows("PRAGMA journal_mode"))[0][0].lower() == "wal"
        assert (await conn.exec_rows("PRAGMA busy_timeout"))[0][0] > 0

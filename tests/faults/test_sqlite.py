"""SQLite where faults apply: a file locked by another process, a process exiting with
pools open (the cancellation storm is in test_storm.py)."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ormer import Database, TransientError

from .conftest import bounded
from .workload import SLACK, Ledger, assert_pool_whole, reset_table

pytestmark = [pytest.mark.faults, pytest.mark.sqlite]

BUSY = 0.5
#: a process whose main coroutine failed must be gone by then
EXIT_BOUND = 10.0


@bounded(60)
async def test_locked_file_bounded_by_busy_timeout(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """Another process (here: another sqlite3 connection) holds the write lock: writes
    fail with TransientError after the busy timeout, reads go on (WAL), and once the lock
    is gone the pool writes again (its own write lock was not left held)."""
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    await reset_table(url)
    builder = Database.create_pool(url).max_size(3).connect_options(timeout=BUSY)
    async with await builder.build() as pool:
        await pool.insert(Ledger(pair=1, amount=0))
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("INSERT INTO fault_ledger (pair, amount) VALUES (2, 0)")
            start = time.monotonic()
            with pytest.raises(TransientError):
                await pool.insert(Ledger(pair=3, amount=0))
            took = time.monotonic() - start
            assert took <= BUSY + SLACK, f"a write against a held lock took {took:.2f}s"
            assert await pool.select(Ledger).count() == 1  # readers are not blocked
        finally:
            other.execute("ROLLBACK")
            other.close()
        await pool.insert(Ledger(pair=4, amount=0))
        assert sorted(r.pair for r in await pool.select(Ledger).collect()) == [1, 4]
        await assert_pool_whole(pool)
        figure(
            f"sqlite locked file: write failed with TransientError in {took:.2f}s "
            f"(busy timeout {BUSY}s), reads unaffected"
        )


EXITING = """
import asyncio, sys
from ormer import Database

async def main(path):
    pool = await Database.create_pool(f"sqlite:///{path}").max_size(2).build()
    await pool.exec_rows("SELECT 1")
    db = await Database.connect(f"sqlite:///{path}")
    await db.exec_rows("SELECT 1")
    raise RuntimeError("the application failed with its pool and connection open")

asyncio.run(main(sys.argv[1]))
"""


@bounded(60)
async def test_process_exits_with_pools_open(tmp_path: Path, figure: Callable[[str], None]) -> None:
    """An exception escaping asyncio.run with a SQLite pool and connection still open: the
    process ends (needs issue 15 item 10: aiosqlite's worker threads must not keep it alive)."""
    script = tmp_path / "exiting.py"
    script.write_text(textwrap.dedent(EXITING))
    start = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        str(tmp_path / "exit.db"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(EXIT_BOUND):
            _, err = await proc.communicate()
    except TimeoutError:
        proc.kill()  # the child this test started
        await proc.wait()
        raise AssertionError(f"the process still ran {EXIT_BOUND}s after its error") from None
    took = time.monotonic() - start
    assert proc.returncode == 1, err.decode()
    assert b"RuntimeError: the application failed" in err
    figure(f"sqlite: a process failing with a pool and a connection open exited in {took:.2f}s")

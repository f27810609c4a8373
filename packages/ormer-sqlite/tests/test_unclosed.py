"""A SQLite connection the user forgot to close: the interpreter still exits, and says so.

aiosqlite runs each connection on a worker thread that is not a daemon, so an
unclosed connection used to keep the interpreter alive at exit forever. Each
scenario runs in a child interpreter (a hang there must fail the test, not
hang the suite). The child reports, after every other exit handler ran, which
threads are still alive: the worker must have ended (its connection closed),
not merely been abandoned as a daemon.
"""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from ormer import Database, DbType, Model, primary

#: a child that does not exit within this many seconds is reported as hung
EXIT_DEADLINE = 20.0
WARNING = "ResourceWarning: SQLite connection to"


class Left(Model, table="unclosed_left"):
    id: int = primary(auto=True)
    text: str


def run_child(body: str, db: Path, *warning_options: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(
        """
        import atexit, threading

        def report_threads():  # registered first, so it runs last
            alive = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
            print("threads at exit:", alive, flush=True)

        atexit.register(report_threads)

        import asyncio
        from ormer import Database, DbType, Model, primary

        class Left(Model, table="unclosed_left"):
            id: int = primary(auto=True)
            text: str

        DB_PATH = @DB@
        """
    ).replace("@DB@", repr(str(db))) + textwrap.dedent(body)
    try:
        return subprocess.run(
            [sys.executable, *warning_options, "-c", code],
            capture_output=True,
            text=True,
            timeout=EXIT_DEADLINE,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the interpreter did not exit within {EXIT_DEADLINE}s (hung): {exc.stderr!r}")


async def rows_in(db: Path) -> list[str]:
    async with await Database.connect(DbType.SQLITE, str(db)) as conn:
        return [row.text for row in await conn.select(Left).order_by(Left.id).collect()]


def assert_closed_cleanly(result: subprocess.CompletedProcess[str]) -> None:
    assert result.stdout.endswith("threads at exit: []\n"), result.stdout


GLOBAL_CONNECTION = """
    conn = None

    async def main():
        global conn
        conn = await Database.connect(DbType.SQLITE, DB_PATH)
        await conn.create_table(Left)
        await conn.insert(Left(text="kept at exit"))

    asyncio.run(main())
    print("main done", flush=True)
"""


def test_open_connection_at_exit_does_not_hang_and_warns(tmp_path: Path) -> None:
    db = tmp_path / "left.db"
    result = run_child(GLOBAL_CONNECTION, db, "-W", "default")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("main done\n")
    assert WARNING in result.stderr
    assert f"{str(db)!r} was never closed" in result.stderr
    assert result.stderr.count(WARNING) == 1
    assert "deleted before being closed" not in result.stderr  # not aiosqlite's too
    assert "Traceback" not in result.stderr
    assert_closed_cleanly(result)


async def test_rows_written_before_exit_are_kept(tmp_path: Path) -> None:
    db = tmp_path / "left.db"
    result = run_child(GLOBAL_CONNECTION, db, "-W", "default")
    assert result.returncode == 0, result.stderr
    assert await rows_in(db) == ["kept at exit"]


def test_exit_with_warnings_as_errors_still_closes(tmp_path: Path) -> None:
    db = tmp_path / "left.db"
    result = run_child(GLOBAL_CONNECTION, db, "-W", "error::ResourceWarning")
    assert result.returncode == 0, result.stderr
    assert WARNING in result.stderr
    assert_closed_cleanly(result)


def test_dropped_connection_warns_when_collected(tmp_path: Path) -> None:
    db = tmp_path / "dropped.db"
    body = """
        async def main():
            conn = await Database.connect(DbType.SQLITE, DB_PATH)
            await conn.create_table(Left)
            await conn.insert(Left(text="dropped"))
            del conn
            await asyncio.sleep(0.1)  # collected while the loop runs
            print("after drop", flush=True)

        asyncio.run(main())
    """
    result = run_child(body, db, "-W", "default")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("after drop\n")
    assert result.stderr.count(WARNING) == 1
    assert "Traceback" not in result.stderr  # no worker thread failing on a closed loop
    assert_closed_cleanly(result)


def test_pool_never_closed_does_not_hang(tmp_path: Path) -> None:
    db = tmp_path / "pool.db"
    body = """
        pool = None

        async def main():
            global pool
            pool = await Database.create_pool(DbType.SQLITE, DB_PATH).min_size(2).build()
            await pool.create_table(Left)
            await pool.insert(Left(text="pooled"))

        asyncio.run(main())
    """
    result = run_child(body, db, "-W", "always::ResourceWarning")
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(WARNING) == 2  # one per open connection
    assert_closed_cleanly(result)


async def test_closed_connection_does_not_warn(tmp_path: Path) -> None:
    db = tmp_path / "closed.db"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conn = await Database.connect(DbType.SQLITE, str(db))
        await conn.create_table(Left)
        await conn.close()
        del conn
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_connection_dropped_in_process_warns(tmp_path: Path) -> None:
    conn = await Database.connect(DbType.SQLITE, str(tmp_path / "here.db"))
    await conn.create_table(Left)
    with pytest.warns(ResourceWarning, match="was never closed"):
        del conn
        gc.collect()


ESCAPING_EXCEPTION = """
    import time

    async def main():
        conn = await Database.connect(DbType.SQLITE, DB_PATH)
        pool = await Database.create_pool(DbType.SQLITE, DB_PATH).min_size(2).build()
        await conn.create_table(Left)
        await conn.insert(Left(text="before the crash"))
        held = await pool.get().__aenter__()  # checked out, never released
        await held.insert(Left(text="from the pool"))
        async with conn.transaction():  # an open transaction too
            await conn.insert(Left(text="rolled back"))
            raise RuntimeError("boom")

    START = time.monotonic()
    try:
        asyncio.run(main())
    finally:
        print(f"run ended after {time.monotonic() - START:.1f}s", flush=True)
"""


def test_exception_escaping_asyncio_run_does_not_hang(tmp_path: Path) -> None:
    """Issue 15 item 10: a connection, a pool and a checked-out pooled connection left
    open when an exception escapes ``asyncio.run``: the process exits (with the error)
    within a few seconds, every worker thread ended, committed rows kept."""
    db = tmp_path / "crash.db"
    start = time.monotonic()
    result = run_child(ESCAPING_EXCEPTION, db, "-W", "ignore::ResourceWarning")
    elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    assert "RuntimeError: boom" in result.stderr
    assert_closed_cleanly(result)
    assert elapsed < 5.0, f"the interpreter took {elapsed:.1f}s to exit"
    assert asyncio.run(rows_in(db)) == ["before the crash", "from the pool"]

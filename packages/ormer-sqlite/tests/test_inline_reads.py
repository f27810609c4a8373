"""Short reads on the event loop's thread (issue 21): primary-key lookups run without
the hand-off to aiosqlite's worker thread, and nothing stalls the loop.

The event loop's lag is measured by a task that sleeps 1 ms at a time and records
how late it wakes up, while 8 tasks look rows up by primary key through a pool and
one task runs a query of about two seconds.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from pathlib import Path

import pytest

from ormer import Database, Model, Pool, primary

pytestmark = pytest.mark.sqlite

#: counts to fifteen million: about two seconds on one core
LONG_SQL = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 15000000) "
    "SELECT COUNT(*) FROM c"
)
#: a few hundred milliseconds: enough for one test to run long statements three times
SHORTER_LONG_SQL = LONG_SQL.replace("15000000", "3000000")
#: the loop may be late by this much: a 2-core CI machine running other processes
#: preempts the loop's thread for milliseconds; a statement run on the loop's thread
#: for its whole length would stall it for seconds
LAG_BOUND = 0.05


class Row(Model, table="inline_row"):
    id: int = primary(auto=True)
    name: str


async def fill(url: str, n: int = 1000) -> None:
    async with await Database.connect(url) as db:
        await db.create_table(Row)
        await db.insert([Row(name=f"r{i}") for i in range(n)])


class LagMeter:
    """How late a 1 ms sleep wakes up, at most, while it runs.

    The objects the test process already holds (thousands of tests' worth in a full
    run) are frozen out of the garbage collector meanwhile (``gc.freeze()``): a full
    collection over that heap took 0.4 s in CI, which is the collector's pause over
    pytest's heap, not the event loop waiting on ormer.
    """

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - start - 0.001)
            self.samples += 1

    def __enter__(self) -> LagMeter:
        gc.collect()
        gc.freeze()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        gc.unfreeze()


def inline_counts(pool: Pool) -> tuple[int, int]:
    drivers = [h.driver for h in pool._idle]
    return (
        sum(d.inline_reads for d in drivers),  # type: ignore[attr-defined]
        sum(d.inline_fallbacks for d in drivers),  # type: ignore[attr-defined]
    )


async def test_lookups_and_a_long_query_never_stall_the_loop(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lag.db'}"
    await fill(url)
    async with await Database.create_pool(url).max_size(10).build() as pool:
        found = 0
        long_done = asyncio.Event()

        async def looker() -> None:
            nonlocal found
            rng = random.Random()
            while not long_done.is_set():
                row = await pool.find(Row, rng.randrange(1, 1001))
                assert row is not None
                found += 1

        async def long_query() -> float:
            start = time.perf_counter()
            try:
                assert await pool.exec_rows(LONG_SQL) == [(15_000_000,)]
            finally:
                long_done.set()
            return time.perf_counter() - start

        with LagMeter() as lag:
            lookers = [asyncio.create_task(looker()) for _ in range(8)]
            took = await long_query()
            await asyncio.gather(*lookers)
        inline, fallbacks = inline_counts(pool)
    print(
        f"\n{found} lookups by 8 tasks during a {took:.2f} s query; event-loop lag at most "
        f"{lag.worst * 1000:.2f} ms over {lag.samples} samples; {inline} lookups inline, "
        f"{fallbacks} sent back to the thread"
    )
    assert took > 0.5  # the long query really ran long
    assert found > 100 and inline >= found * 0.9  # the lookups ran on the loop's thread
    assert fallbacks == 0
    assert lag.worst < LAG_BOUND, f"the loop stalled {lag.worst * 1000:.1f} ms"


async def test_a_long_statement_taken_for_short_goes_back_to_the_thread(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'long.db'}"
    async with await Database.connect(url) as db:
        short = db.dialect.short_statements  # type: ignore[attr-defined]
        db.dialect.note_short_statement(SHORTER_LONG_SQL)  # as if the planner misjudged it
        with LagMeter() as lag:
            for run in range(1, 4):
                rows = await db.exec_rows(SHORTER_LONG_SQL)
                assert rows == [(3_000_000,)]  # the right answer, from the worker thread
                assert db.driver.inline_fallbacks == run  # type: ignore[attr-defined]
                # a slow run may be a busy machine: dropped after three
                assert (SHORTER_LONG_SQL in short) is (run < 3)
            await asyncio.sleep(0.01)
        await db.exec_rows(SHORTER_LONG_SQL)  # the thread from now on: no fourth try
        assert db.driver.inline_fallbacks == 3  # type: ignore[attr-defined]
        assert db.driver.inline_reads == 0  # type: ignore[attr-defined]
        assert lag.worst < LAG_BOUND, f"the loop stalled {lag.worst * 1000:.1f} ms"


async def test_inline_reads_can_be_turned_off(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'off.db'}"
    await fill(url, 10)
    for query, expected in (("", 10), ("?inline_reads=false", 0)):
        async with await Database.connect(url + query) as db:
            for k in range(1, 11):
                assert (await db.find(Row, k)).name == f"r{k - 1}"  # type: ignore[union-attr]
            assert db.driver.inline_reads == expected  # type: ignore[attr-defined]


async def test_no_inline_reads_where_a_reader_could_wait_on_a_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'journal.db'}?wal=false"  # rollback journal: readers lock
    await fill(url, 3)
    async with await Database.connect(url) as db:
        assert (await db.find(Row, 2)).name == "r1"  # type: ignore[union-attr]
        assert db.driver.inline_reads == 0  # type: ignore[attr-defined]
    async with await Database.connect("sqlite://:memory:") as db:  # private: no locks
        await db.create_table(Row)
        await db.insert(Row(name="m"))
        assert (await db.find(Row, 1)).name == "m"  # type: ignore[union-attr]
        assert db.driver.inline_reads == 1  # type: ignore[attr-defined]

"""Short reads on the event loop's thread for Turso (issue 21): primary-key lookups
and LIMIT selects run on the blocking pyturso connection without the hand-off to its
worker thread, bounded by pyturso's query timeout; writes keep the thread (a timeout
firing while a write commits could not say whether it is done)."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from ormer import Database, Model, primary
from ormer.testing.loop_lag import LoopLag

#: about 2 s in Turso on one core (1e6 rows of a recursive CTE)
LONG_SQL = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000) "
    "SELECT COUNT(*) FROM c"
)
#: a fifth of it: three runs of it in one test
SHORTER_LONG_SQL = LONG_SQL.replace("1000000", "200000")
#: see packages/ormer-sqlite/tests/test_inline.py
LAG_BOUND = 0.05


class Item(Model, table="turso_inline_item"):
    id: int = primary(auto=True)
    name: str


async def fill(url: str, n: int) -> None:
    async with await Database.connect(url) as db:
        await db.create_table(Item)
        await db.insert([Item(name=f"i{i}") for i in range(n)])


@pytest.mark.parametrize("mode", ["wal", "mvcc"])
async def test_lookups_run_inline_and_writes_on_the_thread(tmp_path: Path, mode: str) -> None:
    url = f"turso:///{tmp_path / 'a.db'}?journal_mode={mode}"
    await fill(url, 20)
    async with await Database.connect(url) as db:
        stats = db.driver.inline  # type: ignore[attr-defined]
        for k in range(1, 21):
            assert await db.find(Item, k) == Item(id=k, name=f"i{k - 1}")
        first = await db.select(Item).filter(Item.name == "i7").first()
        assert first == Item(id=8, name="i7")
        await db.update(Item(id=1, name="changed"))
        new = Item(name="new")
        await db.insert(new)  # INSERT ... RETURNING comes through fetch: still the thread
        assert new.id == 21
        assert (await db.find(Item, 1)) == Item(id=1, name="changed")
        assert (stats.reads, stats.writes, stats.fallbacks) == (22, 0, 0)


async def test_a_long_read_taken_for_short_goes_back_to_the_thread(tmp_path: Path) -> None:
    async with await Database.connect(f"turso:///{tmp_path / 'long.db'}") as db:
        short = db.dialect.short_statements  # type: ignore[attr-defined]
        db.dialect.note_short_statement(SHORTER_LONG_SQL)  # as if the planner misjudged it
        with LoopLag() as lag:
            for run in range(1, 4):
                assert await db.exec_rows(SHORTER_LONG_SQL) == [(200_000,)]
                assert db.driver.inline.fallbacks == run  # type: ignore[attr-defined]
                assert (SHORTER_LONG_SQL in short) is (run < 3)
        await db.exec_rows(SHORTER_LONG_SQL)  # the thread from now on
        assert db.driver.inline.fallbacks == 3  # type: ignore[attr-defined]
        assert db.driver.inline.reads == 0  # type: ignore[attr-defined]
        assert lag.worst < LAG_BOUND, f"the loop stalled {lag.worst * 1000:.1f} ms"


async def test_inline_reads_can_be_turned_off(tmp_path: Path) -> None:
    url = f"turso:///{tmp_path / 'off.db'}"
    await fill(url, 3)
    async with await Database.connect(url + "?inline_reads=false") as db:
        assert await db.find(Item, 2) == Item(id=2, name="i1")
        assert db.driver.inline.reads == 0  # type: ignore[attr-defined]


async def test_lookups_and_a_long_query_never_stall_the_loop(tmp_path: Path) -> None:
    url = f"turso:///{tmp_path / 'lag.db'}"
    await fill(url, 1000)
    async with (
        await Database.create_pool(url).max_size(10).build() as pool,
        await Database.connect(url) as other,
    ):
        found = 0
        long_done = asyncio.Event()

        async def looker() -> None:
            nonlocal found
            rng = random.Random()
            while not long_done.is_set():
                assert await pool.find(Item, rng.randrange(1, 1001)) is not None
                found += 1

        async def long_query() -> float:
            start = time.perf_counter()
            try:
                assert await other.exec_rows(LONG_SQL) == [(1_000_000,)]
            finally:
                long_done.set()
            return time.perf_counter() - start

        with LoopLag() as lag:
            lookers = [asyncio.create_task(looker()) for _ in range(8)]
            took = await long_query()
            await asyncio.gather(*lookers)
        stats = [h.driver.inline for h in pool._idle]  # type: ignore[attr-defined]
        inline = sum(s.reads for s in stats)
    print(
        f"\n{found} Turso lookups by 8 tasks during a {took:.2f} s query; event-loop lag at "
        f"most {lag.worst * 1000:.2f} ms over {lag.samples} samples; {inline} inline"
    )
    assert took > 0.5
    assert found > 100 and inline >= found * 0.9
    assert lag.worst < LAG_BOUND, f"the loop stalled {lag.worst * 1000:.1f} ms"

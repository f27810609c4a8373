"""Cancellation storms (thousands of tasks cancelled at random points) and many waiters
timing out together on an exhausted pool."""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ormer import Database, Pool, PoolTimeoutError

from .conftest import Backend, PgBackend, bounded
from .workload import (
    SLACK,
    Ledger,
    Tally,
    assert_pool_whole,
    assert_server_sessions,
    check_ledger,
    read,
    reset_table,
    sample_sessions,
    transfer,
)

pytestmark = pytest.mark.faults

TASKS = 2000
ROUND = 500
MAX_SIZE = 10


async def _work(pool: Pool, tally: Tally, kind: int) -> None:
    if kind == 0:
        await transfer(pool, tally)
    elif kind == 1:
        await read(pool, tally)
    else:  # a borrowed connection, a transaction of reads, an explicit release
        async with pool.get() as conn, conn.transaction():
            await conn.select(Ledger).filter(Ledger.pair == -1).collect()
            await conn.select(Ledger).count()


async def storm(pool: Pool, tally: Tally, seed: int) -> dict[str, int]:
    """TASKS tasks in rounds of ROUND, each cancelled after a random delay (0-60 ms;
    one in five is left to finish). Returns how each ended."""
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    ended: dict[str, int] = {"done": 0, "cancelled": 0}
    unexpected: list[BaseException] = []
    for _ in range(TASKS // ROUND):
        tasks = []
        for _ in range(ROUND):
            task = loop.create_task(_work(pool, tally, rng.randrange(3)))
            if rng.random() < 0.8:
                loop.call_later(rng.uniform(0, 0.06), task.cancel)
            tasks.append(task)
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, asyncio.CancelledError):
                ended["cancelled"] += 1
            elif isinstance(result, BaseException):
                unexpected.append(result)
            else:
                ended["done"] += 1
    assert not unexpected, f"{len(unexpected)} tasks failed: {unexpected[:5]!r}"
    return ended


@bounded(120)
async def test_cancellation_storm(backend: Backend, figure: Callable[[str], None]) -> None:
    if isinstance(backend, PgBackend):
        # sessions of this pool only: the backends of statements that earlier tests
        # abandoned on a stalled server may still be ending under the shared name
        backend.app = "ormer_faults_storm"
    url = backend.url()
    await reset_table(url)
    tally = Tally()
    async with (
        await Database.create_pool(url).max_size(MAX_SIZE).acquire_timeout(30).build() as pool
    ):
        stop = asyncio.Event()
        seen: list[int] = []
        sampler = asyncio.create_task(sample_sessions(backend, stop, seen))
        start = time.monotonic()
        try:
            ended = await storm(pool, tally, seed=15)
        finally:
            stop.set()
            await sampler
        took = time.monotonic() - start
        # The pool frees a slot when it starts closing a discarded connection (each
        # cancelled statement discards one); the server ends that session a moment later.
        # So during a storm the server may briefly count more sessions than max_size
        # (up to 17 of 10 seen on a loaded CI machine); a session the pool forgot would
        # stay, which the settled check below (assert_server_sessions: at most max_size
        # once closes are done) catches. Twice max_size bounds the transient.
        peak = max(seen, default=0)
        assert peak <= 2 * MAX_SIZE, f"server sessions far above max_size: {peak}"
        await assert_pool_whole(pool)
        sessions = await assert_server_sessions(backend, pool)
        counts = await check_ledger(url, tally)
        assert await pool.select(Ledger).count() == 2 * counts["pairs"]
        s = pool.stats()
        figure(
            f"{backend.name}: {TASKS} tasks in {took:.1f}s, {ended['cancelled']} cancelled, "
            f"{ended['done']} finished; {counts['acked']} transfers acknowledged, "
            f"{counts['unacked_committed']} committed unacknowledged; connections created "
            f"{s.created}, closed {s.closed}; server sessions peak {max(seen, default=0)}, "
            f"{sessions} after, 0 idle in tx"
        )


@pytest.mark.sqlite
@bounded(120)
async def test_cancellation_storm_sqlite(tmp_path: Path, figure: Callable[[str], None]) -> None:
    url = f"sqlite:///{tmp_path / 'storm.db'}"
    await reset_table(url)
    tally = Tally()
    async with await Database.create_pool(url).max_size(4).acquire_timeout(30).build() as pool:
        start = time.monotonic()
        ended = await storm(pool, tally, seed=16)
        took = time.monotonic() - start
        await assert_pool_whole(pool)
        counts = await check_ledger(url, tally)
        async with pool.get() as conn:  # the write lock was not left held
            await conn.insert(Ledger(pair=0, amount=0))
        figure(
            f"sqlite: {TASKS} tasks in {took:.1f}s, {ended['cancelled']} cancelled, "
            f"{ended['done']} finished; {counts['acked']} transfers acknowledged; "
            f"pool {pool.stats()}"
        )


@pytest.mark.sqlite
@bounded(60)
async def test_exhaustion_timeouts_say_how_many_waited(
    tmp_path: Path, figure: Callable[[str], None]
) -> None:
    """85 callers time out together on an exhausted pool: each ends within its bound with
    PoolTimeoutError, and the messages show the waiters (issue 15 item 11: not waiting=0)."""
    url = f"sqlite:///{tmp_path / 'exhausted.db'}"
    await reset_table(url)
    async with await Database.create_pool(url).max_size(1).build() as pool:
        holder = await pool.get()
        start = time.monotonic()
        results = await asyncio.gather(
            *(_get_within(pool, 0.5) for _ in range(85)), return_exceptions=True
        )
        took = time.monotonic() - start
        await holder.release()
        assert all(isinstance(r, PoolTimeoutError) for r in results), {
            type(r).__name__ for r in results
        }
        waiting = [int(m.group(1)) for r in results if (m := WAITING.search(str(r)))]
        assert len(waiting) == 85, str(results[0])
        assert max(waiting) >= 84, f"85 waiters timed out, messages say waiting={max(waiting)}"
        assert took <= 0.5 + SLACK
        assert pool.stats().timeouts == 85
        await assert_pool_whole(pool)
        figure(
            f"sqlite: 85 waiters timed out together in {took:.2f}s, messages waiting="
            f"{min(waiting)}..{max(waiting)}"
        )


WAITING = re.compile(r"waiting=(\d+)")


async def _get_within(pool: Pool, timeout: float) -> None:
    async with pool.get(timeout=timeout):
        pass

"""A server restart under load: 50 tasks writing and reading through a pool of 10."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from ormer import Database

from .conftest import Backend, bounded
from .workload import (
    Tally,
    assert_pool_whole,
    assert_server_sessions,
    check_ledger,
    load,
    reset_table,
    sample_sessions,
)

pytestmark = pytest.mark.faults

TASKS = 50
MAX_SIZE = 10
#: seconds the server stays down (callers meanwhile get typed errors, or wait)
DOWN_FOR = 1.0
#: after the server accepts logins again, the pool must be serving within this
RECOVERY_BOUND = 5.0


@pytest.mark.parametrize("crash", [False, True], ids=["shutdown", "crash"])
@bounded(90)
async def test_restart_mid_load(
    backend: Backend, crash: bool, figure: Callable[[str], None]
) -> None:
    """A fast shutdown (sessions told, transactions rolled back) or a crash (PostgreSQL
    immediate shutdown, MariaDB SIGKILL: sockets just close, crash recovery at start)."""
    url = backend.url()
    await reset_table(url)
    tally = Tally()
    stop = asyncio.Event()
    seen: list[int] = []
    pool = await Database.create_pool(url).max_size(MAX_SIZE).acquire_timeout(5).build()
    try:
        tasks = [asyncio.create_task(load(pool, tally, stop)) for _ in range(TASKS)]
        sampler = asyncio.create_task(sample_sessions(backend, stop, seen))
        await asyncio.sleep(1.0)
        before = len(tally.acked)
        assert before > 0, f"no transfer went through before the restart: {tally.describe()}"

        down = time.monotonic()
        ready_after = await backend.server.restart(down_for=DOWN_FOR, crash=crash)
        up = time.monotonic()
        await asyncio.sleep(2.0)  # the load runs on after the restart
        stop.set()
        await asyncio.gather(*tasks, sampler)

        what = f"{backend.name} {'crash' if crash else 'restart'}"
        first = tally.first_success_after(up)
        assert first is not None, f"no operation succeeded after the restart: {tally.describe()}"
        recovery = first - up
        figure(
            f"{what}: server down+up {up - down:.2f}s (ready after "
            f"{ready_after:.2f}s), first success {recovery:.2f}s after it was up, outage "
            f"{first - down:.2f}s; {tally.describe()}; peak sessions {max(seen, default=0)}"
            f"/{MAX_SIZE}"
        )
        assert recovery <= RECOVERY_BOUND, f"recovered {recovery:.2f}s after the server was up"
        assert not tally.unexpected, f"untyped failures: {tally.unexpected[:5]!r}"
        assert max(seen, default=0) <= MAX_SIZE, f"server sessions above max_size: {max(seen)}"
        await assert_pool_whole(pool)
        sessions = await assert_server_sessions(backend, pool)
        counts = await check_ledger(url, tally)
        assert len(tally.acked) > before, "no transfer acknowledged after the restart"
        figure(f"{what}: ledger {counts}, {sessions} server sessions after")
    finally:
        stop.set()
        await pool.terminate()

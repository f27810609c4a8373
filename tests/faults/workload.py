"""The load the fault tests run, and the invariants they check afterwards.

The load is a ledger of transfers: each transfer is one transaction inserting
two rows of one ``pair`` whose amounts sum to zero. A transfer whose COMMIT
returned is *acknowledged*. After any fault:

- every acknowledged pair is present (nothing acknowledged was lost);
- every pair present has exactly its two rows, summing to zero (no partial
  transaction), whether it was acknowledged or its COMMIT's fate was unknown;
- the pool is whole (``size == idle + in_use``, nothing in use or waiting once
  every task ended, ``size <= max_size``);
- the server holds no more sessions for the pool than ``max_size``, and none of
  them is idle in a transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ormer import (
    ConnectionError,
    Database,
    Model,
    OrmerError,
    Pool,
    PoolTimeoutError,
    StatementTimeoutError,
    primary,
)
from ormer.timeouts import grace_period

#: the failures a fault may legitimately cause: typed, and saying "the connection/server
#: is not there" (a plain DatabaseError or a builtin exception is a defect)
EXPECTED_FAULTS: tuple[type[BaseException], ...] = (
    ConnectionError,  # ConnectionLostError included
    PoolTimeoutError,
    StatementTimeoutError,
)


class Ledger(Model, table="fault_ledger"):
    id: int = primary(auto=True)
    pair: int = 0
    amount: int = 0


_pairs = itertools.count(1)


@dataclass(repr=False)
class Tally:
    """What a load run saw: acknowledged pairs, failures by class, successful reads."""

    acked: set[int] = field(default_factory=set)
    attempted: set[int] = field(default_factory=set)
    reads: int = 0
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unexpected: list[BaseException] = field(default_factory=list)
    #: (monotonic time, ok) per operation, to measure outages and recovery
    events: list[tuple[float, bool]] = field(default_factory=list)

    def fail(self, exc: BaseException) -> None:
        self.failures[type(exc).__name__] += 1
        self.events.append((time.monotonic(), False))
        if not isinstance(exc, EXPECTED_FAULTS):
            self.unexpected.append(exc)

    def ok(self) -> None:
        self.events.append((time.monotonic(), True))

    def first_success_after(self, t: float) -> float | None:
        for at, ok in self.events:
            if ok and at >= t:
                return at
        return None

    def __repr__(self) -> str:
        return f"Tally({self.describe()})"

    def describe(self) -> str:
        fails = ", ".join(f"{k} {v}" for k, v in sorted(self.failures.items())) or "none"
        return f"{len(self.acked)} transfers acknowledged, {self.reads} reads, failures: {fails}"


async def reset_table(url: str) -> None:
    async with await Database.connect(url) as db:
        await db.drop_table(Ledger)
        await db.create_table(Ledger)


async def transfer(pool: Pool, tally: Tally, amount: int = 7) -> None:
    """One transfer (two rows, one transaction) through a borrowed connection."""
    pair = next(_pairs)
    tally.attempted.add(pair)
    async with pool.get() as conn, conn.transaction():
        await conn.insert(Ledger(pair=pair, amount=amount))
        await conn.insert(Ledger(pair=pair, amount=-amount))
    tally.acked.add(pair)


async def read(pool: Pool, tally: Tally) -> None:
    """A read through the pool (one statement on a connection borrowed for it)."""
    await pool.select(Ledger).filter(Ledger.pair == 0).collect()
    tally.reads += 1


async def load(pool: Pool, tally: Tally, stop: asyncio.Event, pause: float = 0.0) -> None:
    """Transfers and reads in turn until ``stop`` is set; faults are tallied, never raised."""
    n = 0
    while not stop.is_set():
        n += 1
        try:
            if n % 2:
                await transfer(pool, tally)
            else:
                await read(pool, tally)
            tally.ok()
        except OrmerError as exc:
            tally.fail(exc)
            await asyncio.sleep(0.02)  # a failing server is not hammered in a busy loop
        except Exception as exc:  # an untyped escape: recorded, then reported by the test
            tally.fail(exc)
            await asyncio.sleep(0.02)
        if pause:
            await asyncio.sleep(pause)


async def check_ledger(url: str, tally: Tally) -> dict[str, int]:
    """Every acknowledged pair present, every pair present whole and summing to zero."""
    async with await Database.connect(url) as db:
        rows = await db.select(Ledger).collect()
    pairs: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        pairs[row.pair].append(row.amount)
    missing = tally.acked - pairs.keys()
    assert not missing, f"{len(missing)} acknowledged transfers lost: {sorted(missing)[:10]}"
    partial = {p: a for p, a in pairs.items() if len(a) != 2 or sum(a) != 0}
    assert not partial, f"partial transactions: {dict(list(partial.items())[:10])}"
    unknown = set(pairs) - tally.acked
    assert unknown <= tally.attempted, "rows of transfers nobody attempted"
    return {"pairs": len(pairs), "acked": len(tally.acked), "unacked_committed": len(unknown)}


async def until(cond: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> bool:
    """Poll a (sync or async) condition until true or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if asyncio.iscoroutine(got):
            got = await got
        if got:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)


def pool_consistent(pool: Pool) -> str | None:
    """None when the pool's counters agree; else what is wrong."""
    s = pool.stats()
    if s.size > s.max_size:
        return f"size {s.size} > max_size {s.max_size}: {s}"
    if s.idle + s.in_use > s.size:
        return f"idle + in_use > size: {s}"
    return None


async def assert_pool_whole(pool: Pool, timeout: float = 10.0) -> None:
    """Once every task ended: nothing in use or waiting, size == idle, size <= max_size."""

    def whole() -> bool:
        s = pool.stats()
        return s.in_use == 0 and s.waiting == 0 and s.size == s.idle and s.size <= s.max_size

    ok = await until(whole, timeout)
    assert ok, f"pool not whole after its tasks ended: {pool.stats()}"


async def assert_server_sessions(backend: Any, pool: Pool, timeout: float = 10.0) -> int:
    """The server's sessions for the pool: at most max_size, never more than the pool's
    size once discarded connections are gone (fewer while idle connections the server
    killed are still waiting in the pool to be found dead on their next use or health
    check), none idle in a transaction. Returns their count."""
    max_size = pool.stats().max_size
    state: dict[str, int] = {}

    async def settled() -> bool:
        state["sessions"] = len(await backend.session_ids())
        state["idle_in_tx"] = await backend.idle_in_transaction()
        state["size"] = pool.stats().size
        return (
            state["sessions"] <= max_size
            and state["sessions"] <= state["size"]
            and state["idle_in_tx"] == 0
        )

    ok = await until(settled, timeout, step=0.2)
    assert ok, f"server sessions not settled (max_size {max_size}): {state}"
    return state["sessions"]


async def sample_sessions(backend: Any, stop: asyncio.Event, seen: list[int]) -> None:
    """Record the server's session count for the pools under test while a load runs."""
    while not stop.is_set():
        with contextlib.suppress(OrmerError):  # the server is down (restart): nothing to count
            seen.append(len(await backend.session_ids()))
        await asyncio.sleep(0.1)


#: how much later than its timeout a bounded wait may end (2 shared cores under CI load)
# .timeout(0.5), then the grace its cancellation gets when the server cannot answer
STATEMENT_BOUND = 0.5 + grace_period(0.5)
SLACK = 1.0
#: once a fault is over (SIGCONT, network restored), the pools must serve within this
RECOVERY_BOUND = 5.0
#: a bounded wait still running this long after its bound has no bound (fail fast)
GIVE_UP = 5.0


async def timed(
    coro: object, bound: float, what: str = "the operation"
) -> tuple[float, BaseException | None]:
    """How long ``coro`` took and what it raised; fails if it outlives ``bound`` + GIVE_UP."""
    start = time.monotonic()
    try:
        async with asyncio.timeout(bound + GIVE_UP):
            await coro  # type: ignore[misc]
    except TimeoutError as exc:
        if time.monotonic() - start >= bound + GIVE_UP:
            raise AssertionError(
                f"{what}: still waiting {bound + GIVE_UP}s later (bound {bound}s)"
            ) from exc
        return time.monotonic() - start, exc
    except Exception as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, None


async def get_and_release(pool: object) -> None:
    """Borrow a connection and give it back."""
    conn = await pool.get()  # type: ignore[attr-defined]
    await conn.release()


async def serves(pool: object) -> bool:
    """Whether a read through the pool succeeds now (within 2 s: a pool handing out a
    connection that hangs does not serve)."""
    try:
        async with asyncio.timeout(2):
            await pool.select(Ledger).count()  # type: ignore[attr-defined]
    except Exception:
        return False
    return True

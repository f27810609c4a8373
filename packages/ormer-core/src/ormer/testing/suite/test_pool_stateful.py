"""Compliance suite: a stateful model of the pool (docs/pool.md).

Random acquire / release / close / cancel / timeout / query / commit / abandon
steps against a real pool on the backend's database, with the pool's invariants
checked after every step. The state machine owns its event loop, so the test
method itself is synchronous.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ormer import (
    Connection,
    Database,
    Model,
    Pool,
    PooledConnection,
    PoolTimeoutError,
    field,
    primary,
)
from ormer.testing.base import fresh_tables

__all__ = ["TestPoolStateMachine"]

MAX_SIZE = 3
SETTINGS = settings(max_examples=20, stateful_step_count=12, deadline=None)


class SItem(Model, table="suite_pool_stateful_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=100)


class PoolMachine(RuleBasedStateMachine):
    """A pool of ``MAX_SIZE`` connections and what its borrowers hold and await."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.pool: Pool | None = None
        self.reader: Connection | None = None
        self.held: list[PooledConnection] = []
        self.waiters: list[asyncio.Task[PooledConnection]] = []
        self.errors: list[BaseException] = []
        self.committed = 0
        self.max_size = MAX_SIZE  # the pool's max_size now (resize)
        self.paused = False
        try:
            self.run(self._open())
        except BaseException:
            self._shut_down()
            raise

    async def _open(self) -> None:
        # the table first, through one connection (on a fresh SQLite file this also
        # switches the file to WAL before connects race)
        async with await Database.create_pool(self.url).max_size(1).build() as warm:
            async with warm.get() as conn:
                await fresh_tables(conn, SItem)
        self.pool = (
            await Database.create_pool(self.url)
            .max_size(MAX_SIZE)
            .acquire_timeout(10)
            .health_check(None)
            .build()
        )
        # reads the committed rows from outside the pool
        self.reader = await Database.connect(self.url)

    # -- helpers ---------------------------------------------------------------------
    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    @property
    def p(self) -> Pool:
        assert self.pool is not None
        return self.pool

    def harvest(self) -> None:
        pending = []
        for task in self.waiters:
            if not task.done():
                pending.append(task)
            elif task.cancelled():
                continue
            elif task.exception() is not None:
                self.errors.append(task.exception())  # type: ignore[arg-type]
            else:
                self.held.append(task.result())
        self.waiters = pending

    def settled(self) -> bool:
        s = self.p.stats()
        return s.size == s.idle + s.in_use and s.waiting == len(
            [t for t in self.waiters if not t.done()]
        )

    def settle(self) -> None:
        """Let the loop run until no connect or hand-over is in flight (bounded)."""
        deadline = time.monotonic() + 10
        while True:
            self.run(asyncio.sleep(0.002))
            self.harvest()
            if self.settled() or time.monotonic() > deadline:
                break
        self.harvest()

    async def _get(self) -> PooledConnection:
        return await self.p.get()

    # -- rules ---------------------------------------------------------------------------
    @rule()
    def acquire(self) -> None:
        self.waiters.append(self.loop.create_task(self._get()))
        self.settle()

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(min_value=0, max_value=10))
    def release(self, i: int) -> None:
        conn = self.held.pop(i % len(self.held))
        self.run(conn.release())
        self.settle()

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(min_value=0, max_value=10))
    def close_a_connection(self, i: int) -> None:
        conn = self.held.pop(i % len(self.held))
        self.run(conn.close())
        self.settle()

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(min_value=0, max_value=10))
    def query(self, i: int) -> None:
        conn = self.held[i % len(self.held)]
        assert self.run(conn.exec_rows("SELECT 1")) == [(1,)]

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(min_value=0, max_value=10))
    def commit_a_row(self, i: int) -> None:
        conn = self.held[i % len(self.held)]

        async def write() -> None:
            async with conn.transaction():
                await conn.insert(SItem(name="committed"))

        self.run(write())
        self.committed += 1

    @precondition(lambda self: bool(self.held))
    @rule(i=st.integers(min_value=0, max_value=10))
    def abandon_a_transaction(self, i: int) -> None:
        """Return a connection with a transaction open: the pool rolls it back."""
        conn = self.held.pop(i % len(self.held))

        async def write_and_leave() -> None:
            await conn.begin()
            await conn.insert(SItem(name="rolled back"))
            await conn.release()

        self.run(write_and_leave())
        self.settle()

    @precondition(lambda self: any(not t.done() for t in self.waiters))
    @rule(i=st.integers(min_value=0, max_value=10))
    def cancel_a_waiter(self, i: int) -> None:
        pending = [t for t in self.waiters if not t.done()]
        pending[i % len(pending)].cancel()
        self.settle()

    @rule(n=st.integers(min_value=1, max_value=MAX_SIZE))
    def resize(self, n: int) -> None:
        """Shrink (borrowed connections above it close as they come back) or grow
        (waiters are served at once)."""
        self.run(self.p.resize(0, n))
        self.max_size = n
        self.settle()

    @rule()
    def drain(self) -> None:
        """Replace every connection: idle ones now, borrowed ones on return."""
        self.run(self.p.drain())
        self.settle()

    @precondition(lambda self: not self.paused)
    @rule()
    def pause(self) -> None:
        self.p.pause()
        self.paused = True

    @precondition(lambda self: self.paused)
    @rule()
    def resume(self) -> None:
        self.p.resume()
        self.paused = False
        self.settle()

    @rule()
    def acquire_with_timeout(self) -> None:
        s = self.p.stats()
        before = s.timeouts
        must_wait = self.paused or bool(self.waiters) or (s.idle == 0 and s.size >= self.max_size)
        # a connection to open: the timeout bounds the connect too, which takes more
        # than 20 ms on a loaded machine (the short timeout is for the waits)
        timeout = 5.0 if not must_wait and s.idle == 0 else 0.02

        async def attempt() -> PooledConnection | None:
            try:
                return await self.p.get(timeout=timeout)
            except PoolTimeoutError:
                return None

        conn = self.run(attempt())
        if conn is None:
            assert must_wait
            assert self.p.stats().timeouts == before + 1
        else:
            assert not must_wait  # nobody releases meanwhile: it could only have waited
            self.held.append(conn)
        self.settle()

    # -- invariants --------------------------------------------------------------------
    @invariant()
    def pool_is_consistent(self) -> None:
        assert not self.errors, self.errors
        s = self.p.stats()
        assert 0 <= s.size <= MAX_SIZE
        assert s.size <= max(self.max_size, s.in_use)  # above it only while borrowed
        assert s.max_size == self.max_size and s.paused == self.paused
        assert s.idle + s.in_use == s.size
        assert s.in_use == len(self.held)
        drivers = [id(c.driver) for c in self.held]
        assert len(drivers) == len(set(drivers)), "a connection was handed to two holders"
        assert all(not c.released for c in self.held)
        assert all(not c.in_transaction and not c.driver_in_transaction() for c in self.held)
        pending = [t for t in self.waiters if not t.done()]
        assert s.waiting == len(pending)
        if pending and not self.paused:  # nobody waits while a connection could be had
            assert s.idle == 0 and s.size >= self.max_size
        assert s.created - s.closed == s.size
        assert s.timeouts >= 0 and s.acquired >= s.in_use

    @invariant()
    def only_committed_rows_exist(self) -> None:
        assert self.reader is not None
        assert self.run(self.reader.select(SItem).count()) == self.committed

    def teardown(self) -> None:
        try:
            if self.paused:
                self.p.resume()
                self.paused = False
            # every waiter is eventually served once the holders let go
            for _ in range(50):
                while self.held:
                    self.run(self.held.pop().release())
                self.settle()
                if not self.waiters and not self.held:
                    break
            assert not self.waiters and not self.held
            assert not self.errors, self.errors
            s = self.p.stats()
            assert s.in_use == 0 and s.waiting == 0 and s.idle == s.size
            self.run(self.p.close(timeout=5))
            assert self.p.stats().size == 0
        finally:
            self._shut_down()

    def _shut_down(self) -> None:
        """Close whatever is open, then the loop (also after a failure)."""
        for task in self.waiters:
            task.cancel()
        if self.waiters:
            self.loop.run_until_complete(asyncio.gather(*self.waiters, return_exceptions=True))
        if self.pool is not None and not self.pool.is_closed:
            self.run(self.pool.terminate())
        if self.reader is not None:
            self.run(self.reader.close())
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()


class TestPoolStateMachine:
    """The pool's invariants hold after any sequence of borrower actions.

    Not a :class:`SuiteBase` (whose asyncio mark is for coroutine tests): the test
    is synchronous, the machine runs its own event loop.
    """

    def test_pool_state_machine(self, ormer_url: str) -> None:
        run_state_machine_as_test(lambda: PoolMachine(ormer_url), settings=SETTINGS)

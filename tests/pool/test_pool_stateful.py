"""A stateful model of the pool: random acquire / release / cancel / timeout / close steps
against a real pool on a SQLite file, with the pool's invariants checked after every step."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ormer import Database, DbType, Pool, PooledConnection, PoolTimeoutError

pytestmark = pytest.mark.sqlite

MAX_SIZE = 3


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.dir = tempfile.mkdtemp(prefix="ormer-pool-")
        # one connection first: it switches the fresh file to WAL before racing connects
        warm = self.loop.run_until_complete(
            Database.create_pool(DbType.SQLITE, os.path.join(self.dir, "m.db")).min_size(1).build()
        )
        self.loop.run_until_complete(warm.close())
        self.pool: Pool = self.loop.run_until_complete(
            Database.create_pool(DbType.SQLITE, os.path.join(self.dir, "m.db"))
            .max_size(MAX_SIZE)
            .acquire_timeout(10)
            .health_check(None)
            .build()
        )
        self.held: list[PooledConnection] = []
        self.waiters: list[asyncio.Task[PooledConnection]] = []
        self.errors: list[BaseException] = []

    # -- helpers ---------------------------------------------------------------------
    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

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
        s = self.pool.stats()
        return s.size == s.idle + s.in_use and s.waiting == len(
            [t for t in self.waiters if not t.done()]
        )

    def settle(self) -> None:
        for _ in range(300):
            self.run(asyncio.sleep(0.002))
            self.harvest()
            if self.settled():
                break
        self.harvest()

    async def _get(self) -> PooledConnection:
        return await self.pool.get()

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

    @precondition(lambda self: any(not t.done() for t in self.waiters))
    @rule(i=st.integers(min_value=0, max_value=10))
    def cancel_a_waiter(self, i: int) -> None:
        pending = [t for t in self.waiters if not t.done()]
        pending[i % len(pending)].cancel()
        self.settle()

    @rule()
    def acquire_with_timeout(self) -> None:
        before = self.pool.stats().timeouts
        must_wait = bool(self.waiters) or (
            self.pool.stats().idle == 0 and self.pool.stats().size == MAX_SIZE
        )

        async def attempt() -> PooledConnection | None:
            try:
                return await self.pool.get(timeout=0.02)
            except PoolTimeoutError:
                return None

        conn = self.run(attempt())
        if conn is None:
            assert must_wait
            assert self.pool.stats().timeouts == before + 1
        else:
            self.held.append(conn)
        self.settle()

    # -- invariants --------------------------------------------------------------------
    @invariant()
    def pool_is_consistent(self) -> None:
        assert not self.errors, self.errors
        s = self.pool.stats()
        assert 0 <= s.size <= MAX_SIZE
        assert s.idle + s.in_use == s.size
        assert s.in_use == len(self.held)
        drivers = [id(c.driver) for c in self.held]
        assert len(drivers) == len(set(drivers)), "a connection was handed to two holders"
        assert all(not c.released for c in self.held)
        pending = [t for t in self.waiters if not t.done()]
        assert s.waiting == len(pending)
        if pending:  # nobody waits while a connection could be had
            assert s.idle == 0 and s.size == MAX_SIZE
        assert s.created - s.closed == s.size
        assert s.timeouts >= 0 and s.acquired >= s.in_use

    def teardown(self) -> None:
        try:
            # every waiter is eventually served once the holders let go
            for _ in range(50):
                while self.held:
                    self.run(self.held.pop().release())
                self.settle()
                if not self.waiters and not self.held:
                    break
            assert not self.waiters and not self.held
            assert not self.errors, self.errors
            s = self.pool.stats()
            assert s.in_use == 0 and s.waiting == 0 and s.idle == s.size
            self.run(self.pool.close(timeout=5))
            assert self.pool.stats().size == 0
        finally:
            if not self.pool.is_closed:
                self.run(self.pool.terminate())
            for task in self.waiters:
                task.cancel()
            self.loop.run_until_complete(asyncio.sleep(0))
            self.loop.close()
            shutil.rmtree(self.dir, ignore_errors=True)


PoolMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=15, deadline=None)
TestPoolStateMachine = PoolMachine.TestCase

"""Compliance suite: the replicated pool's routing (docs/scaling.md).

The suite has one server, so each "replica" here is a
:class:`~ormer.testing.tcpproxy.TcpProxy` to it: what reaches a replica is told
by the member pool it went through (and the proxy it crossed), and a replica
fails when its proxy refuses or cuts connections. Real streaming replication
(standbys, lag, promotion) is tested on private servers in tests/faults.

Each read that must not see the test's own writes runs in a task with a fresh
context (:func:`fresh`), as a new request of a web service would.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar
from urllib.parse import urlsplit

import pytest

from ormer import (
    ConfigurationError,
    Database,
    Model,
    NotSupportedError,
    ReplicatedPool,
    field,
    primary,
)
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires
from ormer.testing.tcpproxy import TcpProxy, url_through

__all__ = ["TestReplicatedPool"]

T = TypeVar("T")


class ReplicaItem(Model, table="suite_replica_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)


def fresh(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run ``coro`` in a task with an empty context: no read-your-writes mark."""
    return asyncio.create_task(coro, context=contextvars.Context())


@contextlib.asynccontextmanager
async def replicated(
    url: str, replicas: int = 2, refuse: tuple[int, ...] = (), **options: Any
) -> AsyncIterator[tuple[ReplicatedPool, list[TcpProxy]]]:
    """A replicated pool whose replicas are proxies to the backend's server."""
    parts = urlsplit(url)
    if not parts.hostname or parts.port is None:
        pytest.skip("the backend's URL names no host:port to proxy")
    async with contextlib.AsyncExitStack() as stack:
        proxies = [
            await stack.enter_async_context(await TcpProxy.start(parts.hostname, parts.port))
            for _ in range(replicas)
        ]
        for i in refuse:
            proxies[i].refuse()
        builder = (
            Database.create_pool(url)
            .replicas(*(url_through(url, p) for p in proxies))
            .max_size(4)
            .replica_check_interval(0.1)
        )
        for name, value in options.items():
            builder = getattr(builder, name)(value)
        pool = await builder.build()
        try:
            yield pool, proxies
        finally:
            await pool.terminate()


def reads(pool: ReplicatedPool) -> list[int]:
    """Reads each replica answered, then the primary's: ``[r0, r1, ..., primary]``."""
    s = pool.stats()
    return [r.reads for r in s.replicas] + [s.primary_reads]


async def until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


class TestReplicatedPool(SuiteBase):
    """Reads to replicas (round robin), writes to the primary, read-your-writes,
    failed replicas out of rotation and back."""

    @pytest.fixture
    async def table(self, ormer_url: str) -> None:
        async with await Database.connect(ormer_url) as db:
            await fresh_tables(db, ReplicaItem)
            await db.insert([ReplicaItem(name=f"n{i}") for i in range(6)])

    @lacks("replicas")
    async def test_replicas_not_supported(self, ormer_url: str) -> None:
        with pytest.raises(NotSupportedError, match="read replicas"):
            await Database.create_pool(ormer_url).replicas(ormer_url).build()

    @requires("replicas")
    async def test_reads_round_robin_over_replicas(self, ormer_url: str, table: None) -> None:
        async with replicated(ormer_url) as (pool, proxies):
            names = [f"n{i}" for i in range(6)]

            async def read() -> list[str]:
                return [
                    r.name
                    for r in await pool.select(ReplicaItem).order_by(ReplicaItem.id).collect()
                ]

            for _ in range(6):
                assert await fresh(read()) == names
            assert reads(pool) == [3, 3, 0]
            assert all(p.accepted >= 1 for p in proxies)  # both really crossed
            assert pool.stats().primary.acquired == 0  # the primary answered nothing

            # every kind of read goes the same way
            async def every_kind() -> None:
                q = pool.select(ReplicaItem)
                assert (await q.filter(ReplicaItem.name == "n2").first()).name == "n2"  # type: ignore[union-attr]
                assert await q.count() == 6
                assert await q.filter(ReplicaItem.name == "n5").exists()
                first = (await q.order_by(ReplicaItem.id).first()).id  # type: ignore[union-attr]
                assert (await pool.find(ReplicaItem, first)).name == "n0"  # type: ignore[union-attr]
                assert [o.name async for o in q.order_by(ReplicaItem.id).stream(batch=2)] == names
                page = await q.order_by(ReplicaItem.id).page(4)
                assert [o.name for o in page.items] == names[:4] and page.has_more
                assert await pool.exec_rows("SELECT 1 + 1") == [(2,)]
                rows = await pool.exec_table(
                    ReplicaItem, "SELECT id, name FROM suite_replica_item WHERE name = 'n1'"
                )
                assert [r.name for r in rows] == ["n1"]

            before = sum(reads(pool))
            await fresh(every_kind())
            after = reads(pool)
            assert sum(after) - before == 9 and after[-1] == 0  # 9 reads, none on the primary
            assert pool.stats().primary.acquired == 0

    @requires("replicas")
    async def test_writes_transactions_and_locks_on_the_primary(
        self, ormer_url: str, table: None
    ) -> None:
        async with replicated(ormer_url) as (pool, _):

            async def write() -> None:
                await pool.insert(ReplicaItem(name="w1")).execute()
                await pool.insert_or_update(ReplicaItem(id=1, name="up")).execute()
                await (
                    pool.update(ReplicaItem)
                    .set(ReplicaItem.name, "u2")
                    .filter(ReplicaItem.id == 2)
                    .execute()
                )
                await pool.delete(ReplicaItem).filter(ReplicaItem.id == 3).execute()
                await pool.exec_non_query("UPDATE suite_replica_item SET name = 'raw' WHERE id = 4")

                async def tx(conn: Any) -> None:
                    await conn.insert(ReplicaItem(name="tx")).execute()

                await pool.run_transaction(tx)
                async with pool.get() as conn:  # an explicit connection is the primary's
                    async with conn.transaction():
                        locked = (
                            await conn.select(ReplicaItem)
                            .filter(ReplicaItem.id == 5)
                            .for_update()
                            .collect()
                        )
                        assert [r.name for r in locked] == ["n4"]
                # a locking select through the pool itself is refused, not sent anywhere
                with pytest.raises(ConfigurationError, match="needs a transaction"):
                    await pool.select(ReplicaItem).for_update().collect()

            await fresh(write())
            assert reads(pool)[:-1] == [0, 0]  # no replica saw any of it
            assert pool.stats().primary.acquired >= 7

            async def read_back() -> list[tuple[int, str]]:
                rows = await pool.select(ReplicaItem).order_by(ReplicaItem.id).collect()
                return [(r.id, r.name) for r in rows]

            got = await fresh(read_back())
            assert [n for _, n in got] == ["up", "u2", "raw", "n4", "n5", "w1", "tx"]
            # raw SQL that locks or writes goes to the primary, whatever its first word
            before = reads(pool)
            await fresh(pool.exec_rows("SELECT id FROM suite_replica_item FOR UPDATE"))
            assert reads(pool)[:-1] == before[:-1]

    @requires("replicas")
    async def test_read_your_writes(self, ormer_url: str, table: None) -> None:
        async with replicated(ormer_url, read_your_writes=0.5) as (pool, _):

            async def write_then_read() -> tuple[list[int], list[int]]:
                await pool.insert(ReplicaItem(name="mine")).execute()
                seen = await pool.select(ReplicaItem).filter(ReplicaItem.name == "mine").count()
                assert seen == 1
                here = reads(pool)
                # another request meanwhile reads from a replica
                await fresh(pool.select(ReplicaItem).count())
                other = reads(pool)
                return here, other

            here, other = await fresh(write_then_read())
            assert here == [0, 0, 1]  # the writer's read: the primary
            assert other[:-1] != [0, 0] and other[-1] == 1

            async def gathered_writes_then_read() -> list[int]:
                # the writes run in tasks of their own: the caller's reads still follow them
                await asyncio.gather(
                    *(pool.insert(ReplicaItem(name=f"g{i}")).execute() for i in range(3))
                )
                before = reads(pool)[-1]
                assert (
                    await pool.select(ReplicaItem).filter(ReplicaItem.name.like("g%")).count() == 3
                )
                after_window = reads(pool)[-1]
                await asyncio.sleep(0.6)  # the window ends: replicas again
                await pool.select(ReplicaItem).count()
                return [before, after_window, reads(pool)[-1]]

            b, a, c = await fresh(gathered_writes_then_read())
            assert a == b + 1 and c == a

            async def reads_keep_no_window_open() -> list[int]:
                # a task that wrote once and then reads in a loop: its reads on the
                # primary do not extend the window, which ends 0.5 s after the write
                await pool.insert(ReplicaItem(name="once")).execute()
                started = time.monotonic()
                on_primary = []
                while time.monotonic() - started < 1.0:
                    before = reads(pool)[-1]
                    await pool.select(ReplicaItem).count()
                    await pool.exec_rows("SELECT 1")
                    on_primary.append(reads(pool)[-1] - before)
                    await asyncio.sleep(0.05)
                return on_primary

            on_primary = await fresh(reads_keep_no_window_open())
            assert on_primary[0] == 2 and on_primary[-1] == 0, on_primary

    @requires("replicas")
    async def test_explicit_sides(self, ormer_url: str, table: None) -> None:
        async with replicated(ormer_url) as (pool, proxies):
            assert pool.primary() is not pool.replica()
            replica = pool.replica()
            accepted = sum(p.accepted for p in proxies)
            async with replica.get() as conn:
                assert await conn.exec_rows("SELECT 7") == [(7,)]
            assert sum(p.accepted for p in proxies) >= accepted  # a replica member's pool
            assert replica in [r for r in (pool.replica(), pool.replica())]
            assert await pool.primary().select(ReplicaItem).count() == 6
            assert pool.stats().primary.acquired >= 1

    @requires("replicas")
    async def test_replica_down_at_build_starts_out_and_comes_back(
        self, ormer_url: str, table: None
    ) -> None:
        async with replicated(ormer_url, refuse=(0,)) as (pool, proxies):
            s = pool.stats()
            assert not s.replicas[0].healthy and s.replicas[0].reason
            assert s.replicas[1].healthy
            for _ in range(4):
                assert await fresh(pool.select(ReplicaItem).count()) == 6
            assert reads(pool) == [0, 4, 0]
            proxies[0].forward()
            await until(lambda: pool.stats().replicas[0].healthy)
            for _ in range(4):
                assert await fresh(pool.select(ReplicaItem).count()) == 6
            assert reads(pool)[0] == 2

    @requires("replicas")
    async def test_replica_cut_mid_load_fails_no_read(self, ormer_url: str, table: None) -> None:
        async with replicated(ormer_url, health_check=None) as (pool, proxies):
            failures: list[BaseException] = []
            done = 0

            async def reader() -> None:
                nonlocal done
                for _ in range(25):
                    try:
                        assert await pool.select(ReplicaItem).count() == 6
                        done += 1
                    except Exception as exc:  # counted: the test asserts there is none
                        failures.append(exc)
                    await asyncio.sleep(0.005)

            tasks = [fresh(reader()) for _ in range(8)]
            await until(lambda: done >= 40)
            proxies[0].refuse()
            proxies[0].sever()  # the replica dies under load
            await asyncio.gather(*tasks)
            assert failures == []
            assert done == 200
            s = pool.stats()
            assert s.replicas[0].ejections >= 1 and not s.replicas[0].healthy
            proxies[0].forward()
            await until(lambda: pool.stats().replicas[0].healthy)

    @requires("replicas")
    async def test_no_healthy_replica_reads_go_to_the_primary(
        self, ormer_url: str, table: None
    ) -> None:
        async with replicated(ormer_url, refuse=(0, 1)) as (pool, _):
            assert not any(r.healthy for r in pool.stats().replicas)
            for _ in range(3):
                assert await fresh(pool.select(ReplicaItem).count()) == 6
            assert reads(pool) == [0, 0, 3]

    @requires("replicas")
    async def test_lag_is_measured_on_the_server(self, ormer_url: str) -> None:
        # the suite's server replicates from nobody: a replica that lags 0 s
        async with replicated(ormer_url, replicas=1, max_replica_lag=1) as (pool, _):
            await pool.check_replicas()
            r = pool.stats().replicas[0]
            assert r.healthy and r.lag == 0.0
            assert "***" not in r.url or "@" in r.url
        async with replicated(ormer_url, replicas=1, max_replica_lag=None) as (pool, _):
            await pool.check_replicas()
            assert pool.stats().replicas[0].lag is None  # not measured, only pinged

    @requires("replicas")
    async def test_builder_validation(self, ormer_url: str) -> None:
        for option, value in (
            ("max_replica_lag", -1),
            ("read_your_writes", "1"),
            ("replica_check_interval", 0),
        ):
            builder = getattr(Database.create_pool(ormer_url).replicas(ormer_url), option)(value)
            with pytest.raises(ConfigurationError, match=option):
                await builder.build()
        with pytest.raises(ConfigurationError, match="at least one replica"):
            await Database.create_pool(ormer_url).replicas().build()
        with pytest.raises(ConfigurationError, match="is a sqlite URL"):
            await Database.create_pool(ormer_url).replicas("sqlite:///x.db").build()

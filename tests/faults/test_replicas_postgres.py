"""The replicated pool on real PostgreSQL streaming replication (issue 19).

A private primary with two hot standbys (``pg_cluster``, made with
``pg_basebackup -R``): reads must land on the standbys (``pg_is_in_recovery()``
answers true there), writes on the primary, read-your-writes must hold while
replay is paused (``pg_wal_replay_pause()``), a lagging standby must leave the
rotation and come back, and a standby killed under load must cost no read.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from ormer import Database, Model, ReplicatedPool, field, primary

from .conftest import bounded
from .topology import PgCluster, start_pg_cluster

pytestmark = pytest.mark.faults

T = TypeVar("T")


class Note(Model, table="replica_note"):
    id: int = primary(auto=True)
    body: str = field(max_length=100)


def fresh(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task with an empty context: a new request, no read-your-writes mark."""
    return asyncio.create_task(coro, context=contextvars.Context())


async def build(cluster: PgCluster, **options: Any) -> ReplicatedPool:
    builder = (
        Database.create_pool(cluster.primary.url("ormer_rp"))
        .replicas(*(s.url("ormer_rp") for s in cluster.standbys))
        .max_size(5)
        .replica_check_interval(0.2)
    )
    for name, value in options.items():
        builder = getattr(builder, name)(value)
    return await builder.build()


async def fresh_table(cluster: PgCluster) -> None:
    async with await Database.connect(cluster.primary.url("ormer_rp_admin")) as db:
        await db.drop_table(Note)
        await db.create_table(Note)
    await cluster.wait_caught_up()


async def where(pool: ReplicatedPool) -> tuple[bool, int]:
    """(in recovery, server port) of the server that answers a plain read."""
    ((recovery, port),) = await pool.exec_rows("SELECT pg_is_in_recovery(), inet_server_port()")
    return bool(recovery), int(port)


@bounded(90)
async def test_reads_on_standbys_writes_on_primary(pg_cluster: PgCluster) -> None:
    await fresh_table(pg_cluster)
    standby_ports = {s.port for s in pg_cluster.standbys}
    async with await build(pg_cluster) as pool:
        answered = [await fresh(where(pool)) for _ in range(6)]
        assert all(recovery for recovery, _ in answered)
        assert {port for _, port in answered} == standby_ports  # round robin: both
        # a write through the pool runs on the primary (a standby would refuse it:
        # "cannot execute INSERT in a read-only transaction")
        ((port,),) = await fresh(
            pool.exec_rows(
                "INSERT INTO replica_note (body) VALUES ('raw') RETURNING inet_server_port()"
            )
        )
        assert port == pg_cluster.primary.port
        await fresh(pool.insert([Note(body=f"b{i}") for i in range(5)]).execute())
        await pg_cluster.wait_caught_up()
        bodies = [b for (b,) in await fresh(pool.select(Note.body).order_by(Note.id).collect())]
        assert bodies == ["raw", "b0", "b1", "b2", "b3", "b4"]
        s = pool.stats()
        assert sum(r.reads for r in s.replicas) == 7 and s.primary_reads == 0
        # the standbys replicate from nobody's point of view but the primary's: lag 0
        assert all(r.healthy and r.lag is not None and r.lag < 5 for r in s.replicas)


@bounded(90)
async def test_read_your_writes_while_replay_is_paused(pg_cluster: PgCluster) -> None:
    await fresh_table(pg_cluster)
    for s in pg_cluster.standbys:
        await s.pause_replay()
    try:
        # lag not checked: both standbys stay in rotation however late they are
        async with await build(pg_cluster, max_replica_lag=None, read_your_writes=2) as pool:

            async def write_then_read() -> int:
                await pool.insert(Note(body="mine")).execute()
                return await pool.select(Note).filter(Note.body == "mine").count()

            assert await fresh(write_then_read()) == 1  # the writer sees its row
            # another request reads a standby, which has not replayed it
            assert await fresh(pool.select(Note).filter(Note.body == "mine").count()) == 0
            assert all(recovery for recovery, _ in [await fresh(where(pool))])
    finally:
        for s in pg_cluster.standbys:
            await s.resume_replay()
    await pg_cluster.wait_caught_up()


@bounded(120)
async def test_lagging_standby_leaves_rotation_and_returns(
    pg_cluster: PgCluster, figure: Any
) -> None:
    await fresh_table(pg_cluster)
    late, other = pg_cluster.standbys
    async with await build(pg_cluster, max_replica_lag=1.0) as pool:
        await pool.check_replicas()
        assert all(r.healthy for r in pool.stats().replicas)
        await late.pause_replay()
        try:
            paused_at = time.monotonic()
            # commits the paused standby receives and does not replay
            while pool.stats().replicas[0].healthy:
                await pool.primary().insert(Note(body="tick")).execute()
                assert time.monotonic() - paused_at < 30, pool.stats()
                await asyncio.sleep(0.2)
            ejected = time.monotonic() - paused_at
            reason = pool.stats().replicas[0].reason
            assert reason is not None and "lags" in reason
            ports = {(await fresh(where(pool)))[1] for _ in range(6)}
            assert ports == {other.port}  # only the other standby answers
        finally:
            await late.resume_replay()
        resumed = time.monotonic()
        while not pool.stats().replicas[0].healthy:
            assert time.monotonic() - resumed < 15, pool.stats()
            await asyncio.sleep(0.05)
        back = time.monotonic() - resumed
        ports = {(await fresh(where(pool)))[1] for _ in range(6)}
        assert ports == {late.port, other.port}
    figure(f"standby paused: out of rotation after {ejected:.2f} s; back {back:.2f} s after resume")


@bounded(180)
async def test_standby_killed_under_load_costs_no_read(figure: Any) -> None:
    cluster = await start_pg_cluster(standbys=2)
    try:
        await fresh_table(cluster)
        async with await build(cluster, max_size=4) as pool:
            await fresh(pool.insert([Note(body=f"n{i}") for i in range(10)]).execute())
            await cluster.wait_caught_up()
            failures: list[BaseException] = []
            done = 0
            stop = False

            async def reader() -> None:
                nonlocal done
                while not stop:
                    try:
                        assert await pool.select(Note).count() == 10
                        done += 1
                    except Exception as exc:  # counted: the test asserts there is none
                        failures.append(exc)
                    await asyncio.sleep(0.002)

            tasks = [fresh(reader()) for _ in range(8)]
            while done < 200:  # noqa: ASYNC110 (polls a counter)
                await asyncio.sleep(0.01)
            killed_at = time.monotonic()
            await cluster.standbys[0].stop(crash=True)
            before = done
            while done < before + 500:  # noqa: ASYNC110 (polls a counter)
                await asyncio.sleep(0.01)
            assert not pool.stats().replicas[0].healthy
            restarted = await cluster.standbys[0].restart()
            while not pool.stats().replicas[0].healthy:
                assert time.monotonic() - killed_at < 60, pool.stats()
                await asyncio.sleep(0.05)
            readmitted = time.monotonic() - killed_at
            stop = True
            await asyncio.gather(*tasks)
            assert failures == []
            s = pool.stats()
            assert s.replicas[0].ejections >= 1
            figure(
                f"{done} reads by 8 tasks, standby killed under load: 0 failed; "
                f"readmitted {readmitted:.2f} s after the kill (restart took {restarted:.2f} s)"
            )
    finally:
        cluster.teardown()

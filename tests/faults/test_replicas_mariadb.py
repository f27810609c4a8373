"""The replicated pool on a real MariaDB primary/replica pair (issue 19).

``mariadb_pair``: a primary (binary log, GTID) and a ``--read-only`` replica,
told apart by ``@@server_id`` (1 and 2). The replica's lag comes from ``SHOW
REPLICA STATUS`` (``Seconds_Behind_Master``; NULL while its SQL thread is
stopped), which needs the REPLICA MONITOR privilege: the ``app`` account lacks
it, the ``admin`` account has it.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from ormer import ConfigurationError, Database, Model, ReplicatedPool, field, primary

from .conftest import bounded
from .topology import MariaPair

pytestmark = pytest.mark.faults

T = TypeVar("T")


class Memo(Model, table="replica_memo"):
    id: int = primary(auto=True)
    body: str = field(max_length=100)


def fresh(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task with an empty context: a new request, no read-your-writes mark."""
    return asyncio.create_task(coro, context=contextvars.Context())


async def build(pair: MariaPair, user: str = "admin", **options: Any) -> ReplicatedPool:
    builder = (
        Database.create_pool(pair.primary.url(user))
        .replicas(pair.replica.url(user))
        .max_size(5)
        .replica_check_interval(0.2)
    )
    for name, value in options.items():
        builder = getattr(builder, name)(value)
    return await builder.build()


async def fresh_table(pair: MariaPair) -> None:
    async with await Database.connect(pair.primary.url("admin")) as db:
        await db.drop_table(Memo)
        await db.create_table(Memo)
    await pair.replica.wait_caught_up(pair.primary)


async def server_id(pool: ReplicatedPool) -> int:
    ((sid,),) = await pool.exec_rows("SELECT @@server_id")
    return int(sid)


@bounded(90)
async def test_reads_on_the_replica_writes_on_the_primary(mariadb_pair: MariaPair) -> None:
    await fresh_table(mariadb_pair)
    async with await build(mariadb_pair, user="app", max_replica_lag=None) as pool:
        assert {await fresh(server_id(pool)) for _ in range(4)} == {2}
        # the app account cannot write on the read-only replica: these succeed on the primary
        await fresh(pool.insert([Memo(body=f"m{i}") for i in range(5)]).execute())
        await fresh(pool.update(Memo).set(Memo.body, "m0!").filter(Memo.body == "m0").execute())
        async with pool.get() as conn:
            ((sid,),) = await conn.exec_rows("SELECT @@server_id")
        assert sid == 1
        await mariadb_pair.replica.wait_caught_up(mariadb_pair.primary)
        bodies = [b for (b,) in await fresh(pool.select(Memo.body).order_by(Memo.id).collect())]
        assert bodies == ["m0!", "m1", "m2", "m3", "m4"]
        assert pool.stats().primary_reads == 0


async def test_lag_check_needs_the_privilege(mariadb_pair: MariaPair) -> None:
    with pytest.raises(ConfigurationError, match="cannot measure replica lag"):
        await build(mariadb_pair, user="app", max_replica_lag=5)


@bounded(90)
async def test_stopped_replication_leaves_rotation_and_read_your_writes(
    mariadb_pair: MariaPair, figure: Any
) -> None:
    await fresh_table(mariadb_pair)
    async with await build(mariadb_pair, max_replica_lag=2, read_your_writes=0.5) as pool:
        await pool.check_replicas()
        r = pool.stats().replicas[0]
        assert r.healthy and r.lag is not None and r.lag < 2
        await mariadb_pair.replica.stop_sql_thread()
        stopped = time.monotonic()
        try:
            while pool.stats().replicas[0].healthy:
                assert time.monotonic() - stopped < 10, pool.stats()
                await asyncio.sleep(0.05)
            ejected = time.monotonic() - stopped
            assert pool.stats().replicas[0].lag == float("inf")
            assert {await fresh(server_id(pool)) for _ in range(3)} == {1}  # the primary

            async def write_then_read() -> int:
                await pool.insert(Memo(body="mine")).execute()
                return await pool.select(Memo).filter(Memo.body == "mine").count()

            assert await fresh(write_then_read()) == 1
        finally:
            await mariadb_pair.replica.start_sql_thread()
        resumed = time.monotonic()
        while not pool.stats().replicas[0].healthy:
            assert time.monotonic() - resumed < 15, pool.stats()
            await asyncio.sleep(0.05)
        back = time.monotonic() - resumed
        assert {await fresh(server_id(pool)) for _ in range(3)} == {2}
        assert await fresh(pool.select(Memo).filter(Memo.body == "mine").count()) == 1
    figure(f"replication stopped: out of rotation after {ejected:.2f} s; back {back:.2f} s after")


@bounded(90)
async def test_read_your_writes_while_the_replica_lags(mariadb_pair: MariaPair) -> None:
    await fresh_table(mariadb_pair)
    await mariadb_pair.replica.stop_sql_thread()
    try:
        async with await build(mariadb_pair, max_replica_lag=None, read_your_writes=2) as pool:

            async def write_then_read() -> int:
                await pool.insert(Memo(body="own")).execute()
                return await pool.select(Memo).filter(Memo.body == "own").count()

            assert await fresh(write_then_read()) == 1
            # another request reads the replica, which has not applied it
            assert await fresh(pool.select(Memo).filter(Memo.body == "own").count()) == 0
    finally:
        await mariadb_pair.replica.start_sql_thread()
    await mariadb_pair.replica.wait_caught_up(mariadb_pair.primary)


@bounded(150)
async def test_replica_killed_under_load_costs_no_read(
    mariadb_pair: MariaPair, figure: Any
) -> None:
    await fresh_table(mariadb_pair)
    async with await build(mariadb_pair, user="app", max_replica_lag=None) as pool:
        await fresh(pool.insert([Memo(body=f"n{i}") for i in range(10)]).execute())
        await mariadb_pair.replica.wait_caught_up(mariadb_pair.primary)
        failures: list[BaseException] = []
        done = 0
        stop = False

        async def reader() -> None:
            nonlocal done
            while not stop:
                try:
                    assert await pool.select(Memo).count() == 10
                    done += 1
                except Exception as exc:  # counted: the test asserts there is none
                    failures.append(exc)
                await asyncio.sleep(0.002)

        tasks = [fresh(reader()) for _ in range(8)]
        try:
            while done < 200:  # noqa: ASYNC110 (polls a counter)
                await asyncio.sleep(0.01)
            killed_at = time.monotonic()
            await mariadb_pair.replica.stop(crash=True)
            before = done
            while done < before + 300:  # noqa: ASYNC110 (polls a counter)
                await asyncio.sleep(0.01)
            assert not pool.stats().replicas[0].healthy
            await mariadb_pair.replica.restart()
            while not pool.stats().replicas[0].healthy:
                assert time.monotonic() - killed_at < 60, pool.stats()
                await asyncio.sleep(0.05)
            readmitted = time.monotonic() - killed_at
        finally:
            stop = True
            await asyncio.gather(*tasks)
        assert failures == []
        figure(
            f"{done} reads by 8 tasks, MariaDB replica killed under load: 0 failed; "
            f"readmitted {readmitted:.2f} s after the kill"
        )
    await mariadb_pair.replica.wait_caught_up(mariadb_pair.primary)

"""Multi-host URL failover on PostgreSQL (issue 19, item 2).

A private primary and one standby (``pg_failover_pair``); the pool's URL names both,
``target_session_attrs=read-write``. Writers run while the primary crashes and the
standby is promoted: the statements in flight fail with ConnectionLostError (or a
ConnectionError while no server accepts writes), none hangs, and the pool's next
checkouts find the new primary. The time from the crash to the first write that
succeeds is measured (and printed in the fault figures).
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

import pytest

from ormer import (
    ConnectionError,
    Database,
    Model,
    PoolTimeoutError,
    StatementTimeoutError,
    field,
    primary,
)

from .conftest import bounded
from .topology import PgCluster

pytestmark = pytest.mark.faults


class Event(Model, table="failover_event"):
    id: int = primary(auto=True)
    body: str = field(max_length=100)


def multi_host_url(cluster: PgCluster, **params: str) -> str:
    hosts = ",".join(f"127.0.0.1:{m.port}" for m in cluster.members)
    query = "&".join(
        f"{k}={v}" for k, v in {"application_name": "ormer_failover", **params}.items()
    )
    return f"postgresql://postgres@{hosts}/test?{query}"


@pytest.mark.parametrize("death", ["crash", "freeze"])
@bounded(120)
async def test_multi_host_url_finds_the_new_primary(
    pg_failover_pair: PgCluster, figure: Any, death: str
) -> None:
    """``crash``: the primary's processes die (connections reset at once). ``freeze``:
    it stops answering (SIGSTOP: a host gone from the network): statements in flight
    end at their statement timeout, and each connect tries the silent first host for
    ``connect_timeout`` before the next one."""
    cluster = pg_failover_pair
    old, standby = cluster.primary, cluster.standbys[0]
    url = multi_host_url(cluster, target_session_attrs="read-write", connect_timeout="1")
    async with await Database.connect(cluster.primary.url("ormer_failover_admin")) as db:
        await db.create_table(Event)
    await cluster.wait_caught_up()

    pool = await (
        Database.create_pool(url)
        .max_size(6)
        .min_size(6)
        .acquire_timeout(5)
        .statement_timeout(2)
        .build()
    )
    errors: collections.Counter[str] = collections.Counter()
    ok_after: list[float] = []
    crashed_at: float | None = None
    stop = False
    written = 0

    async def writer(n: int) -> None:
        nonlocal written
        i = 0
        while not stop:
            i += 1
            began = time.monotonic()
            try:
                await pool.insert(Event(body=f"w{n}-{i}")).execute()
                written += 1
                if crashed_at is not None and began > crashed_at:  # the new primary's
                    ok_after.append(time.monotonic())
            except (ConnectionError, PoolTimeoutError, StatementTimeoutError) as exc:
                errors[type(exc).__name__] += 1
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.01)

    try:
        async with pool.get() as conn:  # the pool's connections are on the first host
            ((port,),) = await conn.exec_rows("SELECT inet_server_port()")
        assert port == old.port
        tasks = [asyncio.create_task(writer(n)) for n in range(6)]
        while written < 100:  # noqa: ASYNC110 (polls a counter)
            await asyncio.sleep(0.01)
        if death == "crash":
            await old.stop(crash=True)  # immediate shutdown: no checkpoint, sessions reset
        else:
            old.pause()  # every process of the server stopped: nothing answers
        crashed_at = time.monotonic()
        promoted = await standby.promote()
        while not ok_after:
            assert time.monotonic() - crashed_at < 60, f"no write succeeded: {errors}"
            await asyncio.sleep(0.01)
        recovered = ok_after[0] - crashed_at
        while len(ok_after) < 100:  # writes keep flowing on the new primary  # noqa: ASYNC110 (polls a counter)
            await asyncio.sleep(0.01)
        stop = True
        await asyncio.gather(*tasks)
        async with pool.get() as conn:
            ((port, recovery),) = await conn.exec_rows(
                "SELECT inet_server_port(), pg_is_in_recovery()"
            )
        assert (port, recovery) == (standby.port, False)
        # only connection errors, and no task hung (the watchdog bounds the test)
        expected = {"ConnectionLostError", "ConnectionError"}
        if death == "freeze":  # a silent server: the statements in flight time out
            expected |= {"StatementTimeoutError", "PoolTimeoutError"}
        assert set(errors) <= expected, errors
        rows = await pool.select(Event).count()
        after = len(ok_after)
        assert rows >= after  # every write acknowledged by the new primary is there
        # acknowledged by the old primary and never streamed (asynchronous replication)
        lost = (written - after) - (rows - after)
        figure(
            f"primary {death}: standby promoted in {promoted:.2f} s, first write on the new "
            f"primary {recovered:.2f} s after the {death}; failed writes: {dict(errors)}; "
            f"acknowledged writes lost with the old primary (async replication): {lost}"
        )
    finally:
        stop = True
        await pool.terminate()

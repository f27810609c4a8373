"""The replication topologies themselves (topology.py): what a replication test relies on
must really happen (a standby that does not stream, or a pause that does not pause, would
make every replica-lag assertion pass against nothing)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from ormer import Database
from ormer.errors import ConnectionError as OrmerConnectionError
from ormer.errors import DatabaseError

from .conftest import bounded, skip_or_fail
from .servers import ServerStartError
from .topology import MariaPair, PgBouncer, PgCluster, start_pgbouncer

pytestmark = pytest.mark.faults


async def q(url: str, sql: str) -> list[tuple[Any, ...]]:
    async with await Database.connect(url, connect_timeout=5) as db:
        return await db.exec_rows(sql)


async def x(url: str, sql: str) -> int:
    async with await Database.connect(url, connect_timeout=5) as db:
        return await db.exec_non_query(sql)


def table() -> str:
    return f"topo_{uuid.uuid4().hex[:10]}"


# -- PostgreSQL streaming replication -----------------------------------------------------------
@bounded(60)
async def test_pg_standbys_stream_the_primarys_rows(
    pg_cluster: PgCluster, figure: Callable[[str], None]
) -> None:
    figure(f"pg_cluster (primary + 2 standbys) set up in {pg_cluster.setup_seconds:.2f} s")
    primary, t = pg_cluster.primary, table()
    await x(primary.url(), f"CREATE TABLE {t} (id int PRIMARY KEY, v text)")
    await x(primary.url(), f"INSERT INTO {t} VALUES (1, 'one')")
    await pg_cluster.wait_caught_up()
    assert await q(primary.url(), "SELECT pg_is_in_recovery()") == [(False,)]
    ports = {primary.port}
    for standby in pg_cluster.standbys:
        assert await q(standby.url(), f"SELECT id, v FROM {t}") == [(1, "one")]
        assert await standby.in_recovery()
        with pytest.raises(DatabaseError, match="read-only"):
            await x(standby.url(), f"INSERT INTO {t} VALUES (2, 'two')")
        ports.add(standby.port)
    assert len(ports) == 3
    (n,) = await q(
        primary.url(), "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
    )
    assert n == (2,)


@bounded(60)
async def test_pg_pause_replay_hides_new_rows_until_resume(pg_cluster: PgCluster) -> None:
    primary, (paused, other) = pg_cluster.primary, pg_cluster.standbys
    t = table()
    await x(primary.url(), f"CREATE TABLE {t} (id int PRIMARY KEY)")
    await x(primary.url(), f"INSERT INTO {t} VALUES (1)")
    await pg_cluster.wait_caught_up()
    await paused.pause_replay()
    try:
        await x(primary.url(), f"INSERT INTO {t} VALUES (2)")
        await other.wait_caught_up(primary)  # row 2 is out: the other standby has it
        assert await q(other.url(), f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,)]
        await asyncio.sleep(0.3)
        assert await q(paused.url(), f"SELECT id FROM {t} ORDER BY id") == [(1,)]
        with pytest.raises(TimeoutError):
            await paused.wait_caught_up(primary, timeout=0.5)
    finally:
        await paused.resume_replay()
    await paused.wait_caught_up(primary)
    assert await q(paused.url(), f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,)]


@bounded(60)
async def test_pg_promote_makes_the_standby_accept_writes(
    pg_failover_pair: PgCluster, figure: Callable[[str], None]
) -> None:
    figure(
        f"pg_failover_pair (primary + 1 standby) set up in {pg_failover_pair.setup_seconds:.2f} s"
    )
    primary, (standby,) = pg_failover_pair.primary, pg_failover_pair.standbys
    t = table()
    await x(primary.url(), f"CREATE TABLE {t} (id int PRIMARY KEY)")
    await x(primary.url(), f"INSERT INTO {t} VALUES (1)")
    await standby.wait_caught_up(primary)
    with pytest.raises(DatabaseError, match="read-only"):
        await x(standby.url(), f"INSERT INTO {t} VALUES (2)")
    await primary.stop(crash=True)  # the primary is lost; its standby takes over
    seconds = await standby.promote()
    figure(f"standby promoted (accepting writes) in {seconds:.2f} s")
    assert not await standby.in_recovery()
    assert await x(standby.url(), f"INSERT INTO {t} VALUES (2)") == 1
    assert await q(standby.url(), f"SELECT id FROM {t} ORDER BY id") == [(1,), (2,)]


@bounded(60)
async def test_pg_crashed_standby_restarts_and_catches_up(
    pg_failover_pair: PgCluster, figure: Callable[[str], None]
) -> None:
    primary, (standby,) = pg_failover_pair.primary, pg_failover_pair.standbys
    t = table()
    await x(primary.url(), f"CREATE TABLE {t} (id int PRIMARY KEY)")
    await standby.stop(crash=True)
    assert standby.proc is not None and standby.proc.poll() is not None
    with pytest.raises(OrmerConnectionError):
        await q(standby.url(), "SELECT 1")
    await x(primary.url(), f"INSERT INTO {t} SELECT generate_series(1, 100)")
    seconds = await standby.start()
    await standby.wait_caught_up(primary)
    figure(f"crashed standby back (accepting logins) in {seconds:.2f} s")
    assert await q(standby.url(), f"SELECT count(*) FROM {t}") == [(100,)]
    assert await standby.in_recovery()


# -- PgBouncer ------------------------------------------------------------------------------------
@bounded(90)
async def test_pgbouncer_transaction_pool_serves_many_clients_on_few_connections(
    pgbouncer: PgBouncer, pg_cluster: PgCluster, figure: Callable[[str], None]
) -> None:
    figure(f"pgbouncer set up in {pgbouncer.setup_seconds:.2f} s")
    t, clients = table(), 50
    await x(
        pg_cluster.primary.url(), f"CREATE TABLE {t} (client int, n int, PRIMARY KEY (client, n))"
    )
    all_in, release = asyncio.Event(), asyncio.Event()
    connected = finished = 0

    async def client(i: int) -> list[tuple[Any, ...]]:
        nonlocal connected, finished
        async with await Database.connect(pgbouncer.url(), connect_timeout=10) as db:
            connected += 1
            if connected == clients:
                all_in.set()
            await all_in.wait()  # every client holds its connection to the bouncer
            for n in range(3):
                await db.exec_non_query(f"INSERT INTO {t} VALUES ({i}, {n})")
            async with db.transaction():
                await db.exec_non_query(f"UPDATE {t} SET n = n + 10 WHERE client = {i}")
                rows = await db.exec_rows(f"SELECT n FROM {t} WHERE client = {i} ORDER BY n")
            finished += 1
            await release.wait()  # still connected while the pools are looked at
            return rows

    async def sample() -> tuple[int, int]:
        (pool,) = await pgbouncer.pools()
        held = sum(
            int(pool[k]) for k in ("sv_active", "sv_idle", "sv_used", "sv_tested", "sv_login")
        )
        return max(held, await pgbouncer.server_connections()), int(pool["cl_active"]) + int(
            pool["cl_waiting"]
        )

    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    try:
        await asyncio.wait_for(all_in.wait(), 30)
        peak_servers = 0
        while finished < clients and not any(task.done() for task in tasks):
            peak_servers = max(peak_servers, (await sample())[0])
            await asyncio.sleep(0.01)
        servers, peak_clients = await sample()
        peak_servers = max(peak_servers, servers)
    finally:
        release.set()
    results = await asyncio.gather(*tasks)
    assert results == [[(10,), (11,), (12,)]] * clients
    assert await q(pg_cluster.primary.url(), f"SELECT count(*) FROM {t}") == [(clients * 3,)]
    assert peak_clients >= clients, peak_clients
    assert 1 <= peak_servers <= pgbouncer.pool_size, peak_servers
    figure(f"pgbouncer: {clients} clients on at most {peak_servers} server connections")


@bounded(60)
async def test_pgbouncer_routes_each_database_to_its_member(
    pgbouncer: PgBouncer, pg_cluster: PgCluster
) -> None:
    assert await q(pgbouncer.url("test"), "SELECT pg_is_in_recovery()") == [(False,)]
    for i in (1, 2):
        assert await q(pgbouncer.url(f"test{i}"), "SELECT pg_is_in_recovery()") == [(True,)]
    ports = {r[0] for r in await q(pgbouncer.url("test2"), "SELECT inet_server_port()")}
    assert ports == {pg_cluster.standbys[1].port}


@bounded(60)
async def test_pgbouncer_session_mode_and_retarget(pg_failover_pair: PgCluster) -> None:
    primary, (standby,) = pg_failover_pair.primary, pg_failover_pair.standbys
    try:
        bouncer = await start_pgbouncer(primary, pool_mode="session", pool_size=2)
    except ServerStartError as exc:
        skip_or_fail("postgres", str(exc))
    try:
        async with await Database.connect(bouncer.url(), connect_timeout=5) as db:
            await db.exec_non_query("SET application_name = 'kept_by_session'")
            assert await db.exec_rows("SHOW application_name") == [("kept_by_session",)]
            assert await db.exec_rows("SELECT pg_is_in_recovery()") == [(False,)]
        (pool,) = await bouncer.pools()
        assert pool["pool_mode"] == "session"
        await primary.stop(crash=True)
        await standby.promote()
        await bouncer.retarget([standby])  # failover: the bouncer now points at the new primary
        assert await q(bouncer.url(), "SELECT inet_server_port()") == [(standby.port,)]
        assert await x(bouncer.url(), "CREATE TABLE after_failover (id int)") == 0
    finally:
        bouncer.teardown()
    assert bouncer.proc is not None and bouncer.proc.poll() is not None


# -- MariaDB primary/replica ---------------------------------------------------------------------
async def _wait_io_pos(pair: MariaPair) -> None:
    """Until the replica's IO thread has received everything the primary binlogged."""
    ((pos,),) = await q(pair.primary.url("admin"), "SELECT @@GLOBAL.gtid_binlog_pos")
    for _ in range(200):
        if (await pair.replica.slave_status()).get("Gtid_IO_Pos") == pos:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the replica never received {pos}")


@bounded(60)
async def test_mariadb_replica_applies_the_primarys_rows(
    mariadb_pair: MariaPair, figure: Callable[[str], None]
) -> None:
    figure(f"mariadb_pair (primary + replica) set up in {mariadb_pair.setup_seconds:.2f} s")
    primary, replica, t = mariadb_pair.primary, mariadb_pair.replica, table()
    await x(primary.url(), f"CREATE TABLE {t} (id INT PRIMARY KEY, v VARCHAR(10))")
    await x(primary.url(), f"INSERT INTO {t} VALUES (1, 'one')")
    await replica.wait_caught_up(primary)
    assert await q(replica.url(), f"SELECT id, v FROM {t}") == [(1, "one")]
    assert await q(primary.url(), "SELECT @@server_id, @@read_only") == [(1, 0)]
    assert await q(replica.url(), "SELECT @@server_id, @@read_only") == [(2, 1)]
    with pytest.raises(DatabaseError, match="read-only"):
        await x(replica.url(), f"INSERT INTO {t} VALUES (2, 'two')")


@bounded(60)
async def test_mariadb_stopped_sql_thread_holds_rows_back(mariadb_pair: MariaPair) -> None:
    primary, replica, t = mariadb_pair.primary, mariadb_pair.replica, table()
    await x(primary.url(), f"CREATE TABLE {t} (id INT PRIMARY KEY)")
    await replica.wait_caught_up(primary)
    assert (await replica.slave_status())["Seconds_Behind_Master"] is not None
    await replica.stop_sql_thread()
    try:
        status = await replica.slave_status()
        assert status["Slave_SQL_Running"] == "No"
        assert status["Slave_IO_Running"] == "Yes"
        assert status["Seconds_Behind_Master"] is None
        await x(primary.url(), f"INSERT INTO {t} VALUES (1)")
        await _wait_io_pos(mariadb_pair)  # received, not applied
        assert await q(replica.url(), f"SELECT id FROM {t}") == []
    finally:
        await replica.start_sql_thread()
    await replica.wait_caught_up(primary)
    assert await q(replica.url(), f"SELECT id FROM {t}") == [(1,)]
    status = await replica.slave_status()
    assert status["Slave_SQL_Running"] == "Yes"
    assert status["Seconds_Behind_Master"] is not None

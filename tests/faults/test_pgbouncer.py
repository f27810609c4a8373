"""ormer behind a real PgBouncer in transaction mode (issue 19, item 3).

PgBouncer (Debian's ``pgbouncer``, started by the ``pgbouncer`` fixture in front of
the ``pg_cluster`` primary) lends a server connection for one transaction at a
time, ``default_pool_size`` 3: many client connections share three server
connections. The ``pgbouncer=true`` option makes ormer safe there (unnamed
statements only: no prepared statement outlives its transaction). Without it,
asyncpg's named prepared statements land on one server connection and are
executed on another.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ormer import (
    Database,
    Model,
    NotSupportedError,
    OrmerError,
    StatementTimeoutError,
    field,
    primary,
)

from .conftest import bounded
from .topology import PgBouncer, PgCluster

pytestmark = pytest.mark.faults


class Ticket(Model, table="bouncer_ticket"):
    id: int = primary(auto=True)
    owner: str = field(max_length=50)
    seen: int = 0


def through(bouncer: PgBouncer, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"application_name": "ormer_bouncer", **params}.items())
    return f"postgresql://postgres@127.0.0.1:{bouncer.port}/test?{query}"


async def fresh_table(cluster: PgCluster) -> None:
    async with await Database.connect(cluster.primary.url("ormer_bouncer_admin")) as db:
        await db.drop_table(Ticket)
        await db.create_table(Ticket)


@bounded(120)
async def test_many_tasks_run_500_statements_through_transaction_pooling(
    pg_cluster: PgCluster, pgbouncer: PgBouncer, figure: Any
) -> None:
    await fresh_table(pg_cluster)
    statements = 0
    peak_servers = 0
    async with (
        await Database.create_pool(through(pgbouncer, pgbouncer="true"))
        .max_size(20)
        .build() as pool
    ):

        async def client(n: int) -> None:
            nonlocal statements
            owner = f"c{n}"
            ids = []
            for i in range(3):
                await pool.insert(Ticket(owner=owner, seen=i)).execute()
                statements += 1
            rows = (
                await pool.select(Ticket)
                .filter(Ticket.owner == owner)
                .order_by(Ticket.id)
                .collect()
            )
            statements += 1
            assert [r.seen for r in rows] == [0, 1, 2]
            ids = [r.id for r in rows]
            got = await pool.find(Ticket, ids[0])
            assert got is not None and got.owner == owner
            statements += 1
            n_updated = (
                await pool.update(Ticket)
                .set(Ticket.seen, 10)
                .filter(Ticket.owner == owner)
                .execute()
            )
            assert n_updated == 3
            statements += 1
            async with pool.get() as conn, conn.transaction():  # one server connection
                await conn.insert(Ticket(owner=owner, seen=99)).execute()
                assert await conn.select(Ticket).filter(Ticket.owner == owner).count() == 4
                statements += 2
            assert await pool.select(Ticket).filter(Ticket.owner == owner).sum(Ticket.seen) == 129
            statements += 1
            assert [
                r.seen
                async for r in pool.select(Ticket)
                .filter(Ticket.owner == owner)
                .order_by(Ticket.id)
                .stream(batch=2)
            ] == [10, 10, 10, 99]
            statements += 1

        async def watch() -> None:
            nonlocal peak_servers
            while True:
                peak_servers = max(peak_servers, await pgbouncer.server_connections())
                await asyncio.sleep(0.05)

        watcher = asyncio.create_task(watch())
        try:
            await asyncio.gather(*(client(n) for n in range(50)))
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
        assert statements == 50 * 10
        assert await pool.select(Ticket).count() == 200
        assert pool.stats().size > pgbouncer.pool_size  # more clients than servers
    async with await Database.connect(pg_cluster.primary.url("ormer_bouncer_admin")) as db:
        assert await db.select(Ticket).filter(Ticket.seen == 99).count() == 50  # on the server
    assert 1 <= peak_servers <= pgbouncer.pool_size
    figure(
        f"500 statements by 50 tasks through pgbouncer (transaction mode): ok; "
        f"20 client connections on at most {peak_servers} server connections"
    )


@bounded(120)
async def test_without_the_option_prepared_statements_break(
    pg_cluster: PgCluster, pgbouncer: PgBouncer, figure: Any
) -> None:
    """The control: asyncpg's default statement cache through transaction pooling."""
    await fresh_table(pg_cluster)
    errors: list[str] = []
    async with await Database.create_pool(through(pgbouncer)).max_size(20).build() as pool:

        async def client(n: int) -> None:
            for i in range(10):
                try:
                    await pool.insert(Ticket(owner=f"x{n}", seen=i)).execute()
                    await pool.select(Ticket).filter(Ticket.owner == f"x{n}").count()
                except OrmerError as exc:
                    errors.append(str(exc))

        await asyncio.gather(*(client(n) for n in range(30)))
    assert any("prepared statement" in e for e in errors), errors[:3]
    figure(f"without pgbouncer=true: {len(errors)} of 600 statements failed (prepared statements)")


@bounded(60)
async def test_timeouts_streams_and_migrations_behind_pgbouncer(
    pg_cluster: PgCluster, pgbouncer: PgBouncer
) -> None:
    await fresh_table(pg_cluster)
    url = through(pgbouncer, pgbouncer="true")
    async with await Database.create_pool(url).max_size(4).build() as pool:
        await pool.insert([Ticket(owner="s", seen=i) for i in range(1000)]).execute()
        seen = [t.seen async for t in pool.select(Ticket).order_by(Ticket.id).stream(batch=100)]
        assert seen == list(range(1000))
        # a statement over its limit is cancelled through the bouncer; the pool goes on
        with pytest.raises(StatementTimeoutError):
            await pool.exec_rows("SELECT pg_sleep(5)", timeout=0.3)
        assert await pool.select(Ticket).count() == 1000
        async with pool.get() as conn:
            with pytest.raises(NotSupportedError, match="PgBouncer"):
                async with conn.dialect.migration_lock(conn):
                    pass

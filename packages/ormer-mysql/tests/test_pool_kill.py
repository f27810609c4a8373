"""The pool when the server kills its connections (issue 15, item 5): ``KILL`` of
this test's own connection ids, and a per-session ``wait_timeout`` expiry (set by
the pool's ``init_command``: nothing global changes)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ormer import ConnectionError, Database, Model, Pool, field, primary
from ormer.testing.base import fresh_tables

pytestmark = pytest.mark.mysql


class KillItem(Model, table="pool_kill_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)


async def ids(pool: Pool, n: int) -> list[int]:
    conns = [await pool.get() for _ in range(n)]
    found = [(await c.exec_rows("SELECT CONNECTION_ID()"))[0][0] for c in conns]
    for c in conns:
        await c.release()
    return found


async def kill(admin: Any, found: list[int]) -> None:
    for cid in found:
        await admin.exec_non_query(f"KILL {int(cid)}")


async def test_killed_idle_connections_cost_readers_nothing(mysql_url: str) -> None:
    async with await Database.connect(mysql_url) as admin:
        await fresh_tables(admin, KillItem)
        await admin.insert([KillItem(name=f"k{i}") for i in range(3)])
        for _ in range(20):  # a pool per round: its every connection killed while idle
            pool = await Database.create_pool(mysql_url).max_size(3).build()
            try:
                await kill(admin, await ids(pool, 3))
                rows = await pool.select(KillItem).order_by(KillItem.id).collect()
                assert [r.name for r in rows] == ["k0", "k1", "k2"]
                async with pool.get() as conn:  # a held dead connection: swapped
                    assert await conn.select(KillItem).count() == 3
                s = pool.stats()
                assert s.size == s.idle + s.in_use and s.size <= 3
            finally:
                await pool.close(timeout=5)


async def test_wait_timeout_expiry_costs_readers_nothing(mysql_url: str) -> None:
    async with await Database.connect(mysql_url) as admin:
        await fresh_tables(admin, KillItem)
        await admin.insert([KillItem(name="w")])
    pool = await (
        Database.create_pool(mysql_url)
        .max_size(4)
        .connect_options(init_command="SET SESSION wait_timeout=2")
        .build()
    )
    async with pool:
        conns = [await pool.get() for _ in range(4)]
        for c in conns:
            await c.release()
        await asyncio.sleep(3.5)  # every idle connection expired on the server
        results = [await pool.select(KillItem).count() for _ in range(20)]
        assert results == [1] * 20


async def test_write_in_a_transaction_on_a_killed_connection_raises(mysql_url: str) -> None:
    async with await Database.connect(mysql_url) as admin:
        await fresh_tables(admin, KillItem)
        async with await Database.create_pool(mysql_url).max_size(1).build() as pool:
            async with pool.get() as conn:
                cid = (await conn.exec_rows("SELECT CONNECTION_ID()"))[0][0]

                async def doomed() -> None:
                    async with conn.transaction():
                        await conn.insert(KillItem(name="a"))
                        await kill(admin, [cid])
                        await conn.insert(KillItem(name="b"))

                with pytest.raises(ConnectionError):  # lost, or the rollback after it
                    await doomed()
            assert await pool.select(KillItem).count() == 0
        assert await admin.select(KillItem).count() == 0

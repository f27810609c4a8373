"""The pool when the server terminates its connections (issue 15, item 5).

Only this test's own backends are terminated (``pg_terminate_backend`` of the
pids the pool's connections report): the shared server is otherwise untouched.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from ormer import ConnectionError, Database, Model, Pool, field, primary
from ormer.testing.base import fresh_tables

pytestmark = pytest.mark.postgres


class KillItem(Model, table="pool_kill_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)


async def pids(pool: Pool, n: int) -> list[int]:
    """The server pids of ``n`` connections the pool opens (returned idle)."""
    conns = [await pool.get() for _ in range(n)]
    found = [(await c.exec_rows("SELECT pg_backend_pid()"))[0][0] for c in conns]
    for c in conns:
        await c.release()
    return found


async def terminate(admin: object, found: list[int]) -> None:
    for pid in found:
        await admin.exec_rows("SELECT pg_terminate_backend($1)", [pid])  # type: ignore[attr-defined]


async def test_terminated_idle_connections_cost_readers_nothing(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ormer.pool")
    async with await Database.connect(pg_url) as admin:
        await fresh_tables(admin, KillItem)
        await admin.insert([KillItem(name=f"k{i}") for i in range(3)])
        async with await Database.create_pool(pg_url).max_size(3).build() as pool:
            ok = 0
            for _ in range(20):
                await terminate(admin, await pids(pool, 3))
                await asyncio.sleep(0.05)
                rows = await pool.select(KillItem).order_by(KillItem.id).collect()
                assert [r.name for r in rows] == ["k0", "k1", "k2"]
                ok += 1
            assert ok == 20
            # a held connection killed under its borrower: the read is retried
            async with pool.get() as conn:
                pid = (await conn.exec_rows("SELECT pg_backend_pid()"))[0][0]
                await conn.release()
            async with pool.get() as conn:
                await terminate(admin, [pid])
                await asyncio.sleep(0.05)
                assert await conn.select(KillItem).count() == 3
            s = pool.stats()
            assert s.size == s.idle + s.in_use and s.size <= 3


async def test_write_in_a_transaction_on_a_killed_connection_raises(pg_url: str) -> None:
    async with await Database.connect(pg_url) as admin:
        await fresh_tables(admin, KillItem)
        async with await Database.create_pool(pg_url).max_size(1).build() as pool:
            async with pool.get() as conn:
                pid = (await conn.exec_rows("SELECT pg_backend_pid()"))[0][0]

                async def doomed() -> None:
                    async with conn.transaction():
                        await conn.insert(KillItem(name="a"))
                        await terminate(admin, [pid])
                        await asyncio.sleep(0.05)
                        await conn.insert(KillItem(name="b"))

                with pytest.raises(ConnectionError):  # lost, or the rollback after it
                    await doomed()
            assert await pool.select(KillItem).count() == 0  # nothing half-committed
        assert await admin.select(KillItem).count() == 0

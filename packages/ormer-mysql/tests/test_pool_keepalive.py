"""keepalive against the server's ``wait_timeout`` (issue 20): the pool's
``on_connect`` sets it for its own sessions only; background pings keep them alive."""

from __future__ import annotations

import asyncio

import pytest

from ormer import Connection, ConnectionLostError, Database

pytestmark = pytest.mark.mysql


async def short_wait_timeout(conn: Connection) -> None:
    await conn.exec_non_query("SET SESSION wait_timeout = 1")


async def connection_id(pool: object) -> int:
    async with pool.get() as conn:  # type: ignore[attr-defined]
        ((cid,),) = await conn.exec_rows("SELECT CONNECTION_ID()")
        return int(cid)


@pytest.mark.parametrize("keepalive", [None, 0.3])
async def test_keepalive_outlives_wait_timeout(mysql_url: str, keepalive: float | None) -> None:
    builder = (
        Database.create_pool(mysql_url)
        .min_size(1)
        .max_size(1)
        .health_check(None)
        .on_connect(short_wait_timeout)
    )
    if keepalive is not None:
        builder = builder.keepalive(keepalive)
    async with await builder.build() as pool:
        first = await connection_id(pool)
        await asyncio.sleep(2.5)  # idle well past wait_timeout
        if keepalive is None:
            # the server closed the idle session: the pool finds it closed (when the
            # driver noticed the close) or the raw statement fails on it (raw SQL is
            # never retried); either way it is gone. This is what keepalive is for.
            try:
                second = await connection_id(pool)
            except ConnectionLostError:
                second = await connection_id(pool)
            assert second != first and pool.stats().created >= 2
        else:
            assert await connection_id(pool) == first
            assert pool.stats().created == 1

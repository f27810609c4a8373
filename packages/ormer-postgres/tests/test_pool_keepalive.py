"""keepalive against the server's idle-session limit (issue 20): the pool's
``on_connect`` sets ``idle_session_timeout`` for its own sessions only, so the
server ends a session idle longer; background pings keep the pool's alive."""

from __future__ import annotations

import asyncio

import pytest

from ormer import Connection, Database

pytestmark = pytest.mark.postgres


async def short_idle_limit(conn: Connection) -> None:
    await conn.exec_non_query("SET idle_session_timeout = '600ms'")


async def backend_pid(pool: object) -> int:
    async with pool.get() as conn:  # type: ignore[attr-defined]
        ((pid,),) = await conn.exec_rows("SELECT pg_backend_pid()")
        return int(pid)


@pytest.mark.parametrize("keepalive", [None, 0.2])
async def test_keepalive_outlives_idle_session_timeout(
    pg_url: str, keepalive: float | None
) -> None:
    builder = (
        Database.create_pool(pg_url)
        .min_size(1)
        .max_size(1)
        .health_check(None)
        .on_connect(short_idle_limit)
    )
    if keepalive is not None:
        builder = builder.keepalive(keepalive)
    async with await builder.build() as pool:
        first = await backend_pid(pool)
        await asyncio.sleep(1.5)  # idle well past the server's limit
        second = await backend_pid(pool)
        async with pool.get() as conn:
            assert await conn.exec_rows("SELECT 1") == [(1,)]
        if keepalive is None:
            # the server ended the idle session: the pool found it closed and replaced it
            assert second != first and pool.stats().created >= 2
        else:
            assert second == first and pool.stats().created == 1

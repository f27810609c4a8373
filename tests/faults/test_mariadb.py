"""MariaDB only: wait_timeout expiry of pooled connections, and a packet too large (1153)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from ormer import ConnectionLostError, Database

from .conftest import Backend, bounded
from .servers import MARIADB_MAX_PACKET
from .workload import Ledger, Tally, assert_pool_whole, check_ledger, reset_table

pytestmark = pytest.mark.faults

WAIT_TIMEOUT = 2


@pytest.fixture
async def short_wait_timeout(mariadb: Backend) -> AsyncIterator[None]:
    """wait_timeout=2 on the private server for the sessions opened meanwhile."""
    await mariadb.admin(f"SET GLOBAL wait_timeout = {WAIT_TIMEOUT}")
    try:
        yield
    finally:
        await mariadb.admin("SET GLOBAL wait_timeout = 28800")


@bounded(60)
async def test_wait_timeout_expiry(
    mariadb: Backend, short_wait_timeout: None, figure: Callable[[str], None]
) -> None:
    """Pooled connections expired by the server (wait_timeout) inside the default
    health-check window: a write in a transaction gets ConnectionLostError and leaves
    nothing; then 20/20 reads succeed (needs issue 15 item 5: the pool retries a read
    on a connection found dead)."""
    url = mariadb.url()
    await reset_table(url)
    tally = Tally()
    async with await Database.create_pool(url).max_size(5).build() as pool:
        await asyncio.gather(*(_borrow(pool) for _ in range(5)))
        assert pool.stats().idle == 5
        await asyncio.sleep(WAIT_TIMEOUT + 1.5)
        assert await mariadb.session_ids() == [], "the server did not expire the sessions"

        tally.attempted.add(1)
        with pytest.raises(ConnectionLostError):
            await _transfer(pool)
        failures: list[BaseException] = []
        for _ in range(20):
            try:
                await pool.select(Ledger).count()
            except Exception as exc:
                failures.append(exc)
        figure(
            f"mariadb wait_timeout={WAIT_TIMEOUT}: 5 pooled connections expired; write in "
            f"a transaction ConnectionLostError; {20 - len(failures)}/20 reads ok"
        )
        assert not failures, f"{len(failures)}/20 reads failed: {failures[:3]!r}"
        assert (await check_ledger(url, tally))["pairs"] == 0
        await assert_pool_whole(pool)


async def _borrow(pool: object) -> None:
    async with pool.get() as conn:  # type: ignore[attr-defined]
        await conn.select(Ledger).count()
        await asyncio.sleep(0.05)


async def _transfer(pool: object) -> None:
    async with pool.get() as conn, conn.transaction():  # type: ignore[attr-defined]
        await conn.insert(Ledger(pair=1, amount=3))
        await conn.insert(Ledger(pair=1, amount=-3))


@bounded(60)
async def test_packet_too_large_retires_the_connection(mariadb: Backend) -> None:
    """1153 closes the connection on the server: ConnectionLostError (not QueryError),
    and the next borrower of a one-connection pool is not handed the dead one."""
    url = mariadb.url()
    await reset_table(url)
    big = "x" * (MARIADB_MAX_PACKET + 1024)
    async with await Database.create_pool(url).max_size(1).build() as pool:
        await pool.select(Ledger).count()
        with pytest.raises(ConnectionLostError):
            await pool.exec_rows("SELECT LENGTH(%s)", [big])
        for _ in range(5):
            assert await pool.select(Ledger).count() == 0
        await assert_pool_whole(pool)

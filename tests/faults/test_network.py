"""A network cut between ormer and its server, through a TCP proxy the test controls.

``freeze()`` stops forwarding as a partition does (bytes held, new connections
accepted and never answered; ``thaw()`` lets them flow on); ``sever()`` resets every
connection. Connect, ping
(health check) and statements must all end within their timeouts:
``connect_timeout``, ``acquire_timeout`` (which bounds connect and ping), and the
statement timeout (``.timeout()``); after ``thaw()`` the pool serves again.

Needs from issue 15: acquire_timeout bounding connect and ping, ``.timeout()`` on
builders, and (for the reset test on MariaDB) the retry of reads on a connection
found dead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from ormer import (
    ConnectionError,
    ConnectionLostError,
    Database,
    PoolTimeoutError,
    StatementTimeoutError,
)
from ormer.testing.tcpproxy import TcpProxy

from .conftest import Backend, bounded
from .workload import (
    RECOVERY_BOUND,
    SLACK,
    STATEMENT_BOUND,
    Ledger,
    Tally,
    assert_pool_whole,
    assert_server_sessions,
    check_ledger,
    get_and_release,
    reset_table,
    serves,
    timed,
    transfer,
    until,
)

pytestmark = pytest.mark.faults


@bounded(60)
async def test_cut_connect_and_ping_bounded(
    backend: Backend, figure: Callable[[str], None]
) -> None:
    await reset_table(backend.url())
    async with await TcpProxy.start("127.0.0.1", backend.server.port) as proxy:
        url = backend.url(proxy.port)
        # a connect begun while the network is cut ends by its own timeout (2 s) once the
        # caller gave up: short, so that the pool is whole soon after the network is back
        pinging = await (
            Database.create_pool(url)
            .max_size(2)
            .acquire_timeout(1)
            .health_check(0)
            .connect_options(connect_timeout=2)
            .build()
        )
        empty = await (
            Database.create_pool(url)
            .max_size(2)
            .acquire_timeout(1)
            .connect_options(connect_timeout=2)
            .build()
        )
        try:
            await get_and_release(pinging)  # one idle connection, pinged at every checkout
            proxy.freeze()
            direct_took, direct_err = await timed(
                Database.connect(url, connect_timeout=1), 1, "Database.connect"
            )
            connect_took, connect_err = await timed(
                get_and_release(empty), 1, "get() needing a connect"
            )
            ping_took, ping_err = await timed(get_and_release(pinging), 1, "get() with a ping due")
            assert isinstance(direct_err, ConnectionError), f"Database.connect: {direct_err!r}"
            assert direct_took <= 1 + SLACK, f"Database.connect took {direct_took:.2f}s"
            assert isinstance(connect_err, PoolTimeoutError), f"get() to connect: {connect_err!r}"
            assert connect_took <= 1 + SLACK, f"get() needing a connect took {connect_took:.2f}s"
            assert isinstance(ping_err, PoolTimeoutError), f"get() with a ping: {ping_err!r}"
            assert ping_took <= 1 + SLACK, f"get() with a ping due took {ping_took:.2f}s"

            proxy.thaw()
            for pool in (pinging, empty):
                assert await until(lambda p=pool: serves(p), RECOVERY_BOUND), "no recovery"
                await assert_pool_whole(pool)
            figure(
                f"{backend.name} network blackholed: Database.connect {direct_took:.2f}s, get() "
                f"needing a connect {connect_took:.2f}s, get() with a ping due {ping_took:.2f}s "
                "(all limits 1 s)"
            )
        finally:
            proxy.thaw()
            await pinging.terminate()
            await empty.terminate()


@bounded(60)
async def test_cut_mid_statement_bounded(backend: Backend, figure: Callable[[str], None]) -> None:
    await reset_table(backend.url())
    async with await TcpProxy.start("127.0.0.1", backend.server.port) as proxy:
        url = backend.url(proxy.port)
        async with await Database.create_pool(url).max_size(2).acquire_timeout(2).build() as pool:
            async with pool.get() as conn:
                await conn.select(Ledger).count()
                proxy.freeze()
                try:
                    took, err = await timed(
                        conn.select(Ledger).timeout(0.5).collect(), STATEMENT_BOUND, ".timeout(0.5)"
                    )
                finally:
                    proxy.thaw()  # before the connection goes back to the pool
            # the statement's fate is unknown to the client: its connection may be given up
            assert isinstance(err, (StatementTimeoutError, ConnectionLostError)), repr(err)
            assert took <= STATEMENT_BOUND + SLACK, f".timeout(0.5) across a cut took {took:.2f}s"
            assert await until(lambda: serves(pool), RECOVERY_BOUND), "no recovery"
            await assert_pool_whole(pool)
            figure(
                f"{backend.name} network blackholed mid-statement: .timeout(0.5) ended in "
                f"{took:.2f}s ({type(err).__name__})"
            )


@bounded(60)
async def test_reset_connections(backend: Backend, figure: Callable[[str], None]) -> None:
    """Every connection reset (RST): a read on the borrowed one is retried on a fresh
    connection, a transaction on it raises ConnectionLostError at once; then 10/10
    reads succeed (dead idle connections are discarded or retried, never shown)."""
    await reset_table(backend.url())
    async with await TcpProxy.start("127.0.0.1", backend.server.port) as proxy:
        url = backend.url(proxy.port)
        async with await Database.create_pool(url).max_size(4).acquire_timeout(2).build() as pool:
            idle = [await pool.get() for _ in range(3)]
            for c in idle:
                await c.release()
            async with pool.get() as conn:
                proxy.sever()
                took, err = await timed(
                    conn.select(Ledger).count(), 0.5, "a read on a reset connection"
                )
            # nothing of a read can have run: it is retried on a fresh connection
            assert err is None, repr(err)
            assert took <= 0.5 + SLACK, f"a read on a reset connection took {took:.2f}s"
            async with pool.get() as conn:
                await conn.select(Ledger).count()
                proxy.sever()

                async def in_transaction() -> None:
                    async with conn.transaction():
                        await conn.select(Ledger).count()

                took, err = await timed(in_transaction(), 0.5, "a transaction on a reset one")
            # inside a transaction there is no retry: the caller hears of it at once
            assert isinstance(err, ConnectionLostError), repr(err)
            assert took <= 0.5 + SLACK, f"a transaction on a reset connection took {took:.2f}s"
            failures = []
            for _ in range(10):
                try:
                    await pool.select(Ledger).count()
                except Exception as exc:
                    failures.append(exc)
            assert not failures, f"{len(failures)}/10 reads failed: {failures[:3]!r}"
            await assert_pool_whole(pool)
            await assert_server_sessions(backend, pool)
            figure(
                f"{backend.name} connections reset: read retried, transaction "
                f"ConnectionLostError in {took:.3f}s, then 10/10 reads ok"
            )


@bounded(60)
async def test_short_partition_heals(backend: Backend, figure: Callable[[str], None]) -> None:
    """A partition shorter than every timeout is invisible: statements and a transfer in
    flight when it starts complete when it heals, with the right rows."""
    await reset_table(backend.url())
    async with await TcpProxy.start("127.0.0.1", backend.server.port) as proxy:
        url = backend.url(proxy.port)
        async with await Database.create_pool(url).max_size(4).acquire_timeout(10).build() as pool:
            await asyncio.gather(*(pool.select(Ledger).count() for _ in range(4)))
            proxy.freeze()
            tally = Tally()
            start = time.monotonic()
            work = asyncio.gather(
                transfer(pool, tally), *(pool.select(Ledger).count() for _ in range(6))
            )
            await asyncio.sleep(1.0)
            assert not work.done(), "the partition let something through"
            proxy.thaw()
            await work
            took = time.monotonic() - start
            counts = await check_ledger(url, tally)
            assert counts == {"pairs": 1, "acked": 1, "unacked_committed": 0}
            await assert_pool_whole(pool)
            await assert_server_sessions(backend, pool)
            figure(
                f"{backend.name}: a 1 s partition healed, the work in flight finished in "
                f"{took:.2f}s without an error"
            )

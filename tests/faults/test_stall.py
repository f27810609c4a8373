"""A stalled server (SIGSTOP of the server and its children): every wait ends in time.

The server accepts TCP (the kernel completes the handshake) but answers nothing,
which is what a hung server or a lost route looks like to a client. While it is
stopped: ``get()`` with ``acquire_timeout(1)`` raises PoolTimeoutError within
about a second whether the pool must ping an idle connection (health check due)
or connect a new one, ``Database.connect`` with ``connect_timeout=1`` raises
ConnectionError, and a statement with ``.timeout(0.5)`` raises
StatementTimeoutError. After SIGCONT everything serves again.

Needs from issue 15: acquire_timeout bounding connect and ping (pool), the
statement timeout (``.timeout()`` on builders).
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

from .conftest import Backend, bounded
from .workload import (
    RECOVERY_BOUND,
    SLACK,
    STATEMENT_BOUND,
    Ledger,
    assert_pool_whole,
    assert_server_sessions,
    get_and_release,
    reset_table,
    serves,
    timed,
    until,
)

pytestmark = pytest.mark.faults


@bounded(60)
async def test_stalled_server_pool_get_is_bounded(
    backend: Backend, figure: Callable[[str], None]
) -> None:
    url = backend.url()
    await reset_table(url)
    pinging = await Database.create_pool(url).max_size(2).acquire_timeout(1).health_check(0).build()
    fresh = await Database.create_pool(url).max_size(2).acquire_timeout(1).build()
    try:
        await get_and_release(pinging)  # one idle connection, pinged at every checkout
        assert fresh.stats().size == 0  # a get() must connect
        backend.server.pause()
        try:
            ping_took, ping_err = await timed(get_and_release(pinging), 1, "get() with a ping due")
            connect_took, connect_err = await timed(
                get_and_release(fresh), 1, "get() needing a connect"
            )
            direct_took, direct_err = await timed(
                Database.connect(url, connect_timeout=1), 1, "Database.connect"
            )
        finally:
            backend.server.resume()
        resumed = time.monotonic()
        assert isinstance(ping_err, PoolTimeoutError), f"ping: {ping_err!r}"
        assert ping_took <= 1 + SLACK, f"get() with a ping due took {ping_took:.2f}s"
        assert isinstance(connect_err, PoolTimeoutError), f"connect: {connect_err!r}"
        assert connect_took <= 1 + SLACK, f"get() needing a connect took {connect_took:.2f}s"
        assert isinstance(direct_err, ConnectionError), f"Database.connect: {direct_err!r}"
        assert direct_took <= 1 + SLACK, f"Database.connect took {direct_took:.2f}s"

        assert await until(lambda: serves(pinging), RECOVERY_BOUND), "no recovery after SIGCONT"
        assert await until(lambda: serves(fresh), RECOVERY_BOUND), "no recovery after SIGCONT"
        recovered = time.monotonic() - resumed
        for pool in (pinging, fresh):
            await assert_pool_whole(pool)
        figure(
            f"{backend.name} SIGSTOP: get() with ping due {ping_took:.2f}s, get() needing a "
            f"connect {connect_took:.2f}s, Database.connect {direct_took:.2f}s (all limits 1 s); "
            f"serving {recovered:.2f}s after SIGCONT"
        )
    finally:
        backend.server.resume()
        await pinging.terminate()
        await fresh.terminate()


@bounded(60)
async def test_stalled_server_statement_timeout(
    backend: Backend, figure: Callable[[str], None]
) -> None:
    url = backend.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(3).acquire_timeout(5).build() as pool:
        async with pool.get() as conn:
            await conn.select(Ledger).count()
            backend.server.pause()
            try:
                took, err = await timed(
                    conn.select(Ledger).timeout(0.5).collect(), 0.5, ".timeout(0.5)"
                )
            finally:
                backend.server.resume()
        # the connection may be given up (its statement's fate is unknown), never hung
        assert isinstance(err, (StatementTimeoutError, ConnectionLostError)), repr(err)
        if isinstance(err, StatementTimeoutError):
            assert err.timeout == 0.5
        assert took <= STATEMENT_BOUND + SLACK, (
            f".timeout(0.5) on a stalled server took {took:.2f}s"
        )
        assert await until(lambda: serves(pool), RECOVERY_BOUND)
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)
        figure(f"{backend.name} SIGSTOP: .timeout(0.5) ended in {took:.2f}s ({type(err).__name__})")


@bounded(60)
async def test_stall_under_load_recovers(backend: Backend, figure: Callable[[str], None]) -> None:
    """20 tasks reading through a pool with acquire_timeout(1) and statement_timeout(1)
    while the server is stopped: every one ends (PoolTimeoutError, StatementTimeoutError)
    within its bounds, and all serve after SIGCONT."""
    url = backend.url()
    await reset_table(url)
    builder = Database.create_pool(url).max_size(5).acquire_timeout(1).statement_timeout(1)
    async with await builder.build() as pool:
        await asyncio.gather(*(pool.select(Ledger).count() for _ in range(5)))
        backend.server.pause()
        try:
            results = await asyncio.gather(
                *(timed(pool.select(Ledger).count(), 2, "a read") for _ in range(20))
            )
        finally:
            backend.server.resume()
        worst = max(t for t, _ in results)
        errors = {type(e).__name__ for _, e in results if e is not None}
        assert errors <= {"PoolTimeoutError", "StatementTimeoutError"}, errors
        # a borrower served just before its acquire deadline then runs a statement of 1 s
        assert worst <= 2 + SLACK, f"a borrower took {worst:.2f}s (1 s to get, 1 s to run)"
        assert await until(lambda: serves(pool), RECOVERY_BOUND)
        await asyncio.gather(*(pool.select(Ledger).count() for _ in range(20)))
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)
        figure(f"{backend.name} SIGSTOP under load: 20 borrowers all ended within {worst:.2f}s")


@bounded(60)
async def test_short_stall_is_invisible(backend: Backend) -> None:
    """A stall shorter than every timeout: the reads in flight complete after SIGCONT."""
    url = backend.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(4).acquire_timeout(10).build() as pool:
        await asyncio.gather(*(pool.select(Ledger).count() for _ in range(4)))
        backend.server.pause()
        try:
            work = asyncio.gather(*(pool.select(Ledger).count() for _ in range(8)))
            await asyncio.sleep(1.0)
            assert not work.done(), "the stopped server answered"
        finally:
            backend.server.resume()
        assert await work == [0] * 8
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)

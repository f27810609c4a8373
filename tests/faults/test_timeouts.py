"""Statement timeouts on a healthy server: typed, cancelled on the server, connection kept.

Needs from issue 15: ``exec_*(..., timeout=)``, ``.timeout()`` on builders, the pool's
``.statement_timeout(s)``, ``Database.connect(url, statement_timeout=s)``, and the
mapping of the server's own limits (PostgreSQL 57014, MariaDB 1969/3024) to
StatementTimeoutError with ``timeout=None``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ormer import Database, StatementTimeoutError

from .conftest import Backend, bounded
from .workload import SLACK, Ledger, assert_pool_whole, assert_server_sessions, reset_table, until

pytestmark = pytest.mark.faults

SQLITE_SLOW = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c)"
    " SELECT count(*) FROM (SELECT x FROM c LIMIT 10000000000)"
)


@bounded(60)
async def test_client_timeout_cancels_on_server(
    backend: Backend, figure: Callable[[str], None]
) -> None:
    url = backend.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(2).build() as pool:
        async with pool.get() as conn:
            start = time.monotonic()
            with pytest.raises(StatementTimeoutError) as caught:
                await conn.exec_rows(backend.slow_sql, timeout=0.5)
            took = time.monotonic() - start
            assert caught.value.timeout == 0.5
            assert took <= 0.5 + SLACK, f"timeout=0.5 took {took:.2f}s"
            # cancelled on the server, not left running there
            assert await until(lambda: _idle(backend), 3), "the statement still runs"
            assert (await conn.exec_rows("SELECT 1"))[0][0] == 1  # the connection is usable
        await assert_pool_whole(pool)
        await assert_server_sessions(backend, pool)
        figure(
            f"{backend.name}: exec_rows(timeout=0.5) raised in {took:.2f}s, "
            "statement gone from the server, connection kept"
        )


async def _idle(backend: Backend) -> bool:
    return await backend.running() == 0


@bounded(60)
async def test_builder_and_pool_default_timeouts(backend: Backend) -> None:
    url = backend.url()
    await reset_table(url)
    async with await Database.create_pool(url).max_size(2).statement_timeout(0.5).build() as pool:
        with pytest.raises(StatementTimeoutError) as caught:
            await pool.exec_rows(backend.slow_sql)
        assert caught.value.timeout == 0.5
        assert await pool.select(Ledger).timeout(2).count() == 0
        await assert_pool_whole(pool)
    async with await Database.connect(url, statement_timeout=0.5) as db:
        with pytest.raises(StatementTimeoutError):
            await db.exec_rows(backend.slow_sql)
        assert await db.select(Ledger).count() == 0


@bounded(60)
async def test_server_statement_limit_is_typed(backend: Backend) -> None:
    """The server's own limit (statement_timeout / max_statement_time): the same class,
    ``timeout`` None, the connection usable."""
    limit = {
        "postgres": "SET statement_timeout = 300",
        "mariadb": "SET SESSION max_statement_time = 0.3",
    }[backend.name]
    async with await Database.connect(backend.url()) as db:
        await db.exec_non_query(limit)
        with pytest.raises(StatementTimeoutError) as caught:
            await db.exec_rows(backend.slow_sql)
        assert caught.value.timeout is None
        assert caught.value.sqlstate in ("57014", "1969", "3024")
        assert (await db.exec_rows("SELECT 1"))[0][0] == 1


@pytest.mark.sqlite
@bounded(60)
async def test_sqlite_timeout_interrupts(tmp_path: Path, figure: Callable[[str], None]) -> None:
    url = f"sqlite:///{tmp_path / 't.db'}"
    await reset_table(url)
    async with await Database.create_pool(url).max_size(2).build() as pool:
        async with pool.get() as conn:
            start = time.monotonic()
            with pytest.raises(StatementTimeoutError) as caught:
                await conn.exec_rows(SQLITE_SLOW, timeout=0.3)
            took = time.monotonic() - start
            assert caught.value.timeout == 0.3
            assert took <= 0.3 + SLACK
            assert await conn.select(Ledger).count() == 0  # usable
        await assert_pool_whole(pool)
        figure(f"sqlite: exec_rows(timeout=0.3) interrupted in {took:.2f}s, connection kept")

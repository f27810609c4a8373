"""PostgreSQL and statement timeouts: asyncpg's command_timeout, the cancel request,
what a timeout does to a transaction, and the URL option kept away from the server."""

from __future__ import annotations

import time

import pytest

from ormer import Database, Model, QueryError, StatementTimeoutError, primary
from ormer.testing.base import fresh_tables

pytestmark = pytest.mark.postgres


class PgTimed(Model, table="pg_timeout_item"):
    id: int = primary(auto=True)
    n: int


def with_query(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


async def test_command_timeout_is_a_statement_timeout_and_keeps_the_connection(
    pg_url: str,
) -> None:
    async with await Database.connect(pg_url, command_timeout=0.3) as db:
        [(pid,)] = await db.exec_rows("SELECT pg_backend_pid()")
        start = time.monotonic()
        with pytest.raises(StatementTimeoutError) as info:
            await db.exec_rows("SELECT pg_sleep(5)")
        assert time.monotonic() - start < 3.3
        assert info.value.timeout == 0.3
        assert isinstance(info.value.__cause__, TimeoutError)
        assert not db.is_closed
        assert await db.exec_rows("SELECT pg_backend_pid()") == [(pid,)]  # the same session


async def test_cancel_error_is_57014_and_the_session_survives(pg_url: str) -> None:
    async with await Database.connect(pg_url) as db:
        [(pid,)] = await db.exec_rows("SELECT pg_backend_pid()")
        with pytest.raises(StatementTimeoutError) as info:
            await db.exec_rows("SELECT pg_sleep(5)", timeout=0.2)
        assert info.value.sqlstate == "57014"  # query_canceled: the server stopped it
        assert await db.exec_rows("SELECT pg_backend_pid()") == [(pid,)]


async def test_a_timeout_aborts_the_transaction(pg_url: str) -> None:
    """PostgreSQL aborts the whole transaction: later statements in it fail until
    the rollback; the rollback undoes its earlier writes; then the connection works."""
    async with await Database.connect(pg_url) as db:
        await fresh_tables(db, PgTimed)
        tx = await db.begin()
        await db.insert(PgTimed(n=1))
        with pytest.raises(StatementTimeoutError):
            await db.exec_rows("SELECT pg_sleep(5)", timeout=0.2)
        with pytest.raises(QueryError) as info:  # 25P02: in failed transaction
            await db.select(PgTimed).count()
        assert info.value.sqlstate == "25P02"
        await tx.rollback()
        assert await db.select(PgTimed).count() == 0
        await db.insert(PgTimed(n=2))
        assert [t.n for t in await db.select(PgTimed).collect()] == [2]


async def test_statement_timeout_in_the_url_is_not_sent_to_the_server(pg_url: str) -> None:
    """``?statement_timeout=`` is ormer's (seconds), not PostgreSQL's setting (ms)."""
    url = with_query(pg_url, statement_timeout="0.5")
    async with await Database.connect(url) as db:
        assert db.statement_timeout == 0.5
        assert await db.exec_rows("SHOW statement_timeout") == [("0",)]
        [(path,)] = await db.exec_rows("SHOW search_path")  # the other options are kept
        assert "ormer_test_" in path

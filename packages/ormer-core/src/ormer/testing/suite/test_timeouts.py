# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods and operators on them are unknown to mypy here; see ormer.col().
"""Compliance suite: per-statement timeouts (docs/queries.md, "Statement timeouts").

A statement over its limit is cancelled ON THE SERVER and raises
StatementTimeoutError carrying the limit; the connection stays usable (a pool
keeps it) when the driver can cancel. A backend's test module may override the
``running_statements`` fixture (see there) so that the tests also check, from
another connection, that the server no longer runs the statement.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import pytest_asyncio

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    Model,
    StatementTimeoutError,
    aliased,
    func,
    primary,
)
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestStatementTimeouts", "running_statements"]

TABLE = "suite_timeout_item"
#: rows in the table; the slow select joins it with itself four times (100**4 = 1e8 rows)
ROWS = 100
#: generous for a loaded 2-core CI: the statement must end within timeout + SLACK
SLACK = 3.0

#: ``await running(url, marker)``: how many server sessions other than the caller's
#: run a statement whose text contains ``marker``
Running = Callable[[str, str], Awaitable[int]]


class TItem(Model, table="suite_timeout_item"):
    id: int = primary(auto=True)
    n: int


@pytest.fixture
def running_statements() -> Running | None:
    """``await running(url, marker)``: how many OTHER sessions on the server run a
    statement containing ``marker`` (None: an embedded database, where a statement
    that returned is over).

    A server backend's test module overrides it after ``from ormer.testing.suite
    import *`` (PostgreSQL: ``pg_stat_activity``; MariaDB: ``PROCESSLIST``).
    """
    return None


def slow_select(db: Any) -> Any:
    """A select of COUNT(*) over the table joined with itself four times, with a
    condition no row meets and no index can answer: 1e8 rows read, seconds anywhere
    (``exists()`` and ``first()`` included)."""
    a, b, c = aliased(TItem), aliased(TItem), aliased(TItem)
    return (
        db.select(func.count())
        .select_from(TItem)
        .join(a, a.n >= 0)  # type: ignore[attr-defined]
        .join(b, b.n >= 0)  # type: ignore[attr-defined]
        .join(c, c.n >= 0)  # type: ignore[attr-defined]
        .filter(TItem.n + a.n + b.n + c.n < 0)  # type: ignore[attr-defined]
    )


def medium_select(db: Any) -> Any:
    """Three-way: 1e6 rows, well under a second, far over a millisecond."""
    a, b = aliased(TItem), aliased(TItem)
    return (
        db.select(func.count())
        .select_from(TItem)
        .join(a, a.n >= 0)  # type: ignore[attr-defined]
        .join(b, b.n >= 0)  # type: ignore[attr-defined]
    )


def with_query(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


async def seed(db: Connection) -> None:
    await fresh_tables(db, TItem)
    await db.insert([TItem(n=i) for i in range(ROWS)])


async def expect_timeout(
    run: Awaitable[Any], timeout: float, *, cancelled_on_server: bool = True
) -> StatementTimeoutError:
    """Await ``run``: it must raise StatementTimeoutError carrying ``timeout``, in time."""
    start = time.monotonic()
    with pytest.raises(StatementTimeoutError) as info:
        await run
    elapsed = time.monotonic() - start
    assert elapsed < timeout + SLACK, f"the statement took {elapsed:.2f}s to end"
    assert elapsed >= timeout * 0.9
    exc = info.value
    assert exc.timeout == timeout
    if cancelled_on_server:  # chained to the server's (or library's) "cancelled" error
        assert exc.__cause__ is not None
    return exc


async def assert_not_running(running: Running | None, url: str, marker: str) -> None:
    """The server stops the statement: poll (up to 3 s) until no session runs it."""
    if running is None:
        return
    deadline = time.monotonic() + 3
    while (n := await running(url, marker)) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert n == 0, f"the server still runs {marker!r}"


#: the tests that also hold for a driver without SupportsCancel
_WITHOUT_CANCEL = frozenset(
    {
        "test_fast_statements_with_a_timeout_are_unaffected",
        "test_bad_timeouts_are_configuration_errors",
        "test_without_server_cancel_the_connection_is_discarded",
    }
)
_CAN_CANCEL: dict[str, bool] = {}


class TestStatementTimeouts(SuiteBase):
    """A statement over its timeout is cancelled on the server; the connection lives on.

    The tests of a server-side cancel skip on a driver without ``SupportsCancel``
    (its timed-out connections are closed instead: the last test checks that).
    """

    @pytest_asyncio.fixture(autouse=True)
    async def _needs_cancel(self, request: pytest.FixtureRequest, ormer_url: str) -> None:
        if request.function.__name__ in _WITHOUT_CANCEL:
            return
        if ormer_url not in _CAN_CANCEL:
            async with await Database.connect(ormer_url) as conn:
                _CAN_CANCEL[ormer_url] = conn._caps.cancel is not None
        if not _CAN_CANCEL[ormer_url]:
            pytest.skip("the driver cannot cancel a statement on the server (no SupportsCancel)")

    async def test_builder_timeout_cancels_on_the_server(
        self, db: Connection, ormer_url: str, running_statements: Running | None
    ) -> None:
        await seed(db)
        exc = await expect_timeout(slow_select(db).timeout(0.2).collect(), 0.2)
        assert "0.2s" in str(exc)
        await assert_not_running(running_statements, ormer_url, TABLE)
        # the same connection runs the next statement and returns real rows
        assert not db.is_closed
        assert await db.select(TItem).filter(TItem.n < 3).count() == 3
        rows = await db.select(TItem.n).order_by(TItem.n).limit(2).collect()
        assert rows == [(0,), (1,)]

    async def test_every_terminal_method_takes_the_limit(self, db: Connection) -> None:
        await seed(db)
        query = slow_select(db).timeout(0.2)
        await expect_timeout(query.first(), 0.2)
        await expect_timeout(query.count(), 0.2)
        await expect_timeout(query.exists(), 0.2)

        async def stream() -> None:
            async for _ in query.stream():
                pass

        await expect_timeout(stream(), 0.2)
        assert await db.select(TItem).count() == ROWS

    async def test_raw_sql_timeout(
        self,
        db: Connection,
        ormer_url: str,
        slow_query_sql: str,
        running_statements: Running | None,
    ) -> None:
        marker = "ormer_raw_timeout_probe"
        sql = f"{slow_query_sql} /* {marker} */"
        await expect_timeout(db.exec_rows(sql, timeout=0.3), 0.3)
        await assert_not_running(running_statements, ormer_url, marker)
        await expect_timeout(db.exec_non_query(sql, timeout=0.2), 0.2)
        assert await db.exec_rows("SELECT 42") == [(42,)]

    async def test_fast_statements_with_a_timeout_are_unaffected(self, db: Connection) -> None:
        await seed(db)
        five = db.select(TItem).filter(TItem.n < 5).timeout(5)
        assert len(await five.collect()) == 5
        assert await five.count() == 5
        assert await five.exists()
        first = await five.order_by(TItem.n).first()
        assert first is not None and first.n == 0
        assert [t.n async for t in five.order_by(TItem.n).stream(batch=2)] == [0, 1, 2, 3, 4]
        new = TItem(n=1000)
        assert await db.insert(new).timeout(5) == 1
        assert new.id is not None
        assert await db.insert([TItem(n=1001), TItem(n=1002)]).timeout(5) == 2
        assert await db.update(TItem).filter(TItem.n >= 1000).set(TItem.n, -7).timeout(5) == 3
        new.n = 2000
        assert await db.update(new).timeout(5) == 1
        assert await db.delete(new).timeout(5) == 1
        assert await db.delete(TItem).filter(TItem.n == -7).timeout(5).execute() == 2
        got = await db.exec_rows("SELECT 1", timeout=5)
        assert got == [(1,)]
        assert await db.select(TItem).count() == ROWS

    async def test_connect_default_and_builder_override(self, ormer_url: str) -> None:
        async with await Database.connect(ormer_url, statement_timeout=0.2) as db:
            assert db.statement_timeout == 0.2
            await seed(db)  # fast statements under the default
            await expect_timeout(slow_select(db).collect(), 0.2)
            await expect_timeout(slow_select(db).timeout(0.4).collect(), 0.4)
            # no limit for this one statement: it runs to the end
            db.statement_timeout = 0.001
            with pytest.raises(StatementTimeoutError):
                await medium_select(db).collect()
            assert await medium_select(db).timeout(None).collect() == [(ROWS**3,)]
            db.statement_timeout = None
            assert await medium_select(db).collect() == [(ROWS**3,)]

    async def test_url_option(self, ormer_url: str, slow_query_sql: str) -> None:
        async with await Database.connect(with_query(ormer_url, statement_timeout="0.25")) as db:
            assert db.statement_timeout == 0.25
            await expect_timeout(db.exec_rows(slow_query_sql), 0.25)
            assert await db.exec_rows("SELECT 7") == [(7,)]

    async def test_pool_default_keeps_the_connection(
        self, ormer_url: str, slow_query_sql: str
    ) -> None:
        pool = await Database.create_pool(ormer_url).max_size(1).statement_timeout(0.2).build()
        try:
            async with pool.get() as conn:
                assert conn.statement_timeout == 0.2
                conn.statement_timeout = 1.0  # this borrower only
            async with pool.get() as conn:
                assert conn.statement_timeout == 0.2
            await expect_timeout(pool.exec_rows(slow_query_sql), 0.2)
            await expect_timeout(pool.exec_rows(slow_query_sql, timeout=0.3), 0.3)
            assert await pool.exec_rows("SELECT 3") == [(3,)]
            stats = pool.stats()
            assert stats.closed == 0 and stats.created == 1 and stats.size == 1
        finally:
            await pool.close(timeout=5)

    async def test_url_option_on_a_pool(self, ormer_url: str) -> None:
        pool = await Database.create_pool(with_query(ormer_url, statement_timeout="0.5"))
        try:
            assert pool.statement_timeout == 0.5
            async with pool.get() as conn:
                assert conn.statement_timeout == 0.5
        finally:
            await pool.close(timeout=5)
        builder = Database.create_pool(with_query(ormer_url, statement_timeout="0.5"))
        pool = await builder.statement_timeout(None).build()
        try:
            assert pool.statement_timeout is None
        finally:
            await pool.close(timeout=5)

    async def test_bad_timeouts_are_configuration_errors(
        self, db: Connection, ormer_url: str
    ) -> None:
        for bad in (-1, 0, "1", True, float("nan")):
            with pytest.raises(ConfigurationError):
                db.select(TItem).timeout(bad)  # type: ignore[arg-type]
            with pytest.raises(ConfigurationError):
                db.statement_timeout = bad  # type: ignore[assignment]
        with pytest.raises(ConfigurationError):
            await db.exec_rows("SELECT 1", timeout=-1)
        with pytest.raises(ConfigurationError):
            await Database.create_pool(ormer_url).statement_timeout(-1).build()
        with pytest.raises(ConfigurationError):
            await Database.connect(ormer_url, statement_timeout="soon")
        with pytest.raises(ConfigurationError):
            db.update(TItem).all().set(TItem.n, 1).timeout(-0.5)

    async def test_timeout_inside_a_transaction(self, db: Connection) -> None:
        """A timed-out statement inside a transaction: after a rollback the connection
        works and the transaction's writes are gone (PostgreSQL aborts the whole
        transaction; MariaDB and SQLite roll back only the statement)."""
        await seed(db)
        with pytest.raises(StatementTimeoutError):  # noqa: PT012
            async with db.transaction():
                await db.insert(TItem(n=-1))
                await slow_select(db).timeout(0.2).collect()
        assert not db.in_transaction
        assert await db.select(TItem).filter(TItem.n == -1).count() == 0
        assert await db.select(TItem).count() == ROWS

    async def test_without_server_cancel_the_connection_is_discarded(
        self, ormer_url: str, slow_query_sql: str
    ) -> None:
        """A driver without SupportsCancel: the wait is cut off all the same, in time,
        and the connection, whose protocol state is unknown, is retired."""
        pool = await Database.create_pool(ormer_url).max_size(1).build()
        try:
            async with pool.get() as conn:
                conn._caps = dataclasses.replace(conn._caps, cancel=None)
                await expect_timeout(
                    conn.exec_rows(slow_query_sql, timeout=0.2), 0.2, cancelled_on_server=False
                )
                assert conn.is_closed
            assert pool.stats().closed == 1
            assert await pool.exec_rows("SELECT 5") == [(5,)]
        finally:
            await pool.close(timeout=5)

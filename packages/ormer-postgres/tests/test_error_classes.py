"""PostgreSQL errors classified as data: timeouts, and every code meaning "the connection is gone".

Each server-side case is provoked on the real server with the test's own sessions
(``SET statement_timeout``, ``pg_terminate_backend`` of its own backend); the codes
that cannot be provoked that way are fed to the table as asyncpg's real exception
classes. After a lost connection the same pool serves the next query.
"""

from __future__ import annotations

import secrets

import asyncpg
import pytest

from ormer import (
    ConnectionLostError,
    Database,
    DatabaseError,
    LockNotAvailableError,
    QueryError,
    StatementTimeoutError,
    TransientError,
)
from ormer_postgres.driver import translate_error

pytestmark = pytest.mark.postgres

_exc = asyncpg.exceptions


@pytest.mark.parametrize(
    ("exc", "sqlstate"),
    [
        (_exc.AdminShutdownError("terminating connection due to administrator command"), "57P01"),
        (_exc.CrashShutdownError("terminating connection due to crash"), "57P02"),
        (_exc.CannotConnectNowError("the database system is shutting down"), "57P03"),
        (_exc.IdleSessionTimeoutError("terminating connection due to idle-session"), "57P05"),
        (
            _exc.IdleInTransactionSessionTimeoutError("terminating connection due to idle-in-tx"),
            "25P03",
        ),
        (_exc.ConnectionDoesNotExistError("connection was closed in the middle"), "08003"),
        (_exc.ConnectionFailureError("connection failure"), "08006"),
        (_exc.ProtocolViolationError("protocol violation"), "08P01"),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_server_codes_meaning_gone_are_connection_lost(exc: Exception, sqlstate: str) -> None:
    assert exc.sqlstate == sqlstate  # type: ignore[attr-defined]
    err = translate_error(exc)
    assert type(err) is ConnectionLostError


@pytest.mark.parametrize(
    "exc",
    [
        _exc.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
        _exc.InterfaceError("connection is closed"),
        ConnectionResetError("Connection reset by peer"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_client_side_lost_connection_is_connection_lost(exc: Exception) -> None:
    assert type(translate_error(exc)) is ConnectionLostError


def test_query_canceled_is_statement_timeout_without_figure() -> None:
    err = translate_error(_exc.QueryCanceledError("canceling statement due to statement timeout"))
    assert type(err) is StatementTimeoutError
    assert err.sqlstate == "57014"
    assert err.timeout is None


def test_other_interface_errors_keep_the_connection() -> None:
    err = translate_error(_exc.InterfaceError("cannot perform operation: another operation"))
    assert type(err) is DatabaseError


async def test_server_statement_timeout_raises_and_connection_stays_usable(pg_url: str) -> None:
    async with await Database.connect(pg_url) as db:
        await db.exec_non_query("SET statement_timeout = '100ms'")
        with pytest.raises(StatementTimeoutError) as info:
            await db.exec_rows("SELECT pg_sleep(2)")
        assert info.value.timeout is None
        assert info.value.sqlstate == "57014"
        assert "statement timeout" in str(info.value)
        assert not db.is_closed
        rows = await db.exec_rows("SELECT 41 + 1")
        assert rows[0][0] == 42


async def test_statement_timeout_in_transaction_is_typed_and_rollback_works(pg_url: str) -> None:
    async with await Database.connect(pg_url) as db:
        await db.exec_non_query("CREATE TEMP TABLE st_tx (n int)")

        async def slow_in_tx() -> None:
            async with db.transaction():
                await db.exec_non_query("INSERT INTO st_tx VALUES (1)")
                await db.exec_non_query("SET LOCAL statement_timeout = '100ms'")
                await db.exec_rows("SELECT pg_sleep(2)")

        with pytest.raises(StatementTimeoutError):
            await slow_in_tx()
        assert (await db.exec_rows("SELECT count(*) FROM st_tx"))[0][0] == 0


async def test_terminated_backend_is_connection_lost_and_pool_serves_next(pg_url: str) -> None:
    pool = await Database.create_pool(pg_url).min_size(1).max_size(1).health_check(None).build()
    try:
        async with pool.get() as conn:
            pid = (await conn.exec_rows("SELECT pg_backend_pid()"))[0][0]
            with pytest.raises(ConnectionLostError) as info:
                await conn.exec_rows("SELECT pg_terminate_backend(pg_backend_pid())")
            assert conn.is_closed
            assert "administrator command" in str(info.value)
        # the dead connection was retired: an innocent next borrower gets a fresh one
        rows = await pool.exec_rows("SELECT pg_backend_pid()")
        assert rows[0][0] != pid
        assert pool.stats().size == 1
    finally:
        await pool.close()


async def test_backend_terminated_between_statements_is_always_connection_lost(
    pg_url: str,
) -> None:
    """The server's 57P01 arrives while the connection is idle; the next statement meets it
    as ConnectionDoesNotExistError, InterfaceError or asyncpg's InternalClientError "cannot
    switch to state ..." (item 3 of issue 15) depending on when the socket is read: each run
    must raise ConnectionLostError, whichever it is, and the next borrower must succeed."""
    causes: set[str] = set()
    pool = await Database.create_pool(pg_url).min_size(1).max_size(1).health_check(None).build()
    try:
        async with await Database.connect(pg_url) as killer:
            for _ in range(8):
                async with pool.get() as conn:
                    pid = (await conn.exec_rows("SELECT pg_backend_pid()"))[0][0]
                    await killer.exec_rows("SELECT pg_terminate_backend($1)", [pid])
                    with pytest.raises(ConnectionLostError) as info:
                        await conn.exec_rows("SELECT 1")
                    causes.add(type(info.value.__cause__).__name__)
                    assert conn.is_closed
                assert (await pool.exec_rows("SELECT 7"))[0][0] == 7
        assert causes <= {"ConnectionDoesNotExistError", "InterfaceError", "InternalClientError"}
        assert pool.stats().size == 1
    finally:
        await pool.close()


async def test_query_errors_do_not_retire_the_connection(pg_url: str) -> None:
    async with await Database.connect(pg_url) as db:
        with pytest.raises(QueryError):
            await db.exec_rows("SELECT no_such_column_here")
        assert not db.is_closed
        assert (await db.exec_rows("SELECT 1"))[0][0] == 1


async def test_command_timeout_is_statement_timeout_and_connection_usable(pg_url: str) -> None:
    """asyncpg's ``command_timeout`` (issue 15 item 2): was ConnectionLostError('TimeoutError')
    and a healthy connection thrown away."""
    slow = f"SELECT pg_sleep(2) AS cto_{secrets.token_hex(4)}"  # ours alone on a shared server
    async with await Database.connect(pg_url, command_timeout=0.2) as db:
        with pytest.raises(StatementTimeoutError) as info:
            await db.exec_rows(slow)
        assert isinstance(info.value.__cause__, TimeoutError)
        assert not db.is_closed
        assert (await db.exec_rows("SELECT 5"))[0][0] == 5
        # the server cancelled it: no statement of ours is still running there
        rows = await db.exec_rows(
            "SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'", [slow]
        )
        assert rows[0][0] == 0


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (_exc.LockNotAvailableError("could not obtain lock on row"), LockNotAvailableError),
        (_exc.SerializationError("could not serialize access"), TransientError),
        (_exc.DeadlockDetectedError("deadlock detected"), TransientError),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else type(v).__name__,
)
def test_lock_codes_are_transient(exc: Exception, cls: type[Exception]) -> None:
    err = translate_error(exc)
    assert type(err) is cls
    assert isinstance(err, TransientError)
    assert err.sqlstate == exc.sqlstate  # type: ignore[attr-defined]

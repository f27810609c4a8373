"""MySQL/MariaDB errors as data: timeouts, and every code meaning "the connection is gone".

Provoked on the real server with the test's own sessions where possible (session
``max_statement_time``, ``KILL CONNECTION`` of its own thread id, a packet bigger than
``max_allowed_packet``); the other codes are fed to the table as the drivers' real
exception classes. After a lost connection the same pool serves the next query.
"""

from __future__ import annotations

import pymysql
import pytest

from ormer import (
    ConnectionLostError,
    Database,
    LockNotAvailableError,
    QueryError,
    StatementTimeoutError,
    TransientError,
)
from ormer_mysql._base import ERRORS, error_number

pytestmark = pytest.mark.mysql

#: the biggest packet the 1153 test sends (max_allowed_packet + 1)
BIG_PACKET_LIMIT = 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("number", "cls"),
    [
        (1153, pymysql.err.OperationalError),  # packet bigger than max_allowed_packet
        (2006, pymysql.err.OperationalError),  # server has gone away
        (2013, pymysql.err.OperationalError),  # lost connection during query
        (2055, pymysql.err.OperationalError),  # lost connection at ..., system error
        (4031, pymysql.err.OperationalError),  # disconnected by the server (idle timeout)
        (1927, pymysql.err.OperationalError),  # MariaDB: connection was killed
        (1053, pymysql.err.OperationalError),  # server shutdown in progress
    ],
)
def test_codes_meaning_gone_are_connection_lost(number: int, cls: type[Exception]) -> None:
    err = ERRORS.translate(cls(number, "gone"))
    assert type(err) is ConnectionLostError


@pytest.mark.parametrize("number", [1969, 3024])
def test_server_time_limits_are_statement_timeouts(number: int) -> None:
    err = ERRORS.translate(pymysql.err.OperationalError(number, "max_statement_time exceeded"))
    assert type(err) is StatementTimeoutError
    assert err.sqlstate == str(number)
    assert err.timeout is None


@pytest.mark.parametrize("module", ["pymysql.err", "asyncmy.errors"])
def test_packet_sequence_out_of_step_is_connection_lost(module: str) -> None:
    errors_module = pytest.importorskip(module)
    exc = errors_module.InternalError("Packet sequence number wrong - got 2 expected 3")
    assert type(ERRORS.translate(exc)) is ConnectionLostError


def test_asyncmy_classes_translate_the_same() -> None:
    asyncmy_errors = pytest.importorskip("asyncmy.errors")
    lost = ERRORS.translate(asyncmy_errors.OperationalError(1153, "Got a packet bigger"))
    assert type(lost) is ConnectionLostError
    timeout = ERRORS.translate(asyncmy_errors.OperationalError(1969, "Query execution was"))
    assert type(timeout) is StatementTimeoutError


async def test_max_statement_time_raises_and_connection_stays_usable(mysql_url: str) -> None:
    async with await Database.connect(mysql_url) as db:
        version = (await db.exec_rows("SELECT VERSION()"))[0][0]
        if "mariadb" not in str(version).lower():
            pytest.skip(f"max_statement_time is MariaDB's; server is {version}")
        await db.exec_non_query("SET SESSION max_statement_time = 0.1")
        with pytest.raises(StatementTimeoutError) as info:
            await db.exec_rows("SELECT SLEEP(2) FROM (SELECT 1 UNION SELECT 2) AS t")
        assert info.value.sqlstate == "1969"
        assert info.value.timeout is None
        assert not db.is_closed
        await db.exec_non_query("SET SESSION max_statement_time = 0")
        assert (await db.exec_rows("SELECT 41 + 1"))[0][0] == 42


async def test_killed_connection_is_lost_and_pool_serves_next(mysql_url: str) -> None:
    pool = await Database.create_pool(mysql_url).min_size(1).max_size(1).health_check(None).build()
    try:
        async with pool.get() as conn:
            thread = (await conn.exec_rows("SELECT CONNECTION_ID()"))[0][0]
            with pytest.raises(ConnectionLostError):
                await conn.exec_non_query(f"KILL CONNECTION {int(thread)}")
            assert conn.is_closed
        rows = await pool.exec_rows("SELECT CONNECTION_ID()")
        assert rows[0][0] != thread
        assert pool.stats().size == 1
    finally:
        await pool.close()


async def test_connection_killed_by_another_session_is_lost(mysql_url: str) -> None:
    pool = await Database.create_pool(mysql_url).min_size(1).max_size(1).health_check(None).build()
    try:
        async with await Database.connect(mysql_url) as killer:
            async with pool.get() as conn:
                thread = (await conn.exec_rows("SELECT CONNECTION_ID()"))[0][0]
                await killer.exec_non_query(f"KILL CONNECTION {int(thread)}")
                with pytest.raises(ConnectionLostError):
                    await conn.exec_rows("SELECT 1")
                assert conn.is_closed
        assert (await pool.exec_rows("SELECT 7"))[0][0] == 7
    finally:
        await pool.close()


async def test_packet_too_large_is_lost_and_next_borrower_succeeds(mysql_url: str) -> None:
    pool = await Database.create_pool(mysql_url).min_size(1).max_size(1).health_check(None).build()
    try:
        limit = int((await pool.exec_rows("SELECT @@max_allowed_packet"))[0][0])
        if limit > BIG_PACKET_LIMIT:
            pytest.skip(f"max_allowed_packet is {limit} bytes: too big to exceed in a test")
        async with pool.get() as conn:
            with pytest.raises(ConnectionLostError) as info:
                await conn.exec_rows("SELECT LENGTH(%s)", [b"x" * (limit + 1)])
            assert conn.is_closed
            # 1153 itself, or the protocol out of step when the statement spans packets
            cause = info.value.__cause__
            assert error_number(cause) in {1153, 2006, 2013} or "sequence" in str(cause), cause
        # the innocent next borrower gets a fresh connection
        assert (await pool.exec_rows("SELECT 7"))[0][0] == 7
        assert pool.stats().size == 1
    finally:
        await pool.close()


async def test_query_errors_do_not_retire_the_connection(mysql_url: str) -> None:
    async with await Database.connect(mysql_url) as db:
        with pytest.raises(QueryError):
            await db.exec_rows("SELECT no_such_column_here")
        assert not db.is_closed
        assert (await db.exec_rows("SELECT 1"))[0][0] == 1


@pytest.mark.parametrize(
    ("number", "cls"),
    [
        (3572, LockNotAvailableError),  # ER_LOCK_NOWAIT (MySQL 8 NOWAIT)
        (1205, LockNotAvailableError),  # lock wait timeout (MariaDB's NOWAIT too)
        (1213, TransientError),  # deadlock
        (1020, TransientError),  # record changed since last read
    ],
)
def test_lock_codes_are_transient(number: int, cls: type[Exception]) -> None:
    err = ERRORS.translate(pymysql.err.OperationalError(number, "lock"))
    assert type(err) is cls
    assert isinstance(err, TransientError)
    assert err.sqlstate == str(number)

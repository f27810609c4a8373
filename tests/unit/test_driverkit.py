"""ormer.driverkit (options, bounded connect, error rules) and ormer.driver's capabilities."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from ormer import errors
from ormer.dialect import Dialect
from ormer.driver import DriverConnection, Row, capabilities, connection_lost
from ormer.driverkit import (
    ErrorRule,
    ErrorRules,
    Option,
    OptionSet,
    as_bool,
    as_seconds,
    codes,
    connect_within,
    dump_bytes,
    json_text,
    typed,
)

OPTIONS = OptionSet(
    "TestDB",
    [Option("timeout", as_seconds, 10.0, aliases=("connect_timeout",)), Option("wal", as_bool)],
    passthrough=("ssl",),
)


def test_options_parse_merge_and_default() -> None:
    parsed = OPTIONS.parse({"timeout": "2.5", "wal": "off"}, {"ssl": object, "wal": True})
    assert parsed.values == {"timeout": 2.5, "wal": True}  # keywords win over the URL
    assert parsed.library == {"ssl": object}
    assert OPTIONS.parse().values == {"timeout": 10.0}  # no default: absent
    assert OPTIONS.parse({"connect_timeout": "3"}).values["timeout"] == 3.0


def test_unknown_option_names_the_valid_ones() -> None:
    with pytest.raises(errors.ConfigurationError) as info:
        OPTIONS.parse({}, {"timout": 1})
    assert "'timout'" in str(info.value)
    assert "valid options: connect_timeout, ssl, timeout, wal" in str(info.value)


@pytest.mark.parametrize(("name", "value"), [("timeout", "-1"), ("timeout", "soon"), ("wal", "2")])
def test_bad_option_value_is_a_configuration_error(name: str, value: str) -> None:
    with pytest.raises(errors.ConfigurationError, match=f"TestDB connect option {name}="):
        OPTIONS.parse({name: value})


def test_url_passthrough_keeps_unknown_url_parameters() -> None:
    kept = OptionSet("X", [Option("a", int)], url_passthrough=True)
    parsed = kept.parse({"a": "1", "sslmode": "disable"})
    assert (parsed.values, parsed.query) == ({"a": 1}, {"sslmode": "disable"})
    with pytest.raises(errors.ConfigurationError):
        kept.parse({}, {"sslmode": "disable"})  # keywords are still checked


async def test_connect_within_bounds_the_connect() -> None:
    async def never() -> int:
        await asyncio.sleep(30)
        return 1

    async def quick() -> int:
        return 7

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(
        errors.ConnectionError, match=r"cannot connect to db at h: timed out.*0\.05s"
    ):
        await connect_within(0.05, never, where="db at h")
    assert loop.time() - started < 5
    assert await connect_within(1, quick, where="x") == 7


class Coded(Exception):
    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


RULES = ErrorRules(
    [
        ErrorRule(errors.UniqueViolationError, codes=codes("23505")),
        ErrorRule(errors.IntegrityError, prefixes=("23",)),
        ErrorRule(errors.ConnectionLostError, types=("OSError",), template="lost: {message}"),
        ErrorRule(errors.QueryError, types=(Coded,), pattern="syntax"),
        ErrorRule(errors.TransientError, when=lambda exc: "retry" in str(exc), sqlstate="40001"),
    ]
)


def test_error_rules_first_match_wins() -> None:
    unique = RULES.translate(Coded("dup", "23505"))
    assert type(unique) is errors.UniqueViolationError and unique.sqlstate == "23505"
    assert type(RULES.translate(Coded("fk", "23503"))) is errors.IntegrityError
    lost = RULES.translate(ConnectionResetError("reset by peer"))
    assert type(lost) is errors.ConnectionLostError and str(lost) == "lost: reset by peer"
    assert connection_lost(lost) and RULES.connection_lost(ConnectionResetError())
    assert type(RULES.translate(Coded("a SYNTAX error"))) is errors.QueryError
    transient = RULES.translate(Coded("please retry"))
    assert type(transient) is errors.TransientError and transient.sqlstate == "40001"
    other = RULES.translate(KeyError("k"))
    assert type(other) is errors.DatabaseError and str(other) == "KeyError: 'k'"
    assert not connection_lost(other)


def test_dumpers() -> None:
    assert dump_bytes(bytearray(b"ab")) == b"ab" and dump_bytes(memoryview(b"c")) == b"c"
    assert dump_bytes("s") == "s"
    assert json_text({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    upper = typed(str.upper, str)
    assert (upper("x"), upper(3)) == ("X", 3)


class CoreOnly:
    """The required core and nothing else."""

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        return []

    async def fetch_described(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        return [], []

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        return 0

    async def stream(self, sql: str, params: Sequence[Any], batch: int) -> AsyncIterator[list[Row]]:
        yield []

    async def ping(self) -> None:
        pass

    async def reset(self) -> None:
        pass

    async def close(self) -> None:
        pass

    @property
    def is_closed(self) -> bool:
        return False

    def translate_error(self, exc: BaseException) -> errors.OrmerError:
        return errors.DatabaseError(str(exc))


class Everything(CoreOnly):
    server_dialect = Dialect()

    @property
    def in_transaction(self) -> bool:
        return True

    async def insert_lastrowid(self, sql: str, params: Sequence[Any]) -> int:
        return 1

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> int:
        return len(rows)


def test_capabilities_are_read_once_from_the_driver() -> None:
    core: DriverConnection = CoreOnly()
    caps = capabilities(core, Dialect())
    assert (caps.transaction_status, caps.server_dialect, caps.last_row_id, caps.copy) == (
        None,
        None,
        None,
        None,
    )
    full = Everything()
    caps = capabilities(full, Dialect())
    assert caps.transaction_status is full and caps.last_row_id is full and caps.copy is full
    assert caps.server_dialect is Everything.server_dialect


def test_a_dialect_without_returning_needs_insert_lastrowid() -> None:
    class NoReturning(Dialect):
        name = "noreturning"
        supports_returning = False

    with pytest.raises(errors.ConfigurationError, match="insert_lastrowid"):
        capabilities(CoreOnly(), NoReturning())
    assert capabilities(Everything(), NoReturning()).last_row_id is not None


def test_sqlite_rules_fall_back_on_the_message() -> None:
    """Without an extended result code, SQLite's table maps by the message."""
    from ormer_sqlite.driver import ERRORS

    lost = ERRORS.translate(sqlite3.ProgrammingError("Cannot operate on a closed database."))
    assert isinstance(lost, errors.ConnectionLostError)
    unique = ERRORS.translate(sqlite3.IntegrityError("UNIQUE constraint failed: t.x"))
    assert isinstance(unique, errors.UniqueViolationError)

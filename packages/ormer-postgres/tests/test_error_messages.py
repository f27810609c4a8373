"""PostgreSQL error messages: the server's DETAIL and HINT lines appear once each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ormer import Connection, Database, Model, QueryError, UniqueViolationError, primary, unique
from ormer.testing.base import fresh_tables

pytestmark = pytest.mark.postgres


class PgMsgCode(Model, table="pg_msg_code"):
    id: int = primary(auto=True)
    code: str = unique(max_length=20)


@pytest_asyncio.fixture
async def db(pg_url: str) -> AsyncIterator[Connection]:
    conn = await Database.connect(pg_url)
    try:
        yield conn
    finally:
        await conn.close()


async def test_unique_violation_has_its_detail_once(db: Connection) -> None:
    await fresh_tables(db, PgMsgCode)
    await db.insert(PgMsgCode(code="taken"))
    with pytest.raises(UniqueViolationError) as info:
        await db.insert(PgMsgCode(code="taken"))
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0].startswith("duplicate key value violates unique constraint")
    assert message.count("DETAIL") == 1, message
    assert lines[1:] == ["DETAIL: Key (code)=(taken) already exists."]
    assert info.value.sqlstate == "23505"
    assert [r.code for r in await db.select(PgMsgCode).collect()] == ["taken"]


async def test_hint_appears_once(db: Connection) -> None:
    with pytest.raises(QueryError) as info:
        await db.exec_rows("SELECT pg_msg_no_such_function(1)")
    message = str(info.value)
    assert message.startswith("function pg_msg_no_such_function(integer) does not exist")
    assert message.count("HINT") == 1, message
    assert "DETAIL" not in message
    assert info.value.sqlstate == "42883"

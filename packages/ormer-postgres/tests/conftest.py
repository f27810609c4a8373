"""PostgreSQL test wiring: one throw-away schema per test session.

The server comes from :func:`ormer.testing.servers.server_url` (an
``ORMER_TEST_POSTGRES_URL``, a testcontainers container, or the local
default); without one the tests skip with the reason, or fail under
``ORMER_TEST_REQUIRE=postgres``. Every connection the tests open uses the
session's schema through the ``search_path`` URL parameter, and the schema is
dropped (CASCADE) at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator

import pytest

from ormer import Database
from ormer.testing.servers import report_lines, server_url


def with_query(url: str, **params: str) -> str:
    """``url`` with query parameters appended."""
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


async def _run(url: str, sql: str) -> None:
    async with await Database.connect(url) as db:
        await db.exec_non_query(sql)


def pytest_report_collectionfinish(items: list[pytest.Item]) -> list[str]:
    """The header line naming the postgres server this run uses: its version and source."""
    return report_lines(["postgres"], items)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The server's URL as resolved (public schema)."""
    return server_url("postgres")


@pytest.fixture(scope="session")
def pg_schema(pg_server_url: str) -> Iterator[str]:
    """A schema of its own for this test session, dropped at the end."""
    schema = f"ormer_test_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_run(pg_server_url, f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        asyncio.run(_run(pg_server_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def pg_url(pg_server_url: str, pg_schema: str) -> str:
    """A URL whose connections all work in the session's schema."""
    return with_query(pg_server_url, search_path=pg_schema)

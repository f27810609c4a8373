"""ormer-postgres runs the whole dialect compliance suite on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from ormer import Database
from ormer.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def ormer_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def slow_query_sql() -> str:
    """The pool suite's mid-query cancellation: a query the server runs for seconds."""
    return "SELECT pg_sleep(5)"


async def _pg_running(url: str, marker: str) -> int:
    async with await Database.connect(url) as conn:
        rows = await conn.exec_rows(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND pid <> pg_backend_pid() AND strpos(query, $1) > 0",
            [marker],
        )
    return int(rows[0][0])


@pytest.fixture
def running_statements() -> object:
    """The timeout suite: sessions running a statement, from pg_stat_activity."""
    return _pg_running

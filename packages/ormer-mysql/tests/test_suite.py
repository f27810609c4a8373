"""ormer-mysql runs the whole dialect compliance suite on a real MySQL/MariaDB
server, once per driver (the ``ormer_url`` fixture of conftest.py)."""

from __future__ import annotations

import pytest

from ormer import Database
from ormer.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.mysql


@pytest.fixture
def slow_query_sql() -> str:
    """A statement that runs long enough to be cancelled mid-flight (the pool suite)."""
    return "SELECT SLEEP(5)"


async def _mysql_running(url: str, marker: str) -> int:
    async with await Database.connect(url) as conn:
        rows = await conn.exec_rows(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND LOCATE(%s, INFO) > 0",
            [marker],
        )
    return int(rows[0][0])


@pytest.fixture
def running_statements() -> object:
    """The timeout suite: sessions running a statement, from the PROCESSLIST."""
    return _mysql_running

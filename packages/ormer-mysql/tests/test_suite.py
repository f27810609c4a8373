"""ormer-mysql runs the whole dialect compliance suite on a real MySQL/MariaDB
server, once per driver (the ``ormer_url`` fixture of conftest.py)."""

from __future__ import annotations

import pytest

from ormer.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.mysql


@pytest.fixture
def slow_query_sql() -> str:
    """A statement that runs long enough to be cancelled mid-flight (the pool suite)."""
    return "SELECT SLEEP(5)"

"""ormer-postgres runs the whole dialect compliance suite on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from ormer.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def ormer_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def slow_query_sql() -> str:
    """The pool suite's mid-query cancellation: a query the server runs for seconds."""
    return "SELECT pg_sleep(5)"

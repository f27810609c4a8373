"""ormer-postgres runs the whole dialect compliance suite on a real PostgreSQL server."""

from __future__ import annotations

import pytest

from ormer.testing.suite import *  # noqa: F403

pytestmark = pytest.mark.postgres


@pytest.fixture
def ormer_url(pg_url: str) -> str:
    return pg_url

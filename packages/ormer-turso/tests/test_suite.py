"""ormer-turso runs the whole dialect compliance suite on real Turso files, in both
journal modes: WAL (one writer at a time, as SQLite) and MVCC (BEGIN CONCURRENT)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ormer.testing.suite import *  # noqa: F403


@pytest.fixture(params=["wal", "mvcc"])
def ormer_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"turso:///{tmp_path / 'suite.db'}?journal_mode={request.param}"

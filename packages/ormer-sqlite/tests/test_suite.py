"""ormer-sqlite runs the whole dialect compliance suite on real SQLite files."""

from __future__ import annotations

from pathlib import Path

import pytest

from ormer.testing.suite import *  # noqa: F403


@pytest.fixture
def ormer_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'suite.db'}"

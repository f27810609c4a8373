"""Migration property: random model v1 → v2, ``migrate_table``, then the live schema
equals v2's and the kept values are unchanged (ormer.testing.migration_properties)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ormer.testing.migration_properties import MigrationProperties


class TestMigrateTableProperty(MigrationProperties):
    """~20 examples per backend on the ci profile."""


class TestMigrateTablePropertyTurso(MigrationProperties):
    """The same on Turso (a file: its table rebuilds and catalog differ from SQLite's)."""

    @pytest.fixture
    def ormer_url(self, tmp_path: Path) -> str:
        return f"turso:///{tmp_path / 'migrations.db'}"

    @pytest.fixture
    def ormer_code_point_text(self) -> bool:
        return True

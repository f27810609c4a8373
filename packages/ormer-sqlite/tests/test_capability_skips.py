"""Capability-based skips of the compliance suite, end to end.

A dialect that declares ``supports_savepoints = False`` (here: SQLite with the
flag switched off, registered as its own dialect) gets the suite's
``@requires("savepoints")`` tests skipped with the reason, and runs the
``@lacks("savepoints")`` test, which checks that a nested transaction raises
NotSupportedError on it. The same tests on the real SQLite dialect run the other way.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

import ormer.plugins
from ormer.dialect import URL
from ormer.testing.base import SuiteBase
from ormer.testing.capabilities import requires, skip_reason
from ormer.testing.suite import test_errors, test_transactions
from ormer_sqlite.dialect import SQLiteDialect

# module attributes, not names here: pytest would collect the whole classes
errors_suite = test_errors.TestErrors
transactions_suite = test_transactions.TestTransactions


class NoSavepointsSQLite(SQLiteDialect):
    """SQLite, declared without savepoints."""

    name = "sqlite_nosp"
    supports_savepoints: ClassVar[bool] = False

    def parse_target(self, target: str) -> URL:
        return super().parse_target(target.replace("sqlitenosp://", "sqlite://", 1))


@pytest.fixture(scope="module", autouse=True)
def _registered() -> Iterator[None]:
    plugin = types.SimpleNamespace(
        ormer_register_dialects=ormer.plugins.dialect_plugin(
            "sqlite_nosp", schemes=("sqlitenosp",), target=NoSavepointsSQLite
        )
    )
    name = ormer.plugins.register(plugin, name="test-no-savepoints")
    try:
        yield
    finally:
        ormer.plugins.unregister(name)


class TestWithoutSavepoints(SuiteBase):
    """Suite tests picked from their classes, on the dialect without savepoints."""

    test_savepoint_not_supported = errors_suite.test_savepoint_not_supported  # runs
    test_failure_inside_savepoint = errors_suite.test_failure_inside_savepoint  # skipped
    test_nested_blocks_are_savepoints = transactions_suite.test_nested_blocks_are_savepoints

    @pytest.fixture
    def ormer_url(self, tmp_path: Path) -> str:
        return f"sqlitenosp:///{tmp_path / 'nosp.db'}"


def test_skip_reasons() -> None:
    with_savepoints, without = SQLiteDialect(), NoSavepointsSQLite()
    needs = errors_suite.test_failure_inside_savepoint
    checks_absence = errors_suite.test_savepoint_not_supported
    assert skip_reason(needs, with_savepoints) is None
    assert skip_reason(needs, without) == (
        "sqlite_nosp lacks savepoints (capability flags of its dialect)"
    )
    assert skip_reason(checks_absence, without) is None
    reason = skip_reason(checks_absence, with_savepoints)
    assert reason is not None and "NotSupportedError" in reason
    assert skip_reason(test_skip_reasons, without) is None  # undecorated: always runs
    with pytest.raises(ValueError, match="unknown capabilities"):
        requires("time_travel")

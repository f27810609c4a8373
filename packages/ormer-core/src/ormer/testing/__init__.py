"""ormer.testing: the dialect compliance suite a backend runs on itself.

Install with ``pip install ormer-core[testing]``. In a backend's ``tests/``::

    # tests/test_suite.py
    import pytest
    from ormer.testing.suite import *  # noqa: F403  (collects every Test* class)

    @pytest.fixture
    def ormer_url(tmp_path):
        return "mydb://..."  # a database the suite may create and drop tables in

Each suite class is also importable on its own, to subclass and override
a single test (an override must be marked ``xfail`` with a reason; see
docs/plugins.md).
"""

from __future__ import annotations

from .base import SuiteBase, fresh_tables

__all__ = ["SuiteBase", "fresh_tables"]

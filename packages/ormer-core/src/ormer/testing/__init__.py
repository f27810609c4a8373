"""ormer.testing: the dialect compliance suite a backend runs on itself.

Install with ``pip install ormer-core[testing]``. In a backend's ``tests/``::

    # tests/test_suite.py
    import pytest
    from ormer.testing.suite import *  # noqa: F403  (collects every Test* class)

    @pytest.fixture
    def ormer_url(tmp_path):
        return "mydb://..."  # a database the suite may create and drop tables in

A test that needs a feature some backends lack is decorated
``@requires("savepoints")`` (skipped, with the reason, where the dialect's
capability flag says it is missing) and has a ``@lacks("savepoints")`` twin that
checks ``NotSupportedError`` there (``ormer.testing.capabilities``).

Each suite class is also importable on its own, to subclass and override
a single test (an override must be marked ``xfail`` with a reason; see
docs/plugins.md).
"""

from __future__ import annotations

from .base import SuiteBase, fresh_tables
from .capabilities import lacks, requires

__all__ = ["SuiteBase", "fresh_tables", "lacks", "requires"]

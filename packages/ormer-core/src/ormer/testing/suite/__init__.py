"""Every compliance-suite class; ``from ormer.testing.suite import *`` collects them all."""

from __future__ import annotations

from .test_analytics import TestAnalytics
from .test_ctes import TestCTEsAndSetOperations
from .test_errors import TestErrors
from .test_keyset import TestKeyset, TestKeysetProperty
from .test_large_in import TestLargeIn
from .test_locks import TestRowLocks
from .test_logging import TestSqlLogging
from .test_migrate_table import TestMigrateTable
from .test_models import TestModels
from .test_pool import TestPool, slow_query_sql
from .test_pool_faults import TestPoolFaults
from .test_pool_lifecycle import TestPoolLifecycle
from .test_pool_safety import TestPoolSafety
from .test_pool_stateful import TestPoolStateMachine
from .test_queries import TestQueries
from .test_raw_sql import TestRawSQL
from .test_relations import TestRelations
from .test_replicas import TestReplicatedPool
from .test_safety import TestSafety
from .test_timeouts import TestStatementTimeouts, running_statements
from .test_transactions import TestTransactions
from .test_types import TestTypes
from .test_versioning import TestOptimisticLocking
from .test_writes import TestWrites

__all__ = [
    "TestCTEsAndSetOperations",
    "TestAnalytics",
    "TestErrors",
    "TestKeyset",
    "TestKeysetProperty",
    "TestLargeIn",
    "TestMigrateTable",
    "TestModels",
    "TestOptimisticLocking",
    "TestPool",
    "TestPoolFaults",
    "TestPoolLifecycle",
    "TestPoolSafety",
    "TestPoolStateMachine",
    "TestQueries",
    "TestRawSQL",
    "TestRelations",
    "TestReplicatedPool",
    "TestRowLocks",
    "TestSafety",
    "TestSqlLogging",
    "TestStatementTimeouts",
    "TestTransactions",
    "TestTypes",
    "TestWrites",
    "running_statements",
    "slow_query_sql",
]

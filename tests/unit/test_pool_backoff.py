"""The pool's reconnect back-off delay: doubling per failure in a row, capped, never
overflowing however long a server stays down (a float power of 2 overflows at 1,024)."""

from __future__ import annotations

from ormer.plugins import get_dialect
from ormer.pool import Pool
from ormer.pool_config import PoolConfig


def test_backoff_doubles_to_its_maximum_and_never_overflows() -> None:
    dialect = get_dialect("sqlite")
    config = PoolConfig(reconnect_initial=0.25, reconnect_maximum=8.0)
    pool = Pool(dialect, dialect.parse_target("sqlite:///unused.db"), config)
    delays = []
    for failures in (0, 1, 2, 3, 4, 5, 6, 1024, 5000, 10**9):
        pool._connect_failures = failures
        delays.append(pool.backoff_delay())
    assert delays == [0.25, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]

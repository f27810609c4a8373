"""Retrying a transaction that failed with a transient error (docs/transactions.md).

A :class:`~ormer.errors.TransientError` (a deadlock, a serialization failure, a
lock timeout, a write-write conflict under MVCC) means the database rolled the
transaction back and running it again may succeed. :func:`run_transaction` runs
a whole transaction function again, on every backend alike.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from .errors import ConfigurationError, TransientError

if TYPE_CHECKING:
    from .connection import Connection
    from .pool import Pool
    from .replicas import ReplicatedPool

__all__ = ["run_transaction"]

R = TypeVar("R")


async def run_transaction(
    target: Connection | Pool | ReplicatedPool,
    fn: Callable[[Connection], Awaitable[R]],
    *,
    isolation: str | None = None,
    mode: str | None = None,
    retries: int = 10,
    backoff: float = 0.002,
    max_backoff: float = 0.25,
) -> R:
    """Run ``await fn(conn)`` in a transaction; on a ``TransientError``, run it again.

    ``target`` is a connection (each attempt is a transaction on it; it must not be
    inside one already) or a pool (each attempt borrows a connection). ``fn`` must
    do all of its database work through ``conn`` and be safe to run more than once.
    Up to ``retries`` retries follow the first attempt, each after a random pause of
    up to ``backoff * 2**attempt`` seconds (at most ``max_backoff``); the last
    ``TransientError`` is raised when they are used up. Other errors are raised at once.
    """
    if retries < 0 or backoff < 0 or max_backoff < 0:
        raise ConfigurationError("retries, backoff and max_backoff must not be negative")
    from .connection import Connection

    attempt = 0
    while True:
        try:
            if not isinstance(target, Connection):  # a pool (a replicated one: its primary)
                async with target.get() as conn, conn.transaction(isolation, mode):
                    return await fn(conn)
            if target.in_transaction:
                raise ConfigurationError(
                    "run_transaction needs a connection outside a transaction: a retry "
                    "re-runs the whole transaction"
                )
            async with target.transaction(isolation, mode):
                return await fn(target)
        except TransientError:
            if attempt >= retries:
                raise
        await asyncio.sleep(random.uniform(0, min(max_backoff, backoff * 2**attempt)))
        attempt += 1

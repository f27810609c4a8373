"""What the embedded drivers (SQLite, Turso) share to run short statements inline.

A short statement (the planner's word: a primary-key lookup, a SELECT with a LIMIT, a
one-row write) runs on the event loop's thread, against the driver's blocking
connection, when no call of that connection is in flight on its worker thread. Each
driver bounds the time it may take there (SQLite: a progress handler; Turso: its query
timeout) and sends a statement stopped at the bound back to the thread; what is here
is the bookkeeping both need.
"""

from __future__ import annotations

import time

__all__ = ["STRIKES", "THREAD", "InlineStats", "strike", "yield_due"]

#: an inline run gave up: the caller runs the statement on the worker thread
THREAD = object()

#: inline statements never suspend their task; this long after one last let the event
#: loop run, the next one does first (a loop of lookups must not starve the other tasks)
YIELD_AFTER = 0.0002


class _Streak:
    """When an inline statement last let the event loop run (``time.perf_counter()``):
    the tasks running inline statements may have kept the loop busy since."""

    since = 0.0


def yield_due() -> bool:
    """Whether the event loop has run nothing else for :data:`YIELD_AFTER` (the caller
    then awaits ``asyncio.sleep(0)`` before its inline statement)."""
    now = time.perf_counter()
    if now - _Streak.since > YIELD_AFTER:
        _Streak.since = now
        return True
    return False


#: runs past the inline bound in a row after which a statement is no longer taken for
#: short: one can be a busy machine (a virtual CPU preempted mid-statement counts as
#: the statement's CPU time), three in a row are a long statement
STRIKES = 3


def strike(short: dict[str, int], sql: str) -> None:
    """``sql`` ran past the inline bound: one strike; out of strikes, it is no longer
    taken for short. A run within the bound gives it back its :data:`STRIKES`."""
    strikes = short.get(sql, 1) - 1
    if strikes > 0:
        short[sql] = strikes
    else:
        short.pop(sql, None)


class InlineStats:
    """A connection's inline counters (for tests, benchmarks and curious users)."""

    __slots__ = ("busy", "fallbacks", "reads", "writes")

    def __init__(self) -> None:
        #: short reads and writes that ran on the event loop's thread
        self.reads = 0
        self.writes = 0
        #: statements stopped at the inline bound (then run on the worker thread)
        self.fallbacks = 0
        #: inline statements that found the database locked by another connection (then
        #: run on the worker thread, which waits for the lock up to the busy timeout)
        self.busy = 0

    def __repr__(self) -> str:
        return (
            f"InlineStats(reads={self.reads}, writes={self.writes}, "
            f"fallbacks={self.fallbacks}, busy={self.busy})"
        )

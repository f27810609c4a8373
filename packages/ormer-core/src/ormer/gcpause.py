"""Pausing the cyclic garbage collector while a batch of objects is built.

Converting a large result, or reading the values of a large insert, allocates
one container per row (an object and its ``__dict__``, or a tuple). None of
them form cycles, yet every 700 allocations trigger a collection that scans
them again, and the older generations' collections rescan the whole batch.
The collector is paused for the batch and runs as it would have afterwards.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

__all__ = ["GC_PAUSE_MIN_ITEMS", "pausing_gc"]

#: batches at least this long are processed with the garbage collector paused
GC_PAUSE_MIN_ITEMS = 512

R = TypeVar("R")


def pausing_gc(fn: Callable[[Sequence[Any]], R]) -> Callable[[Sequence[Any]], R]:
    """``fn``, run with the cyclic garbage collector paused when its batch is large."""

    def paused(items: Sequence[Any]) -> R:
        if len(items) < GC_PAUSE_MIN_ITEMS or not gc.isenabled():
            return fn(items)
        gc.disable()
        try:
            return fn(items)
        finally:
            gc.enable()

    return paused

"""Pausing the cyclic garbage collector while a batch of objects is built.

Converting a large result, or reading the values of a large insert, allocates
one container per row (an object and its ``__dict__``, or a tuple). None of
them form cycles, yet every 700 allocations trigger a collection that scans
them again, and the older generations' collections rescan the whole batch.
The collector is paused for the batch and runs as it would have afterwards.

:func:`pausing_gc_in_slices` also collects the youngest generation, and only
it, after every slice of the batch: tuples of plain values (ints, strs, floats,
None) are untracked by the first collection that sees them, which is cheaper
while they are still in the CPU's caches than all at once after the batch.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from gc import collect as _collect  # not through ``gc``: tests replace the module's switch
from itertools import islice
from typing import Any, TypeVar

__all__ = ["GC_PAUSE_MIN_ITEMS", "GC_SLICE_ITEMS", "pausing_gc", "pausing_gc_in_slices"]

#: batches at least this long are processed with the garbage collector paused
GC_PAUSE_MIN_ITEMS = 512

#: :func:`pausing_gc_in_slices`: items per slice, the youngest generation collected after each
GC_SLICE_ITEMS = 2048

R = TypeVar("R")
T = TypeVar("T")


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


def pausing_gc_in_slices(
    fn: Callable[[Sequence[T]], list[R]], size: int = GC_SLICE_ITEMS
) -> Callable[[Sequence[T]], list[R]]:
    """``fn`` with the collector paused (as :func:`pausing_gc`), run on slices of
    ``size`` items of a large batch, the youngest generation collected between them.

    ``fn`` must return one item per item given, in order: the slices' results
    (each slice a list) are joined.
    Nothing is collected when the collector was off already (switched off by
    the application, or paused by a caller).
    """

    def sliced(items: Sequence[T]) -> list[R]:
        n = len(items)
        it = iter(items)
        out = fn(list(islice(it, size)))
        for _ in range(size, n, size):
            _collect(0)
            out += fn(list(islice(it, size)))
        return out

    def paused(items: Sequence[T]) -> list[R]:
        if len(items) < GC_PAUSE_MIN_ITEMS or not gc.isenabled():
            return fn(items)
        gc.disable()
        try:
            return sliced(items) if len(items) > size else fn(items)
        finally:
            gc.enable()

    return paused

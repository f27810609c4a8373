"""How late the event loop runs: a meter for tests that must prove nothing stalls it.

::

    with LoopLag() as lag:
        ...  # the work under test, in this event loop
    assert lag.worst < 0.05

A task sleeps 1 ms at a time and records how late it wakes up. The objects the
process already holds are frozen out of the garbage collector meanwhile
(``gc.freeze()``): a full collection over a long test run's heap can pause any
Python process for a large fraction of a second, which is not the code under test
holding the loop.
"""

from __future__ import annotations

import asyncio
import gc
import time

__all__ = ["LoopLag"]

#: how long the meter's task sleeps between two samples
TICK = 0.001


class LoopLag:
    """The event loop's worst lateness (seconds) while the ``with`` block runs."""

    def __init__(self) -> None:
        #: the latest a 1 ms sleep woke up, beyond its 1 ms
        self.worst = 0.0
        #: how many sleeps were measured
        self.samples = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.perf_counter() - start - TICK)
            self.samples += 1

    def __enter__(self) -> LoopLag:
        gc.collect()
        gc.freeze()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        gc.unfreeze()

"""The interface every implementation (ormer, a raw driver, a peer ORM) provides.

Each workload method does exactly the timed work of one repetition; the
``prepare_*`` methods do the untimed set-up of a repetition (building the
objects to insert, releasing a task-bound connection, ...). Tables are emptied
and seeded by :class:`benchmarks.common.Admin`, not here.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ..common import Loaded, Row, Sizes

WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7")
DEFAULT_DRIVERS = {
    "postgresql": "asyncpg",
    "mysql": "aiomysql",
    "sqlite": "aiosqlite",
    "turso": "pyturso",
}


class Impl:
    #: short key: "ormer", "raw", "sqlalchemy", "tortoise", "piccolo", "peewee", ...
    key: ClassVar[str] = ""
    #: "ormer" for ormer's own rows (ratio against ``baseline``), "raw", "peer", or
    #: "floor" (the synchronous sqlite3 row: shown with its ratio to ``baseline``,
    #: never a target's subject)
    kind: ClassVar[str] = "peer"
    #: for an ormer or floor row: the raw implementation key it is compared with
    baseline: ClassVar[str] = "raw"
    #: workloads this implementation takes part in
    workloads: ClassVar[tuple[str, ...]] = WORKLOADS
    #: workloads it has no natural way to do, with the reason (reported as n/a)
    not_applicable: ClassVar[dict[str, str]] = {}

    def __init__(self, backend: str, sizes: Sizes) -> None:
        self.backend = backend
        self.sizes = sizes
        #: what the table shows: library, version, driver
        self.label = self.key
        #: the driver underneath: a peer is compared with ormer on the same driver
        self.driver_name = DEFAULT_DRIVERS[backend]
        #: notes for the report (configuration, caveats)
        self.notes: list[str] = []

    async def open(self) -> None:
        """Connect (and build pools); called once per backend."""

    async def close(self) -> None:
        """Disconnect; called once per backend."""

    # -- W1: fetch every row of bench_item into model objects -----------------------------
    async def w1(self) -> int:
        raise NotImplementedError

    # -- W2: one primary-key lookup per id, one statement each -----------------------------
    async def w2(self, ids: list[int]) -> int:
        raise NotImplementedError

    # -- W3: build and compile n filtered selects, not run -------------------------------
    def w3(self, n: int) -> Any:
        raise NotImplementedError

    # -- W4: bulk insert into bench_insert -------------------------------------------------
    async def prepare_w4(self, rows: list[Row]) -> None:
        self._w4_input: Any = rows

    async def w4(self) -> None:
        raise NotImplementedError

    # -- W5: concurrent tasks doing lookups through a pool -------------------------------
    async def prepare_w5(self) -> None:
        """Untimed, before each W5 run."""

    async def w5(self, chunks: list[list[int]]) -> int:
        raise NotImplementedError

    # -- W6: update then delete the rows of bench_write matching age < 50 ----------------
    async def w6(self) -> tuple[int, int]:
        raise NotImplementedError

    # -- W7: every author with its posts (a one-to-many relation loaded in batch) --------
    async def w7(self) -> Any:
        """Load every ``bench_author`` row with its list of ``bench_post`` rows, ordered by
        post id, in whatever form the library gives (objects, tuples)."""
        raise NotImplementedError

    def w7_loaded(self, result: Any) -> Loaded:
        """Untimed: W7's result as ``(author id, name, [(post id, author_id, title, body)])``
        for :func:`benchmarks.common.preload_check`."""
        raise NotImplementedError


def version_of(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"

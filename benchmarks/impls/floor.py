"""The physical floor on SQLite: the standard library's ``sqlite3``, called synchronously.

The same SQL, the same pragmas and the same work as the raw aiosqlite
implementation (:class:`benchmarks.impls.raw.AiosqliteImpl`), but each statement
runs in the calling thread: no hand-off to a worker thread, no future to await,
no event-loop wake-up. The coroutine methods exist only because the runner
awaits them; nothing inside them awaits. It is what any Python client of this
SQLite file pays at least, so ``raw/floor`` is the price of doing SQLite
asynchronously through a thread and ``ormer/floor`` the distance to the floor.

* W1: ``execute(...).fetchall()`` into tuples;
* W2: one ``execute(...).fetchall()`` per primary key;
* W4: ``executemany`` between ``BEGIN`` and ``COMMIT``;
* W5: the same lookups, but a synchronous client cannot overlap them: the chunks
  run one after another on one connection (no pool);
* W6: ``UPDATE`` then ``DELETE``, counts from ``rowcount``;
* W7: the authors, then their posts in one ``IN`` query, grouped in Python.

Only the ``sqlite`` backend has this row: on PostgreSQL and MySQL the raw async
driver is the floor a client library can reach.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..common import (
    COLUMNS,
    INSERT_TABLE,
    READ_TABLE,
    WRITE_CUTOFF,
    WRITE_TABLE,
    Sizes,
    sqlite_path,
)
from .base import Impl
from .raw import AUTHORS_SQL, COLS, RawW7, group_posts, posts_sql


class SQLite3FloorImpl(RawW7, Impl):
    """Synchronous ``sqlite3`` in the benchmark's own process: the SQLite floor."""

    key = "floor"
    kind = "floor"
    baseline = "raw"
    workloads = ("W1", "W2", "W4", "W5", "W6", "W7")

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        self.label = f"sqlite3 {sqlite3.sqlite_version} (sync, in-process floor)"
        self.driver_name = "sqlite3"
        self.notes.append(
            "floor: stdlib sqlite3 called synchronously in the event loop's thread; "
            "W5 runs the chunks one after another on one connection (no pool)"
        )
        self.conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        # autocommit (BEGIN/COMMIT written out), as aiosqlite's isolation_level=None
        conn = sqlite3.connect(sqlite_path(), isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL").fetchall()  # persistent: already set
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        self.conn = conn

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            raise RuntimeError("floor: not open")
        return self.conn

    async def w1(self) -> int:
        return len(self._conn().execute(f"SELECT {COLS} FROM {READ_TABLE}").fetchall())

    async def w2(self, ids: list[int]) -> int:
        return self._lookups(ids)

    def _lookups(self, ids: list[int]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = ?"
        execute = self._conn().execute
        n = 0
        for pk in ids:
            if execute(sql, (pk,)).fetchall():
                n += 1
        return n

    async def w4(self) -> None:
        conn = self._conn()
        marks = ", ".join(["?"] * len(COLUMNS))
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO {INSERT_TABLE} ({COLS}) VALUES ({marks})", self._w4_input)
        conn.execute("COMMIT")

    async def w5(self, chunks: list[list[int]]) -> int:
        # a synchronous client has nothing to overlap: the chunks in turn, one connection
        return sum(self._lookups(chunk) for chunk in chunks)

    async def w6(self) -> tuple[int, int]:
        conn = self._conn()
        cur = conn.execute(
            f"UPDATE {WRITE_TABLE} SET score = score + 1 WHERE age < ?", (WRITE_CUTOFF,)
        )
        u = cur.rowcount
        cur.close()
        cur = conn.execute(f"DELETE FROM {WRITE_TABLE} WHERE age < ?", (WRITE_CUTOFF,))
        d = cur.rowcount
        cur.close()
        return u, d

    async def w7(self) -> list[tuple[Any, list[Any]]]:
        execute = self._conn().execute
        authors = execute(AUTHORS_SQL).fetchall()
        if not authors:
            return []
        ids = [a[0] for a in authors]
        posts = execute(posts_sql(", ".join(["?"] * len(ids))), ids).fetchall()
        return group_posts(authors, posts)

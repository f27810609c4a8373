"""What every implementation shares: targets, sizes, the data set, the table names,
and the untimed helper that empties and seeds tables between repetitions.

Three tables, all with the same six columns ``(id, name, email, age, score, note)``:

* ``bench_item``: 10,000 rows, read by W1, W2 and W5;
* ``bench_insert``: emptied before each W4 repetition;
* ``bench_write``: 20,000 rows seeded before each W6 repetition (half match the filter).

and two for W7 (loading a one-to-many relation), seeded once per backend:

* ``bench_author`` ``(id, name)``: 1,000 rows;
* ``bench_post`` ``(id, author_id, title, body)``: 10 per author, indexed on
  ``author_id``; an author's posts are spread over the table (post ``j`` belongs
  to author ``(j - 1) % authors + 1``), as rows written over time would be.

The tables are created through ormer (so every implementation reads the same
column types) and dropped at the end of the run.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

READ_TABLE = "bench_item"
INSERT_TABLE = "bench_insert"
WRITE_TABLE = "bench_write"
TABLES = (READ_TABLE, INSERT_TABLE, WRITE_TABLE)
COLUMNS = ("id", "name", "email", "age", "score", "note")
#: W6's filter: ``age < WRITE_CUTOFF`` matches half of ``bench_write``
WRITE_CUTOFF = 50
#: W7: authors and their posts
AUTHOR_TABLE = "bench_author"
POST_TABLE = "bench_post"
AUTHOR_COLUMNS = ("id", "name")
POST_COLUMNS = ("id", "author_id", "title", "body")

BACKENDS = ("sqlite", "postgresql", "mysql", "turso")


def postgres_url() -> str:
    return os.environ.get("ORMER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def mysql_url() -> str:
    return os.environ.get("ORMER_BENCH_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")


def sqlite_path() -> str:
    return os.environ.get(
        "ORMER_BENCH_SQLITE_PATH", os.path.join(tempfile.gettempdir(), "ormer-bench.db")
    )


def turso_path() -> str:
    return os.environ.get(
        "ORMER_BENCH_TURSO_PATH", os.path.join(tempfile.gettempdir(), "ormer-bench-turso.db")
    )


@dataclass(frozen=True)
class Sizes:
    """How much work one repetition of each workload does."""

    w1_rows: int = 10_000
    w2_lookups: int = 1_000
    w3_queries: int = 10_000
    w4_rows: int = 100_000
    w5_tasks: int = 200
    w5_lookups: int = 20
    w6_rows: int = 10_000
    w7_authors: int = 1_000
    w7_posts: int = 10
    pool_size: int = 10

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            w1_rows=10_000,
            w2_lookups=300,
            w3_queries=2_000,
            w4_rows=10_000,
            w5_tasks=50,
            w5_lookups=10,
            w6_rows=2_000,
            w7_authors=200,
        )


Row = tuple[int, str, str, int, float, str | None]


def make_row(i: int) -> Row:
    return (
        i,
        f"user{i}",
        f"user{i}@example.com",
        i % 100,
        i * 0.5,
        None if i % 3 == 0 else f"note {i}",
    )


def make_rows(n: int, start: int = 1) -> list[Row]:
    return [make_row(i) for i in range(start, start + n)]


def write_rows(sizes: Sizes) -> list[Row]:
    """``bench_write``'s seed: ``2 * w6_rows`` rows, exactly ``w6_rows`` with age < 50."""
    return make_rows(2 * sizes.w6_rows)


# -- W7's data set and its check ---------------------------------------------------------
AuthorRow = tuple[int, str]
PostRow = tuple[int, int, str, str]


def make_authors(sizes: Sizes) -> list[AuthorRow]:
    return [(i, f"author {i}") for i in range(1, sizes.w7_authors + 1)]


def make_posts(sizes: Sizes) -> list[PostRow]:
    n = sizes.w7_authors
    return [
        (j, (j - 1) % n + 1, f"post {j}", f"Body of post {j}: " + "lorem ipsum " * (j % 7 + 3))
        for j in range(1, n * sizes.w7_posts + 1)
    ]


Loaded = Iterable[tuple[int, str, Sequence[PostRow]]]


def preload_check(loaded: Loaded) -> tuple[int, int, int]:
    """``(authors, posts, checksum)`` of what a W7 run loaded: each author's id and
    name with its posts as ``(id, author_id, title, body)`` in the order the
    implementation gave them. The checksum covers every column and each post's
    position in its author's list, so wrong grouping or order changes it; a post
    under the wrong author raises."""
    authors = posts = total = 0
    for author_id, name, its_posts in loaded:
        authors += 1
        total += author_id * zlib.crc32(name.encode())
        for k, (post_id, fk, title, body) in enumerate(its_posts):
            if fk != author_id:
                raise AssertionError(f"post {post_id} (author {fk}) loaded under {author_id}")
            posts += 1
            total += (k + 1) * post_id * zlib.crc32(title.encode()) + len(body)
    return authors, posts, total % (1 << 61)


def expected_preload(sizes: Sizes) -> tuple[int, int, int]:
    """What :func:`preload_check` must give: every author, its posts by id."""
    by_author: dict[int, list[PostRow]] = {a[0]: [] for a in make_authors(sizes)}
    for p in make_posts(sizes):
        by_author[p[1]].append(p)
    return preload_check((a, name, by_author[a]) for a, name in make_authors(sizes))


# -- the untimed admin connection: truncate / seed / count ------------------------------
class Admin:
    """Empties, seeds and counts tables between timed runs, on its own connection."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._conn: Any = None

    async def open(self) -> None:
        if self.backend == "postgresql":
            import asyncpg

            self._conn = await asyncpg.connect(postgres_url())
        elif self.backend == "mysql":
            import aiomysql

            from .impls.raw import mysql_kwargs

            self._conn = await aiomysql.connect(**mysql_kwargs(), autocommit=True)
        elif self.backend == "turso":
            import turso

            self._conn = turso.connect(turso_path(), isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 10000").close()
        else:
            self._conn = sqlite3.connect(sqlite_path(), isolation_level=None)
            self._conn.execute("PRAGMA busy_timeout = 10000")

    async def close(self) -> None:
        if self._conn is None:
            return
        if self.backend == "postgresql":
            await self._conn.close()
        elif self.backend == "mysql":
            self._conn.close()
        else:
            self._conn.close()
        self._conn = None

    async def server_version(self) -> str:
        if self.backend == "postgresql":
            return str(await self._conn.fetchval("SHOW server_version"))
        if self.backend == "mysql":
            return str(self._conn.get_server_info())
        if self.backend == "turso":
            from importlib.metadata import version

            return f"pyturso {version('pyturso')}"
        return sqlite3.sqlite_version

    async def execute(self, sql: str) -> None:
        if self.backend == "postgresql":
            await self._conn.execute(sql)
        elif self.backend == "mysql":
            async with self._conn.cursor() as cur:
                await cur.execute(sql)
        else:
            self._conn.execute(sql)

    async def truncate(self, table: str) -> None:
        if self.backend in ("sqlite", "turso"):
            self._conn.execute(f'DELETE FROM "{table}"')
        else:
            q = "`" if self.backend == "mysql" else '"'
            await self.execute(f"TRUNCATE TABLE {q}{table}{q}")

    async def seed(self, table: str, rows: list[Row]) -> None:
        await self.truncate(table)
        await self.load(table, rows)

    async def load(
        self, table: str, rows: Sequence[tuple[Any, ...]], columns: Sequence[str] = COLUMNS
    ) -> None:
        """Insert ``rows`` into ``table`` (no truncation), then refresh its statistics."""
        cols = ", ".join(columns)
        if self.backend == "postgresql":
            await self._conn.copy_records_to_table(table, records=rows, columns=list(columns))
        elif self.backend == "mysql":
            marks = ", ".join(["%s"] * len(columns))
            async with self._conn.cursor() as cur:
                await cur.execute("START TRANSACTION")
                await cur.executemany(f"INSERT INTO `{table}` ({cols}) VALUES ({marks})", rows)
                await cur.execute("COMMIT")
        else:
            marks = ", ".join(["?"] * len(columns))
            self._conn.execute("BEGIN")
            self._conn.executemany(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', rows)
            self._conn.execute("COMMIT")
        await self.analyze(table)

    async def seed_relations(self, sizes: Sizes) -> None:
        """W7's authors and posts. The tables come from ormer's models, the post model
        declaring ``foreign_key(..., index=True)``: the index on ``bench_post.author_id``
        that every implementation's ``IN`` query uses."""
        # once, into the new tables: no TRUNCATE (refused on a referenced table)
        await self.load(AUTHOR_TABLE, make_authors(sizes), AUTHOR_COLUMNS)
        await self.load(POST_TABLE, make_posts(sizes), POST_COLUMNS)

    async def analyze(self, table: str) -> None:
        if self.backend == "turso":
            return  # no ANALYZE in Turso yet: its planner does not use statistics
        if self.backend == "postgresql":
            await self.execute(f'ANALYZE "{table}"')
        elif self.backend == "mysql":
            await self.execute(f"ANALYZE TABLE `{table}`")
        else:
            self._conn.execute(f'ANALYZE "{table}"')

    async def count(self, table: str, where: str = "") -> int:
        q = "`" if self.backend == "mysql" else '"'
        sql = f"SELECT COUNT(*) FROM {q}{table}{q} {where}"
        if self.backend == "postgresql":
            return int(await self._conn.fetchval(sql))
        if self.backend == "mysql":
            async with self._conn.cursor() as cur:
                await cur.execute(sql)
                (n,) = await cur.fetchone()
                return int(n)
        return int(self._conn.execute(sql).fetchone()[0])

    async def checkpoint(self) -> None:
        """SQLite: fold the WAL back into the file, so each run starts alike."""
        if self.backend == "sqlite":
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif self.backend == "postgresql":
            await self.execute("CHECKPOINT")

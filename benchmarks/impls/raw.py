"""The raw drivers, each through its fastest documented path.

* asyncpg: ``fetch``/``fetchrow`` (prepared statements cached per connection),
  ``copy_records_to_table`` for W4, ``asyncpg.create_pool`` for W5.
* aiomysql / asyncmy: tuple cursors, ``executemany`` (which batches an
  ``INSERT ... VALUES`` into multi-row statements) for W4, the library's pool for W5.
* aiosqlite: ``execute_fetchall`` (one thread hand-off per statement),
  ``executemany`` for W4; aiosqlite has no pool, so W5 uses a minimal
  ``asyncio.Queue`` of connections (what peewee's ``AsyncSqlitePool`` does).
* pyturso: ``turso.aio`` (one worker thread per connection), ``execute`` then
  ``fetchall``, ``executemany`` in one transaction for W4; W1, W2, W4 and W7 only.

W7 (authors with their posts) is the hand-written floor of a relation preload:
the authors, then their posts in one ``WHERE author_id IN (...) ORDER BY id``
with a bound parameter per author, grouped in Python into a list of post rows
per author (a dict from author id to list).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from ..common import (
    AUTHOR_COLUMNS,
    AUTHOR_TABLE,
    COLUMNS,
    INSERT_TABLE,
    POST_COLUMNS,
    POST_TABLE,
    READ_TABLE,
    WRITE_CUTOFF,
    WRITE_TABLE,
    Loaded,
    Sizes,
    mysql_url,
    postgres_url,
    sqlite_path,
    turso_path,
)
from .base import Impl, version_of

COLS = ", ".join(COLUMNS)
AUTHORS_SQL = f"SELECT {', '.join(AUTHOR_COLUMNS)} FROM {AUTHOR_TABLE}"


def posts_sql(marks: str) -> str:
    """The posts of the authors whose ids are bound to ``marks``, by post id."""
    return (
        f"SELECT {', '.join(POST_COLUMNS)} FROM {POST_TABLE} "
        f"WHERE author_id IN ({marks}) ORDER BY id"
    )


def group_posts(authors: Any, posts: Any) -> list[tuple[Any, list[Any]]]:
    """``[(author row, [its post rows])]``: posts grouped under their ``author_id``."""
    by_author: dict[Any, list[Any]] = {a[0]: [] for a in authors}
    for p in posts:
        by_author[p[1]].append(p)
    return [(a, by_author[a[0]]) for a in authors]


class RawW7:
    """The untimed half of W7 shared by the raw drivers."""

    def w7_loaded(self, result: list[tuple[Any, list[Any]]]) -> Loaded:
        return ((a[0], a[1], [tuple(p) for p in posts]) for a, posts in result)


def mysql_kwargs(db_key: str = "db") -> dict[str, Any]:
    parts = urlsplit(mysql_url())
    kwargs: dict[str, Any] = {
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 3306,
        "user": parts.username or "root",
        "password": parts.password or "",
        db_key: parts.path.lstrip("/") or "test",
        "charset": "utf8mb4",
    }
    return kwargs


class AsyncpgImpl(RawW7, Impl):
    key = "raw"
    kind = "raw"
    # W3 compiles queries: nothing raw to compare
    workloads = ("W1", "W2", "W4", "W5", "W6", "W7")

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        self.label = f"raw asyncpg {version_of('asyncpg')}"

    async def open(self) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(postgres_url())
        size = self.sizes.pool_size
        self.pool = await asyncpg.create_pool(postgres_url(), min_size=size, max_size=size)

    async def close(self) -> None:
        await self.conn.close()
        await self.pool.close()

    async def w1(self) -> int:
        return len(await self.conn.fetch(f"SELECT {COLS} FROM {READ_TABLE}"))

    async def w2(self, ids: list[int]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = $1"
        fetchrow = self.conn.fetchrow
        n = 0
        for pk in ids:
            if await fetchrow(sql, pk) is not None:
                n += 1
        return n

    async def w4(self) -> None:
        await self.conn.copy_records_to_table(
            INSERT_TABLE, records=self._w4_input, columns=list(COLUMNS)
        )

    async def w5(self, chunks: list[list[int]]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = $1"
        pool = self.pool

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                if await pool.fetchrow(sql, pk) is not None:
                    n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        u = await self.conn.execute(
            f"UPDATE {WRITE_TABLE} SET score = score + 1 WHERE age < $1", WRITE_CUTOFF
        )
        d = await self.conn.execute(f"DELETE FROM {WRITE_TABLE} WHERE age < $1", WRITE_CUTOFF)
        return int(u.split()[-1]), int(d.split()[-1])

    async def w7(self) -> list[tuple[Any, list[Any]]]:
        conn = self.conn
        authors = await conn.fetch(AUTHORS_SQL)
        if not authors:
            return []
        ids = [a[0] for a in authors]
        marks = ", ".join([f"${i}" for i in range(1, len(ids) + 1)])
        posts = await conn.fetch(posts_sql(marks), *ids)
        return group_posts(authors, posts)


class AsyncpgExecutemanyImpl(AsyncpgImpl):
    """asyncpg ``executemany`` of a one-row INSERT (W4 only): the non-COPY raw figure."""

    key = "raw-executemany"
    workloads = ("W4",)

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        self.label = f"raw asyncpg {version_of('asyncpg')} executemany"

    async def open(self) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(postgres_url())

    async def close(self) -> None:
        await self.conn.close()

    async def w4(self) -> None:
        marks = ", ".join(f"${i}" for i in range(1, len(COLUMNS) + 1))
        async with self.conn.transaction():
            await self.conn.executemany(
                f"INSERT INTO {INSERT_TABLE} ({COLS}) VALUES ({marks})", self._w4_input
            )


class AiomysqlImpl(RawW7, Impl):
    key = "raw"
    kind = "raw"
    workloads = ("W1", "W2", "W4", "W5", "W6", "W7")
    library = "aiomysql"

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        self.label = f"raw {self.library} {version_of(self.library)}"
        self.driver_name = self.library

    async def _connect(self) -> Any:
        import aiomysql

        return await aiomysql.connect(**mysql_kwargs(), autocommit=True)

    async def _pool(self) -> Any:
        import aiomysql

        size = self.sizes.pool_size
        return await aiomysql.create_pool(
            minsize=size, maxsize=size, autocommit=True, **mysql_kwargs()
        )

    async def open(self) -> None:
        self.conn = await self._connect()
        self.pool = await self._pool()

    async def close(self) -> None:
        self.conn.close()
        self.pool.close()
        await self.pool.wait_closed()

    async def w1(self) -> int:
        async with self.conn.cursor() as cur:
            await cur.execute(f"SELECT {COLS} FROM {READ_TABLE}")
            return len(await cur.fetchall())

    async def w2(self, ids: list[int]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = %s"
        n = 0
        async with self.conn.cursor() as cur:
            for pk in ids:
                await cur.execute(sql, (pk,))
                if await cur.fetchone() is not None:
                    n += 1
        return n

    async def w4(self) -> None:
        marks = ", ".join(["%s"] * len(COLUMNS))
        async with self.conn.cursor() as cur:
            await cur.execute("START TRANSACTION")
            await cur.executemany(
                f"INSERT INTO {INSERT_TABLE} ({COLS}) VALUES ({marks})", self._w4_input
            )
            await cur.execute("COMMIT")

    async def w5(self, chunks: list[list[int]]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = %s"
        pool = self.pool

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                async with pool.acquire() as conn, conn.cursor() as cur:
                    await cur.execute(sql, (pk,))
                    if await cur.fetchone() is not None:
                        n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        async with self.conn.cursor() as cur:
            u = await cur.execute(
                f"UPDATE {WRITE_TABLE} SET score = score + 1 WHERE age < %s", (WRITE_CUTOFF,)
            )
            d = await cur.execute(f"DELETE FROM {WRITE_TABLE} WHERE age < %s", (WRITE_CUTOFF,))
        return int(u), int(d)

    async def w7(self) -> list[tuple[Any, list[Any]]]:
        async with self.conn.cursor() as cur:
            await cur.execute(AUTHORS_SQL)
            authors = await cur.fetchall()
            if not authors:
                return []
            ids = [a[0] for a in authors]
            await cur.execute(posts_sql(", ".join(["%s"] * len(ids))), ids)
            posts = await cur.fetchall()
        return group_posts(authors, posts)


class AsyncmyImpl(AiomysqlImpl):
    key = "raw-asyncmy"
    library = "asyncmy"

    async def _connect(self) -> Any:
        import asyncmy

        return await asyncmy.connect(**mysql_kwargs("database"), autocommit=True)

    async def _pool(self) -> Any:
        import asyncmy

        size = self.sizes.pool_size
        return await asyncmy.create_pool(
            minsize=size, maxsize=size, autocommit=True, **mysql_kwargs("database")
        )


class AiosqliteImpl(RawW7, Impl):
    key = "raw"
    kind = "raw"
    workloads = ("W1", "W2", "W4", "W5", "W6", "W7")

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        self.label = f"raw aiosqlite {version_of('aiosqlite')}"
        self.notes.append("W5: aiosqlite has no pool; a Queue of 10 connections stands in")

    async def _connect(self) -> Any:
        import aiosqlite

        conn = await aiosqlite.connect(sqlite_path(), isolation_level=None)
        await conn.execute("PRAGMA busy_timeout = 5000")
        await conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    async def open(self) -> None:
        self.conn = await self._connect()
        self.pool: asyncio.Queue[Any] = asyncio.Queue()
        self._pooled = [await self._connect() for _ in range(self.sizes.pool_size)]
        for c in self._pooled:
            self.pool.put_nowait(c)

    async def close(self) -> None:
        await self.conn.close()
        for c in self._pooled:
            await c.close()

    async def w1(self) -> int:
        return len(await self.conn.execute_fetchall(f"SELECT {COLS} FROM {READ_TABLE}"))

    async def w2(self, ids: list[int]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = ?"
        fetch = self.conn.execute_fetchall
        n = 0
        for pk in ids:
            if await fetch(sql, (pk,)):
                n += 1
        return n

    async def w4(self) -> None:
        marks = ", ".join(["?"] * len(COLUMNS))
        await self.conn.execute("BEGIN")
        await self.conn.executemany(
            f"INSERT INTO {INSERT_TABLE} ({COLS}) VALUES ({marks})", self._w4_input
        )
        await self.conn.execute("COMMIT")

    async def w5(self, chunks: list[list[int]]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = ?"
        pool = self.pool

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                conn = await pool.get()
                try:
                    if await conn.execute_fetchall(sql, (pk,)):
                        n += 1
                finally:
                    pool.put_nowait(conn)
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        cur = await self.conn.execute(
            f"UPDATE {WRITE_TABLE} SET score = score + 1 WHERE age < ?", (WRITE_CUTOFF,)
        )
        u = cur.rowcount
        await cur.close()
        cur = await self.conn.execute(f"DELETE FROM {WRITE_TABLE} WHERE age < ?", (WRITE_CUTOFF,))
        d = cur.rowcount
        await cur.close()
        return u, d

    async def w7(self) -> list[tuple[Any, list[Any]]]:
        fetch = self.conn.execute_fetchall
        authors = await fetch(AUTHORS_SQL)
        if not authors:
            return []
        ids = [a[0] for a in authors]
        posts = await fetch(posts_sql(", ".join(["?"] * len(ids))), ids)
        return group_posts(authors, posts)


class PyTursoImpl(RawW7, Impl):
    """Raw pyturso through ``turso.aio``: the baseline of ormer-turso."""

    key = "raw"
    kind = "raw"
    workloads = ("W1", "W2", "W4", "W7")

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        self.label = f"raw pyturso {version_of('pyturso')}"

    async def open(self) -> None:
        import turso.aio

        self.conn = await turso.aio.connect(turso_path(), isolation_level=None)
        await (await self.conn.execute("PRAGMA busy_timeout = 5000")).close()

    async def close(self) -> None:
        await self.conn.close()

    async def w1(self) -> int:
        cur = await self.conn.execute(f"SELECT {COLS} FROM {READ_TABLE}")
        rows = await cur.fetchall()
        await cur.close()
        return len(rows)

    async def w2(self, ids: list[int]) -> int:
        sql = f"SELECT {COLS} FROM {READ_TABLE} WHERE id = ?"
        execute = self.conn.execute
        n = 0
        for pk in ids:
            cur = await execute(sql, (pk,))
            if await cur.fetchall():
                n += 1
        return n

    async def w4(self) -> None:
        marks = ", ".join(["?"] * len(COLUMNS))
        conn = self.conn
        await conn.execute("BEGIN")
        await conn.executemany(
            f"INSERT INTO {INSERT_TABLE} ({COLS}) VALUES ({marks})", self._w4_input
        )
        await conn.execute("COMMIT")

    async def w7(self) -> list[tuple[Any, list[Any]]]:
        execute = self.conn.execute
        cur = await execute(AUTHORS_SQL)
        authors = await cur.fetchall()
        await cur.close()
        if not authors:
            return []
        ids = [a[0] for a in authors]
        cur = await execute(posts_sql(", ".join(["?"] * len(ids))), ids)
        posts = await cur.fetchall()
        await cur.close()
        return group_posts(authors, posts)

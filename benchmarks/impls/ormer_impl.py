"""ormer: a single ``Database.connect`` connection for W1-W4, W6 and W7, a pool for W5.

W7 is ``select(Author).preload(Author.posts).collect()``: the authors, then one
statement for the posts of all of them (``has_many``, ordered by post id).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from ormer import Database, Model, foreign_key, func, has_many, primary

from ..common import (
    AUTHOR_TABLE,
    POST_TABLE,
    WRITE_CUTOFF,
    Loaded,
    Row,
    Sizes,
    mysql_url,
    postgres_url,
    sqlite_path,
    turso_path,
)
from .base import DEFAULT_DRIVERS, Impl, version_of


class Item(Model, table="bench_item"):
    id: int = primary()
    name: str
    email: str
    age: int
    score: float
    note: str | None = None


class InsertItem(Model, table="bench_insert"):
    id: int = primary()
    name: str
    email: str
    age: int
    score: float
    note: str | None = None


class WriteItem(Model, table="bench_write"):
    id: int = primary()
    name: str
    email: str
    age: int
    score: float
    note: str | None = None


class Author(Model, table=AUTHOR_TABLE):
    id: int = primary()
    name: str
    posts: list[Post] = has_many("Post", foreign_key="author_id")


class Post(Model, table=POST_TABLE):
    id: int = primary()
    author_id: int = foreign_key(f"{AUTHOR_TABLE}.id", index=True)  # the seed indexes it
    title: str
    body: str


#: in creation order (W7's posts reference the authors; they are dropped first)
MODELS = (Item, InsertItem, WriteItem, Author, Post)


def ormer_url(backend: str, driver: str | None = None) -> str:
    if backend == "postgresql":
        return postgres_url()
    if backend == "mysql":
        url = mysql_url()
        if driver == "asyncmy":
            url = url.replace("mysql://", "mysql+asyncmy://", 1)
        return url
    if backend == "turso":
        return "turso:///" + turso_path()  # an absolute path gives turso:////...
    return "sqlite:///" + sqlite_path() if sqlite_path().startswith("/") else sqlite_path()


async def create_tables(backend: str) -> None:
    """Create the three tables through ormer (each run starts from none)."""
    async with await Database.connect(ormer_url(backend)) as db:
        for model in reversed(MODELS):
            await db.drop_table(model, if_exists=True)
        for model in MODELS:
            await db.create_table(model)


async def drop_tables(backend: str) -> None:
    async with await Database.connect(ormer_url(backend)) as db:
        for model in reversed(MODELS):
            await db.drop_table(model, if_exists=True)


class OrmerImpl(Impl):
    key = "ormer"
    kind = "ormer"
    baseline = "raw"
    driver: ClassVar[str | None] = None

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        drivers = DEFAULT_DRIVERS
        self.label = f"ormer {version_of('ormer-core')} ({self.driver or drivers[backend]})"
        self.driver_name = self.driver or drivers[backend]
        self.db: Any = None
        self.pool: Any = None

    async def open(self) -> None:
        url = ormer_url(self.backend, self.driver)
        self.db = await Database.connect(url)
        self.pool = await Database.create_pool(url).max_size(self.sizes.pool_size).build()

    async def close(self) -> None:
        await self.db.close()
        await self.pool.close()

    async def w1(self) -> int:
        items = await self.db.select(Item).collect()
        return len(items)

    async def w2(self, ids: list[int]) -> int:
        db = self.db
        found = 0
        for pk in ids:
            if await db.find(Item, pk) is not None:
                found += 1
        return found

    def w3(self, n: int) -> Any:
        db = self.db
        sql = None
        for i in range(n):
            sql = (
                db.select(Item)
                .filter(Item.age > i, Item.name == "x")
                .order_by(Item.id)
                .limit(10)
                .sql()
            )
        return sql

    def w3_analytic(self, n: int) -> Any:
        """W3's report line "window+CTE query": build and compile ``n`` selects joining a
        CTE (a per-age aggregate) back to the table, with a row_number() window where
        ormer has windows (``.over``), ordered and limited; not run."""
        db = self.db
        windowed = hasattr(func.count(), "over")
        sql = None
        for i in range(n):
            stats = (
                db.select(Item.age, func.count().label("n"), func.avg(Item.score).label("mean"))
                .filter(Item.age > i)
                .group_by(Item.age)
                .cte("stats")
            )
            items: list[Any] = [Item.id, Item.name, stats.c.n, stats.c.mean]
            if windowed:
                rank = func.row_number().over(partition_by=[Item.age], order_by=[Item.score])
                items.append(rank.label("rank"))
            sql = (
                db.select(*items)
                .join(stats, stats.c.age == Item.age)
                .filter(stats.c.n > 1)
                .order_by(Item.id)
                .limit(10)
                .sql()
            )
        return sql

    async def prepare_w4(self, rows: list[Row]) -> None:
        self._w4_input = [
            InsertItem(id=r[0], name=r[1], email=r[2], age=r[3], score=r[4], note=r[5])
            for r in rows
        ]

    async def w4(self) -> None:
        await self.db.insert(self._w4_input)

    async def w5(self, chunks: list[list[int]]) -> int:
        pool = self.pool

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                if await pool.find(Item, pk) is not None:
                    n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        db = self.db
        updated = await (
            db.update(WriteItem)
            .filter(WriteItem.age < WRITE_CUTOFF)
            .set(WriteItem.score, WriteItem.score + 1)
            .execute()
        )
        deleted = await db.delete(WriteItem).filter(WriteItem.age < WRITE_CUTOFF).execute()
        return updated, deleted

    async def w7(self) -> list[Author]:
        return await self.db.select(Author).preload(Author.posts).collect()

    def w7_loaded(self, result: list[Author]) -> Loaded:
        return (
            (a.id, a.name, [(p.id, p.author_id, p.title, p.body) for p in a.posts]) for a in result
        )


class OrmerAsyncmyImpl(OrmerImpl):
    """ormer on MySQL through asyncmy (``mysql+asyncmy://``)."""

    key = "ormer-asyncmy"
    baseline = "raw-asyncmy"
    driver = "asyncmy"

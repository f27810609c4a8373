"""peewee 4 with ``playhouse.pwasyncio`` (greenlet bridge over asyncpg, aiomysql,
aiosqlite): ``AsyncPostgresqlDatabase``, ``AsyncMySQLDatabase``,
``AsyncSqliteDatabase`` with ``pool_size=10``.

Fast paths: ``db.list(Model.select())`` (W1), ``Model.aget_by_id`` (W2),
``insert_many`` of tuples in batches of 1,000 inside ``db.atomic()`` (W4),
``update``/``delete`` queries through ``db.aexecute`` (W6),
``db.aprefetch(Author.select(), Post.select().order_by(Post.id))`` (W7: peewee's
``prefetch``, whose default strategy selects the posts ``WHERE author_id IN
(SELECT id FROM authors)``, re-running the authors' query as a subquery). pwasyncio binds a
connection to the task that first queries and releases it when that task ends,
so in W5 each of the 200 tasks holds one connection for its 20 lookups.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from peewee import BigIntegerField, DoubleField, ForeignKeyField, TextField
from playhouse.pwasyncio import (
    AsyncMySQLDatabase,
    AsyncPostgresqlDatabase,
    AsyncSqliteDatabase,
)

from ..common import (
    AUTHOR_TABLE,
    COLUMNS,
    INSERT_TABLE,
    POST_TABLE,
    READ_TABLE,
    WRITE_CUTOFF,
    WRITE_TABLE,
    Loaded,
    Row,
    Sizes,
    mysql_url,
    postgres_url,
    sqlite_path,
)
from .base import Impl, version_of


def make_models(db: Any) -> tuple[Any, Any, Any]:
    def model(table: str) -> Any:
        class Meta:
            table_name = table

        attrs = {
            "id": BigIntegerField(primary_key=True),
            "name": TextField(),
            "email": TextField(),
            "age": BigIntegerField(),
            "score": DoubleField(),
            "note": TextField(null=True),
            "Meta": Meta,
            "__module__": __name__,
        }
        return type(f"PW_{table}", (db.Model,), attrs)

    return model(READ_TABLE), model(INSERT_TABLE), model(WRITE_TABLE)


def make_relation_models(db: Any) -> tuple[Any, Any]:
    """W7's authors and posts (``author.posts``: the back-reference prefetch fills)."""

    class PWAuthor(db.Model):  # type: ignore[name-defined,misc]
        id = BigIntegerField(primary_key=True)
        name = TextField()

        class Meta:
            table_name = AUTHOR_TABLE

    class PWPost(db.Model):  # type: ignore[name-defined,misc]
        id = BigIntegerField(primary_key=True)
        author = ForeignKeyField(PWAuthor, backref="posts", column_name="author_id")
        title = TextField()
        body = TextField()

        class Meta:
            table_name = POST_TABLE

    return PWAuthor, PWPost


class PeeweeImpl(Impl):
    key = "peewee"

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        drivers = {"postgresql": "asyncpg", "mysql": "aiomysql", "sqlite": "aiosqlite"}
        self.label = f"peewee {version_of('peewee')} pwasyncio ({drivers[backend]})"

    async def open(self) -> None:
        size = self.sizes.pool_size
        if self.backend == "postgresql":
            p = urlsplit(postgres_url())
            self.db: Any = AsyncPostgresqlDatabase(
                p.path.lstrip("/"),
                host=p.hostname,
                port=p.port or 5432,
                user=p.username,
                password=p.password,
                pool_size=size,
                pool_min_size=size,
            )
        elif self.backend == "mysql":
            p = urlsplit(mysql_url())
            self.db = AsyncMySQLDatabase(
                p.path.lstrip("/"),
                host=p.hostname,
                port=p.port or 3306,
                user=p.username,
                password=p.password or "",
                charset="utf8mb4",
                pool_size=size,
                pool_min_size=size,
            )
        else:
            self.db = AsyncSqliteDatabase(
                sqlite_path(),
                pool_size=size,
                pragmas={"busy_timeout": 5000, "synchronous": "NORMAL"},
            )
        self.Item, self.InsertItem, self.WriteItem = make_models(self.db)
        self.Author, self.Post = make_relation_models(self.db)

    async def close(self) -> None:
        await self.db.aclose()
        await self.db.close_pool()

    async def w1(self) -> int:
        return len(await self.db.list(self.Item.select()))

    async def w2(self, ids: list[int]) -> int:
        Item = self.Item
        n = 0
        for pk in ids:
            if await Item.aget_or_none(Item.id == pk) is not None:
                n += 1
        return n

    def w3(self, n: int) -> Any:
        Item = self.Item
        sql = None
        for i in range(n):
            sql = (
                Item.select()
                .where((Item.age > i) & (Item.name == "x"))
                .order_by(Item.id)
                .limit(10)
                .sql()
            )
        return sql

    async def prepare_w4(self, rows: list[Row]) -> None:
        self._w4_input = [rows[i : i + 1000] for i in range(0, len(rows), 1000)]

    async def w4(self) -> None:
        cls = self.InsertItem
        fields = [getattr(cls, c) for c in COLUMNS]
        async with self.db.atomic():
            for batch in self._w4_input:
                await self.db.aexecute(cls.insert_many(batch, fields=fields))

    async def prepare_w5(self) -> None:
        await self.db.aclose()  # the main task's connection back to the pool

    async def w5(self, chunks: list[list[int]]) -> int:
        Item = self.Item

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                if await Item.aget_or_none(Item.id == pk) is not None:
                    n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        W = self.WriteItem
        u = await self.db.aexecute(W.update(score=W.score + 1).where(W.age < WRITE_CUTOFF))
        d = await self.db.aexecute(W.delete().where(W.age < WRITE_CUTOFF))
        return int(u), int(d)

    async def w7(self) -> Any:
        A, P = self.Author, self.Post
        return await self.db.aprefetch(A.select(), P.select().order_by(P.id))

    def w7_loaded(self, result: Any) -> Loaded:
        return (
            (a.id, a.name, [(p.id, p.author_id, p.title, p.body) for p in a.posts]) for a in result
        )

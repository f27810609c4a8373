"""Piccolo on asyncpg (with its connection pool started, its documented fast
path) and on SQLite (aiosqlite; Piccolo opens a connection per query there, its
design). Piccolo has no MySQL backend.

Fast paths: ``Table.objects()`` (W1), ``objects().get(...)`` (W2), ``insert``
of table objects in batches of 1,000 inside one transaction (W4; one INSERT
of 100,000 rows would exceed the bind-parameter limit), ``update``/``delete``
with ``where`` (W6). W7 is n/a: Piccolo loads a foreign key's target with the
row (``objects(Post.author)``, a join) but has no batched load of the reverse
side, an author's list of posts (``get_related`` follows one object's key).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from piccolo.columns import BigInt, DoublePrecision, Text
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine
from piccolo.querystring import QueryString
from piccolo.table import Table

from ..common import (
    INSERT_TABLE,
    READ_TABLE,
    WRITE_CUTOFF,
    WRITE_TABLE,
    Row,
    Sizes,
    postgres_url,
    sqlite_path,
)
from .base import Impl, version_of


def make_tables(engine: Any) -> tuple[Any, Any, Any]:
    class PItem(Table, tablename=READ_TABLE, db=engine):
        id = BigInt(primary_key=True)
        name = Text()
        email = Text()
        age = BigInt()
        score = DoublePrecision()
        note = Text(null=True)

    class PInsertItem(Table, tablename=INSERT_TABLE, db=engine):
        id = BigInt(primary_key=True)
        name = Text()
        email = Text()
        age = BigInt()
        score = DoublePrecision()
        note = Text(null=True)

    class PWriteItem(Table, tablename=WRITE_TABLE, db=engine):
        id = BigInt(primary_key=True)
        name = Text()
        email = Text()
        age = BigInt()
        score = DoublePrecision()
        note = Text(null=True)

    return PItem, PInsertItem, PWriteItem


class PiccoloImpl(Impl):
    key = "piccolo"
    workloads = ("W1", "W2", "W3", "W4", "W5", "W6")
    not_applicable = {"W7": "no batched load of a reverse foreign key (an author's posts)"}

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        driver = "asyncpg" if backend == "postgresql" else "aiosqlite"
        self.label = f"Piccolo {version_of('piccolo')} ({driver})"
        if backend == "sqlite":
            self.notes.append("Piccolo opens a new SQLite connection per query (its design)")

    async def open(self) -> None:
        if self.backend == "postgresql":
            p = urlsplit(postgres_url())
            self.engine: Any = PostgresEngine(
                config={
                    "host": p.hostname,
                    "port": p.port or 5432,
                    "user": p.username,
                    "password": p.password,
                    "database": p.path.lstrip("/"),
                }
            )
            await self.engine.start_connection_pool(
                min_size=self.sizes.pool_size, max_size=self.sizes.pool_size
            )
        else:
            self.engine = SQLiteEngine(path=sqlite_path())
        self.Item, self.InsertItem, self.WriteItem = make_tables(self.engine)

    async def close(self) -> None:
        if self.backend == "postgresql":
            await self.engine.close_connection_pool()

    async def w1(self) -> int:
        return len(await self.Item.objects())

    async def w2(self, ids: list[int]) -> int:
        Item = self.Item
        n = 0
        for pk in ids:
            if await Item.objects().get(Item.id == pk) is not None:
                n += 1
        return n

    def w3(self, n: int) -> Any:
        Item = self.Item
        sql = None
        for i in range(n):
            q = (
                Item.objects()
                .where((Item.age > i) & (Item.name == "x"))
                .order_by(Item.id)
                .limit(10)
            )
            sql = q.querystrings[0].compile_string(engine_type=self.engine.engine_type)
        return sql

    async def prepare_w4(self, rows: list[Row]) -> None:
        cls = self.InsertItem
        objs = [cls(id=r[0], name=r[1], email=r[2], age=r[3], score=r[4], note=r[5]) for r in rows]
        self._w4_input = [objs[i : i + 1000] for i in range(0, len(objs), 1000)]

    async def w4(self) -> None:
        cls = self.InsertItem
        async with self.engine.transaction():
            for batch in self._w4_input:
                await cls.insert(*batch)

    async def w5(self, chunks: list[list[int]]) -> int:
        Item = self.Item

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                if await Item.objects().get(Item.id == pk) is not None:
                    n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        W = self.WriteItem
        # Piccolo's arithmetic helpers cover Integer/Varchar columns, not Real ones
        await W.update({W.score: QueryString("{} + 1", W.score)}).where(W.age < WRITE_CUTOFF)
        await W.delete().where(W.age < WRITE_CUTOFF)
        return -1, -1  # Piccolo returns no row counts (checked through the table instead)

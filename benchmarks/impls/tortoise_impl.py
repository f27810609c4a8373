"""Tortoise ORM with its asyncpg backend (PostgreSQL), its MySQL backend (asyncmy,
which Tortoise prefers when installed) and its aiosqlite backend.

Fast paths: ``Model.all()`` (W1), ``Model.get(id=...)`` (W2), ``bulk_create``
with ``batch_size=1000`` (W4), ``filter(...).update(...)``/``.delete()`` (W6).
``TAuthor.all().prefetch_related("posts")`` (W7; the post model's
``Meta.ordering = ["id"]`` orders each author's posts by id, as the others do).
The driver pool is ``minsize = maxsize = 10``. Tortoise's SQLite client is one
connection behind a lock (its design), so W5 on SQLite queues on it.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.expressions import F

from ..common import WRITE_CUTOFF, Loaded, Row, Sizes, mysql_url, postgres_url, sqlite_path
from .base import Impl, version_of
from .tortoise_models import TAuthor, TInsertItem, TItem, TWriteItem


def _credentials(url: str) -> dict[str, Any]:
    p = urlsplit(url)
    return {
        "host": p.hostname or "127.0.0.1",
        "port": p.port,
        "user": p.username or "",
        "password": p.password or "",
        "database": p.path.lstrip("/"),
    }


class TortoiseImpl(Impl):
    key = "tortoise"

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        drivers = {"postgresql": "asyncpg", "mysql": "asyncmy", "sqlite": "aiosqlite"}
        self.label = f"Tortoise {version_of('tortoise-orm')} ({drivers[backend]})"
        self.driver_name = drivers[backend]
        if backend == "mysql":
            try:
                import asyncmy  # noqa: F401
            except ImportError:
                self.label = f"Tortoise {version_of('tortoise-orm')} (aiomysql)"
                self.driver_name = "aiomysql"

    def _config(self) -> dict[str, Any]:
        size = self.sizes.pool_size
        if self.backend == "postgresql":
            conn = {
                "engine": "tortoise.backends.asyncpg",
                "credentials": {**_credentials(postgres_url()), "minsize": size, "maxsize": size},
            }
        elif self.backend == "mysql":
            conn = {
                "engine": "tortoise.backends.mysql",
                "credentials": {
                    **_credentials(mysql_url()),
                    "minsize": size,
                    "maxsize": size,
                    "charset": "utf8mb4",
                },
            }
        else:
            conn = {
                "engine": "tortoise.backends.sqlite",
                "credentials": {
                    "file_path": sqlite_path(),
                    "journal_mode": "WAL",
                    "synchronous": "NORMAL",
                    "busy_timeout": 5000,
                },
            }
        return {
            "connections": {"default": conn},
            "apps": {
                "bench": {
                    "models": ["benchmarks.impls.tortoise_models"],
                    "default_connection": "default",
                }
            },
        }

    async def open(self) -> None:
        await Tortoise.init(config=self._config())

    async def close(self) -> None:
        await Tortoise.close_connections()

    async def w1(self) -> int:
        return len(await TItem.all())

    async def w2(self, ids: list[int]) -> int:
        n = 0
        for pk in ids:
            if await TItem.get_or_none(id=pk) is not None:
                n += 1
        return n

    def w3(self, n: int) -> Any:
        sql = None
        for i in range(n):
            sql = TItem.filter(age__gt=i, name="x").order_by("id").limit(10).sql()
        return sql

    async def prepare_w4(self, rows: list[Row]) -> None:
        self._w4_input = [
            TInsertItem(id=r[0], name=r[1], email=r[2], age=r[3], score=r[4], note=r[5])
            for r in rows
        ]

    async def w4(self) -> None:
        await TInsertItem.bulk_create(self._w4_input, batch_size=1000)

    async def w5(self, chunks: list[list[int]]) -> int:
        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                if await TItem.get_or_none(id=pk) is not None:
                    n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        u = await TWriteItem.filter(age__lt=WRITE_CUTOFF).update(score=F("score") + 1)
        d = await TWriteItem.filter(age__lt=WRITE_CUTOFF).delete()
        return int(u), int(d)

    async def w7(self) -> Any:
        return await TAuthor.all().prefetch_related("posts")

    def w7_loaded(self, result: Any) -> Loaded:
        return (
            (a.id, a.name, [(p.id, p.author_id, p.title, p.body) for p in a.posts]) for a in result
        )

"""SQLAlchemy 2 ORM through its asyncio extension, on the same drivers as ormer
(``postgresql+asyncpg``, ``mysql+aiomysql``, ``sqlite+aiosqlite``).

Fast paths used (SQLAlchemy's documentation): ``session.scalars(select(...))``
for W1, ``session.get`` for W2 (a new session per repetition, so each lookup
runs its statement), ORM bulk ``session.execute(insert(Model), [dicts])`` with
``render_nulls=True`` for W4 ("insertmanyvalues" batching), ORM-enabled
``update()``/``delete()`` with ``synchronize_session=False`` for W6; the engine's pool is
``pool_size=10, max_overflow=0`` (W5: one session per lookup). W7:
``select(Author).options(selectinload(Author.posts))`` in a new session, the
relationship ordered by post id (``relationship(order_by=...)``); selectinload
sends the author ids in batches of 500 (its default), so 1,000 authors take
three statements.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Text,
    delete,
    event,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

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


class Base(DeclarativeBase):
    pass


class _Columns:
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    email: Mapped[str] = mapped_column(Text)
    age: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class SAItem(_Columns, Base):
    __tablename__ = READ_TABLE


class SAInsertItem(_Columns, Base):
    __tablename__ = INSERT_TABLE


class SAWriteItem(_Columns, Base):
    __tablename__ = WRITE_TABLE


class SAAuthor(Base):
    __tablename__ = AUTHOR_TABLE
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(Text)
    posts: Mapped[list[SAPost]] = relationship(order_by="SAPost.id", lazy="raise")


class SAPost(Base):
    __tablename__ = POST_TABLE
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    author_id: Mapped[int] = mapped_column(BigInteger, ForeignKey(f"{AUTHOR_TABLE}.id"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)


def sa_url(backend: str) -> str:
    if backend == "postgresql":
        return postgres_url().replace("postgresql://", "postgresql+asyncpg://", 1)
    if backend == "mysql":
        return mysql_url().replace("mysql://", "mysql+aiomysql://", 1) + "?charset=utf8mb4"
    return "sqlite+aiosqlite:///" + sqlite_path()


class SQLAlchemyImpl(Impl):
    key = "sqlalchemy"

    def __init__(self, backend: str, sizes: Sizes) -> None:
        super().__init__(backend, sizes)
        drivers = {"postgresql": "asyncpg", "mysql": "aiomysql", "sqlite": "aiosqlite"}
        self.label = f"SQLAlchemy {version_of('SQLAlchemy')} ORM ({drivers[backend]})"

    async def open(self) -> None:
        self.engine = create_async_engine(
            sa_url(self.backend), pool_size=self.sizes.pool_size, max_overflow=0
        )
        if self.backend == "sqlite":

            @event.listens_for(self.engine.sync_engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout = 5000")
                cur.execute("PRAGMA synchronous = NORMAL")
                cur.close()

        self.Session = async_sessionmaker(self.engine, expire_on_commit=False)

    async def close(self) -> None:
        await self.engine.dispose()

    async def w1(self) -> int:
        async with self.Session() as s:
            items = (await s.scalars(select(SAItem))).all()
        return len(items)

    async def w2(self, ids: list[int]) -> int:
        n = 0
        async with self.Session() as s:
            for pk in ids:
                if await s.get(SAItem, pk) is not None:
                    n += 1
        return n

    def w3(self, n: int) -> Any:
        dialect = self.engine.sync_engine.dialect
        sql = None
        for i in range(n):
            stmt = (
                select(SAItem)
                .where(SAItem.age > i, SAItem.name == "x")
                .order_by(SAItem.id)
                .limit(10)
            )
            sql = str(stmt.compile(dialect=dialect))
        return sql

    async def prepare_w4(self, rows: list[Row]) -> None:
        self._w4_input = [dict(zip(COLUMNS, r)) for r in rows]

    async def w4(self) -> None:
        async with self.Session() as s:
            # render_nulls: the documented option that keeps rows with a None value in
            # the same batch (without it every change of NULL pattern starts a new
            # statement: here a third of the rows, so batches of one to two rows).
            await s.execute(
                insert(SAInsertItem).execution_options(render_nulls=True), self._w4_input
            )
            await s.commit()

    async def w5(self, chunks: list[list[int]]) -> int:
        Session = self.Session

        async def task(ids: list[int]) -> int:
            n = 0
            for pk in ids:
                async with Session() as s:
                    if await s.get(SAItem, pk) is not None:
                        n += 1
            return n

        return sum(await asyncio.gather(*(task(c) for c in chunks)))

    async def w6(self) -> tuple[int, int]:
        async with self.Session() as s:
            u = await s.execute(
                update(SAWriteItem)
                .where(SAWriteItem.age < WRITE_CUTOFF)
                .values(score=SAWriteItem.score + 1)
                .execution_options(synchronize_session=False)
            )
            d = await s.execute(
                delete(SAWriteItem)
                .where(SAWriteItem.age < WRITE_CUTOFF)
                .execution_options(synchronize_session=False)
            )
            await s.commit()
        return u.rowcount, d.rowcount  # type: ignore[attr-defined]

    async def w7(self) -> Any:
        async with self.Session() as s:
            stmt = select(SAAuthor).options(selectinload(SAAuthor.posts))
            return (await s.scalars(stmt)).all()

    def w7_loaded(self, result: Any) -> Loaded:
        return (
            (a.id, a.name, [(p.id, p.author_id, p.title, p.body) for p in a.posts]) for a in result
        )

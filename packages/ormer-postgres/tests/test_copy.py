"""Large batch inserts through COPY (``Dialect.supports_bulk_copy``): when COPY is
used, that every type round-trips through it, and when it is not used."""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio

from ormer import Connection, Database, Model, UniqueViolationError, field, plugins, primary
from ormer.hookspecs import hookimpl
from ormer.testing.base import fresh_tables

pytestmark = pytest.mark.postgres

UTC = datetime.UTC


class Shade(enum.Enum):
    LIGHT = "light"
    DARK = "dark"


class CopyTypes(Model, table="pg_copy_types"):
    id: int = primary()
    i: int
    s: str
    vs: str | None = field(max_length=20, default=None)
    f: float
    b: bool
    raw: bytes
    d: decimal.Decimal = field(max_digits=10, decimal_places=3)
    naive: datetime.datetime
    aware: datetime.datetime = field(timezone=True)
    day: datetime.date
    at: datetime.time
    key: uuid.UUID
    doc: dict  # type: ignore[type-arg]
    shade: Shade
    note: str | None = None


class CopyAuto(Model, table="pg_copy_auto"):
    id: int = primary(auto=True)
    label: str


class _Recorder:
    """Records the SQL of every statement (a hook plugin)."""

    def __init__(self) -> None:
        self.sql: list[str] = []

    @hookimpl
    def ormer_before_execute(self, sql: str, params: Any, dialect: Any) -> None:
        self.sql.append(sql)


@pytest.fixture
def recorder() -> Iterator[_Recorder]:
    rec = _Recorder()
    name = plugins.register(rec)
    try:
        yield rec
    finally:
        plugins.unregister(name)


@pytest_asyncio.fixture
async def db(pg_url: str) -> AsyncIterator[Connection]:
    conn = await Database.connect(pg_url)
    try:
        yield conn
    finally:
        await conn.close()


def _row(n: int) -> CopyTypes:
    return CopyTypes(
        id=n,
        i=n - 2**40,
        s=f"ż 日本 😀 {n}",
        vs=None if n % 2 else f"v{n}",
        f=n / 7,
        b=n % 3 == 0,
        raw=bytes([n % 256, 0, 255]),
        d=decimal.Decimal(n).scaleb(-3),
        naive=datetime.datetime(2024, 2, 29, 23, 59, 59, n % 1000),
        aware=datetime.datetime(2024, 6, 1, 12, 0, n % 60, tzinfo=UTC),
        day=datetime.date(2024, 1, 1) + datetime.timedelta(days=n % 300),
        at=datetime.time(23, 59, n % 60, 1),
        key=uuid.UUID(int=n),
        doc={"n": n, "list": [1, 2.5, None, True], "ü": {"deep": "😀"}},
        shade=Shade.DARK if n % 2 else Shade.LIGHT,
        note=None if n % 5 else "five",
    )


async def test_large_batch_with_keys_goes_through_copy_and_round_trips(
    db: Connection, recorder: _Recorder
) -> None:
    await fresh_tables(db, CopyTypes)
    rows = [_row(n) for n in range(1, 1501)]
    recorder.sql.clear()
    assert await db.insert(rows) == 1500
    assert [s for s in recorder.sql if s.startswith("COPY")], recorder.sql
    assert not [s for s in recorder.sql if s.startswith("INSERT")]
    back = await db.select(CopyTypes).order_by(CopyTypes.id).collect()
    assert back == rows


async def test_small_batches_upserts_and_generated_ids_do_not_copy(
    db: Connection, recorder: _Recorder
) -> None:
    await fresh_tables(db, CopyTypes, CopyAuto)
    recorder.sql.clear()
    await db.insert([_row(n) for n in range(1, 11)])  # below bulk_copy_min_rows
    await db.insert_or_update([_row(n) for n in range(1, 1201)])  # an upsert
    autos = [CopyAuto(label=f"a{n}") for n in range(1200)]  # ids to read back
    await db.insert(autos)
    assert not [s for s in recorder.sql if s.startswith("COPY")], recorder.sql
    assert sorted(a.id for a in autos) == sorted(await db.select(CopyAuto.id).scalars().collect())
    assert await db.select(CopyTypes).count() == 1200


async def test_failed_copy_in_a_transaction_rolls_back_only_the_batch(db: Connection) -> None:
    await fresh_tables(db, CopyAuto)
    async with db.transaction():
        await db.insert(CopyAuto(id=-1, label="before"))
        batch = [CopyAuto(id=n, label=f"x{n}") for n in range(1, 1201)]
        batch[700] = CopyAuto(id=5, label="duplicate key")
        with pytest.raises(UniqueViolationError):
            await db.insert(batch)
        await db.insert(CopyAuto(id=-2, label="after"))
    labels = await db.select(CopyAuto.label).order_by(CopyAuto.id).scalars().collect()
    assert labels == ["after", "before"]


async def test_failed_copy_outside_a_transaction_writes_nothing(db: Connection) -> None:
    await fresh_tables(db, CopyAuto)
    batch = [CopyAuto(id=n, label=f"x{n}") for n in range(1, 1201)]
    batch[-1] = CopyAuto(id=1, label="duplicate key")
    with pytest.raises(UniqueViolationError):
        await db.insert(batch)
    assert await db.select(CopyAuto).count() == 0
    assert await db.insert(batch[:-1]) == 1199  # the connection is fine afterwards

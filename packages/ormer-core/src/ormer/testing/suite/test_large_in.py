"""Compliance suite: ``in_``/``not_in`` with 100,000 values (issue 15 item 9).

A list longer than ``ormer.expr.IN_ARRAY_MIN`` travels as ONE parameter (an array
on PostgreSQL, a JSON array on SQLite, an interpolated list on MySQL), so the
servers' bind-parameter limits (32,767 / 32,766) are never met and one compiled
statement serves every length.
"""

from __future__ import annotations

import pytest

from ormer import Connection, Model, field, primary
from ormer.expr import IN_ARRAY_MIN
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestLargeIn"]

ROWS = 3000
#: fewer rows where Turso compares every row with every value (no index on json_each's
#: text values: ~rows x values)
FEW = 300
VALUES = 100_000


class LargeInRow(Model, table="suite_large_in"):
    id: int = primary()
    name: str = field(max_length=20)
    score: float = 0.0


async def _rows(db: Connection, n: int = ROWS) -> None:
    await fresh_tables(db, LargeInRow)
    await db.insert([LargeInRow(id=i, name=f"n{i}", score=i / 2) for i in range(n)])


class TestLargeIn(SuiteBase):
    """Long in_ lists read back the exact matching rows on every backend."""

    async def test_in_100k_ints_reads_back_the_exact_rows(self, db: Connection) -> None:
        await _rows(db)
        evens = list(range(0, 2 * VALUES, 2))  # 100,000 values, 1,500 of them present
        got = await db.select(LargeInRow.id).filter(LargeInRow.id.in_(evens)).scalars().collect()
        assert sorted(got) == list(range(0, ROWS, 2))
        missing = (
            await db.select(LargeInRow.id).filter(LargeInRow.id.not_in(evens)).scalars().collect()
        )
        assert sorted(missing) == list(range(1, ROWS, 2))

    async def test_in_100k_strings_and_floats(self, db: Connection) -> None:
        await _rows(db, FEW)
        names = [f"n{i}" for i in range(0, VALUES * 3, 3)]
        q = db.select(LargeInRow.id).filter(LargeInRow.name.in_(names))
        assert sorted(await q.scalars().collect()) == list(range(0, FEW, 3))
        q = db.select(LargeInRow.id).filter(LargeInRow.name.not_in(names))
        assert sorted(await q.scalars().collect()) == [i for i in range(FEW) if i % 3]
        scores = [i / 2 for i in range(1, VALUES * 5, 5)]
        q = db.select(LargeInRow.id).filter(LargeInRow.score.in_(scores))
        assert sorted(await q.scalars().collect()) == list(range(1, FEW, 5))

    async def test_update_and_delete_with_100k_values(self, db: Connection) -> None:
        await _rows(db, FEW)
        ids = [*range(-VALUES, 0), 7, 11]
        changed = await (
            db.update(LargeInRow).filter(LargeInRow.id.in_(ids)).set(LargeInRow.name, "x").execute()
        )
        assert changed == 2
        assert await db.select(LargeInRow).filter(LargeInRow.name == "x").count() == 2
        assert await db.delete(LargeInRow).filter(LargeInRow.id.not_in(ids)).execute() == FEW - 2
        assert sorted(await db.select(LargeInRow.id).scalars().collect()) == [7, 11]

    async def test_one_statement_shape_for_every_long_length(self, db: Connection) -> None:
        await _rows(db)
        cache = db.dialect.cache
        lengths = [IN_ARRAY_MIN + 1, 5_000, 40_000, VALUES]
        counts = []
        misses_before = None
        for n in lengths:
            q = db.select(LargeInRow).filter(LargeInRow.id.in_(range(n)))
            counts.append(await q.count())
            if misses_before is None:
                misses_before = cache.misses
        assert counts == [min(n, ROWS) for n in lengths]
        assert cache.misses == misses_before, "a long in_ list compiled once per length"

    async def test_at_the_threshold_and_with_none(self, db: Connection) -> None:
        await _rows(db)
        for n in (IN_ARRAY_MIN, IN_ARRAY_MIN + 1):
            values: list[int | None] = [*range(n - 1), None]
            q = db.select(LargeInRow).filter(LargeInRow.id.in_(values))
            assert await q.count() == min(n - 1, ROWS)
            # NOT IN a list holding NULL matches nothing (SQL's three-valued logic)
            assert await db.select(LargeInRow).filter(LargeInRow.id.not_in(values)).count() == 0
        with pytest.raises(TypeError):
            LargeInRow.id.in_(5)  # not a list

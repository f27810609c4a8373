"""Compliance suite: inserts, upserts, updates and deletes (docs/writes.md).

Every write is checked by reading the rows back: ids set on the objects fetch
exactly those rows, counts match the rows changed, and guarded statements
change nothing.
"""

from __future__ import annotations

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    Model,
    UniqueViolationError,
    ValidationError,
    field,
    primary,
    unique,
)
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestWrites"]


class WritesItem(Model, table="suite_writes_item"):
    id: int = primary(auto=True)
    name: str = field(max_length=40)
    seq: int = 0
    score: int = 0
    note: str | None = None


class WritesKeyed(Model, table="suite_writes_keyed"):
    id: int = primary()
    name: str = field(max_length=40)
    score: int = 0


class WritesTicket(Model, table="suite_writes_ticket"):
    """Only a database-made key: inserts send INSERT ... DEFAULT VALUES."""

    id: int = primary(auto=True)


class WritesAccount(Model, table="suite_writes_account"):
    id: int = primary(auto=True)
    email: str = unique(max_length=100)
    name: str = field(max_length=40)
    visits: int = 0


async def _items_by_id(db: Connection) -> dict[int, tuple[str, int, int, str | None]]:
    rows = await db.select(WritesItem).collect()
    return {r.id: (r.name, r.seq, r.score, r.note) for r in rows}


class TestWrites(SuiteBase):
    """Writes change exactly the rows they say, and report it."""

    async def test_insert_sets_auto_id(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        first = WritesItem(name="first")
        assert first.id is None
        assert await db.insert(first).execute() == 1
        assert type(first.id) is int
        second = WritesItem(name="second")
        await db.insert(second).execute()
        assert type(second.id) is int
        assert second.id != first.id
        assert await db.find(WritesItem, first.id) == first
        assert await db.find(WritesItem, second.id) == second

    async def test_insert_a_model_with_only_an_auto_key(self, db: Connection) -> None:
        await fresh_tables(db, WritesTicket)
        one = WritesTicket()
        assert await db.insert(one) == 1
        many = [WritesTicket() for _ in range(3)]
        assert await db.insert(many) == 3
        ids = [one.id, *(t.id for t in many)]
        assert all(type(i) is int for i in ids) and len(set(ids)) == 4
        rows = await db.select(WritesTicket).order_by(WritesTicket.id).collect()
        assert [r.id for r in rows] == sorted(ids)

    async def test_awaiting_the_builder_executes(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        obj = WritesItem(name="awaited", seq=3)
        n = await db.insert(obj)
        assert n == 1
        assert obj.id is not None
        (row,) = await db.select(WritesItem).collect()
        assert row == obj
        # a builder that is never awaited runs nothing, and says so when collected
        with pytest.warns(RuntimeWarning, match=r"insert\(WritesItem object\) was never executed"):
            db.insert(WritesItem(name="never"))
        assert await db.select(WritesItem).count() == 1
        assert (
            await db.update(WritesItem).filter(WritesItem.id == obj.id).set(WritesItem.seq, 4) == 1
        )
        assert await db.delete(WritesItem).filter(WritesItem.seq == 4) == 1
        assert await db.select(WritesItem).count() == 0

    async def test_builders_are_generative(self, db: Connection) -> None:
        """Reusing a base builder: each method returns a new one, the base is unchanged."""
        await fresh_tables(db, WritesItem)
        await db.insert([WritesItem(name=n, seq=i) for i, n in enumerate("abcdef")])
        select_base = db.select(WritesItem.name).filter(WritesItem.seq >= 2)
        low = select_base.filter(WritesItem.seq < 4)
        high = select_base.filter(WritesItem.seq >= 4)
        assert sorted(await low.scalars().collect()) == ["c", "d"]
        assert sorted(await high.scalars().collect()) == ["e", "f"]
        assert sorted(await select_base.scalars().collect()) == ["c", "d", "e", "f"]

        update_base = db.update(WritesItem).filter(WritesItem.seq >= 2)
        first = update_base.filter(WritesItem.seq < 4).set(WritesItem.score, 1)
        second = update_base.filter(WritesItem.seq >= 4).set(WritesItem.score, 2)
        assert await first == 2
        assert await second == 2
        assert await update_base.set(WritesItem.note, "x") == 4  # still only seq >= 2
        rows = {r.name: (r.score, r.note) for r in await db.select(WritesItem).collect()}
        assert rows == {
            "a": (0, None),
            "b": (0, None),
            "c": (1, "x"),
            "d": (1, "x"),
            "e": (2, "x"),
            "f": (2, "x"),
        }

        delete_base = db.delete(WritesItem).filter(WritesItem.seq >= 2)
        assert await delete_base.filter(WritesItem.seq == 5) == 1
        assert await delete_base.filter(WritesItem.seq == 2) == 1
        remaining = await db.select(WritesItem.name).order_by(WritesItem.name).scalars().collect()
        assert remaining == ["a", "b", "d", "e"]
        assert await delete_base == 2  # seq >= 2 again, not seq == 5 AND seq == 2
        remaining = await db.select(WritesItem.name).order_by(WritesItem.name).scalars().collect()
        assert remaining == ["a", "b"]

    async def test_batch_insert_sets_every_id(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        objects = [
            WritesItem(name=f"item-{i}", seq=i, note=None if i % 3 else "x") for i in range(2500)
        ]
        assert await db.insert(objects) == 2500
        ids = [o.id for o in objects]
        assert all(type(i) is int for i in ids)
        assert len(set(ids)) == 2500
        stored = await _items_by_id(db)
        assert stored == {o.id: (o.name, o.seq, o.score, o.note) for o in objects}
        # the ids fetch exactly those rows, by key
        for obj in objects[::250] + objects[-3:]:
            assert await db.find(WritesItem, obj.id) == obj
        some = [o.id for o in objects[100:130]]
        got = (
            await db.select(WritesItem)
            .filter(WritesItem.id.in_(some))
            .order_by(WritesItem.id)
            .collect()
        )
        assert got == sorted(objects[100:130], key=lambda o: o.id)

    async def test_explicit_and_auto_ids_mixed(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        explicit = [WritesItem(id=10_000_000 + i, name=f"explicit-{i}", seq=i) for i in range(3)]
        auto = [WritesItem(name=f"auto-{i}", seq=100 + i) for i in range(4)]
        mixed = [auto[0], explicit[0], auto[1], explicit[1], auto[2], auto[3], explicit[2]]
        assert await db.insert(mixed) == 7
        assert [o.id for o in explicit] == [10_000_000, 10_000_001, 10_000_002]
        assert all(type(o.id) is int for o in auto)
        assert len({o.id for o in mixed}) == 7
        stored = await _items_by_id(db)
        assert stored == {o.id: (o.name, o.seq, o.score, o.note) for o in mixed}
        # more auto ids after explicit ones collide with nothing
        later = WritesItem(name="later")
        await db.insert(later)
        assert later.id not in {o.id for o in mixed}
        assert await db.find(WritesItem, later.id) == later

    async def test_batch_insert_is_atomic(self, db: Connection) -> None:
        await fresh_tables(db, WritesKeyed)
        await db.insert(WritesKeyed(id=5000, name="existing"))
        # more rows than one statement carries: the failing last row undoes them all
        batch = [WritesKeyed(id=i, name=f"k{i}") for i in range(2000)] + [
            WritesKeyed(id=5000, name="duplicate")
        ]
        with pytest.raises(UniqueViolationError):
            await db.insert(batch)
        assert await db.select(WritesKeyed.name).scalars().collect() == ["existing"]
        assert not db.in_transaction

    async def test_insert_or_update_on_primary_key(self, db: Connection) -> None:
        await fresh_tables(db, WritesKeyed)
        await db.insert_or_update(WritesKeyed(id=1, name="one", score=1))
        await db.insert_or_update(WritesKeyed(id=1, name="one", score=1))
        assert await db.select(WritesKeyed).collect() == [WritesKeyed(id=1, name="one", score=1)]
        await db.insert_or_update(WritesKeyed(id=1, name="uno", score=11))
        assert await db.select(WritesKeyed).collect() == [WritesKeyed(id=1, name="uno", score=11)]
        # a list mixes updates and inserts
        await db.insert_or_update(
            [WritesKeyed(id=1, name="eins", score=111), WritesKeyed(id=2, name="two", score=2)]
        )
        rows = await db.select(WritesKeyed).order_by(WritesKeyed.id).collect()
        assert rows == [
            WritesKeyed(id=1, name="eins", score=111),
            WritesKeyed(id=2, name="two", score=2),
        ]
        assert await db.insert_or_update([]) == 0

    async def test_insert_or_update_on_conflict_column(self, db: Connection) -> None:
        await fresh_tables(db, WritesAccount)
        ann = WritesAccount(email="ann@x.io", name="Ann", visits=1)
        await db.insert(ann)
        again = WritesAccount(email="ann@x.io", name="Ann B.", visits=2)
        await db.insert_or_update(again, conflict=(WritesAccount.email,))
        await db.insert_or_update(again, conflict=(WritesAccount.email,))
        rows = await db.select(WritesAccount).collect()
        assert len(rows) == 1
        assert (rows[0].id, rows[0].email, rows[0].name, rows[0].visits) == (
            ann.id,
            "ann@x.io",
            "Ann B.",
            2,
        )
        if db.dialect.supports_returning:
            # the key comes back from the row the upsert updated
            assert again.id == ann.id
        bob = WritesAccount(email="bob@x.io", name="Bob")
        await db.insert_or_update(bob, conflict=(WritesAccount.email,))
        assert bob.id is not None
        assert await db.find(WritesAccount, bob.id) == bob
        assert sorted(await db.select(WritesAccount.email).scalars().collect()) == [
            "ann@x.io",
            "bob@x.io",
        ]

    async def test_update_with_filter(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        objects = [WritesItem(name=f"n{i}", seq=i, score=10) for i in range(6)]
        await db.insert(objects)
        changed = await (
            db.update(WritesItem)
            .filter(WritesItem.seq >= 3)
            .set(WritesItem.score, 99)
            .set(WritesItem.note, "changed")
            .execute()
        )
        assert changed == 3
        rows = (
            await db.select(WritesItem.seq, WritesItem.score, WritesItem.note)
            .order_by(WritesItem.seq)
            .collect()
        )
        assert rows == [(i, 10, None) for i in range(3)] + [(i, 99, "changed") for i in range(3, 6)]
        none = (
            await db.update(WritesItem)
            .filter(WritesItem.seq > 100)
            .set(WritesItem.score, 0)
            .execute()
        )
        assert none == 0
        assert await db.select(WritesItem).filter(WritesItem.score == 0).count() == 0

    async def test_update_with_expressions(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        await db.insert([WritesItem(name=f"n{i}", seq=i, score=i * 10) for i in range(4)])
        changed = await (
            db.update(WritesItem)
            .filter(WritesItem.seq < 2)
            .set(WritesItem.score, WritesItem.score + 1)
            .execute()
        )
        assert changed == 2
        await (
            db.update(WritesItem)
            .filter(WritesItem.seq == 3)
            .set(WritesItem.score, WritesItem.seq * 100 - WritesItem.score)
            .execute()
        )
        scores = await db.select(WritesItem.score).order_by(WritesItem.seq).scalars().collect()
        assert scores == [1, 11, 20, 270]
        # every row's new value comes from its own old values
        await (
            db.update(WritesItem)
            .all()
            .set(WritesItem.seq, WritesItem.seq + 1)
            .set(WritesItem.score, WritesItem.seq)
            .execute()
        )
        rows = await db.select(WritesItem.seq, WritesItem.score).order_by(WritesItem.seq).collect()
        assert rows == [(1, 0), (2, 1), (3, 2), (4, 3)]

    async def test_update_validates_values(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        await db.insert(WritesItem(name="v", score=1))
        with pytest.raises(ValidationError):
            db.update(WritesItem).filter(WritesItem.name == "v").set(WritesItem.score, "high")
        with pytest.raises(ValidationError):
            db.update(WritesItem).filter(WritesItem.name == "v").set(WritesItem.name, None)
        with pytest.raises(ValidationError):
            db.update(WritesItem).filter(WritesItem.name == "v").set(WritesItem.name, "x" * 41)
        (row,) = await db.select(WritesItem).collect()
        assert (row.name, row.score) == ("v", 1)

    async def test_delete_with_filter(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        await db.insert([WritesItem(name=f"n{i}", seq=i) for i in range(5)])
        deleted = (
            await db.delete(WritesItem)
            .filter((WritesItem.seq == 0) | (WritesItem.seq >= 3))
            .execute()
        )
        assert deleted == 3
        assert await db.select(WritesItem.seq).order_by(WritesItem.seq).scalars().collect() == [
            1,
            2,
        ]
        assert await db.delete(WritesItem).filter(WritesItem.seq == 42).execute() == 0
        assert await db.select(WritesItem).count() == 2

    async def test_update_and_delete_without_filter_are_refused(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        await db.insert([WritesItem(name="a", score=1), WritesItem(name="b", score=2)])
        with pytest.raises(ConfigurationError):
            await db.update(WritesItem).set(WritesItem.score, 0).execute()
        with pytest.raises(ConfigurationError):
            await db.update(WritesItem).set(WritesItem.score, 0)
        with pytest.raises(ConfigurationError):
            await db.delete(WritesItem).execute()
        with pytest.raises(ConfigurationError):
            await db.delete(WritesItem)
        # an update without set() is refused too
        with pytest.raises(ConfigurationError):
            await db.update(WritesItem).filter(WritesItem.name == "a").execute()
        rows = (
            await db.select(WritesItem.name, WritesItem.score).order_by(WritesItem.name).collect()
        )
        assert rows == [("a", 1), ("b", 2)]

    async def test_all_allows_unfiltered_writes(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        await db.insert([WritesItem(name=f"n{i}", score=i) for i in range(4)])
        assert await db.update(WritesItem).all().set(WritesItem.score, 7).execute() == 4
        assert await db.select(WritesItem.score).scalars().collect() == [7, 7, 7, 7]
        assert await db.delete(WritesItem).all().execute() == 4
        assert await db.select(WritesItem).count() == 0

    async def test_empty_insert_list(self, db: Connection) -> None:
        await fresh_tables(db, WritesItem)
        assert await db.insert([]) == 0
        assert await db.insert([]).execute() == 0
        assert await db.select(WritesItem).count() == 0
        assert not db.in_transaction

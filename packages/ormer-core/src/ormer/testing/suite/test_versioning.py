"""Compliance suite: optimistic locking with ``version_field()`` (docs/writes.md).

Two connections (or a pool's) read the same row; the first write wins and the
second raises ``StaleObjectError``, leaving the row as the first one wrote it.
Every check reads the rows back.
"""

from __future__ import annotations

import pytest

from ormer import (
    Connection,
    Database,
    Model,
    NotFoundError,
    StaleObjectError,
    ValidationError,
    field,
    primary,
    unique,
    version_field,
)
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestOptimisticLocking"]


class VersionedDoc(Model, table="suite_versioned_doc"):
    id: int = primary(auto=True)
    title: str = field(max_length=40)
    body: str = ""
    version: int = version_field()


class VersionedSlot(Model, table="suite_versioned_slot"):
    """The version declared first and stored under another column name; explicit keys."""

    rev: int = version_field(column="row_version", default=10)
    code: str = primary(max_length=20)
    label: str = unique(max_length=40)
    hits: int = 0


class VersionedAudit(Model, table="suite_versioned_audit"):
    id: int = primary(auto=True)
    note: str = field(max_length=40)


async def _rows(db: Connection) -> dict[int, tuple[str, str, int]]:
    return {d.id: (d.title, d.body, d.version) for d in await db.select(VersionedDoc).collect()}


async def _slots(db: Connection) -> dict[str, tuple[str, int, int]]:
    rows = await db.select(VersionedSlot).collect()
    return {s.code: (s.label, s.hits, s.rev) for s in rows}


class TestOptimisticLocking(SuiteBase):
    """``version_field()``: stale objects cannot overwrite or delete newer rows."""

    async def test_insert_stores_the_objects_version(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc, VersionedSlot)
        await db.insert([VersionedDoc(title="a"), VersionedDoc(title="b", version=7)])
        assert sorted((t, v) for t, _, v in (await _rows(db)).values()) == [("a", 1), ("b", 7)]
        await db.insert(VersionedSlot(code="s1", label="one"))
        assert await _slots(db) == {"s1": ("one", 0, 10)}
        raw = await db.exec_rows("SELECT row_version FROM suite_versioned_slot")
        assert [int(r[0]) for r in raw] == [10]

    async def test_update_bumps_the_version(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc)
        doc = VersionedDoc(title="draft")
        await db.insert(doc)
        doc.title = "first"
        assert await db.update(doc) == 1
        assert doc.version == 2
        doc.body = "text"
        assert await db.update(doc) == 1
        assert doc.version == 3
        assert await _rows(db) == {doc.id: ("first", "text", 3)}
        assert await db.find(VersionedDoc, doc.id) == doc

    async def test_second_writer_gets_stale_object_error(
        self, db: Connection, ormer_url: str
    ) -> None:
        await fresh_tables(db, VersionedDoc)
        seed = VersionedDoc(title="seed", body="b0")
        await db.insert(seed)
        async with await Database.connect(ormer_url) as other:
            mine = await db.find(VersionedDoc, seed.id)
            theirs = await other.find(VersionedDoc, seed.id)
            assert mine is not None and theirs is not None
            mine.title = "A"
            assert await db.update(mine) == 1
            theirs.title = "B"
            theirs.body = "b1"
            with pytest.raises(StaleObjectError, match=r"id=\d+.*version=1.*refresh"):
                await other.update(theirs)
            # the row holds A's write; B's object is left as it was
            assert await _rows(db) == {seed.id: ("A", "b0", 2)}
            assert (theirs.title, theirs.body, theirs.version) == ("B", "b1", 1)
            # B reloads, reapplies its change, and succeeds
            await other.refresh(theirs)
            assert (theirs.title, theirs.version) == ("A", 2)
            theirs.body = "b1"
            assert await other.update(theirs) == 1
            assert theirs.version == 3
        assert await _rows(db) == {seed.id: ("A", "b1", 3)}
        # A's object is now stale too
        mine.title = "late"
        with pytest.raises(StaleObjectError):
            await db.update(mine)
        assert await _rows(db) == {seed.id: ("A", "b1", 3)}
        assert mine.version == 2

    async def test_stale_through_the_pool(self, db: Connection, ormer_url: str) -> None:
        await fresh_tables(db, VersionedDoc)
        seed = VersionedDoc(title="seed")
        await db.insert(seed)
        async with await Database.create_pool(ormer_url).max_size(2).build() as pool:
            first = await pool.find(VersionedDoc, seed.id)
            second = await pool.find(VersionedDoc, seed.id)
            assert first is not None and second is not None
            first.title = "first"
            assert await pool.update(first) == 1
            second.title = "second"
            with pytest.raises(StaleObjectError):
                await pool.update(second)
            assert await _rows(db) == {seed.id: ("first", "", 2)}
            with pytest.raises(StaleObjectError):
                await pool.delete(second)
            assert await _rows(db) == {seed.id: ("first", "", 2)}
            await pool.refresh(second)
            second.title = "second"
            assert await pool.update(second) == 1
            assert second.version == 3
            async with pool.get() as conn:
                assert await _rows(conn) == {seed.id: ("second", "", 3)}

    async def test_stale_inside_a_transaction(self, db: Connection, ormer_url: str) -> None:
        await fresh_tables(db, VersionedDoc)
        seed = VersionedDoc(title="seed")
        await db.insert(seed)
        async with await Database.connect(ormer_url) as other:
            theirs = await other.find(VersionedDoc, seed.id)
            assert theirs is not None
            async with db.transaction():
                mine = await db.find(VersionedDoc, seed.id)
                assert mine is not None
                mine.title = "in tx"
                assert await db.update(mine) == 1
                assert mine.version == 2
            assert await _rows(other) == {seed.id: ("in tx", "", 2)}
            theirs.title = "stale"
            with pytest.raises(StaleObjectError):
                async with other.transaction():
                    await other.update(theirs)
            assert theirs.version == 1
            assert await _rows(db) == {seed.id: ("in tx", "", 2)}

    async def test_run_transaction_retry_pattern(self, db: Connection, ormer_url: str) -> None:
        """StaleObjectError is not a TransientError: run_transaction rolls back and
        raises it; the caller refreshes the object and runs the transaction again."""
        await fresh_tables(db, VersionedDoc, VersionedAudit)
        seed = VersionedDoc(title="seed")
        await db.insert(seed)
        held = await db.find(VersionedDoc, seed.id)
        assert held is not None
        async with await Database.connect(ormer_url) as other:
            await (
                other.update(VersionedDoc)
                .filter(VersionedDoc.id == seed.id)
                .set(VersionedDoc.title, "other")
            )
        attempts = 0

        async def rename(conn: Connection) -> None:
            nonlocal attempts
            attempts += 1
            await conn.insert(VersionedAudit(note=f"rename {attempts}"))
            held.title = "mine"
            await conn.update(held)

        for _ in range(3):
            try:
                await db.run_transaction(rename)
                break
            except StaleObjectError:
                await db.refresh(held)
        assert attempts == 2
        assert held.version == 3
        assert await _rows(db) == {seed.id: ("mine", "", 3)}
        notes = await db.select(VersionedAudit.note).scalars().collect()
        assert notes == ["rename 2"]  # the stale attempt's insert was rolled back

    async def test_update_of_a_deleted_row_raises_not_found(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc)
        doc = VersionedDoc(title="gone")
        await db.insert(doc)
        assert await db.delete(VersionedDoc).filter(VersionedDoc.id == doc.id) == 1
        doc.title = "again"
        with pytest.raises(NotFoundError) as info:
            await db.update(doc)
        assert not isinstance(info.value, StaleObjectError)
        assert doc.version == 1
        assert await _rows(db) == {}

    async def test_delete_checks_the_version(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc)
        doc = VersionedDoc(title="x")
        keep = VersionedDoc(title="keep")
        await db.insert([doc, keep])
        stale = await db.find(VersionedDoc, doc.id)
        assert stale is not None
        doc.title = "y"
        await db.update(doc)
        with pytest.raises(StaleObjectError, match="delete"):
            await db.delete(stale)
        assert await _rows(db) == {doc.id: ("y", "", 2), keep.id: ("keep", "", 1)}
        assert await db.delete(doc) == 1
        assert await db.delete(doc) == 0  # gone: idempotent, as without a version
        assert await db.delete(stale) == 0
        assert await _rows(db) == {keep.id: ("keep", "", 1)}

    async def test_bulk_update_bumps_touched_rows(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc)
        docs = [VersionedDoc(title=t) for t in ("a", "b", "c")]
        await db.insert(docs)
        a, b, c = docs
        n = (
            await db.update(VersionedDoc)
            .filter(VersionedDoc.title != "c")
            .set(VersionedDoc.body, "bulk")
        )
        assert n == 2
        assert await _rows(db) == {
            a.id: ("a", "bulk", 2),
            b.id: ("b", "bulk", 2),
            c.id: ("c", "", 1),
        }
        a.title = "stale"
        with pytest.raises(StaleObjectError):
            await db.update(a)  # read before the bulk update
        c.title = "fresh"
        assert await db.update(c) == 1  # untouched by it
        # a statement that sets the version itself is not bumped again
        await db.update(VersionedDoc).filter(VersionedDoc.id == b.id).set(VersionedDoc.version, 40)
        await db.update(VersionedDoc).all().set(VersionedDoc.version, VersionedDoc.version * 2)
        assert await _rows(db) == {
            a.id: ("a", "bulk", 4),
            b.id: ("b", "bulk", 80),
            c.id: ("fresh", "", 4),
        }

    async def test_upsert_bumps_the_version_of_updated_rows(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc)
        doc = VersionedDoc(title="a")
        await db.insert(doc)
        # the update branch ignores the object's version and adds 1 to the row's
        await db.insert_or_update(
            [VersionedDoc(id=doc.id, title="b", body="x", version=50), VersionedDoc(title="new")]
        )
        rows = await _rows(db)
        assert rows[doc.id] == ("b", "x", 2)
        assert sorted(rows.values()) == [("b", "x", 2), ("new", "", 1)]
        await db.insert_or_update(VersionedDoc(id=doc.id, title="c"))
        assert (await _rows(db))[doc.id] == ("c", "", 3)
        doc.title = "stale"
        with pytest.raises(StaleObjectError):
            await db.update(doc)  # the object still holds version 1
        await db.refresh(doc)
        assert (doc.title, doc.version) == ("c", 3)

    async def test_upsert_with_version_first_and_renamed(self, db: Connection) -> None:
        """The version column declared before the others, under another name, upserted
        on the key and on a unique column (MySQL assigns left to right)."""
        await fresh_tables(db, VersionedSlot)
        await db.insert(
            [VersionedSlot(code="s1", label="one"), VersionedSlot(code="s2", label="two")]
        )
        await db.insert_or_update(
            [
                VersionedSlot(code="s1", label="uno", hits=5, rev=1),
                VersionedSlot(code="s3", label="three", rev=3),
            ]
        )
        assert await _slots(db) == {
            "s1": ("uno", 5, 11),
            "s2": ("two", 0, 10),
            "s3": ("three", 0, 3),
        }
        await db.insert_or_update(
            VersionedSlot(code="s2", label="two", hits=9), conflict=(VersionedSlot.label,)
        )
        assert (await _slots(db))["s2"] == ("two", 9, 11)
        slot = await db.find(VersionedSlot, "s1")
        assert slot is not None and slot.rev == 11
        slot.hits = 6
        assert await db.update(slot) == 1
        assert slot.rev == 12
        raw = await db.exec_rows("SELECT code, row_version FROM suite_versioned_slot")
        assert sorted((str(c), int(v)) for c, v in raw) == [("s1", 12), ("s2", 11), ("s3", 3)]

    async def test_bad_version_value_sends_nothing(self, db: Connection) -> None:
        await fresh_tables(db, VersionedDoc)
        doc = VersionedDoc(title="a")
        await db.insert(doc)
        doc.title = "b"
        doc.version = None  # type: ignore[assignment]
        with pytest.raises(ValidationError):
            await db.update(doc)
        with pytest.raises(ValidationError):
            await db.delete(doc)
        assert await _rows(db) == {doc.id: ("a", "", 1)}

"""Compliance suite: model declarations (docs/models.md) as a database sees them.

Table names, column renames, defaults, nullability, unique constraints,
indexes, foreign keys and primary keys are each checked through real rows:
what the model declares is what the database enforces.
"""

from __future__ import annotations

from typing import Any

import pytest

from ormer import (
    Connection,
    DatabaseError,
    ForeignKeyViolationError,
    Model,
    UniqueViolationError,
    field,
    foreign_key,
    index,
    primary,
    table_of,
    unique,
)
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestModels"]


class SuiteModelsDefaultName(Model):
    """No ``table=``: the table is the snake_case class name."""

    id: int = primary(auto=True)
    label: str


class SuiteModelsRenamed(Model, table="suite_models_custom_table"):
    id: int = primary(auto=True)
    label: str


class SuiteModelsColumns(Model, table="suite_models_columns"):
    id: int = primary(auto=True, column="row_id")
    display: str = field(column="display_name", max_length=50)
    score: int = index(default=0, column="score_value")


class SuiteModelsDefaults(Model, table="suite_models_defaults"):
    id: int = primary(auto=True)
    name: str
    status: str = field(default="new", max_length=20)
    count: int = 7
    ratio: float = 0.5
    active: bool = True
    tags: list = field(default_factory=list)  # type: ignore[type-arg]
    meta: dict = field(default_factory=lambda: {"v": 1})  # type: ignore[type-arg]
    note: str | None = None
    maybe: int | None = None


class SuiteModelsUnique(Model, table="suite_models_unique"):
    id: int = primary(auto=True)
    email: str = unique(max_length=100)
    # one two-column constraint: (tenant, handle) unique, each alone is not
    tenant: str = unique(group="tenant_handle", max_length=30)
    handle: int = unique(group="tenant_handle")
    nickname: str | None = unique(default=None, max_length=30)


class SuiteModelsIndexed(Model, table="suite_models_indexed"):
    id: int = primary(auto=True)
    age: int = index()
    city: str = index(group="city_street", max_length=40)
    street: str = index(group="city_street", max_length=80)
    plain: str | None = field(default=None, max_length=40)


class SuiteModelsParent(Model, table="suite_models_parent"):
    id: int = primary(auto=True)
    name: str = field(max_length=40)


class SuiteModelsChild(Model, table="suite_models_child"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key("suite_models_parent.id", on_delete="cascade")
    name: str = field(max_length=40)


class SuiteModelsRestricted(Model, table="suite_models_restricted"):
    """A foreign key by column object and without on_delete: deleting the parent is refused."""

    id: int = primary(auto=True)
    parent_id: int | None = foreign_key(SuiteModelsParent.id)


class SuiteModelsComposite(Model, table="suite_models_composite"):
    region: str = primary(max_length=20)
    number: int = primary()
    label: str = ""


class SuiteModelsExplicitKey(Model, table="suite_models_explicit_key"):
    id: int = primary()
    name: str


class SuiteModelsOddNames(Model, table="suite_models_odd_names"):
    """Field names that are ordinary words in Python code must still work."""

    id: int = primary()
    self: str = "s"
    d: int = 0
    order: int = field(default=0, column="order")  # an SQL keyword as a column name


#: every table referencing SuiteModelsParent: dropped with it, whichever test ran before
FAMILY = (SuiteModelsParent, SuiteModelsChild, SuiteModelsRestricted)


async def _count_raw(db: Connection, table: str) -> int:
    rows = await db.exec_rows(f"SELECT COUNT(*) FROM {db.dialect.quote(table)}")
    return int(rows[0][0])


class TestModels(SuiteBase):
    """What a model declares is what the database stores and enforces."""

    async def test_default_table_name_is_snake_case(self, db: Connection) -> None:
        assert table_of(SuiteModelsDefaultName).name == "suite_models_default_name"
        await fresh_tables(db, SuiteModelsDefaultName)
        await db.insert([SuiteModelsDefaultName(label="a"), SuiteModelsDefaultName(label="b")])
        assert await _count_raw(db, "suite_models_default_name") == 2
        labels = (
            await db.select(SuiteModelsDefaultName.label)
            .order_by(SuiteModelsDefaultName.label)
            .scalars()
            .collect()
        )
        assert labels == ["a", "b"]

    async def test_table_keyword_overrides_name(self, db: Connection) -> None:
        assert table_of(SuiteModelsRenamed).name == "suite_models_custom_table"
        await fresh_tables(db, SuiteModelsRenamed)
        await db.insert(SuiteModelsRenamed(label="x"))
        q = db.dialect.quote
        rows = await db.exec_rows(f"SELECT {q('label')} FROM {q('suite_models_custom_table')}")
        assert rows == [("x",)]

    async def test_field_column_renames(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsColumns)
        obj = SuiteModelsColumns(display="Ann", score=3)
        await db.insert(obj)
        assert isinstance(obj.id, int)
        q, ph = db.dialect.quote, db.dialect.placeholder
        rows = await db.exec_rows(
            f"SELECT {q('row_id')}, {q('display_name')}, {q('score_value')} "
            f"FROM {q('suite_models_columns')} WHERE {q('row_id')} = {ph(1)}",
            [obj.id],
        )
        assert rows == [(obj.id, "Ann", 3)]
        # the ORM side uses attribute names and maps them to the columns
        found = (
            await db.select(SuiteModelsColumns).filter(SuiteModelsColumns.display == "Ann").first()
        )
        assert found == obj
        assert await db.find(SuiteModelsColumns, obj.id) == obj
        changed = await (
            db.update(SuiteModelsColumns)
            .filter(SuiteModelsColumns.id == obj.id)
            .set(SuiteModelsColumns.score, SuiteModelsColumns.score + 10)
            .execute()
        )
        assert changed == 1
        mapped = await db.exec_table(
            SuiteModelsColumns,
            f"SELECT {q('row_id')}, {q('display_name')}, {q('score_value')} "
            f"FROM {q('suite_models_columns')}",
        )
        assert mapped == [SuiteModelsColumns(id=obj.id, display="Ann", score=13)]
        # a raw insert by column name reads back through the model
        await db.exec_non_query(
            f"INSERT INTO {q('suite_models_columns')} ({q('display_name')}, {q('score_value')}) "
            f"VALUES ({ph(1)}, {ph(2)})",
            ["Bob", 5],
        )
        bob = await db.select(SuiteModelsColumns).filter(SuiteModelsColumns.score == 5).first()
        assert bob is not None
        assert bob.display == "Bob"

    async def test_defaults_and_default_factory(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsDefaults)
        a = SuiteModelsDefaults(name="a")
        b = SuiteModelsDefaults(name="b", status="done", count=0, tags=["x"], meta={})
        assert a.tags == []
        assert a.tags is not SuiteModelsDefaults(name="c").tags
        a.tags.append("mine")  # the factory gave this object its own list
        assert SuiteModelsDefaults(name="d").tags == []
        await db.insert([a, b])
        rows = await db.select(SuiteModelsDefaults).order_by(SuiteModelsDefaults.name).collect()
        assert rows == [a, b]
        ra, rb = rows
        assert (ra.status, ra.count, ra.ratio, ra.active) == ("new", 7, 0.5, True)
        assert ra.tags == ["mine"]
        assert ra.meta == {"v": 1}
        assert ra.note is None
        assert ra.maybe is None
        assert (rb.status, rb.count, rb.tags, rb.meta) == ("done", 0, ["x"], {})

    async def test_nullable_fields(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsDefaults)
        await db.insert(
            [
                SuiteModelsDefaults(name="null"),
                SuiteModelsDefaults(name="set", note="hello", maybe=0),
            ]
        )
        nulls = (
            await db.select(SuiteModelsDefaults.name)
            .filter(SuiteModelsDefaults.note.is_null())
            .scalars()
            .collect()
        )
        assert nulls == ["null"]
        # 0 and "" are values, not NULL
        zero = await db.select(SuiteModelsDefaults).filter(SuiteModelsDefaults.maybe == 0).first()
        assert zero is not None
        assert (zero.note, zero.maybe) == ("hello", 0)
        await (
            db.update(SuiteModelsDefaults)
            .filter(SuiteModelsDefaults.name == "set")
            .set(SuiteModelsDefaults.note, None)
            .execute()
        )
        assert (
            await db.select(SuiteModelsDefaults).filter(SuiteModelsDefaults.note.is_null()).count()
            == 2
        )

    async def test_unique_is_enforced(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsUnique)
        await db.insert(SuiteModelsUnique(email="a@x.io", tenant="t1", handle=1))
        with pytest.raises(UniqueViolationError):
            await db.insert(SuiteModelsUnique(email="a@x.io", tenant="t2", handle=2))
        assert await db.select(SuiteModelsUnique).count() == 1
        # several NULLs in a unique nullable column are allowed
        await db.insert(SuiteModelsUnique(email="b@x.io", tenant="t2", handle=2))
        await db.insert(SuiteModelsUnique(email="c@x.io", tenant="t3", handle=3, nickname="n"))
        with pytest.raises(UniqueViolationError):
            await db.insert(SuiteModelsUnique(email="d@x.io", tenant="t4", handle=4, nickname="n"))
        assert sorted(await db.select(SuiteModelsUnique.email).scalars().collect()) == [
            "a@x.io",
            "b@x.io",
            "c@x.io",
        ]

    async def test_unique_group_is_one_constraint(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsUnique)
        await db.insert(
            [
                SuiteModelsUnique(email="1@x.io", tenant="acme", handle=1),
                SuiteModelsUnique(email="2@x.io", tenant="acme", handle=2),  # same tenant
                SuiteModelsUnique(email="3@x.io", tenant="other", handle=1),  # same handle
            ]
        )
        with pytest.raises(UniqueViolationError):
            await db.insert(SuiteModelsUnique(email="4@x.io", tenant="acme", handle=1))
        rows = (
            await db.select(SuiteModelsUnique.tenant, SuiteModelsUnique.handle)
            .order_by(SuiteModelsUnique.tenant, SuiteModelsUnique.handle)
            .collect()
        )
        assert rows == [("acme", 1), ("acme", 2), ("other", 1)]
        groups = {
            name: [f.attr for f in members]
            for name, members in table_of(SuiteModelsUnique).unique_groups
        }
        assert ["tenant", "handle"] in groups.values()

    async def test_indexes_are_created(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsIndexed)
        # creating again with if_not_exists (the default) is a no-op, indexes included
        await db.create_table(SuiteModelsIndexed)
        await db.insert(
            [
                SuiteModelsIndexed(age=30, city="Oslo", street="Main"),
                SuiteModelsIndexed(age=20, city="Oslo", street="Side"),
                SuiteModelsIndexed(age=30, city="Rome", street="Main"),
            ]
        )
        found = (
            await db.select(SuiteModelsIndexed.street)
            .filter(SuiteModelsIndexed.city == "Oslo", SuiteModelsIndexed.street == "Side")
            .scalars()
            .collect()
        )
        assert found == ["Side"]
        assert await db.select(SuiteModelsIndexed).filter(SuiteModelsIndexed.age == 30).count() == 2
        # the declared indexes exist: creating another index under the same name is refused
        groups = {
            name: [f.column for f in members]
            for name, members in table_of(SuiteModelsIndexed).index_groups
        }
        assert sorted(groups.values()) == [["age"], ["city", "street"]]
        q = db.dialect.quote
        table = q("suite_models_indexed")
        for name in groups:
            with pytest.raises(DatabaseError):
                await db.exec_non_query(f"CREATE INDEX {q(name)} ON {table} ({q('plain')})")
        # ...while the same statement under a fresh name is accepted
        await db.exec_non_query(
            f"CREATE INDEX {q('suite_models_indexed_extra')} ON {table} ({q('plain')})"
        )
        assert await db.select(SuiteModelsIndexed).count() == 3

    async def test_foreign_key_cascade(self, db: Connection) -> None:
        await fresh_tables(db, *FAMILY)
        keep, drop = SuiteModelsParent(name="keep"), SuiteModelsParent(name="drop")
        await db.insert([keep, drop])
        await db.insert(
            [
                SuiteModelsChild(parent_id=keep.id, name="k1"),
                SuiteModelsChild(parent_id=drop.id, name="d1"),
                SuiteModelsChild(parent_id=drop.id, name="d2"),
            ]
        )
        deleted = (
            await db.delete(SuiteModelsParent).filter(SuiteModelsParent.id == drop.id).execute()
        )
        assert deleted == 1
        children = await db.select(SuiteModelsChild.name).scalars().collect()
        assert children == ["k1"]
        assert await db.select(SuiteModelsParent.name).scalars().collect() == ["keep"]

    async def test_dangling_foreign_key_is_refused(self, db: Connection) -> None:
        await fresh_tables(db, *FAMILY)
        parent = SuiteModelsParent(name="p")
        await db.insert(parent)
        assert parent.id is not None
        with pytest.raises(ForeignKeyViolationError):
            await db.insert(SuiteModelsChild(parent_id=parent.id + 1000, name="orphan"))
        assert await db.select(SuiteModelsChild).count() == 0
        await db.insert(SuiteModelsChild(parent_id=parent.id, name="ok"))
        with pytest.raises(ForeignKeyViolationError):
            await (
                db.update(SuiteModelsChild)
                .filter(SuiteModelsChild.name == "ok")
                .set(SuiteModelsChild.parent_id, parent.id + 1000)
                .execute()
            )
        (row,) = await db.select(SuiteModelsChild).collect()
        assert row.parent_id == parent.id

    async def test_foreign_key_without_cascade_blocks_delete(self, db: Connection) -> None:
        await fresh_tables(db, *FAMILY)
        parent = SuiteModelsParent(name="p")
        await db.insert(parent)
        await db.insert([SuiteModelsRestricted(parent_id=parent.id), SuiteModelsRestricted()])
        with pytest.raises(ForeignKeyViolationError):
            await db.delete(SuiteModelsParent).filter(SuiteModelsParent.id == parent.id).execute()
        assert await db.select(SuiteModelsParent).count() == 1
        assert (
            await db.select(SuiteModelsRestricted)
            .filter(SuiteModelsRestricted.parent_id == parent.id)
            .count()
            == 1
        )

    async def test_composite_primary_key(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsComposite)
        rows = [
            SuiteModelsComposite(region="eu", number=1, label="eu-1"),
            SuiteModelsComposite(region="eu", number=2, label="eu-2"),
            SuiteModelsComposite(region="us", number=1, label="us-1"),
        ]
        assert await db.insert(rows) == 3
        found = await db.find(SuiteModelsComposite, ("eu", 2))
        assert found == rows[1]
        assert await db.find(SuiteModelsComposite, ("us", 2)) is None
        with pytest.raises(UniqueViolationError):
            await db.insert(SuiteModelsComposite(region="us", number=1, label="dup"))
        again = await db.find(SuiteModelsComposite, ("us", 1))
        assert again is not None
        assert again.label == "us-1"
        assert await db.select(SuiteModelsComposite).count() == 3
        # an upsert targets the whole composite key
        await db.insert_or_update(SuiteModelsComposite(region="us", number=1, label="changed"))
        assert (await db.find(SuiteModelsComposite, ("us", 1))) == SuiteModelsComposite(
            region="us", number=1, label="changed"
        )
        assert await db.select(SuiteModelsComposite).count() == 3

    async def test_explicit_primary_key_zero(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsExplicitKey)
        zero = SuiteModelsExplicitKey(id=0, name="zero")
        await db.insert([zero, SuiteModelsExplicitKey(id=-1, name="minus")])
        assert zero.id == 0
        q = db.dialect.quote
        table = q("suite_models_explicit_key")
        rows = await db.exec_rows(f"SELECT {q('id')}, {q('name')} FROM {table} ORDER BY {q('id')}")
        assert rows == [(-1, "minus"), (0, "zero")]
        assert await db.find(SuiteModelsExplicitKey, 0) == zero
        with pytest.raises(UniqueViolationError):
            await db.insert(SuiteModelsExplicitKey(id=0, name="again"))

    async def test_repr_and_equality(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsDefaults)
        obj = SuiteModelsDefaults(name="Ann", note="it's")
        assert repr(obj) == (
            "SuiteModelsDefaults(id=None, name='Ann', status='new', count=7, ratio=0.5, "
            "active=True, tags=[], meta={'v': 1}, note=\"it's\", maybe=None)"
        )
        await db.insert(obj)
        loaded = await db.find(SuiteModelsDefaults, obj.id)
        assert loaded is not None
        assert loaded is not obj
        assert loaded == obj
        assert repr(loaded) == repr(obj)
        assert f"id={obj.id!r}" in repr(loaded)
        loaded.count = 8
        assert loaded != obj
        # equality is by model class and field values
        assert SuiteModelsRenamed(label="x") != SuiteModelsDefaultName(label="x")
        assert SuiteModelsRenamed(label="x") == SuiteModelsRenamed(label="x")
        assert obj != "not a model"
        with pytest.raises(TypeError):
            hash(obj)

    async def test_field_names_that_are_python_or_sql_words(self, db: Connection) -> None:
        await fresh_tables(db, SuiteModelsOddNames)
        obj = SuiteModelsOddNames(id=1, self="me", d=4, order=2)
        assert (obj.self, obj.d, obj.order) == ("me", 4, 2)
        await db.insert([obj, SuiteModelsOddNames(id=2)])
        rows: list[Any] = (
            await db.select(SuiteModelsOddNames)
            .order_by(SuiteModelsOddNames.order.desc())
            .collect()
        )
        assert rows == [obj, SuiteModelsOddNames(id=2, self="s", d=0, order=0)]

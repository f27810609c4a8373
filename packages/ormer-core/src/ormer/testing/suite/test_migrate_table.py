"""Compliance suite: ``plan_table`` / ``migrate_table`` (docs/migrations.md).

Each test declares two versions of one table (``V1`` and ``V2`` classes with the same
``table=``), creates V1 with rows, plans and applies V2 and checks: the steps'
``str()``, their destructive flags, that a refusal changed nothing (schema and rows
read back), and that after ``migrate_table`` a second plan has no steps and the rows
are intact (read back through V2).
"""

from __future__ import annotations

import decimal
import re
import uuid
from typing import Any

import pytest

from ormer import (
    Connection,
    Database,
    MigrationError,
    Model,
    OrmerError,
    field,
    foreign_key,
    index,
    primary,
    table_of,
    unique,
)
from ormer.migrations import LiveTable, TablePlan, diff_schemas, model_schema
from ormer.migrations.apply import apply_operations
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires

__all__ = ["TestMigrateTable"]


async def _fresh(db: Connection, model: type[Model]) -> None:
    """Drop and create ``model``'s table."""
    await db.drop_table(model, if_exists=True)
    await db.create_table(model)


async def _snapshot(db: Connection, table: str) -> tuple[LiveTable | None, list[tuple[Any, ...]]]:
    """The table's live schema and its rows (ordered by id) as the database has them."""
    live = await db.dialect.inspect_table(db, table)
    rows = await db.exec_rows(f"SELECT * FROM {db.dialect.quote(table)} ORDER BY 1")
    return live, rows


async def _refused(db: Connection, model: type[Model], table: str, *words: str) -> str:
    """migrate_table(model) raises MigrationError naming ``words``; nothing changed."""
    before = await _snapshot(db, table)
    with pytest.raises(MigrationError) as caught:
        await db.migrate_table(model)
    message = str(caught.value)
    assert table in message
    for word in words:
        assert word in message
    assert await _snapshot(db, table) == before
    return message


async def _migrated(db: Connection, model: type[Model], **options: bool) -> TablePlan:
    """migrate_table(model), then check that a new plan has no steps."""
    applied = await db.migrate_table(model, **options)
    after = await db.plan_table(model)
    assert after.steps == [], str(after)
    return applied


def _steps(plan: TablePlan) -> list[str]:
    return [str(s) for s in plan.steps]


class TestMigrateTable(SuiteBase):
    """Each change kind planned, refused when destructive, applied with rows kept."""

    async def test_create_when_missing_then_up_to_date(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_create"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        await db.drop_table(V1, if_exists=True)
        plan = await db.plan_table(V1)
        assert plan.creates and not plan.destructive
        assert _steps(plan) == ["create table suite_mig_create (2 columns)"]
        assert await db.dialect.inspect_table(db, "suite_mig_create") is None  # only planned
        await _migrated(db, V1)
        await db.insert(V1(name="a"))
        assert [r.name for r in await db.select(V1).collect()] == ["a"]

    async def test_up_to_date_right_after_create_table(self, db: Connection) -> None:
        class Parent(Model, table="suite_mig_parent"):
            id: int = primary(auto=True)
            name: str = ""

        class Wide(Model, table="suite_mig_wide"):
            id: int = primary(auto=True)
            name: str = field(max_length=30)
            body: str = "hello 'quoted'"
            n: int = -3
            ratio: float = 1.5
            flag: bool = True
            off: bool = False
            price: decimal.Decimal = field(max_digits=8, decimal_places=2, default=0)
            maybe: int | None = None
            code: str = unique(max_length=12)
            rank: int = index(default=0)
            token: uuid.UUID = field(default_factory=uuid.uuid4)
            parent_id: int | None = foreign_key(Parent.id, on_delete="cascade", default=None)

        class Keyed(Model, table="suite_mig_keyed"):
            code: str = primary(max_length=10)
            n: int = 0

        await fresh_tables(db, Parent, Wide)
        await fresh_tables(db, Keyed)
        for model in (Parent, Wide, Keyed):
            plan = await db.plan_table(model)
            assert plan.steps == [], f"{model.__name__}: {plan}"
        await db.insert(Wide(name="w", code="c"))
        assert [(w.body, w.n, w.flag) for w in await db.select(Wide).collect()] == [
            ("hello 'quoted'", -3, True)
        ]

    async def test_add_nullable_column(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_addnull"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        class V2(Model, table="suite_mig_addnull"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            email: str | None = None

        await _fresh(db, V1)
        await db.insert([V1(name="a"), V1(name="b")])
        plan = await db.plan_table(V2)
        assert len(plan.steps) == 1 and not plan.destructive
        assert re.fullmatch(r"add column email \S+ NULL", str(plan.steps[0]))
        assert plan.steps[0].sql  # the SQL it will run
        await _migrated(db, V2)
        rows = await db.select(V2).order_by(V2.id).collect()
        assert [(r.name, r.email) for r in rows] == [("a", None), ("b", None)]

    async def test_add_not_null_column_with_default_fills_rows(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_adddef"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        class V2(Model, table="suite_mig_adddef"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            level: int = 3
            tag: str = field(max_length=10, default="new")

        await _fresh(db, V1)
        await db.insert([V1(name="a"), V1(name="b")])
        plan = await db.plan_table(V2)
        assert not plan.destructive
        assert [s.split(" ")[:3] for s in _steps(plan)] == [
            ["add", "column", "level"],
            ["add", "column", "tag"],
        ]
        assert all("NOT NULL DEFAULT" in s for s in _steps(plan))
        await _migrated(db, V2)
        rows = await db.select(V2).order_by(V2.id).collect()
        assert [(r.name, r.level, r.tag) for r in rows] == [("a", 3, "new"), ("b", 3, "new")]

    async def test_add_not_null_column_without_default(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_addreq"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        class V2(Model, table="suite_mig_addreq"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            code: str = field(max_length=10)

        await _fresh(db, V1)
        await db.insert(V1(name="a"))
        plan = await db.plan_table(V2)
        assert plan.steps[0].blocked is not None
        before = await _snapshot(db, "suite_mig_addreq")
        with pytest.raises(MigrationError, match="give it a default"):
            await db.migrate_table(V2, allow_destructive=True)  # refused even so
        assert await _snapshot(db, "suite_mig_addreq") == before
        await db.delete(V1).all()
        await _migrated(db, V2)  # an empty table takes it
        await db.insert(V2(name="b", code="x"))
        assert [(r.name, r.code) for r in await db.select(V2).collect()] == [("b", "x")]

    async def test_drop_column_empty_is_not_destructive(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_dropempty"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            age: int | None = None

        class V2(Model, table="suite_mig_dropempty"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        await _fresh(db, V1)
        await db.insert([V1(name="a"), V1(name="b")])  # rows, but age is NULL in all
        plan = await db.plan_table(V2)
        assert _steps(plan) == ["drop column age"] and not plan.destructive
        await _migrated(db, V2)
        assert [r.name for r in await db.select(V2).order_by(V2.id).collect()] == ["a", "b"]

    async def test_drop_column_with_data_refused_then_allowed(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_dropdata"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            age: int | None = None

        class V2(Model, table="suite_mig_dropdata"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        await _fresh(db, V1)
        await db.insert([V1(name="a", age=30), V1(name="b", age=None), V1(name="c", age=5)])
        plan = await db.plan_table(V2)
        assert plan.destructive and _steps(plan) == ["drop column age"]
        assert plan.steps[0].reason == "drops column age holding 2 non-NULL values"
        await _refused(db, V2, "suite_mig_dropdata", "drop column age", "2 non-NULL")
        await _migrated(db, V2, allow_destructive=True)
        assert [r.name for r in await db.select(V2).order_by(V2.id).collect()] == ["a", "b", "c"]

    async def test_add_and_drop_index(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_index"):
            id: int = primary(auto=True)
            score: int = 0

        class V2(Model, table="suite_mig_index"):
            id: int = primary(auto=True)
            score: int = index(default=0)

        await _fresh(db, V1)
        await db.insert([V1(score=2), V1(score=1)])
        plan = await db.plan_table(V2)
        assert _steps(plan) == ["create index ix_suite_mig_index_score (score)"]
        assert not plan.destructive
        await _migrated(db, V2)
        back = await db.plan_table(V1)
        assert _steps(back) == ["drop index ix_suite_mig_index_score"] and back.destructive
        await _refused(db, V1, "suite_mig_index", "drop index ix_suite_mig_index_score")
        await _migrated(db, V1, allow_destructive=True)
        assert [r.score for r in await db.select(V1).order_by(V1.id).collect()] == [2, 1]

    async def test_add_and_drop_unique(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_unique"):
            id: int = primary(auto=True)
            code: str = field(max_length=10)

        class V2(Model, table="suite_mig_unique"):
            id: int = primary(auto=True)
            code: str = unique(max_length=10)

        await _fresh(db, V1)
        await db.insert([V1(code="a"), V1(code="b")])
        plan = await db.plan_table(V2)
        assert _steps(plan) == ["create unique index uq_suite_mig_unique_code (code)"]
        await _migrated(db, V2)
        with pytest.raises(OrmerError):  # the constraint holds
            await db.insert(V2(code="a"))
        back = await db.plan_table(V1)
        assert _steps(back) == ["drop unique index uq_suite_mig_unique_code"]
        await _refused(db, V1, "suite_mig_unique", "drop unique index")
        await _migrated(db, V1, allow_destructive=True)
        await db.insert(V1(code="a"))  # duplicates allowed again
        rows = await db.select(V1).order_by(V1.id).collect()
        assert [r.code for r in rows] == ["a", "b", "a"]

    async def test_set_not_null_without_nulls(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_notnull"):
            id: int = primary(auto=True)
            age: int | None = None

        class V2(Model, table="suite_mig_notnull"):
            id: int = primary(auto=True)
            age: int = field()

        await _fresh(db, V1)
        await db.insert([V1(age=1), V1(age=2)])
        plan = await db.plan_table(V2)
        assert _steps(plan) == ["alter column age NULL -> NOT NULL"] and not plan.destructive
        await _migrated(db, V2)
        assert [r.age for r in await db.select(V2).order_by(V2.id).collect()] == [1, 2]

    async def test_set_not_null_over_nulls(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_nulls"):
            id: int = primary(auto=True)
            age: int | None = None

        class V2(Model, table="suite_mig_nulls"):
            id: int = primary(auto=True)
            age: int = 7

        class V2NoDefault(Model, table="suite_mig_nulls"):
            id: int = primary(auto=True)
            age: int = field()

        await _fresh(db, V1)
        await db.insert([V1(age=1), V1(age=None)])
        nodefault = await db.plan_table(V2NoDefault)
        assert nodefault.steps[0].blocked is not None
        before = await _snapshot(db, "suite_mig_nulls")
        with pytest.raises(MigrationError, match="1 NULLs"):
            await db.migrate_table(V2NoDefault, allow_destructive=True)
        assert await _snapshot(db, "suite_mig_nulls") == before
        plan = await db.plan_table(V2)
        assert plan.destructive and plan.steps[0].blocked is None
        assert _steps(plan) == ["alter column age NULL -> NOT NULL, default none -> 7"]
        await _refused(db, V2, "suite_mig_nulls", "alter column age")
        await _migrated(db, V2, allow_destructive=True)
        assert [r.age for r in await db.select(V2).order_by(V2.id).collect()] == [1, 7]

    async def test_drop_not_null(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_dropnn"):
            id: int = primary(auto=True)
            age: int = field()

        class V2(Model, table="suite_mig_dropnn"):
            id: int = primary(auto=True)
            age: int | None = None

        await _fresh(db, V1)
        await db.insert(V1(age=4))
        plan = await db.plan_table(V2)
        assert _steps(plan) == ["alter column age NOT NULL -> NULL"] and not plan.destructive
        await _migrated(db, V2)
        await db.insert(V2(age=None))
        assert [r.age for r in await db.select(V2).order_by(V2.id).collect()] == [4, None]

    async def test_widen_and_narrow_varchar(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_varchar"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)

        class V2(Model, table="suite_mig_varchar"):
            id: int = primary(auto=True)
            name: str = field(max_length=50)

        await _fresh(db, V1)
        await db.insert([V1(name="x" * 20), V1(name="short")])
        plan = await db.plan_table(V2)
        assert len(plan.steps) == 1 and not plan.destructive
        assert re.fullmatch(r"alter column name type \S+\(20\) -> \S+\(50\)", str(plan.steps[0]))
        await _migrated(db, V2)
        await db.insert(V2(name="y" * 50))
        names = [r.name for r in await db.select(V2).order_by(V2.id).collect()]
        assert names == ["x" * 20, "short", "y" * 50]
        await db.delete(V2).filter(V2.name == "y" * 50).execute()
        narrow = await db.plan_table(V1)
        assert narrow.destructive and "narrows name" in (narrow.steps[0].reason or "")
        await _refused(db, V1, "suite_mig_varchar", "alter column name")
        await _migrated(db, V1, allow_destructive=True)
        assert [r.name for r in await db.select(V1).order_by(V1.id).collect()] == names[:2]

    async def test_int_to_text_is_destructive(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_retype"):
            id: int = primary(auto=True)
            n: int = field()

        class V2(Model, table="suite_mig_retype"):
            id: int = primary(auto=True)
            n: str = field()

        await _fresh(db, V1)
        await db.insert([V1(n=5), V1(n=-12)])
        plan = await db.plan_table(V2)
        assert plan.destructive and str(plan.steps[0]).startswith("alter column n type ")
        await _refused(db, V2, "suite_mig_retype", "alter column n")
        await _migrated(db, V2, allow_destructive=True)
        assert [r.n for r in await db.select(V2).order_by(V2.id).collect()] == ["5", "-12"]

    async def test_default_change(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_default"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            level: int = 3

        class V2(Model, table="suite_mig_default"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            level: int = 7

        class NameOnly(Model, table="suite_mig_default"):
            """Inserts leave ``level`` to the server default."""

            id: int = primary(auto=True)
            name: str = field(max_length=20)

        await _fresh(db, V1)
        await db.insert(NameOnly(name="before"))
        plan = await db.plan_table(V2)
        assert _steps(plan) == ["alter column level default 3 -> 7"] and not plan.destructive
        await _migrated(db, V2)
        await db.insert(NameOnly(name="after"))
        rows = await db.select(V2).order_by(V2.id).collect()
        assert [(r.name, r.level) for r in rows] == [("before", 3), ("after", 7)]

    async def _foreign_key_round_trip(self, db: Connection) -> tuple[TablePlan, TablePlan]:
        class Parent(Model, table="suite_mig_fkparent"):
            id: int = primary(auto=True)
            name: str = ""

        class V1(Model, table="suite_mig_fkchild"):
            id: int = primary(auto=True)
            parent_id: int | None = None

        class V2(Model, table="suite_mig_fkchild"):
            id: int = primary(auto=True)
            parent_id: int | None = foreign_key(Parent.id, on_delete="cascade", default=None)

        await db.drop_table(V1, if_exists=True)
        await _fresh(db, Parent)
        await db.create_table(V1)
        await db.insert([Parent(), Parent()])
        await db.insert([V1(parent_id=1), V1(parent_id=None), V1(parent_id=2)])
        add = await db.plan_table(V2)
        assert _steps(add) == [
            "add foreign key (parent_id) references suite_mig_fkparent (id) on delete cascade"
        ]
        assert not add.destructive
        await _migrated(db, V2)
        rows = await db.select(V2).order_by(V2.id).collect()
        assert [r.parent_id for r in rows] == [1, None, 2]
        drop = await db.plan_table(V1)
        assert [s.split(" ")[:3] for s in _steps(drop)] == [["drop", "foreign", "key"]]
        await _migrated(db, V1)
        assert [r.parent_id for r in await db.select(V1).order_by(V1.id).collect()] == [1, None, 2]
        return add, drop

    @lacks("table_rebuild")
    async def test_foreign_keys_by_alter_table(self, db: Connection) -> None:
        add, drop = await self._foreign_key_round_trip(db)
        assert not add.rebuild and not drop.rebuild
        assert all(sql.startswith("ALTER TABLE") for sql in add.sql + drop.sql)

    @requires("table_rebuild")
    async def test_foreign_keys_by_table_rebuild(self, db: Connection) -> None:
        add, drop = await self._foreign_key_round_trip(db)
        assert add.rebuild and drop.rebuild
        assert any("_ormer_new_suite_mig_fkchild" in sql for sql in add.sql)

    async def _parent_and_children(self, db: Connection) -> tuple[type[Model], type[Model]]:
        class Parent(Model, table="suite_mig_refparent"):
            id: int = primary(auto=True)
            name: str = field(max_length=10)

        class Child(Model, table="suite_mig_refchild"):
            id: int = primary(auto=True)
            parent_id: int = foreign_key(Parent.id, on_delete="cascade")

        await db.drop_table(Child, if_exists=True)
        await fresh_tables(db, Parent, Child)
        await db.insert([Parent(name="p1"), Parent(name="p2")])
        await db.insert([Child(parent_id=1), Child(parent_id=2), Child(parent_id=2)])
        return Parent, Child

    async def test_altering_a_referenced_table_keeps_its_children(self, db: Connection) -> None:
        _, Child = await self._parent_and_children(db)

        class Parent2(Model, table="suite_mig_refparent"):
            id: int = primary(auto=True)
            name: str = field(max_length=30)
            rank: int = 0

        await _migrated(db, Parent2)  # SQLite rebuilds it: the cascade must not fire
        rows = await db.select(Child).order_by(Child.id).collect()
        assert [c.parent_id for c in rows] == [1, 2, 2]
        assert [(p.name, p.rank) for p in await db.select(Parent2).collect()] == [
            ("p1", 0),
            ("p2", 0),
        ]
        with pytest.raises(OrmerError):  # the reference is still enforced
            await db.insert(Child(parent_id=99))
        await db.delete(Parent2).filter(Parent2.id == 2).execute()  # and still cascades
        assert [c.parent_id for c in await db.select(Child).collect()] == [1]

    @requires("table_rebuild")
    async def test_rebuild_of_a_referenced_table_in_a_transaction(self, db: Connection) -> None:
        """SQLite turns foreign keys off only outside transactions: a rebuild of a table
        others reference, inside one, is refused before any change."""
        _, Child = await self._parent_and_children(db)

        class Parent2(Model, table="suite_mig_refparent"):
            id: int = primary(auto=True)
            name: str = field(max_length=30)

        before = await _snapshot(db, "suite_mig_refparent")
        async with db.transaction():
            with pytest.raises(MigrationError, match="outside a transaction"):
                await db.migrate_table(Parent2)
        assert await _snapshot(db, "suite_mig_refparent") == before
        assert len(await db.select(Child).collect()) == 3

    async def test_apply_operations(self, db: Connection) -> None:
        """The operations versioned migrations run, on a live table."""

        class V1(Model, table="suite_mig_ops"):
            id: int = primary(auto=True)
            name: str = field(max_length=20)
            age: int | None = None

        class V2(Model, table="suite_mig_ops"):
            id: int = primary(auto=True)
            name: str = index(max_length=40)
            age: int = 0
            note: str | None = None

        await _fresh(db, V1)
        await db.insert([V1(name="a", age=None), V1(name="b", age=4)])
        v1, v2 = model_schema(table_of(V1)), model_schema(table_of(V2))
        ops = diff_schemas(v1, v2)
        ran = await apply_operations(db, ops)
        assert ran
        assert (await db.plan_table(V2)).steps == []
        rows = await db.select(V2).order_by(V2.id).collect()
        assert [(r.name, r.age, r.note) for r in rows] == [("a", 0, None), ("b", 4, None)]
        assert await apply_operations(db, diff_schemas(v2, v1))
        assert (await db.plan_table(V1)).steps == []
        rows1 = await db.select(V1).order_by(V1.id).collect()
        assert [(r.name, r.age) for r in rows1] == [("a", 0), ("b", 4)]

    @requires("transactional_ddl")
    async def test_failing_plan_changes_nothing(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_fail"):
            id: int = primary(auto=True)
            code: str = field(max_length=10)

        class V2(Model, table="suite_mig_fail"):
            id: int = primary(auto=True)
            code: str = unique(max_length=10)
            extra: int = 0

        await _fresh(db, V1)
        await db.insert([V1(code="dup"), V1(code="dup")])
        before = await _snapshot(db, "suite_mig_fail")
        with pytest.raises(OrmerError):  # the unique index meets duplicates
            await db.migrate_table(V2)
        assert await _snapshot(db, "suite_mig_fail") == before  # the added column too

    async def test_primary_key_change_is_refused(self, db: Connection) -> None:
        class V1(Model, table="suite_mig_pk"):
            id: int = primary(auto=True)
            code: str = field(max_length=10)

        class V2(Model, table="suite_mig_pk"):
            code: str = primary(max_length=10)
            id: int = 0

        await _fresh(db, V1)
        await db.insert(V1(code="a"))
        before = await _snapshot(db, "suite_mig_pk")
        with pytest.raises(MigrationError, match="primary key"):
            await db.plan_table(V2)
        with pytest.raises(MigrationError, match="primary key"):
            await db.migrate_table(V2, allow_destructive=True)
        assert await _snapshot(db, "suite_mig_pk") == before

    async def test_pool_borrows_a_connection(self, db: Connection, ormer_url: str) -> None:
        class V1(Model, table="suite_mig_pool"):
            id: int = primary(auto=True)
            n: int = 0

        class V2(Model, table="suite_mig_pool"):
            id: int = primary(auto=True)
            n: int = 0
            note: str | None = None

        await _fresh(db, V1)
        await db.insert(V1())
        pool = await Database.create_pool(ormer_url).max_size(2).build()
        try:
            assert re.fullmatch(r"add column note \S+ NULL", str(await pool.plan_table(V2)))
            applied = await pool.migrate_table(V2)
            assert len(applied.steps) == 1
            assert (await pool.plan_table(V2)).steps == []
        finally:
            await pool.close()
        assert [(r.id, r.note) for r in await db.select(V2).collect()] == [(1, None)]

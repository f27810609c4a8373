"""Migrations on a real PostgreSQL server: ``inspect_table`` reads back exactly what
``create_table`` made (every field kind, indexes, unique groups, foreign keys,
defaults), each ALTER ormer renders runs and leaves the table its model describes
with the rows kept, a failing plan changes nothing (transactional DDL), and the
advisory migration lock serializes two sessions."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import uuid
from collections.abc import AsyncIterator

import pytest

from ormer import (
    Connection,
    Database,
    MigrationError,
    Model,
    UniqueViolationError,
    field,
    foreign_key,
    index,
    primary,
)
from ormer import unique as unique_field
from ormer.migrations import AddForeignKey, DropForeignKey, diff_live, model_schema
from ormer.migrations.apply import apply_operations
from ormer.migrations.live import LiveColumn
from ormer.migrations.schema import IndexSchema
from ormer.model import table_of
from ormer.testing import fresh_tables

pytestmark = pytest.mark.postgres

D = decimal.Decimal


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class PgMigParent(Model, table="pg_mig_parent"):
    id: int = primary(auto=True)
    name: str = field(max_length=50, default="anon")


class PgMigAll(Model, table="pg_mig_all"):
    """Every field kind, with defaults, indexes, unique groups and foreign keys."""

    id: int = primary(auto=True)
    count: int = 3
    neg: int = -3
    title: str = "it's"
    code: str = unique_field(max_length=20)
    label: str = index()
    body: str | None = None
    ratio: float = 1.5
    big: float = 1e20
    flag: bool = True
    off: bool = False
    data: bytes | None = None
    key: bytes = index(max_length=16, default=b"")
    price: D = field(default=D("1.50"), max_digits=12, decimal_places=3)
    day: datetime.date | None = None
    clock: datetime.time | None = None
    at: datetime.datetime | None = None
    aware: datetime.datetime | None = field(default=None, timezone=True)
    ref: uuid.UUID | None = None
    doc: dict[str, object] | None = None
    color: Color = Color.RED
    level: Level = Level.HIGH
    a: int = unique_field(group="ab", default=0)
    b: int = unique_field(group="ab", default=0)
    c: int = index(group="cd", default=0)
    d: str = index(group="cd", max_length=10, default="x")
    parent_id: int | None = foreign_key(PgMigParent.id, on_delete="cascade", default=None)
    other_id: int | None = foreign_key(PgMigParent.id, default=None, index=True)


@pytest.fixture
async def conn(pg_url: str) -> AsyncIterator[Connection]:
    async with await Database.connect(pg_url) as c:
        yield c


async def test_create_table_then_inspect_has_no_steps(conn: Connection) -> None:
    await fresh_tables(conn, PgMigParent, PgMigAll)
    live = await conn.dialect.inspect_table(conn, "pg_mig_all")
    assert live is not None
    assert diff_live(conn.dialect, live, model_schema(table_of(PgMigAll))) == []
    assert (await conn.plan_table(PgMigAll)).steps == []
    assert (await conn.plan_table(PgMigParent)).steps == []
    columns = {c.name: c for c in live.columns}
    assert [c.name for c in live.columns] == [f.column for f in table_of(PgMigAll).fields]
    assert columns["id"] == LiveColumn("id", "BIGINT", False, None, primary=True, auto=True)
    assert columns["title"] == LiveColumn("title", "TEXT", False, "'it''s'")
    assert columns["code"].type == "VARCHAR(20)"
    assert columns["price"] == LiveColumn("price", "NUMERIC(12,3)", False, "1.5")
    assert columns["big"].default == "100000000000000000000"
    assert columns["neg"].default == "-3"
    assert columns["flag"].default == "TRUE" and columns["off"].default == "FALSE"
    assert columns["aware"].type == "TIMESTAMPTZ" and columns["at"].type == "TIMESTAMP"
    assert columns["clock"].type == "TIME" and columns["doc"].type == "JSONB"
    assert columns["data"].type == "BYTEA" and columns["ref"].type == "UUID"
    assert columns["color"] == LiveColumn("color", "TEXT", False, "'red'")
    assert columns["level"] == LiveColumn("level", "BIGINT", False, "2")
    assert live.primary_key == ("id",)
    assert set(live.indexes) == {
        IndexSchema("ix_pg_mig_all_cd", ("c", "d")),
        IndexSchema("ix_pg_mig_all_key", ("key",)),
        IndexSchema("ix_pg_mig_all_label", ("label",)),
        IndexSchema("ix_pg_mig_all_other_id", ("other_id",)),
        IndexSchema("uq_pg_mig_all_ab", ("a", "b"), unique=True),
        IndexSchema("uq_pg_mig_all_code", ("code",), unique=True),
    }
    assert {(f.columns, f.ref_table, f.ref_columns, f.on_delete) for f in live.foreign_keys} == {
        (("parent_id",), "pg_mig_parent", ("id",), "cascade"),
        (("other_id",), "pg_mig_parent", ("id",), None),
    }


async def test_inspect_missing_table_is_none(conn: Connection) -> None:
    assert await conn.dialect.inspect_table(conn, "pg_mig_no_such_table") is None


class Tricky(Model, table="pg_mig_tricky"):
    id: int = primary(auto=True)
    a: str = field(max_length=10, default="100%")
    b: str = "a\\b\nc'd%s"
    c: float = -0.25
    d: D = field(default=D("-12.500"), max_digits=8, decimal_places=3)


class TrickyV2(Model, table="pg_mig_tricky"):
    id: int = primary(auto=True)
    a: str = field(max_length=10, default="50%")
    b: str = "x\\%"
    c: float = 1e-7
    d: D = field(default=D("0"), max_digits=8, decimal_places=3)


async def test_defaults_with_quotes_backslashes_and_percents(conn: Connection) -> None:
    await fresh_tables(conn, Tricky)
    assert (await conn.plan_table(Tricky)).steps == []
    await conn.exec_non_query("INSERT INTO pg_mig_tricky (id) VALUES (1)")  # server defaults
    assert await conn.exec_rows("SELECT a, b, c, d FROM pg_mig_tricky") == [
        ("100%", "a\\b\nc'd%s", -0.25, D("-12.500"))
    ]
    plan = await conn.migrate_table(TrickyV2)
    assert len(plan.steps) == 4
    assert (await conn.plan_table(TrickyV2)).steps == []
    await conn.exec_non_query("INSERT INTO pg_mig_tricky (id) VALUES (2)")
    assert await conn.exec_rows("SELECT a, b, c, d FROM pg_mig_tricky WHERE id = 2") == [
        ("50%", "x\\%", 1e-7, D("0.000"))
    ]


# -- one change of each kind, v1 -> v2 -------------------------------------------------------
class V1(Model, table="pg_mig_steps"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)
    score: int | None = None
    note: str | None = None
    tag: str = "a"
    gone: int | None = None
    team_id: int | None = foreign_key(PgMigParent.id, default=None)
    code: str = unique_field(max_length=10, default="")
    label: str = index(default="")


class V2(Model, table="pg_mig_steps"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)  # widened
    score: int = 0  # NOT NULL now, with a default
    note: str = index(default="n/a")  # NOT NULL + indexed
    tag: str = "b"  # default changed
    team_id: int | None = foreign_key(PgMigParent.id, on_delete="set null", default=None)
    code: str = field(max_length=10, default="")  # unique dropped
    label: str = ""  # index dropped
    added: int = 7  # new NOT NULL column with a default
    extra: str | None = unique_field(default=None)  # new unique column


async def test_each_change_kind_runs_and_keeps_rows(conn: Connection) -> None:
    await fresh_tables(conn, PgMigParent, V1)
    parent = PgMigParent(name="p")
    await conn.insert(parent)
    await conn.insert(V1(name="ann", score=None, note=None, team_id=parent.id, code="x"))
    await conn.insert(V1(name="bob", score=5, note="hi", gone=None, code="y"))
    plan = await conn.plan_table(V2)
    steps = [str(s) for s in plan.steps]
    assert "drop column gone" in steps
    assert any(s.startswith("alter column name type VARCHAR(20) -> VARCHAR(50)") for s in steps)
    assert plan.destructive  # dropping a unique constraint and an index on a table with rows
    with pytest.raises(MigrationError):
        await conn.migrate_table(V2)
    assert (await conn.plan_table(V2)).steps == plan.steps  # nothing changed
    await conn.migrate_table(V2, allow_destructive=True)
    assert (await conn.plan_table(V2)).steps == []
    live = await conn.dialect.inspect_table(conn, "pg_mig_steps")
    assert live is not None
    assert diff_live(conn.dialect, live, model_schema(table_of(V2))) == []
    rows = await conn.exec_rows(
        "SELECT name, score, note, tag, added, extra, team_id FROM pg_mig_steps ORDER BY name"
    )
    assert rows == [
        ("ann", 0, "n/a", "a", 7, None, parent.id),
        ("bob", 5, "hi", "a", 7, None, None),
    ]
    # ... and back: every change reverses (the narrowing VARCHAR(50) -> VARCHAR(20) included)
    await conn.migrate_table(V1, allow_destructive=True)
    assert (await conn.plan_table(V1)).steps == []
    assert await conn.exec_rows("SELECT name, score FROM pg_mig_steps ORDER BY name") == [
        ("ann", 0),
        ("bob", 5),
    ]


async def test_rendered_alters_run_one_by_one(conn: Connection) -> None:
    """Each step's own SQL, run alone on the server, then the table re-inspected."""
    await fresh_tables(conn, PgMigParent, V1)
    plan = await conn.plan_table(V2)
    for step in plan.steps:
        for sql in step.sql:
            await conn.exec_non_query(sql)
    live = await conn.dialect.inspect_table(conn, "pg_mig_steps")
    assert live is not None
    assert diff_live(conn.dialect, live, model_schema(table_of(V2))) == []


async def test_file_operations_find_the_foreign_key_the_server_named(conn: Connection) -> None:
    """A migration file names a foreign key ``fk_<table>_<column>``, as create_table
    does; a table made otherwise (by hand, or by an ormer that let the server name it)
    has the server's name: dropping it finds it by its columns."""
    await fresh_tables(conn, PgMigParent, V1)
    (fk,) = model_schema(table_of(V1)).foreign_keys
    assert fk.name == "fk_pg_mig_steps_team_id"
    await conn.exec_non_query(
        'ALTER TABLE "pg_mig_steps" RENAME CONSTRAINT "fk_pg_mig_steps_team_id" '
        'TO "pg_mig_steps_team_id_fkey"'
    )
    ran = await apply_operations(conn, [DropForeignKey("pg_mig_steps", fk)])
    assert ran == ['ALTER TABLE "pg_mig_steps" DROP CONSTRAINT "pg_mig_steps_team_id_fkey"']
    live = await conn.dialect.inspect_table(conn, "pg_mig_steps")
    assert live is not None and live.foreign_keys == ()
    await apply_operations(conn, [AddForeignKey("pg_mig_steps", fk)])
    live = await conn.dialect.inspect_table(conn, "pg_mig_steps")
    assert live is not None and [f.name for f in live.foreign_keys] == [fk.name]
    assert (await conn.plan_table(V1)).steps == []


class FkPlain(Model, table="pg_mig_fkix"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key(PgMigParent.id)


class FkIndexed(Model, table="pg_mig_fkix"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key(PgMigParent.id, index=True)


class FkUnique(Model, table="pg_mig_fkix"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key(PgMigParent.id, unique=True)


async def test_indexes_on_a_foreign_key_column_come_and_go(conn: Connection) -> None:
    """Index a foreign key column, make it unique, drop both: the foreign key stays
    (MySQL keeps an index for it), every plan after a migration is empty."""
    await fresh_tables(conn, PgMigParent, FkPlain)
    parent = PgMigParent(name="p")
    await conn.insert(parent)
    await conn.insert(FkPlain(parent_id=parent.id))
    for model in (FkIndexed, FkUnique, FkPlain, FkUnique, FkIndexed, FkPlain):
        await conn.migrate_table(model, allow_destructive=True)
        assert (await conn.plan_table(model)).steps == [], model
        live = await conn.dialect.inspect_table(conn, "pg_mig_fkix")
        assert live is not None and [f.columns for f in live.foreign_keys] == [("parent_id",)]
    assert await conn.exec_rows("SELECT parent_id FROM pg_mig_fkix") == [(parent.id,)]


class TypeV1(Model, table="pg_mig_types"):
    id: int = primary(auto=True)
    amount: D = field(max_digits=10, decimal_places=2, default=D("0"))
    text: str = field(max_length=5, default="")


class TypeV2(Model, table="pg_mig_types"):
    id: int = primary(auto=True)
    amount: D = field(max_digits=14, decimal_places=4, default=D("1.5"))
    text: str = ""


async def test_type_widening_is_not_destructive_and_keeps_values(conn: Connection) -> None:
    await fresh_tables(conn, TypeV1)
    await conn.insert(TypeV1(amount=D("12345678.91"), text="abcde"))
    plan = await conn.plan_table(TypeV2)
    assert not plan.destructive, [s.reason for s in plan.steps]
    sql = " ".join(s for step in plan.steps for s in step.sql)
    assert 'ALTER COLUMN "amount" TYPE NUMERIC(14, 4) USING "amount"::NUMERIC(14, 4)' in sql
    await conn.migrate_table(TypeV2)
    assert await conn.exec_rows("SELECT amount, text FROM pg_mig_types") == [
        (D("12345678.9100"), "abcde")
    ]
    assert (await conn.plan_table(TypeV2)).steps == []
    back = await conn.plan_table(TypeV1)
    assert back.destructive  # NUMERIC(14,4) -> NUMERIC(10,2) narrows


class ConvV1(Model, table="pg_mig_conv"):
    id: int = primary(auto=True)
    doc: dict[str, int] | None = None
    text: str | None = None
    num: int | None = None
    flag: bool = False
    blob: bytes | None = None


class ConvV2(Model, table="pg_mig_conv"):
    id: int = primary(auto=True)
    doc: str | None = None  # json -> str
    text: dict[str, int] | None = None  # str -> json
    num: str | None = None  # int -> str
    flag: int = 0  # bool -> int
    blob: bytes | None = index(max_length=40, default=None)  # unbounded -> indexed, bounded


async def test_kind_changes_convert_the_values(conn: Connection) -> None:
    await fresh_tables(conn, ConvV1)
    await conn.insert(ConvV1(doc={"a": 1}, text='{"b": 2}', num=5, flag=True, blob=b"xy"))
    select = 'SELECT doc, text, num, flag, "blob" FROM pg_mig_conv'
    await conn.migrate_table(ConvV2, allow_destructive=True)
    assert (await conn.plan_table(ConvV2)).steps == []
    assert await conn.exec_rows(select) == [('{"a": 1}', {"b": 2}, "5", 1, b"xy")]
    await conn.migrate_table(ConvV1, allow_destructive=True)
    assert (await conn.plan_table(ConvV1)).steps == []
    assert await conn.exec_rows(select) == [({"a": 1}, '{"b": 2}', 5, True, b"xy")]


class Broken(Model, table="pg_mig_steps"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)
    score: int | None = None
    note: str | None = None
    tag: str = "a"
    gone: int | None = None
    team_id: int | None = foreign_key(PgMigParent.id, default=None)
    code: str = unique_field(max_length=10, default="")
    label: str = index(default="")
    added: int = 1
    # a unique constraint the rows break: the last statement of the plan fails
    dup: int = unique_field(default=0)


async def test_failing_plan_changes_nothing(conn: Connection) -> None:
    """PostgreSQL's DDL is transactional: a plan failing on its last statement leaves
    the table as it was (no column added)."""
    await fresh_tables(conn, PgMigParent, V1)
    await conn.insert(V1(name="a", code="a"))
    await conn.insert(V1(name="b", code="b"))
    with pytest.raises(UniqueViolationError, match="uq_pg_mig_steps_dup"):
        await conn.migrate_table(Broken)
    live = await conn.dialect.inspect_table(conn, "pg_mig_steps")
    assert live is not None and live.column("added") is None and live.column("dup") is None
    assert diff_live(conn.dialect, live, model_schema(table_of(V1))) == []


# -- the advisory lock -----------------------------------------------------------------------
async def test_migration_lock_makes_a_second_session_wait(pg_url: str) -> None:
    order: list[str] = []
    async with await Database.connect(pg_url) as first, await Database.connect(pg_url) as second:
        async with first.dialect.migration_lock(first):
            order.append("first in")

            async def take() -> None:
                async with second.dialect.migration_lock(second):
                    order.append("second in")

            waiter = asyncio.create_task(take())
            await asyncio.sleep(0.3)
            assert order == ["first in"]  # still waiting
            order.append("first out")
        await asyncio.wait_for(waiter, 5)
        assert order == ["first in", "first out", "second in"]
        # released after the body: a third take is immediate
        async with first.dialect.migration_lock(first):
            pass


async def test_migration_lock_is_released_when_the_body_raises(pg_url: str) -> None:
    async with await Database.connect(pg_url) as first, await Database.connect(pg_url) as second:
        with pytest.raises(RuntimeError):
            async with first.dialect.migration_lock(first):
                raise RuntimeError("boom")
        # the other session gets it at once (a wait would hit the timeout)
        await asyncio.wait_for(_take_and_release(second), 2)


async def _take_and_release(conn: Connection) -> None:
    async with conn.dialect.migration_lock(conn):
        rows = await conn.exec_rows(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND pid = pg_backend_pid()"
        )
        assert rows == [(1,)]

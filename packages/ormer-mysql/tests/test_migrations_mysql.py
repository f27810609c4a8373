"""Migrations on a real MySQL/MariaDB server, on each driver: ``inspect_table`` reads
back exactly what ``create_table`` made (every field kind, indexes, unique groups,
foreign keys and the indexes InnoDB adds for them, defaults), each ALTER ormer
renders runs and leaves the table its model describes with the rows kept, a plan
failing midway leaves the statements before it applied (DDL is not transactional:
the state left is asserted), and GET_LOCK serializes two sessions."""

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
from ormer_mysql.migrate import MySQLLiveTable

pytestmark = pytest.mark.mysql

D = decimal.Decimal


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.Enum):
    LOW = 1
    HIGH = 2


class MyMigParent(Model, table="my_mig_parent"):
    id: int = primary(auto=True)
    name: str = field(max_length=50, default="anon")


class MyMigAll(Model, table="my_mig_all"):
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
    parent_id: int | None = foreign_key(MyMigParent.id, on_delete="cascade", default=None)
    other_id: int | None = foreign_key(MyMigParent.id, default=None, index=True)


@pytest.fixture
async def conn(mysql_url: str) -> AsyncIterator[Connection]:
    async with await Database.connect(mysql_url) as c:
        yield c


async def test_create_table_then_inspect_has_no_steps(conn: Connection) -> None:
    await fresh_tables(conn, MyMigParent, MyMigAll)
    live = await conn.dialect.inspect_table(conn, "my_mig_all")
    assert live is not None
    assert diff_live(conn.dialect, live, model_schema(table_of(MyMigAll))) == []
    assert (await conn.plan_table(MyMigAll)).steps == []
    assert (await conn.plan_table(MyMigParent)).steps == []
    columns = {c.name: c for c in live.columns}
    assert [c.name for c in live.columns] == [f.column for f in table_of(MyMigAll).fields]
    assert columns["id"] == LiveColumn("id", "BIGINT", False, None, primary=True, auto=True)
    assert columns["title"] == LiveColumn("title", "LONGTEXT", False, "'it''s'")
    assert columns["code"].type == "VARCHAR(20)"
    assert columns["label"].type == "VARCHAR(255)"  # indexed without max_length
    assert columns["key"].type == "VARBINARY(16)"
    assert columns["count"] == LiveColumn("count", "BIGINT", False, "3")
    assert columns["price"] == LiveColumn("price", "DECIMAL(12,3)", False, "1.5")
    assert columns["big"].default == "100000000000000000000"
    assert columns["neg"].default == "-3"
    assert columns["flag"] == LiveColumn("flag", "TINYINT(1)", False, "1")
    assert columns["off"].default == "0"
    assert columns["aware"].type == "DATETIME(6)" and columns["at"].type == "DATETIME(6)"
    assert columns["clock"].type == "TIME(6)" and columns["doc"].type == "JSON"
    assert columns["data"].type == "LONGBLOB" and columns["ref"].type == "CHAR(36)"
    assert columns["color"] == LiveColumn("color", "LONGTEXT", False, "'red'")
    assert columns["level"] == LiveColumn("level", "BIGINT", False, "2")
    assert live.primary_key == ("id",)
    assert set(live.indexes) == {
        IndexSchema("ix_my_mig_all_cd", ("c", "d")),
        IndexSchema("ix_my_mig_all_key", ("key",)),
        IndexSchema("ix_my_mig_all_label", ("label",)),
        IndexSchema("ix_my_mig_all_other_id", ("other_id",)),
        IndexSchema("uq_my_mig_all_ab", ("a", "b"), unique=True),
        IndexSchema("uq_my_mig_all_code", ("code",), unique=True),
    }
    assert {(f.columns, f.ref_table, f.ref_columns, f.on_delete) for f in live.foreign_keys} == {
        (("parent_id",), "my_mig_parent", ("id",), "cascade"),
        (("other_id",), "my_mig_parent", ("id",), "restrict"),  # InnoDB's default
    }
    # the index InnoDB made for parent_id is kept aside, not reported
    assert isinstance(live, MySQLLiveTable)
    assert [i.columns for i in live.foreign_key_indexes] == [("parent_id",)]
    shown = await conn.exec_rows(
        "SELECT DISTINCT index_name FROM information_schema.statistics "
        "WHERE table_schema = DATABASE() AND table_name = 'my_mig_all' AND column_name = %s",
        ["parent_id"],
    )
    assert shown == [(live.foreign_key_indexes[0].name,)]


async def test_inspect_missing_table_is_none(conn: Connection) -> None:
    assert await conn.dialect.inspect_table(conn, "my_mig_no_such_table") is None


class Tricky(Model, table="my_mig_tricky"):
    id: int = primary(auto=True)
    a: str = field(max_length=10, default="100%")
    b: str = "a\\b\nc'd%s"
    c: float = -0.25
    d: D = field(default=D("-12.500"), max_digits=8, decimal_places=3)


class TrickyV2(Model, table="my_mig_tricky"):
    id: int = primary(auto=True)
    a: str = field(max_length=10, default="50%")
    b: str = "x\\%"
    c: float = 1e-7
    d: D = field(default=D("0"), max_digits=8, decimal_places=3)


async def test_defaults_with_quotes_backslashes_and_percents(conn: Connection) -> None:
    await fresh_tables(conn, Tricky)
    assert (await conn.plan_table(Tricky)).steps == []
    await conn.exec_non_query("INSERT INTO my_mig_tricky (id) VALUES (1)")  # server defaults
    assert await conn.exec_rows("SELECT a, b, c, d FROM my_mig_tricky") == [
        ("100%", "a\\b\nc'd%s", -0.25, D("-12.500"))
    ]
    plan = await conn.migrate_table(TrickyV2)
    assert len(plan.steps) == 4
    assert (await conn.plan_table(TrickyV2)).steps == []
    await conn.exec_non_query("INSERT INTO my_mig_tricky (id) VALUES (2)")
    assert await conn.exec_rows("SELECT a, b, c, d FROM my_mig_tricky WHERE id = 2") == [
        ("50%", "x\\%", 1e-7, D("0.000"))
    ]


# -- one change of each kind, v1 -> v2 -------------------------------------------------------
class V1(Model, table="my_mig_steps"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)
    score: int | None = None
    note: str | None = None
    tag: str = "a"
    gone: int | None = None
    team_id: int | None = foreign_key(MyMigParent.id, default=None)
    code: str = unique_field(max_length=10, default="")
    label: str = index(default="")


class V2(Model, table="my_mig_steps"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)  # widened
    score: int = 0  # NOT NULL now, with a default
    note: str = index(default="n/a")  # NOT NULL + indexed
    tag: str = "b"  # default changed
    team_id: int | None = foreign_key(MyMigParent.id, on_delete="set null", default=None)
    code: str = field(max_length=10, default="")  # unique dropped
    label: str = ""  # index dropped
    added: int = 7  # new NOT NULL column with a default
    extra: str | None = unique_field(default=None)  # new unique column


async def test_each_change_kind_runs_and_keeps_rows(conn: Connection) -> None:
    await fresh_tables(conn, MyMigParent, V1)
    parent = MyMigParent(name="p")
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
    live = await conn.dialect.inspect_table(conn, "my_mig_steps")
    assert live is not None
    assert diff_live(conn.dialect, live, model_schema(table_of(V2))) == []
    rows = await conn.exec_rows(
        "SELECT name, score, note, tag, added, extra, team_id FROM my_mig_steps ORDER BY name"
    )
    assert rows == [
        ("ann", 0, "n/a", "a", 7, None, parent.id),
        ("bob", 5, "hi", "a", 7, None, None),
    ]
    # ... and back: every change reverses (the narrowing VARCHAR(50) -> VARCHAR(20) included)
    await conn.migrate_table(V1, allow_destructive=True)
    assert (await conn.plan_table(V1)).steps == []
    assert await conn.exec_rows("SELECT name, score FROM my_mig_steps ORDER BY name") == [
        ("ann", 0),
        ("bob", 5),
    ]


async def test_rendered_alters_run_one_by_one(conn: Connection) -> None:
    """Each step's own SQL, run alone on the server, then the table re-inspected."""
    await fresh_tables(conn, MyMigParent, V1)
    plan = await conn.plan_table(V2)
    for step in plan.steps:
        for sql in step.sql:
            await conn.exec_non_query(sql)
    live = await conn.dialect.inspect_table(conn, "my_mig_steps")
    assert live is not None
    assert diff_live(conn.dialect, live, model_schema(table_of(V2))) == []


async def test_file_operations_find_the_foreign_key_the_server_named(conn: Connection) -> None:
    """A migration file names a foreign key ``fk_<table>_<column>``, as create_table
    does; a table made otherwise (by hand, or by an ormer that let the server name it)
    has the server's name: dropping it finds it by its columns."""
    await fresh_tables(conn, MyMigParent, V1)
    (fk,) = model_schema(table_of(V1)).foreign_keys
    assert fk.name == "fk_my_mig_steps_team_id"
    await conn.exec_non_query(
        "ALTER TABLE `my_mig_steps` DROP FOREIGN KEY `fk_my_mig_steps_team_id`"
    )
    await conn.exec_non_query(
        "ALTER TABLE `my_mig_steps` DROP INDEX `fk_my_mig_steps_team_id`, "
        "ADD FOREIGN KEY (`team_id`) REFERENCES `my_mig_parent` (`id`)"
    )
    ran = await apply_operations(conn, [DropForeignKey("my_mig_steps", fk)])
    assert ran == [
        "ALTER TABLE `my_mig_steps` DROP FOREIGN KEY `my_mig_steps_ibfk_1`",
        "ALTER TABLE `my_mig_steps` DROP INDEX `team_id`",  # the index InnoDB made for it
    ]
    live = await conn.dialect.inspect_table(conn, "my_mig_steps")
    assert live is not None and live.foreign_keys == ()
    indexed = await conn.exec_rows(
        "SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() "
        "AND table_name = 'my_mig_steps' AND column_name = 'team_id'"
    )
    assert indexed == []
    await apply_operations(conn, [AddForeignKey("my_mig_steps", fk)])
    live = await conn.dialect.inspect_table(conn, "my_mig_steps")
    assert live is not None and [f.name for f in live.foreign_keys] == [fk.name]
    assert (await conn.plan_table(V1)).steps == []


class FkPlain(Model, table="my_mig_fkix"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key(MyMigParent.id)


class FkIndexed(Model, table="my_mig_fkix"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key(MyMigParent.id, index=True)


class FkUnique(Model, table="my_mig_fkix"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key(MyMigParent.id, unique=True)


async def test_indexes_on_a_foreign_key_column_come_and_go(conn: Connection) -> None:
    """Index a foreign key column, make it unique, drop both: the foreign key stays
    (MySQL keeps an index for it), every plan after a migration is empty."""
    await fresh_tables(conn, MyMigParent, FkPlain)
    parent = MyMigParent(name="p")
    await conn.insert(parent)
    await conn.insert(FkPlain(parent_id=parent.id))
    for model in (FkIndexed, FkUnique, FkPlain, FkUnique, FkIndexed, FkPlain):
        await conn.migrate_table(model, allow_destructive=True)
        assert (await conn.plan_table(model)).steps == [], model
        live = await conn.dialect.inspect_table(conn, "my_mig_fkix")
        assert live is not None and [f.columns for f in live.foreign_keys] == [("parent_id",)]
        # exactly one index on the column: the model's, else the one the foreign key needs
        indexes = await conn.exec_rows(
            "SELECT DISTINCT index_name FROM information_schema.statistics "
            "WHERE table_schema = DATABASE() AND table_name = 'my_mig_fkix' "
            "AND column_name = 'parent_id'"
        )
        assert len(indexes) == 1, (model, indexes)
    assert await conn.exec_rows("SELECT parent_id FROM my_mig_fkix") == [(parent.id,)]


class TypeV1(Model, table="my_mig_types"):
    id: int = primary(auto=True)
    amount: D = field(max_digits=10, decimal_places=2, default=D("0"))
    text: str = field(max_length=5, default="")


class TypeV2(Model, table="my_mig_types"):
    id: int = primary(auto=True)
    amount: D = field(max_digits=14, decimal_places=4, default=D("1.5"))
    text: str = ""


async def test_type_widening_is_not_destructive_and_keeps_values(conn: Connection) -> None:
    await fresh_tables(conn, TypeV1)
    await conn.insert(TypeV1(amount=D("12345678.91"), text="abcde"))
    plan = await conn.plan_table(TypeV2)
    assert not plan.destructive, [s.reason for s in plan.steps]
    sql = " ".join(s for step in plan.steps for s in step.sql)
    assert "MODIFY COLUMN `amount` DECIMAL(14, 4) NOT NULL DEFAULT 1.5" in sql
    assert "MODIFY COLUMN `text` LONGTEXT NOT NULL DEFAULT ''" in sql
    await conn.migrate_table(TypeV2)
    assert await conn.exec_rows("SELECT amount, text FROM my_mig_types") == [
        (D("12345678.9100"), "abcde")
    ]
    assert (await conn.plan_table(TypeV2)).steps == []
    back = await conn.plan_table(TypeV1)
    assert back.destructive  # DECIMAL(14,4) -> DECIMAL(10,2) narrows


class ConvV1(Model, table="my_mig_conv"):
    id: int = primary(auto=True)
    doc: dict[str, int] | None = None
    text: str | None = None
    num: int | None = None
    flag: bool = False
    blob: bytes | None = None


class ConvV2(Model, table="my_mig_conv"):
    id: int = primary(auto=True)
    doc: str | None = None  # json -> str
    text: dict[str, int] | None = None  # str -> json
    num: str | None = None  # int -> str
    flag: int = 0  # bool -> int
    blob: bytes | None = index(max_length=40, default=None)  # unbounded -> indexed, bounded


async def test_kind_changes_convert_the_values(conn: Connection) -> None:
    await fresh_tables(conn, ConvV1)
    await conn.insert(ConvV1(doc={"a": 1}, text='{"b": 2}', num=5, flag=True, blob=b"xy"))
    select = "SELECT doc, text, num, flag, `blob` FROM my_mig_conv"
    await conn.migrate_table(ConvV2, allow_destructive=True)
    assert (await conn.plan_table(ConvV2)).steps == []
    assert await conn.exec_rows(select) == [('{"a":1}', '{"b": 2}', "5", 1, b"xy")]
    await conn.migrate_table(ConvV1, allow_destructive=True)
    assert (await conn.plan_table(ConvV1)).steps == []
    assert await conn.exec_rows(select) == [('{"a":1}', '{"b": 2}', 5, 1, b"xy")]


class Broken(Model, table="my_mig_steps"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)
    score: int | None = None
    note: str | None = None
    tag: str = "a"
    gone: int | None = None
    team_id: int | None = foreign_key(MyMigParent.id, default=None)
    code: str = unique_field(max_length=10, default="")
    label: str = index(default="")
    added: int = 1
    # a unique constraint the rows break: the last statement of the plan fails
    dup: int = unique_field(default=0)


async def test_failing_plan_leaves_the_statements_before_it(conn: Connection) -> None:
    """MySQL/MariaDB commit each DDL statement: a plan failing on its last statement
    (a UNIQUE constraint the rows break) leaves the columns added before it, and the
    next plan has just the failed step left."""
    await fresh_tables(conn, MyMigParent, V1)
    await conn.insert(V1(name="a", code="a"))
    await conn.insert(V1(name="b", code="b"))
    with pytest.raises(UniqueViolationError):
        await conn.migrate_table(Broken)
    live = await conn.dialect.inspect_table(conn, "my_mig_steps")
    assert live is not None
    assert live.column("added") is not None and live.column("dup") is not None
    assert [i for i in live.indexes if "dup" in i.columns] == []
    assert await conn.exec_rows("SELECT name, added, dup FROM my_mig_steps ORDER BY name") == [
        ("a", 1, 0),
        ("b", 1, 0),
    ]
    left = await conn.plan_table(Broken)
    assert [str(s) for s in left.steps] == ["create unique index uq_my_mig_steps_dup (dup)"]
    await conn.exec_non_query("UPDATE my_mig_steps SET dup = id")
    await conn.migrate_table(Broken)
    assert (await conn.plan_table(Broken)).steps == []


# -- GET_LOCK ---------------------------------------------------------------------------------
async def test_migration_lock_makes_a_second_session_wait(mysql_url: str) -> None:
    order: list[str] = []
    async with (
        await Database.connect(mysql_url) as first,
        await Database.connect(mysql_url) as second,
    ):
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


async def test_migration_lock_is_released_when_the_body_raises(mysql_url: str) -> None:
    async with (
        await Database.connect(mysql_url) as first,
        await Database.connect(mysql_url) as second,
    ):
        with pytest.raises(RuntimeError):
            async with first.dialect.migration_lock(first):
                raise RuntimeError("boom")
        # the other session gets it at once (a wait would hit the timeout)
        await asyncio.wait_for(_take_and_release(second), 2)


async def _take_and_release(conn: Connection) -> None:
    async with conn.dialect.migration_lock(conn):
        rows = await conn.exec_rows(
            "SELECT IS_USED_LOCK(CONCAT('ormer_migrations:', DATABASE())) = CONNECTION_ID()"
        )
        assert rows == [(1,)]


async def test_migration_lock_times_out_with_migration_error(
    mysql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with (
        await Database.connect(mysql_url) as first,
        await Database.connect(mysql_url) as second,
    ):
        async with first.dialect.migration_lock(first):
            monkeypatch.setattr(second.dialect, "migration_lock_timeout", 0.2)
            with pytest.raises(MigrationError, match="another process is migrating"):
                async with second.dialect.migration_lock(second):
                    pytest.fail("the lock is held by the first session")
        await _take_and_release(second)  # free again once the first released it

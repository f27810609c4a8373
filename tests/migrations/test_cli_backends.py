"""``ormer migrations`` through the CLI (subprocesses) on every backend: the round trip
make → upgrade → edit models → make → upgrade → downgrade, a failing revision, and
two concurrent upgrades."""

from __future__ import annotations

import pytest

from .conftest import Project

MODELS_V1 = """
class Team(Model, table="mig_team"):
    id: int = primary(auto=True)
    name: str = unique(max_length=50)


class Person(Model, table="mig_person"):
    id: int = primary(auto=True)
    name: str = field(max_length=40)
    age: int = 0
    team_id: int | None = foreign_key("mig_team.id", default=None)
"""

MODELS_V2 = """
class Team(Model, table="mig_team"):
    id: int = primary(auto=True)
    name: str = unique(max_length=120)  # widened: SQLite rebuilds this referenced table


class Person(Model, table="mig_person"):
    id: int = primary(auto=True)
    name: str = field(max_length=80)
    age: int = 0
    team_id: int | None = foreign_key("mig_team.id", default=None)
    email: str | None = field(default=None, max_length=100)
    score: int = 7


class Tag(Model, table="mig_tag"):
    id: int = primary(auto=True)
    label: str = index(max_length=30)
"""


def test_round_trip(project: Project) -> None:
    project.write_models(MODELS_V1)
    assert "created migrations/" in project.ok("make", "-m", "first tables", "--models", "models")
    assert project.ok("make", "-m", "again", "--models", "models").strip() == "no changes"
    (first,) = project.files()
    rev1 = first.name.split("_")[0]
    out = project.ok("upgrade")
    assert out.strip() == f"applied {rev1} first tables"
    assert project.ok("upgrade").strip() == "up to date: no pending revision"
    project.query("INSERT INTO mig_team (name) VALUES ('red')")
    project.query("INSERT INTO mig_person (name, age, team_id) VALUES ('ann', 31, 1)")

    project.write_models(MODELS_V2)
    check = project.cli("check", "--models", "models")
    assert check.code == 1
    assert "mig_person: add column email" in check.out
    assert "mig_tag: create table mig_tag" in check.out
    project.ok("make", "-m", "email, score and tags", "--models", "models")
    assert project.cli("check", "--models", "models").code == 0
    second = next(p for p in project.files() if p != first)
    rev2 = second.name.split("_")[0]
    history = project.ok("history")
    assert f"{rev1}  applied" in history and f"{rev2}  pending" in history

    assert project.ok("upgrade").strip() == f"applied {rev2} email, score and tags"
    assert {"email", "score"} <= set(project.columns("mig_person"))
    assert project.columns("mig_tag") == ["id", "label"]
    # the row is kept, the new NOT NULL column got its default
    assert project.query("SELECT name, age, email, score FROM mig_person") == [("ann", 31, None, 7)]
    project.query("INSERT INTO mig_person (name, age, email) VALUES ('bob', 2, 'b@x.org')")
    rows = project.query("SELECT revision, parent FROM ormer_migrations ORDER BY applied_at")
    assert sorted(rows) == sorted([(rev1, None), (rev2, rev1)])

    assert project.ok("downgrade", rev1).strip() == f"reverted {rev2} email, score and tags"
    assert project.columns("mig_person") == ["id", "name", "age", "team_id"]
    assert project.columns("mig_tag") == []
    assert "50" in project.column_type("mig_team", "name")
    assert sorted(project.query("SELECT name, age, team_id FROM mig_person")) == [
        ("ann", 31, 1),
        ("bob", 2, None),
    ]
    assert project.query("SELECT id, name FROM mig_team") == [(1, "red")]
    assert project.query("SELECT revision FROM ormer_migrations") == [(rev1,)]
    history = project.ok("history")
    assert f"{rev1}  applied" in history and f"{rev2}  pending" in history

    assert project.ok("downgrade", "base").strip() == f"reverted {rev1} first tables"
    assert project.columns("mig_person") == []
    assert project.query("SELECT revision FROM ormer_migrations") == []


FAILING_1 = """
revision = "a1"
parent = None
message = "one"


def upgrade(op):
    op.create_table("mig_fail", op.column("id", "int", primary=True), op.column("n", "int"))
    op.execute("INSERT INTO mig_fail (id, n) VALUES (1, 1)")


def downgrade(op):
    op.drop_table("mig_fail")
"""

FAILING_2 = """
revision = "b2"
parent = "a1"
message = "two"


def upgrade(op):
    op.add_column("mig_fail", op.column("extra", "int", nullable=True))
    op.execute("UPDATE mig_fail SET n = 2")
    op.execute("THIS IS NOT SQL")


def downgrade(op):
    op.drop_column("mig_fail", "extra")
"""


def test_failing_revision(project: Project) -> None:
    project.write_migration("a1_one.py", FAILING_1)
    project.write_migration("b2_two.py", FAILING_2)
    result = project.cli("upgrade")
    assert result.code == 2
    assert result.out.strip() == "applied a1 one"
    assert result.err.startswith("ormer: error: b2_two.py: upgrade failed")
    assert "Traceback" not in result.err
    assert project.query("SELECT revision FROM ormer_migrations") == [("a1",)]
    if project.backend == "mysql":
        # DDL commits by itself on MariaDB/MySQL: the statements before the failing one
        # are applied (the column, the UPDATE), the revision is not recorded.
        assert project.columns("mig_fail") == ["id", "n", "extra"]
        assert project.query("SELECT n FROM mig_fail") == [(2,)]
    else:
        assert project.columns("mig_fail") == ["id", "n"]
        assert project.query("SELECT n FROM mig_fail") == [(1,)]


CONCURRENT_1 = """
revision = "c1"
parent = None
message = "table"


def upgrade(op):
    op.create_table("mig_once", op.column("id", "int", primary=True, auto=True))


def downgrade(op):
    op.drop_table("mig_once")
"""

CONCURRENT_2 = """
import asyncio

revision = "c2"
parent = "c1"
message = "rows"


async def slowly(conn):
    await asyncio.sleep(0.5)  # both processes are surely running by now


def upgrade(op):
    op.run(slowly)
    op.add_column("mig_once", op.column("note", "str", nullable=True, max_length=10))
    op.execute("INSERT INTO mig_once (note) VALUES ('x')")


def downgrade(op):
    op.drop_column("mig_once", "note")
"""


# Turso locks its file for one process: a second process cannot open it at all.
@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"], indirect=True)
def test_concurrent_upgrades_apply_each_revision_once(project: Project) -> None:
    project.write_migration("c1_table.py", CONCURRENT_1)
    project.write_migration("c2_rows.py", CONCURRENT_2)
    procs = [project.popen("upgrade") for _ in range(2)]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    outs = sorted(out.strip() for out, _ in results)
    assert outs == ["applied c1 table\napplied c2 rows", "up to date: no pending revision"]
    assert sorted(project.query("SELECT revision FROM ormer_migrations")) == [("c1",), ("c2",)]
    assert project.query("SELECT note FROM mig_once") == [("x",)]


@pytest.mark.parametrize("backend", ["sqlite", "postgres", "mysql"], indirect=True)
def test_upgrade_sql_prints_without_running(project: Project) -> None:
    project.write_migration("c1_table.py", CONCURRENT_1)
    project.write_migration("c2_rows.py", CONCURRENT_2)
    project.ok("upgrade", "c1")
    out = project.ok("upgrade", "--sql")
    lines = out.splitlines()
    assert lines[0] == "-- revision c2 (c2_rows.py): rows"
    assert lines[1].startswith("-- run ")
    assert "ALTER TABLE" in lines[2] and "note" in lines[2] and lines[2].endswith(";")
    assert lines[3] == "INSERT INTO mig_once (note) VALUES ('x');"
    assert project.query("SELECT revision FROM ormer_migrations") == [("c1",)]
    assert "note" not in project.columns("mig_once")

"""Migration files, the chain, state replay, autogenerate and the CLI's errors, run
in-process (``ormer.cli.main``) on SQLite."""

from __future__ import annotations

import asyncio
import decimal
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from ormer import Database
from ormer.cli import main
from ormer.errors import MigrationError
from ormer.migrations import AddColumn, DropColumn, Operations, load_chain, replay
from ormer.migrations.autogen import diff_state, inverse, render_migration
from ormer.migrations.files import record
from ormer.migrations.schema import ColumnSchema


class Env:
    """A temp project in the cwd; ``run(...)`` calls ``main`` and returns (code, out, err)."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys
        self.url = f"sqlite:///{root / 'app.db'}"
        self.models = f"models_{uuid.uuid4().hex[:8]}"

    def write_models(self, source: str) -> None:
        self.models = f"models_{uuid.uuid4().hex[:8]}"  # a fresh module: no import cache
        (self.root / f"{self.models}.py").write_text(
            "import decimal\nfrom ormer import Model, field, primary, unique, index\n"
            + textwrap.dedent(source)
        )

    def migration(self, name: str, source: str) -> Path:
        (self.root / "migrations").mkdir(exist_ok=True)
        path = self.root / "migrations" / name
        path.write_text(textwrap.dedent(source))
        return path

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main(["migrations", *args, "--url", self.url, "--models", self.models])
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def env(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Env:
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("ORMER_URL", raising=False)
    return Env(tmp_path, capsys)


def _file(rev: str, parent: str | None, body: str = "op.execute('SELECT 1')") -> str:
    return f"""
revision = {rev!r}
parent = {parent!r}
message = "m {rev}"


def upgrade(op):
    {body}


def downgrade(op):
    pass
"""


# -- the op API and state replay ---------------------------------------------------------
def test_ops_record_against_the_state() -> None:
    op = Operations({}, "test")
    op.create_table(
        "t",
        op.column("id", "int", primary=True, auto=True),
        op.column("age", "int", default=3),
        op.column("name", "str", max_length=20),
        indexes=[op.index("ix_t_name", "name")],
    )
    op.drop_column("t", "age")
    op.drop_index("t", "ix_t_name")
    op.alter_column("t", "name", max_length=40, nullable=True)
    assert op.state["t"].primary_key == ("id",)
    assert [c.name for c in op.state["t"].columns] == ["id", "name"]
    assert op.state["t"].column("name") == ColumnSchema("name", "str", True, max_length=40)
    assert op.state["t"].indexes == ()
    dropped = op.operations[1]
    assert isinstance(dropped, DropColumn)
    assert dropped.column == ColumnSchema("age", "int", default=3)  # the full definition
    with pytest.raises(MigrationError, match="test: table 't' has no column 'nope'"):
        op.drop_column("t", "nope")
    with pytest.raises(MigrationError, match="no table 'missing'"):
        op.add_column("missing", op.column("x", "int"))
    with pytest.raises(MigrationError, match="unknown kind 'text'"):
        op.column("x", "text")
    with pytest.raises(MigrationError, match="unknown option"):
        op.alter_column("t", "name", size=3)


def test_async_upgrade_functions_are_recorded() -> None:
    async def upgrade(op: Operations) -> None:
        op.create_table("t", op.column("id", "int", primary=True))

    assert list(record(upgrade, {}, "f.py").state) == ["t"]

    async def awaits(op: Operations) -> None:
        import asyncio

        await asyncio.sleep(0)

    with pytest.raises(MigrationError, match=r"f.py awaited something.*op.run"):
        record(awaits, {}, "f.py")


def test_chain_order_and_errors(tmp_path: Path) -> None:
    d = tmp_path / "migrations"
    d.mkdir()
    (d / "b_second.py").write_text(_file("b", "a"))
    (d / "a_first.py").write_text(_file("a", None))
    (d / "c_third.py").write_text(_file("c", "b"))
    (d / "README.txt").write_text("not a migration")
    assert [r.revision for r in load_chain(d)] == ["a", "b", "c"]

    (d / "d_fork.py").write_text(_file("d", "b"))
    with pytest.raises(
        MigrationError, match=r"forks: c_third.py, d_fork.py have the same parent b"
    ):
        load_chain(d)
    (d / "d_fork.py").write_text(_file("d", "zz"))
    with pytest.raises(MigrationError, match=r"d_fork.py: its parent revision zz is in no"):
        load_chain(d)
    (d / "d_fork.py").write_text(_file("d", "e"))
    (d / "e_loop.py").write_text(_file("e", "d"))
    with pytest.raises(MigrationError, match=r"cycle: d_fork.py, e_loop.py cannot be reached"):
        load_chain(d)
    (d / "e_loop.py").unlink()
    (d / "c_dup.py").write_text(_file("c", "b"))
    with pytest.raises(MigrationError, match=r"revision c is defined twice: c_dup.py and c_third"):
        load_chain(d)
    (d / "c_dup.py").unlink()
    (d / "d_fork.py").write_text("revision = 'd'\n")
    with pytest.raises(MigrationError, match=r"d_fork.py: a migration file needs parent, upgrade"):
        load_chain(d)
    (d / "d_fork.py").write_text("import nosuchmodule_xyz\n")
    with pytest.raises(MigrationError, match=r"d_fork.py: ModuleNotFoundError"):
        load_chain(d)
    (d / "d_fork.py").write_text(_file("e", "c"))
    with pytest.raises(MigrationError, match=r"d_fork.py: the file name must start with its rev"):
        load_chain(d)
    (d / "d_fork.py").write_text(_file("d", "c", "op.drop_table(undefined_name)"))
    with pytest.raises(
        MigrationError, match=r"d_fork.py: upgrade: NameError: name 'undefined_name' is not"
    ):
        replay(load_chain(d))


# -- autogenerate --------------------------------------------------------------------------
def test_autogenerate_downgrade_is_the_inverse() -> None:
    op = Operations({}, "x")
    op.create_table(
        "t",
        op.column("id", "int", primary=True),
        op.column(
            "price", "decimal", max_digits=8, decimal_places=2, default=decimal.Decimal("1.5")
        ),
    )
    op.create_table("u", op.column("id", "int", primary=True))
    old = op.state
    new = dict(old)
    del new["u"]
    new["t"] = old["t"].__class__("t", (old["t"].columns[0],), ("id",))
    ops = diff_state(old, new)
    assert [o.describe() for o in ops] == ["drop column price", "drop table u"]
    down = inverse(ops, old)
    assert [o.describe() for o in down] == [
        "create table u (1 columns)",
        "add column price decimal(8, 2) NOT NULL DEFAULT Decimal('1.5')",
    ]
    assert isinstance(down[1], AddColumn) and down[1].column == old["t"].columns[1]
    source = render_migration("r1", "r0", 'say "hi"', ops, down)
    namespace: dict[str, object] = {}
    exec(compile(source, "r1_x.py", "exec"), namespace)  # the rendered file is valid Python
    assert (namespace["revision"], namespace["parent"]) == ("r1", "r0")
    assert namespace["message"] == 'say "hi"'
    assert 'default=Decimal("1.5")' in source and "from decimal import Decimal" in source
    # replaying the rendered functions gives back the states
    up = record(namespace["upgrade"], old, "r1")  # type: ignore[arg-type]
    assert up.state == new
    assert record(namespace["downgrade"], new, "r1").state == old  # type: ignore[arg-type]


def test_make_check_and_data_migrations_kept(env: Env) -> None:
    env.write_models(
        """
        class Item(Model, table="item"):
            id: int = primary(auto=True)
            name: str = unique(max_length=30)
            price: decimal.Decimal = field(
                default=decimal.Decimal("0.00"), max_digits=8, decimal_places=2
            )
        """
    )
    assert env.run("check")[0] == 1  # no migrations yet: everything differs
    code, out, _ = env.run("make", "-m", "items")
    assert code == 0 and out.startswith("created migrations/")
    (first,) = load_chain(Path("migrations"))
    assert env.run("check")[:2] == (0, "the models match the migrations\n")
    assert env.run("make", "-m", "nothing")[:2] == (0, "no changes\n")
    assert len(list(Path("migrations").glob("*.py"))) == 1
    # a hand-written data migration in the chain: autogenerate builds on it
    env.migration(
        "d1_fill.py",
        f"""
        revision = "d1"
        parent = {first.revision!r}
        message = "fill"


        def upgrade(op):
            op.execute("INSERT INTO item (name, price) VALUES ('pen', 1.5)")


        def downgrade(op):
            op.execute("DELETE FROM item")
        """,
    )
    env.write_models(
        """
        class Item(Model, table="item"):
            id: int = primary(auto=True)
            name: str = unique(max_length=30)
            price: decimal.Decimal = field(
                default=decimal.Decimal("0.00"), max_digits=8, decimal_places=2
            )
            stock: int = 0
        """
    )
    code, out, err = env.run("check")
    assert (code, err) == (1, "")
    assert out.splitlines()[1:] == ["  item: add column stock int NOT NULL DEFAULT 0"]
    assert env.run("make", "-m", "stock")[0] == 0
    chain = load_chain(Path("migrations"))
    assert [r.message for r in chain] == ["items", "fill", "stock"]
    assert chain[2].parent == "d1"
    code, out, _ = env.run("upgrade")
    assert code == 0 and out.count("applied") == 3
    assert replay(chain)[-1].after["item"].column("stock") is not None


# -- the history and the CLI's errors -------------------------------------------------------
def test_edited_or_missing_applied_file_is_an_error(env: Env) -> None:
    env.migration(
        "a_one.py", _file("a", None, "op.create_table('t', op.column('id', 'int', primary=True))")
    )
    b = env.migration("b_two.py", _file("b", "a"))
    assert env.run("upgrade")[0] == 0
    b.write_text(b.read_text() + "\n# edited\n")
    code, out, err = env.run("upgrade")
    assert (code, out) == (2, "")
    assert err == (
        "ormer: error: b_two.py was edited after it was applied (its checksum differs from "
        "the history's): revert the edit and write a new migration\n"
    )
    assert env.run("history")[0] == 2
    b.unlink()
    code, _, err = env.run("downgrade", "base")
    assert code == 2
    assert err == "ormer: error: revision b ('m b') is applied but no migration file defines it\n"


def test_downgrade_targets(env: Env) -> None:
    env.migration("a_one.py", _file("a", None))
    env.migration("b_two.py", _file("b", "a"))
    env.migration("c_three.py", _file("c", "b"))
    assert env.run("upgrade", "b")[1] == "applied a m a\napplied b m b\n"
    assert (
        env.run("downgrade", "c")[2]
        == "ormer: error: revision c is not applied: nothing to downgrade\n"
    )
    assert (
        env.run("downgrade", "zz")[2] == "ormer: error: no migration file has the revision 'zz'\n"
    )
    assert env.run("downgrade", "b")[1] == "nothing to revert\n"
    assert env.run("downgrade", "a")[1] == "reverted b m b\n"
    history = env.run("history")[1].splitlines()
    assert [line.split()[:2] for line in history] == [
        ["a", "applied"],
        ["b", "pending"],
        ["c", "pending"],
    ]


def test_user_errors_are_one_line(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env.migration("a_one.py", _file("a", None))
    env.url = "nosuchdb://x/y"
    code, _, err = env.run("upgrade")
    assert code == 2 and err.startswith("ormer: error: ") and err.count("\n") == 1
    assert "nosuchdb" in err
    env.url = "not a url"
    code, _, err = env.run("history")
    assert code == 2 and err.startswith("ormer: error: malformed database URL 'not a url'")
    env.models = "no_such_models_module"
    code, _, err = env.run("check")
    assert (code, err) == (
        2,
        "ormer: error: cannot import models module 'no_such_models_module': "
        "ModuleNotFoundError: No module named 'no_such_models_module'\n",
    )
    (env.root / "broken_models.py").write_text("def f(:\n")
    env.models = "broken_models"
    code, _, err = env.run("make", "-m", "x")
    assert code == 2 and "cannot import models module 'broken_models': SyntaxError" in err
    assert "Traceback" not in err
    sys.modules.pop("broken_models", None)
    code = main(["migrations", "history"])  # no --url, no ORMER_URL
    assert code == 2
    assert capsys.readouterr().err == "ormer: error: no database URL: pass --url or set ORMER_URL\n"
    env.migration("b_two.py", _file("b", None))
    env.url = f"sqlite:///{env.root / 'app.db'}"
    code, _, err = env.run("upgrade")
    assert code == 2
    assert err == (
        "ormer: error: the chain forks: a_one.py, b_two.py have no parent (two first "
        "migrations); give one the other as parent\n"
    )


def test_sqlite_revision_breaking_a_foreign_key_is_rolled_back(env: Env) -> None:
    create = (
        "op.create_table('parent', op.column('id', 'int', primary=True)); "
        "op.create_table('child', op.column('id', 'int', primary=True), "
        "op.column('parent_id', 'int'), "
        "foreign_keys=[op.foreign_key('fk', ['parent_id'], 'parent', ['id'])]); "
        "op.execute('INSERT INTO parent (id) VALUES (1)'); "
        "op.execute('INSERT INTO child (id, parent_id) VALUES (1, 1)')"
    )
    env.migration("a_one.py", _file("a", None, create))
    env.migration("b_two.py", _file("b", "a", "op.execute('DELETE FROM parent')"))
    code, out, err = env.run("upgrade")
    assert (code, out) == (2, "applied a m a\n")
    assert err.startswith("ormer: error: b_two.py: upgrade failed (MigrationError: the revision ")
    assert "breaks 1 foreign key reference(s) (first: table child row 1 -> table parent)" in err
    code, out, _ = env.run("history")
    assert [line.split()[:2] for line in out.splitlines()] == [["a", "applied"], ["b", "pending"]]

    async def rows() -> list[tuple[object, ...]]:
        async with await Database.connect(env.url) as conn:
            return await conn.exec_rows("SELECT id FROM parent")

    assert asyncio.run(rows()) == [(1,)]  # the DELETE was rolled back

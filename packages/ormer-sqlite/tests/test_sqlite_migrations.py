"""SQLite (and Turso) table rebuilds keep what ``DROP TABLE`` would lose: views on the
table (the rename runs under ``legacy_alter_table``) and its triggers (recreated before
commit), following https://sqlite.org/lang_altertable.html section 7."""

from __future__ import annotations

from pathlib import Path

import pytest

from ormer import Database, Model, field, primary


class V1(Model, table="rebuilt"):
    id: int = primary(auto=True)
    name: str = field(max_length=10)


class V2(Model, table="rebuilt"):
    id: int = primary(auto=True)
    name: str = field(max_length=40)


class Log(Model, table="rebuilt_log"):
    id: int = primary(auto=True)
    name: str = ""


@pytest.fixture(params=["sqlite", "turso"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "turso":
        pytest.importorskip("ormer_turso", reason="ormer-turso is not installed")
    return f"{request.param}:///{tmp_path / 'rebuild.db'}"


@pytest.mark.asyncio
async def test_rebuild_keeps_views_and_triggers(url: str) -> None:
    async with await Database.connect(url) as db:
        await db.create_table(V1)
        await db.create_table(Log)
        await db.exec_non_query("CREATE VIEW rebuilt_names AS SELECT name FROM rebuilt")
        await db.exec_non_query(
            "CREATE TRIGGER rebuilt_log_insert AFTER INSERT ON rebuilt "
            "BEGIN INSERT INTO rebuilt_log (name) VALUES (NEW.name); END"
        )
        await db.insert(V1(name="a"))
        plan = await db.migrate_table(V2)
        assert plan.rebuild  # a type change: SQLite has no ALTER COLUMN
        await db.insert(V2(name="b" * 40))
        assert await db.exec_rows("SELECT name FROM rebuilt_names ORDER BY name") == [
            ("a",),
            ("b" * 40,),
        ]
        logged = [row.name for row in await db.select(Log).order_by(Log.id).collect()]
        assert logged == ["a", "b" * 40]  # the trigger fired before and after
        assert (await db.plan_table(V2)).steps == []

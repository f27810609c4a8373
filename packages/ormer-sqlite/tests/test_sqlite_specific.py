"""SQLite-specific behaviour: URL forms, pragmas, memory databases in a pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from ormer import ConfigurationError, Database, DbType, Model, primary


class Note(Model, table="lite_specific_note"):
    id: int = primary(auto=True)
    text: str


async def test_url_forms_reach_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with await Database.connect(DbType.SQLITE, "rel.db") as db:
        await db.create_table(Note)
        await db.insert(Note(text="via path"))
    async with await Database.connect("sqlite:///rel.db") as db:
        assert [n.text for n in await db.select(Note).collect()] == ["via path"]
    absolute = f"sqlite:///{tmp_path / 'rel.db'}"  # sqlite:////abs/path
    assert absolute.startswith("sqlite:////")
    async with await Database.connect(absolute) as db:
        assert await db.select(Note).count() == 1


async def test_malformed_sqlite_urls_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="sqlite:///"):
        await Database.connect("sqlite://relative.db")
    with pytest.raises(ConfigurationError):
        await Database.connect(DbType.SQLITE, "")


async def test_file_databases_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    async with await Database.connect(DbType.SQLITE, str(tmp_path / "w.db")) as db:
        assert await db.exec_rows("PRAGMA journal_mode") == [("wal",)]
        assert await db.exec_rows("PRAGMA foreign_keys") == [(1,)]
    assert (tmp_path / "w.db").exists()


async def test_memory_database_is_private_to_each_connection() -> None:
    async with await Database.connect(DbType.SQLITE, ":memory:") as a:
        await a.create_table(Note)
        await a.insert(Note(text="only here"))
        assert await a.exec_rows("PRAGMA journal_mode") == [("memory",)]
        async with await Database.connect("sqlite:///:memory:") as b:
            rows = await b.exec_rows(
                "SELECT name FROM sqlite_master WHERE name = ?", [Note.__ormer_table__.name]
            )
            assert rows == []


async def test_shared_cache_memory_uri_is_shared_across_a_pool() -> None:
    pool = (
        await Database.create_pool(DbType.SQLITE, "file:ormer_shared_mem?mode=memory&cache=shared")
        .max_size(3)
        .build()
    )
    async with pool, pool.get() as first:
        await first.create_table(Note)
        await first.insert(Note(text="shared"))
        async with pool.get() as second:
            assert second.driver is not first.driver
            assert [n.text for n in await second.select(Note).collect()] == ["shared"]

"""Turso specifics on real files: URLs, journal modes, BEGIN CONCURRENT, write-write
conflicts, retries and a pool of concurrent writers."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    DbType,
    Model,
    NotSupportedError,
    TransientError,
    WriteConflictError,
    primary,
)


class Counter(Model, table="turso_counter"):
    id: int = primary()
    n: int = 0


class Event(Model, table="turso_event"):
    id: int = primary(auto=True)
    writer: int = 0


async def setup(url: str, writers: int = 2) -> None:
    async with await Database.connect(url) as conn:
        for model in (Counter, Event):
            await conn.drop_table(model)
            await conn.create_table(model)
        await conn.insert([Counter(id=i) for i in range(writers)])


def test_urls() -> None:
    from ormer_turso.dialect import TursoDialect

    assert DbType.TURSO == "turso"

    d = TursoDialect()
    assert d.parse_target("turso:///rel/app.db").database == "rel/app.db"
    assert d.parse_target("turso:////abs/app.db").database == "/abs/app.db"
    assert d.parse_target("turso:///:memory:").database == ":memory:"
    assert d.parse_target("app.db?journal_mode=mvcc").query == {"journal_mode": "mvcc"}
    with pytest.raises(ConfigurationError, match="remote host"):
        d.parse_target("libsql://my-db.turso.io")
    with pytest.raises(ConfigurationError, match="not a Turso URL"):
        d.parse_target("sqlite:///app.db")


async def test_bad_journal_mode_option(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="journal_mode"):
        await Database.connect(DbType.TURSO, str(tmp_path / "a.db"), journal_mode="delete")


async def test_pragma_through_exec_non_query_switches_to_mvcc(tmp_path: Path) -> None:
    path = str(tmp_path / "seed.db")
    async with await Database.connect(DbType.TURSO, path) as conn:
        assert "concurrent" not in conn.dialect.transaction_modes
        with pytest.raises(NotSupportedError, match="concurrent"):
            await conn.begin(mode="concurrent")
        assert await conn.exec_non_query("PRAGMA journal_mode = 'mvcc'") == 1
        assert await conn.exec_rows("PRAGMA journal_mode") == [("mvcc",)]
        # the same connection follows the switch: BEGIN CONCURRENT works on it now
        assert "concurrent" in conn.dialect.transaction_modes
        await conn.create_table(Counter)
        async with conn.transaction(mode="concurrent"):
            assert conn.driver_in_transaction()
            await conn.insert(Counter(id=7, n=1))
        assert not conn.driver_in_transaction()
        assert [(c.id, c.n) for c in await conn.select(Counter).collect()] == [(7, 1)]
    async with await Database.connect(DbType.TURSO, path) as conn:
        assert "concurrent" in conn.dialect.transaction_modes
        tx = await conn.begin(mode="concurrent")
        assert conn.driver_in_transaction()
        await tx.rollback()


async def test_pragma_on_a_pooled_connection_switches_it_for_later_borrowers(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "pooled.db")
    pool = await Database.create_pool(f"turso:///{path}").max_size(1).build()
    async with pool:
        async with pool.get() as conn:
            assert "concurrent" not in conn.dialect.transaction_modes
            await conn.exec_non_query("PRAGMA journal_mode = 'mvcc'")
            assert "concurrent" in conn.dialect.transaction_modes
            await conn.create_table(Counter)
        # the pool's only connection, borrowed again, still speaks MVCC
        async with pool.get() as conn:
            assert "concurrent" in conn.dialect.transaction_modes
            async with conn.transaction(mode="concurrent"):
                await conn.insert(Counter(id=1, n=2))
        assert (await pool.find(Counter, 1)).n == 2
        # and a switch back to WAL is followed too
        async with pool.get() as conn:
            assert await conn.exec_rows("PRAGMA journal_mode = 'wal'") == [("wal",)]
            assert "concurrent" not in conn.dialect.transaction_modes
            with pytest.raises(NotSupportedError, match="concurrent"):
                await conn.begin(mode="concurrent")


async def test_switch_to_mvcc_refused_while_another_connection_has_the_file_open(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "shared.db")
    async with await Database.connect(DbType.TURSO, path) as a:
        await a.create_table(Counter)
        async with await Database.connect(DbType.TURSO, path) as b:
            with pytest.raises(ConfigurationError, match=r"1 other connection.*'wal'"):
                await b.exec_non_query("PRAGMA journal_mode = 'mvcc'")
            # opening with journal_mode="mvcc" is the same switch: refused as well
            with pytest.raises(ConfigurationError, match="2 other connection"):
                await Database.connect(DbType.TURSO, path, journal_mode="mvcc")
            # nothing changed: the file is in WAL, both connections work
            assert await b.exec_rows("PRAGMA journal_mode") == [("wal",)]
            assert "concurrent" not in b.dialect.transaction_modes
            await a.insert(Counter(id=1, n=1))
            async with b.transaction():
                await b.insert(Counter(id=2, n=2))
            assert [(c.id, c.n) for c in await a.select(Counter).collect()] == [(1, 1), (2, 2)]
            # asking for the mode in force is no switch
            assert await b.exec_rows("PRAGMA journal_mode = 'wal'") == [("wal",)]
        # alone now: the switch goes through
        await a.exec_non_query("PRAGMA journal_mode = 'mvcc'")
        assert "concurrent" in a.dialect.transaction_modes
        async with await Database.connect(DbType.TURSO, path, journal_mode="mvcc") as c:
            assert "concurrent" in c.dialect.transaction_modes
            assert await c.select(Counter).count() == 2


async def test_write_write_conflict_is_retriable_and_rolled_back(tmp_path: Path) -> None:
    url = f"turso:///{tmp_path / 'c.db'}?journal_mode=mvcc"
    await setup(url)
    async with await Database.connect(url) as a, await Database.connect(url) as b:
        ta = await a.begin(mode="concurrent")
        tb = await b.begin(mode="concurrent")
        await a.update(Counter).filter(Counter.id == 0).set(Counter.n, 1).execute()
        with pytest.raises(WriteConflictError) as info:
            await b.update(Counter).filter(Counter.id == 0).set(Counter.n, 2).execute()
        assert isinstance(info.value, TransientError)
        await tb.rollback()  # Turso rolled it back already: no second error
        assert not b.in_transaction and not b.driver_in_transaction()
        await ta.commit()
        # b is usable, and its update was not applied
        assert (await b.find(Counter, 0)).n == 1
        async with b.transaction(mode="concurrent"):
            await b.insert(Event(writer=1))
        assert await b.select(Event).count() == 1


async def test_conflict_inside_transaction_block(tmp_path: Path) -> None:
    url = f"turso:///{tmp_path / 'd.db'}?journal_mode=mvcc"
    await setup(url)
    async with await Database.connect(url) as a, await Database.connect(url) as b:
        async with a.transaction(mode="concurrent"):
            await a.update(Counter).filter(Counter.id == 1).set(Counter.n, 5).execute()

            async def conflicting() -> None:
                async with b.transaction(mode="concurrent"):
                    await b.insert(Event(writer=2))
                    await b.update(Counter).filter(Counter.id == 1).set(Counter.n, 6).execute()

            with pytest.raises(WriteConflictError):
                await conflicting()
        assert await b.select(Event).count() == 0
        assert (await b.find(Counter, 1)).n == 5


async def test_run_transaction_retries_a_conflict(tmp_path: Path) -> None:
    url = f"turso:///{tmp_path / 'r.db'}?journal_mode=mvcc"
    await setup(url)
    async with await Database.connect(url) as a, await Database.connect(url) as b:
        attempts = 0

        async def bump(conn: Connection) -> int:
            nonlocal attempts
            attempts += 1
            row = await conn.find(Counter, 0)
            if attempts == 1:  # another writer commits the same row meanwhile
                async with a.transaction(mode="concurrent"):
                    await a.update(Counter).filter(Counter.id == 0).set(Counter.n, 10).execute()
            await conn.update(Counter).filter(Counter.id == 0).set(Counter.n, row.n + 1).execute()
            return row.n + 1

        assert await b.run_transaction(bump, mode="concurrent") == 11
        assert attempts == 2
        assert (await a.find(Counter, 0)).n == 11


async def test_wal_pool_serialises_writers(tmp_path: Path) -> None:
    url = f"turso:///{tmp_path / 'w.db'}"
    await setup(url, writers=4)
    pool = await Database.create_pool(url).max_size(4).build()
    async with pool:

        async def writer(w: int) -> None:
            for _ in range(20):
                async with pool.get() as conn, conn.transaction():
                    row = await conn.find(Counter, w)
                    await conn.insert(Event(writer=w))
                    await (
                        conn.update(Counter)
                        .filter(Counter.id == w)
                        .set(Counter.n, row.n + 1)
                        .execute()
                    )

        await asyncio.gather(*(writer(w) for w in range(4)))
        assert await pool.select(Event).count() == 80
        assert [c.n for c in await pool.select(Counter).order_by(Counter.id).collect()] == [20] * 4


async def test_mvcc_pool_concurrent_writers(tmp_path: Path) -> None:
    """16 tasks x 50 BEGIN CONCURRENT transactions through a pool of 8: conflicts retried."""
    url = f"turso:///{tmp_path / 'm.db'}"
    await setup(url + "?journal_mode=mvcc", writers=16)
    pool = await Database.create_pool(url).max_size(8).connect_options(journal_mode="mvcc").build()
    async with pool:
        assert "concurrent" in pool.dialect.transaction_modes

        async def writer(w: int) -> None:
            async def once(conn: Connection) -> None:
                await conn.insert(Event(writer=w))
                row = await conn.find(Counter, w)
                await (
                    conn.update(Counter).filter(Counter.id == w).set(Counter.n, row.n + 1).execute()
                )

            for _ in range(50):
                await pool.run_transaction(once, mode="concurrent", retries=100)

        await asyncio.gather(*(writer(w) for w in range(16)))
        assert await pool.select(Event).count() == 800
        counters = await pool.select(Counter).order_by(Counter.id).collect()
        assert [c.n for c in counters] == [50] * 16
        for w in range(16):
            assert await pool.select(Event).filter(Event.writer == w).count() == 50


async def test_file_open_in_another_process(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    async with await Database.connect(DbType.TURSO, str(path)) as conn:
        await conn.create_table(Counter)
        code = (
            "import asyncio, ormer\n"
            f"async def main():\n    await ormer.Database.connect('turso', {str(path)!r})\n"
            "try:\n    asyncio.run(main())\n"
            "except ormer.ConnectionError as exc:\n    print('ConnectionError', exc)\n"
        )
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", code], capture_output=True, text=True
        )
        assert done.stdout.startswith("ConnectionError"), done.stderr
        assert "locked by another process" in done.stdout
        await conn.insert(Counter(id=1))  # this process's connection is unharmed
        assert await conn.select(Counter).count() == 1

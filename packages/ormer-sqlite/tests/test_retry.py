"""run_transaction retries SQLite's "database is locked" (a TransientError) between two
connections to one file, and gives up with it when retries are used up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ormer import Connection, Database, DbType, Model, TransientError, primary

pytestmark = pytest.mark.sqlite


class Tally(Model, table="retry_tally"):
    id: int = primary()
    n: int = 0


async def _bump(conn: Connection) -> int:
    row = await conn.find(Tally, 1)
    assert row is not None
    await conn.update(Tally).filter(Tally.id == 1).set(Tally.n, row.n + 1).execute()
    return row.n + 1


async def test_a_locked_database_is_retried(tmp_path: Path) -> None:
    path = str(tmp_path / "retry.db")
    # a short busy timeout: the second writer fails fast with "database is locked"
    async with (
        await Database.connect(DbType.SQLITE, path, timeout=0.05) as holder,
        await Database.connect(DbType.SQLITE, path, timeout=0.05) as writer,
    ):
        await holder.create_table(Tally)
        await holder.insert(Tally(id=1))
        attempts = 0

        async def counted(conn: Connection) -> int:
            nonlocal attempts
            attempts += 1
            return await _bump(conn)

        tx = await holder.begin(mode="immediate")  # holds the write lock
        await holder.update(Tally).filter(Tally.id == 1).set(Tally.n, 10).execute()
        retried = asyncio.create_task(
            # deferred: BEGIN succeeds, the UPDATE inside counted() meets the lock
            writer.run_transaction(counted, retries=50, backoff=0.01)
        )
        await asyncio.sleep(0.3)  # the writer fails and retries meanwhile
        assert not retried.done()
        await tx.commit()
        assert await asyncio.wait_for(retried, 10) == 11
        assert attempts > 1
        assert (await holder.find(Tally, 1)) == Tally(id=1, n=11)


async def test_retries_used_up_raise_the_transient_error(tmp_path: Path) -> None:
    path = str(tmp_path / "retry.db")
    async with (
        await Database.connect(DbType.SQLITE, path, timeout=0.05) as holder,
        await Database.connect(DbType.SQLITE, path, timeout=0.05) as writer,
    ):
        await holder.create_table(Tally)
        await holder.insert(Tally(id=1, n=5))
        tx = await holder.begin(mode="immediate")
        with pytest.raises(TransientError, match="locked"):
            await writer.run_transaction(_bump, mode="immediate", retries=2, backoff=0.001)
        assert not writer.in_transaction
        await tx.rollback()
        assert await writer.run_transaction(_bump) == 6  # usable afterwards
        assert (await holder.find(Tally, 1)) == Tally(id=1, n=6)

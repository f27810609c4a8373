"""Compliance suite: row locks, ``select(...).for_update()`` / ``.for_share()``.

On a backend with row locks (PostgreSQL, MySQL, MariaDB) a second connection is
blocked by a ``FOR UPDATE`` lock, skips the locked row with ``skip_locked=True``
and fails at once with ``nowait=True`` (LockNotAvailableError); 8 workers on a
pool claim 200 jobs with ``for_update(skip_locked=True)``, each job processed
exactly once. On SQLite and Turso (no row locks) a lock runs only inside an
``immediate``/``exclusive`` transaction, whose database write lock covers it, and
raises NotSupportedError elsewhere. Everywhere: a lock outside a transaction, or
through a pool, is a ConfigurationError.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    LockNotAvailableError,
    Model,
    NotSupportedError,
    Pool,
    TransientError,
    field,
    primary,
)
from ormer.query import Select
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires

__all__ = ["TestRowLocks", "run_work_queue"]

#: seconds a blocked statement is watched before we conclude it waits for the lock
BLOCKED = 0.5


class LockJob(Model, table="suite_lock_job"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)
    done_by: int | None = field(default=None)
    runs: int = field(default=0)


class LockNote(Model, table="suite_lock_note"):
    id: int = primary(auto=True)
    job_id: int = field()
    text: str = field(max_length=50)


async def jobs_table(db: Connection, n: int) -> None:
    await fresh_tables(db, LockJob, LockNote)
    await db.insert([LockJob(name=f"job {i}") for i in range(1, n + 1)])


def oldest_open(db: Connection) -> Select[LockJob]:
    return db.select(LockJob).filter(LockJob.done_by == None).order_by(LockJob.id)  # noqa: E711


@contextlib.asynccontextmanager
async def other(url: str) -> AsyncIterator[Connection]:
    conn = await Database.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def claim_one(conn: Connection, worker: int, mode: str | None = None) -> int | None:
    """One work-queue step: in a transaction, lock the oldest open job (skipping jobs
    other workers hold), mark it done by ``worker``, count the run; its id or None."""
    async with conn.transaction(mode=mode):
        job = await (
            conn.select(LockJob)
            .filter(LockJob.done_by == None)  # noqa: E711
            .order_by(LockJob.id)
            .for_update(skip_locked=True)
            .first()
        )
        if job is None:
            return None
        await asyncio.sleep(0.001)  # the work: other workers run meanwhile
        await (
            conn.update(LockJob)
            .filter(LockJob.id == job.id)
            .set(LockJob.done_by, worker)
            .set(LockJob.runs, LockJob.runs + 1)
        )
        return job.id


async def run_work_queue(pool: Pool, workers: int, mode: str | None = None) -> dict[int, int]:
    """``workers`` tasks claim jobs until none is open; jobs claimed per worker."""

    async def worker(number: int) -> int:
        claimed = 0
        while True:
            async with pool.get() as conn:
                if await claim_one(conn, number, mode) is None:
                    return claimed
            claimed += 1

    counts = await asyncio.gather(*(worker(n) for n in range(1, workers + 1)))
    return dict(zip(range(1, workers + 1), counts, strict=True))


class TestRowLocks(SuiteBase):
    """for_update()/for_share(): SQL, a second connection, the work queue."""

    # -- misuse, every backend -----------------------------------------------------------
    async def test_skip_locked_and_nowait_together_is_a_configuration_error(
        self, db: Connection
    ) -> None:
        with pytest.raises(ConfigurationError, match="exclude each other"):
            db.select(LockJob).for_update(skip_locked=True, nowait=True)
        with pytest.raises(ConfigurationError, match="exclude each other"):
            db.select(LockJob).for_share(skip_locked=True, nowait=True)

    async def test_lock_outside_a_transaction_is_a_configuration_error(
        self, db: Connection
    ) -> None:
        await jobs_table(db, 2)
        with pytest.raises(ConfigurationError, match="needs a transaction"):
            await db.select(LockJob).for_update().collect()
        with pytest.raises(ConfigurationError, match="needs a transaction"):
            await db.select(LockJob).for_share().first()
        assert [j.name for j in await db.select(LockJob).order_by(LockJob.id).collect()] == [
            "job 1",
            "job 2",
        ]

    async def test_lock_through_a_pool_is_a_configuration_error(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 1)
        pool = await Database.create_pool(ormer_url).max_size(2).build()
        try:
            with pytest.raises(ConfigurationError, match="pool"):
                await pool.select(LockJob).for_update(skip_locked=True).collect()
        finally:
            await pool.close()

    async def test_lock_with_an_aggregate_is_a_configuration_error(self, db: Connection) -> None:
        await jobs_table(db, 1)
        with pytest.raises(ConfigurationError, match="aggregate"):
            await db.select(LockJob).for_update().count()

    async def test_of_a_table_the_select_does_not_read(self, db: Connection) -> None:
        await jobs_table(db, 1)
        async with db.transaction():
            with pytest.raises(ConfigurationError, match="neither reads from nor joins"):
                await db.select(LockJob).for_update(of=[LockNote]).collect()

    # -- backends with row locks -----------------------------------------------------------
    @requires("row_locks")
    async def test_sql_ends_with_the_lock_clause(self, db: Connection) -> None:
        q = db.select(LockJob).order_by(LockJob.id).limit(1)
        assert q.for_update().sql()[0].endswith(" FOR UPDATE")
        assert q.for_update(skip_locked=True).sql()[0].endswith(" FOR UPDATE SKIP LOCKED")
        assert q.for_update(nowait=True).sql()[0].endswith(" FOR UPDATE NOWAIT")
        share = q.for_share().sql()[0]
        assert share.endswith((" FOR SHARE", " LOCK IN SHARE MODE"))
        assert q.for_share(nowait=True).sql()[0] == share + " NOWAIT"
        # the lock is part of the statement's shape: the plain select stays unlocked
        assert "FOR" not in q.sql()[0] and "SHARE" not in q.sql()[0]

    @requires("row_locks")
    async def test_a_second_connection_waits_for_the_lock(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 2)
        async with other(ormer_url) as second:
            async with db.transaction():
                locked = await db.select(LockJob).filter(LockJob.id == 1).for_update().collect()
                assert [j.name for j in locked] == ["job 1"]

                async def read_locked() -> list[LockJob]:
                    async with second.transaction():
                        q = second.select(LockJob).filter(LockJob.id == 1).for_update()
                        return await q.collect()

                waiting = asyncio.create_task(read_locked())
                await asyncio.sleep(BLOCKED)
                assert not waiting.done(), "FOR UPDATE did not wait for the other lock"
                await db.update(LockJob).filter(LockJob.id == 1).set(LockJob.done_by, 7)
            got = await asyncio.wait_for(waiting, 30)
            assert [(j.id, j.done_by) for j in got] == [(1, 7)]  # the committed value

    @requires("row_locks")
    async def test_skip_locked_skips_the_rows_another_transaction_holds(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 3)
        async with other(ormer_url) as second:
            async with db.transaction():
                first = await oldest_open(db).for_update(skip_locked=True).first()
                assert first is not None and first.id == 1
                async with second.transaction():
                    rows = await oldest_open(second).for_update(skip_locked=True).collect()
                    assert [j.id for j in rows] == [2, 3]
                    # without a lock clause the locked row is read as usual
                    plain = await oldest_open(second).collect()
                    assert [j.id for j in plain] == [1, 2, 3]

    @requires("row_locks")
    async def test_nowait_fails_at_once_with_lock_not_available(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 2)
        async with other(ormer_url) as second:
            async with db.transaction():
                await db.select(LockJob).filter(LockJob.id == 1).for_update().collect()
                async with second.transaction():
                    q = second.select(LockJob).filter(LockJob.id == 1).for_update(nowait=True)
                    with pytest.raises(LockNotAvailableError) as info:
                        await asyncio.wait_for(q.collect(), 10)
                assert isinstance(info.value, TransientError)
                assert info.value.sqlstate is not None
                # an unlocked row is taken at once
                async with second.transaction():
                    q = second.select(LockJob).filter(LockJob.id == 2).for_update(nowait=True)
                    assert [j.name for j in await q.collect()] == ["job 2"]

    @requires("row_locks")
    async def test_for_share_admits_other_readers_and_keeps_writers_out(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 1)
        async with other(ormer_url) as second:
            async with db.transaction():
                mine = await db.select(LockJob).for_share().collect()
                assert [j.name for j in mine] == ["job 1"]
                async with second.transaction():
                    theirs = await second.select(LockJob).for_share(nowait=True).collect()
                    assert [j.name for j in theirs] == ["job 1"]
                async with second.transaction():
                    with pytest.raises(LockNotAvailableError):
                        await second.select(LockJob).for_update(nowait=True).collect()

    @requires("lock_of")
    async def test_of_locks_only_the_named_tables_rows(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 1)
        await db.insert(LockNote(job_id=1, text="note"))
        async with other(ormer_url) as second:
            async with db.transaction():
                rows = await (
                    db.select(LockJob, LockNote)
                    .join(LockNote, LockNote.job_id == LockJob.id)
                    .for_update(of=[LockJob])
                    .collect()
                )
                assert [(j.name, n.text) for j, n in rows] == [("job 1", "note")]
                async with second.transaction():
                    notes = await second.select(LockNote).for_update(nowait=True).collect()
                    assert [n.text for n in notes] == ["note"]
                    with pytest.raises(LockNotAvailableError):
                        await second.select(LockJob).for_update(nowait=True).collect()

    @requires("row_locks")
    @lacks("lock_of")
    async def test_of_is_not_supported(self, db: Connection) -> None:
        await jobs_table(db, 1)
        async with db.transaction():
            with pytest.raises(NotSupportedError, match="of="):
                await db.select(LockJob).for_update(of=[LockJob]).collect()

    @requires("row_locks")
    async def test_work_queue_each_job_processed_exactly_once(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 200)
        pool = await Database.create_pool(ormer_url).max_size(8).build()
        try:
            claimed = await asyncio.wait_for(run_work_queue(pool, workers=8), 120)
        finally:
            await pool.close()
        jobs = await db.select(LockJob).order_by(LockJob.id).collect()
        assert len(jobs) == 200
        assert [j.runs for j in jobs] == [1] * 200  # none processed twice, none skipped
        assert all(j.done_by in claimed for j in jobs)
        per_worker = {w: sum(1 for j in jobs if j.done_by == w) for w in claimed}
        assert per_worker == claimed
        assert sum(1 for n in claimed.values() if n) > 1, f"one worker did everything: {claimed}"

    # -- backends without row locks (SQLite, Turso) ------------------------------------------
    @lacks("row_locks")
    async def test_lock_outside_an_immediate_transaction_is_not_supported(
        self, db: Connection
    ) -> None:
        await jobs_table(db, 1)
        async with db.transaction():
            with pytest.raises(NotSupportedError, match="immediate"):
                await db.select(LockJob).for_update().collect()
        async with db.transaction(mode="deferred"):
            with pytest.raises(NotSupportedError, match="no row locks"):
                await db.select(LockJob).for_share(skip_locked=True).collect()

    @lacks("row_locks")
    async def test_the_immediate_transaction_keeps_other_writers_out(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 1)
        async with other(ormer_url) as second:
            async with db.transaction(mode="immediate"):
                job = await db.select(LockJob).for_update().first()
                assert job is not None and job.done_by is None

                async def claim() -> list[LockJob]:
                    async with second.transaction(mode="immediate"):
                        return await second.select(LockJob).for_update().collect()

                waiting = asyncio.create_task(claim())
                await asyncio.sleep(BLOCKED)
                assert not waiting.done(), "a second immediate transaction did not wait"
                await db.update(LockJob).filter(LockJob.id == job.id).set(LockJob.done_by, 3)
            got = await asyncio.wait_for(waiting, 30)
            assert [(j.id, j.done_by) for j in got] == [(1, 3)]  # it saw the committed claim

    @lacks("row_locks")
    async def test_lock_inside_an_immediate_transaction_is_the_transactions_lock(
        self, db: Connection, ormer_url: str
    ) -> None:
        await jobs_table(db, 2)
        q = oldest_open(db).for_update(skip_locked=True)
        assert "FOR" not in q.sql()[0]  # no clause: the database lock stands for it
        for mode in ("immediate", "exclusive"):
            async with db.transaction(mode=mode):
                job = await q.first()
                assert job is not None and job.id == 1
        # the work queue runs too, serialised by the database lock
        pool = await Database.create_pool(ormer_url).max_size(4).build()
        try:
            claimed = await asyncio.wait_for(run_work_queue(pool, 4, mode="immediate"), 60)
        finally:
            await pool.close()
        jobs = await db.select(LockJob).order_by(LockJob.id).collect()
        assert [j.runs for j in jobs] == [1, 1]
        assert sum(claimed.values()) == 2

"""A work queue: 8 workers on one pool claim 200 jobs, each exactly once.

Each worker loops: borrow a connection, open a transaction, lock the oldest
open job with ``for_update(skip_locked=True)`` (jobs other workers hold are
skipped, not waited for), mark it done with its worker id, commit.

    python examples/work_queue.py [--url postgresql://postgres@127.0.0.1/test]
    python examples/work_queue.py --url mysql://root@127.0.0.1/test

Runs on an SQLite file by default. SQLite has no row locks: a writer locks the
whole database, so the workers' transactions are opened with
``mode="immediate"``, whose write lock covers the rows (ormer leaves the
``FOR UPDATE`` clause out there), and they run one after another.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import tempfile

from ormer import Connection, Database, Model, Pool, primary

WORKERS = 8
JOBS = 200


class Job(Model, table="work_queue_jobs"):
    id: int = primary(auto=True)
    payload: str = ""
    done_by: int | None = None
    runs: int = 0


async def claim_one(conn: Connection, worker: int, mode: str | None) -> bool:
    """Process the oldest open job no other worker holds; False when none is left."""
    async with conn.transaction(mode=mode):
        job = await (
            conn.select(Job)
            .filter(Job.done_by == None)  # noqa: E711
            .order_by(Job.id)
            .for_update(skip_locked=True)
            .first()
        )
        if job is None:
            return False
        await asyncio.sleep(0.001)  # the work
        await (
            conn.update(Job)
            .filter(Job.id == job.id)
            .set(Job.done_by, worker)
            .set(Job.runs, Job.runs + 1)
        )
        return True


async def worker(pool: Pool, number: int, mode: str | None) -> None:
    while True:
        async with pool.get() as conn:
            if not await claim_one(conn, number, mode):
                return


async def main(url: str) -> None:
    pool = await Database.create_pool(url).max_size(WORKERS).build()
    async with pool:
        mode = None
        if not pool.dialect.supports_row_locks:
            mode = "immediate"
            print(
                f"{pool.dialect.name}: no row locks; each claim runs in a "
                'transaction(mode="immediate"), whose lock on the whole database covers '
                "the job row, so the workers take turns"
            )
        await pool.drop_table(Job, if_exists=True)
        await pool.create_table(Job)
        await pool.insert([Job(payload=f"job {i}") for i in range(JOBS)])
        await asyncio.gather(*(worker(pool, n, mode) for n in range(1, WORKERS + 1)))
        jobs = await pool.select(Job).collect()
        per_worker = collections.Counter(job.done_by for job in jobs)
        twice = [job.id for job in jobs if job.runs != 1]
        print(f"{len(jobs)} jobs, processed by worker: {dict(sorted(per_worker.items()))}")
        print("every job processed exactly once" if not twice else f"NOT once: {twice}")
        await pool.drop_table(Job)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    default = "sqlite:///" + os.path.join(tempfile.gettempdir(), "ormer-work-queue.db")
    parser.add_argument("--url", default=default, help=f"database URL (default: {default})")
    asyncio.run(main(parser.parse_args().url))

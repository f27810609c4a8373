"""Concurrent writers: commits per second with 1, 4 and 16 writer tasks, each running
transactions that insert a row and increment the writer's own counter row.

* Turso in MVCC mode: every transaction is ``BEGIN CONCURRENT`` through a pool whose
  connections open with ``journal_mode="mvcc"``; write-write conflicts are retried
  (``run_transaction``).
* SQLite in WAL mode: plain transactions through a pool, which serialises them
  (one writer at a time, the pool's write gate).

Both through ormer, on files in the temp directory. ``python -m benchmarks.writers
[--quick]``; ``python -m benchmarks`` runs it when the ``turso`` backend is chosen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from typing import Any

from ormer import Connection, Database, Model, primary

WRITERS = (1, 4, 16)


class WriterCounter(Model, table="bench_writer_counter"):
    id: int = primary()
    n: int = 0


class WriterEvent(Model, table="bench_writer_event"):
    id: int = primary(auto=True)
    writer: int = 0


SETUPS = {
    # name: (URL scheme, connect options, transaction mode)
    "turso-mvcc": ("turso", {"journal_mode": "mvcc"}, "concurrent"),
    "sqlite-wal": ("sqlite", {}, None),
}


def _path(name: str) -> str:
    return os.path.join(tempfile.gettempdir(), f"ormer-bench-writers-{name}.db")


def _remove(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-log", "-lg"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)


async def _one_run(name: str, writers: int, per_writer: int) -> tuple[float, int]:
    """(seconds, retries) of ``writers`` tasks x ``per_writer`` transactions, on a new file."""
    scheme, options, mode = SETUPS[name]
    path = _path(name)
    _remove(path)
    url = f"{scheme}:///{path}"
    async with await Database.connect(url, **options) as conn:
        await conn.create_table(WriterCounter)
        await conn.create_table(WriterEvent)
        await conn.insert([WriterCounter(id=w) for w in range(writers)])
    pool = await Database.create_pool(url).max_size(writers).connect_options(**options).build()
    attempts = 0
    try:

        async def writer(w: int) -> None:
            nonlocal attempts

            async def tx(conn: Connection) -> None:
                nonlocal attempts
                attempts += 1
                await conn.insert(WriterEvent(writer=w))
                await (
                    conn.update(WriterCounter)
                    .filter(WriterCounter.id == w)
                    .set(WriterCounter.n, WriterCounter.n + 1)
                    .execute()
                )

            for _ in range(per_writer):
                await pool.run_transaction(tx, mode=mode, retries=100)

        start = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(writers)))
        elapsed = time.perf_counter() - start
        # every transaction committed exactly once
        events = await pool.select(WriterEvent).count()
        counters = [c.n for c in await pool.select(WriterCounter).collect()]
        if events != writers * per_writer or counters != [per_writer] * writers:
            raise AssertionError(f"{name}: {events} events, counters {counters}")
    finally:
        await pool.close()
        _remove(path)
    return elapsed, attempts - writers * per_writer


async def run(quick: bool = False, reps: int | None = None, log: Any = print) -> dict[str, Any]:
    """Commits per second for each set-up and writer count (medians of ``reps`` runs)."""
    per_writer = 25 if quick else 100
    reps = reps if reps is not None else (3 if quick else 5)
    total = {w: w * per_writer for w in WRITERS}
    out: dict[str, Any] = {"per_writer": per_writer, "reps": reps, "results": {}}
    log(f"\n== concurrent writers: {per_writer} transactions per writer, {reps} runs ==")
    for writers in WRITERS:
        for name in SETUPS:
            await _one_run(name, writers, max(2, per_writer // 5))  # warm-up
        times: dict[str, list[float]] = {name: [] for name in SETUPS}
        retries: dict[str, list[int]] = {name: [] for name in SETUPS}
        for rep in range(reps):
            order = list(SETUPS) if rep % 2 == 0 else list(reversed(SETUPS))
            for name in order:
                elapsed, retried = await _one_run(name, writers, per_writer)
                times[name].append(elapsed)
                retries[name].append(retried)
        for name in SETUPS:
            med = statistics.median(times[name])
            entry = {
                "commits_per_s": total[writers] / med,
                "median_s": med,
                "times_s": [round(t, 4) for t in times[name]],
                "retries_median": statistics.median(retries[name]),
            }
            out["results"].setdefault(name, {})[str(writers)] = entry
            log(
                f"   {name:<11} {writers:>2} writers: {entry['commits_per_s']:>8.0f} commits/s"
                f"  (median {med * 1e3:.0f} ms, retries {entry['retries_median']:.0f})"
            )
    return out


def markdown(result: dict[str, Any]) -> str:
    """The table for docs/performance.md."""
    lines = [
        "| set-up | " + " | ".join(f"{w} writer{'s' if w > 1 else ''}" for w in WRITERS) + " |",
        "|---|" + "---:|" * len(WRITERS),
    ]
    for name, by_writers in result["results"].items():
        cells = []
        for w in WRITERS:
            e = by_writers[str(w)]
            cells.append(f"{e['commits_per_s']:,.0f}/s ({e['retries_median']:.0f} retries)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.writers", description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args()
    result = asyncio.run(run(args.quick, args.reps))
    print()
    print(markdown(result))


if __name__ == "__main__":
    main()

"""Runs the workloads: every implementation on the same database in the same run,
alternating (the order rotates each repetition), after warm-up, with several
repetitions; reports medians and ratios measured in this run only."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import random
import sqlite3
import statistics
import sys
import time
import traceback
from dataclasses import asdict
from typing import Any

from .common import (
    INSERT_TABLE,
    READ_TABLE,
    WRITE_CUTOFF,
    WRITE_TABLE,
    Admin,
    Sizes,
    expected_preload,
    make_rows,
    preload_check,
    write_rows,
)
from .impls.base import Impl

WORKLOAD_TITLES = {
    "W1": "fetch {w1_rows:,} rows of a 6-column model into objects",
    "W2": "{w2_lookups:,} primary-key lookups, one statement each",
    "W3": "build + compile {w3_queries:,} filtered selects (not run)",
    "W4": "bulk insert {w4_rows:,} rows",
    "W5": "{w5_tasks} tasks x {w5_lookups} lookups through a pool of {pool_size}",
    "W6": "update + delete by filter, {w6_rows:,} rows each",
    "W7": "{w7_authors:,} authors with their {w7_posts} posts each (relation preload)",
}
#: what one "op" is, for ops/s
WORKLOAD_UNITS = {
    "W1": "rows",
    "W2": "lookups",
    "W3": "queries",
    "W4": "rows",
    "W5": "lookups",
    "W6": "rows",
    "W7": "rows",
}


#: repetitions per workload, as a multiple of --reps: the short workloads get more
#: (a W1 run takes milliseconds, a peer's W4 run seconds)
REPS_FACTOR = {"W1": 3, "W2": 2, "W3": 3, "W4": 1, "W5": 1, "W6": 2, "W7": 3}
#: generation 2's threshold during a timed run: no automatic full collection there
#: (see ``BackendRun._timed``)
_NO_FULL_COLLECTION = 2**30


def workload_ops(w: str, sizes: Sizes) -> int:
    return {
        "W1": sizes.w1_rows,
        "W2": sizes.w2_lookups,
        "W3": sizes.w3_queries,
        "W4": sizes.w4_rows,
        "W5": sizes.w5_tasks * sizes.w5_lookups,
        "W6": 2 * sizes.w6_rows,
        "W7": sizes.w7_authors * (1 + sizes.w7_posts),  # authors + posts read
    }[w]


def impl_classes(backend: str) -> list[type[Impl]]:
    """Every implementation for a backend, ormer first, then the raw drivers (and, on
    SQLite, the synchronous ``sqlite3`` floor); the peers come from :func:`peer_class`."""
    from .impls import floor, ormer_impl, raw

    classes: list[type[Impl]] = [ormer_impl.OrmerImpl]
    if backend == "postgresql":
        classes += [raw.AsyncpgImpl, raw.AsyncpgExecutemanyImpl]
    elif backend == "mysql":
        classes += [ormer_impl.OrmerAsyncmyImpl, raw.AiomysqlImpl, raw.AsyncmyImpl]
    elif backend == "turso":
        classes += [raw.PyTursoImpl]
    else:
        classes += [raw.AiosqliteImpl, floor.SQLite3FloorImpl]
    return classes


PEERS = ("sqlalchemy", "tortoise", "piccolo", "peewee")


def peer_class(key: str, backend: str) -> type[Impl] | str:
    """The peer's implementation class, or the reason it cannot run on ``backend``."""
    if backend == "turso":
        return "no Turso support"
    try:
        if key == "sqlalchemy":
            from .impls.sqlalchemy_impl import SQLAlchemyImpl

            return SQLAlchemyImpl
        if key == "tortoise":
            from .impls.tortoise_impl import TortoiseImpl

            return TortoiseImpl
        if key == "piccolo":
            if backend == "mysql":
                return "Piccolo has no MySQL backend"
            from .impls.piccolo_impl import PiccoloImpl

            return PiccoloImpl
        if key == "peewee":
            from .impls.peewee_impl import PeeweeImpl

            return PeeweeImpl
    except ImportError as exc:
        return f"not installed ({exc})"
    return f"unknown peer {key!r}"


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine_info() -> dict[str, Any]:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        # the library Python's sqlite3 (and so aiosqlite and the floor) is linked with
        "sqlite": sqlite3.sqlite_version,
    }


class BackendRun:
    """One backend: tables, implementations, and the workloads run on them."""

    def __init__(
        self,
        backend: str,
        sizes: Sizes,
        workloads: list[str],
        keys: set[str] | None,
        reps: int,
        warmup: int,
        log: Any,
    ) -> None:
        self.backend = backend
        self.sizes = sizes
        self.workloads = workloads
        self.keys = keys
        self.reps = reps
        self.warmup = warmup
        self.log = log
        self.admin = Admin(backend)
        self.impls: list[Impl] = []
        self.skipped: dict[str, str] = {}
        self.rng = random.Random(20261125)

    def _wanted(self, key: str) -> bool:
        return self.keys is None or key in self.keys or key.split("-")[0] in self.keys

    async def open(self) -> None:
        from .impls.ormer_impl import create_tables

        await self.admin.open()
        self.server = await self.admin.server_version()
        await create_tables(self.backend)
        await self.admin.seed(READ_TABLE, make_rows(self.sizes.w1_rows))
        if "W7" in self.workloads:
            await self.admin.seed_relations(self.sizes)
        classes: list[type[Impl]] = [c for c in impl_classes(self.backend) if self._wanted(c.key)]
        for key in PEERS:
            if not self._wanted(key):
                continue
            found = peer_class(key, self.backend)
            if isinstance(found, str):
                self.skipped[key] = found
            else:
                classes.append(found)
        for cls in classes:
            impl = cls(self.backend, self.sizes)
            try:
                await impl.open()
            except Exception as exc:
                self.skipped[cls.key] = f"cannot connect: {exc!r}"
                self.log(f"  ! {cls.key}: {exc!r}")
                continue
            self.impls.append(impl)

    async def close(self) -> None:
        from .impls.ormer_impl import drop_tables

        for impl in self.impls:
            try:
                await impl.close()
            except Exception as exc:
                self.log(f"  ! closing {impl.key}: {exc!r}")
        try:
            await drop_tables(self.backend)
        finally:
            await self.admin.close()

    # -- one timed run -------------------------------------------------------------------
    async def _prepare(self, w: str, impl: Impl) -> None:
        if w == "W4":
            await self.admin.truncate(INSERT_TABLE)
            await self.admin.checkpoint()
            await impl.prepare_w4(self._w4_rows)
        elif w == "W5":
            await impl.prepare_w5()
        elif w == "W6":
            await self.admin.seed(WRITE_TABLE, self._w6_rows)
            await self.admin.checkpoint()

    async def _op(self, w: str, impl: Impl) -> Any:
        if w == "W1":
            return await impl.w1()
        if w == "W2":
            return await impl.w2(self._w2_ids)
        if w == "W3":
            return impl.w3(self.sizes.w3_queries)
        if w == "W4":
            return await impl.w4()
        if w == "W5":
            return await impl.w5(self._w5_chunks)
        if w == "W7":
            return await impl.w7()
        return await impl.w6()

    async def _verify(self, w: str, result: Any, impl: Impl) -> None:
        s = self.sizes
        if w == "W7":
            got, want = preload_check(impl.w7_loaded(result)), expected_preload(s)
            if got != want:
                raise AssertionError(f"W7 loaded (authors, posts, checksum) {got}, expected {want}")
        if w == "W1" and result != s.w1_rows:
            raise AssertionError(f"W1 fetched {result} rows, expected {s.w1_rows}")
        if w == "W2" and result != s.w2_lookups:
            raise AssertionError(f"W2 found {result} rows, expected {s.w2_lookups}")
        if w == "W3" and not result:
            raise AssertionError("W3 produced no SQL")
        if w == "W4":
            n = await self.admin.count(INSERT_TABLE)
            if n != s.w4_rows:
                raise AssertionError(f"W4 left {n} rows, expected {s.w4_rows}")
        if w == "W5" and result != s.w5_tasks * s.w5_lookups:
            raise AssertionError(f"W5 found {result} rows, expected {s.w5_tasks * s.w5_lookups}")
        if w == "W6":
            left = await self.admin.count(WRITE_TABLE)
            matching = await self.admin.count(WRITE_TABLE, f"WHERE age < {WRITE_CUTOFF}")
            if left != s.w6_rows or matching:
                raise AssertionError(f"W6 left {left} rows ({matching} matching the filter)")
            u, d = result
            if u >= 0 and (u, d) != (s.w6_rows, s.w6_rows):
                raise AssertionError(f"W6 reported {u} updated / {d} deleted")

    def _w3_analytic(self, impl: Any) -> float:
        """µs to build and compile one window+CTE select (median over W3's repetitions)."""
        n = self.sizes.w3_queries
        if not impl.w3_analytic(n):
            raise AssertionError("W3 window+CTE produced no SQL")
        runs = []
        for _ in range(self.reps * REPS_FACTOR["W3"]):
            gc.collect()
            start = time.perf_counter()
            impl.w3_analytic(n)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs) / n * 1e6

    async def _timed(
        self, w: str, impl: Impl, verify: bool, collections: list[int] | None = None
    ) -> tuple[float, float]:
        """(wall time, process CPU time) of one run; CPU time is what the client spent,
        the less noisy figure for "Python per operation" while the machine is busy.

        The garbage collector starts each run from a full collection and makes no full
        (generation 2) collection of its own during the run; the young generations
        collect as usual, their cost is the run's own allocations'. Whether CPython
        starts a full collection mid-run depends on how many objects the whole process
        holds (a full collection waits until the objects promoted since the last one
        reach a quarter of the long-lived ones), so it depended on which workloads and
        implementations ran before: the same SQLAlchemy W7 run took one full collection
        of the process's heap (about half its time) in a W7-only run and none in a run
        of every workload. The collections the run made, per generation, are added to
        ``collections``."""
        await self._prepare(w, impl)
        gc.collect()
        before = [g["collections"] for g in gc.get_stats()]
        thresholds = gc.get_threshold()
        gc.set_threshold(thresholds[0], thresholds[1], _NO_FULL_COLLECTION)
        try:
            cpu = time.process_time()
            start = time.perf_counter()
            result = await self._op(w, impl)
            elapsed = time.perf_counter() - start
            cpu = time.process_time() - cpu
        finally:
            gc.set_threshold(*thresholds)
        if collections is not None:
            after = [g["collections"] for g in gc.get_stats()]
            for gen, (a, b) in enumerate(zip(after, before)):
                collections[gen] += a - b
        if verify:
            await self._verify(w, result, impl)
        return elapsed, cpu

    # -- a workload: warm-up, then alternating repetitions --------------------------------
    async def run_workload(self, w: str) -> dict[str, Any]:
        s = self.sizes
        if w == "W2":
            self._w2_ids = [self.rng.randint(1, s.w1_rows) for _ in range(s.w2_lookups)]
        elif w == "W4":
            self._w4_rows = make_rows(s.w4_rows)
        elif w == "W5":
            self._w5_chunks = [
                [self.rng.randint(1, s.w1_rows) for _ in range(s.w5_lookups)]
                for _ in range(s.w5_tasks)
            ]
        elif w == "W6":
            self._w6_rows = write_rows(s)
        impls = [i for i in self.impls if w in i.workloads]
        not_applicable = {
            i.key: i for i in self.impls if w in i.not_applicable and w not in i.workloads
        }
        times: dict[str, list[float]] = {i.key: [] for i in impls}
        cpu: dict[str, list[float]] = {i.key: [] for i in impls}
        collections: dict[str, list[int]] = {i.key: [0, 0, 0] for i in impls}
        errors: dict[str, str] = {}
        for impl in impls:
            try:
                for n in range(self.warmup):
                    await self._timed(w, impl, verify=n == 0)
            except Exception as exc:
                errors[impl.key] = f"{type(exc).__name__}: {exc}"
                self.log(f"  ! {w} {impl.key}: {errors[impl.key]}")
                if os.environ.get("ORMER_BENCH_TRACEBACK"):
                    traceback.print_exc()
        live = [i for i in impls if i.key not in errors]
        for rep in range(self.reps * REPS_FACTOR[w]):
            k = rep % len(live) if live else 0
            for impl in live[k:] + live[:k]:
                if impl.key in errors:
                    continue
                try:
                    # W7 checks every repetition's objects (a checksum, outside the timing)
                    wall, cpu_time = await self._timed(
                        w, impl, verify=rep == 0 or w == "W7", collections=collections[impl.key]
                    )
                    times[impl.key].append(wall)
                    cpu[impl.key].append(cpu_time)
                except Exception as exc:
                    errors[impl.key] = f"{type(exc).__name__}: {exc}"
                    self.log(f"  ! {w} {impl.key}: {errors[impl.key]}")
        ops = workload_ops(w, s)
        results: dict[str, Any] = {}
        for impl in impls:
            entry: dict[str, Any] = {"label": impl.label, "kind": impl.kind}
            if impl.kind in ("ormer", "floor"):
                entry["baseline"] = impl.baseline
            if impl.key in errors:
                entry["error"] = errors[impl.key]
            elif times[impl.key]:
                med = statistics.median(times[impl.key])
                entry.update(
                    times_s=[round(t, 6) for t in times[impl.key]],
                    median_s=med,
                    ops_per_s=ops / med,
                    us_per_op=med / ops * 1e6,
                    cpu_median_s=statistics.median(cpu[impl.key]),
                    # garbage collections per timed run, by generation (0, 1; 2 is 0)
                    gc_per_run=[round(n / len(times[impl.key]), 1) for n in collections[impl.key]],
                )
            results[impl.key] = entry
        for key, impl in not_applicable.items():
            results[key] = {"label": impl.label, "kind": impl.kind, "na": impl.not_applicable[w]}
        _add_ratios(results, impls)
        if w == "W3":
            for impl in live:
                if impl.key not in errors and hasattr(impl, "w3_analytic"):
                    results[impl.key]["analytic_us_per_query"] = self._w3_analytic(impl)
        title = WORKLOAD_TITLES[w].format(**asdict(s))
        return {"title": title, "unit": WORKLOAD_UNITS[w], "ops": ops, "results": results}


def _add_ratios(results: dict[str, Any], impls: list[Impl]) -> None:
    """ormer rows: time / their raw baseline's, and / the floor's where there is one;
    the floor: time / raw's (below 1: the floor is faster); peers: time / ormer's on
    the same driver (ormer's default one if it has no row on the peer's driver; >1:
    ormer is faster)."""
    ormer_on = {
        i.driver_name: i.key for i in impls if i.kind == "ormer" and "median_s" in results[i.key]
    }
    floor = next(
        (
            results[i.key]["median_s"]
            for i in impls
            if i.kind == "floor" and "median_s" in results[i.key]
        ),
        None,
    )
    for impl in impls:
        entry = results[impl.key]
        med = entry.get("median_s")
        if med is None:
            continue
        if impl.kind in ("ormer", "floor"):
            base = results.get(impl.baseline, {}).get("median_s")
            if base:
                entry["ratio_to_raw"] = med / base
            if impl.kind == "ormer" and floor:
                entry["ratio_to_floor"] = med / floor
        elif impl.kind == "peer":
            against = ormer_on.get(impl.driver_name, "ormer")
            ormer = results.get(against, {}).get("median_s")
            if ormer:
                entry["ratio_to_ormer"] = med / ormer
                entry["compared_with"] = against


async def run(
    backends: list[str],
    workloads: list[str],
    sizes: Sizes,
    keys: set[str] | None,
    reps: int,
    warmup: int,
    log: Any,
    on_workload: Any = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine_info(),
        "load_before": load_average(),
        "sizes": asdict(sizes),
        "reps": reps,
        "warmup": warmup,
        "backends": {},
    }
    for backend in backends:
        log(f"\n== {backend} ==")
        run_ = BackendRun(backend, sizes, workloads, keys, reps, warmup, log)
        entry: dict[str, Any] = {}
        out["backends"][backend] = entry
        try:
            await run_.open()
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
            log(f"  ! {backend} unavailable: {entry['error']}")
            await asyncio.sleep(0)
            continue
        entry["server"] = run_.server
        entry["impls"] = {i.key: {"label": i.label, "notes": i.notes} for i in run_.impls}
        entry["skipped"] = run_.skipped
        entry["workloads"] = {}
        log(f"   server {run_.server}; skipped: {run_.skipped or 'none'}")
        try:
            for w in workloads:
                result = await run_.run_workload(w)
                entry["workloads"][w] = result
                if on_workload is not None:
                    on_workload(backend, w, result)
        finally:
            await run_.close()
    out["load_after"] = load_average()
    return out

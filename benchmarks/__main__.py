"""``python -m benchmarks``: ormer against the raw drivers and peer ORMs.

Examples::

    python -m benchmarks                         # everything, full sizes
    python -m benchmarks --quick                 # small sizes, 3 repetitions
    python -m benchmarks -b postgresql -w W1,W2  # some backends / workloads
    python -m benchmarks -i ormer,raw            # only some implementations
    python -m benchmarks --profile W1 -b sqlite  # pyinstrument profile of ormer's W1

Server URLs: ``ORMER_BENCH_POSTGRES_URL`` (default
postgresql://postgres@127.0.0.1:5432/test), ``ORMER_BENCH_MYSQL_URL`` (default
mysql://root@127.0.0.1:3306/test), ``ORMER_BENCH_SQLITE_PATH`` (default: a file
in the temp directory). A backend whose server is unreachable is reported and
skipped. Results go to ``benchmarks/results/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from .common import BACKENDS, Sizes
from .impls.base import WORKLOADS
from .report import markdown, targets, targets_text, workload_block
from .runner import load_average, run

RESULTS = Path(__file__).parent / "results"


def _list(text: str, allowed: tuple[str, ...] | None, what: str) -> list[str]:
    items = [x.strip() for x in text.split(",") if x.strip()]
    aliases = {"pg": "postgresql", "postgres": "postgresql", "mariadb": "mysql"}
    items = [aliases.get(x.lower(), x) for x in items]
    if allowed is not None:
        items = [x.upper() if x.upper() in allowed else x for x in items]
        bad = [x for x in items if x not in allowed]
        if bad:
            raise SystemExit(f"unknown {what}: {', '.join(bad)} (choose from {', '.join(allowed)})")
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-b",
        "--backends",
        default=",".join(BACKENDS),
        help="comma-separated: sqlite,postgresql,mysql,turso (turso also runs the "
        "concurrent-writers workload, benchmarks/writers.py)",
    )
    parser.add_argument(
        "-w", "--workloads", default=",".join(WORKLOADS), help="comma-separated: W1..W7"
    )
    parser.add_argument(
        "-i",
        "--impls",
        default="",
        help="comma-separated implementation keys (ormer, raw, floor (SQLite only: "
        "synchronous sqlite3), sqlalchemy, tortoise, piccolo, peewee; default all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and 3 repetitions: for writing and debugging",
    )
    parser.add_argument("--reps", type=int, default=None, help="timed repetitions (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up runs per implementation")
    parser.add_argument("--output", default=str(RESULTS / "latest.json"), help="JSON results file")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown tables")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run every backend in this process (default: one child process "
        "per backend, so no library's global state or heap carries over)",
    )
    parser.add_argument(
        "--profile",
        default="",
        help="comma-separated workloads to profile ormer on (pyinstrument); "
        "profiles are written next to the results",
    )
    args = parser.parse_args(argv)

    backends = _list(args.backends, BACKENDS, "backend")
    workloads = _list(args.workloads, WORKLOADS, "workload")
    keys = set(_list(args.impls, None, "impl")) if args.impls else None
    sizes = Sizes.quick() if args.quick else Sizes()
    reps = args.reps if args.reps is not None else (3 if args.quick else 5)

    load = load_average()
    print(
        f"load average {load}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}; "
        f"SQLite {sqlite3.sqlite_version}"
    )
    if load and os.cpu_count() and load[0] > 1.0:
        print("warning: load average above 1: timings will be noisy", file=sys.stderr)

    if args.profile:
        from .profile import profile

        return asyncio.run(
            profile(backends, _list(args.profile, WORKLOADS, "workload"), sizes, RESULTS)
        )

    def on_workload(backend: str, w: str, result: dict[str, Any]) -> None:
        print(workload_block(backend, w, result), flush=True)

    if len(backends) > 1 and not args.in_process:
        data = _per_backend_processes(argv if argv is not None else sys.argv[1:], backends)
    else:
        data = asyncio.run(
            run(
                backends,
                workloads,
                sizes,
                keys,
                reps,
                args.warmup,
                lambda m: print(m, flush=True),
                on_workload,
            )
        )
    if "turso" in backends:
        from . import writers

        data["concurrent_writers"] = asyncio.run(writers.run(args.quick))
        print(writers.markdown(data["concurrent_writers"]))
    data["quick"] = args.quick
    data["targets"] = targets(data)
    print(targets_text(data["targets"]))
    print(f"\nload average before {data['load_before']}, after {data['load_after']}")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1, default=str))
    print(f"results written to {out}")
    if args.markdown:
        print()
        print(markdown(data))
    return 0


def _per_backend_processes(argv: list[str], backends: list[str]) -> dict[str, Any]:
    """Run each backend in a child ``python -m benchmarks -b BACKEND``; merge their results."""
    import subprocess
    import tempfile

    merged: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            out = os.path.join(tmp, f"{backend}.json")
            args = [a for a in argv]
            cmd = [
                sys.executable,
                "-m",
                "benchmarks",
                *args,
                "--in-process",
                "-b",
                backend,
                "--output",
                out,
            ]
            code = subprocess.call(cmd)
            if code != 0 or not os.path.exists(out):
                print(f"! the {backend} run failed (exit {code})", file=sys.stderr)
                continue
            with open(out) as f:
                data = json.load(f)
            if merged is None:
                merged = data
            else:
                merged["backends"].update(data["backends"])
                merged["load_after"] = data["load_after"]
    if merged is None:
        raise SystemExit("no backend ran")
    return merged


if __name__ == "__main__":
    sys.exit(main())

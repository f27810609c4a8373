"""Per-statement cost of ormer-otel (docs/observability.md, "Overhead").

Runs N ``SELECT 1`` on an SQLite ``:memory:`` connection three ways: without
the plugin, with it and no OpenTelemetry SDK (the API's no-op tracer), and with
the SDK exporting to memory; prints microseconds per statement (best of R runs).

    python benchmarks/otel_overhead.py [N] [R]
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

# this process decides itself when the plugin listens
os.environ["ORMER_DISABLE_PLUGINS"] = "otel"

import ormer.plugins
import ormer_otel
import ormer_otel.plugin
from ormer import Database


async def per_statement(n: int, rounds: int) -> float:
    """Best µs per statement over ``rounds`` runs of ``n`` statements."""
    best = float("inf")
    async with await Database.connect("sqlite:///:memory:") as db:
        for _ in range(100):
            await db.exec_rows("SELECT 1")
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(n):
                await db.exec_rows("SELECT 1")
            best = min(best, (time.perf_counter() - start) / n * 1e6)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    base = asyncio.run(per_statement(n, rounds))
    print(f"without the plugin            {base:6.1f} µs/statement")

    ormer.plugins.register(ormer_otel.plugin, name="otel-bench")
    ormer_otel.configure()  # the global providers: none installed, the no-op tracer
    noop = asyncio.run(per_statement(n, rounds))
    print(f"plugin, no SDK (no-op tracer) {noop:6.1f} µs/statement (+{noop - base:.1f})")

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    ormer_otel.configure(tracer_provider=provider)
    sdk = asyncio.run(per_statement(n, rounds))
    print(f"plugin, SDK + memory exporter {sdk:6.1f} µs/statement (+{sdk - base:.1f})")
    print(f"({len(exporter.get_finished_spans())} spans exported)")


if __name__ == "__main__":
    main()

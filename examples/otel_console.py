"""ormer-otel: spans and pool metrics printed by the OpenTelemetry console exporters.

A few statements through a pool on an SQLite file in a temporary directory; each
statement's span is printed as it ends, the pool metrics once at the end.
Needs ormer-otel and the SDK: pip install 'ormer-otel[sdk]'.

    python examples/otel_console.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

import ormer.plugins
import ormer_otel.plugin
from ormer import Database, Model, primary


class Note(Model, table="otel_notes"):
    id: int = primary(auto=True)
    text: str


def set_up_opentelemetry() -> MeterProvider:
    """Global providers exporting to stdout (an application would export over OTLP)."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    trace.set_tracer_provider(tracer_provider)
    reader = PeriodicExportingMetricReader(ConsoleMetricExporter(), export_interval_millis=60_000)
    meter_provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    return meter_provider


def ensure_plugin() -> None:
    """Installed, ormer-otel is loaded by its entry point; from a source tree (or with
    ORMER_DISABLE_PLUGINS=otel) it is registered here by hand."""
    if ormer.plugins.manager().get_plugin("otel") is None:
        ormer.plugins.register(ormer_otel.plugin, name="otel-example")


async def main(path: str) -> None:
    tracer = trace.get_tracer("example")
    pool = await Database.create_pool(f"sqlite:///{path}").max_size(2).name("notes").build()
    async with pool:
        await pool.create_table(Note)
        with tracer.start_as_current_span("save notes"):  # the statements' parent
            await pool.insert([Note(text="first"), Note(text="second")])
        async with pool.get() as conn:
            notes = await conn.select(Note).filter(Note.text == "second").collect()
        print(f"read back: {[n.text for n in notes]}")
        with contextlib.suppress(ormer.DatabaseError):
            await pool.exec_rows("SELECT * FROM no_such_table")  # an ERROR span
        # read the pool gauges while the pool is open
        meter_provider = metrics.get_meter_provider()
        assert isinstance(meter_provider, MeterProvider)
        meter_provider.force_flush()


if __name__ == "__main__":
    provider = set_up_opentelemetry()
    ensure_plugin()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(os.path.join(tmp, "notes.db")))
    provider.shutdown()

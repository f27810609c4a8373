"""Fixtures of the ormer-otel tests: the SDK's in-memory exporter and reader, and
the plugin registered by hand for one test.

The workspace conftest blocks the ``otel`` entry point (ORMER_DISABLE_PLUGINS),
so the plugin is registered here under another name and unregistered after
each test; ``configure()`` points it at this test's providers.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import ormer.plugins
import ormer_otel
import ormer_otel.plugin
from ormer.testing.servers import server_url

PLUGIN_NAME = "otel-under-test"


@dataclass
class Telemetry:
    """What the plugin exported during a test."""

    tracer_provider: TracerProvider
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    plugin_name: str = PLUGIN_NAME

    def spans(self) -> list[ReadableSpan]:
        """Finished spans, oldest first."""
        return list(self.exporter.get_finished_spans())

    def db_spans(self) -> list[ReadableSpan]:
        """Finished statement spans (the ones with ``db.system.name``)."""
        return [s for s in self.spans() if s.attributes and "db.system.name" in s.attributes]

    def metrics(self) -> dict[str, list[Any]]:
        """Metric name -> its data points, from one collection."""
        data = self.reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        if data is None:
            return out
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


def register(record_parameters: bool = False) -> Telemetry:
    """Fresh providers, the plugin configured with them and registered."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    ormer_otel.configure(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        record_parameters=record_parameters,
    )
    ormer.plugins.register(ormer_otel.plugin, name=PLUGIN_NAME)
    return Telemetry(tracer_provider, exporter, reader)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """The plugin registered for this test, exporting to memory (parameters not recorded)."""
    t = register()
    try:
        yield t
    finally:
        ormer.plugins.unregister(PLUGIN_NAME)
        ormer_otel.configure()


@pytest.fixture
def telemetry_with_parameters() -> Iterator[Telemetry]:
    """As ``telemetry``, with ``record_parameters=True``."""
    t = register(record_parameters=True)
    try:
        yield t
    finally:
        ormer.plugins.unregister(PLUGIN_NAME)
        ormer_otel.configure()


@pytest.fixture
def table() -> str:
    """A table name of this test's own (the test creates and drops it)."""
    return f"otel_t_{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL server's URL (skipped with the reason, or failed when required)."""
    return server_url("postgres")


@pytest.fixture(scope="session")
def mysql_url() -> str:
    """The MySQL/MariaDB server's URL (skipped with the reason, or failed when required)."""
    return server_url("mysql")

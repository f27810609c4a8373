"""OpenTelemetry spans and connection-pool metrics for ormer (docs/observability.md).

Installing ``ormer-otel`` enables it (entry point ``otel`` of the ``ormer.plugins``
group; ``ORMER_DISABLE_PLUGINS=otel`` turns it off). Spans and metrics go to the
global OpenTelemetry providers, looked up on first use, unless :func:`configure`
names others.
"""

from __future__ import annotations

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import TracerProvider

from . import _state
from .metrics import PoolMetrics
from .spans import INSTRUMENTATION_VERSION, StatementTracer

__all__ = ["__version__", "configure"]

__version__ = INSTRUMENTATION_VERSION


def configure(
    tracer_provider: TracerProvider | None = None,
    meter_provider: MeterProvider | None = None,
    record_parameters: bool = False,
) -> None:
    """Choose where spans and metrics go, and whether parameters are recorded.

    ``tracer_provider`` / ``meter_provider``: None (the default) uses the global
    providers, looked up when the first statement or pool event needs them (an
    application that installs the SDK after importing ormer still gets spans).
    ``record_parameters=True`` adds ``db.query.parameter.<n>`` (0-based) to each
    span: parameter values may be personal data, so they are off by default.
    Each call replaces the whole configuration (arguments left out go back to
    their defaults).
    """
    _state.tracer = StatementTracer(tracer_provider, record_parameters)
    _state.pool_metrics = PoolMetrics(meter_provider)

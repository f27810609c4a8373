"""The active configuration, read by the hook implementations on every call."""

from __future__ import annotations

from .metrics import PoolMetrics
from .spans import StatementTracer

tracer = StatementTracer()
pool_metrics = PoolMetrics()

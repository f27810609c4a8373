"""Connection-pool metrics after the OpenTelemetry database conventions.

Gauges (``db.client.connection.count``, ``.idle.max``, ``.idle.min``, ``.max``,
``.pending_requests``) and the ``.timeouts`` counter are observable: their
callbacks read ``pool.stats()`` of every open pool when a reader collects, so a
checkout pays nothing for them. Pools are held weakly, added by
``ormer_pool_opened`` (or their first checkout, for a pool opened before the
plugin was registered) and dropped by ``ormer_pool_closed``. The three
histograms (``create_time``, ``wait_time``, ``use_time``, in seconds) record
from the connection hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from weakref import WeakSet

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Histogram, Meter, MeterProvider, Observation

from .spans import INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, SCHEMA_URL

if TYPE_CHECKING:
    from ormer.pool import Pool, PoolStats

__all__ = ["POOL_NAME", "PoolMetrics", "TIME_BUCKETS"]

POOL_NAME = "db.client.connection.pool.name"
STATE = "db.client.connection.state"

#: histogram bucket boundaries (seconds): a checkout waits microseconds, a connect milliseconds
TIME_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

# the open pools, shared by every configuration
_POOLS: WeakSet[Pool] = WeakSet()


def _observe(
    read: Callable[[PoolStats], int],
) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def callback(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(read(pool.stats()), {POOL_NAME: pool.name}) for pool in list(_POOLS)]

    return callback


def _count(options: CallbackOptions) -> Iterable[Observation]:
    out = []
    for pool in list(_POOLS):
        stats = pool.stats()
        out.append(Observation(stats.idle, {POOL_NAME: pool.name, STATE: "idle"}))
        out.append(Observation(stats.in_use, {POOL_NAME: pool.name, STATE: "used"}))
    return out


_CONN = "{connection}"
# the observable gauges: name, callback, unit, description
_GAUGES: tuple[tuple[str, Callable[[CallbackOptions], Iterable[Observation]], str, str], ...] = (
    (
        "db.client.connection.count",
        _count,
        _CONN,
        "The number of connections that are currently in state described by the state attribute.",
    ),
    (
        "db.client.connection.idle.max",
        _observe(lambda s: s.max_size),  # idle connections are capped by the pool size only
        _CONN,
        "The maximum number of idle open connections allowed.",
    ),
    (
        "db.client.connection.idle.min",
        _observe(lambda s: s.min_size),
        _CONN,
        "The minimum number of idle open connections allowed.",
    ),
    (
        "db.client.connection.max",
        _observe(lambda s: s.max_size),
        _CONN,
        "The maximum number of open connections allowed.",
    ),
    (
        "db.client.connection.pending_requests",
        _observe(lambda s: s.waiting),
        "{request}",
        "The number of current pending requests for an open connection.",
    ),
)
_HISTOGRAMS = (
    ("create_time", "The time it took to create a new connection."),
    ("wait_time", "The time it took to obtain an open connection from the pool."),
    ("use_time", "The time between borrowing a connection and returning it to the pool."),
)


class PoolMetrics:
    """The pool instruments (one instance per :func:`ormer_otel.configure`)."""

    def __init__(self, meter_provider: MeterProvider | None = None) -> None:
        self._provider = meter_provider
        self._histograms: tuple[Histogram, Histogram, Histogram] | None = None

    def _instruments(self) -> tuple[Histogram, Histogram, Histogram]:
        """Create the instruments on first use (from the global provider unless one was given)."""
        if self._histograms is None:
            meter: Meter = (self._provider or metrics.get_meter_provider()).get_meter(
                INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, schema_url=SCHEMA_URL
            )
            for name, callback, unit, description in _GAUGES:
                meter.create_observable_up_down_counter(name, [callback], unit, description)
            meter.create_observable_counter(
                "db.client.connection.timeouts",
                [_observe(lambda s: s.timeouts)],
                "{timeout}",
                "The number of connection timeouts that have occurred trying to obtain a "
                "connection from the pool.",
            )
            create, wait, use = (
                meter.create_histogram(
                    f"db.client.connection.{name}",
                    "s",
                    description,
                    explicit_bucket_boundaries_advisory=list(TIME_BUCKETS),
                )
                for name, description in _HISTOGRAMS
            )
            self._histograms = (create, wait, use)
        assert self._histograms is not None
        return self._histograms

    def pool_opened(self, pool: Pool) -> None:
        """Observe a new pool."""
        self._instruments()
        _POOLS.add(pool)

    def pool_closed(self, pool: Pool) -> None:
        """Stop observing a closed pool."""
        _POOLS.discard(pool)

    def created(self, pool: Pool | None, elapsed: float) -> None:
        """A pool opened a connection (``Database.connect``'s are no pool's: not recorded)."""
        if pool is not None:
            self._instruments()[0].record(elapsed, {POOL_NAME: pool.name})

    def checkout(self, pool: Pool, wait: float) -> None:
        """A borrower got a connection after ``wait`` seconds."""
        self._instruments()[1].record(wait, {POOL_NAME: pool.name})
        if pool not in _POOLS and not pool.is_closed:
            _POOLS.add(pool)

    def checkin(self, pool: Pool, used: float) -> None:
        """A connection came back after ``used`` seconds."""
        self._instruments()[2].record(used, {POOL_NAME: pool.name})


def observed_pools() -> list[Any]:
    """The pools whose gauges are reported (for tests and debugging)."""
    return list(_POOLS)

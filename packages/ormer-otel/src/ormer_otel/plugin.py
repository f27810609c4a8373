"""The ``otel`` plugin: ormer's statement and pool hooks, forwarded to spans and metrics.

Loaded through the ``ormer.plugins`` entry point ``otel`` (or
``ormer.plugins.register(ormer_otel.plugin)``). A failure inside the
instrumentation is logged and never reaches the statement or the pool.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ormer.hookspecs import hookimpl

from . import _state

if TYPE_CHECKING:
    from ormer import Connection
    from ormer.dialect import Dialect
    from ormer.pool import Pool

log = logging.getLogger("ormer_otel")


@hookimpl
def ormer_before_execute(sql: str, params: Any, dialect: Dialect, conn: Connection) -> None:
    """Start the statement's span."""
    try:
        _state.tracer.before(sql, params, dialect, conn)
    except Exception:
        log.exception("ormer_otel: starting a span failed")


@hookimpl
def ormer_after_execute(
    sql: str, rowcount: int, error: BaseException | None, conn: Connection
) -> None:
    """End the statement's span."""
    try:
        _state.tracer.after(sql, rowcount, error, conn)
    except Exception:
        log.exception("ormer_otel: ending a span failed")


@hookimpl
def ormer_connection_created(pool: Pool | None, elapsed: float) -> None:
    """Record ``db.client.connection.create_time``."""
    try:
        _state.pool_metrics.created(pool, elapsed)
    except Exception:
        log.exception("ormer_otel: recording create_time failed")


@hookimpl
def ormer_connection_checkout(pool: Pool, wait: float) -> None:
    """Record ``db.client.connection.wait_time``."""
    try:
        _state.pool_metrics.checkout(pool, wait)
    except Exception:
        log.exception("ormer_otel: recording wait_time failed")


@hookimpl
def ormer_connection_checkin(pool: Pool, used: float) -> None:
    """Record ``db.client.connection.use_time``."""
    try:
        _state.pool_metrics.checkin(pool, used)
    except Exception:
        log.exception("ormer_otel: recording use_time failed")


@hookimpl
def ormer_pool_opened(pool: Pool) -> None:
    """Observe the pool's gauges."""
    try:
        _state.pool_metrics.pool_opened(pool)
    except Exception:
        log.exception("ormer_otel: observing a pool failed")


@hookimpl
def ormer_pool_closed(pool: Pool) -> None:
    """Stop observing the pool."""
    _state.pool_metrics.pool_closed(pool)

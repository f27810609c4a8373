"""Every pluggy hook specification of ormer (docs/plugins.md), and nothing else.

Hooks are synchronous. Three groups:

* dialect: :func:`ormer_register_dialects`
* model: :func:`ormer_sql_type`, :func:`ormer_model_defined`
* pool / query: connection life-cycle and statement hooks.

Per-query hooks are looked up once and skipped entirely when no plugin
implements them; no hook is ever called per row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .connection import Connection
    from .dialect import Dialect
    from .model import Model
    from .plugins import DialectRegistry
    from .pool import Pool

PROJECT_NAME = "ormer"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --- dialect -----------------------------------------------------------------
@hookspec
def ormer_register_dialects(registry: DialectRegistry) -> None:
    """Register the dialects this plugin provides.

    Call ``registry.add(name, schemes=(...), target="package.module:Class")``
    once per dialect. The target is imported only when the dialect is first
    used, so installing a plugin never imports its driver.
    """


# --- model -------------------------------------------------------------------
@hookspec(firstresult=True)
def ormer_sql_type(py_type: Any, dialect: Dialect) -> str | None:
    """Return the column type name for a Python type ormer does not map itself.

    The first plugin returning a non-None name wins. Called when DDL is built,
    never per row.
    """


@hookspec(historic=True)
def ormer_model_defined(model: type[Model]) -> None:
    """Called once for each model class, after its table metadata is built.

    Historic: a plugin registered later is called for every model defined so far.
    """


# --- pool / query --------------------------------------------------------------
# Every pool and statement hook is looked up once per plugin registration and
# skipped entirely when no plugin implements it (a statement or checkout then pays
# one attribute read). A hook implementation may take any subset of the arguments.
@hookspec
def ormer_connection_created(conn: Any, pool: Pool | None, elapsed: float) -> None:
    """A new driver connection was opened (by ``Database.connect``: ``pool`` None; or by
    ``pool``), ``elapsed`` seconds after the connect began (the pool's ``on_connect``
    set-up included).

    ``conn`` is the backend's ``DriverConnection``; use its ``execute`` for setup SQL.
    """


@hookspec
def ormer_connection_checkout(conn: Any, pool: Pool, wait: float) -> None:
    """A pooled connection (a ``PooledConnection``) is being handed to a borrower, who
    waited ``wait`` seconds for it (queue, connect and health ping included)."""


@hookspec
def ormer_connection_checkin(conn: Any, pool: Pool, used: float) -> None:
    """A pooled connection came back to the pool after ``used`` seconds with its borrower."""


@hookspec
def ormer_connection_closed(conn: Any, pool: Pool, reason: str) -> None:
    """A pool closed one of its driver connections (``conn``). ``reason`` is one of
    :data:`ormer.pool.CLOSE_REASONS`: ``idle_timeout``, ``max_lifetime``, ``max_uses``,
    ``broken`` (lost, interrupted, or its reset failed), ``health_check``, ``drain``,
    ``resize``, ``retired`` (``close()`` by its borrower), ``abandoned`` (opened after its
    borrower gave up, or its borrower was garbage-collected), ``pool_closed``."""


@hookspec
def ormer_pool_opened(pool: Pool) -> None:
    """A pool was built (its ``min_size`` connections are open)."""


@hookspec
def ormer_pool_closed(pool: Pool) -> None:
    """A pool was closed (or terminated); it lends no more connections."""


@hookspec
def ormer_before_execute(sql: str, params: Any, dialect: Dialect, conn: Connection) -> None:
    """A statement is about to be sent on ``conn`` (once per statement, never per row)."""


@hookspec
def ormer_after_execute(
    sql: str,
    params: Any,
    dialect: Dialect,
    elapsed: float,
    rowcount: int,
    error: BaseException | None,
    conn: Connection,
) -> None:
    """A statement finished; ``elapsed`` is in seconds, ``error`` set on failure."""

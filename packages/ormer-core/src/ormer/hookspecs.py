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
    from .dialect import Dialect
    from .model import Model
    from .plugins import DialectRegistry

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
@hookspec
def ormer_connection_created(conn: Any) -> None:
    """A new driver connection was opened (by ``Database.connect`` or a pool).

    ``conn`` is the backend's ``DriverConnection``; use its ``execute`` for setup SQL.
    """


@hookspec
def ormer_connection_checkout(conn: Any) -> None:
    """A pooled connection is being handed to a borrower."""


@hookspec
def ormer_connection_checkin(conn: Any) -> None:
    """A pooled connection came back to the pool."""


@hookspec
def ormer_before_execute(sql: str, params: Any, dialect: Dialect) -> None:
    """A statement is about to be sent (once per statement, never per row)."""


@hookspec
def ormer_after_execute(
    sql: str,
    params: Any,
    dialect: Dialect,
    elapsed: float,
    rowcount: int,
    error: BaseException | None,
) -> None:
    """A statement finished; ``elapsed`` is in seconds, ``error`` set on failure."""

"""Capability-based skips for the compliance suite.

A backend that lacks a feature says so through its dialect's capability flags
(``supports_savepoints = False``, ...). A suite test that needs the feature is
decorated ``@requires("savepoints")`` and is skipped on such a backend, with the
reason; its twin decorated ``@lacks("savepoints")`` runs only there and checks
that using the feature raises :class:`~ormer.errors.NotSupportedError`. No test
reads the flags by hand, and no missing feature goes unchecked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ormer.dialect import Dialect

__all__ = ["CAPABILITIES", "lacks", "missing", "requires"]

F = TypeVar("F", bound=Callable[..., Any])

#: capability name -> whether a dialect has it
CAPABILITIES: dict[str, Callable[[Dialect], bool]] = {
    "returning": lambda d: d.supports_returning,
    "savepoints": lambda d: d.supports_savepoints,
    "nulls_order": lambda d: d.supports_nulls_order,
    "server_side_cursor": lambda d: d.supports_server_side_cursor,
    "bulk_copy": lambda d: d.supports_bulk_copy,
    "negative_zero": lambda d: d.keeps_negative_zero,
    "statements_during_stream": lambda d: d.stream_allows_statements,
    "transactional_ddl": lambda d: d.transactional_ddl,
    "table_rebuild": lambda d: d.rebuilds_tables,
    "row_locks": lambda d: d.supports_row_locks,
    "lock_of": lambda d: d.supports_row_locks and d.supports_lock_of,
    "recursive_cte": lambda d: d.supports_recursive_cte,
    "intersect_except": lambda d: d.supports_intersect_except,
    "window_functions": lambda d: d.supports_window_functions,
    "aggregate_filter": lambda d: d.supports_aggregate_filter,
    "rollup": lambda d: d.group_by_rollup is not None,
    "rollup_order_by": lambda d: d.group_by_rollup is not None and d.rollup_allows_order_by,
    "distinct_on": lambda d: d.supports_distinct_on,
    "replicas": lambda d: d.supports_replicas,
}

REQUIRES_ATTR = "__ormer_requires__"
LACKS_ATTR = "__ormer_lacks__"


def _check(names: tuple[str, ...]) -> None:
    unknown = [n for n in names if n not in CAPABILITIES]
    if unknown:
        raise ValueError(f"unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}")


def requires(*names: str) -> Callable[[F], F]:
    """Run the test only on dialects that have every capability in ``names``."""
    _check(names)

    def mark(test: F) -> F:
        setattr(test, REQUIRES_ATTR, names)
        return test

    return mark


def lacks(*names: str) -> Callable[[F], F]:
    """Run the test only on dialects that lack every capability in ``names``
    (it checks that using them raises NotSupportedError)."""
    _check(names)

    def mark(test: F) -> F:
        setattr(test, LACKS_ATTR, names)
        return test

    return mark


def missing(dialect: Dialect, names: tuple[str, ...]) -> list[str]:
    """The capabilities of ``names`` that ``dialect`` lacks."""
    return [n for n in names if not CAPABILITIES[n](dialect)]


def skip_reason(test: Any, dialect: Dialect) -> str | None:
    """Why ``test`` does not run on ``dialect``, or None when it runs."""
    needed: tuple[str, ...] = getattr(test, REQUIRES_ATTR, ())
    absent = missing(dialect, needed)
    if absent:
        return f"{dialect.name} lacks {', '.join(absent)} (capability flags of its dialect)"
    unneeded: tuple[str, ...] = getattr(test, LACKS_ATTR, ())
    present = [n for n in unneeded if n not in missing(dialect, unneeded)]
    if present:
        return (
            f"{dialect.name} has {', '.join(present)}: this test checks the "
            "behaviour of a backend without it (NotSupportedError, or what it documents)"
        )
    return None

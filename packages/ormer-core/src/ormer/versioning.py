"""Optimistic locking: the statement parts a ``version_field()`` adds (docs/writes.md).

``update(obj)`` and ``delete(obj)`` match the row only while it still holds the
version the object holds (``AND version = ?``); every UPDATE of a versioned
model adds 1 to the version unless it sets the column itself. The query
builders (``ormer.query``) call these helpers; a model without a version field
gets its statements unchanged.
"""

from __future__ import annotations

from typing import Any, cast

from .errors import StaleObjectError
from .expr import BinaryOp, Column, Expr, Param
from .model import Model, TableInfo
from .types import ColumnType, Kind

__all__ = ["held_version", "stale_error", "version_condition", "with_version_bump"]

_BOOL = ColumnType(Kind.BOOL, bool)

Sets = tuple[tuple[Column[Any], Expr], ...]


def with_version_bump(info: TableInfo, sets: Sets) -> Sets:
    """``sets`` plus ``version = version + 1`` when the model has a version field
    that ``sets`` does not assign already."""
    version = info.version
    if version is None or any(column.field is version for column, _ in sets):
        return sets
    column = info.columns[version.attr]
    return (*sets, (column, column + 1))


def held_version(info: TableInfo, obj: Model) -> int | None:
    """The version ``obj`` holds (validated: ValidationError when it is no int), or
    None for a model without a version field."""
    version = info.version
    if version is None:
        return None
    value = obj.__dict__.get(version.attr)
    version.validate(value)  # a non-null int field: an int once validated
    return cast(int, value)


def version_condition(info: TableInfo, held: int | None) -> Expr | None:
    """``version = <held>``, or None for a model without a version field."""
    version = info.version
    if version is None or held is None:
        return None
    return BinaryOp("=", info.columns[version.attr], Param(held, version.type), _BOOL)


def stale_error(action: str, obj: Model, key: str, held: int | None) -> StaleObjectError:
    """The error of a versioned write whose row exists but no longer holds ``held``."""
    info = obj.__ormer_table__
    version = info.version
    name = version.attr if version is not None else "version"
    return StaleObjectError(
        f"{action}({type(obj).__name__} object): the row with {key} in {info.name} no "
        f"longer has {name}={held!r}, the version this object holds: someone else changed "
        "it since the object was read. Reload it with refresh(obj), apply the change "
        "again and retry"
    )

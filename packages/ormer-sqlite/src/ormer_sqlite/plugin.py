"""Entry point of the ``sqlite`` plugin: registers the dialect lazily."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ormer.hookspecs import hookimpl

if TYPE_CHECKING:
    from ormer.plugins import DialectRegistry


@hookimpl
def ormer_register_dialects(registry: DialectRegistry) -> None:
    """Register SQLite under the schemes ``sqlite`` and ``sqlite3``."""
    registry.add(
        "sqlite",
        schemes=("sqlite", "sqlite3"),
        target="ormer_sqlite.dialect:SQLiteDialect",
        package="ormer-sqlite",
    )

"""Entry point of the ``postgresql`` plugin: registers the dialect lazily."""

from __future__ import annotations

from ormer.hookspecs import hookimpl
from ormer.plugins import DialectRegistry


@hookimpl
def ormer_register_dialects(registry: DialectRegistry) -> None:
    """Register PostgreSQL under the schemes ``postgresql`` and ``postgres``."""
    registry.add(
        "postgresql",
        schemes=("postgresql", "postgres"),
        target="ormer_postgres.dialect:PostgresDialect",
        package="ormer-postgres",
    )

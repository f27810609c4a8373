"""Entry point of the ``postgresql`` plugin: registers the dialect lazily."""

from __future__ import annotations

from ormer.plugins import dialect_plugin

#: PostgreSQL under the schemes ``postgresql`` and ``postgres``
ormer_register_dialects = dialect_plugin(
    "postgresql",
    schemes=("postgresql", "postgres"),
    target="ormer_postgres.dialect:PostgresDialect",
    package="ormer-postgres",
)

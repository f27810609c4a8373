"""Entry point of the ``turso`` plugin: registers the dialect lazily."""

from __future__ import annotations

from ormer.plugins import dialect_plugin

#: Turso under the schemes ``turso`` and ``libsql`` (local files only, for now)
ormer_register_dialects = dialect_plugin(
    "turso",
    schemes=("turso", "libsql"),
    target="ormer_turso.dialect:TursoDialect",
    package="ormer-turso",
)

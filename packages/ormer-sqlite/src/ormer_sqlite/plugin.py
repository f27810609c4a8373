"""Entry point of the ``sqlite`` plugin: registers the dialect lazily."""

from __future__ import annotations

from ormer.plugins import dialect_plugin

#: SQLite under the schemes ``sqlite`` and ``sqlite3``
ormer_register_dialects = dialect_plugin(
    "sqlite",
    schemes=("sqlite", "sqlite3"),
    target="ormer_sqlite.dialect:SQLiteDialect",
    package="ormer-sqlite",
)

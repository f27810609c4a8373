"""Entry point of the ``mysql`` plugin: registers the dialect lazily."""

from __future__ import annotations

from ormer.hookspecs import hookimpl
from ormer.plugins import DialectRegistry


@hookimpl
def ormer_register_dialects(registry: DialectRegistry) -> None:
    """Register MySQL/MariaDB under ``mysql``, ``mariadb`` and ``mysql+asyncmy``.

    ``mysql+asyncmy://`` (and ``mariadb+asyncmy://``) reach the same dialect:
    the registry matches a ``base+driver`` scheme on its base, and the dialect
    picks the driver from the scheme.
    """
    registry.add(
        "mysql",
        schemes=("mysql", "mariadb", "mysql+asyncmy", "mysql+aiomysql"),
        target="ormer_mysql.dialect:MySQLDialect",
        package="ormer-mysql",
    )

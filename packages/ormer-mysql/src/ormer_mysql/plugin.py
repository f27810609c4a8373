"""Entry point of the ``mysql`` plugin: registers the dialect lazily.

``mysql+asyncmy://`` (and ``mariadb+asyncmy://``) reach the same dialect: the
registry matches a ``base+driver`` scheme on its base, and the dialect picks the
driver from the scheme.
"""

from __future__ import annotations

from ormer.plugins import dialect_plugin

#: MySQL/MariaDB under ``mysql``, ``mariadb`` and ``mysql+asyncmy``
ormer_register_dialects = dialect_plugin(
    "mysql",
    schemes=("mysql", "mariadb", "mysql+asyncmy", "mysql+aiomysql"),
    target="ormer_mysql.dialect:MySQLDialect",
    package="ormer-mysql",
)

"""Wiring of the property tests: one ``ormer_url`` per backend, and a coverage report.

``ormer_url`` is parametrized over the backends: SQLite always (an in-memory
database per test function), PostgreSQL and MySQL/MariaDB when
:func:`ormer.testing.servers.server_url` finds a server (else skipped with the
reason, or failed under ``ORMER_TEST_REQUIRE``). Their parameters carry the
``postgres``/``mysql`` marks, so ``-m "postgres or mysql"`` selects them.

Server isolation: a schema (PostgreSQL) or a database (MySQL) of its own for
the session, dropped at the end; each example also creates and drops a table
of its own (a fresh name), so examples never see each other's rows.

How many examples run is the hypothesis profile named by
``ORMER_HYPOTHESIS_PROFILE`` (``ci`` by default, ``fuzz`` for ``make fuzz``;
see ``ormer.testing.properties``). The terminal summary lists the examples
run per property and backend and the distinct query and model shapes covered.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from ormer import Database, DatabaseError
from ormer.testing import properties
from ormer.testing.servers import report_lines, server_url

BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
#: collations under which PostgreSQL compares text by code point, as the oracle does
CODE_POINT_COLLATIONS = {"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic"}


async def _admin(url: str, sql: str) -> list[tuple[object, ...]]:
    async with await Database.connect(url) as db:
        if sql.lstrip().upper().startswith("SELECT"):
            return [tuple(r) for r in await db.exec_rows(sql)]
        await db.exec_non_query(sql)
        return []


def pytest_report_collectionfinish(items: list[pytest.Item]) -> list[str]:
    """Header lines naming the servers the run uses (once, with the backends' conftests)."""
    return report_lines(["postgres", "mysql"], items)


def _with_query(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}{'&' if '?' in url else '?'}{extra}"


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


@pytest.fixture(scope="session")
def property_pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections work in a schema of this session's own."""
    base = server_url("postgres")
    schema = f"ormer_prop_{os.getpid()}_{secrets.token_hex(4)}"
    asyncio.run(_admin(base, f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_query(base, search_path=schema)
    finally:
        asyncio.run(_admin(base, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def property_pg_code_point(property_pg_url: str) -> bool:
    """Whether the PostgreSQL database sorts text by code point (else: ASCII-only text)."""
    sql = "SELECT datcollate FROM pg_database WHERE datname = current_database()"
    ((collation,),) = asyncio.run(_admin(property_pg_url, sql))
    return str(collation) in CODE_POINT_COLLATIONS


@pytest.fixture(scope="session")
def property_mysql_url() -> Iterator[str]:
    """A MySQL URL to a database created for this session (or the URL's own, when the
    user may not create databases)."""
    base = server_url("mysql")
    name = f"ormer_prop_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin(base, f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
    except DatabaseError as exc:
        if exc.sqlstate not in ("1044", "1045", "1227"):  # access denied
            raise
        yield base
        return
    try:
        yield _with_database(base, name)
    finally:
        asyncio.run(_admin(base, f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def ormer_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return "sqlite:///:memory:"
    url: str = request.getfixturevalue(f"property_{'pg' if backend == 'postgres' else backend}_url")
    return url


@pytest.fixture
def ormer_code_point_text(backend: str, request: pytest.FixtureRequest) -> bool:
    if backend == "postgres":
        return bool(request.getfixturevalue("property_pg_code_point"))
    return True  # SQLite BINARY; MySQL tables ormer creates use a _bin collation


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    lines = properties.report_lines()
    if lines:
        profile = properties.profile_name()
        terminalreporter.write_sep("-", f"property tests (hypothesis profile {profile})")
        for line in lines:
            terminalreporter.write_line(line)

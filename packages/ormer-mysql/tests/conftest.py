"""Server wiring for the ormer-mysql tests.

``mysql_server`` resolves the server once per session
(``ormer.testing.servers.server_url("mysql")``: ``ORMER_TEST_MYSQL_URL``, a
testcontainers MariaDB, or ``mysql://root@127.0.0.1:3306/test``; skipped with
the reason, or failed under ``ORMER_TEST_REQUIRE=mysql``), creates a database
of its own (``ormer_test_<pid>_<random>``, utf8mb4) and drops it at the end.
``ormer_url`` points the compliance suite at it, once per driver: aiomysql
(``mysql://``) and, when installed, asyncmy (``mysql+asyncmy://``); and once
more on aiomysql with ``?returning=false``, so that the ``LAST_INSERT_ID()``
path MySQL servers take is checked on MariaDB too.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from ormer import Database, DatabaseError
from ormer.testing.servers import report_lines, server_url

HAS_ASYNCMY = importlib.util.find_spec("asyncmy") is not None
ALL_VARIANTS = ("aiomysql", "asyncmy", "aiomysql-lastid")


def _chosen_variants() -> list[str]:
    """``ORMER_TEST_MYSQL_DRIVERS`` (comma-separated variants; default: all three).

    CI's container run takes ``aiomysql`` only: the driver variants run on the local
    server of the same version, and the container run is about the server."""
    text = os.environ.get("ORMER_TEST_MYSQL_DRIVERS", "").strip()
    if not text:
        return list(ALL_VARIANTS)
    chosen = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in ALL_VARIANTS]
    if unknown or not chosen:
        raise pytest.UsageError(
            f"ORMER_TEST_MYSQL_DRIVERS={text!r}: choose among {', '.join(ALL_VARIANTS)}"
        )
    return [v for v in ALL_VARIANTS if v in chosen]


VARIANTS = _chosen_variants()
DRIVERS = [v for v in VARIANTS if v in ("aiomysql", "asyncmy")] or ["aiomysql"]


def with_database(url: str, database: str, scheme: str | None = None) -> str:
    """``url`` pointing at another database (and optionally another scheme)."""
    parts = urlsplit(url)
    return urlunsplit(
        (scheme or parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment)
    )


async def _admin(url: str, sql: str) -> None:
    async with await Database.connect(url) as db:
        await db.exec_non_query(sql)


def pytest_report_collectionfinish(items: list[pytest.Item]) -> list[str]:
    """The header line naming the mysql server this run uses: its version and source."""
    return report_lines(["mysql"], items)


@pytest.fixture(scope="session")
def mysql_server() -> Iterator[str]:
    """A ``mysql://`` URL to a database created for this test session.

    A user who may not create databases (a testcontainers MariaDB's ``test``
    user) gets the URL's own database instead: every test creates its tables
    afresh there.
    """
    base = server_url("mysql")
    name = f"ormer_test_{os.getpid()}_{secrets.token_hex(4)}"
    create = f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    try:
        asyncio.run(_admin(base, create))
    except DatabaseError as exc:
        if exc.sqlstate not in ("1044", "1045", "1227"):  # access denied
            raise
        yield with_database(base, urlsplit(base).path.lstrip("/") or "test", scheme="mysql")
        return
    try:
        yield with_database(base, name, scheme="mysql")
    finally:
        asyncio.run(_admin(base, f"DROP DATABASE IF EXISTS `{name}`"))


@pytest.fixture(params=DRIVERS)
def mysql_driver(request: pytest.FixtureRequest) -> str:
    """The driver a test runs on: every MySQL test runs on aiomysql and asyncmy."""
    driver: str = request.param
    if driver == "asyncmy" and not HAS_ASYNCMY:
        pytest.skip("asyncmy is not installed (pip install 'ormer-mysql[asyncmy]')")
    return driver


def driver_url(mysql_server: str, driver: str) -> str:
    """The session database's URL for a driver (``mysql://`` or ``mysql+asyncmy://``)."""
    if driver == "asyncmy":
        return "mysql+asyncmy://" + mysql_server.split("://", 1)[1]
    return mysql_server


@pytest.fixture
def mysql_url(mysql_server: str, mysql_driver: str) -> str:
    """The session database through the test's driver."""
    return driver_url(mysql_server, mysql_driver)


@pytest.fixture(params=VARIANTS)
def ormer_url(request: pytest.FixtureRequest, mysql_server: str) -> str:
    """The session database for the compliance suite: per driver, and without RETURNING."""
    variant: str = request.param
    if variant == "asyncmy" and not HAS_ASYNCMY:
        pytest.skip("asyncmy is not installed (pip install 'ormer-mysql[asyncmy]')")
    if variant == "aiomysql-lastid":
        separator = "&" if "?" in mysql_server else "?"
        return mysql_server + separator + "returning=false"
    return driver_url(mysql_server, variant)

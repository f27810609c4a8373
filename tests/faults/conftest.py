"""Wiring of the fault tests: private servers, backend adapters, watchdog, figures.

Every test module here carries the ``faults`` marker (``pytestmark``): ``make
test`` leaves them out, ``make test-integration`` runs them. The servers are
private (``servers.py``): a PostgreSQL cluster and a mariadbd started for the
session from the Debian packages, on free loopback ports, torn down at the end.
A server that cannot be started skips its tests with the reason, or fails them
when its backend is named in ``ORMER_TEST_REQUIRE`` (``postgres``, ``mysql``).

The terminal summary lists the figures the tests measured (recovery times
after restarts, how long each bounded wait took, counts of failed and retried
operations): docs/reliability.md quotes them.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any, NoReturn, ParamSpec, TypeVar

import pytest

from ormer import Database
from ormer.testing.servers import required_backends

from .servers import (
    PrivateMariaDB,
    PrivatePostgres,
    ServerStartError,
    start_mariadb,
    start_postgres,
    sweep_orphans,
)
from .topology import (
    MariaPair,
    PgBouncer,
    PgCluster,
    start_mariadb_pair,
    start_pg_cluster,
    start_pgbouncer,
)

P = ParamSpec("P")
R = TypeVar("R")

_FIGURES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = []


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("ormer fault figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """``figure("postgres restart: recovered in 0.31 s")``: a line of the terminal summary."""
    lines = request.config.stash[_FIGURES]
    name = request.node.name

    def record(text: str) -> None:
        lines.append(f"{name}: {text}")

    return record


def bounded(seconds: float) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """The watchdog: the test body runs under ``asyncio.timeout(seconds)``; a hung task
    fails the test (with the stack of what hung) instead of hanging CI. A body that
    ends must leave no task of its own running (2 s of grace for closings)."""

    def wrap(fn: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(fn)
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            before = asyncio.all_tasks()
            try:
                async with asyncio.timeout(seconds):
                    result = await fn(*args, **kwargs)
            except TimeoutError as exc:
                if isinstance(exc.__context__, asyncio.CancelledError):
                    raise AssertionError(f"watchdog: the test body hung past {seconds}s") from exc
                raise
            left: set[asyncio.Task[Any]] = set()
            for _ in range(40):
                left = {t for t in asyncio.all_tasks() - before if not t.done()}
                if not left:
                    break
                await asyncio.sleep(0.05)
            assert not left, f"tasks still running after the test: {sorted(map(repr, left))[:5]}"
            return result

        return run

    return wrap


# -- the private servers ----------------------------------------------------------------------
def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt("SIGTERM")  # pytest then runs the finalizers: servers stopped


def skip_or_fail(backend: str, reason: str) -> NoReturn:
    """Skip with ``reason``, or fail when ``ORMER_TEST_REQUIRE`` names ``backend``."""
    if backend in required_backends():
        pytest.fail(f"{reason} (required by ORMER_TEST_REQUIRE)")
    pytest.skip(reason)


def _start(
    backend: str, starter: Callable[[], Coroutine[Any, Any, Any]], label: str | None = None
) -> Any:
    """Start what ``starter`` makes (anything with ``teardown()``); skip with the reason
    (``label`` before it: "private <backend> server: " by default), or fail when
    ``ORMER_TEST_REQUIRE`` names ``backend``."""
    sweep_orphans()
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        server: Any = asyncio.run(starter())
    except ServerStartError as exc:
        skip_or_fail(backend, f"{f'private {backend} server: ' if label is None else label}{exc}")
    atexit.register(server.teardown)  # also when the session dies before its finalizers
    return server


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    server: PrivatePostgres = _start("postgres", start_postgres)
    try:
        yield server
    finally:
        server.teardown()


@pytest.fixture(scope="session")
def private_mariadb() -> Iterator[PrivateMariaDB]:
    server: PrivateMariaDB = _start("mysql", start_mariadb)
    try:
        yield server
    finally:
        server.teardown()


# -- replication topologies (topology.py) -------------------------------------------------------
@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL primary and 2 hot standbys streaming from it (shared by the session:
    promote nothing here, use ``pg_failover_pair``; resume what you pause)."""
    cluster: PgCluster = _start("postgres", lambda: start_pg_cluster(standbys=2))
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture
def pg_failover_pair() -> Iterator[PgCluster]:
    """A fresh primary and 1 standby for one test (which may promote, crash, restart)."""
    cluster: PgCluster = _start("postgres", lambda: start_pg_cluster(standbys=1))
    try:
        yield cluster
    finally:
        cluster.teardown()


@pytest.fixture(scope="session")
def pgbouncer(pg_cluster: PgCluster) -> Iterator[PgBouncer]:
    """PgBouncer, transaction pooling, ``default_pool_size`` 3, in front of ``pg_cluster``:
    database ``test`` is the primary's, ``test1``/``test2`` the standbys'. Skips (fails
    when ORMER_TEST_REQUIRE names postgres) without the pgbouncer binary."""
    bouncer: PgBouncer = _start("postgres", lambda: start_pgbouncer(pg_cluster.members), label="")
    try:
        yield bouncer
    finally:
        bouncer.teardown()


@pytest.fixture(scope="session")
def mariadb_pair() -> Iterator[MariaPair]:
    """A MariaDB primary (GTID binary log, ROW format) and a read-only replica of it."""
    pair: MariaPair = _start("mysql", start_mariadb_pair)
    try:
        yield pair
    finally:
        pair.teardown()


class Backend:
    """What a scenario needs to know about one private server, PostgreSQL or MariaDB."""

    name: str
    server: PrivatePostgres | PrivateMariaDB
    #: a statement that sleeps ``{}`` seconds on the server
    sleep_sql: str
    #: a statement that runs for minutes, busy on the server, until cancelled
    slow_sql: str

    def url(self, port: int | None = None) -> str:
        raise NotImplementedError

    def admin_url(self) -> str:
        raise NotImplementedError

    async def admin(self, sql: str) -> list[tuple[Any, ...]]:
        """One statement on a fresh admin connection (not through the pools under test)."""
        async with await Database.connect(self.admin_url(), connect_timeout=5) as db:
            return [tuple(r) for r in await db.exec_rows(sql)]

    async def session_ids(self) -> list[int]:
        """Server ids of the sessions the pools under test hold."""
        raise NotImplementedError

    async def idle_in_transaction(self) -> int:
        raise NotImplementedError

    async def kill(self, session_id: int) -> None:
        raise NotImplementedError

    async def running(self) -> int:
        """How many statements the pools' sessions are running now."""
        raise NotImplementedError


class PgBackend(Backend):
    name = "postgres"
    sleep_sql = "SELECT pg_sleep({})"
    slow_sql = "SELECT pg_sleep(300)"
    app = "ormer_faults"

    def __init__(self, server: PrivatePostgres) -> None:
        self.server = server

    def url(self, port: int | None = None) -> str:
        url = self.server.url(self.app)
        return url if port is None else url.replace(f":{self.server.port}/", f":{port}/")

    def admin_url(self) -> str:
        return self.server.url("ormer_faults_admin")

    async def session_ids(self) -> list[int]:
        rows = await self.admin(
            f"SELECT pid FROM pg_stat_activity WHERE application_name = '{self.app}'"
        )
        return [int(r[0]) for r in rows]

    async def idle_in_transaction(self) -> int:
        ((n,),) = await self.admin(
            "SELECT count(*) FROM pg_stat_activity"
            f" WHERE application_name = '{self.app}' AND state LIKE 'idle in transaction%'"
        )
        return int(n)

    async def kill(self, session_id: int) -> None:
        await self.admin(f"SELECT pg_terminate_backend({int(session_id)})")

    async def running(self) -> int:
        ((n,),) = await self.admin(
            "SELECT count(*) FROM pg_stat_activity"
            f" WHERE application_name = '{self.app}' AND state = 'active'"
        )
        return int(n)


class MariaBackend(Backend):
    name = "mariadb"
    sleep_sql = "SELECT SLEEP({})"
    # not SLEEP(): a KILL QUERY makes SLEEP return 1 without an error
    slow_sql = "SELECT COUNT(*) FROM seq_1_to_100000 a, seq_1_to_100000 b"

    def __init__(self, server: PrivateMariaDB) -> None:
        self.server = server

    def url(self, port: int | None = None) -> str:
        url = self.server.url("app")
        return url if port is None else url.replace(f":{self.server.port}/", f":{port}/")

    def admin_url(self) -> str:
        return self.server.url("admin")

    async def session_ids(self) -> list[int]:
        rows = await self.admin("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'app'")
        return [int(r[0]) for r in rows]

    async def idle_in_transaction(self) -> int:
        ((n,),) = await self.admin(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX t"
            " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
            " WHERE p.USER = 'app' AND p.COMMAND = 'Sleep'"
        )
        return int(n)

    async def kill(self, session_id: int) -> None:
        await self.admin(f"KILL CONNECTION {int(session_id)}")

    async def running(self) -> int:
        ((n,),) = await self.admin(
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
            " WHERE USER = 'app' AND COMMAND = 'Query'"
        )
        return int(n)


@pytest.fixture
def pg(private_pg: PrivatePostgres) -> Backend:
    return PgBackend(private_pg)


@pytest.fixture
def mariadb(private_mariadb: PrivateMariaDB) -> Backend:
    return MariaBackend(private_mariadb)


@pytest.fixture(params=["postgres", "mariadb"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each private server in turn."""
    fixture = "pg" if request.param == "postgres" else "mariadb"
    b: Backend = request.getfixturevalue(fixture)
    return b

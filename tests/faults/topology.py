"""Private replication topologies for the fault tests: PostgreSQL streaming replication
(a primary and hot standbys), PgBouncer in front of PostgreSQL, MariaDB primary/replica.

Built on ``servers.py``: every member is a :class:`PrivateServer` in a directory
``ormer-faults-<name>-<pid>-*`` (so ``sweep_orphans`` finds the leftovers of a dead
session), on a free loopback port, in a process group of its own, run as the
``postgres``/``mysql`` user when we are root. Nothing here touches the shared servers.

- :func:`start_pg_cluster`: ``initdb`` of a primary set up for streaming replication,
  then ``pg_basebackup -R -X stream`` of its (nearly empty) cluster for each
  :class:`PgStandby`, side by side: a couple of seconds in all.
- :class:`PgBouncer`: ``pgbouncer`` (as ``postgres``: it refuses root) in front of one or
  more clusters, trust authentication, admin console through ``psql``.
- :func:`start_mariadb_pair`: a primary with a GTID binary log and a read-only
  :class:`MariaReplica` replicating from it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ormer import Database

from .servers import (
    MARIADB_CLIENT,
    PG_BIN,
    PrivateMariaDB,
    PrivatePostgres,
    PrivateServer,
    ServerStartError,
    _tail,
    start_mariadb,
    start_postgres,
)

#: settings of every member of a PostgreSQL cluster (a standby needs at least the
#: primary's max_connections; ~10 per member for each pool of a test, plus pgbouncer's)
PG_REPLICATION_SETTINGS = {
    "wal_level": "replica",
    "max_wal_senders": "10",
    "max_replication_slots": "10",
    "wal_keep_size": "128MB",
    "hot_standby": "on",
    "max_connections": "80",
    # a standby reports its replay position every second (the default, 10 s, would make
    # pg_stat_replication lag behind what the standby has really replayed)
    "wal_receiver_status_interval": "1s",
}

PGBOUNCER = os.environ.get("ORMER_FAULTS_PGBOUNCER", "pgbouncer")
MARIADB_REPL_PASSWORD = "fault-repl-pw"


async def _rows(url: str, sql: str, timeout: float = 5.0) -> list[tuple[Any, ...]]:
    """One statement on a fresh connection."""
    async with await Database.connect(url, connect_timeout=timeout) as db:
        return await db.exec_rows(sql)


async def _poll(what: str, probe: Any, timeout: float, log: Path | None = None) -> float:
    """Await ``probe()`` until it is true (errors count as false); the seconds it took."""
    start = time.monotonic()
    last: BaseException | None = None
    while True:
        try:
            if await probe():
                return time.monotonic() - start
        except Exception as exc:  # not there yet: a standby still starting, say
            last = exc
        if time.monotonic() - start > timeout:
            tail = f"\n{_tail(log)}" if log is not None else ""
            raise TimeoutError(f"{what}: not after {timeout}s (last error: {last!r}){tail}")
        await asyncio.sleep(0.05)


def _as_user(user: str | None) -> dict[str, Any]:
    return {} if user is None else {"user": user, "group": pwd.getpwnam(user).pw_gid}


# -- PostgreSQL streaming replication -----------------------------------------------------------
class PgStandby(PrivatePostgres):
    """A hot standby: a ``pg_basebackup -R`` copy of a primary, streaming its WAL."""

    name = "pgstandby"

    async def clone(self, primary: PrivatePostgres) -> None:
        """``pg_basebackup`` of ``primary`` into this standby's data directory."""
        user = self._popen_user()
        for d in (self.data, self.sockets):
            d.mkdir(mode=0o700)
            if user is not None:
                pw = pwd.getpwnam(user)
                os.chown(d, pw.pw_uid, pw.pw_gid)
        proc = await asyncio.create_subprocess_exec(
            str(PG_BIN / "pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
            *("-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            **_as_user(user),
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 120)
        if proc.returncode != 0:
            raise ServerStartError(f"pg_basebackup failed: {out.decode(errors='replace')}")

    async def in_recovery(self) -> bool:
        """``pg_is_in_recovery()``: true while a standby, false once promoted."""
        ((flag,),) = await _rows(self.url("ormer_faults_admin"), "SELECT pg_is_in_recovery()")
        return bool(flag)

    async def promote(self, timeout: float = 30.0) -> float:
        """Promote to a primary (``pg_promote``); returns once it accepts writes, with the
        seconds it took."""
        start = time.monotonic()
        await _rows(self.url("ormer_faults_admin"), f"SELECT pg_promote(true, {int(timeout)})")

        async def writable() -> bool:
            # txid_current() assigns a transaction id: an error during recovery
            await _rows(self.url("ormer_faults_admin"), "SELECT txid_current()")
            return True

        await _poll("promoted standby accepting writes", writable, timeout, self.log)
        return time.monotonic() - start

    async def pause_replay(self, timeout: float = 10.0) -> None:
        """Stop applying WAL (it is still received): new commits on the primary stay
        invisible here until :meth:`resume_replay`. Returns once replay is paused."""
        url = self.url("ormer_faults_admin")
        await _rows(url, "SELECT pg_wal_replay_pause()")

        async def paused() -> bool:
            ((state,),) = await _rows(url, "SELECT pg_get_wal_replay_pause_state()")
            return bool(state == "paused")

        await _poll("WAL replay paused", paused, timeout, self.log)

    async def resume_replay(self) -> None:
        """Apply WAL again (what arrived meanwhile is replayed at once)."""
        await _rows(self.url("ormer_faults_admin"), "SELECT pg_wal_replay_resume()")

    async def wait_caught_up(self, primary: PrivatePostgres, timeout: float = 15.0) -> float:
        """Wait until this standby has replayed the primary's WAL up to its current
        position (so every commit made before the call is visible here); the seconds."""
        ((lsn,),) = await _rows(
            primary.url("ormer_faults_admin"), "SELECT pg_current_wal_lsn()::text"
        )

        async def replayed() -> bool:
            ((ok,),) = await _rows(
                self.url("ormer_faults_admin"),
                f"SELECT coalesce(pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn, false)",
            )
            return bool(ok)

        return await _poll(f"standby replayed up to {lsn}", replayed, timeout, self.log)


@dataclass
class PgCluster:
    """A primary and its standbys (the members are ordinary :class:`PrivatePostgres`)."""

    primary: PrivatePostgres
    standbys: list[PgStandby]
    #: seconds from the first initdb until every standby accepted logins
    setup_seconds: float = 0.0

    @property
    def members(self) -> list[PrivatePostgres]:
        return [self.primary, *self.standbys]

    async def wait_caught_up(self, timeout: float = 15.0) -> None:
        """Every standby has replayed what the primary committed so far."""
        await asyncio.gather(*(s.wait_caught_up(self.primary, timeout) for s in self.standbys))

    def teardown(self) -> None:
        """Stop every member (standbys first) and remove their files."""
        for member in [*self.standbys, self.primary]:
            member.teardown()


async def start_pg_cluster(standbys: int = 2, settings: dict[str, str] | None = None) -> PgCluster:
    """A primary (``test`` database created) with ``standbys`` hot standbys streaming
    from it, each on its own port; ``settings`` go over :data:`PG_REPLICATION_SETTINGS`."""
    start = time.monotonic()
    merged = {**PG_REPLICATION_SETTINGS, **(settings or {})}
    primary = PrivatePostgres(merged, name="pgprimary")
    made: list[PgStandby] = []
    try:
        await start_postgres(primary)
        made = [PgStandby(merged) for _ in range(standbys)]
        await asyncio.gather(*(s.clone(primary) for s in made))
        for s in made:
            s._spawn()
        await asyncio.gather(*(s.wait_ready() for s in made))
    except BaseException:
        for s in made:
            s.teardown()
        primary.teardown()
        raise
    return PgCluster(primary, made, time.monotonic() - start)


# -- PgBouncer --------------------------------------------------------------------------------
def _pgbouncer_binary() -> str | None:
    found = shutil.which(PGBOUNCER)
    if found is None and os.path.sep not in PGBOUNCER:
        found = shutil.which(PGBOUNCER, path="/usr/sbin:/usr/local/sbin")
    return found


class PgBouncer(PrivateServer):
    """A ``pgbouncer`` in front of one or more private clusters.

    Database ``test`` goes to ``servers[0]``'s ``test`` database, ``test<i>`` to
    ``servers[i]``'s (all as ``postgres``). Authentication is ``trust`` (the user must
    still be listed in the auth file: ``postgres`` with no password); ``postgres`` is
    also the admin console's user (``SHOW POOLS``, ``RELOAD``: see :meth:`admin`).
    Asyncpg prepares statements: through a ``transaction`` pool use
    :meth:`url`'s default ``statement_cache_size=0`` (unnamed statements only).
    """

    name = "pgbouncer"

    def __init__(
        self,
        servers: Sequence[PrivatePostgres],
        pool_mode: str = "transaction",
        pool_size: int = 3,
        settings: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.servers = list(servers)
        self.pool_mode = pool_mode
        self.pool_size = pool_size
        self.settings = dict(settings or {})
        self.ini = self.root / "pgbouncer.ini"
        self.userlist = self.root / "userlist.txt"
        #: seconds from the start until the admin console answered
        self.setup_seconds = 0.0

    def _popen_user(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def _stop_signal(self) -> int:
        return signal.SIGTERM  # immediate shutdown (SIGINT would wait for the clients)

    def _crash_signal(self) -> int:
        return signal.SIGKILL

    def write_config(self) -> None:
        """(Re)write pgbouncer.ini and the auth file from :attr:`servers` and the settings."""
        databases = [
            f"test{'' if i == 0 else i} = host=127.0.0.1 port={s.port} dbname=test user=postgres"
            for i, s in enumerate(self.servers)
        ]
        settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",  # no socket: TCP only
            "auth_type": "trust",
            "auth_file": str(self.userlist),
            "admin_users": "postgres",
            "stats_users": "postgres",
            "pool_mode": self.pool_mode,
            "default_pool_size": str(self.pool_size),
            "min_pool_size": "0",
            "reserve_pool_size": "0",
            "max_client_conn": "500",
            # psycopg/JDBC send extra_float_digits; asyncpg sends none of these. Not
            # search_path: pgbouncer would drop it silently (the client's schema lost)
            "ignore_startup_parameters": "extra_float_digits",
            # a failed server login is retried after 1 s, not 15 (failover tests)
            "server_login_retry": "1",
            "server_connect_timeout": "5",
            "server_check_delay": "1",
            "log_connections": "0",
            "log_disconnections": "0",
            **self.settings,
        }
        text = "[databases]\n" + "\n".join(databases) + "\n\n[pgbouncer]\n"
        text += "".join(f"{k} = {v}\n" for k, v in settings.items())
        self.ini.write_text(text)
        self.userlist.write_text('"postgres" ""\n')

    def _argv(self) -> list[str]:
        binary = _pgbouncer_binary()
        assert binary is not None
        return [binary, str(self.ini)]

    def url(
        self, database: str = "test", application_name: str = "ormer_faults", **params: object
    ) -> str:
        """A URL through the bouncer (``statement_cache_size=0`` unless given)."""
        query = {"application_name": application_name, "statement_cache_size": 0, **params}
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?{q}"

    async def admin(self, command: str) -> list[dict[str, str]]:
        """A command on the admin console (``SHOW POOLS``, ``RELOAD``...), its rows as
        dicts. Through ``psql``: the console speaks the simple query protocol only."""
        proc = await asyncio.create_subprocess_exec(
            str(PG_BIN / "psql"),
            *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "pgbouncer"),
            *("--csv", "-X", "-w", "-c", command),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 10)
        if proc.returncode != 0:
            raise RuntimeError(f"pgbouncer {command!r}: {err.decode(errors='replace')}")
        return list(csv.DictReader(io.StringIO(out.decode())))

    async def pools(self, database: str = "test") -> list[dict[str, str]]:
        """``SHOW POOLS`` rows of ``database``."""
        return [r for r in await self.admin("SHOW POOLS") if r["database"] == database]

    async def server_connections(self, database: str = "test") -> int:
        """How many server connections pgbouncer holds for ``database`` (``SHOW SERVERS``)."""
        return sum(1 for r in await self.admin("SHOW SERVERS") if r["database"] == database)

    async def retarget(self, servers: Sequence[PrivatePostgres]) -> None:
        """Point the databases at other clusters (a promoted standby, say): rewrite the
        configuration and ``RELOAD``."""
        self.servers = list(servers)
        self.write_config()
        await self.admin("RELOAD")

    async def _ready(self) -> bool:
        await self.admin("SHOW VERSION")
        return True


async def start_pgbouncer(
    servers: PrivatePostgres | Sequence[PrivatePostgres],
    pool_mode: str = "transaction",
    pool_size: int = 3,
    settings: dict[str, str] | None = None,
) -> PgBouncer:
    """A started :class:`PgBouncer` in front of ``servers``."""
    if _pgbouncer_binary() is None:
        raise ServerStartError("pgbouncer not found (Debian package pgbouncer)")
    if isinstance(servers, PrivatePostgres):
        servers = [servers]
    bouncer = PgBouncer(servers, pool_mode, pool_size, settings)
    try:
        bouncer.write_config()
        bouncer.setup_seconds = await bouncer.start()
    except BaseException:
        bouncer.teardown()
        raise
    return bouncer


# -- MariaDB primary/replica -------------------------------------------------------------------
class MariaReplica(PrivateMariaDB):
    """A read-only MariaDB replicating (GTID) from a primary."""

    name = "mariareplica"

    async def _admin(self, sql: str) -> list[tuple[Any, ...]]:
        return await _rows(self.url("admin"), sql)

    async def replicate_from(self, primary: PrivateMariaDB) -> None:
        """Replicate from ``primary``, starting at its current GTID position (what it
        holds already, accounts and ``test`` database included, exists here too)."""
        await _rows(
            primary.url("admin"),
            f"CREATE USER IF NOT EXISTS 'repl'@'127.0.0.1' IDENTIFIED BY '{MARIADB_REPL_PASSWORD}'",
        )
        await _rows(primary.url("admin"), "GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'")
        ((pos,),) = await _rows(primary.url("admin"), "SELECT @@GLOBAL.gtid_binlog_pos")
        await self._admin("STOP SLAVE")
        await self._admin(f"SET GLOBAL gtid_slave_pos = '{pos}'")
        await self._admin(
            f"CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={primary.port},"
            f" MASTER_USER='repl', MASTER_PASSWORD='{MARIADB_REPL_PASSWORD}',"
            " MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1"
        )
        await self._admin("START SLAVE")

        async def running() -> bool:
            status = await self.slave_status()
            if status.get("Last_IO_Error") or status.get("Last_SQL_Error"):
                raise ServerStartError(f"replication failed: {status}")
            return status.get("Slave_IO_Running") == "Yes" and (
                status.get("Slave_SQL_Running") == "Yes"
            )

        try:
            await _poll("replica threads running", running, 30, self.log)
        except TimeoutError as exc:
            raise ServerStartError(str(exc)) from None

    async def slave_status(self) -> dict[str, str | None]:
        """``SHOW SLAVE STATUS`` as a dict (``None`` for NULL; empty when not a replica).
        Through the ``mariadb`` client: its column names are wanted, not just values."""
        proc = await asyncio.create_subprocess_exec(
            MARIADB_CLIENT,
            "--no-defaults",
            f"--socket={self.socket}",
            "-uroot",
            "--batch",
            "-e",
            "SHOW SLAVE STATUS",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 10)
        if proc.returncode != 0:
            raise RuntimeError(f"SHOW SLAVE STATUS: {err.decode(errors='replace')}")
        lines = out.decode().splitlines()
        if len(lines) < 2:
            return {}
        # --batch escapes tabs and newlines inside values, so a split at tabs is exact
        return {
            k: (None if v == "NULL" else v)
            for k, v in zip(lines[0].split("\t"), lines[1].split("\t"), strict=True)
        }

    async def stop_sql_thread(self) -> None:
        """``STOP SLAVE SQL_THREAD``: events still arrive, none is applied (and
        ``Seconds_Behind_Master`` is NULL) until :meth:`start_sql_thread`."""
        await self._admin("STOP SLAVE SQL_THREAD")

    async def start_sql_thread(self) -> None:
        """``START SLAVE SQL_THREAD``: apply what arrived meanwhile."""
        await self._admin("START SLAVE SQL_THREAD")

    async def wait_caught_up(self, primary: PrivateMariaDB, timeout: float = 15.0) -> float:
        """Wait until every transaction the primary has binlogged so far is applied
        here (``MASTER_GTID_WAIT``); the seconds it took."""
        start = time.monotonic()
        ((pos,),) = await _rows(primary.url("admin"), "SELECT @@GLOBAL.gtid_binlog_pos")
        ((res,),) = await _rows(
            self.url("admin"), f"SELECT MASTER_GTID_WAIT('{pos}', {timeout})", timeout + 5
        )
        if int(res) != 0:
            raise TimeoutError(
                f"replica not at {pos} after {timeout}s: {await self.slave_status()}"
            )
        return time.monotonic() - start


@dataclass
class MariaPair:
    """A MariaDB primary (binary log, GTID, ROW format) and a read-only replica."""

    primary: PrivateMariaDB
    replica: MariaReplica
    setup_seconds: float = 0.0

    @property
    def members(self) -> list[PrivateMariaDB]:
        return [self.primary, self.replica]

    def teardown(self) -> None:
        """Stop both servers (replica first) and remove their files."""
        for member in (self.replica, self.primary):
            member.teardown()


async def start_mariadb_pair() -> MariaPair:
    """A primary (``--log-bin --server-id=1 --binlog-format=ROW``) and a replica
    (``--server-id=2 --read-only``) replicating from it; both with the ``admin``/``app``
    accounts and the ``test`` database, each made by its own install (so nothing needs
    replicating before the replica starts at the primary's position)."""
    start = time.monotonic()
    primary = PrivateMariaDB(
        ["--log-bin", "--server-id=1", "--binlog-format=ROW"], name="mariaprimary"
    )
    replica = MariaReplica(["--server-id=2", "--read-only", "--relay-log=relay-bin"])
    try:
        results = await asyncio.gather(
            start_mariadb(primary), start_mariadb(replica), return_exceptions=True
        )
        for r in results:
            if isinstance(r, BaseException):
                raise r
        await replica.replicate_from(primary)
    except BaseException:
        replica.teardown()
        primary.teardown()
        raise
    return MariaPair(primary, replica, time.monotonic() - start)

"""Private database servers and a TCP proxy, owned by the fault tests.

The fault tests restart, kill, stall (SIGSTOP) and cut off their servers, so
they never use the shared services (5432/3306): each session starts, from the
Debian packages already installed, a PostgreSQL 15 cluster (``initdb`` +
``postgres`` from ``/usr/lib/postgresql/15/bin``) and a ``mariadbd`` (after
``mariadb-install-db``), each in a temporary directory, on a free loopback port,
with real accounts (no ``--skip-grant-tables``). As root the servers run as the
``postgres`` and ``mysql`` users (``Popen(user=...)`` for PostgreSQL, which
refuses root; ``--user=mysql`` for MariaDB, which drops privileges itself).

Every server process is started in a session of its own, so the signals the
tests send (SIGSTOP/SIGCONT to stall the server and its backends, SIGINT for a
fast restart, SIGKILL at teardown) go to that process group only: the pids
this module started and their children, nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ormer import Database

PG_BIN = Path(os.environ.get("ORMER_FAULTS_PG_BIN", "/usr/lib/postgresql/15/bin"))
MARIADBD = os.environ.get("ORMER_FAULTS_MARIADBD", "mariadbd")
MARIADB_INSTALL_DB = os.environ.get("ORMER_FAULTS_MARIADB_INSTALL_DB", "mariadb-install-db")
MARIADB_CLIENT = os.environ.get("ORMER_FAULTS_MARIADB_CLIENT", "mariadb")

#: passwords of the private MariaDB accounts (throwaway servers on loopback)
MARIADB_ADMIN_PASSWORD = "fault-admin-pw"
MARIADB_APP_PASSWORD = "fault-app-pw"
#: the PostgreSQL cluster's connection limit (small: the exhaustion test fills it)
PG_MAX_CONNECTIONS = 30
#: MariaDB's packet limit (small: the 1153 test sends a larger one)
MARIADB_MAX_PACKET = 1024 * 1024


class ServerStartError(RuntimeError):
    """A private server could not be started (the message says why, with its log)."""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


PREFIX = "ormer-faults-"


def sweep_orphans() -> list[str]:
    """Stop the servers of fault sessions that died without tearing down (killed by
    SIGKILL, say): a directory ``ormer-faults-<name>-<pid>-*`` whose pid is gone. Only
    processes whose command line names that directory are killed. Returns what went."""
    swept = []
    tmp = Path(tempfile.gettempdir())
    for d in tmp.glob(f"{PREFIX}*"):
        parts = d.name[len(PREFIX) :].split("-")
        if len(parts) < 3 or not parts[1].isdigit() or Path(f"/proc/{parts[1]}").exists():
            continue
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if str(d).encode() in cmdline:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry), signal.SIGCONT)
                    os.kill(int(entry), signal.SIGKILL)
        shutil.rmtree(d, ignore_errors=True)
        swept.append(str(d))
    return swept


def _descendants(root: int) -> list[int]:
    """The pids descending from ``root`` (from /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rpartition(")")[2].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _running_threads(pids: list[int]) -> list[str]:
    """The threads of ``pids`` not yet stopped (``/proc/PID/task/TID/stat`` state)."""
    running = []
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue  # gone
        for tid in tids:
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            if stat.rpartition(")")[2].split()[0] not in ("T", "t", "Z", "X"):
                running.append(f"{pid}/{tid}")
    return running


def _wait_stopped(pids: list[int], timeout: float = 10.0) -> None:
    """Return once every thread of ``pids`` is stopped. kill() returns before that: the
    kernel wakes one thread, which stops the others when it runs; on a busy machine a
    thread of a many-threaded server (mariadbd) can answer a query in between."""
    deadline = time.monotonic() + timeout
    while running := _running_threads(pids):
        if time.monotonic() > deadline:
            raise AssertionError(f"threads still running {timeout}s after SIGSTOP: {running}")
        time.sleep(0.001)


class PrivateServer:
    """A server process of our own: start, stop, restart, stall (SIGSTOP), resume."""

    name = "server"

    def __init__(self, name: str | None = None) -> None:
        if name is not None:
            assert "-" not in name, "sweep_orphans parses the directory name at its dashes"
            self.name = name
        self.root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{self.name}-{os.getpid()}-"))
        os.chmod(self.root, 0o755)
        self.port = free_port()
        self.log = self.root / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = False  # SIGSTOPped

    # -- to be provided -------------------------------------------------------------------
    def _argv(self) -> list[str]:
        raise NotImplementedError

    def _popen_user(self) -> str | None:
        return None

    async def _ready(self) -> bool:
        raise NotImplementedError

    def _stop_signal(self) -> int:
        return signal.SIGTERM

    # -- life cycle -------------------------------------------------------------------------
    def _spawn(self) -> None:
        logf = open(self.log, "ab")  # noqa: SIM115 (handed to the child)
        try:
            user = self._popen_user()
            self.proc = subprocess.Popen(
                self._argv(),
                stdin=subprocess.DEVNULL,
                stdout=logf,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: signals reach only it
                user=user,
                group=None if user is None else pwd.getpwnam(user).pw_gid,
                cwd=self.root,
            )
        finally:
            logf.close()

    async def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait until the server accepts logins; the seconds it took."""
        start = time.monotonic()
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerStartError(
                    f"{self.name} exited with {self.proc.returncode}:\n{_tail(self.log)}"
                )
            with contextlib.suppress(Exception):
                if await self._ready():
                    return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise ServerStartError(
                    f"{self.name} not ready after {timeout}s:\n{_tail(self.log)}"
                )
            await asyncio.sleep(0.05)

    async def start(self) -> float:
        """Start the server process; the seconds until it accepts logins."""
        self._spawn()
        return await self.wait_ready()

    def _crash_signal(self) -> int:
        return signal.SIGKILL

    async def stop(self, timeout: float = 30.0, crash: bool = False) -> None:
        """A clean (fast) shutdown: sessions are ended, the process exits; or with
        ``crash``, an abrupt end (no shutdown; crash recovery at the next start)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        self.resume()
        proc.send_signal(self._crash_signal() if crash else self._stop_signal())
        deadline = time.monotonic() + timeout
        while proc.poll() is None:
            if time.monotonic() > deadline:
                self._kill_group(proc)
                break
            await asyncio.sleep(0.05)

    async def restart(self, down_for: float = 0.0, crash: bool = False) -> float:
        """Stop (or crash), stay down ``down_for`` seconds, start again on the same port
        and data; the seconds from the new start until it accepts logins."""
        await self.stop(crash=crash)
        await asyncio.sleep(down_for)
        return await self.start()

    def pause(self) -> None:
        """SIGSTOP the server and every descendant of it (PostgreSQL's backends put
        themselves in sessions of their own: the process group is not enough)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGSTOP)  # first: no new child after the scan
        self.stopped = True
        pids = [self.proc.pid, *_descendants(self.proc.pid)]
        for pid in pids[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        _wait_stopped(pids)

    def resume(self) -> None:
        """SIGCONT what :meth:`pause` stopped."""
        if self.stopped and self.proc is not None and self.proc.poll() is None:
            for pid in _descendants(self.proc.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            os.killpg(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        for pid in [*_descendants(proc.pid), proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)

    def teardown(self) -> None:
        """Stop the server (killing only its own process group if it must), remove its files."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            self.resume()
            proc.send_signal(self._stop_signal())
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                self._kill_group(proc)
        # children that outlived the server process (PostgreSQL backends of a
        # postmaster that was killed): the process group and its descendants
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivatePostgres(PrivateServer):
    """A PostgreSQL 15 cluster in a temporary directory (trust auth, loopback only)."""

    name = "postgres"

    def __init__(self, settings: dict[str, str] | None = None, name: str | None = None) -> None:
        super().__init__(name)
        self.data = self.root / "data"
        self.sockets = self.root / "run"
        #: server settings (``-c``) over the defaults below (replication, connection limit)
        self.settings = dict(settings or {})

    def _popen_user(self) -> str | None:
        return "postgres" if os.geteuid() == 0 else None

    def url(self, application_name: str = "ormer_faults", **params: object) -> str:
        """The URL of the cluster's ``test`` database as the superuser ``postgres``."""
        query = "&".join(
            f"{k}={v}" for k, v in {"application_name": application_name, **params}.items()
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/test?{query}"

    def init(self) -> None:
        """initdb (as the ``postgres`` user when we are root)."""
        initdb = PG_BIN / "initdb"
        if not initdb.exists():
            raise ServerStartError(f"{initdb} not found (Debian package postgresql-15)")
        for d in (self.data, self.sockets):
            d.mkdir()
            user = self._popen_user()
            if user is not None:
                pw = pwd.getpwnam(user)
                os.chown(d, pw.pw_uid, pw.pw_gid)
        user = self._popen_user()
        done = subprocess.run(
            [
                str(initdb),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            capture_output=True,
            user=user,
            group=None if user is None else pwd.getpwnam(user).pw_gid,
            cwd=self.root,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ServerStartError(f"initdb failed: {done.stderr.decode(errors='replace')}")

    def _argv(self) -> list[str]:
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.sockets),
            "max_connections": str(PG_MAX_CONNECTIONS),
            "superuser_reserved_connections": "0",
            "fsync": "off",
            # on: a commit is acknowledged once its WAL is written (to the OS, fsync being
            # off), so acknowledged rows survive a crash of the server process
            "synchronous_commit": "on",
            "full_page_writes": "off",
            "shared_buffers": "32MB",
            "log_min_messages": "warning",
            **self.settings,
        }
        argv = [str(PG_BIN / "postgres"), "-D", str(self.data)]
        for k, v in settings.items():
            argv += ["-c", f"{k}={v}"]
        return argv

    def _stop_signal(self) -> int:
        return signal.SIGINT  # fast shutdown: sessions are terminated (57P01)

    def _crash_signal(self) -> int:
        # immediate shutdown: every process quits at once, no checkpoint (SIGKILL of the
        # postmaster would leave backends holding its shared memory)
        return signal.SIGQUIT

    async def _ready(self) -> bool:
        async with await Database.connect(self.url("ormer_faults_probe"), connect_timeout=1) as db:
            await db.exec_rows("SELECT 1")
        return True

    async def wait_ready_db(self, timeout: float = 60.0) -> None:
        """Wait for the first start to accept logins, then create the ``test`` database."""
        start = time.monotonic()
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise ServerStartError(f"postgres exited:\n{_tail(self.log)}")
            try:
                await self.create_database()
                return
            except Exception:
                if time.monotonic() - start > timeout:
                    raise ServerStartError(
                        f"postgres not ready after {timeout}s:\n{_tail(self.log)}"
                    ) from None
                await asyncio.sleep(0.1)

    async def create_database(self) -> None:
        url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        async with await Database.connect(url, connect_timeout=5) as db:
            await db.exec_non_query("CREATE DATABASE test")


class PrivateMariaDB(PrivateServer):
    """A mariadbd with a data directory of its own; accounts ``admin`` (all privileges)
    and ``app`` (the ``test`` database only), both with passwords, from 127.0.0.1."""

    name = "mariadb"

    def __init__(self, extra_args: list[str] | None = None, name: str | None = None) -> None:
        super().__init__(name)
        #: mariadbd options after the defaults (binary log, server id, read-only)
        self.extra_args = list(extra_args or [])
        self.data = self.root / "data"
        self.run = self.root / "run"  # socket and pid file: writable by the server's user
        self.socket = self.run / "mysqld.sock"

    def url(self, user: str = "app") -> str:
        password = MARIADB_ADMIN_PASSWORD if user == "admin" else MARIADB_APP_PASSWORD
        return f"mysql://{user}:{password}@127.0.0.1:{self.port}/test"

    def _as_root_args(self) -> list[str]:
        return ["--user=mysql"] if os.geteuid() == 0 else []

    def init(self) -> None:
        """mariadb-install-db, then the accounts through a socket-only server."""
        if shutil.which(MARIADBD) is None or shutil.which(MARIADB_INSTALL_DB) is None:
            raise ServerStartError(
                "mariadbd / mariadb-install-db not found (Debian mariadb-server)"
            )
        self.data.mkdir()
        self.run.mkdir()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("mysql")
            os.chown(self.run, pw.pw_uid, pw.pw_gid)
        done = subprocess.run(
            [
                MARIADB_INSTALL_DB,
                "--no-defaults",
                *self._as_root_args(),
                f"--datadir={self.data}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                f"--tmpdir={self.run}",
            ],
            capture_output=True,
            cwd=self.root,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise ServerStartError(
                f"mariadb-install-db failed: {done.stdout.decode(errors='replace')}"
                f"{done.stderr.decode(errors='replace')}"
            )

    def _argv(self) -> list[str]:
        return [
            MARIADBD,
            "--no-defaults",
            *self._as_root_args(),
            f"--datadir={self.data}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.socket}",
            f"--pid-file={self.run / 'mysqld.pid'}",
            # a private tmpdir: a starting mariadbd deletes every #sql* file of its tmpdir,
            # the temporary tables of any other mariadbd bootstrapping there at that moment
            f"--tmpdir={self.run}",
            "--skip-name-resolve",
            "--innodb-buffer-pool-size=32M",
            "--innodb-log-file-size=16M",
            "--innodb-flush-log-at-trx-commit=2",
            "--skip-innodb-doublewrite",
            "--max-connections=100",
            f"--max-allowed-packet={MARIADB_MAX_PACKET}",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            *self.extra_args,
        ]

    def accounts(self) -> None:
        """Create ``admin`` and ``app`` (with passwords) and the ``test`` database."""
        sql = f"""
            DELETE FROM mysql.global_priv
                WHERE User = '' OR (User = 'root' AND Host <> 'localhost');
            FLUSH PRIVILEGES;
            CREATE DATABASE test CHARACTER SET utf8mb4;
            CREATE USER 'admin'@'127.0.0.1' IDENTIFIED BY '{MARIADB_ADMIN_PASSWORD}';
            GRANT ALL ON *.* TO 'admin'@'127.0.0.1' WITH GRANT OPTION;
            CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '{MARIADB_APP_PASSWORD}';
            GRANT ALL ON test.* TO 'app'@'127.0.0.1';
        """
        done = subprocess.run(
            [MARIADB_CLIENT, "--no-defaults", f"--socket={self.socket}", "-uroot"],
            input=sql.encode(),
            capture_output=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise ServerStartError(f"account setup failed: {done.stderr.decode(errors='replace')}")

    async def _ready(self) -> bool:
        if not self.socket.exists():
            return False
        async with await Database.connect(self.url("admin"), connect_timeout=1) as db:
            await db.exec_rows("SELECT 1")
        return True

    async def _ready_socket(self) -> bool:
        done = await asyncio.create_subprocess_exec(
            MARIADB_CLIENT,
            "--no-defaults",
            f"--socket={self.socket}",
            "-uroot",
            "-e",
            "SELECT 1",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await done.wait() == 0


async def start_postgres(server: PrivatePostgres | None = None) -> PrivatePostgres:
    """initdb, start, create the ``test`` database (of ``server``, a new one by default)."""
    server = PrivatePostgres() if server is None else server
    try:
        await asyncio.to_thread(server.init)  # off the loop: members start side by side
        server._spawn()
        await server.wait_ready_db()
        return server
    except BaseException:
        server.teardown()
        raise


async def start_mariadb(server: PrivateMariaDB | None = None) -> PrivateMariaDB:
    """mariadb-install-db, start, create the accounts (of ``server``, a new one by default)."""
    server = PrivateMariaDB() if server is None else server
    try:
        await asyncio.to_thread(server.init)  # off the loop: members start side by side
        server._spawn()
        start = time.monotonic()
        while not await server._ready_socket():
            if server.proc is not None and server.proc.poll() is not None:
                raise ServerStartError(f"mariadbd exited:\n{_tail(server.log)}")
            if time.monotonic() - start > 60:
                raise ServerStartError(f"mariadbd not ready after 60s:\n{_tail(server.log)}")
            await asyncio.sleep(0.1)
        await asyncio.to_thread(server.accounts)
        await server.wait_ready()
        return server
    except BaseException:
        server.teardown()
        raise

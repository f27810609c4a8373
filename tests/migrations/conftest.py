"""Temp projects for the ``ormer migrations`` tests: a folder with a models module,
a migrations folder and a database of its own (a file for SQLite and Turso, a
database created for the test, dropped after, on the PostgreSQL and MariaDB
servers), and ``project.cli(...)`` running ``python -m ormer migrations ...`` in it.
"""

from __future__ import annotations

import asyncio
import gc
import os
import secrets
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

import ormer
from ormer import Connection, Database
from ormer.testing.servers import server_url

BACKENDS = ["sqlite", "turso", "postgres", "mysql"]


def _package_roots() -> list[str]:
    """The folders the parent imports ormer and its backends from (a subprocess then
    runs the same code, also from a worktree on PYTHONPATH)."""
    roots = [str(Path(ormer.__file__).parents[1])]
    for name in ("ormer_sqlite", "ormer_turso", "ormer_postgres", "ormer_mysql"):
        try:
            module = __import__(name)
        except ImportError:  # pragma: no cover - a backend not installed
            continue
        roots.append(str(Path(module.__file__ or "").parents[1]))
    return roots


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def _admin(url: str, sql: str) -> None:
    async with await Database.connect(url) as admin:
        await admin.exec_non_query(sql)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Project:
    """A temp project: ``root`` (cwd of the CLI), ``url`` (its database)."""

    root: Path
    url: str
    backend: str
    env: dict[str, str]

    @property
    def migrations(self) -> Path:
        return self.root / "migrations"

    def write_models(self, source: str, name: str = "models") -> None:
        path = self.root / f"{name}.py"
        path.write_text(
            "from ormer import Model, field, foreign_key, index, primary, unique\n" + source
        )
        # a new mtime-independent bytecode: never reuse a cached models.pyc
        for pyc in (self.root / "__pycache__").glob(f"{name}.*.pyc"):
            pyc.unlink()

    def write_migration(self, filename: str, source: str) -> Path:
        self.migrations.mkdir(exist_ok=True)
        path = self.migrations / filename
        path.write_text(textwrap.dedent(source))
        return path

    def files(self) -> list[Path]:
        return sorted(self.migrations.glob("*.py"), key=lambda p: p.stat().st_mtime_ns)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "ormer", "migrations", *args],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def cli(self, *args: str) -> Result:
        proc = self.popen(*args)
        out, err = proc.communicate(timeout=60)
        return Result(proc.returncode, out, err)

    def ok(self, *args: str) -> str:
        result = self.cli(*args)
        assert result.code == 0, f"ormer migrations {' '.join(args)}: {result.err}{result.out}"
        assert result.err == ""
        return result.out

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` read back through a connection of the test's own."""

        async def run() -> list[tuple[Any, ...]]:
            async with await Database.connect(self.url) as conn:
                return await conn.exec_rows(sql)

        try:
            return asyncio.run(run())
        finally:
            gc.collect()  # pyturso holds its file lock until the closed connection is collected

    def columns(self, table: str) -> list[str]:
        """The table's columns as the database reports them (via a ``SELECT *``)."""

        async def run() -> list[str]:
            async with await Database.connect(self.url) as conn:
                return await _columns(conn, table)

        try:
            return asyncio.run(run())
        finally:
            gc.collect()

    def column_type(self, table: str, column: str) -> str:
        """A column's DDL type as the database's catalog reports it."""

        async def run() -> str:
            async with await Database.connect(self.url) as conn:
                live = await conn.dialect.inspect_table(conn, table)
                assert live is not None
                found = live.column(column)
                assert found is not None
                return found.type

        try:
            return asyncio.run(run())
        finally:
            gc.collect()


async def _columns(conn: Connection, table: str) -> list[str]:
    live = await conn.dialect.inspect_table(conn, table)
    return [] if live is None else [c.name for c in live.columns]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def project(backend: str, tmp_path: Path) -> Iterator[Project]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*_package_roots(), env.get("PYTHONPATH", "")])
    root = tmp_path / "proj"
    root.mkdir()
    if backend in ("sqlite", "turso"):
        url = f"{backend}:///{root / 'app.db'}"  # root is absolute: scheme:////tmp/...
        env["ORMER_URL"] = url
        yield Project(root, url, backend, env)
        return
    base = server_url(backend)  # skips without a server (fails under ORMER_TEST_REQUIRE)
    name = f"ormer_mig_{os.getpid()}_{secrets.token_hex(4)}"
    quoted = f'"{name}"' if backend == "postgres" else f"`{name}`"
    create = f"CREATE DATABASE {quoted}"
    if backend == "mysql":
        create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    asyncio.run(_admin(base, create))
    url = _with_database(base, name)
    env["ORMER_URL"] = url
    try:
        yield Project(root, url, backend, env)
    finally:
        asyncio.run(_admin(base, f"DROP DATABASE IF EXISTS {quoted}"))


@pytest.fixture
async def sqlite_conn(tmp_path: Path) -> AsyncIterator[Connection]:
    async with await Database.connect(f"sqlite:///{tmp_path / 'unit.db'}") as conn:
        yield conn

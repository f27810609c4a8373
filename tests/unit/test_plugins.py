"""The plugin seam (docs/plugins.md, docs/errors.md): entry points, hand-registered plugins, hooks.

The dialect plugin defined here (``DummyDialect`` and its recording driver) is
not a mock of a real driver: it is a third-party dialect written against the
public seam, to prove a plugin can add a database without touching core.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest

import ormer
import ormer.hookspecs
import ormer.plugins
from ormer import (
    ConfigurationError,
    Database,
    DbType,
    DialectNotFoundError,
    Model,
    OrmerError,
    QueryError,
    primary,
)
from ormer.dialect import URL, Dialect, DriverConnection, parse_url
from ormer.hookspecs import hookimpl
from ormer.model import table_of


# --- a dialect plugin written against the public seam -----
class RecordingDriver:
    """A tiny in-memory "database": records every statement, returns canned rows."""

    def __init__(self, url: URL, options: dict[str, Any]) -> None:
        self.url = url
        self.options = options
        self.statements: list[tuple[str, list[Any]]] = []
        self.rows: list[tuple[Any, ...]] = []
        self.closed = False

    def _record(self, sql: str, params: Sequence[Any]) -> None:
        self.statements.append((sql, list(params)))
        if "FAIL" in sql:
            raise RuntimeError("the dummy database refuses this statement")

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        self._record(sql, params)
        return list(self.rows)

    async def fetch_described(
        self, sql: str, params: Sequence[Any]
    ) -> tuple[list[str], list[Sequence[Any]]]:
        self._record(sql, params)
        return ["id", "name"], list(self.rows)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        self._record(sql, params)
        return 3

    async def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        for row in rows:
            self._record(sql, row)
        return len(rows)

    async def insert_lastrowid(self, sql: str, params: Sequence[Any]) -> int:
        self._record(sql, params)
        return 1

    async def stream(
        self, sql: str, params: Sequence[Any], batch: int
    ) -> AsyncIterator[list[Sequence[Any]]]:
        self._record(sql, params)
        yield list(self.rows)

    async def ping(self) -> None:
        pass

    async def reset(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True

    @property
    def is_closed(self) -> bool:
        return self.closed

    def translate_error(self, exc: BaseException) -> OrmerError:
        return QueryError(f"dummy: {exc}")


class DummyDialect(Dialect):
    name = "dummy"
    supports_returning = False

    async def connect(self, url: URL, options: dict[str, Any]) -> DriverConnection:
        return RecordingDriver(url, options)


class DummyPlugin:
    @hookimpl
    def ormer_register_dialects(self, registry: ormer.plugins.DialectRegistry) -> None:
        registry.add("dummy", schemes=("dummy", "dummy2"), target=DummyDialect)


class Gadget(Model, table="gadgets"):
    id: int = primary()
    name: str


@pytest.fixture
def dummy() -> Iterator[str]:
    name = ormer.plugins.register(DummyPlugin())
    try:
        yield name
    finally:
        ormer.plugins.unregister(name)


#: entry-point names of the server backends: tests about a backend that is not
#: installed hide these when they are (the workspace installs every package)
SERVER_BACKENDS = ("postgresql", "mysql")


@pytest.fixture
def without_server_backends() -> Iterator[None]:
    """Unregister the installed server-backend plugins for one test, then restore them."""
    pm = ormer.plugins.manager()
    hidden = [(n, pm.get_plugin(n)) for n in SERVER_BACKENDS if pm.get_plugin(n) is not None]
    for name, _ in hidden:
        ormer.plugins.unregister(name)
    try:
        yield
    finally:
        for name, plugin in hidden:
            ormer.plugins.register(plugin, name=name)


def run_python(code: str, **env: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    environ = {k: v for k, v in os.environ.items() if k != "ORMER_DISABLE_PLUGINS"}
    environ.update(env)
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# --- (a) entry points -----
def test_sqlite_plugin_comes_from_its_entry_point() -> None:
    pm = ormer.plugins.manager()
    plugin = pm.get_plugin("sqlite")
    assert plugin is not None
    assert plugin.__name__ == "ormer_sqlite.plugin"
    dists = {pm.get_name(p): dist.project_name for p, dist in pm.list_plugin_distinfo()}
    assert dists["sqlite"] == "ormer-sqlite"
    assert "sqlite" in ormer.plugins.registry().names()
    entry = ormer.plugins.registry().entry_for_scheme("sqlite3")
    assert entry.name == "sqlite"
    assert entry.target == "ormer_sqlite.dialect:SQLiteDialect"  # lazy "module:Class"


def test_manager_is_created_once() -> None:
    assert ormer.plugins.manager() is ormer.plugins.manager()


def test_no_driver_is_imported_until_a_dialect_is_used() -> None:
    result = run_python(
        """
        import asyncio, json, sys
        import ormer
        out = {"after_import": "ormer_sqlite" in sys.modules}
        import ormer.plugins
        out["names"] = "sqlite" in ormer.plugins.registry().names()
        out["plugin_loaded"] = "ormer_sqlite.plugin" in sys.modules
        out["driver_after_registry"] = "ormer_sqlite.driver" in sys.modules
        out["aiosqlite_after_registry"] = "aiosqlite" in sys.modules
        out["other_drivers_after_registry"] = sorted(
            m for m in ("asyncpg", "aiomysql", "ormer_postgres.driver", "ormer_mysql.driver")
            if m in sys.modules
        )
        ormer.plugins.get_dialect("sqlite")
        out["aiosqlite_after_dialect"] = "aiosqlite" in sys.modules

        async def main():
            db = await ormer.Database.connect(ormer.DbType.SQLITE, ":memory:")
            await db.close()

        asyncio.run(main())
        out["aiosqlite_after_connect"] = "aiosqlite" in sys.modules
        print(json.dumps(out))
        """
    )
    assert result == {
        "after_import": False,
        "names": True,
        "plugin_loaded": True,
        "driver_after_registry": False,
        "aiosqlite_after_registry": False,
        "other_drivers_after_registry": [],
        "aiosqlite_after_dialect": False,
        "aiosqlite_after_connect": True,
    }


# --- (b) a plugin registered by hand -----
async def test_registered_dialect_connects_and_runs(dummy: str) -> None:
    assert "dummy" in ormer.plugins.registry().names()
    assert "sqlite" in ormer.plugins.registry().names()  # entry points stay
    conn = await Database.connect("dummy://somehost:4242/db?opt=1", timeout=5)
    try:
        assert isinstance(conn.dialect, DummyDialect)
        driver = conn.driver
        assert isinstance(driver, RecordingDriver)
        assert (driver.url.host, driver.url.port, driver.url.database) == ("somehost", 4242, "db")
        assert driver.url.query == {"opt": "1"}
        assert driver.options == {"timeout": 5}
        driver.rows = [(1, "a"), (2, "b")]
        got = await conn.select(Gadget).filter(Gadget.name != "z").collect()
        assert got == [Gadget(id=1, name="a"), Gadget(id=2, name="b")]
        assert driver.statements[-1] == (
            'SELECT "gadgets"."id", "gadgets"."name" FROM "gadgets" WHERE "gadgets"."name" <> ?',
            ["z"],
        )
        assert await conn.update(Gadget).filter(Gadget.id == 1).set(Gadget.name, "c") == 3
        assert driver.statements[-1] == (
            'UPDATE "gadgets" SET "name" = ? WHERE "gadgets"."id" = ?',
            ["c", 1],
        )
    finally:
        await conn.close()
    assert driver.closed


async def test_registered_dialect_through_dbtype_and_name(dummy: str) -> None:
    member = DbType("dummy")
    assert member == "dummy"
    assert member.value == "dummy"
    assert DbType("DUMMY").value == "dummy"
    for conn in (
        await Database.connect(member, "dummy://a/b"),
        await Database.connect("dummy", "dummy://a/b"),
        await Database.connect("dummy2://a/b"),  # second URL scheme
    ):
        assert isinstance(conn.dialect, DummyDialect)
        assert conn.driver.url.database == "b"  # type: ignore[attr-defined]
        await conn.close()


async def test_unregistered_dialect_is_gone() -> None:
    name = ormer.plugins.register(DummyPlugin())
    try:
        conn = await Database.connect("dummy://x")
        await conn.close()
    finally:
        ormer.plugins.unregister(name)
    assert "dummy" not in ormer.plugins.registry().names()
    with pytest.raises(DialectNotFoundError, match="dummy"):
        await Database.connect("dummy://x")
    with pytest.raises(DialectNotFoundError):
        DbType("dummy")
    with pytest.raises(DialectNotFoundError):
        await Database.connect("dummy", "dummy://x")


def test_same_plugin_twice_is_a_configuration_error(dummy: str) -> None:
    plugin = ormer.plugins.manager().get_plugin(dummy)
    with pytest.raises(ConfigurationError, match="already registered"):
        ormer.plugins.register(plugin)
    with pytest.raises(ConfigurationError):
        ormer.plugins.register(DummyPlugin(), name="sqlite")
    assert "sqlite" in ormer.plugins.registry().names()


def test_lazy_target_that_cannot_be_imported() -> None:
    class Broken:
        @hookimpl
        def ormer_register_dialects(self, registry: ormer.plugins.DialectRegistry) -> None:
            registry.add(
                "brokendb", target="ormer_brokendb_missing.dialect:X", package="ormer-brokendb"
            )

    name = ormer.plugins.register(Broken())
    try:
        assert "brokendb" in ormer.plugins.registry().names()
        with pytest.raises(DialectNotFoundError, match="pip install ormer-brokendb"):
            ormer.plugins.get_dialect("brokendb")
    finally:
        ormer.plugins.unregister(name)


# --- (c) ORMER_DISABLE_PLUGINS -----
def test_disabled_plugin_is_not_loaded(tmp_path: Any) -> None:
    result = run_python(
        f"""
        import asyncio, json, sys
        import ormer, ormer.plugins

        async def main():
            try:
                await ormer.Database.connect("sqlite:///{tmp_path}/x.db")
            except ormer.DialectNotFoundError as exc:
                return str(exc)
            return None

        out = {{"message": asyncio.run(main())}}
        out["names"] = ormer.plugins.registry().names()
        out["plugin_loaded"] = "ormer_sqlite.plugin" in sys.modules
        import ormer_sqlite.plugin
        try:
            ormer.plugins.register(ormer_sqlite.plugin, name="sqlite")
        except ormer.ConfigurationError as exc:
            out["register"] = str(exc)
        print(json.dumps(out))
        """,
        ORMER_DISABLE_PLUGINS=f"sqlite, turso, {', '.join(SERVER_BACKENDS)}, other",
    )
    message = result["message"]
    assert message is not None
    assert "Installed dialects: none" in message
    assert "pip install ormer-sqlite" in message
    assert result["names"] == []
    assert result["plugin_loaded"] is False
    assert "blocked" in result["register"]
    assert not (tmp_path / "x.db").exists()


@pytest.mark.usefixtures("without_server_backends")
def test_not_found_message_names_installed_dialects(dummy: str) -> None:
    with pytest.raises(DialectNotFoundError) as info:
        ormer.plugins.get_dialect("postgres")
    message = str(info.value)
    assert "dummy (dummy/dummy2)" in message
    assert "sqlite (sqlite/sqlite3)" in message
    assert "pip install ormer-postgres" in message


# --- (d) unknown dialects and malformed URLs -----
async def test_unknown_scheme() -> None:
    with pytest.raises(DialectNotFoundError) as info:
        await Database.connect("nosuch://host/db")
    message = str(info.value)
    assert "'nosuch'" in message
    assert "sqlite" in message
    assert "pip install ormer-nosuch" in message


@pytest.mark.parametrize(
    ("url", "package"), [("mariadb://h/db", "mysql"), ("postgres://h/d", "postgres")]
)
@pytest.mark.usefixtures("without_server_backends")
async def test_uninstalled_first_party_scheme_names_its_package(url: str, package: str) -> None:
    with pytest.raises(DialectNotFoundError, match=f"pip install ormer-{package}"):
        await Database.connect(url)


@pytest.mark.usefixtures("without_server_backends")
async def test_uninstalled_dbtype_member() -> None:
    with pytest.raises(DialectNotFoundError, match="pip install ormer-postgres"):
        await Database.connect(DbType.POSTGRESQL, "postgresql://h/db")


def test_unknown_dbtype() -> None:
    with pytest.raises(DialectNotFoundError) as info:
        DbType("nosuch")
    assert "sqlite" in str(info.value)
    assert "pip install ormer-nosuch" in str(info.value)
    assert issubclass(DialectNotFoundError, ConfigurationError)
    with pytest.raises(ValueError):  # not a name at all
        DbType(42)  # type: ignore[arg-type]


async def test_malformed_urls() -> None:
    with pytest.raises(ConfigurationError, match="malformed") as info:
        await Database.connect("not a url")
    assert type(info.value) is ConfigurationError
    with pytest.raises(ConfigurationError, match="port") as info:
        parse_url("postgresql://host:notaport/db")
    assert type(info.value) is ConfigurationError
    with pytest.raises(ConfigurationError):
        await Database.connect(DbType.SQLITE)  # no target
    with pytest.raises(ConfigurationError):
        await Database.connect(DbType.SQLITE, "postgresql://h/db")  # wrong scheme for SQLite


@pytest.mark.usefixtures("without_server_backends")
async def test_malformed_port_through_a_registered_dialect(dummy: str) -> None:
    # with the dialect installed, the error is about the URL, not a missing dialect
    with pytest.raises(ConfigurationError, match="port") as info:
        await Database.connect("dummy://host:notaport/db")
    assert type(info.value) is ConfigurationError
    # Postgres is not installed here: the scheme fails first, still a ConfigurationError
    with pytest.raises(ConfigurationError):
        await Database.connect("postgresql://host:notaport/db")


def test_url_repr_hides_password() -> None:
    url = parse_url("postgresql://ann:s3cret@db.example:5433/app")
    assert (url.username, url.password, url.host, url.port) == ("ann", "s3cret", "db.example", 5433)
    assert "s3cret" not in repr(url)


# --- (e) ormer_model_defined -----
class ModelRecorder:
    def __init__(self) -> None:
        self.models: list[type] = []

    @hookimpl
    def ormer_model_defined(self, model: type) -> None:
        self.models.append(model)


def test_model_defined_fires_once_per_model() -> None:
    recorder = ModelRecorder()
    name = ormer.plugins.register(recorder)
    try:

        class Widget(Model):
            id: int = primary()

        class Sprocket(Model):
            id: int = primary()

        assert recorder.models.count(Widget) == 1
        assert recorder.models.count(Sprocket) == 1
        assert recorder.models.index(Widget) < recorder.models.index(Sprocket)
        assert table_of(Widget).name == "widget"  # table metadata is built before the hook
    finally:
        ormer.plugins.unregister(name)


def test_model_defined_is_historic() -> None:
    class EarlyBird(Model):
        id: int = primary()

    recorder = ModelRecorder()
    name = ormer.plugins.register(recorder)
    try:
        assert recorder.models.count(EarlyBird) == 1
        assert recorder.models.count(Gadget) == 1  # defined at import time of this module
    finally:
        ormer.plugins.unregister(name)

    class LateBird(Model):
        id: int = primary()

    assert LateBird not in recorder.models  # unregistered: no more calls


# --- (f) ormer_sql_type -----
class Person(Model, table="people"):
    id: int = primary()
    name: str
    nick: str | None


class CitextPlugin:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, Dialect]] = []

    @hookimpl
    def ormer_sql_type(self, py_type: Any, dialect: Dialect) -> str | None:
        self.calls.append((py_type, dialect))
        return "CITEXT" if py_type is str else None


class ShoutingPlugin:
    @hookimpl
    def ormer_sql_type(self, py_type: Any, dialect: Dialect) -> str | None:
        return "SHOUT" if py_type is str else None


def _ddl(dialect: Dialect) -> str:
    return dialect.compiler(dialect).create_table_sql(table_of(Person), False)[0]


def test_sql_type_hook_changes_ddl() -> None:
    plugin = CitextPlugin()
    name = ormer.plugins.register(plugin)
    try:
        sqlite = ormer.plugins.get_dialect("sqlite")
        assert _ddl(sqlite) == (
            'CREATE TABLE "people" (\n'
            '  "id" INTEGER NOT NULL,\n'
            '  "name" CITEXT NOT NULL,\n'
            '  "nick" CITEXT,\n'
            '  PRIMARY KEY ("id")\n'
            ")"
        )
        assert (int, sqlite) in plugin.calls  # asked for every column, with the dialect
        assert (str, sqlite) in plugin.calls
    finally:
        ormer.plugins.unregister(name)
    assert '"name" TEXT NOT NULL' in _ddl(ormer.plugins.get_dialect("sqlite"))


def test_sql_type_hook_is_firstresult() -> None:
    citext = CitextPlugin()
    first = ormer.plugins.register(citext)
    second = ormer.plugins.register(ShoutingPlugin())  # registered later: asked first
    try:
        ddl = _ddl(ormer.plugins.get_dialect("sqlite"))
        assert '"name" SHOUT NOT NULL' in ddl
        assert '"id" INTEGER NOT NULL' in ddl  # both return None for int
        assert all(py_type is not str for py_type, _ in citext.calls)  # stopped at SHOUT
    finally:
        ormer.plugins.unregister(second)
        ormer.plugins.unregister(first)


# --- (g) the pool / query hooks, and every hookspec -----
class StatementTracer:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    @hookimpl
    def ormer_connection_created(self, conn: Any) -> None:
        self.events.append(("created", conn))

    @hookimpl
    def ormer_before_execute(self, sql: str, params: Any, dialect: Dialect) -> None:
        self.events.append(("before", sql, list(params), dialect))

    @hookimpl
    def ormer_after_execute(
        self,
        sql: str,
        params: Any,
        dialect: Dialect,
        elapsed: float,
        rowcount: int,
        error: BaseException | None,
    ) -> None:
        self.events.append(("after", sql, list(params), dialect, elapsed, rowcount, error))


async def test_statement_and_connection_hooks(dummy: str) -> None:
    assert ormer.plugins.query_hooks().before_execute is None  # nobody listens yet
    tracer = StatementTracer()
    name = ormer.plugins.register(tracer)
    try:
        hooks = ormer.plugins.query_hooks()
        assert hooks.before_execute is not None
        assert hooks.after_execute is not None
        assert hooks.connection_created is not None
        conn = await Database.connect("dummy://x")
        assert tracer.events == [("created", conn.driver)]  # the driver connection
        conn.driver.rows = [(1, "a")]  # type: ignore[attr-defined]
        await conn.select(Gadget).filter(Gadget.id > 0).collect()
        sql = 'SELECT "gadgets"."id", "gadgets"."name" FROM "gadgets" WHERE "gadgets"."id" > ?'
        before, after = tracer.events[1:]
        assert before == ("before", sql, [0], conn.dialect)
        assert after[:4] == ("after", sql, [0], conn.dialect)
        assert after[4] >= 0.0
        assert after[5:] == (1, None)  # one row, no error
        with pytest.raises(QueryError, match="refuses"):
            await conn.exec_non_query("FAIL NOW")
        failed = tracer.events[-1]
        assert failed[:2] == ("after", "FAIL NOW")
        assert isinstance(failed[6], QueryError)
        assert len(tracer.events) == 5  # one before/after pair per statement
        await conn.close()
    finally:
        ormer.plugins.unregister(name)
    assert ormer.plugins.query_hooks().before_execute is None


def test_hooks_are_synchronous_specs_of_the_design() -> None:
    specs = {
        name: fn
        for name, fn in vars(ormer.hookspecs).items()
        if name.startswith("ormer_") and inspect.isfunction(fn)
    }
    assert set(specs) == {
        "ormer_register_dialects",
        "ormer_sql_type",
        "ormer_model_defined",
        "ormer_connection_created",
        "ormer_connection_checkout",
        "ormer_connection_checkin",
        "ormer_connection_closed",
        "ormer_pool_opened",
        "ormer_pool_closed",
        "ormer_before_execute",
        "ormer_after_execute",
    }
    for fn in specs.values():
        assert not inspect.iscoroutinefunction(fn)
    relay = ormer.plugins.manager().hook
    assert relay.ormer_sql_type.spec.opts["firstresult"] is True
    assert relay.ormer_model_defined.spec.opts["historic"] is True
    assert relay.ormer_after_execute.spec.argnames == (
        "sql",
        "params",
        "dialect",
        "elapsed",
        "rowcount",
        "error",
        "conn",
    )


# Which test exercises each hook; the pool hooks are covered by the pool's own tests.
HOOK_COVERAGE = {
    "ormer_register_dialects": "test_registered_dialect_connects_and_runs",
    "ormer_sql_type": "test_sql_type_hook_changes_ddl",
    "ormer_model_defined": "test_model_defined_fires_once_per_model",
    "ormer_connection_created": "test_statement_and_connection_hooks",
    "ormer_before_execute": "test_statement_and_connection_hooks",
    "ormer_after_execute": "test_statement_and_connection_hooks",
    "ormer_connection_checkout": "test_pool_hooks_report_waits_uses_and_close_reasons",
    "ormer_connection_checkin": "test_pool_hooks_report_waits_uses_and_close_reasons",
    "ormer_connection_closed": "test_pool_hooks_report_waits_uses_and_close_reasons",
    "ormer_pool_opened": "test_pool_hooks_report_waits_uses_and_close_reasons",
    "ormer_pool_closed": "test_pool_hooks_report_waits_uses_and_close_reasons",
}


def test_every_hookspec_is_covered() -> None:
    declared = {
        name
        for name, fn in vars(ormer.hookspecs).items()
        if name.startswith("ormer_") and inspect.isfunction(fn)
    }
    assert declared == set(HOOK_COVERAGE)
    for test in HOOK_COVERAGE.values():
        assert inspect.isfunction(globals()[test]) or inspect.iscoroutinefunction(globals()[test])
    for hook in declared - {"ormer_register_dialects", "ormer_sql_type", "ormer_model_defined"}:
        assert hasattr(ormer.plugins.QueryHooks(), hook.removeprefix("ormer_"))


def test_pool_hooks_become_callable_when_implemented() -> None:
    class PoolWatcher:
        @hookimpl
        def ormer_connection_checkout(self, conn: Any) -> None:
            pass

        @hookimpl
        def ormer_connection_checkin(self, conn: Any) -> None:
            pass

    hooks = ormer.plugins.query_hooks()
    assert hooks.connection_checkout is None
    assert hooks.connection_checkin is None
    name = ormer.plugins.register(PoolWatcher())
    try:
        hooks = ormer.plugins.query_hooks()
        assert hooks.connection_checkout is not None
        assert hooks.connection_checkin is not None
    finally:
        ormer.plugins.unregister(name)
    assert ormer.plugins.query_hooks().connection_checkout is None


class PoolWatcher:
    """Records every pool hook call."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    @hookimpl
    def ormer_pool_opened(self, pool: Any) -> None:
        self.events.append(("opened", pool))

    @hookimpl
    def ormer_pool_closed(self, pool: Any) -> None:
        self.events.append(("pool_closed", pool))

    @hookimpl
    def ormer_connection_created(self, conn: Any, pool: Any, elapsed: float) -> None:
        self.events.append(("created", conn, pool, elapsed))

    @hookimpl
    def ormer_connection_checkout(self, conn: Any, pool: Any, wait: float) -> None:
        self.events.append(("checkout", conn, pool, wait))

    @hookimpl
    def ormer_connection_checkin(self, conn: Any, pool: Any, used: float) -> None:
        self.events.append(("checkin", conn, pool, used))

    @hookimpl
    def ormer_connection_closed(self, conn: Any, pool: Any, reason: str) -> None:
        self.events.append(("closed", conn, pool, reason))

    def kinds(self, kind: str) -> list[tuple[Any, ...]]:
        return [e for e in self.events if e[0] == kind]


async def test_pool_hooks_report_waits_uses_and_close_reasons(tmp_path: Any) -> None:
    watcher = PoolWatcher()
    name = ormer.plugins.register(watcher)
    try:
        pool = await (
            ormer.Database.create_pool(f"sqlite:///{tmp_path / 'hooks.db'}")
            .min_size(1)
            .max_uses(2)
            .build()
        )
        assert watcher.kinds("opened") == [("opened", pool)]
        ((_, driver, owner, elapsed),) = watcher.kinds("created")
        assert owner is pool and elapsed >= 0
        for _ in range(2):  # the second use retires the connection (max_uses=2)
            async with pool.get() as conn:
                await asyncio.sleep(0.02)
                assert await conn.exec_rows("SELECT 1") == [(1,)]
        checkouts, checkins = watcher.kinds("checkout"), watcher.kinds("checkin")
        assert len(checkouts) == len(checkins) == 2
        assert all(e[2] is pool and e[3] >= 0 for e in checkouts)
        assert all(e[2] is pool and e[3] >= 0.02 for e in checkins)  # held 20 ms or more
        assert watcher.kinds("closed") == [("closed", driver, pool, "max_uses")]
        async with pool.get():
            pass
        await pool.drain()
        assert watcher.kinds("closed")[-1][3] == "drain"
        await pool.close()
        assert watcher.kinds("closed")[-1][3] == "pool_closed"
        assert watcher.kinds("pool_closed") == [("pool_closed", pool)]
        reasons = {e[3] for e in watcher.kinds("closed")}
        assert reasons <= set(ormer.pool.CLOSE_REASONS)
        # Database.connect reports no pool
        async with await ormer.Database.connect(f"sqlite:///{tmp_path / 'hooks.db'}"):
            pass
        assert watcher.kinds("created")[-1][2] is None
    finally:
        ormer.plugins.unregister(name)
    assert ormer.plugins.query_hooks().connection_closed is None

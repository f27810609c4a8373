"""Statement spans on SQLite (a file), PostgreSQL and MariaDB, read back from the
SDK's in-memory exporter with their attributes asserted exactly."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import ormer.plugins
import ormer_otel.plugin
from ormer import (
    Connection,
    Database,
    Model,
    StatementTimeoutError,
    UniqueViolationError,
    primary,
)

if TYPE_CHECKING:
    from conftest import Telemetry

BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
# the driver's placeholder for the first and second parameter, per backend
PLACEHOLDERS = {"sqlite": ("?", "?"), "postgres": ("$1", "$2"), "mysql": ("%s", "%s")}


@pytest.fixture
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    backend: str = request.param
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'otel.db'}"
    return str(request.getfixturevalue("pg_url" if backend == "postgres" else "mysql_url"))


@contextlib.asynccontextmanager
async def table_on(url: str, table: str) -> AsyncIterator[Connection]:
    """A connection with ``table`` (id primary key, name) created, dropped at the end."""
    db = await Database.connect(url)
    try:
        await db.exec_non_query(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(50))")
        try:
            yield db
        finally:
            await db.exec_non_query(f"DROP TABLE IF EXISTS {table}")
    finally:
        await db.close()


async def expected_system(db: Connection, backend: str) -> str:
    """db.system.name from the server itself: MariaDB tells its version string."""
    if backend != "mysql":
        return {"sqlite": "sqlite", "postgres": "postgresql"}[backend]
    (version,) = (await db.exec_rows("SELECT VERSION()"))[0]
    return "mariadb" if "mariadb" in str(version).lower() else "mysql"


def server_attributes(url: str, backend: str, db: Connection) -> dict[str, Any]:
    """db.namespace, server.address and server.port, from the URL the test connected with."""
    if backend == "sqlite":
        return {"db.namespace": db.database_name}
    parts = urlsplit(url)
    out: dict[str, Any] = {"db.namespace": parts.path.lstrip("/"), "server.address": parts.hostname}
    if parts.port is not None:
        out["server.port"] = parts.port
    return out


def only(spans: list[ReadableSpan], text: str) -> ReadableSpan:
    """The one span whose query text is ``text``."""
    found = [s for s in spans if s.attributes and s.attributes.get("db.query.text") == text]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


@pytest.mark.parametrize("url", BACKENDS, indirect=True)
async def test_statement_spans_carry_the_conventions_attributes(
    url: str, request: pytest.FixtureRequest, table: str, telemetry: Telemetry
) -> None:
    backend = request.node.callspec.id
    p1, p2 = PLACEHOLDERS[backend]
    async with table_on(url, table) as db:
        insert = f"INSERT INTO {table} (id, name) VALUES ({p1}, {p2})"
        assert await db.exec_non_query(insert, [1, "ada"]) == 1
        select = f"SELECT name FROM {table} WHERE id = {p1}"
        assert await db.exec_rows(select, [1]) == [("ada",)]
        system = await expected_system(db, backend)
        common = {"db.system.name": system, **server_attributes(url, backend, db)}

        span = only(telemetry.db_spans(), select)
        assert span.name == f"SELECT {table}"
        assert span.kind is SpanKind.CLIENT
        assert span.status.status_code is StatusCode.UNSET
        assert dict(span.attributes or {}) == {
            **common,
            "db.operation.name": "SELECT",
            "db.collection.name": table,
            "db.query.text": select,
            "db.response.returned_rows": 1,
        }
        span = only(telemetry.db_spans(), insert)
        assert span.name == f"INSERT {table}"
        assert dict(span.attributes or {}) == {
            **common,
            "db.operation.name": "INSERT",
            "db.collection.name": table,
            "db.query.text": insert,
        }  # no parameters by default, no returned rows for a write
        create = only(
            telemetry.db_spans(), f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name VARCHAR(50))"
        )
        assert create.name == f"CREATE {table}"
        assert span.end_time is not None and span.start_time is not None
        assert span.end_time >= span.start_time


@pytest.mark.parametrize("url", BACKENDS, indirect=True)
async def test_failing_statement_records_error_type_and_sqlstate(
    url: str, request: pytest.FixtureRequest, table: str, telemetry: Telemetry
) -> None:
    backend = request.node.callspec.id
    p1, p2 = PLACEHOLDERS[backend]
    async with table_on(url, table) as db:
        insert = f"INSERT INTO {table} (id, name) VALUES ({p1}, {p2})"
        await db.exec_non_query(insert, [1, "ada"])
        with pytest.raises(UniqueViolationError) as caught:
            await db.exec_non_query(insert, [1, "bob"])
        assert await db.exec_rows(f"SELECT name FROM {table}") == [("ada",)]
    failed, succeeded = sorted(
        (s for s in telemetry.db_spans() if (s.attributes or {}).get("db.query.text") == insert),
        key=lambda s: s.status.status_code is StatusCode.UNSET,
    )
    assert succeeded.status.status_code is StatusCode.UNSET
    assert "error.type" not in (succeeded.attributes or {})
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description is None  # a server message may quote values
    attrs = dict(failed.attributes or {})
    assert attrs["error.type"] == "ormer.errors.UniqueViolationError"
    expected_code = {
        "sqlite": "SQLITE_CONSTRAINT_PRIMARYKEY",
        "postgres": "23505",
        "mysql": "1062",
    }[backend]
    assert caught.value.sqlstate == expected_code
    assert attrs.get("db.response.status_code") == expected_code
    assert not any(k.startswith("db.query.parameter.") for k in attrs)
    assert "bob" not in repr(attrs)


@pytest.mark.sqlite
async def test_parameters_are_recorded_only_when_configured(
    tmp_path: Path, table: str, telemetry_with_parameters: Telemetry
) -> None:
    async with table_on(f"sqlite:///{tmp_path / 'p.db'}", table) as db:
        insert = f"INSERT INTO {table} (id, name) VALUES (?, ?)"
        await db.exec_non_query(insert, [42, "ada"])
        assert await db.exec_rows(f"SELECT id, name FROM {table}") == [(42, "ada")]
    attrs = dict(only(telemetry_with_parameters.db_spans(), insert).attributes or {})
    assert attrs["db.query.parameter.0"] == "42"
    assert attrs["db.query.parameter.1"] == "ada"
    select = only(telemetry_with_parameters.db_spans(), f"SELECT id, name FROM {table}")
    assert not any(k.startswith("db.query.parameter.") for k in select.attributes or {})


@pytest.mark.sqlite
async def test_statement_span_is_a_child_of_the_current_span(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    tracer = telemetry.tracer_provider.get_tracer("test")
    async with await Database.connect(f"sqlite:///{tmp_path / 'c.db'}") as db:
        with tracer.start_as_current_span("handle request") as outer:
            assert await db.exec_rows("SELECT 1") == [(1,)]
        assert await db.exec_rows("SELECT 2") == [(2,)]
    inner = only(telemetry.db_spans(), "SELECT 1")
    assert inner.parent is not None
    assert inner.parent.span_id == outer.get_span_context().span_id
    assert inner.context is not None
    assert inner.context.trace_id == outer.get_span_context().trace_id
    assert inner.name == "SELECT"  # no table: the operation alone
    assert only(telemetry.db_spans(), "SELECT 2").parent is None


@pytest.mark.sqlite
async def test_transaction_statements_get_spans(
    tmp_path: Path, table: str, telemetry: Telemetry
) -> None:
    async with table_on(f"sqlite:///{tmp_path / 't.db'}", table) as db:
        async with db.transaction():
            await db.exec_non_query(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [1, "a"])
        with contextlib.suppress(RuntimeError):
            async with db.transaction():
                await db.exec_non_query(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [2, "b"])
                raise RuntimeError("roll back")
        assert await db.exec_rows(f"SELECT id FROM {table}") == [(1,)]
    names = [s.name for s in telemetry.db_spans()]
    first = names.index("BEGIN")
    assert names[first : first + 3] == ["BEGIN", f"INSERT {table}", "COMMIT"]
    assert names[first + 3 : first + 6] == ["BEGIN", f"INSERT {table}", "ROLLBACK"]


class StreamItem(Model, table="otel_stream_items"):
    id: int = primary()
    name: str


@pytest.mark.sqlite
async def test_stream_span_ends_when_the_stream_ends(tmp_path: Path, telemetry: Telemetry) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    async with await Database.connect(url) as db, await Database.connect(url) as other:
        await db.create_table(StreamItem)
        await db.insert([StreamItem(id=i, name=f"n{i}") for i in range(5)])

        def stream_spans() -> list[ReadableSpan]:
            return [s for s in telemetry.db_spans() if s.name == "SELECT otel_stream_items"]

        seen = 0
        async for item in db.select(StreamItem).order_by(StreamItem.id).stream(batch=2):
            assert item.id == seen
            seen += 1
            if seen == 1:  # mid-stream: its span is open; another statement runs meanwhile
                assert await other.exec_rows("SELECT 7") == [(7,)]
                assert stream_spans() == []
                assert only(telemetry.db_spans(), "SELECT 7").name == "SELECT"
        assert seen == 5
        (span,) = stream_spans()
        assert span.status.status_code is StatusCode.UNSET
        assert span.attributes is not None
        assert span.attributes["db.response.returned_rows"] == 5
        assert span.end_time is not None

        # a consumer that stops early ends the span too, without an error
        stream = db.select(StreamItem).order_by(StreamItem.id).stream(batch=2)
        async with contextlib.aclosing(stream):
            async for item in stream:
                assert item.id == 0
                break
        assert len(stream_spans()) == 2
        assert stream_spans()[1].status.status_code is StatusCode.UNSET
        await db.drop_table(StreamItem)


@pytest.mark.sqlite
async def test_no_span_once_the_plugin_is_unregistered(
    tmp_path: Path, telemetry: Telemetry
) -> None:
    async with await Database.connect(f"sqlite:///{tmp_path / 'u.db'}") as db:
        assert await db.exec_rows("SELECT 1") == [(1,)]
        ormer.plugins.unregister(telemetry.plugin_name)
        try:
            assert ormer.plugins.query_hooks().before_execute is None
            assert await db.exec_rows("SELECT 2") == [(2,)]
        finally:
            ormer.plugins.register(ormer_otel.plugin, name=telemetry.plugin_name)
    texts = [(s.attributes or {}).get("db.query.text") for s in telemetry.db_spans()]
    assert "SELECT 1" in texts
    assert "SELECT 2" not in texts


@pytest.mark.postgres
async def test_statement_timeout_span(pg_url: str, telemetry: Telemetry) -> None:
    async with await Database.connect(pg_url) as db:
        with pytest.raises(StatementTimeoutError) as caught:
            await db.exec_rows("SELECT pg_sleep(2)", timeout=0.05)
        assert await db.exec_rows("SELECT 1") == [(1,)]  # the connection still works
    span = only(telemetry.db_spans(), "SELECT pg_sleep(2)")
    assert span.status.status_code is StatusCode.ERROR
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "ormer.errors.StatementTimeoutError"
    assert attrs.get("db.response.status_code") == caught.value.sqlstate
    assert "db.response.returned_rows" not in attrs
    assert span.end_time is not None and span.start_time is not None
    assert 0.04 <= (span.end_time - span.start_time) / 1e9 < 1.5


@pytest.mark.sqlite
async def test_turso_spans_name_their_system(tmp_path: Path, telemetry: Telemetry) -> None:
    pytest.importorskip("ormer_turso", reason="ormer-turso is not installed")
    async with await Database.connect(f"turso:///{tmp_path / 't.db'}") as db:
        assert await db.exec_rows("SELECT 3") == [(3,)]
        namespace = db.database_name
    assert dict(only(telemetry.db_spans(), "SELECT 3").attributes or {}) == {
        "db.system.name": "turso",
        "db.namespace": namespace,
        "db.operation.name": "SELECT",
        "db.query.text": "SELECT 3",
        "db.response.returned_rows": 1,
    }

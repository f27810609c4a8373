"""One CLIENT span per statement, after the OpenTelemetry database conventions.

``ormer_before_execute`` starts the span (a child of the span current in the
caller's context) and ``ormer_after_execute`` ends it. The span is not made
current: nothing runs below a statement, and a stream's end may run in another
context than its start. Open spans are kept per connection (a weak mapping), as
a stack matched by the statement's text object, so interleaved statements on
other connections, and a statement run while a stream is open, each end their
own span.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider

from .sqlparse import CACHE_SIZE, parse_sql

if TYPE_CHECKING:
    from ormer import Connection
    from ormer.dialect import Dialect

__all__ = ["StatementTracer", "error_type", "system_name"]

log = logging.getLogger("ormer_otel")

INSTRUMENTATION_NAME = "ormer_otel"
INSTRUMENTATION_VERSION = "0.1.0"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.37.0"

# dialect name -> db.system.name (MariaDB is told apart by the dialect's is_mariadb)
_SYSTEMS = {"postgresql": "postgresql", "mysql": "mysql", "sqlite": "sqlite", "turso": "turso"}

# statement text -> (span name or None, the text's own attributes, returns rows)
_Described = tuple[str | None, dict[str, Any], bool]

# conn -> its open spans, innermost last, each with the text object that opened it
_OPEN: WeakKeyDictionary[Any, list[tuple[str, Span]]] = WeakKeyDictionary()


def system_name(dialect: Dialect) -> str:
    """``db.system.name`` of a dialect: postgresql, mysql, mariadb, sqlite or turso
    (a custom value: Turso has no well-known one)."""
    name = dialect.name
    if name == "mysql" and getattr(dialect, "is_mariadb", False):
        return "mariadb"
    return _SYSTEMS.get(name, name)


def error_type(error: BaseException) -> str:
    """``error.type``: the exception class's qualified name (module included,
    except for builtins)."""
    cls = type(error)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


@lru_cache(maxsize=CACHE_SIZE)
def _describe(sql: str) -> _Described:
    parsed = parse_sql(sql)
    attrs: dict[str, Any] = {"db.query.text": sql}
    name = parsed.operation
    if parsed.operation is not None:
        attrs["db.operation.name"] = parsed.operation
    if parsed.collection is not None:
        attrs["db.collection.name"] = parsed.collection
        if name is not None:
            name = f"{name} {parsed.collection}"
    return name, attrs, parsed.returns_rows


def _parameters(params: Any) -> dict[str, str]:
    """``db.query.parameter.<key>``: 0-based indexes, or the names of named parameters."""
    if isinstance(params, Mapping):
        return {f"db.query.parameter.{k}": str(v) for k, v in params.items()}
    if isinstance(params, list | tuple):
        return {f"db.query.parameter.{i}": str(v) for i, v in enumerate(params)}
    return {}


class StatementTracer:
    """Starts and ends the statement spans (one instance per :func:`ormer_otel.configure`)."""

    def __init__(
        self, tracer_provider: TracerProvider | None = None, record_parameters: bool = False
    ) -> None:
        self._provider = tracer_provider
        self._tracer: Tracer | None = None
        self.record_parameters = record_parameters

    @property
    def tracer(self) -> Tracer:
        """The tracer, obtained on first use: the global provider's, unless one was given.

        Without a global provider yet, the API hands out a proxy tracer that starts
        real spans as soon as the application installs the SDK.
        """
        tracer = self._tracer
        if tracer is None:
            provider = self._provider or trace.get_tracer_provider()
            tracer = self._tracer = provider.get_tracer(
                INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION, schema_url=SCHEMA_URL
            )
        return tracer

    def before(self, sql: str, params: Any, dialect: Dialect, conn: Connection) -> None:
        """Start the statement's span."""
        if self._provider is None and isinstance(
            trace.get_tracer_provider(), trace.ProxyTracerProvider
        ):
            return  # no SDK installed (yet): the API's spans would record nothing
        name, text_attrs, _ = _describe(sql)
        system = system_name(dialect)
        attrs = {"db.system.name": system, **text_attrs}
        namespace = conn.database_name
        if namespace:
            attrs["db.namespace"] = namespace
        address = conn.server_address
        if address:
            attrs["server.address"] = address
            port = conn.server_port
            if port is not None:
                attrs["server.port"] = port
        if self.record_parameters and params:
            attrs.update(_parameters(params))
        span = self.tracer.start_span(name or system, kind=SpanKind.CLIENT, attributes=attrs)
        if not span.is_recording():
            return  # a no-op or sampled-out span: nothing to end
        stack = _OPEN.get(conn)
        if stack is None:
            _OPEN[conn] = [(sql, span)]
        else:
            stack.append((sql, span))

    def after(self, sql: str, rowcount: int, error: BaseException | None, conn: Connection) -> None:
        """End the statement's span, with its outcome."""
        stack = _OPEN.get(conn)
        if not stack:
            return  # started before the plugin was registered
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][0] is sql:
                span = stack.pop(i)[1]
                break
        else:
            return
        if error is not None:
            span.set_attribute("error.type", error_type(error))
            sqlstate = getattr(error, "sqlstate", None)
            if sqlstate:
                span.set_attribute("db.response.status_code", str(sqlstate))
            # no message: a server's message may quote values (a duplicate key's)
            span.set_status(Status(StatusCode.ERROR))
        elif rowcount >= 0 and _describe(sql)[2]:
            span.set_attribute("db.response.returned_rows", rowcount)
        span.end()

"""The asyncpg driver adapter.

Every ormer statement is one asyncpg call: asyncpg keeps a per-connection
cache of prepared statements keyed by SQL text (ormer's SQL is the same text
for the same query shape), so a statement is parsed and planned once per
connection (its first run costs one more round trip) and from then on is bound
and executed in one round trip. A statement without parameters goes through
the simple query protocol (``BEGIN``, ``COMMIT``, DDL, raw SQL without
parameters).
"""

from __future__ import annotations

import asyncio
import collections
import inspect
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import asyncpg

from ormer import errors
from ormer.dialect import URL
from ormer.driver import Row
from ormer.driverkit import (
    ErrorRule,
    ErrorRules,
    Option,
    OptionSet,
    as_bool,
    as_float,
    as_int,
    as_seconds,
    codes,
    connect_within,
    json_text,
)

__all__ = ["DEFAULT_CONNECT_TIMEOUT", "ERRORS", "OPTIONS", "PostgresDriver", "translate_error"]

#: seconds a connect may take (``timeout=`` overrides; also ``connect_timeout``)
DEFAULT_CONNECT_TIMEOUT = 10.0


# json/jsonb in PostgreSQL's binary format (what COPY ... BINARY needs, and what
# asyncpg uses for every other type): json is UTF-8 text, jsonb a version byte 1 + text.
def _json_encode(value: Any) -> bytes:
    return json_text(value).encode()


def _jsonb_encode(value: Any) -> bytes:
    return b"\x01" + json_text(value).encode()


def _json_decode(data: bytes) -> Any:
    return json.loads(data)


def _jsonb_decode(data: bytes) -> Any:
    return json.loads(data[1:])


#: statements up to this size stay prepared in asyncpg's per-connection cache (its
#: default, 15 KiB, would re-prepare every large multi-row INSERT at each run)
MAX_CACHEABLE_STATEMENT_SIZE = 256 * 1024

#: the options ormer reads (URL query or keywords; asyncpg would send unknown URL
#: parameters to the server as settings, so those stay in the DSN); other keywords
#: must be asyncpg.connect's
OPTIONS = OptionSet(
    "PostgreSQL",
    [
        Option("timeout", as_seconds, DEFAULT_CONNECT_TIMEOUT, aliases=("connect_timeout",)),
        Option("command_timeout", as_float),
        Option("statement_cache_size", as_int),
        Option("max_cached_statement_lifetime", as_int),
        Option("max_cacheable_statement_size", as_int, MAX_CACHEABLE_STATEMENT_SIZE),
        Option("search_path", str),
        Option("pgbouncer", as_bool, False),
    ],
    passthrough=frozenset(inspect.signature(asyncpg.connect).parameters) - {"dsn"},
    url_passthrough=True,
)


def _split_url(url: URL) -> tuple[str, dict[str, str]]:
    """The DSN asyncpg parses (scheme normalised, no query) and the URL's query."""
    if url.raw and "://" in url.raw:
        parts = urlsplit(url.raw)
        netloc, path, query = parts.netloc, parts.path, dict(parse_qsl(parts.query))
    else:  # a URL built by hand
        auth = ""
        if url.username:
            auth = quote(url.username, safe="")
            if url.password:
                auth += ":" + quote(url.password, safe="")
            auth += "@"
        netloc = f"{auth}{url.host or ''}{f':{url.port}' if url.port else ''}"
        path = "/" + quote(url.database or "", safe="")
        query = dict(url.query)
    return urlunsplit(("postgresql", netloc, path, "", "")), query


#: startup parameters PgBouncer passes on or tracks itself (any other one a session
#: sets at connect would be lost at the next transaction on another server connection)
POOLER_SAFE_SETTINGS = frozenset({"application_name"})


def _check_pooler_safe(opts: dict[str, Any], settings: dict[str, str]) -> None:
    """The ``pgbouncer`` option: refuse what would rely on session state behind a
    transaction-mode pooler (asyncpg's named prepared statements, startup settings)."""
    size = opts.get("statement_cache_size")
    if size:
        raise errors.ConfigurationError(
            f"pgbouncer=true with statement_cache_size={size}: behind PgBouncer in transaction "
            "mode a named prepared statement lives on one server connection and the next "
            "transaction may run on another; leave statement_cache_size out (ormer sets 0)"
        )
    unsafe = sorted(set(settings) - POOLER_SAFE_SETTINGS)
    if unsafe:
        raise errors.ConfigurationError(
            f"pgbouncer=true with session settings {', '.join(unsafe)}: behind PgBouncer in "
            "transaction mode they would hold on one server connection only; set them on the "
            "role or database instead (ALTER ROLE ... SET search_path = ...)"
        )


async def _connect(
    dsn: str, address: str, url: URL, timeout: float, opts: dict[str, Any]
) -> asyncpg.Connection:
    """One asyncpg connect, bounded by ``timeout``, errors as ormer's."""
    where = f"PostgreSQL at {address}/{url.database or ''}"
    try:
        return await connect_within(
            timeout, lambda: asyncpg.connect(dsn, timeout=timeout, **opts), where=where
        )
    except TypeError as exc:
        raise errors.ConfigurationError(f"bad PostgreSQL connect option: {exc}") from exc
    except (
        OSError,
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.exceptions.InternalClientError,  # a server not matching target_session_attrs
    ) as exc:
        raise errors.ConnectionError(f"cannot connect to {where}: {exc}") from exc


async def _connect_first_host(
    dsn: str, url: URL, timeout: float, opts: dict[str, Any]
) -> asyncpg.Connection:
    """A multi-host URL: each host in turn, ``timeout`` for each (as libpq's
    ``connect_timeout``), the first that accepts and matches ``target_session_attrs``
    wins. (asyncpg spends its one timeout on a host that never answers, so a failover
    away from an unreachable primary would never reach the next host.)"""
    parts = urlsplit(dsn)
    auth = parts.netloc.rpartition("@")[0]
    failures = []
    for host, port in url.hosts:
        address = f"[{host}]" if ":" in host else host
        address += f":{port or 5432}"
        netloc = f"{auth}@{address}" if auth else address
        try:
            return await _connect(
                urlunsplit(parts._replace(netloc=netloc)), address, url, timeout, opts
            )
        except errors.ConnectionError as exc:
            failures.append(f"{address}: {exc.__cause__ or exc}")
    raise errors.ConnectionError(
        f"cannot connect to PostgreSQL at {url.address}/{url.database or ''}: "
        + "; ".join(failures)
    )


def _rowcount(status: str | None) -> int:
    """The row count in a command status (``UPDATE 3``, ``INSERT 0 1``); 0 if none."""
    if not status:
        return 0
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


async def _set_up(conn: asyncpg.Connection) -> None:
    """json/jsonb as Python dict/list in both directions (built-in types: no round trip)."""
    await conn.set_type_codec(
        "jsonb",
        encoder=_jsonb_encode,
        decoder=_jsonb_decode,
        schema="pg_catalog",
        format="binary",
    )
    await conn.set_type_codec(
        "json", encoder=_json_encode, decoder=_json_decode, schema="pg_catalog", format="binary"
    )


class PostgresDriver:
    """One asyncpg connection (autocommit: ormer issues BEGIN/COMMIT itself).

    Statements on one connection run one at a time. A connection serves one
    task at a time anyway; the driver also queues its own statements (a small
    mutex, no cost when free) because one can arrive from elsewhere: an
    abandoned stream closed by the garbage collector ends its transaction
    from a task of its own.
    """

    __slots__ = ("_busy", "_conn", "_stream_tx", "_waiters", "pgbouncer")

    def __init__(self, conn: asyncpg.Connection, pgbouncer: bool = False) -> None:
        self._conn = conn
        #: opened with the ``pgbouncer`` option: a server connection is ours for one
        #: transaction at a time, so nothing may rely on session state
        self.pgbouncer = pgbouncer
        self._busy = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        # The stream that opened the current transaction for its cursor, if any.
        self._stream_tx: object | None = None

    @classmethod
    async def open(cls, url: URL, options: dict[str, Any]) -> PostgresDriver:
        """Connect; options are asyncpg.connect keywords plus ``timeout`` and ``search_path``.

        URL query parameters and keyword options are merged (keywords win).
        ``search_path`` (either way) becomes a session default through
        ``server_settings``, so ``RESET ALL`` keeps it.
        """
        dsn, query = _split_url(url)
        parsed = OPTIONS.parse(query, options)
        opts = {**parsed.values, **parsed.library}
        timeout: float = opts.pop("timeout")
        settings = dict(opts.pop("server_settings", None) or {})
        search_path = opts.pop("search_path", None)
        if search_path:
            settings["search_path"] = search_path
        pgbouncer: bool = opts.pop("pgbouncer")
        if pgbouncer:
            _check_pooler_safe(opts, settings)
            opts["statement_cache_size"] = 0
        if settings:
            opts["server_settings"] = settings
        if parsed.query:
            dsn += "?" + urlencode(parsed.query)
        if len(url.hosts) > 1:
            conn = await _connect_first_host(dsn, url, timeout, opts)
        else:
            conn = await _connect(dsn, url.address or "localhost:5432", url, timeout, opts)
        try:
            await _set_up(conn)
        except BaseException:
            conn.terminate()
            raise
        return cls(conn, pgbouncer)

    @property
    def connection(self) -> asyncpg.Connection:
        """The underlying asyncpg connection (for PostgreSQL-specific needs)."""
        return self._conn

    # -- one statement at a time ------------------------------------------------------------
    async def _acquire(self) -> None:
        if not self._busy:
            self._busy = True
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut  # resolved by _release: the connection is handed over, still busy
        except BaseException:
            if fut.done() and not fut.cancelled():
                self._release()  # handed over, but cancelled before running: pass it on
            else:
                self._waiters.remove(fut)
            raise

    def _release(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._busy = False

    async def _enter(self, sql: str) -> None:
        """The slow way in: wait for a statement in flight, mind a stream's transaction."""
        await self._acquire()
        if self._stream_tx is None:
            return
        try:
            head = sql.lstrip()[:8].upper()
            if head.startswith(("BEGIN", "START")):
                # The caller opens a transaction of its own: commit the stream's
                # first (ending that stream), so the caller's is exactly theirs.
                self._stream_tx = None
                await self._conn.execute("COMMIT")
            elif head.startswith(("COMMIT", "ROLLBACK", "END", "ABORT")):
                self._stream_tx = None  # it ends the stream's transaction itself
        except BaseException:
            self._release()
            raise

    # -- statements ------------------------------------------------------------------
    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        if self._busy or self._stream_tx is not None:
            await self._enter(sql)
        else:
            self._busy = True
        try:
            rows: list[Row] = await self._conn.fetch(sql, *params)
            return rows
        finally:
            self._release()

    async def fetch_described(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        rows = await self.fetch(sql, params)
        # No rows, no names: the names only serve to map the (absent) rows.
        names = list(rows[0].keys()) if rows else []  # type: ignore[attr-defined]
        return names, rows

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        if self._busy or self._stream_tx is not None:
            await self._enter(sql)
        else:
            self._busy = True
        try:
            if params:
                status = await self._conn.execute(sql, *params)
            else:  # the simple query protocol: BEGIN, COMMIT, DDL, raw SQL
                status = await self._conn.execute(sql)
        finally:
            self._release()
        return _rowcount(status)

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> int:
        """``COPY table (columns) FROM STDIN`` in the binary format: one bulk load."""
        if self._busy or self._stream_tx is not None:
            await self._enter("COPY")
        else:
            self._busy = True
        try:
            status = await self._conn.copy_records_to_table(
                table, records=rows, columns=list(columns)
            )
        finally:
            self._release()
        return _rowcount(status)

    async def stream(self, sql: str, params: Sequence[Any], batch: int) -> AsyncIterator[list[Row]]:
        """Rows in batches from a server-side cursor (a portal), one round trip per batch.

        A cursor lives inside a transaction. Outside one, the stream opens one
        for itself and commits it when the rows run out, on error, or when the
        stream is closed early; statements run on the connection meanwhile are
        part of it. A transaction begun on the connection while such a stream
        is open first commits the stream's (which ends the stream).
        """
        conn = self._conn
        token: object | None = None
        await self._enter(sql)
        try:
            if not conn.is_in_transaction():
                await conn.execute("BEGIN")
                token = self._stream_tx = object()
            cursor = await conn.cursor(sql, *params)
        finally:
            self._release()
        finished = False
        try:
            while True:
                await self._acquire()
                try:
                    rows: list[Row] = await cursor.fetch(batch)
                finally:
                    self._release()
                if rows:
                    yield rows
                if len(rows) < batch:
                    break
            finished = True
        finally:
            if token is not None and self._stream_tx is token:
                await self._end_stream(token, finished)

    async def _end_stream(self, token: object, finished: bool) -> None:
        """COMMIT the transaction a stream opened (of an aborted transaction, it rolls back).

        Waits for a statement in flight first: a stream abandoned without closing
        is closed later by the garbage collector, from a task of its own. Only a
        stream that ran out reports a failed COMMIT; one closed early or failing
        already raises (or raised) its own error.
        """
        await self._acquire()
        try:
            if self._stream_tx is not token:
                return
            self._stream_tx = None
            if not self._conn.is_closed():
                await self._conn.execute("COMMIT")
        except Exception:
            if finished:
                raise
        finally:
            self._release()

    async def cancel_statement(self) -> None:
        """Cancel the running statement: PostgreSQL's cancel request, sent by asyncpg
        on a short side connection with this backend's key (what asyncpg does for its
        own ``timeout=``). The statement fails with 57014 and the connection stays
        usable. Nothing is sent when no statement is in flight."""
        if not self._busy:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._conn._cancel_current_command(waiter)
        await waiter

    # -- session ---------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.is_in_transaction())

    async def ping(self) -> None:
        await self.execute("SELECT 1", ())

    async def reset(self) -> None:
        """Roll back, close cursors, UNLISTEN, unlock advisory locks, RESET ALL."""
        await self._acquire()
        try:
            self._stream_tx = None
            if self._conn.is_in_transaction():
                # ours to end: asyncpg would also report it as an unexpected open transaction
                await self._conn.execute("ROLLBACK")
            await self._conn.reset()
        finally:
            self._release()

    async def close(self) -> None:
        conn = self._conn
        if conn.is_closed():
            return
        try:
            await asyncio.wait_for(conn.close(), timeout=5)
        except Exception:
            conn.terminate()

    @property
    def is_closed(self) -> bool:
        return bool(self._conn.is_closed())

    def translate_error(self, exc: BaseException) -> errors.OrmerError:
        error = translate_error(exc)
        if isinstance(error, errors.StatementTimeoutError) and isinstance(exc, TimeoutError):
            error.timeout = self._conn._config.command_timeout
        return error


def _is_interface_error(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.InterfaceError)


def _server_message(exc: BaseException) -> str:
    """The server's message, then its DETAIL and HINT lines, each once.

    (``str()`` of an asyncpg error already appends DETAIL and HINT; the primary
    message alone is ``args[0]``.)
    """
    if not isinstance(exc, asyncpg.PostgresError):
        return ""
    primary = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
    lines = [primary or getattr(exc, "message", None) or ""]
    for label in ("detail", "hint"):
        text = getattr(exc, label, None)
        if text:
            lines.append(f"{label.upper()}: {text}")
    return "\n".join(lines) if lines[0] else ""


#: asyncpg errors: the server's by SQLSTATE, the client's by type
ERRORS = ErrorRules(
    [
        ErrorRule(
            errors.UniqueViolationError, types=(asyncpg.PostgresError,), codes=codes("23505")
        ),
        ErrorRule(
            errors.ForeignKeyViolationError, types=(asyncpg.PostgresError,), codes=codes("23503")
        ),
        ErrorRule(
            errors.NotNullViolationError, types=(asyncpg.PostgresError,), codes=codes("23502")
        ),
        ErrorRule(errors.IntegrityError, types=(asyncpg.PostgresError,), prefixes=("23",)),
        # lock not available (NOWAIT, lock_timeout)
        ErrorRule(
            errors.LockNotAvailableError, types=(asyncpg.PostgresError,), codes=codes("55P03")
        ),
        # serialization failure, deadlock (class 40)
        ErrorRule(errors.TransientError, types=(asyncpg.PostgresError,), prefixes=("40",)),
        # connection exceptions; the server ends the session (admin shutdown, crash, cannot
        # connect now, terminated: pg_terminate_backend, idle-in-transaction and idle-session
        # timeouts)
        ErrorRule(
            errors.ConnectionLostError,
            types=(asyncpg.PostgresError,),
            codes=codes("57P01", "57P02", "57P03", "57P05", "25P03"),
            prefixes=("08",),
        ),
        # query_canceled: the server's statement_timeout (or a cancel request) fired
        ErrorRule(
            errors.StatementTimeoutError, types=(asyncpg.PostgresError,), codes=codes("57014")
        ),
        # statement errors by SQLSTATE class: data exception, syntax or access rule,
        # feature not supported, cardinality, transaction state, dependent objects,
        # invalid statement/cursor/catalog/schema name, check option
        ErrorRule(
            errors.QueryError,
            types=(asyncpg.PostgresError,),
            prefixes=("22", "42", "0A", "21", "25", "26", "2B", "34", "3D", "3F", "44"),
        ),
        ErrorRule(errors.DatabaseError, types=(asyncpg.PostgresError,)),
        # bad query input found on the client side
        ErrorRule(
            errors.QueryError, types=(ValueError,), when=_is_interface_error, sqlstate="22000"
        ),
        # "connection is closed", "... was closed in the middle of operation"
        ErrorRule(errors.ConnectionLostError, types=(asyncpg.InterfaceError,), pattern="closed"),
        ErrorRule(errors.DatabaseError, types=(asyncpg.InterfaceError,)),
        # the protocol's state machine is out of step ("cannot switch to state 12; another
        # operation (2) is in progress" once the server dropped the socket mid-statement):
        # nothing more can run on this connection
        ErrorRule(
            errors.ConnectionLostError,
            types=(asyncpg.exceptions.InternalClientError,),
            template="{kind}: {message}",
        ),
        # asyncpg's command_timeout: it cancelled the statement on the server, and the
        # connection stays usable (TimeoutError is an OSError: before the next rule)
        ErrorRule(
            errors.StatementTimeoutError,
            types=(TimeoutError,),
            template="the statement ran longer than command_timeout and was cancelled "
            "on the server",
            sqlstate="57014",
        ),
        ErrorRule(
            errors.ConnectionLostError, types=(OSError, EOFError), template="{kind}: {message}"
        ),
    ],
    message=lambda exc: _server_message(exc) or str(exc) or type(exc).__name__,
)


def translate_error(exc: BaseException) -> errors.OrmerError:
    """Map an asyncpg exception to ormer's tree through :data:`ERRORS` (no side effects)."""
    return ERRORS.translate(exc)

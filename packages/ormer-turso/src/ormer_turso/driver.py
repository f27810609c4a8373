"""The pyturso driver adapter (``turso.aio``).

``turso.aio`` runs each call of a connection on that connection's own worker
thread. A thread hand-off costs tens of microseconds, so every ormer statement
is exactly one hand-off: execute, fetch and cursor close run together on that
thread (``turso.aio.Connection._run`` runs a function there; checked when a
connection opens).

Transactions: ormer sends ``BEGIN``/``COMMIT`` itself (the blocking connection is
opened with ``isolation_level=None``). A write-write conflict under MVCC ends
the transaction inside Turso; the ``ROLLBACK`` ormer then sends is answered
here, without a statement, so the conflict (a ``WriteConflictError``) is what
the caller sees and the connection stays usable.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import turso
import turso.aio

from ormer import errors
from ormer.driver import Row
from ormer.driverkit import (
    ErrorRule,
    ErrorRules,
    Option,
    OptionSet,
    as_bool,
    as_seconds,
    connect_within,
)
from ormer_sqlite.inline import STRIKES, THREAD, InlineStats, strike, yield_due

if TYPE_CHECKING:
    from .dialect import TursoDialect

__all__ = ["ERRORS", "OPTIONS", "TursoDriver"]

R = TypeVar("R")

DEFAULT_BUSY_TIMEOUT = 5.0
JOURNAL_MODES = ("wal", "mvcc")


def _journal_mode(value: Any) -> str:
    mode = str(value).strip().strip("'\"").lower()
    if mode not in JOURNAL_MODES:
        raise ValueError(f"expected one of {', '.join(JOURNAL_MODES)}")
    return mode


#: the connect options ormer reads (URL query or keywords); the others go to turso.aio.connect
OPTIONS = OptionSet(
    "Turso",
    [
        Option("timeout", as_seconds, DEFAULT_BUSY_TIMEOUT, aliases=("busy_timeout",)),
        Option("connect_timeout", as_seconds, 10.0),
        Option("journal_mode", _journal_mode, None),
        Option("inline_reads", as_bool, True),
        Option("inline_budget", as_seconds, 0.001),
    ],
    passthrough=("experimental_features",),
)

#: pyturso errors carry no result code: they are told apart by class and message
ERRORS = ErrorRules(
    [
        ErrorRule(
            errors.UniqueViolationError,
            types=(turso.IntegrityError,),
            pattern="UNIQUE constraint|PRIMARY KEY constraint",
            sqlstate="SQLITE_CONSTRAINT_UNIQUE",
        ),
        ErrorRule(
            errors.ForeignKeyViolationError,
            types=(turso.IntegrityError,),
            pattern="FOREIGN KEY",
            sqlstate="SQLITE_CONSTRAINT_FOREIGNKEY",
        ),
        ErrorRule(
            errors.NotNullViolationError,
            types=(turso.IntegrityError,),
            pattern="NOT NULL",
            sqlstate="SQLITE_CONSTRAINT_NOTNULL",
        ),
        ErrorRule(errors.IntegrityError, types=(turso.IntegrityError,)),
        ErrorRule(
            errors.WriteConflictError,
            types=(turso.DatabaseError,),
            pattern="write-write conflict",
        ),
        ErrorRule(
            errors.TransientError,
            types=(turso.DatabaseError,),
            pattern=r"database is locked|\bbusy\b|snapshot|conflict",
            sqlstate="SQLITE_BUSY",
        ),
        # a closed connection or cursor: the connection is dead
        ErrorRule(errors.ConnectionLostError, types=(turso.Error,), pattern="closed connection"),
        ErrorRule(errors.QueryError, types=(turso.DatabaseError, turso.InterfaceError)),
        ErrorRule(errors.DatabaseError, types=(turso.Error,)),
    ],
    code=lambda exc: None,
)


def _statement(raw: turso.Connection, sql: str, params: Sequence[Any], want: str) -> Any:
    """Run one statement and give back what ``want`` names: "rows", "described"
    (column names and rows), "count" (rows affected) or "lastrowid"."""
    cursor = raw.execute(sql, params)
    try:
        if want == "lastrowid":
            return cursor.lastrowid or 0
        described = cursor.description
        # a statement with rows (SELECT, RETURNING, PRAGMA) runs only when they are read
        rows = cursor.fetchall() if described is not None else []
        if want == "rows":
            return rows
        if want == "described":
            return [column[0] for column in described or ()], rows
        return len(rows) if described is not None else cursor.rowcount
    finally:
        cursor.close()


#: a raw ``PRAGMA journal_mode = ...`` (the mode it asks for is group 1)
_SET_JOURNAL_MODE = re.compile(
    r"\s*PRAGMA\s+(?:\w+\.)?journal_mode\s*=\s*['\"]?(\w+)", re.IGNORECASE
)

#: the open ormer connections to each Turso file of this process (":memory:" is private)
_OPEN: dict[str, weakref.WeakSet[TursoDriver]] = {}


def _file_key(path: str) -> str | None:
    if path == ":memory:" or path.startswith("file::memory:") or "mode=memory" in path:
        return None
    return os.path.realpath(path)


def _others_open(key: str | None, me: TursoDriver | None) -> int:
    """How many other ormer connections of this process have the file open."""
    if key is None:
        return 0
    return sum(1 for driver in _OPEN.get(key, ()) if driver is not me and not driver._closed)


def _switch_refused(path: str, current: str, wanted: str, others: int) -> errors.ConfigurationError:
    return errors.ConfigurationError(
        f"cannot switch Turso database {path!r} from journal mode {current!r} to {wanted!r}: "
        f"{others} other connection(s) of this process have it open in {current!r} mode. "
        f"Switch while this is the only connection, or open every connection with "
        f"journal_mode={wanted!r} (a pool's connect_options(journal_mode=...))"
    )


def _is_pragma(sql: str) -> bool:
    """Whether ``sql`` is a PRAGMA (a bounded look at its start: no cost on long SQL)."""
    return sql[:32].lstrip()[:6].upper() == "PRAGMA"


def _pragma_statement(
    raw: turso.Connection, sql: str, params: Sequence[Any], want: str
) -> tuple[Any, str]:
    """A PRAGMA (raw SQL) and, in the same hand-off, the journal mode in force after it."""
    return _statement(raw, sql, params, want), str(_pragma(raw, "PRAGMA journal_mode")).lower()


def _pragma(raw: turso.Connection, sql: str) -> Any:
    cursor = raw.execute(sql)
    try:
        row = cursor.fetchone()
        return None if row is None else row[0]
    finally:
        cursor.close()


def _setup(
    raw: turso.Connection, busy_ms: int, journal_mode: str | None, path: str, others: int
) -> str:
    """Session set-up; switch the file's journal mode if asked (and no other connection
    has the file open); return the mode in force."""
    raw.execute(f"PRAGMA busy_timeout = {busy_ms}").close()
    raw.execute("PRAGMA foreign_keys = ON").close()
    raw.execute("PRAGMA case_sensitive_like = ON").close()
    mode = str(_pragma(raw, "PRAGMA journal_mode")).lower()
    if journal_mode is not None and mode != journal_mode:
        if others:
            raise _switch_refused(path, mode, journal_mode, others)
        mode = str(_pragma(raw, f"PRAGMA journal_mode = '{journal_mode}'")).lower()
    return mode


class TursoDriver:
    """One Turso connection (autocommit mode: ormer issues BEGIN/COMMIT itself)."""

    __slots__ = (
        "__weakref__",
        "_aborted",
        "_aconn",
        "_budget_ms",
        "_closed",
        "_inflight",
        "_key",
        "_raw",
        "_short",
        "_writes",
        "inline",
        "path",
        "server_dialect",
    )

    def __init__(
        self,
        aconn: turso.aio.Connection,
        path: str,
        server_dialect: TursoDialect,
        short: dict[str, int] | None = None,
        budget: float = 0.001,
        writes: set[str] | None = None,
    ) -> None:
        self._aconn = aconn
        self._raw: turso.Connection = aconn._conn  # type: ignore[assignment]
        self._closed = False
        # short reads run on the loop's thread (None: never), stopped by pyturso's query
        # timeout (whole milliseconds, wall clock) past the budget: see _read_inline()
        self._short = short
        # the short statements that write (one-row INSERT ... RETURNING comes through
        # fetch): they keep the thread
        self._writes: set[str] = writes if writes is not None else set()
        self._budget_ms = max(1, round(budget * 1000))
        self._inflight = 0  # calls handed to the worker thread and not answered yet
        #: what ran inline, and what went back to the thread
        self.inline = InlineStats()
        # a failed statement ended the transaction inside Turso (a write-write conflict)
        self._aborted = False
        self.path = path
        #: the variant for the file's journal mode (SupportsServerDialect)
        self.server_dialect = server_dialect
        self._key = key = _file_key(path)
        if key is not None:
            _OPEN.setdefault(key, weakref.WeakSet()).add(self)

    @classmethod
    async def open(cls, path: str, options: dict[str, Any], dialect: TursoDialect) -> TursoDriver:
        """Open ``path``: foreign keys on, case-sensitive LIKE, the journal mode asked for."""
        parsed = OPTIONS.parse(keywords=options)
        busy_ms = int(parsed.values["timeout"] * 1000)
        journal_mode: str | None = parsed.values["journal_mode"]

        async def connect() -> TursoDriver:
            aconn = turso.aio.connect(path, isolation_level=None, **parsed.library)
            try:
                await aconn
                if not hasattr(aconn, "_run") or not hasattr(aconn, "_conn"):
                    raise errors.ConfigurationError(
                        "this pyturso version is not supported; use 0.8.3 or newer"
                    )
                others = _others_open(_file_key(path), None)
                mode = await aconn._run(
                    lambda: _setup(aconn._conn, busy_ms, journal_mode, path, others)  # type: ignore[arg-type]
                )
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.shield(aconn.close())
                raise
            inline = parsed.values["inline_reads"]
            return cls(
                aconn,
                path,
                dialect.variant(mode),
                dialect.short_statements if inline else None,
                parsed.values["inline_budget"],
                dialect.short_writes,
            )

        try:
            return await connect_within(
                parsed.values["connect_timeout"], connect, where=f"Turso database {path!r}"
            )
        except turso.Error as exc:
            raise errors.ConnectionError(f"cannot open Turso database {path!r}: {exc}") from exc
        except TypeError as exc:
            raise errors.ConfigurationError(f"bad Turso connect option: {exc}") from exc
        except Exception as exc:
            # pyturso's IoError (a missing directory, say) is no turso.Error subclass
            if type(exc).__module__.partition(".")[0] not in ("turso", "_turso"):
                raise
            raise errors.ConnectionError(f"cannot open Turso database {path!r}: {exc}") from exc

    async def _call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(*args)`` on the connection's thread: one hand-off."""
        raw = self._raw
        if self._aborted:
            self._aborted = False
            if args and args[0] == self.server_dialect.rollback_sql and not raw.in_transaction:
                return 0  # type: ignore[return-value]  # Turso already rolled it back
        self._inflight += 1
        try:
            result: R = await self._aconn._run(lambda: fn(raw, *args))
        except turso.DatabaseError:
            # Did the failure end an open transaction (a write-write conflict does)?
            self._aborted = not raw.in_transaction
            raise
        finally:
            self._inflight -= 1
        return result

    def _read_inline(self, sql: str, params: Sequence[Any]) -> list[Row] | object:
        """A short read on the loop's thread, no hand-off; :data:`THREAD` when pyturso's
        query timeout stopped it (it then runs on the worker thread, with a strike).
        Only reads run inline: a timeout firing while a write commits could not tell
        whether the write is done, and running it again could do it twice."""
        raw = self._raw
        if self._aborted:
            return THREAD  # the worker path answers the pending ROLLBACK bookkeeping
        raw.set_query_timeout(self._budget_ms)
        try:
            rows: list[Row] = _statement(raw, sql, params, "rows")
        except turso.OperationalError as exc:
            if "interrupt" not in str(exc).lower():
                self._aborted = not raw.in_transaction
                raise
            self.inline.fallbacks += 1
            assert self._short is not None
            strike(self._short, sql)
            return THREAD
        except turso.DatabaseError:
            self._aborted = not raw.in_transaction
            raise
        finally:
            raw.set_query_timeout(0)
        self.inline.reads += 1
        short = self._short
        if short is not None and short.get(sql) != STRIKES:
            short[sql] = STRIKES  # strikes count in a row
        return rows

    async def _pragma_call(self, sql: str, params: Sequence[Any], want: str) -> Any:
        """A PRAGMA: it may have switched the journal mode (``PRAGMA journal_mode =
        'mvcc'`` sent as raw SQL), so ``server_dialect`` follows the mode in force.
        A switch while other connections of this process have the file open is refused
        (ConfigurationError): they would go on in the old mode's dialect."""
        wanted = _SET_JOURNAL_MODE.match(sql)
        if wanted is not None:
            mode, current = wanted.group(1).lower(), self.server_dialect.journal_mode
            others = _others_open(self._key, self)
            if mode != current and others:
                raise _switch_refused(self.path, current, mode, others)
        result, mode = await self._call(_pragma_statement, sql, params, want)
        self.server_dialect = self.server_dialect.variant(mode)
        return result

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        if _is_pragma(sql):
            pragma_rows: list[Row] = await self._pragma_call(sql, params, "rows")
            return pragma_rows
        short = self._short
        if short is not None and sql in short and not self._inflight and sql not in self._writes:
            if yield_due():
                await asyncio.sleep(0)  # the loop's other tasks and timers get their turn
            if not self._inflight:  # still idle after the yield
                done = self._read_inline(sql, params)
                if done is not THREAD:
                    return done  # type: ignore[return-value]
        rows: list[Row] = await self._call(_statement, sql, params, "rows")
        return rows

    async def fetch_described(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        if _is_pragma(sql):
            pragma_described: tuple[list[str], list[Row]] = await self._pragma_call(
                sql, params, "described"
            )
            return pragma_described
        described: tuple[list[str], list[Row]] = await self._call(
            _statement, sql, params, "described"
        )
        return described

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        if _is_pragma(sql):
            pragma_count: int = await self._pragma_call(sql, params, "count")
            return pragma_count
        count: int = await self._call(_statement, sql, params, "count")
        return count

    async def insert_lastrowid(self, sql: str, params: Sequence[Any]) -> int:
        rowid: int = await self._call(_statement, sql, params, "lastrowid")
        return rowid

    async def stream(self, sql: str, params: Sequence[Any], batch: int) -> AsyncIterator[list[Row]]:
        """Batches from one cursor; each batch is one hand-off to the worker thread."""
        raw, run = self._raw, self._aconn._run
        cursor: turso.Cursor = await run(lambda: raw.execute(sql, params))
        try:
            more = True
            while more:
                chunk: list[Row] = await run(lambda: cursor.fetchmany(batch))
                more = len(chunk) == batch
                if chunk:
                    yield chunk
        finally:
            await run(cursor.close)

    async def cancel_statement(self) -> None:  # SupportsCancel
        """Interrupt the running statement (pyturso's ``interrupt()``, safe from any
        thread; a no-op when none runs): it fails with "interrupted"."""
        with contextlib.suppress(turso.Error):
            self._raw.interrupt()

    @property
    def in_transaction(self) -> bool:  # SupportsTransactionStatus
        return self._raw.in_transaction

    async def ping(self) -> None:
        await self._call(_pragma, "PRAGMA journal_mode")

    async def reset(self) -> None:
        """Session settings are those of a new connection; an open transaction is ended."""
        if self.in_transaction:
            await self._call(_statement, "ROLLBACK", (), "count")

    async def close(self) -> None:
        """Stop a statement still running (a cancelled caller's), close, end the thread."""
        if not self._closed:
            self._closed = True
            if self._key is not None:
                _OPEN.get(self._key, weakref.WeakSet()).discard(self)
            with contextlib.suppress(turso.Error):
                self._raw.interrupt()  # a no-op when idle
            await self._aconn.close()

    @property
    def is_closed(self) -> bool:
        return self._closed

    def translate_error(self, exc: BaseException) -> errors.OrmerError:
        """Map pyturso errors through :data:`ERRORS` (no side effects)."""
        return ERRORS.translate(exc)

"""The aiosqlite driver adapter.

aiosqlite runs each call on the connection's own thread; a thread hand-off
costs tens of microseconds, so every ormer statement is exactly one hand-off:
the execute, the fetch and the cursor close run together on that thread
(``aiosqlite.Connection._execute`` runs a function there; it has been part of
aiosqlite since its first releases).

A connection the user forgot to close must not keep the interpreter alive:
aiosqlite's worker thread is made a daemon before it starts, and a driver that
is garbage-collected (or still open at exit) unclosed emits a ResourceWarning,
then closes its SQLite connection and ends the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
import warnings
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, TypeVar

import aiosqlite

from ormer import errors
from ormer.driver import Row
from ormer.driverkit import (
    ErrorRule,
    ErrorRules,
    Option,
    OptionSet,
    as_bool,
    as_seconds,
    codes,
)

from .inline import STRIKES, THREAD, InlineStats, strike, yield_due

__all__ = ["SQLiteDriver"]

R = TypeVar("R")

DEFAULT_BUSY_TIMEOUT = 5.0

#: longest a short statement may run on the event loop's thread before SQLite's
#: progress handler stops it (it then runs again on the connection's thread)
DEFAULT_INLINE_BUDGET = 0.001
#: SQLite VM instructions between two checks of the budget (a few microseconds)
PROGRESS_STEPS = 200
#: inline writes in a row after which one runs on the worker thread: inline writes
#: leave the WAL checkpoint to the thread (a checkpoint copies and syncs up to
#: ``wal_autocheckpoint`` pages), and this one gets the chance to run it there
INLINE_WRITES_PER_CHECKPOINT = 100
#: SQLite's primary result code for a locked database (extended codes keep it in the
#: low byte: SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, ...)
SQLITE_BUSY = 5


#: the connect options ormer reads (URL query or keywords); the others go to sqlite3.connect
OPTIONS = OptionSet(
    "SQLite",
    [
        Option("timeout", as_seconds, DEFAULT_BUSY_TIMEOUT, aliases=("busy_timeout",)),
        Option("wal", as_bool, True),
        Option("inline_reads", as_bool, True),
        Option("inline_writes", as_bool, True),
        Option("inline_budget", as_seconds, DEFAULT_INLINE_BUDGET),
    ],
    passthrough=("detect_types", "cached_statements", "check_same_thread", "factory"),
)

#: sqlite3 errors by extended result code (``sqlite_errorname``), falling back on the message
ERRORS = ErrorRules(
    [
        ErrorRule(
            errors.UniqueViolationError,
            types=(sqlite3.IntegrityError,),
            codes=codes("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"),
            pattern="UNIQUE constraint",
        ),
        ErrorRule(
            errors.ForeignKeyViolationError,
            types=(sqlite3.IntegrityError,),
            codes=codes("SQLITE_CONSTRAINT_FOREIGNKEY"),
            pattern="FOREIGN KEY",
        ),
        ErrorRule(
            errors.NotNullViolationError,
            types=(sqlite3.IntegrityError,),
            codes=codes("SQLITE_CONSTRAINT_NOTNULL"),
            pattern="NOT NULL",
        ),
        ErrorRule(errors.IntegrityError, types=(sqlite3.IntegrityError,)),
        ErrorRule(
            errors.TransientError,
            types=(sqlite3.OperationalError,),
            prefixes=("SQLITE_BUSY", "SQLITE_LOCKED"),
            pattern="locked",
        ),
        ErrorRule(errors.QueryError, types=(sqlite3.OperationalError,)),
        # a closed connection (aiosqlite: "no active connection"): the connection is dead
        ErrorRule(errors.ConnectionLostError, types=(sqlite3.ProgrammingError,), pattern="closed"),
        ErrorRule(errors.ConnectionLostError, types=(ValueError,), pattern="no active connection"),
        ErrorRule(errors.QueryError, types=(sqlite3.ProgrammingError, sqlite3.InterfaceError)),
        ErrorRule(errors.DatabaseError, types=(sqlite3.DatabaseError,)),
    ],
    code=lambda exc: getattr(exc, "sqlite_errorname", None),
)

#: seconds an unclosed connection's worker thread gets to close it at exit
EXIT_CLOSE_TIMEOUT = 2.0


def _worker_thread(aconn: aiosqlite.Connection) -> threading.Thread | None:
    """aiosqlite's worker thread: the connection itself before 0.21, ``_thread`` after."""
    if isinstance(aconn, threading.Thread):
        return aconn
    thread = getattr(aconn, "_thread", None)
    return thread if isinstance(thread, threading.Thread) else None


async def _thread_ended(pending: Any, limit: float = 5.0) -> None:
    """Wait (polling, at most ``limit`` s) for an aiosqlite connection's worker thread."""
    thread = getattr(pending, "_thread", None)
    deadline = time.monotonic() + limit
    while thread is not None and thread.is_alive() and time.monotonic() < deadline:  # noqa: ASYNC110 (a thread, not a task)
        await asyncio.sleep(0.001)
    await asyncio.sleep(0)  # the thread's last callback (the stop's result) runs here


def _daemonize(aconn: aiosqlite.Connection) -> None:
    """Make the (not yet started) worker thread a daemon: it cannot block interpreter exit."""
    thread = _worker_thread(aconn)
    if thread is not None and thread.ident is None:
        thread.daemon = True


def _abandon(aconn: aiosqlite.Connection, raw: sqlite3.Connection, path: str) -> None:
    """A driver was garbage-collected (or is open at exit) without ``close()``.

    Warns, then closes the SQLite connection on its own thread and ends that
    thread, without touching an event loop (which may be closed by now).
    """
    try:
        warnings.warn(
            f"SQLite connection to {path!r} was never closed; close it with "
            "'await conn.close()' or open it with 'async with'",
            ResourceWarning,
            stacklevel=1,
        )
    finally:  # also when warnings are errors (-W error): the connection is closed
        _close_abandoned(aconn, raw)


def _close_abandoned(aconn: aiosqlite.Connection, raw: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        raw.interrupt()  # a statement still running stops now
    stop = getattr(aiosqlite.core, "_STOP_RUNNING_SENTINEL", None)

    def close_and_stop() -> object:
        raw.close()
        return stop

    aconn._running = False  # aiosqlite < 0.21 ends its thread on this once its queue is empty
    aconn._connection = None  # closed as far as aiosqlite is concerned: no second warning
    tx = getattr(aconn, "_tx", None)
    if tx is not None:
        tx.put_nowait((None, close_and_stop))
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # at exit, or in synchronous code: let the close finish
        thread = _worker_thread(aconn)
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(EXIT_CLOSE_TIMEOUT)


def _fetch(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[Row]:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _fetch_described(
    conn: sqlite3.Connection, sql: str, params: Sequence[Any]
) -> tuple[list[str], list[Row]]:
    cursor = conn.execute(sql, params)
    try:
        rows = cursor.fetchall()
        names = [d[0] for d in cursor.description or ()]
        return names, rows
    finally:
        cursor.close()


def _execute(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    cursor = conn.execute(sql, params)
    try:
        cursor.fetchall()  # runs statements with RETURNING/rows to completion
        return cursor.rowcount
    finally:
        cursor.close()


def _insert_lastrowid(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    cursor = conn.execute(sql, params)
    try:
        return cursor.lastrowid or 0
    finally:
        cursor.close()


def _setup(conn: sqlite3.Connection, path: str, busy_ms: int, wal: bool) -> None:
    conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA case_sensitive_like = ON")
    memory = path == ":memory:" or "mode=memory" in path or path.startswith("file::memory:")
    if wal and not memory:
        _enable_wal(conn, busy_ms)
        conn.execute("PRAGMA synchronous = NORMAL")


def _settings(conn: sqlite3.Connection) -> tuple[int, int]:
    """The busy timeout (ms) and WAL auto-checkpoint (pages) in force."""
    busy = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    pages = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    return int(busy), int(pages)


def _is_setting(sql: str) -> bool:
    """A raw ``PRAGMA`` that may change what inline writes switch off and back on."""
    head = sql.lstrip()[:6]
    return head.upper() == "PRAGMA" and (
        "busy_timeout" in sql.lower() or "autocheckpoint" in sql.lower()
    )


def _enable_wal(conn: sqlite3.Connection, busy_ms: int) -> None:
    """Switch the file to WAL (persistent: usually a no-op after the first connection).

    The switch needs an exclusive lock that SQLite's busy handler does not wait
    for, so connections opened together on a fresh file retry it here.
    """
    deadline = time.monotonic() + busy_ms / 1000
    while True:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() == "wal":
            return
        try:
            conn.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class SQLiteDriver:
    """One SQLite connection (autocommit mode: ormer issues BEGIN/COMMIT itself).

    Short statements (see :mod:`ormer_sqlite.inline`) run on the event loop's thread
    when no call is in flight on aiosqlite's: a progress handler stops one past
    ``inline_budget`` of CPU time and it runs again on the thread. Inline writes run
    only outside transactions, with the busy timeout and the WAL auto-checkpoint off
    (a locked database sends the write to the thread, which waits for the lock; the
    thread runs the checkpoints), and both back on before the next call on the thread.
    """

    __slots__ = (
        "__weakref__",
        "_aborted",
        "_aconn",
        "_budget",
        "_closed",
        "_deadline",
        "_finalizer",
        "_inflight",
        "_inline_mode",
        "_lockable",
        "_raw",
        "_settings",
        "_short",
        "_write_inline",
        "_writes",
        "_writes_left",
        "inline",
        "path",
    )

    def __init__(
        self,
        aconn: aiosqlite.Connection,
        path: str,
        short: dict[str, int] | None = None,
        budget: float = DEFAULT_INLINE_BUDGET,
        writes: set[str] | None = None,
        inline_writes: bool = True,
    ) -> None:
        self._aconn = aconn
        self._raw: sqlite3.Connection = aconn._conn
        self._closed = False
        self.path = path
        # statements known short run on the loop's thread (None: never): see _inline()
        self._short = short
        # the short statements that write (the dialect's: a write is never run inline
        # as a read), and whether they run inline
        self._writes: set[str] = writes if writes is not None else set()
        self._write_inline = inline_writes and short is not None
        self._budget = budget
        self._deadline = 0.0
        self._aborted = False
        self._inflight = 0  # calls handed to the worker thread and not answered yet
        # a file (a private memory database has neither locks nor a WAL to checkpoint)
        self._lockable = not (
            path == ":memory:" or "mode=memory" in path or path.startswith("file::memory:")
        )
        # inline writes switched the busy timeout and the WAL auto-checkpoint off
        self._inline_mode = False
        # what those two were (ms, pages), read when first needed (None: re-read)
        self._settings: tuple[int, int] | None = None
        self._writes_left = INLINE_WRITES_PER_CHECKPOINT
        #: what ran inline, and what went back to the thread
        self.inline = InlineStats()
        # runs when the driver is garbage-collected unclosed, or at interpreter exit
        self._finalizer = weakref.finalize(self, _abandon, aconn, self._raw, path)

    @classmethod
    async def open(
        cls,
        path: str,
        options: dict[str, Any],
        short: dict[str, int] | None = None,
        writes: set[str] | None = None,
    ) -> SQLiteDriver:
        """Open ``path``: WAL journal (files), foreign keys on, case-sensitive LIKE.

        ``short``: the dialect's short statements, which this connection runs on the
        event loop's thread (``inline_reads``) where no reader can wait on a lock: a
        WAL file or a private memory database; ``writes``: those of them that write
        (``inline_writes``).
        """
        parsed = OPTIONS.parse(keywords=options)
        timeout: float = parsed.values["timeout"]
        wal: bool = parsed.values["wal"]
        uri = path.startswith("file:")
        memory = path == ":memory:" or "mode=memory" in path or path.startswith("file::memory:")
        shared_cache = "cache=shared" in path
        inline = parsed.values["inline_reads"] and short is not None and not shared_cache
        inline = inline and (wal or memory)
        inline_writes = inline and parsed.values["inline_writes"]
        library = dict(parsed.library)
        if inline:
            # the loop's thread uses the connection too, never while the worker does
            library.setdefault("check_same_thread", False)
        try:
            pending = aiosqlite.connect(
                path, isolation_level=None, timeout=timeout, uri=uri, **library
            )
            _daemonize(pending)  # before the await starts the thread
            aconn = await pending
        except sqlite3.Error as exc:
            # aiosqlite stops its worker thread after a failed connect without waiting:
            # wait here, or the thread answers the stop on a loop that may be closed
            await _thread_ended(pending)
            raise errors.ConnectionError(f"cannot open SQLite database {path!r}: {exc}") from exc
        except TypeError as exc:
            raise errors.ConfigurationError(f"bad SQLite connect option: {exc}") from exc
        if not hasattr(aconn, "_execute") or not hasattr(aconn, "_conn"):
            await aconn.close()
            raise errors.ConfigurationError(
                "this aiosqlite version is not supported; use 0.20 or newer"
            )
        try:
            await aconn._execute(_setup, aconn._conn, path, int(timeout * 1000), wal)  # type: ignore[no-untyped-call]
        except sqlite3.Error as exc:
            await aconn.close()
            raise errors.ConnectionError(f"cannot set up SQLite database {path!r}: {exc}") from exc
        except BaseException:
            # cancelled during the set-up: close the connection (and its worker
            # thread, which would otherwise keep the interpreter from exiting)
            await aconn.close()
            raise
        if inline and library.get("check_same_thread") is not False:
            inline = inline_writes = False  # the caller insisted on thread checks
        return cls(
            aconn,
            path,
            short if inline else None,
            parsed.values["inline_budget"],
            writes,
            inline_writes,
        )

    async def _call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn(*args)`` on the connection's thread: one hand-off."""
        if self._inline_mode:
            self._leave_inline_mode()
        self._inflight += 1
        try:
            result: R = await self._aconn._execute(fn, *args)  # type: ignore[no-untyped-call]
        finally:
            self._inflight -= 1
        return result

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        short = self._short
        if short is not None and sql in short and not self._inflight:
            if yield_due():
                await asyncio.sleep(0)  # the loop's other tasks and timers get their turn
            if not self._inflight:  # still idle after the yield
                done = self._inline(_fetch, sql, params)
                if done is not THREAD:
                    return done  # type: ignore[return-value]
        rows = await self._call(_fetch, self._raw, sql, params)
        if self._write_inline and _is_setting(sql):
            self._settings = None  # a raw PRAGMA changed them: read them again
        return rows

    def _inline(
        self,
        fn: Callable[[sqlite3.Connection, str, Sequence[Any]], R],
        sql: str,
        params: Sequence[Any],
    ) -> R | object:
        """Run a short statement on the loop's thread, no hand-off; :data:`THREAD` when
        it must run on the worker thread instead: stopped past the budget (the statement
        gets a strike), found the database locked, a write inside a transaction, or the
        write that gives the thread its turn to checkpoint."""
        raw = self._raw
        write = sql in self._writes
        if write:
            if not self._write_inline:
                return THREAD
            if raw.in_transaction or self._writes_left <= 0:
                self._writes_left = INLINE_WRITES_PER_CHECKPOINT
                return THREAD
            if not self._inline_mode and self._lockable:
                self._enter_inline_mode()
            self._writes_left -= 1
        # the budget counts this thread's CPU time (waiting for the GIL while another
        # thread runs is not the statement being long), from the handler's first call:
        # reading that clock is a system call (~0.7 µs, a tenth of a lookup), and a
        # statement done within PROGRESS_STEPS never needs it
        self._deadline = 0.0
        self._aborted = False
        raw.set_progress_handler(self._over_budget, PROGRESS_STEPS)
        try:
            result = fn(raw, sql, params)
        except sqlite3.OperationalError as exc:
            if self._aborted:  # stopped past the budget: nothing was done (autocommit)
                self._aborted = False
                self.inline.fallbacks += 1
                assert self._short is not None
                strike(self._short, sql)
                if write and sql not in self._short:
                    self._writes.discard(sql)
                return THREAD
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF == SQLITE_BUSY:
                # locked (a write), or a WAL being recovered (a read): nothing was done;
                # the thread waits, up to the busy timeout
                self.inline.busy += 1
                return THREAD
            raise
        finally:
            raw.set_progress_handler(None, 0)
        if write:
            self.inline.writes += 1
        else:
            self.inline.reads += 1
        short = self._short
        if short is not None and short.get(sql) != STRIKES:
            short[sql] = STRIKES  # strikes count in a row
        return result

    def _over_budget(self) -> bool:
        now = time.thread_time()
        deadline = self._deadline
        if not deadline:  # the first check, PROGRESS_STEPS in: the budget starts
            self._deadline = now + self._budget
            return False
        if now > deadline:
            self._aborted = True
            return True
        return False

    def _enter_inline_mode(self) -> None:
        """No busy wait and no checkpoint on the loop's thread."""
        raw = self._raw
        if self._settings is None:
            self._settings = _settings(raw)
        raw.execute("PRAGMA busy_timeout = 0").close()
        raw.execute("PRAGMA wal_autocheckpoint = 0").close()
        self._inline_mode = True

    def _leave_inline_mode(self) -> None:
        """The busy timeout and the auto-checkpoint back on, before a call on the thread
        (none is in flight: inline writes run only when none is)."""
        assert self._settings is not None
        busy, pages = self._settings
        raw = self._raw
        raw.execute(f"PRAGMA busy_timeout = {busy}").close()
        raw.execute(f"PRAGMA wal_autocheckpoint = {pages}").close()
        self._inline_mode = False

    async def fetch_described(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        return await self._call(_fetch_described, self._raw, sql, params)

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        writes = self._writes
        if self._write_inline and sql in writes and not self._inflight:
            if yield_due():
                await asyncio.sleep(0)
            if not self._inflight:
                done = self._inline(_execute, sql, params)
                if done is not THREAD:
                    return done  # type: ignore[return-value]
        count = await self._call(_execute, self._raw, sql, params)
        if self._write_inline and _is_setting(sql):
            self._settings = None  # a raw PRAGMA changed them: read them again
        return count

    async def insert_lastrowid(self, sql: str, params: Sequence[Any]) -> int:
        writes = self._writes
        if self._write_inline and sql in writes and not self._inflight:
            if yield_due():
                await asyncio.sleep(0)
            if not self._inflight:
                done = self._inline(_insert_lastrowid, sql, params)
                if done is not THREAD:
                    return done  # type: ignore[return-value]
        return await self._call(_insert_lastrowid, self._raw, sql, params)

    async def stream(self, sql: str, params: Sequence[Any], batch: int) -> AsyncIterator[list[Row]]:
        run = self._call
        cursor: sqlite3.Cursor = await run(self._raw.execute, sql, params)
        try:
            while True:
                rows: list[Row] = await run(cursor.fetchmany, batch)
                if not rows:
                    return
                yield rows
                if len(rows) < batch:
                    return
        finally:
            await run(cursor.close)

    async def cancel_statement(self) -> None:
        """Interrupt the running statement (``sqlite3_interrupt``, safe from any thread;
        a no-op when none runs): it fails with "interrupted", the connection stays usable."""
        with contextlib.suppress(sqlite3.Error):
            self._raw.interrupt()

    @property
    def in_transaction(self) -> bool:
        return self._raw.in_transaction

    async def ping(self) -> None:
        await self.fetch("SELECT 1", ())

    async def reset(self) -> None:
        if self._raw.in_transaction:
            await self.execute("ROLLBACK", ())

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        # A statement still running (its caller was cancelled) is stopped rather
        # than awaited; interrupt() is safe from any thread and a no-op when idle.
        with contextlib.suppress(sqlite3.Error):
            self._raw.interrupt()
        await self._aconn.close()  # also ends aiosqlite's worker thread

    @property
    def is_closed(self) -> bool:
        return self._closed

    def translate_error(self, exc: BaseException) -> errors.OrmerError:
        """Map sqlite3 errors through :data:`ERRORS` (no side effects)."""
        return ERRORS.translate(exc)

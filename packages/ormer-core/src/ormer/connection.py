"""A connection: runs compiled statements on one driver connection.

What it offers is described in docs/queries.md, writes.md, transactions.md and raw-sql.md.

Every statement goes through :meth:`Connection._run`, the one place that
logs to ``ormer.sql``, calls the per-statement hooks (only when a plugin
implements them) and translates driver errors into ormer's tree.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import operator
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from . import plugins
from .driver import DriverCapabilities, SupportsServerDialect, capabilities, connection_lost
from .errors import (
    ConfigurationError,
    ConnectionError,
    NotSupportedError,
    OrmerError,
)
from .model import FieldInfo, Model, TableInfo, table_of
from .planner import insert_plan, raw_converter
from .query import QueryAPI
from .sqllog import LoggedParams
from .statements import InsertStmt
from .timeouts import DEFAULT, Timeout, check_timeout, run_timed
from .validation import validate_batch

if TYPE_CHECKING:
    from .dialect import URL, Dialect, DriverConnection, Dumper, Row
    from .migrations.plan import TablePlan

__all__ = ["Connection", "SessionState", "Transaction"]

log = logging.getLogger("ormer.sql")
M = TypeVar("M", bound=Model)
R = TypeVar("R")
_MAX_ROWS_PER_INSERT = 1000


class SessionState(enum.Flag):
    """What a connection needs before someone else may use it (``session_state()``).

    ``CLEAN``: nothing. ``NEEDS_ROLLBACK``: a transaction is open (through ormer or
    raw SQL). ``NEEDS_RESET``: raw SQL may have changed session settings.
    ``BROKEN``: closed, lost, or a statement was interrupted mid-flight (the protocol
    state is unknown): it must be discarded.
    """

    CLEAN = 0
    NEEDS_ROLLBACK = enum.auto()
    NEEDS_RESET = enum.auto()
    BROKEN = enum.auto()


class Transaction:
    """A transaction, or a savepoint when nested.

    ``async with conn.transaction():`` commits on success and rolls back on
    error; ``tx = await conn.begin()`` followed by ``await tx.commit()`` /
    ``await tx.rollback()`` does the same by hand.
    """

    __slots__ = ("_conn", "_isolation", "_mode", "_savepoint", "_state")

    def __init__(self, conn: Connection, isolation: str | None, mode: str | None) -> None:
        self._conn = conn
        self._isolation = isolation
        self._mode = mode
        self._savepoint: str | None = None
        self._state = "new"

    @property
    def is_active(self) -> bool:
        """Whether the transaction has begun and not yet ended."""
        return self._state == "active"

    async def start(self) -> Transaction:
        if self._state != "new":
            raise ConfigurationError("this transaction was already started")
        conn = self._conn
        dialect = conn.dialect
        if conn._tx_stack:
            if self._isolation is not None or self._mode is not None:
                raise ConfigurationError(
                    "a nested transaction is a savepoint: isolation and mode apply to the "
                    "outermost transaction only"
                )
            if not dialect.supports_savepoints:
                raise NotSupportedError(f"{dialect.name} has no savepoints")
            conn._savepoint_seq += 1
            self._savepoint = f"ormer_sp_{conn._savepoint_seq}"
            await conn._control(dialect.savepoint_sql(self._savepoint))
        else:
            statements = dialect.begin_statements(self._isolation, self._mode)
            if self._mode in dialect.concurrent_transaction_modes:
                conn._suspend_gate()
            took_gate = await conn._acquire_gate()
            try:
                for sql in statements:
                    await conn._control(sql)
            except BaseException:
                if took_gate:
                    conn._release_gate()
                conn._resume_gate()
                raise
        conn._tx_stack.append(self)
        self._state = "active"
        return self

    def _finish(self) -> None:
        if self._state != "active":
            raise ConfigurationError(f"the transaction is {self._state}, not active")
        stack = self._conn._tx_stack
        if not stack or stack[-1] is not self:
            raise ConfigurationError("end the inner (nested) transaction first")
        del stack[-1]

    async def commit(self) -> None:
        """Commit (or release the savepoint)."""
        self._finish()
        dialect = self._conn.dialect
        if self._savepoint is not None:
            self._state = "committed"
            await self._conn._control(dialect.release_savepoint_sql(self._savepoint))
            return
        try:
            await self._conn._control(dialect.commit_sql)
        except BaseException:
            self._state = "failed"
            # The server may have ended the transaction or not: make sure it is gone.
            await self._conn._quiet_rollback()
            raise
        finally:
            self._conn._release_gate()
        self._state = "committed"

    async def rollback(self) -> None:
        """Roll back (to the savepoint, when nested)."""
        self._finish()
        self._state = "rolled back"
        dialect = self._conn.dialect
        if self._savepoint is not None:
            await self._conn._control(dialect.rollback_to_savepoint_sql(self._savepoint))
            await self._conn._control(dialect.release_savepoint_sql(self._savepoint))
        else:
            try:
                await self._conn._control(dialect.rollback_sql)
            finally:
                self._conn._release_gate()

    async def __aenter__(self) -> Transaction:
        if self._state == "new":
            _ = await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._state != "active":
            return
        if exc_type is None:
            await self.commit()
        elif issubclass(exc_type, Exception):
            try:
                await self.rollback()
            except ConnectionError as error:
                if not self._conn.is_closed:
                    raise
                # The connection died in the block (the server ended the transaction
                # with it): the block's own error (ConnectionLostError) says so, not
                # "the connection is closed" from a ROLLBACK that could not be sent.
                log.debug("rollback after %s failed: %s", exc_type.__name__, error)
        else:
            # Cancelled (or interrupted) inside the block, maybe mid-statement: a
            # rollback the connection cannot run must not replace the cancellation.
            # Its state is then unknown, as after an interrupted statement (a pool
            # discards it).
            try:
                await self.rollback()
            except Exception as error:
                log.debug("rollback after %s failed: %s", exc_type.__name__, error)
                self._conn.mark_interrupted()

    def __await__(self) -> Generator[Any, None, Transaction]:
        return self.start().__await__()


class Connection(QueryAPI):
    """One database connection with the full query API.

    Made by ``await Database.connect(...)``; ``async with`` closes it on exit.
    """

    __slots__ = (
        "__weakref__",
        "_caps",
        "_closed",
        "_dialect",
        "_driver",
        "_gate",
        "_gate_held",
        "_gate_suspended",
        "_interrupted",
        "_savepoint_seq",
        "_session_dirty",
        "_statement_timeout",
        "_target",
        "_tx_stack",
    )

    def __init__(
        self,
        dialect: Dialect,
        driver: DriverConnection,
        write_gate: asyncio.Lock | None = None,
        caps: DriverCapabilities | None = None,
        target: URL | None = None,
    ) -> None:
        # The driver's optional capabilities, read once per driver connection (a pool
        # passes the ones it read when the connection opened). The driver may carry the
        # dialect variant for the server it reached (MariaDB vs MySQL: RETURNING or not).
        self._caps = caps = caps if caps is not None else capabilities(driver, dialect)
        self._dialect: Dialect = caps.server_dialect or dialect
        self._driver = driver
        self._closed = False
        self._tx_stack: list[Transaction] = []
        self._savepoint_seq = 0
        self._session_dirty = False
        # True while a statement is in flight: still True after a cancellation
        # interrupted one, so a pool knows the protocol state is unknown.
        self._interrupted = False
        # A pool over a database that allows one writer at a time (SQLite) shares
        # one lock between its connections: writes and transactions hold it.
        self._gate = write_gate
        self._gate_held = False
        # the gate, while a transaction in a concurrent mode runs without it
        self._gate_suspended: asyncio.Lock | None = None
        self._statement_timeout: float | None = None
        self._target = target  # the URL it was opened with (server address for tracing)

    @property
    def server_address(self) -> str | None:
        """The host (or, for an embedded database, None) this connection was opened to;
        the first host of a multi-host URL."""
        return None if self._target is None else self._target.host

    @property
    def server_port(self) -> int | None:
        """The port this connection was opened to (None: the driver's default, or none)."""
        return None if self._target is None else self._target.port

    @property
    def database_name(self) -> str | None:
        """The database (for SQLite, the file) this connection was opened on."""
        return None if self._target is None else self._target.database

    @property
    def statement_timeout(self) -> float | None:
        """The limit, in seconds, of each statement that sets none itself (None: no limit).

        Set it here, with ``Database.connect(..., statement_timeout=s)``, the URL
        option ``?statement_timeout=s`` or a pool's ``.statement_timeout(s)``; a
        builder's ``.timeout(s)`` (or ``timeout=`` of raw SQL) overrides it.
        Transaction control (BEGIN, COMMIT, ROLLBACK, savepoints) and schema
        statements are not limited. A statement over its limit is cancelled on
        the server and raises StatementTimeoutError.
        """
        return self._statement_timeout

    @statement_timeout.setter
    def statement_timeout(self, seconds: float | None) -> None:
        self._statement_timeout = check_timeout(seconds, "statement_timeout")

    def driver_in_transaction(self) -> bool:
        """Whether the driver reports an open transaction (raw BEGIN included)."""
        status = self._caps.transaction_status
        return status is not None and status.in_transaction

    # -- session state (what a pool reads before handing the connection on) -----------------
    def session_state(self) -> SessionState:
        """What this connection needs before another user may have it."""
        if self._interrupted or self._closed or self._driver.is_closed:
            return SessionState.BROKEN
        state = SessionState.CLEAN
        if self._tx_stack or self.driver_in_transaction():
            state |= SessionState.NEEDS_ROLLBACK
        if self._session_dirty:
            state |= SessionState.NEEDS_RESET
        return state

    @property
    def statement_interrupted(self) -> bool:
        """Whether a statement was cut off mid-flight on this side (its task
        cancelled): the server may still be running it."""
        return self._interrupted

    @property
    def lost_to_server(self) -> bool:
        """Whether a statement found the connection lost (the server or the network
        ended it), as opposed to a statement this side cancelled or abandoned."""
        return self._closed and not self._interrupted and self._driver.is_closed

    def broken_reason(self) -> str:
        """Why :meth:`session_state` says BROKEN (for logs)."""
        if self._interrupted:
            return "a statement was interrupted (cancelled mid-query)"
        return "broken"

    async def restore_session(self) -> None:
        """Roll back an open transaction and reset session settings, as needed.

        Raises what the driver raises; the connection is then to be discarded.
        """
        state = self.session_state()
        if SessionState.NEEDS_ROLLBACK in state:
            self._tx_stack.clear()
            await self._driver.execute(self._dialect.rollback_sql, ())
        if SessionState.NEEDS_RESET in state:
            await self._driver.reset()
            self._session_dirty = False

    def mark_interrupted(self) -> None:
        """Record that a statement may have been cut off mid-flight (state unknown)."""
        self._interrupted = True

    def release_write_gate(self) -> None:
        """Give back the write gate if this connection holds it (a pool's SQLite writers)."""
        self._release_gate()

    def held_write_gate(self) -> asyncio.Lock | None:
        """The write gate this connection holds, if any."""
        return self._gate if self._gate_held else None

    async def _acquire_gate(self) -> bool:
        """Take the write gate if this connection has one and does not hold it yet."""
        if self._gate is None or self._gate_held:
            return False
        await self._gate.acquire()
        self._gate_held = True
        return True

    def _release_gate(self) -> None:
        if self._gate_held:
            self._gate_held = False
            assert self._gate is not None
            self._gate.release()
        self._resume_gate()

    def _suspend_gate(self) -> None:
        """A transaction in a concurrent mode begins: it and its statements skip the gate."""
        if self._gate is not None and not self._gate_held:
            self._gate_suspended, self._gate = self._gate, None

    def _resume_gate(self) -> None:
        """The concurrent transaction ended: writes take the gate again."""
        if self._gate_suspended is not None:
            self._gate, self._gate_suspended = self._gate_suspended, None

    async def _write(
        self,
        op: Callable[[str, Any], Awaitable[R]],
        sql: str,
        params: Any,
        timeout: Timeout = DEFAULT,
    ) -> R:
        """A statement that may write: serialised through the write gate, if any."""
        if self._gate is None or self._gate_held:
            return await self._run(op, sql, params, timeout)
        async with self._gate:
            self._gate_held = True
            try:
                return await self._run(op, sql, params, timeout)
            finally:
                self._gate_held = False

    @property
    def dialect(self) -> Dialect:
        """The dialect this connection speaks."""
        return self._dialect

    @property
    def driver(self) -> DriverConnection:
        """The backend's driver adapter (for backend-specific needs)."""
        return self._driver

    @property
    def in_transaction(self) -> bool:
        """Whether a transaction opened through ormer is active."""
        return bool(self._tx_stack)

    @property
    def transaction_mode(self) -> str | None:
        """The ``mode=`` of the outermost active transaction (None: none, or the default)."""
        return self._tx_stack[0]._mode if self._tx_stack else None

    @property
    def is_closed(self) -> bool:
        return self._closed or self._driver.is_closed

    # -- running statements -------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionError("the connection is closed")

    async def _run(
        self,
        op: Callable[[str, Any], Awaitable[R]],
        sql: str,
        params: Any,
        timeout: Timeout = DEFAULT,
    ) -> R:
        self._check_open()
        if timeout is DEFAULT:
            timeout = self._statement_timeout
        if timeout is not None:
            op = self._timed(op, timeout)
        hooks = plugins.query_hooks()
        before, after = hooks.before_execute, hooks.after_execute
        logging_on = log.isEnabledFor(logging.DEBUG)
        if before is None and after is None and not logging_on:
            self._interrupted = True
            try:
                fast = await op(sql, params)
            except Exception as exc:
                self._interrupted = False
                translated = self._translate(exc)
                if translated is exc:  # ormer's own (a statement timeout): keep its cause
                    raise
                raise translated from exc
            self._interrupted = False
            return fast
        if before is not None:
            before(sql=sql, params=params, dialect=self._dialect, conn=self)
        start = time.perf_counter()
        error: BaseException | None = None
        result: Any = None
        self._interrupted = True
        try:
            result = await op(sql, params)
            self._interrupted = False
            return result  # type: ignore[no-any-return]
        except Exception as exc:
            self._interrupted = False
            error = self._translate(exc)
            if error is exc:
                raise
            raise error from exc
        except BaseException as exc:  # cancelled mid-statement: report it as such
            error = exc
            raise
        finally:
            elapsed = time.perf_counter() - start
            if logging_on:
                log.debug("%s %s (%.3f ms)", sql, LoggedParams(params), elapsed * 1000)
            if after is not None:
                rowcount = _rowcount(result)
                after(
                    sql=sql,
                    params=params,
                    dialect=self._dialect,
                    elapsed=elapsed,
                    rowcount=rowcount,
                    error=error,
                    conn=self,
                )

    def _timed(
        self, op: Callable[[str, Any], Awaitable[R]], timeout: float
    ) -> Callable[[str, Any], Awaitable[R]]:
        """``op`` under a statement timeout (ormer.timeouts)."""
        cancel = self._caps.cancel

        def timed(sql: str, params: Any) -> Awaitable[R]:
            return run_timed(
                lambda: op(sql, params), timeout, cancel, self._abandon, self._translate
            )

        return timed

    def _abandon(self) -> None:
        """A timed-out statement was cut off mid-flight: the connection's protocol state
        is unknown, so it is done for (a pool discards it; ``close()`` closes the driver)."""
        self._closed = True

    def _translate(self, exc: Exception) -> OrmerError:
        if isinstance(exc, OrmerError):
            return exc
        err = self._driver.translate_error(exc)
        if connection_lost(err):
            self._closed = True
        return err

    def _fetch(
        self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT
    ) -> Coroutine[Any, Any, list[Row]]:
        # _run's coroutine itself: no coroutine of its own around it (a lookup's path)
        return self._run(self._driver.fetch, sql, params, timeout)

    # a builder's SELECT: on a plain connection, exactly _fetch (no extra frame)
    _read = _fetch

    async def _execute(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> int:
        return await self._write(self._driver.execute, sql, params, timeout)

    async def _control(self, sql: str) -> None:
        await self._write(self._driver.execute, sql, (), None)

    async def _quiet_rollback(self) -> None:
        try:
            await self._driver.execute(self._dialect.rollback_sql, ())
        except Exception as exc:  # no transaction left to roll back, or connection gone
            log.debug("rollback after a failed commit: %s", exc)
        self._tx_stack.clear()

    async def _stream(
        self, sql: str, params: Sequence[Any], batch: int, timeout: Timeout = DEFAULT
    ) -> AsyncIterator[list[Row]]:
        self._check_open()
        if timeout is DEFAULT:
            timeout = self._statement_timeout
        hooks = plugins.query_hooks()
        if hooks.before_execute is not None:
            hooks.before_execute(sql=sql, params=params, dialect=self._dialect, conn=self)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s %s (stream, batch=%d)", sql, LoggedParams(params), batch)
        start = time.perf_counter()
        count = 0
        error: BaseException | None = None
        stream = self._driver.stream(sql, params, batch)
        next_batch: Callable[[], Awaitable[list[Row]]] = stream.__anext__
        if timeout is not None:  # the limit applies to each batch's round trip
            limit, cancel, untimed = timeout, self._caps.cancel, next_batch

            def next_batch() -> Awaitable[list[Row]]:
                return run_timed(untimed, limit, cancel, self._abandon, self._translate)

        # The cursor is open until the stream ends: a pool must not reuse the
        # connection mid-stream, so it counts as a statement in flight.
        self._interrupted = True
        try:
            while True:
                try:
                    rows = await next_batch()
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    error = self._translate(exc)
                    if error is exc:
                        raise
                    raise error from exc
                count += len(rows)
                yield rows
            self._interrupted = False
        except GeneratorExit:  # the consumer stopped early: close the cursor cleanly
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
            self._interrupted = False
            raise
        except BaseException as exc:
            error = error or exc
            raise
        finally:
            if hooks.after_execute is not None:
                hooks.after_execute(
                    sql=sql,
                    params=params,
                    dialect=self._dialect,
                    elapsed=time.perf_counter() - start,
                    rowcount=count,
                    error=error,
                    conn=self,
                )

    async def _insert(
        self,
        objects: Sequence[Model],
        upsert: bool,
        conflict: tuple[FieldInfo, ...],
        timeout: Timeout = DEFAULT,
    ) -> int:
        if not objects:
            return 0
        info = table_of(type(objects[0]))
        values = validate_batch(objects, info)
        took_gate = await self._acquire_gate()
        try:
            return await self._insert_validated(info, objects, upsert, conflict, values, timeout)
        finally:
            if took_gate:
                self._release_gate()

    async def _insert_validated(
        self,
        info: TableInfo,
        objects: Sequence[Model],
        upsert: bool,
        conflict: tuple[FieldInfo, ...],
        values: list[tuple[Any, ...]] | None = None,
        timeout: Timeout = DEFAULT,
    ) -> int:
        """``values``: each object's values in ``info.fields`` order, when known;
        ``timeout``: the limit of each statement."""
        auto = info.auto
        with_key: list[Model] = []
        without_key: list[Model] = []
        key_values: list[tuple[Any, ...]] | None = values
        no_key_values: list[tuple[Any, ...]] | None = None
        if auto is None:
            with_key = list(objects)
        elif values is None:  # each part reads its own values
            for obj in objects:
                if obj.__dict__.get(auto.attr) is None:
                    without_key.append(obj)
                else:
                    with_key.append(obj)
        else:  # split the values read by the validation too: the rows validated are sent
            at = info.fields.index(auto)
            key_values, no_key_values = [], []
            for obj, row in zip(objects, values):
                if row[at] is None:
                    without_key.append(obj)
                    no_key_values.append(row)
                else:
                    with_key.append(obj)
                    key_values.append(row)
            no_key_values = _without_column(no_key_values, at, len(info.fields))
        dialect = self._dialect
        copy_rows: list[Model] = []
        if (
            dialect.supports_bulk_copy
            and not upsert
            and len(with_key) >= dialect.bulk_copy_min_rows
            and self._caps.copy is not None
        ):
            copy_rows, with_key = with_key, []  # nothing to read back: one bulk copy
        plan: list[
            tuple[tuple[FieldInfo, ...], list[Model], bool, list[tuple[Any, ...]] | None]
        ] = []
        if with_key:
            plan.append((info.fields, with_key, False, key_values))
        if without_key:
            columns = tuple(f for f in info.fields if f is not auto)
            plan.append((columns, without_key, True, no_key_values))
        chunks = [
            (
                columns,
                group[i : i + size],
                wants_key,
                rows[i : i + size] if rows is not None else None,
            )
            for columns, group, wants_key, rows in plan
            for size in [self._rows_per_statement(len(columns))]
            for i in range(0, len(group), size)
        ]
        if not copy_rows and len(chunks) == 1:
            return await self._insert_chunk(info, *chunks[0], upsert, conflict, timeout)
        if copy_rows and not chunks and not self._tx_stack:
            return await self._copy(info, copy_rows, key_values, timeout)  # one statement: atomic
        total = 0
        async with self.transaction():
            if copy_rows:
                total += await self._copy(info, copy_rows, key_values, timeout)
            for chunk in chunks:
                total += await self._insert_chunk(info, *chunk, upsert, conflict, timeout)
        return total

    @staticmethod
    def _row_values(
        columns: tuple[FieldInfo, ...],
        objects: Sequence[Model],
        dumpers: Sequence[Dumper | None],
        values: list[tuple[Any, ...]] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Each object's column values in ``columns`` order (``values`` when already
        read), through ``dumpers``."""
        rows: list[tuple[Any, ...]]
        if values is not None:
            rows = values
        elif not columns:
            rows = [() for _ in objects]
        elif len(columns) == 1:
            one = operator.itemgetter(columns[0].attr)
            rows = [(one(obj.__dict__),) for obj in objects]
        else:
            get = operator.itemgetter(*[f.attr for f in columns])
            rows = [get(obj.__dict__) for obj in objects]
        dumped = [(i, d) for i, d in enumerate(dumpers) if d is not None]
        if not dumped:
            return rows
        out = []
        for row in rows:
            cells = list(row)
            for i, dump in dumped:
                value = cells[i]
                if value is not None:
                    cells[i] = dump(value)
            out.append(tuple(cells))
        return out

    async def _copy(
        self,
        info: TableInfo,
        objects: Sequence[Model],
        values: list[tuple[Any, ...]] | None = None,
        timeout: Timeout = DEFAULT,
    ) -> int:
        """A batch through the driver's bulk copy (``Dialect.supports_bulk_copy``)."""
        columns = info.fields
        dialect = self._dialect
        dumpers = [dialect.dumper(f.type) for f in columns]
        rows = self._row_values(columns, objects, dumpers, values)
        names = [f.column for f in columns]
        copier = self._caps.copy
        assert copier is not None  # checked by the caller
        copy_rows = copier.copy_rows
        quote = dialect.quote
        sql = f"COPY {quote(info.name)} ({', '.join(quote(n) for n in names)}) FROM STDIN"

        async def copy(sql: str, rows: Sequence[Sequence[Any]]) -> int:
            n: int = await copy_rows(info.name, names, rows)
            return n

        return await self._write(copy, sql, rows, timeout)

    def _rows_per_statement(self, width: int) -> int:
        if width == 0:  # only database-made values: INSERT ... DEFAULT VALUES, a row each
            return 1
        return max(1, min(_MAX_ROWS_PER_INSERT, self._dialect.max_bind_params // width))

    async def _insert_chunk(
        self,
        info: TableInfo,
        columns: tuple[FieldInfo, ...],
        objects: list[Model],
        wants_key: bool,
        values: list[tuple[Any, ...]] | None,
        upsert: bool,
        conflict: tuple[FieldInfo, ...],
        timeout: Timeout = DEFAULT,
    ) -> int:
        dialect = self._dialect
        auto = info.auto
        returning = (auto,) if wants_key and auto is not None and dialect.supports_returning else ()
        stmt = InsertStmt(info, columns, len(objects), returning, upsert, conflict)
        plan = insert_plan(dialect, stmt)
        sql, dumpers = plan.sql, plan.dumpers
        params: list[Any] = []
        extend = params.extend
        for cells in self._row_values(columns, objects, dumpers, values):
            extend(cells)
        if returning:
            rows = await self._fetch(sql, params, timeout)
            if auto is not None and len(rows) == len(objects):
                load = dialect.loader(auto.type)
                for obj, row in zip(objects, rows):
                    obj.__dict__[auto.attr] = row[0] if load is None else load(row[0])
            return len(rows)
        if wants_key and auto is not None:
            last_row_id = self._caps.last_row_id
            assert last_row_id is not None  # checked when the connection opened
            first_or_last = await self._write(last_row_id.insert_lastrowid, sql, params, timeout)
            n = len(objects)
            start = first_or_last if dialect.lastrowid_is_first else first_or_last - n + 1
            for i, obj in enumerate(objects):
                obj.__dict__[auto.attr] = start + i
            return n
        return await self._execute(sql, params, timeout)

    # -- transactions ----------------------------------------------------------------------
    def transaction(self, isolation: str | None = None, mode: str | None = None) -> Transaction:
        """``async with conn.transaction():`` — nested blocks become savepoints.

        ``isolation``: "read committed", "repeatable read", "serializable", ...
        ``mode``: dialect-specific (SQLite: "deferred", "immediate", "exclusive").
        """
        return Transaction(self, isolation, mode)

    def begin(self, isolation: str | None = None, mode: str | None = None) -> Transaction:
        """``tx = await conn.begin()``; then ``await tx.commit()`` or ``rollback()``."""
        return Transaction(self, isolation, mode)

    # -- raw SQL -----------------------------------------------------------------------------
    async def _raw(
        self,
        op: Callable[[str, Any], Awaitable[R]],
        sql: str,
        params: Any,
        timeout: Timeout = DEFAULT,
    ) -> R:
        """Run user SQL: it may change session state, and (a ``PRAGMA`` switching a journal
        mode, say) the server variant the driver reports."""
        self._session_dirty = True
        result = await self._write(op, sql, _params(params), timeout)
        if self._caps.server_dialect is not None:
            self._reread_server_dialect()
        return result

    async def exec_rows(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: Timeout = DEFAULT
    ) -> list[tuple[Any, ...]]:
        """Run raw SQL (driver placeholder style) and return its rows as tuples.

        ``timeout``: the statement's limit in seconds (None: no limit; default:
        ``statement_timeout``), as for every raw SQL method.
        """
        rows = await self._raw(self._driver.fetch, sql, params, _limit(timeout))
        return [tuple(r) for r in rows]

    async def exec_non_query(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: Timeout = DEFAULT
    ) -> int:
        """Run raw SQL and return the affected row count."""
        return await self._raw(self._driver.execute, sql, params, _limit(timeout))

    async def exec_table(
        self,
        model: type[M],
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> list[M]:
        """Run raw SQL and map its columns, by name, onto ``model`` objects."""
        table_of(model)  # ConfigurationError for a non-model, before any SQL
        names, rows = await self._raw(self._driver.fetch_described, sql, params, _limit(timeout))
        result: list[M] = raw_converter(self._dialect, model, names)(rows)
        return result

    def _reread_server_dialect(self) -> None:
        """After raw SQL: follow the driver if it now reports another dialect variant
        (a ``PRAGMA`` that switched a Turso file to MVCC, say). Only for drivers with
        ``server_dialect``; the capabilities are read again for the new variant."""
        server = cast(SupportsServerDialect, self._driver).server_dialect
        if server is not self._dialect:
            self._caps = capabilities(self._driver, server)
            self._dialect = server
            self._server_dialect_changed()

    def _server_dialect_changed(self) -> None:
        """Hook: the driver switched variant (a pool records it for later borrowers)."""

    # -- schema ---------------------------------------------------------------------------------
    async def create_table(self, model: type[Model], if_not_exists: bool = True) -> None:
        """CREATE TABLE for a model, with its unique constraints, indexes and foreign keys."""
        compiler = self._dialect.compiler(self._dialect)
        for sql in compiler.create_table_sql(table_of(model), if_not_exists):
            await self._control(sql)

    async def drop_table(self, model: type[Model], if_exists: bool = True) -> None:
        """DROP TABLE for a model."""
        compiler = self._dialect.compiler(self._dialect)
        await self._control(compiler.drop_table_sql(table_of(model), if_exists))

    async def plan_table(self, model: type[Model]) -> TablePlan:
        """What :meth:`migrate_table` would do to bring ``model``'s table up to date: a
        :class:`~ormer.migrations.TablePlan` whose ``steps`` each have a readable
        ``str()``, their SQL and a ``destructive`` flag (no steps: up to date). Reads the
        catalog and counts rows; changes nothing (docs/migrations.md)."""
        from .migrations.plan import plan_table

        return await plan_table(self, model)

    async def migrate_table(
        self, model: type[Model], *, allow_destructive: bool = False
    ) -> TablePlan:
        """Create ``model``'s table if missing, else apply :meth:`plan_table`'s steps and
        return the plan applied. A destructive step (dropping a column or index holding
        data, narrowing a type, NOT NULL over NULLs) raises
        :class:`~ormer.errors.MigrationError` naming it, with nothing changed, unless
        ``allow_destructive=True``. One transaction where DDL is transactional
        (PostgreSQL, SQLite, Turso); MySQL/MariaDB commit statement by statement."""
        from .migrations.plan import migrate_table

        return await migrate_table(self, model, allow_destructive=allow_destructive)

    # -- closing ---------------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the connection (a no-op when already closed)."""
        if self._closed and self._driver.is_closed:
            return
        self._closed = True
        await self._driver.close()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<ormer.Connection {self._dialect.name} {state}>"


def _rowcount(result: Any) -> int:
    """Rows a statement returned or affected, for ``ormer_after_execute``."""
    if isinstance(result, int):
        return result
    if isinstance(result, list):
        return len(result)
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], list):
        return len(result[1])  # fetch_described: (names, rows)
    return -1


def _limit(timeout: Timeout) -> Timeout:
    """A ``timeout=`` argument, checked."""
    return timeout if timeout is DEFAULT else check_timeout(timeout)


def _params(params: Sequence[Any] | None) -> list[Any]:
    """Raw SQL parameters: a sequence in the driver's placeholder order."""
    if params is None:
        return []
    if isinstance(params, (dict, str, bytes)):
        raise ConfigurationError(
            "raw SQL params must be a list or tuple of values in placeholder order, "
            f"not {type(params).__name__}"
        )
    return list(params)


def _without_column(rows: list[tuple[Any, ...]], at: int, width: int) -> list[tuple[Any, ...]]:
    """``rows`` (each ``width`` values) without the value at index ``at``."""
    rest = [i for i in range(width) if i != at]
    if not rest:
        return [() for _ in rows]
    if len(rest) == 1:
        one = rest[0]
        return [(row[one],) for row in rows]
    return list(map(operator.itemgetter(*rest), rows))

"""The connection pool (docs/pool.md), backend-agnostic over ``DriverConnection``.

Bookkeeping invariants, true between any two awaits:

* ``_size`` = open connections + connects in flight + grants of capacity
  handed to waiters; it never exceeds ``max_size``.
* ``_size == len(_idle) + len(_holders) + _opening``, where ``_opening``
  counts connects in flight (including granted capacity) and connections
  being health-checked.
* idle connections are a stack (most recently used on top); waiters are a
  FIFO queue of futures. A release hands its connection (or, when it was
  discarded, the capacity to open one) straight to the oldest live waiter.

A checkout costs no round trip when the connection is clean: the borrower's
``Connection`` records whether it left a transaction open, ran raw SQL or was
interrupted mid-statement, and only then is it rolled back, reset or
discarded. Health pings happen only after ``health_check`` seconds idle.

Every wait of ``get()`` is bounded by its deadline: the queue, the connect and the
health ping (the last two run in a task abandoned, and cancelled, at the deadline).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
import traceback
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Generator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from . import plugins
from .connection import Connection, SessionState
from .driver import DriverCapabilities, capabilities
from .errors import (
    ConfigurationError,
    ConnectionError,
    ConnectionLostError,
    ConnectionReleasedError,
    OrmerError,
    PoolClosedError,
    PoolExhaustedByTaskError,
    PoolTimeoutError,
)
from .model import FieldInfo, Model
from .query import QueryAPI
from .timeouts import DEFAULT, Timeout, check_timeout, take_option

if TYPE_CHECKING:
    from .dialect import URL, Dialect, DriverConnection, Row
    from .migrations.plan import TablePlan
    from .replicas import ReplicatedPoolBuilder

__all__ = ["Pool", "PoolBuilder", "PoolOptions", "PoolStats", "PooledConnection"]

log = logging.getLogger("ormer.pool")
M = TypeVar("M", bound=Model)
P = TypeVar("P", bound="Pool")
_CAPACITY: Any = object()  # a grant to a waiter: "open a connection, the slot is yours"


class _WaitExpired(Exception):
    """Set on a waiter whose deadline passed (the borrower turns it into PoolTimeoutError).

    ``described``: the pool as it was when the deadline passed, built before any
    waiter of the same sweep was failed (so it counts them all as waiting).
    """

    def __init__(self, described: str) -> None:
        super().__init__(described)
        self.described = described


#: seconds after a failed connect during which waiters wait for the pool's live
#: connections instead of each opening one (one waiter retries when it ends)
CONNECT_BACKOFF = 1.0


# Frames left out of the ORMER_DEBUG "Acquired at" stack: the event loop's, and
# ormer's own below the borrower (get, __aenter__, the one-statement query methods).
_ASYNCIO_DIR = os.path.dirname(asyncio.__file__) + os.sep
_ORMER_DIR = os.path.dirname(__file__) + os.sep
_ORMER_TESTING_DIR = os.path.join(_ORMER_DIR, "testing") + os.sep


def _borrower_stack() -> list[str]:
    """Where a connection is being acquired: the borrower's frames, innermost last."""
    frames = traceback.extract_stack()
    while frames and frames[-1].filename.startswith(_ORMER_DIR):
        if frames[-1].filename.startswith(_ORMER_TESTING_DIR):
            break
        frames.pop()
    kept = [f for f in frames if not f.filename.startswith(_ASYNCIO_DIR)] or frames
    task = asyncio.current_task()
    header = [f"  (in task {task.get_name()!r})\n"] if task is not None else []
    return header + traceback.format_list(kept)


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of a pool (``pool.stats()``)."""

    size: int
    idle: int
    in_use: int
    waiting: int
    min_size: int
    max_size: int
    acquired: int
    created: int
    closed: int
    timeouts: int


class _Holder:
    """One open driver connection owned by the pool."""

    __slots__ = ("caps", "created", "driver", "last_used", "task", "write_gate")

    def __init__(
        self, driver: DriverConnection, caps: DriverCapabilities, write_gate: asyncio.Lock | None
    ) -> None:
        self.driver = driver
        self.caps = caps  # read when the connection opened (again if raw SQL switched variant)
        self.created = self.last_used = time.monotonic()
        self.write_gate = write_gate
        # the task that borrowed it (None while idle): a task holding every
        # connection that asks for one more fails fast instead of waiting on itself
        self.task: asyncio.Task[Any] | None = None


class PooledConnection(Connection):
    """A connection borrowed from a pool: the full query API of :class:`Connection`.

    ``await conn.release()`` (or leaving ``async with pool.get()``) returns it;
    using it afterwards raises ConnectionReleasedError. ``await conn.close()``
    retires the underlying connection instead of returning it.
    """

    __slots__ = ("_deadline", "_holder", "_oneshot", "_pool", "_released", "_stack")

    def __init__(
        self,
        pool: Pool,
        holder: _Holder,
        stack: list[str] | None,
        deadline: float | None,
        oneshot: bool = False,
    ) -> None:
        super().__init__(pool.dialect, holder.driver, holder.write_gate, holder.caps)
        self._pool = pool
        self._holder = holder
        self._released = False
        self._stack = stack
        self._statement_timeout = pool.statement_timeout
        # the pool's one-statement methods: the get()'s deadline, which a retried
        # read's fresh connection counts against (None: a new acquire_timeout)
        self._deadline = deadline
        #: borrowed by a pool's one-statement read (select, stream), not by get()
        self._oneshot = oneshot

    # -- transparent retry of reads on a connection found dead ----------------------------
    def _may_retry(self) -> bool:
        """Whether a read that lost this connection may run again on a fresh one:
        outside a transaction, with no session state changed (raw SQL), nothing held."""
        return not (self._released or self._tx_stack or self._session_dirty or self._gate_held)

    async def _read(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> list[Row]:
        try:
            return await self._run(self._driver.fetch, sql, params, timeout)
        except ConnectionLostError as exc:
            if not self._may_retry():
                raise
            await self._swap(exc)
        return await self._run(self._driver.fetch, sql, params, timeout)

    async def _stream(
        self, sql: str, params: Sequence[Any], batch: int, timeout: Timeout = DEFAULT
    ) -> AsyncIterator[list[Row]]:
        started = False
        first = cast(
            "AsyncGenerator[list[Row], None]", Connection._stream(self, sql, params, batch, timeout)
        )
        try:
            async for rows in first:
                started = True
                yield rows
            return
        except ConnectionLostError as exc:
            if started or not self._may_retry():
                raise
            await self._swap(exc)
        finally:
            await first.aclose()
        again = cast(
            "AsyncGenerator[list[Row], None]", Connection._stream(self, sql, params, batch, timeout)
        )
        try:
            async for rows in again:
                yield rows
        finally:
            await again.aclose()

    async def _swap(self, lost: ConnectionLostError) -> None:
        """Replace the dead connection under this borrower by a fresh one (same slot)."""
        pool = self._pool
        timeout = pool.acquire_timeout
        deadline = self._deadline
        if deadline is None and timeout is not None:
            deadline = time.monotonic() + timeout
        log.info("pool retries a read on a fresh connection: %s", lost)
        try:
            holder = await pool._replace(self._holder, deadline, timeout)
        except BaseException:
            self._released = True  # the slot went with the dead connection
            raise
        statement_timeout = self._statement_timeout
        Connection.__init__(self, self._pool.dialect, holder.driver, holder.write_gate, holder.caps)
        self._statement_timeout = statement_timeout
        self._holder = holder

    def _server_dialect_changed(self) -> None:
        # the driver switched variant: later borrowers of this connection compile with it
        self._holder.caps = self._caps

    def _check_open(self) -> None:
        if self._released:
            raise ConnectionReleasedError(
                "this pooled connection was released; borrow another with pool.get()"
            )
        super()._check_open()

    @property
    def released(self) -> bool:
        """Whether the connection went back to the pool."""
        return self._released

    async def release(self) -> None:
        """Return the connection to the pool (rolled back and reset if it needs it)."""
        if self._released:
            return
        self._released = True
        await self._pool._checkin(self, discard=False)

    async def close(self) -> None:
        """Retire the underlying connection: close it and free its slot."""
        if self._released:
            return
        self._released = True
        await self._pool._checkin(self, discard=True)

    def __del__(self) -> None:
        if self._released:
            return
        self._released = True
        pool = self._pool
        where = (
            "".join(self._stack)
            if self._stack
            else ("set ORMER_DEBUG=1 to record where it was acquired")
        )
        try:
            warnings.warn(
                f"a pooled connection was garbage-collected without release(); "
                f"its slot is recovered. Acquired at:\n{where}",
                ResourceWarning,
                stacklevel=1,
            )
        finally:  # also when warnings are errors (-W error): the slot is recovered
            pool._recover(self._holder, self.held_write_gate())

    def __repr__(self) -> str:
        state = "released" if self._released else "borrowed"
        return f"<ormer.PooledConnection {self.dialect.name} {state}>"


class _Checkout:
    """What ``pool.get()`` returns: awaitable, and an async context manager."""

    __slots__ = ("_conn", "_pool", "_timeout")

    def __init__(self, pool: Pool, timeout: float | None) -> None:
        self._pool = pool
        self._timeout = timeout
        self._conn: PooledConnection | None = None

    def __await__(self) -> Generator[Any, None, PooledConnection]:
        return self._pool._acquire(self._timeout).__await__()

    async def __aenter__(self) -> PooledConnection:
        self._conn = await self._pool._acquire(self._timeout)
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.release()


class _OneShot(_Checkout):
    """The checkout of a pool's one-statement method: a retried read's fresh
    connection counts against the same deadline."""

    __slots__ = ()

    async def __aenter__(self) -> PooledConnection:
        self._conn = await self._pool._acquire(self._timeout, True)
        return self._conn


class Pool(QueryAPI):
    """A pool of connections to one database.

    Built by ``await Database.create_pool(...).max_size(10).build()``.
    ``pool.get()`` borrows a connection; ``pool.select(User)...`` and the other
    query methods borrow one for a single statement.
    """

    def __init__(
        self,
        dialect: Dialect,
        url: URL,
        *,
        min_size: int,
        max_size: int,
        idle_timeout: float | None,
        acquire_timeout: float | None,
        max_lifetime: float | None,
        health_check: float | None,
        connect_options: dict[str, Any],
        statement_timeout: float | None = None,
        health_check_timeout: float | None = 5.0,
    ) -> None:
        self._dialect = dialect
        self._url = url
        self.min_size = min_size
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self.acquire_timeout = acquire_timeout
        self.max_lifetime = max_lifetime
        self.health_check = health_check
        #: the statement_timeout of every connection lent (see Connection.statement_timeout)
        self.statement_timeout = statement_timeout
        self.health_check_timeout = health_check_timeout
        self._options = connect_options
        self._idle: list[_Holder] = []
        self._holders: set[_Holder] = set()
        self._waiters: collections.deque[asyncio.Future[Any]] = collections.deque()
        self._size = 0
        self._opening = 0
        self._closing = False
        self._closed = False
        self._acquired = self._created = self._closed_count = self._timeouts = 0
        self._reaper: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._debug = os.environ.get("ORMER_DEBUG", "") not in ("", "0")
        self._released_event = asyncio.Event()
        self._write_gate = asyncio.Lock() if dialect.serialize_writes else None
        self._loop: asyncio.AbstractEventLoop | None = None
        # acquire deadlines (monotonic) of waiting futures, expired by one shared timer
        self._deadlines: dict[asyncio.Future[Any], float] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        self._sweep_at: float | None = None
        # after a failed connect: until when waiters wait for live connections
        # instead of each opening one (CONNECT_BACKOFF)
        self._backoff_until: float | None = None
        self._backoff_timer: asyncio.TimerHandle | None = None
        # when a connection was last found lost to its server: idle connections last
        # used before then are pinged before they are lent (a server restart or a
        # failover closes them all, and each would otherwise fail one statement)
        self._suspect_before = 0.0

    # -- life cycle ------------------------------------------------------------------
    @property
    def dialect(self) -> Dialect:
        return self._dialect

    async def _open(self) -> Pool:
        self._loop = asyncio.get_running_loop()
        try:
            for _ in range(self.min_size):
                self._size += 1
                self._idle.append(await self._connect())
            if self._dialect.has_server_variants:
                await self._learn_server_variant()
        except BaseException:
            await self.terminate()
            raise
        if self.idle_timeout is not None or self.min_size:
            self._reaper = asyncio.create_task(self._reap(), name="ormer-pool-reaper")
        log.info("pool open: %s, %d..%d connections", self._url, self.min_size, self.max_size)
        return self

    async def _learn_server_variant(self) -> None:
        """Compile for the server the pool reaches from the start (MariaDB or MySQL, say):
        ask an opened connection, or open one to ask and close it (not a pool member)."""
        if self._idle:
            self._dialect = self._idle[0].caps.server_dialect or self._dialect
            return
        driver = await self._dialect.connect(self._url, dict(self._options))
        try:
            self._dialect = capabilities(driver, self._dialect).server_dialect or self._dialect
        finally:
            await driver.close()

    async def _connect(self) -> _Holder:
        """Open one connection; the caller has already counted it in ``_size``."""
        self._opening += 1
        driver: DriverConnection | None = None
        try:
            driver = await self._dialect.connect(self._url, dict(self._options))
            caps = capabilities(driver, self._dialect)  # a driver lacking what it needs: refused
        except BaseException as exc:
            self._size -= 1
            if isinstance(exc, ConnectionError):
                self._back_off()
            self._grant_capacity()
            if isinstance(exc, OrmerError):
                log.warning("pool connect failed: %s", exc)
            if driver is not None:
                await driver.close()
            raise
        finally:
            self._opening -= 1
        self._created += 1
        holder = _Holder(driver, caps, self._write_gate)
        created = plugins.query_hooks().connection_created
        if created is not None:
            created(conn=driver)
        log.debug("pool connected (%d open)", self._size)
        return holder

    # -- checkout ----------------------------------------------------------------------
    def get(self, timeout: float | None = None) -> _Checkout:
        """Borrow a connection: ``async with pool.get() as conn:`` or ``await pool.get()``.

        ``timeout`` overrides ``acquire_timeout`` for this call.
        """
        return _Checkout(self, timeout)

    async def _acquire(self, timeout: float | None, oneshot: bool = False) -> PooledConnection:
        """Borrow a connection within the deadline.

        A connect that fails while other connections live (idle, or held by other
        tasks) is not the caller's failure: it waits for one of those, up to its
        deadline. With no live connection the connect error propagates.
        """
        if self._closing:
            raise PoolClosedError("the pool is closed")
        explicit = timeout is not None
        timeout = self.acquire_timeout if timeout is None else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        last_error: ConnectionError | None = None
        while True:  # inline, not a helper: the checkout path awaits nothing extra
            try:
                holder = await self._take(deadline)
            except _WaitExpired as exc:
                self._timeouts += 1
                log.warning("pool timeout: %s", exc.described)
                source = f"get(timeout={timeout})" if explicit else "acquire_timeout"
                detail = "" if last_error is None else f"; last connect error: {last_error}"
                raise PoolTimeoutError(
                    f"no connection within {timeout}s ({source}): {exc.described}{detail}"
                ) from last_error
            except ConnectionError as exc:
                if self._closing or not self._has_live(asyncio.current_task()):
                    raise
                last_error = exc
                continue
            if holder is not None:
                break
            # a stale idle connection was discarded: look again
        self._holders.add(holder)
        holder.task = asyncio.current_task(self._loop)
        self._acquired += 1
        stack = _borrower_stack() if self._debug else None
        conn = PooledConnection(self, holder, stack, deadline if oneshot else None, oneshot)
        checkout = plugins.query_hooks().connection_checkout
        if checkout is not None:
            checkout(conn=conn)
        return conn

    async def _take(self, deadline: float | None) -> _Holder | None:
        """One connection for a borrower (not yet counted in use), or None to retry."""
        queued = self._has_waiters()
        if self._idle and not queued:
            holder = self._idle.pop()
            return holder if self._fresh(holder) else await self._vet(holder, deadline)
        if self._size < self.max_size and not queued and not self._backing_off():
            self._size += 1
            return await self._open_within(deadline)
        if len(self._holders) >= self.max_size:
            self._check_not_held_by_current_task()
        grant = await self._wait(deadline)
        if grant is _CAPACITY:
            return await self._open_within(deadline)
        return grant if self._fresh(grant) else await self._vet(grant, deadline)

    async def _replace(
        self, dead: _Holder, deadline: float | None, timeout: float | None
    ) -> _Holder:
        """A borrower's connection was lost: close it and open a fresh one in its slot."""
        if dead not in self._holders:  # the pool was terminated under the borrower
            raise PoolClosedError("the pool is closed")
        self._holders.discard(dead)
        dead.task = None
        self._suspect_before = time.monotonic()
        self._closed_count += 1
        self._spawn(self._close_quietly(dead.driver))
        try:
            holder = await self._open_within(deadline)
        except _WaitExpired as exc:
            self._timeouts += 1
            raise PoolTimeoutError(
                f"no fresh connection within {timeout}s to retry a read: {exc.described}"
            ) from None
        self._holders.add(holder)
        holder.task = asyncio.current_task(self._loop)
        return holder

    # -- bounded connects and pings ----------------------------------------------------
    async def _open_within(self, deadline: float | None) -> _Holder:
        """``_connect`` (its slot already counted), abandoned at ``deadline``."""
        if deadline is None:
            return await self._connect()  # bounded by the driver's connect timeout
        done, value = await self._bounded(self._connect(), deadline)
        if done:
            return value  # type: ignore[no-any-return]
        log.warning("pool connect still running at the acquire deadline: abandoned")
        raise _WaitExpired(self._describe())

    async def _bounded(self, aw: Awaitable[Any], at: float) -> tuple[bool, Any]:
        """Run ``aw`` in a task until monotonic time ``at``: ``(True, result)``, or
        ``(False, None)`` when it was still running (it is then cancelled; a
        connection it opened anyway is closed in the background)."""
        task = asyncio.ensure_future(aw)
        try:
            done, _ = await asyncio.wait((task,), timeout=max(0.0, at - time.monotonic()))
        except BaseException:
            # the caller was cancelled: cancel the work too, and let it finish
            # cleaning up (its slot) before the cancellation goes on
            task.cancel()
            task.add_done_callback(self._adopt)
            with contextlib.suppress(BaseException):
                await asyncio.wait((task,))
            raise
        if done:
            return True, task.result()
        task.cancel()
        task.add_done_callback(self._adopt)
        return False, None

    def _adopt(self, task: asyncio.Future[Any]) -> None:
        """An abandoned connect or ping ended: close a connection it opened regardless."""
        if task.cancelled() or task.exception() is not None:
            return
        holder = task.result()
        if isinstance(holder, _Holder):
            self._discard(holder, "opened after its borrower gave up")

    def _backing_off(self) -> bool:
        """Whether new connects wait: a connect failed moments ago and live connections
        (idle, or held by other tasks) may come back to the caller instead."""
        until = self._backoff_until
        return (
            until is not None
            and time.monotonic() < until
            and self._has_live(asyncio.current_task())
        )

    def _has_live(self, task: asyncio.Task[Any] | None = None) -> bool:
        """Whether the pool has an open connection that may come back to ``task``."""
        return bool(self._idle) or any(h.task is not task or task is None for h in self._holders)

    def _back_off(self) -> None:
        """A connect failed: for CONNECT_BACKOFF seconds, waiters wait for live
        connections; then one waiter is granted a connect attempt."""
        loop = self._loop
        if loop is None or self._closing:
            return
        self._backoff_until = time.monotonic() + CONNECT_BACKOFF
        if self._backoff_timer is not None:
            self._backoff_timer.cancel()
        self._backoff_timer = loop.call_later(CONNECT_BACKOFF, self._backoff_over)

    def _backoff_over(self) -> None:
        self._backoff_timer = None
        self._backoff_until = None
        self._grant_capacity()

    def _check_not_held_by_current_task(self) -> None:
        """Fail fast when the current task holds every connection: it would wait on itself.

        Only then: a connection held by another task, or a connect in flight,
        may still come back, so waiting makes sense.
        """
        task = asyncio.current_task()
        if task is None or any(h.task is not task for h in self._holders):
            return
        n = len(self._holders)
        log.warning("pool exhausted by one task (%r): %s", task.get_name(), self._describe())
        raise PoolExhaustedByTaskError(
            f"this task already holds all {n} of the pool's connections (max_size="
            f"{self.max_size}) and asks for another: it would wait for itself until "
            f"acquire_timeout. Use the connection you hold (conn.select(...) inside "
            f"'async with pool.get() as conn', not pool.select(...)), or raise max_size "
            f"({self._describe()})"
        )

    def _fresh(self, holder: _Holder) -> bool:
        """Whether an idle connection can be handed out as is (``_vet`` has nothing to do)."""
        now = time.monotonic()
        return (
            (self.max_lifetime is None or now - holder.created <= self.max_lifetime)
            and not holder.driver.is_closed
            and (self.health_check is None or now - holder.last_used < self.health_check)
            and holder.last_used >= self._suspect_before
        )

    async def _vet(self, holder: _Holder, deadline: float | None = None) -> _Holder | None:
        """Check an idle connection before handing it out: lifetime, then health.

        The ping ends by ``deadline`` and by ``health_check_timeout``, whichever
        comes first; a ping that does not answer by then discards the connection.
        """
        now = time.monotonic()
        if self.max_lifetime is not None and now - holder.created > self.max_lifetime:
            self._discard(holder, "reached max_lifetime")
            return None
        if holder.driver.is_closed:
            self._discard(holder, "found closed")
            return None
        stale = self.health_check is not None and now - holder.last_used >= self.health_check
        if stale or holder.last_used < self._suspect_before:
            limit = self.health_check_timeout
            at = deadline
            if limit is not None and (at is None or now + limit < at):
                at = now + limit
            self._opening += 1  # counted while its ping runs (neither idle nor in use)
            try:
                if at is None:
                    await holder.driver.ping()
                    answered = True
                else:
                    answered, _ = await self._bounded(holder.driver.ping(), at)
            except BaseException as exc:
                self._opening -= 1
                self._discard(holder, f"failed its health check ({exc!r})")
                if not isinstance(exc, Exception):
                    raise
                return None
            self._opening -= 1
            if not answered:
                self._discard(holder, "its health check did not answer in time")
                if deadline is not None and time.monotonic() >= deadline - 1e-3:
                    raise _WaitExpired(self._describe())
                return None
        return holder

    async def _wait(self, deadline: float | None) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(fut)
        if deadline is not None:
            # One pool-wide timer (the sweeper) expires waiters: no timer per wait.
            self._deadlines[fut] = deadline
            if self._sweep_at is None or deadline < self._sweep_at:
                self._schedule_sweep(loop, deadline)
        try:
            return await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self._hand_back(fut.result())  # granted as we gave up: pass it on
            else:
                fut.cancel()
                with contextlib.suppress(ValueError):
                    self._waiters.remove(fut)
            raise
        finally:
            if deadline is not None:
                self._deadlines.pop(fut, None)

    def _schedule_sweep(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._sweep_at = at
        self._sweeper = loop.call_at(loop.time() + max(0.0, at - time.monotonic()), self._sweep)

    def _sweep(self) -> None:
        """Fail the waiters whose deadline passed; schedule the next sweep, if any."""
        self._sweeper = self._sweep_at = None
        now = time.monotonic() + 1e-4  # the loop may fire a timer a clock tick early
        earliest: float | None = None
        described: str | None = None  # built before any is failed: all count as waiting
        for fut, deadline in list(self._deadlines.items()):
            if fut.done():
                del self._deadlines[fut]
            elif deadline <= now:
                del self._deadlines[fut]
                if described is None:
                    described = self._describe()
                fut.set_exception(_WaitExpired(described))
            elif earliest is None or deadline < earliest:
                earliest = deadline
        if earliest is not None and not self._closed:
            self._schedule_sweep(asyncio.get_running_loop(), earliest)

    def _describe(self) -> str:
        return (
            f"size={self._size}/{self.max_size}, in use={len(self._holders)}, "
            f"idle={len(self._idle)}, waiting={len(self._live_waiters())}"
        )

    def _live_waiters(self) -> list[asyncio.Future[Any]]:
        return [w for w in self._waiters if not w.done()]

    def _has_waiters(self) -> bool:
        """Whether a live waiter is queued (futures already done are dropped)."""
        waiters = self._waiters
        while waiters and waiters[0].done():
            _ = waiters.popleft()
        return bool(waiters)

    def _next_waiter(self) -> asyncio.Future[Any] | None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                return fut
        return None

    def _hand_back(self, grant: Any) -> None:
        """A grant nobody will use: give it to the next waiter, or undo it."""
        if grant is _CAPACITY:
            self._size -= 1
            self._grant_capacity()
        else:
            self._put_idle(grant)

    def _grant_capacity(self) -> None:
        """After the size dropped: let the oldest waiter open a connection (not while
        backing off from a failed connect with live connections to wait for)."""
        if self._closing or self._size >= self.max_size:
            return
        if self._backoff_until is not None and self._has_live():
            return
        waiter = self._next_waiter()
        if waiter is not None:
            self._size += 1
            waiter.set_result(_CAPACITY)

    def _put_idle(self, holder: _Holder) -> None:
        holder.last_used = time.monotonic()
        if self._closing:
            self._discard(holder, "pool closing")
            return
        waiter = self._next_waiter()
        if waiter is not None:
            waiter.set_result(holder)
        else:
            self._idle.append(holder)

    # -- checkin -----------------------------------------------------------------------
    async def _checkin(self, conn: PooledConnection, discard: bool) -> None:
        holder = conn._holder
        if holder not in self._holders:  # the pool was terminated under the borrower
            conn.release_write_gate()
            return
        self._holders.discard(holder)
        holder.task = None
        checkin = plugins.query_hooks().connection_checkin
        if checkin is not None:
            checkin(conn=conn)
        state = conn.session_state()
        if SessionState.BROKEN in state and conn.lost_to_server:
            self._suspect_before = time.monotonic()  # vet the other idle ones before use
        if discard:
            reason: str | None = "retired by close()"
        elif state is SessionState.CLEAN:
            reason = None  # nothing to roll back or reset: no await
        else:
            reason = await self._clean(conn, state)
        if (
            reason is None
            and self.max_lifetime is not None
            and (time.monotonic() - holder.created > self.max_lifetime)
        ):
            reason = "reached max_lifetime"
        conn.release_write_gate()  # a discarded connection may still hold the write gate
        if reason is not None:
            self._discard(holder, reason)
        else:
            self._put_idle(holder)
        self._released_event.set()

    async def _clean(self, conn: PooledConnection, state: SessionState) -> str | None:
        """Make a returned connection fit for the next borrower; a reason to discard it if not."""
        if SessionState.BROKEN in state:
            return conn.broken_reason()
        try:
            await conn.restore_session()
        except BaseException as exc:
            conn.release_write_gate()
            if not isinstance(exc, Exception):
                self._discard(conn._holder, "cancelled while being reset")
                raise
            return f"reset failed ({exc!r})"
        conn.release_write_gate()
        return None

    def _discard(self, holder: _Holder, reason: str) -> None:
        """Close a connection in the background and free its slot."""
        log.info("pool discards a connection: %s", reason)
        self._size -= 1
        self._closed_count += 1
        self._spawn(self._close_quietly(holder.driver))
        self._grant_capacity()

    def _recover(self, holder: _Holder, gate: asyncio.Lock | None = None) -> None:
        """A borrower was garbage-collected: its connection's state is unknown, discard it."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def recover() -> None:
            if holder in self._holders:
                if gate is not None and gate.locked():
                    gate.release()  # the lost borrower held the write gate
                self._holders.discard(holder)
                self._discard(holder, "its borrower was garbage-collected")
                self._released_event.set()

        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(recover)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _close_quietly(driver: DriverConnection) -> None:
        try:
            await driver.close()
        except Exception as exc:
            log.debug("closing a discarded connection failed: %s", exc)

    # -- the reaper ------------------------------------------------------------------
    async def _reap(self) -> None:
        interval = min(t for t in (self.idle_timeout, self.max_lifetime, 30.0) if t is not None)
        interval = max(0.01, interval / 2)
        while not self._closing:
            await asyncio.sleep(interval)
            self.reap()
            await self._refill()

    def reap(self) -> int:
        """Close idle connections above ``min_size`` idle past ``idle_timeout``, and
        idle ones past ``max_lifetime``. Returns how many were closed."""
        now = time.monotonic()
        closed = 0
        keep: list[_Holder] = []
        # oldest-used first, so the most recently used survive
        for holder in self._idle:
            expired = self.max_lifetime is not None and now - holder.created > self.max_lifetime
            idle_too_long = (
                self.idle_timeout is not None
                and now - holder.last_used > self.idle_timeout
                and self._size > self.min_size  # _size already counts the ones closed here
            )
            if expired or idle_too_long:
                closed += 1
                self._size -= 1
                self._closed_count += 1
                self._spawn(self._close_quietly(holder.driver))
            else:
                keep.append(holder)
        self._idle[:] = keep
        for _ in range(closed):
            self._grant_capacity()
        return closed

    async def _refill(self) -> None:
        while not self._closing and self._size < self.min_size and not self._waiters:
            self._size += 1
            try:
                holder = await self._connect()
            except Exception:
                return  # logged by _connect; the next round tries again
            self._put_idle(holder)

    # -- stats and closing ---------------------------------------------------------
    def stats(self) -> PoolStats:
        """Current sizes and lifetime counters."""
        return PoolStats(
            size=self._size,
            idle=len(self._idle),
            in_use=len(self._holders),
            waiting=len(self._live_waiters()),
            min_size=self.min_size,
            max_size=self.max_size,
            acquired=self._acquired,
            created=self._created,
            closed=self._closed_count,
            timeouts=self._timeouts,
        )

    @property
    def is_closed(self) -> bool:
        return self._closing

    async def close(self, timeout: float | None = None) -> None:
        """Stop lending, wait (up to ``timeout`` seconds) for borrowed connections,
        then close every connection. Later ``get()`` raises PoolClosedError."""
        if self._closed:
            return
        self._closing = True
        self._fail_waiters()
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._holders:
            self._released_event.clear()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._released_event.wait(), remaining)
            except TimeoutError:
                break
        await self.terminate()

    async def terminate(self) -> None:
        """Close every connection now, borrowed ones included."""
        self._closing = True
        self._closed = True
        self._fail_waiters()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = self._sweep_at = None
        if self._backoff_timer is not None:
            self._backoff_timer.cancel()
            self._backoff_timer = None
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(BaseException):
                await self._reaper
            self._reaper = None
        holders = self._idle + list(self._holders)
        self._idle.clear()
        self._holders.clear()
        self._closed_count += len(holders)
        self._size -= len(holders)
        await asyncio.gather(*(self._close_quietly(h.driver) for h in holders))
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        log.info("pool closed")

    def _fail_waiters(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(PoolClosedError("the pool was closed while waiting"))

    async def __aenter__(self) -> Pool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the query API, one borrowed connection per statement --------------------------
    def _borrow(self) -> _Checkout:
        """A checkout for one statement: a retried read counts against its deadline."""
        return _OneShot(self, None)

    def _session(self) -> _Checkout:
        """A checkout for the statements of one read (a select and its preloads)."""
        return _OneShot(self, None)

    async def _fetch(
        self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT
    ) -> list[Row]:
        async with self.get() as conn:
            return await conn._fetch(sql, params, timeout)

    async def _read(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> list[Row]:
        async with self._borrow() as conn:
            return await conn._read(sql, params, timeout)

    async def _execute(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> int:
        async with self.get() as conn:
            return await conn._execute(sql, params, timeout)

    async def _stream(
        self, sql: str, params: Sequence[Any], batch: int, timeout: Timeout = DEFAULT
    ) -> AsyncIterator[list[Row]]:
        async with self._borrow() as conn:
            async for rows in conn._stream(sql, params, batch, timeout):
                yield rows

    async def _insert(
        self,
        objects: Sequence[Model],
        upsert: bool,
        conflict: tuple[FieldInfo, ...],
        timeout: Timeout = DEFAULT,
    ) -> int:
        async with self.get() as conn:
            return await conn._insert(objects, upsert, conflict, timeout)

    async def exec_rows(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: Timeout = DEFAULT
    ) -> list[tuple[Any, ...]]:
        """Raw SQL on a borrowed connection (see ``Connection.exec_rows``)."""
        async with self.get() as conn:
            return await conn.exec_rows(sql, params, timeout=timeout)

    async def exec_non_query(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: Timeout = DEFAULT
    ) -> int:
        """Raw SQL on a borrowed connection (see ``Connection.exec_non_query``)."""
        async with self.get() as conn:
            return await conn.exec_non_query(sql, params, timeout=timeout)

    async def exec_table(
        self,
        model: type[M],
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> list[M]:
        """Raw SQL mapped onto a model, on a borrowed connection."""
        async with self.get() as conn:
            return await conn.exec_table(model, sql, params, timeout=timeout)

    async def create_table(self, model: type[Model], if_not_exists: bool = True) -> None:
        """CREATE TABLE on a borrowed connection."""
        async with self.get() as conn:
            await conn.create_table(model, if_not_exists)

    async def drop_table(self, model: type[Model], if_exists: bool = True) -> None:
        """DROP TABLE on a borrowed connection."""
        async with self.get() as conn:
            await conn.drop_table(model, if_exists)

    async def plan_table(self, model: type[Model]) -> TablePlan:
        """:meth:`Connection.plan_table` on a borrowed connection."""
        async with self.get() as conn:
            return await conn.plan_table(model)

    async def migrate_table(
        self, model: type[Model], *, allow_destructive: bool = False
    ) -> TablePlan:
        """:meth:`Connection.migrate_table` on a borrowed connection."""
        async with self.get() as conn:
            return await conn.migrate_table(model, allow_destructive=allow_destructive)

    def __repr__(self) -> str:
        return f"<ormer.Pool {self._dialect.name} {self._describe()}>"


class PoolOptions:
    """The options of a pool (and of each member of a replicated pool), validated at
    ``build()``. Each setter returns the builder, so calls chain."""

    def __init__(self, dialect: Dialect, url: URL) -> None:
        self._dialect = dialect
        self._url = url
        self._max_size = 10
        self._min_size = 0
        self._idle_timeout: float | None = 300.0
        self._acquire_timeout: float | None = 30.0
        self._max_lifetime: float | None = None
        self._health_check: float | None = 30.0
        self._health_check_timeout: float | None = 5.0
        self._options: dict[str, Any] = {}
        self._statement_timeout: Any = DEFAULT  # DEFAULT: the URL's or connect options'

    def max_size(self, n: int) -> Self:
        """Most open connections (default 10)."""
        self._max_size = n
        return self

    def min_size(self, n: int) -> Self:
        """Connections opened at build and kept open (default 0)."""
        self._min_size = n
        return self

    def range(self, lo: int, hi: int) -> Self:
        """``min_size(lo).max_size(hi)``: ``range(0, 1)`` is a pool of at most one connection."""
        self._min_size, self._max_size = lo, hi
        return self

    def idle_timeout(self, seconds: float | None) -> Self:
        """Close idle connections above min_size after this long (default 300 s)."""
        self._idle_timeout = seconds
        return self

    def acquire_timeout(self, seconds: float | None) -> Self:
        """How long ``get()`` waits before PoolTimeoutError (default 30 s)."""
        self._acquire_timeout = seconds
        return self

    def max_lifetime(self, seconds: float | None) -> Self:
        """Close connections older than this when they come back (default: never)."""
        self._max_lifetime = seconds
        return self

    def health_check(self, after_idle_seconds: float | None) -> Self:
        """Ping a connection idle this long before handing it out (default 30 s)."""
        self._health_check = after_idle_seconds
        return self

    def statement_timeout(self, seconds: float | None) -> Self:
        """The limit of each statement on the pool's connections (default: the URL's
        ``statement_timeout``, else none); a statement's ``.timeout(s)`` overrides it.
        A statement over it is cancelled on the server: StatementTimeoutError."""
        self._statement_timeout = seconds
        return self

    def health_check_timeout(self, seconds: float | None) -> Self:
        """Longest a health ping may take before the connection is discarded (default
        5 s; a ping also ends at the caller's acquire deadline)."""
        self._health_check_timeout = seconds
        return self

    def connect_options(self, **driver_kwargs: Any) -> Self:
        """Options passed to the driver's connect call."""
        self._options.update(driver_kwargs)
        return self

    def _validate(self) -> None:
        for name, value in (("max_size", self._max_size), ("min_size", self._min_size)):
            if type(value) is not int:
                raise ConfigurationError(f"{name} must be an int, got {value!r}")
        if self._max_size < 1:
            raise ConfigurationError(f"max_size must be at least 1, got {self._max_size}")
        if self._min_size < 0:
            raise ConfigurationError(f"min_size must be >= 0, got {self._min_size}")
        if self._min_size > self._max_size:
            raise ConfigurationError(
                f"min_size ({self._min_size}) is larger than max_size ({self._max_size})"
            )
        for name, seconds in (
            ("idle_timeout", self._idle_timeout),
            ("acquire_timeout", self._acquire_timeout),
            ("max_lifetime", self._max_lifetime),
            ("health_check", self._health_check),
            ("health_check_timeout", self._health_check_timeout),
        ):
            if seconds is not None and (
                not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0
            ):
                raise ConfigurationError(f"{name} must be a non-negative number of seconds or None")

    def _pool(self, url: URL, pool_class: type[P]) -> P:
        """An unopened pool of ``pool_class`` on ``url`` with these options."""
        url, options, statement_timeout = take_option(url, self._options)
        if self._statement_timeout is not DEFAULT:
            statement_timeout = check_timeout(self._statement_timeout, "statement_timeout")
        return pool_class(
            self._dialect,
            url,
            min_size=self._min_size,
            max_size=self._max_size,
            idle_timeout=self._idle_timeout,
            acquire_timeout=self._acquire_timeout,
            max_lifetime=self._max_lifetime,
            health_check=self._health_check,
            connect_options=options,
            statement_timeout=statement_timeout,
            health_check_timeout=self._health_check_timeout,
        )


class PoolBuilder(PoolOptions):
    """Pool options, validated at ``build()``; awaiting the builder builds too."""

    async def build(self) -> Pool:
        """Validate the options and open ``min_size`` connections.

        A dialect whose SQL depends on the server it reaches (``has_server_variants``)
        learns that server here, from the first connection or a probe, so that the
        pool compiles for it from the start.
        """
        self._validate()
        return await self._pool(self._url, Pool)._open()

    def replicas(self, *urls: str) -> ReplicatedPoolBuilder:
        """Read replicas of this (primary) database: ``build()`` then makes a
        :class:`ormer.ReplicatedPool` whose plain reads go to the replicas and
        everything else to the primary. Every option set on this builder, before or
        after, applies to each member's pool. See docs/scaling.md."""
        from .replicas import ReplicatedPoolBuilder

        return ReplicatedPoolBuilder(self, urls)

    def __await__(self) -> Generator[Any, None, Pool]:
        return self.build().__await__()

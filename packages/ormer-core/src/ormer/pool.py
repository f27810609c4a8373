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
import inspect
import logging
import math
import os
import random
import time
import traceback
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Generator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from . import plugins
from .connection import Connection, SessionState
from .driver import DriverCapabilities, SupportsCancel, capabilities
from .errors import (
    ConfigurationError,
    ConnectionError,
    ConnectionLostError,
    ConnectionReleasedError,
    OrmerError,
    PoolClosedError,
    PoolExhaustedByTaskError,
    PoolQueueFullError,
    PoolTimeoutError,
)
from .model import FieldInfo, Model
from .pool_config import PoolConfig
from .query import QueryAPI
from .timeouts import DEFAULT, Timeout, take_option

if TYPE_CHECKING:
    from .dialect import URL, Dialect, DriverConnection, Row
    from .migrations.plan import TablePlan

__all__ = ["CLOSE_REASONS", "Pool", "PoolStats", "PooledConnection"]

log = logging.getLogger("ormer.pool")
M = TypeVar("M", bound=Model)
_CAPACITY: Any = object()  # a grant to a waiter: "open a connection, the slot is yours"


class _WaitExpired(Exception):
    """Set on a waiter whose deadline passed (the borrower turns it into PoolTimeoutError).

    ``described``: the pool as it was when the deadline passed, built before any
    waiter of the same sweep was failed (so it counts them all as waiting).
    """

    def __init__(self, described: str) -> None:
        super().__init__(described)
        self.described = described


#: why a pool closes a connection (the ``reason`` of ``ormer_connection_closed``)
CLOSE_REASONS = (
    "idle_timeout",  # idle past idle_timeout, above min_size
    "max_lifetime",  # older than its (jittered) max_lifetime
    "max_uses",  # lent max_uses times
    "broken",  # lost, interrupted mid-statement, or its reset failed
    "health_check",  # its ping failed or did not answer in time
    "drain",  # opened before pool.drain()
    "resize",  # the pool shrank below the open connections
    "retired",  # its borrower closed it (conn.close())
    "abandoned",  # opened after its borrower gave up, or its borrower was collected
    "pool_closed",  # the pool was closed
)


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
    #: ``pool.pause()`` is in effect: ``get()`` waits
    paused: bool = False


class _Holder:
    """One open driver connection owned by the pool."""

    __slots__ = (
        "borrowed",
        "caps",
        "created",
        "driver",
        "expires",
        "generation",
        "last_used",
        "leak_timer",
        "task",
        "uses",
        "write_gate",
    )

    def __init__(
        self,
        driver: DriverConnection,
        caps: DriverCapabilities,
        write_gate: asyncio.Lock | None,
        expires: float,
        generation: int,
    ) -> None:
        self.driver = driver
        self.caps = caps  # read when the connection opened (again if raw SQL switched variant)
        self.created = self.last_used = self.borrowed = time.monotonic()
        self.expires = expires  # monotonic time past which it is retired (inf: never)
        self.generation = generation  # the pool's drain generation when it opened
        self.uses = 0
        self.leak_timer: asyncio.TimerHandle | None = None
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
        super().__init__(pool.dialect, holder.driver, holder.write_gate, holder.caps, pool._url)
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
        Connection.__init__(
            self, self._pool.dialect, holder.driver, holder.write_gate, holder.caps, pool._url
        )
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
        if not self._give_back():
            await self._pool._checkin(self, discard=False)

    def _give_back(self) -> bool:
        """Return the connection when that needs no await (it is clean): True, as when
        it was released already; False: it needs the pool's ``_checkin``."""
        if self._released:
            return True
        self._released = True
        return self._pool._checkin_now(self, False)

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

    def __init__(self, dialect: Dialect, url: URL, config: PoolConfig | None = None) -> None:
        config = config if config is not None else PoolConfig()
        self._config = config
        self._dialect = dialect
        self._url = url
        self.min_size = config.min_size
        self.max_size = config.max_size
        self.idle_timeout = config.idle_timeout
        self.acquire_timeout = config.acquire_timeout
        self.max_lifetime = config.max_lifetime
        self.health_check = config.health_check
        #: the statement_timeout of every connection lent (see Connection.statement_timeout)
        self.statement_timeout = config.statement_timeout
        self.health_check_timeout = config.health_check_timeout
        self.max_waiting = config.max_waiting
        self.max_uses = config.max_uses
        self.keepalive = config.keepalive
        self.leak_detection = config.leak_detection
        #: the pool's name in logs and metrics
        self.name = config.name or f"{dialect.name}://{url.address}/{url.database or ''}"
        self._options = config.connect_options
        self._on_connect = config.on_connect
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
        # instead of each opening one (reconnect_backoff, doubling per failure)
        self._backoff_until: float | None = None
        self._backoff_timer: asyncio.TimerHandle | None = None
        self._connect_failures = 0  # in a row
        self._generation = 0  # bumped by drain(): older connections are replaced
        self._resumed = asyncio.Event()  # clear while paused
        self._resumed.set()
        self._paused = False  # the checkout path reads this, not the event
        self._leaks = 0
        self._rejected = 0
        self._paused_waiting = 0  # get() calls held by pause()
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
        self._start_reaper()
        log.info("pool open: %s, %d..%d connections", self.name, self.min_size, self.max_size)
        opened = plugins.query_hooks().pool_opened
        if opened is not None:
            opened(pool=self)
        return self

    def _start_reaper(self) -> None:
        """The background task for idle_timeout, max_lifetime, keepalive and min_size."""
        if self._reaper is not None or self._closing:
            return
        if (
            self.idle_timeout is not None
            or self.min_size
            or self.keepalive is not None
            or self.max_lifetime is not None
        ):
            self._reaper = asyncio.create_task(self._reap(), name="ormer-pool-reaper")

    async def _learn_server_variant(self) -> None:
        """Compile for the server the pool reaches from the start (MariaDB or MySQL, say):
        ask an opened connection, or open one to ask and close it (not a pool member)."""
        if self._idle:
            self._dialect = self._idle[0].caps.server_dialect or self._dialect
            return
        driver = await self._dialect.connect(await self._current_url(), dict(self._options))
        try:
            self._dialect = capabilities(driver, self._dialect).server_dialect or self._dialect
        finally:
            await driver.close()

    async def _current_url(self) -> URL:
        """The URL to connect to: fixed, or asked of the URL function each time."""
        source = self._config.url_source
        if source is None:
            return self._url
        from .pool_builder import call_url_source

        url = self._dialect.parse_target(await call_url_source(source))
        return take_option(url, {})[0]  # its statement_timeout was read at build

    def _lifetime_end(self, opened: float) -> float:
        """When a connection opened at ``opened`` retires: max_lifetime less a random
        few percent (HikariCP's variance), so a batch opened together spreads out."""
        lifetime = self.max_lifetime
        if lifetime is None:
            return math.inf
        return opened + lifetime * (1.0 - random.random() * self._config.lifetime_jitter)

    async def _connect(self) -> _Holder:
        """Open one connection; the caller has already counted it in ``_size``."""
        self._opening += 1
        driver: DriverConnection | None = None
        hooks = plugins.query_hooks()
        start = time.monotonic()
        try:
            driver = await self._dialect.connect(await self._current_url(), dict(self._options))
            caps = capabilities(driver, self._dialect)  # a driver lacking what it needs: refused
            if self._on_connect is not None:
                await self._set_up(driver, caps)
        except BaseException as exc:
            self._size -= 1
            if isinstance(exc, ConnectionError):
                self._connect_failed(exc)
            self._grant_capacity()
            if isinstance(exc, OrmerError):
                log.warning("pool connect failed: %s", exc)
            if driver is not None:
                await self._close_quietly(driver)
            raise
        finally:
            self._opening -= 1
        self._created += 1
        self._connect_failures = 0
        now = time.monotonic()
        holder = _Holder(driver, caps, self._write_gate, self._lifetime_end(now), self._generation)
        created = hooks.connection_created
        if created is not None:
            created(conn=driver, pool=self, elapsed=now - start)
        log.debug("pool connected (%d open)", self._size)
        return holder

    async def _set_up(self, driver: DriverConnection, caps: DriverCapabilities) -> None:
        """Run ``on_connect`` on a connection of the pool (new, or reset)."""
        assert self._on_connect is not None
        conn = Connection(self._dialect, driver, None, caps, self._url)
        conn.statement_timeout = self.statement_timeout
        await self._on_connect(conn)
        if conn.in_transaction or conn.driver_in_transaction():
            raise ConfigurationError(
                "on_connect left a transaction open: commit or roll back inside it"
            )

    def _connect_failed(self, exc: ConnectionError) -> None:
        """A connect failed: back off, and tell ``on_reconnect_failed`` once per streak."""
        self._connect_failures += 1
        self._back_off()
        fn = self._config.on_reconnect_failed
        if fn is None or self._connect_failures != self._config.reconnect_failed_after:
            return
        log.error(
            "pool %s: %d connects in a row failed: %s", self.name, self._connect_failures, exc
        )
        try:
            result = fn(self, exc)
            if inspect.isawaitable(result):
                self._spawn(result)
        except Exception:
            log.exception("on_reconnect_failed raised")

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
        if self._idle:  # the common case: an idle connection, nobody queued
            conn = self._lend_idle(timeout, oneshot)
            if conn is not None:
                return conn
        if self._closing:
            raise PoolClosedError("the pool is closed")
        explicit = timeout is not None
        timeout = self.acquire_timeout if timeout is None else timeout
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        if self._paused:
            await self._wait_resumed(deadline, timeout, explicit)
        last_error: ConnectionError | None = None
        holder: _Holder | None = None
        while holder is None:  # inline, not a helper: the checkout path awaits nothing extra
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
            # None: a stale idle connection was discarded, look again
        return self._lend(holder, start, deadline if oneshot else None, oneshot)

    def _lend_idle(self, timeout: float | None, oneshot: bool) -> PooledConnection | None:
        """The checkout when nothing makes it wait (an idle connection fit to hand out,
        nobody queued, the pool open and not paused), without a coroutine; None: the
        rest of ``_acquire`` decides."""
        idle = self._idle
        if not idle or self._closing or self._paused or (self._waiters and self._has_waiters()):
            return None
        start = time.monotonic()
        if not self._fresh(idle[-1], start):
            return None
        deadline = None
        if oneshot:
            timeout = self.acquire_timeout if timeout is None else timeout
            deadline = None if timeout is None else start + timeout
        return self._lend(idle.pop(), start, deadline, oneshot)

    def _lend(
        self, holder: _Holder, start: float, deadline: float | None, oneshot: bool
    ) -> PooledConnection:
        """Hand ``holder`` to the current task (every checkout's bookkeeping);
        ``start``: when the get() began."""
        self._holders.add(holder)
        holder.task = asyncio.current_task(self._loop)
        holder.uses += 1
        self._acquired += 1
        stack = _borrower_stack() if self._debug or self.leak_detection is not None else None
        conn = PooledConnection(self, holder, stack, deadline, oneshot)
        hooks = plugins.query_hooks()
        checkout = hooks.connection_checkout
        if checkout is not None or hooks.connection_checkin is not None or self.leak_detection:
            holder.borrowed = now = time.monotonic()
            if self.leak_detection is not None:
                self._watch_for_leak(holder, conn)
            if checkout is not None:
                checkout(conn=conn, pool=self, wait=now - start)
        return conn

    async def _wait_resumed(
        self, deadline: float | None, timeout: float | None, explicit: bool
    ) -> None:
        """``get()`` on a paused pool: wait for ``resume()``, up to the acquire deadline."""
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        self._paused_waiting += 1
        try:
            async with asyncio.timeout(remaining):
                await self._resumed.wait()
        except TimeoutError:
            self._timeouts += 1
            source = f"get(timeout={timeout})" if explicit else "acquire_timeout"
            raise PoolTimeoutError(
                f"no connection within {timeout}s ({source}): the pool is paused "
                f"(pool.pause() without resume()); {self._describe()}"
            ) from None
        finally:
            self._paused_waiting -= 1
        if self._closing:
            raise PoolClosedError("the pool is closed")

    def _watch_for_leak(self, holder: _Holder, conn: PooledConnection) -> None:
        """leak_detection: warn once if this checkout outlives the threshold."""
        loop = self._loop
        assert loop is not None
        assert self.leak_detection is not None
        stack = conn._stack or []
        holder.leak_timer = loop.call_later(self.leak_detection, self._leaked, holder, stack)

    def _leaked(self, holder: _Holder, stack: list[str]) -> None:
        holder.leak_timer = None
        if holder not in self._holders:
            return
        self._leaks += 1
        held = time.monotonic() - holder.borrowed
        log.warning(
            "pool %s: a connection has been held for %.1f s (leak_detection %s s); "
            "acquired at (most recent call last):\n%s",
            self.name,
            held,
            self.leak_detection,
            "".join(stack).rstrip(),
        )

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
        limit = self.max_waiting
        if limit is not None and len(self._live_waiters()) >= limit:
            self._rejected += 1
            raise PoolQueueFullError(
                f"the pool's wait queue is full: {limit} get() calls already wait "
                f"(max_waiting={limit}); {self._describe()}"
            )
        # the queue wait, inline (not a helper coroutine): every contended checkout waits
        fut = self._enqueue(deadline)
        try:
            grant = await fut
        except BaseException:
            self._give_up(fut)
            raise
        finally:
            if deadline is not None:
                self._deadlines.pop(fut, None)
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
        # (no suspicion of the other idle connections here: a read that finds its
        # connection dead is retried anyway, and under a cancellation storm reads meet
        # connections their cancelled statements broke, which says nothing of the server)
        self._closed_count += 1
        self._closed_hook(dead, "broken")
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
            self._discard(holder, "abandoned", "opened after its borrower gave up")

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

    def backoff_delay(self) -> float:
        """The current wait after a failed connect: ``reconnect_backoff``'s initial
        delay doubled per failure in a row, at most its maximum."""
        config = self._config
        doublings = min(max(0, self._connect_failures - 1), 30)  # 2**30: past any maximum
        return min(config.reconnect_maximum, config.reconnect_initial * 2.0**doublings)

    def _back_off(self) -> None:
        """A connect failed: for the back-off delay, waiters wait for live connections
        (and the refill to min_size waits); then one waiter is granted a connect."""
        loop = self._loop
        if loop is None or self._closing:
            return
        delay = self.backoff_delay()
        self._backoff_until = time.monotonic() + delay
        if self._backoff_timer is not None:
            self._backoff_timer.cancel()
        self._backoff_timer = loop.call_later(delay, self._backoff_over)

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

    def _fresh(self, holder: _Holder, now: float | None = None) -> bool:
        """Whether an idle connection can be handed out as is (``_vet`` has nothing to do);
        ``now``: the caller's ``time.monotonic()``, read a moment ago."""
        if now is None:
            now = time.monotonic()
        return (
            now <= holder.expires
            and not holder.driver.is_closed
            and (self.health_check is None or now - holder.last_used < self.health_check)
            and holder.last_used >= self._suspect_before
            and holder.generation == self._generation
        )

    async def _vet(self, holder: _Holder, deadline: float | None = None) -> _Holder | None:
        """Check an idle connection before handing it out: lifetime, then health.

        The ping ends by ``deadline`` and by ``health_check_timeout``, whichever
        comes first; a ping that does not answer by then discards the connection.
        """
        now = time.monotonic()
        if now > holder.expires:
            self._discard(holder, "max_lifetime")
            return None
        if holder.generation != self._generation:
            self._discard(holder, "drain")
            return None
        if holder.driver.is_closed:
            self._discard(holder, "broken", "found closed")
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
                self._discard(holder, "health_check", f"ping failed ({exc!r})")
                if not isinstance(exc, Exception):
                    raise
                return None
            self._opening -= 1
            if not answered:
                self._discard(holder, "health_check", "its ping did not answer in time")
                if deadline is not None and time.monotonic() >= deadline - 1e-3:
                    raise _WaitExpired(self._describe())
                return None
        return holder

    def _enqueue(self, deadline: float | None) -> asyncio.Future[Any]:
        """A waiter's future at the back of the FIFO queue (a grant or an error sets it)."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(fut)
        if deadline is not None:
            # One pool-wide timer (the sweeper) expires waiters: no timer per wait.
            self._deadlines[fut] = deadline
            if self._sweep_at is None or deadline < self._sweep_at:
                self._schedule_sweep(loop, deadline)
        return fut

    def _give_up(self, fut: asyncio.Future[Any]) -> None:
        """A waiter stopped waiting (cancelled, or its deadline passed)."""
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            self._hand_back(fut.result())  # granted as we gave up: pass it on
        else:
            fut.cancel()
            with contextlib.suppress(ValueError):
                self._waiters.remove(fut)

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
            self._discard(holder, "pool_closed")
            return
        waiter = self._next_waiter() if self._waiters else None
        if waiter is not None:
            waiter.set_result(holder)
        else:
            self._idle.append(holder)

    # -- checkin -----------------------------------------------------------------------
    def _checkin_now(self, conn: PooledConnection, discard: bool) -> bool:
        """Take back a connection that needs no await (clean, or retired): True.
        False, having changed nothing: it needs a rollback or reset (``_checkin``)."""
        holder = conn._holder
        if holder not in self._holders:  # the pool was terminated under the borrower
            conn.release_write_gate()
            return True
        if not discard and conn.session_state() is not SessionState.CLEAN:
            return False
        self._unlend(holder, conn)
        self._settle(holder, conn, "retired" if discard else None)
        return True

    async def _checkin(self, conn: PooledConnection, discard: bool) -> None:
        """Take back a borrowed connection, rolled back, reset or discarded as it needs."""
        if self._checkin_now(conn, discard):
            return
        holder = conn._holder
        self._unlend(holder, conn)
        state = conn.session_state()
        if SessionState.BROKEN in state and conn.lost_to_server:
            self._suspect_before = time.monotonic()  # vet the other idle ones before use
        broken = await self._clean(conn, state)
        if broken is None:
            self._settle(holder, conn, None)
            return
        # cancelled mid-statement: the server may still be running it, holding its locks
        # (MariaDB does not notice the socket closing during a SLEEP or a long scan);
        # stop it before closing the connection
        cancel = holder.caps.cancel if conn.statement_interrupted else None
        self._settle(holder, conn, "broken", broken, cancel)

    def _unlend(self, holder: _Holder, conn: PooledConnection) -> None:
        """A borrowed connection is back: no longer in use (then kept or discarded)."""
        self._holders.discard(holder)
        holder.task = None
        if holder.leak_timer is not None:
            holder.leak_timer.cancel()
            holder.leak_timer = None
        checkin = plugins.query_hooks().connection_checkin
        if checkin is not None:
            checkin(conn=conn, pool=self, used=time.monotonic() - holder.borrowed)

    def _settle(
        self,
        holder: _Holder,
        conn: PooledConnection,
        reason: str | None,
        detail: str = "",
        cancel: SupportsCancel | None = None,
    ) -> None:
        """Keep a returned connection (idle, or straight to the oldest waiter) or close it."""
        if reason is None and (
            self.max_uses is not None
            or holder.generation != self._generation
            or holder.expires != math.inf
            or self._size > self.max_size
        ):
            reason = self._retire_reason(holder)
        if holder.write_gate is not None:  # (only a pool with a write gate lends one)
            conn.release_write_gate()  # a discarded connection may still hold it
        if reason is not None:
            self._discard(holder, reason, detail, cancel)
        else:
            self._put_idle(holder)
        if self._closing:
            self._released_event.set()  # close() waits for the borrowed ones

    def _retire_reason(self, holder: _Holder) -> str | None:
        """Why a healthy connection coming back is not kept (None: it is kept)."""
        if self.max_uses is not None and holder.uses >= self.max_uses:
            return "max_uses"
        if holder.generation != self._generation:
            return "drain"
        if time.monotonic() > holder.expires:
            return "max_lifetime"
        if self._size > self.max_size:
            return "resize"
        return None

    async def _clean(self, conn: PooledConnection, state: SessionState) -> str | None:
        """Make a returned connection fit for the next borrower; why it is broken if not."""
        if SessionState.BROKEN in state:
            return conn.broken_reason()
        try:
            await conn.restore_session()
            if (
                SessionState.NEEDS_RESET in state
                and self._on_connect is not None
                and self._dialect.reset_clears_session
            ):
                # the reset undid the session set-up too: run it again
                await self._set_up(conn._holder.driver, conn._holder.caps)
        except BaseException as exc:
            conn.release_write_gate()
            if not isinstance(exc, Exception):
                self._discard(conn._holder, "broken", "cancelled while being reset")
                raise
            return f"reset failed ({exc!r})"
        conn.release_write_gate()
        return None

    def _discard(
        self, holder: _Holder, reason: str, detail: str = "", cancel: SupportsCancel | None = None
    ) -> None:
        """Close a connection in the background and free its slot (``reason``: one of
        CLOSE_REASONS); ``cancel``: stop its running statement on the server first."""
        log.info(
            "pool %s closes a connection: %s%s", self.name, reason, f" ({detail})" if detail else ""
        )
        self._size -= 1
        self._closed_count += 1
        self._closed_hook(holder, reason)
        self._spawn(self._close_quietly(holder.driver, cancel))
        self._grant_capacity()

    def _closed_hook(self, holder: _Holder, reason: str) -> None:
        if holder.leak_timer is not None:
            holder.leak_timer.cancel()
            holder.leak_timer = None
        closed = plugins.query_hooks().connection_closed
        if closed is not None:
            closed(conn=holder.driver, pool=self, reason=reason)

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
                self._discard(holder, "abandoned", "its borrower was garbage-collected")
                self._released_event.set()

        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(recover)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @staticmethod
    async def _close_quietly(
        driver: DriverConnection, cancel: SupportsCancel | None = None
    ) -> None:
        if cancel is not None:
            try:  # bounded by the driver (MariaDB: its connect timeout for the side connection)
                await cancel.cancel_statement()
            except Exception as exc:
                log.debug("cancelling the statement of a discarded connection failed: %s", exc)
        try:
            await driver.close()
        except Exception as exc:
            log.debug("closing a discarded connection failed: %s", exc)

    # -- the reaper ------------------------------------------------------------------
    def _reap_interval(self) -> float:
        periods = (self.idle_timeout, self.max_lifetime, self.keepalive, 30.0)
        return max(0.01, min(t for t in periods if t is not None) / 2)

    async def _reap(self) -> None:
        while not self._closing:
            await asyncio.sleep(self._reap_interval())
            self.reap()
            if self.keepalive is not None:
                await self._keep_alive()
            await self._refill()

    def reap(self) -> int:
        """Close idle connections above ``min_size`` idle past ``idle_timeout``, idle ones
        past their ``max_lifetime`` or opened before a ``drain()``, and idle ones above
        ``max_size`` after a ``resize()``. Returns how many were closed."""
        now = time.monotonic()
        closed = 0
        keep: list[_Holder] = []
        # oldest-used first, so the most recently used survive
        for holder in self._idle:
            reason = None
            if now > holder.expires:
                reason = "max_lifetime"
            elif holder.generation != self._generation:
                reason = "drain"
            elif self._size > self.max_size:
                reason = "resize"
            elif (
                self.idle_timeout is not None
                and now - holder.last_used > self.idle_timeout
                and self._size > self.min_size  # _size already counts the ones closed here
            ):
                reason = "idle_timeout"
            if reason is None:
                keep.append(holder)
                continue
            closed += 1
            self._size -= 1
            self._closed_count += 1
            self._closed_hook(holder, reason)
            self._spawn(self._close_quietly(holder.driver))
        self._idle[:] = keep
        for _ in range(closed):
            self._grant_capacity()
        return closed

    async def _keep_alive(self) -> None:
        """keepalive: ping the idle connections unused that long, all at once (each
        bounded by health_check_timeout); one that fails is closed."""
        assert self.keepalive is not None
        now = time.monotonic()
        due = [h for h in self._idle if now - h.last_used >= self.keepalive]
        if not due:
            return
        self._idle[:] = [h for h in self._idle if h not in due]
        self._opening += len(due)  # neither idle nor in use while pinged
        # background tasks, not children of the reaper: closing the pool cancels the
        # reaper, and a ping cut off mid-flight would leave its driver's thread or
        # protocol busy; terminate() waits for them instead
        for holder in due:
            self._spawn(self._ping_idle(holder))

    async def _ping_idle(self, holder: _Holder) -> None:
        limit = self.health_check_timeout
        try:
            if limit is None:
                await holder.driver.ping()
            else:
                async with asyncio.timeout(limit):
                    await holder.driver.ping()
        except BaseException as exc:
            self._opening -= 1
            self._discard(holder, "health_check", f"keepalive ping failed ({exc!r})")
            if not isinstance(exc, Exception):
                raise
            return
        self._opening -= 1
        self._put_idle(holder)

    async def _refill(self) -> None:
        """Open connections up to ``min_size`` (not while backing off a failed connect).

        Each connect runs in a task of its own, shielded: closing the pool cancels the
        reaper, and a connect cut off mid-flight would leave the driver's socket or
        thread behind; the task puts its connection in the pool (closed at once if the
        pool is closing) and terminate() waits for it."""
        while not self._closing and self._size < self.min_size and not self._waiters:
            if self._backoff_until is not None and time.monotonic() < self._backoff_until:
                return
            self._size += 1
            task = asyncio.ensure_future(self._connect())
            self._background.add(task)
            task.add_done_callback(self._refilled)
            try:
                await asyncio.shield(task)
            except Exception:
                return  # logged by _connect; the next round tries again

    def _refilled(self, task: asyncio.Future[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is None:
            self._put_idle(task.result())  # discarded at once if the pool is closing

    # -- operations --------------------------------------------------------------------
    async def resize(self, min_size: int, max_size: int) -> None:
        """Change ``min_size`` and ``max_size`` while the pool serves.

        Growing lets waiting ``get()`` calls open connections at once and opens
        connections up to the new ``min_size`` (awaited). Shrinking closes idle
        connections above the new ``max_size`` now and borrowed ones as they come back;
        no borrower loses its connection.
        """
        for name, value in (("min_size", min_size), ("max_size", max_size)):
            if type(value) is not int:
                raise ConfigurationError(f"{name} must be an int, got {value!r}")
        if max_size < 1 or min_size < 0 or min_size > max_size:
            raise ConfigurationError(
                f"resize needs 0 <= min_size <= max_size and max_size >= 1, "
                f"got ({min_size}, {max_size})"
            )
        if self._closing:
            raise PoolClosedError("the pool is closed")
        self.min_size, self.max_size = min_size, max_size
        log.info("pool %s resized to %d..%d", self.name, min_size, max_size)
        self.reap()  # idle ones above the new max_size
        while self._size < self.max_size and self._has_waiters():
            before = self._size
            self._grant_capacity()
            if self._size == before:
                break
        self._start_reaper()
        await self._refill()

    async def drain(self) -> None:
        """Replace every connection: idle ones are closed now (and ``min_size`` opened
        again, awaited), borrowed ones when they come back. For after a failover, a
        password change or a server setting that only new sessions read."""
        if self._closing:
            raise PoolClosedError("the pool is closed")
        self._generation += 1
        log.info("pool %s drained (generation %d)", self.name, self._generation)
        self.reap()
        await self._refill()

    def pause(self) -> None:
        """Stop lending: ``get()`` (and the pool's query methods) wait, up to their
        acquire timeout, until :meth:`resume`. Borrowed connections are not affected."""
        self._resumed.clear()
        self._paused = True
        log.info("pool %s paused", self.name)

    def resume(self) -> None:
        """Lend again after :meth:`pause` (the waiting ``get()`` calls proceed)."""
        self._resumed.set()
        self._paused = False
        log.info("pool %s resumed", self.name)

    @property
    def paused(self) -> bool:
        """Whether :meth:`pause` is in effect."""
        return self._paused

    # -- stats and closing ---------------------------------------------------------
    def stats(self) -> PoolStats:
        """Current sizes and lifetime counters."""
        return PoolStats(
            size=self._size,
            idle=len(self._idle),
            in_use=len(self._holders),
            waiting=len(self._live_waiters()) + self._paused_waiting,
            min_size=self.min_size,
            max_size=self.max_size,
            acquired=self._acquired,
            created=self._created,
            closed=self._closed_count,
            timeouts=self._timeouts,
            paused=self.paused,
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
        first = not self._closed
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
        for holder in holders:
            self._closed_hook(holder, "pool_closed")
        closed = plugins.query_hooks().pool_closed
        if closed is not None and first and self._loop is not None:
            closed(pool=self)
        await asyncio.gather(*(self._close_quietly(h.driver) for h in holders))
        while self._background:  # closings, and pings whose connections close after them
            await asyncio.gather(*list(self._background), return_exceptions=True)
        log.info("pool closed")

    def _fail_waiters(self) -> None:
        self._resumed.set()  # a paused get() wakes up to PoolClosedError
        self._paused = False
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
        # what ``async with self._borrow()`` does, without its coroutines when the
        # checkout need not wait and the connection comes back clean
        conn = self._lend_idle(None, True) if self._idle else None
        if conn is None:
            conn = await self._acquire(None, True)
        try:
            return await conn._read(sql, params, timeout)
        finally:
            if not conn._give_back():
                await self._checkin(conn, discard=False)

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

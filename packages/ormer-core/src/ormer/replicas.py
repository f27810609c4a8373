"""A pool over a primary and its read replicas.

``await Database.create_pool(primary_url).replicas(url1, url2).build()`` makes a
:class:`ReplicatedPool`: one :class:`~ormer.pool.Pool` per server, every builder
option applied to each. Routing:

- to the primary: ``get()`` (an explicit connection may write or open a
  transaction), every write (insert/update/delete/upsert), transactions and
  ``run_transaction``, DDL and migrations, raw SQL other than a plain SELECT;
- to a replica, round robin over the healthy ones: the builders' reads
  (``select(...).collect()/first()/count()/stream()/page()``, ``find``, preloads)
  and raw SQL that is a plain SELECT (no ``FOR UPDATE``/``FOR SHARE``/``INTO``);
- read-your-writes: once a task has used the primary (a write, or a connection it
  borrowed), its reads stay on the primary for ``read_your_writes(seconds)`` after;
  the mark is a context variable shared with the tasks the marking task starts
  afterwards;
- a replica whose connection fails is taken out of rotation at once and its read
  runs again elsewhere (a read has no side effect); a replica lagging more than
  ``max_replica_lag(seconds)`` (asked of the server: ``Dialect.replica_lag``) is
  taken out at the next check; a monitor task checks every replica each
  ``replica_check_interval`` seconds and readmits the ones that answer in time;
- no healthy replica: reads go to the primary.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from .errors import ConfigurationError, ConnectionError, NotSupportedError, PoolTimeoutError
from .model import FieldInfo, Model
from .pool import Pool, PooledConnection, PoolStats
from .pool_builder import PoolBuilder, PoolOptions
from .query import Delete, Insert, ObjectDelete, ObjectUpdate, QueryAPI, Update
from .timeouts import DEFAULT, Timeout

if TYPE_CHECKING:
    from .dialect import Dialect, Row
    from .migrations.plan import TablePlan
    from .pool import _Checkout

__all__ = ["ReplicaStats", "ReplicatedPool", "ReplicatedPoolBuilder", "ReplicatedPoolStats"]

log = logging.getLogger("ormer.pool")

M = TypeVar("M", bound=Model)
T = TypeVar("T")

#: raw SQL that may run on a replica: a SELECT (or VALUES/TABLE/SHOW) that takes no
#: row lock and writes no table
_READ_HEAD = re.compile(
    r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*\(*\s*(SELECT|VALUES|TABLE|SHOW)\b", re.I | re.S
)
_NOT_READ = re.compile(
    r"\bFOR\s+(?:NO\s+KEY\s+)?UPDATE\b|\bFOR\s+(?:KEY\s+)?SHARE\b|\bLOCK\s+IN\s+SHARE\s+MODE\b"
    r"|\bINTO\b",
    re.I,
)


def is_plain_read(sql: str) -> bool:
    """Whether raw SQL is a plain read a replica may answer (else it goes to the primary).

    A SELECT that calls a function with side effects (``nextval``, ``GET_LOCK``) is
    not recognised: send it with ``pool.primary().exec_rows(...)``.
    """
    return _READ_HEAD.match(sql) is not None and _NOT_READ.search(sql) is None


class _UseClock:
    """When the current task (and the tasks it started since) last used the primary.

    The context variable holds a one-item list shared by reference: a task started
    after the first mark (``asyncio.gather`` of writes, say) updates its parent's.
    """

    __slots__ = ("_var",)

    def __init__(self) -> None:
        self._var: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
            "ormer_primary_used", default=None
        )

    def mark(self) -> None:
        cell = self._var.get()
        if cell is None:
            self._var.set([time.monotonic()])
        else:
            cell[0] = time.monotonic()

    def since(self) -> float:
        """Seconds since the last mark (infinity if none)."""
        cell = self._var.get()
        return math.inf if cell is None else time.monotonic() - cell[0]


class _PrimaryPool(Pool):
    """The primary member: lending a connection that may write (``get()``, a write
    statement, raw SQL) and taking it back mark the task's read-your-writes window.
    A read the primary answers marks nothing (else a task reading in a loop would
    keep itself on the primary for ever)."""

    _clock: _UseClock

    async def _acquire(self, timeout: float | None, oneshot: bool = False) -> PooledConnection:
        conn = await Pool._acquire(self, timeout, oneshot)
        if not oneshot:
            self._clock.mark()
        return conn

    def _checkin_now(self, conn: PooledConnection, discard: bool) -> bool:
        if not conn._oneshot:
            self._clock.mark()  # the window starts when the write (or transaction) ends
        return Pool._checkin_now(self, conn, discard)


class _Replica:
    """One replica: its pool and its place in the rotation."""

    __slots__ = (
        "checking",
        "failures",
        "healthy",
        "lag",
        "make",
        "opened",
        "pool",
        "reads",
        "reason",
        "url",
    )

    def __init__(self, make: Callable[[], Pool], url: str) -> None:
        self.make = make
        self.pool = make()
        # a pool whose opening failed (its server down at build) is closed for good: the
        # member gets a new one, opened by the check that finds the server back
        self.opened = False
        self.url = url
        self.healthy = True
        self.lag: float | None = None
        self.reason: str | None = None
        self.reads = 0
        self.failures = 0
        self.checking = False


@dataclass(frozen=True, slots=True)
class ReplicaStats:
    """One replica of a :class:`ReplicatedPool`."""

    #: the replica's URL, password hidden
    url: str
    #: in rotation (reads may go to it)
    healthy: bool
    #: its lag in seconds at the last check (None: not measured yet)
    lag: float | None
    #: why it is out of rotation (None while healthy)
    reason: str | None
    #: reads sent to it
    reads: int
    #: times it was taken out of rotation
    ejections: int
    #: its pool's numbers
    pool: PoolStats


@dataclass(frozen=True, slots=True)
class ReplicatedPoolStats:
    """``ReplicatedPool.stats()``: the primary's pool and each replica's."""

    primary: PoolStats
    replicas: tuple[ReplicaStats, ...]
    #: reads the primary answered (read-your-writes, or no replica healthy)
    primary_reads: int


class ReplicatedPool(QueryAPI):
    """A primary and its read replicas behind one query API (see the module docstring).

    Built by ``await Database.create_pool(primary_url).replicas(url, ...).build()``.
    """

    def __init__(
        self,
        primary: _PrimaryPool,
        replicas: Sequence[tuple[Callable[[], Pool], str]],
        *,
        clock: _UseClock,
        max_replica_lag: float | None,
        read_your_writes: float,
        check_interval: float,
        check_timeout: float,
    ) -> None:
        self._primary = primary
        self._replicas = [_Replica(make, url) for make, url in replicas]
        self._clock = clock
        self.max_replica_lag = max_replica_lag
        self.read_your_writes = read_your_writes
        self.check_interval = check_interval
        self.check_timeout = check_timeout
        self._next = 0  # round robin position
        self._primary_reads = 0
        self._monitor: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[Any]] = set()
        self._closed = False

    @property
    def dialect(self) -> Dialect:
        return self._primary.dialect

    # -- choosing a side -----------------------------------------------------------------
    def primary(self) -> Pool:
        """The primary's pool: everything sent through it runs on the primary."""
        return self._primary

    def replica(self) -> Pool:
        """A healthy replica's pool (the next in the rotation), or the primary's when
        none is healthy: ``pool.replica().get()`` borrows a replica connection."""
        member = self._pick(ignore_writes=True)
        return self._primary if member is None else member.pool

    def get(self, timeout: float | None = None) -> _Checkout:
        """Borrow a connection of the primary (it may write or open a transaction):
        ``async with pool.get() as conn``. Use ``pool.replica().get()`` for a replica's."""
        return self._primary.get(timeout)

    def _pick(self, ignore_writes: bool = False) -> _Replica | None:
        """The replica for the next read: None sends it to the primary."""
        if not ignore_writes and self._clock.since() < self.read_your_writes:
            return None
        members = self._replicas
        n = len(members)
        start = self._next
        for i in range(n):
            member = members[(start + i) % n]
            if member.healthy:
                self._next = (start + i + 1) % n
                return member
        return None

    def _eject(self, member: _Replica, reason: str) -> None:
        if member.healthy:
            log.warning("replica %s out of rotation: %s", member.url, reason)
            member.failures += 1
        member.healthy = False
        member.reason = reason

    def _admit(self, member: _Replica) -> None:
        if not member.healthy:
            log.warning("replica %s back in rotation", member.url)
        member.healthy = True
        member.reason = None

    # -- reads: a replica, else the primary -----------------------------------------------
    async def _read(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> list[Row]:
        for _ in self._replicas:
            member = self._pick()
            if member is None:
                break
            member.reads += 1
            try:
                return await member.pool._read(sql, params, timeout)
            except ConnectionError as exc:  # lost or unreachable: no side effect, run again
                self._eject(member, f"failed: {exc}")
            except PoolTimeoutError:
                break  # busy, not broken: the primary answers this one
        self._primary_reads += 1
        return await self._primary._read(sql, params, timeout)

    async def _stream(
        self, sql: str, params: Sequence[Any], batch: int, timeout: Timeout = DEFAULT
    ) -> AsyncIterator[list[Row]]:
        member = self._pick()
        if member is not None:
            member.reads += 1
            started = False
            try:
                async for rows in member.pool._stream(sql, params, batch, timeout):
                    started = True
                    yield rows
                return
            except ConnectionError as exc:
                self._eject(member, f"failed: {exc}")
                if started:
                    raise  # rows were handed out: the caller decides
        self._primary_reads += 1
        async for rows in self._primary._stream(sql, params, batch, timeout):
            yield rows

    def _session(self) -> _ReadSession:
        """One connection for the statements of one read (a select and its preloads)."""
        return _ReadSession(self)

    # -- everything else: the primary ------------------------------------------------------
    # A write builder marks the caller's read-your-writes window when it is made: the
    # mark then exists in the caller's context before the write runs, so a write run in
    # a task of its own (asyncio.gather, create_task) updates the caller's window too.
    def insert(self, objects: M | Sequence[M]) -> Insert[M]:
        """INSERT on the primary (see ``QueryAPI.insert``)."""
        self._clock.mark()
        return QueryAPI.insert(self, objects)

    def insert_or_update(
        self, objects: M | Sequence[M], conflict: Sequence[Any] | None = None
    ) -> Insert[M]:
        """Upsert on the primary (see ``QueryAPI.insert_or_update``)."""
        self._clock.mark()
        return QueryAPI.insert_or_update(self, objects, conflict)

    @overload
    def update(self, target: type[M], /) -> Update[M]: ...
    @overload
    def update(self, target: M, /) -> ObjectUpdate[M]: ...

    def update(self, target: Any, /) -> Update[Any] | ObjectUpdate[Any]:
        """UPDATE on the primary (see ``QueryAPI.update``)."""
        self._clock.mark()
        updated: Update[Any] | ObjectUpdate[Any] = QueryAPI.update(self, target)
        return updated

    @overload
    def delete(self, target: type[M], /) -> Delete[M]: ...
    @overload
    def delete(self, target: M, /) -> ObjectDelete[M]: ...

    def delete(self, target: Any, /) -> Delete[Any] | ObjectDelete[Any]:
        """DELETE on the primary (see ``QueryAPI.delete``)."""
        self._clock.mark()
        deleted: Delete[Any] | ObjectDelete[Any] = QueryAPI.delete(self, target)
        return deleted

    async def _fetch(
        self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT
    ) -> list[Row]:
        return await self._primary._fetch(sql, params, timeout)

    async def _execute(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> int:
        return await self._primary._execute(sql, params, timeout)

    async def _insert(
        self,
        objects: Sequence[Model],
        upsert: bool,
        conflict: tuple[FieldInfo, ...],
        timeout: Timeout = DEFAULT,
    ) -> int:
        return await self._primary._insert(objects, upsert, conflict, timeout)

    async def exec_rows(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: Timeout = DEFAULT
    ) -> list[tuple[Any, ...]]:
        """Raw SQL: a plain SELECT on a replica (see :func:`is_plain_read`), anything
        else on the primary."""
        if not is_plain_read(sql):
            return await self._primary.exec_rows(sql, params, timeout=timeout)
        return await self._raw_read(lambda conn: conn.exec_rows(sql, params, timeout=timeout))

    async def exec_non_query(
        self, sql: str, params: Sequence[Any] | None = None, *, timeout: Timeout = DEFAULT
    ) -> int:
        """Raw SQL on the primary."""
        return await self._primary.exec_non_query(sql, params, timeout=timeout)

    async def exec_table(
        self,
        model: type[M],
        sql: str,
        params: Sequence[Any] | None = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> list[M]:
        """Raw SQL mapped onto a model: a plain SELECT on a replica, else the primary."""
        if not is_plain_read(sql):
            return await self._primary.exec_table(model, sql, params, timeout=timeout)
        return await self._raw_read(
            lambda conn: conn.exec_table(model, sql, params, timeout=timeout)
        )

    async def _raw_read(self, run: Callable[[PooledConnection], Awaitable[T]]) -> T:
        """``run`` (raw read SQL) on a replica's connection; on the primary's when none is
        healthy, or the replica fails (it leaves the rotation)."""
        member = self._pick()
        if member is not None:
            member.reads += 1
            try:
                async with member.pool._borrow() as conn:
                    return await run(conn)
            except ConnectionError as exc:
                self._eject(member, f"failed: {exc}")
        self._primary_reads += 1
        async with self._primary._borrow() as conn:  # a read: no read-your-writes mark
            return await run(conn)

    async def create_table(self, model: type[Model], if_not_exists: bool = True) -> None:
        """CREATE TABLE on the primary."""
        await self._primary.create_table(model, if_not_exists)

    async def drop_table(self, model: type[Model], if_exists: bool = True) -> None:
        """DROP TABLE on the primary."""
        await self._primary.drop_table(model, if_exists)

    async def plan_table(self, model: type[Model]) -> TablePlan:
        """:meth:`Connection.plan_table` on the primary."""
        return await self._primary.plan_table(model)

    async def migrate_table(
        self, model: type[Model], *, allow_destructive: bool = False
    ) -> TablePlan:
        """:meth:`Connection.migrate_table` on the primary."""
        return await self._primary.migrate_table(model, allow_destructive=allow_destructive)

    # -- health ------------------------------------------------------------------------------
    async def check_replicas(self) -> None:
        """Check every replica now (the monitor does it each ``replica_check_interval``):
        a replica that answers within ``check_timeout`` and lags no more than
        ``max_replica_lag`` is in rotation, any other is out."""
        await asyncio.gather(*(self._check(m) for m in self._replicas if not m.checking))

    async def _open_member(self, member: _Replica) -> bool:
        """Open a replica's pool (at build, or at the check that finds it back)."""
        try:
            await member.pool._open()
        except ConnectionError as exc:
            member.pool = member.make()
            self._eject(member, f"failed: {exc}")
            return False
        member.opened = True
        return True

    async def _check(self, member: _Replica) -> None:
        member.checking = True
        try:
            if not member.opened and not await self._open_member(member):
                return
            async with asyncio.timeout(self.check_timeout):
                async with member.pool.get(timeout=self.check_timeout) as conn:
                    if self.max_replica_lag is None:
                        await conn.driver.ping()
                        lag = None
                    else:
                        lag = await self.dialect.replica_lag(conn)
        except (ConnectionError, PoolTimeoutError, TimeoutError) as exc:
            self._eject(member, f"check failed: {exc or 'no answer in time'}")
            return
        except Exception as exc:  # the lag query itself failed (a privilege, say)
            self._eject(member, f"lag check failed: {exc}")
            raise
        finally:
            member.checking = False
        member.lag = lag
        limit = self.max_replica_lag
        if lag is not None and limit is not None and lag > limit:
            self._eject(member, f"lags {lag:.3g}s (max_replica_lag {limit}s)")
        else:
            self._admit(member)

    async def _monitor_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.check_interval)
            for member in self._replicas:
                if member.checking:
                    continue
                task = asyncio.ensure_future(self._check(member))
                self._checks.add(task)
                task.add_done_callback(self._check_done)

    def _check_done(self, task: asyncio.Task[Any]) -> None:
        self._checks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("replica check failed: %s", task.exception())

    # -- numbers and life cycle -------------------------------------------------------------
    def stats(self) -> ReplicatedPoolStats:
        """The primary's pool numbers and each replica's, with its health and lag."""
        return ReplicatedPoolStats(
            primary=self._primary.stats(),
            replicas=tuple(
                ReplicaStats(
                    url=m.url,
                    healthy=m.healthy,
                    lag=m.lag,
                    reason=m.reason,
                    reads=m.reads,
                    ejections=m.failures,
                    pool=m.pool.stats(),
                )
                for m in self._replicas
            ),
            primary_reads=self._primary_reads,
        )

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def _open(self) -> ReplicatedPool:
        try:
            await self._primary._open()
            for member in self._replicas:
                await self._open_member(member)  # one down at start: out of rotation
            try:
                await self.check_replicas()
            except Exception as exc:
                raise ConfigurationError(
                    f"cannot measure replica lag: {exc} (give the account the privilege to "
                    "read replication status, or turn the check off with max_replica_lag(None))"
                ) from exc
        except BaseException:
            await self.terminate()
            raise
        self._monitor = asyncio.create_task(self._monitor_loop(), name="ormer-replica-monitor")
        return self

    async def _stop_monitor(self) -> None:
        self._closed = True
        tasks = [t for t in (self._monitor, *self._checks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._monitor = None

    async def close(self, timeout: float | None = None) -> None:
        """Close every member's pool (see ``Pool.close``)."""
        await self._stop_monitor()
        pools = [self._primary, *(m.pool for m in self._replicas)]
        await asyncio.gather(*(p.close(timeout) for p in pools))

    async def terminate(self) -> None:
        """Close every member's connections now, borrowed ones included."""
        await self._stop_monitor()
        pools = [self._primary, *(m.pool for m in self._replicas)]
        await asyncio.gather(*(p.terminate() for p in pools))

    async def __aenter__(self) -> ReplicatedPool:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        healthy = sum(m.healthy for m in self._replicas)
        return (
            f"<ormer.ReplicatedPool {self.dialect.name} primary + "
            f"{healthy}/{len(self._replicas)} replicas healthy>"
        )


class _ReadSession:
    """``ReplicatedPool._session()``: a replica's one-read checkout, else the primary's."""

    __slots__ = ("_checkout", "_pool")

    def __init__(self, pool: ReplicatedPool) -> None:
        self._pool = pool
        self._checkout: _Checkout | None = None

    async def __aenter__(self) -> PooledConnection:
        pool = self._pool
        for _ in pool._replicas:
            member = pool._pick()
            if member is None:
                break
            member.reads += 1
            checkout = member.pool._session()
            try:
                conn = await checkout.__aenter__()
            except ConnectionError as exc:
                pool._eject(member, f"failed: {exc}")
                continue
            self._checkout = checkout
            return conn
        pool._primary_reads += 1
        self._checkout = pool._primary._session()
        return await self._checkout.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._checkout is not None
        await self._checkout.__aexit__(exc_type, exc, tb)


class ReplicatedPoolBuilder(PoolOptions):
    """``create_pool(primary_url)...replicas(url, ...)``: the options of every member's
    pool plus the routing ones; ``build()`` (or awaiting it) opens a
    :class:`ReplicatedPool`."""

    def __init__(self, base: PoolBuilder, urls: Sequence[str]) -> None:
        self.__dict__.update(base.__dict__)  # the options set so far
        self._replica_urls = tuple(urls)
        self._max_replica_lag: float | None = 5.0
        self._read_your_writes: float | None = None
        self._check_interval = 1.0

    def replicas(self, *urls: str) -> ReplicatedPoolBuilder:
        """More replicas."""
        self._replica_urls += tuple(urls)
        return self

    def max_replica_lag(self, seconds: float | None) -> ReplicatedPoolBuilder:
        """A replica lagging more (asked of the server at each check) leaves the rotation
        until it catches up (default 5 s; None: lag is not checked, only failures)."""
        self._max_replica_lag = seconds
        return self

    def read_your_writes(self, seconds: float) -> ReplicatedPoolBuilder:
        """How long a task's reads stay on the primary after it used the primary
        (default: ``max_replica_lag`` + ``replica_check_interval``, the oldest data a
        replica in rotation may serve; 5 s when lag is not checked; 0: off)."""
        self._read_your_writes = seconds
        return self

    def replica_check_interval(self, seconds: float) -> ReplicatedPoolBuilder:
        """How often each replica's health and lag are checked (default 1 s)."""
        self._check_interval = seconds
        return self

    def _validate(self) -> None:
        super()._validate()
        if self._dialect is not None and not self._dialect.supports_replicas:
            raise NotSupportedError(f"{self._dialect.name}: read replicas")
        if not self._replica_urls:
            raise ConfigurationError("replicas() needs at least one replica URL")
        for name, seconds, zero_ok in (
            ("max_replica_lag", self._max_replica_lag, True),
            ("read_your_writes", self._read_your_writes, True),
            ("replica_check_interval", self._check_interval, False),
        ):
            if seconds is None and name != "replica_check_interval":
                continue
            if (
                not isinstance(seconds, (int, float))
                or isinstance(seconds, bool)
                or seconds < 0
                or (seconds == 0 and not zero_ok)
            ):
                raise ConfigurationError(
                    f"{name} must be a {'non-negative' if zero_ok else 'positive'} number "
                    f"of seconds, got {seconds!r}"
                )

    async def build(self) -> ReplicatedPool:
        """Validate the options, open every member's pool (``min_size`` connections
        each) and check the replicas once: a replica down or lagging starts out of
        rotation; a lag query the account may not run is a ConfigurationError."""
        from .database import resolve_target

        self._validate()
        await self._resolve_source()
        assert self._url is not None
        assert self._dialect is not None
        if not self._dialect.supports_replicas:
            raise NotSupportedError(f"{self._dialect.name}: read replicas")
        clock = _UseClock()
        primary = self._pool(self._url, _PrimaryPool)
        primary._clock = clock
        members: list[tuple[Callable[[], Pool], str]] = []
        for text in self._replica_urls:
            dialect, url = resolve_target(text, None)
            if dialect.name != self._dialect.name:
                raise ConfigurationError(
                    f"replica {url!r} is a {dialect.name} URL; the primary is {self._dialect.name}"
                )
            make = functools.partial(self._pool, url, Pool, source=False)
            members.append((make, repr(url)[5:-2]))
        lag = self._max_replica_lag
        window = self._read_your_writes
        if window is None:
            window = 5.0 if lag is None else lag + self._check_interval
        pool = ReplicatedPool(
            primary,
            members,
            clock=clock,
            max_replica_lag=lag,
            read_your_writes=window,
            check_interval=self._check_interval,
            check_timeout=self._health_check_timeout or 5.0,
        )
        return await pool._open()

    def __await__(self) -> Generator[Any, None, ReplicatedPool]:
        return self.build().__await__()

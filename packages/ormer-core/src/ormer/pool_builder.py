"""Building a pool: ``Database.create_pool(...)`` returns a :class:`PoolBuilder`.

Every option is validated at ``build()`` (ConfigurationError naming it); the
table of options is in docs/pool.md.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .errors import ConfigurationError
from .pool import Pool
from .pool_config import OnConnect, OnReconnectFailed, PoolConfig, UrlSource
from .timeouts import DEFAULT, check_timeout, take_option

if TYPE_CHECKING:
    from .dialect import URL, Dialect
    from .replicas import ReplicatedPoolBuilder

__all__ = ["PoolBuilder", "PoolOptions"]

P = TypeVar("P", bound=Pool)


def _seconds(name: str, value: Any, *, positive: bool = False) -> None:
    if value is None:
        return
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or value < 0
        or (positive and value == 0)
    ):
        kind = "positive" if positive else "non-negative"
        raise ConfigurationError(
            f"{name} must be a {kind} number of seconds or None, got {value!r}"
        )


def _count(name: str, value: Any, least: int) -> None:
    if value is not None and (type(value) is not int or value < least):
        raise ConfigurationError(f"{name} must be an int >= {least} or None, got {value!r}")


class PoolOptions:
    """The options of a pool (and of each member of a replicated pool), validated at
    ``build()``. Each setter returns the builder, so calls chain."""

    def __init__(
        self, dialect: Dialect | None, url: URL | None, url_source: UrlSource | None = None
    ) -> None:
        self._dialect = dialect  # None: learnt from url_source's first URL at build
        self._url = url
        self._url_source = url_source
        self._max_size = 10
        self._min_size = 0
        self._idle_timeout: float | None = 300.0
        self._acquire_timeout: float | None = 30.0
        self._max_lifetime: float | None = None
        self._health_check: float | None = 30.0
        self._health_check_timeout: float | None = 5.0
        self._options: dict[str, Any] = {}
        self._statement_timeout: Any = DEFAULT  # DEFAULT: the URL's or connect options'
        self._on_connect: OnConnect | None = None
        self._max_waiting: int | None = None
        self._leak_detection: float | None = None
        self._max_uses: int | None = None
        self._keepalive: float | None = None
        self._reconnect: tuple[Any, Any] = (1.0, 10.0)
        self._on_reconnect_failed: OnReconnectFailed | None = None
        self._reconnect_failed_after: Any = 5
        self._name: str | None = None

    # -- sizes and timeouts ---------------------------------------------------------------
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
        """Close connections older than this when they come back or are found idle
        (default: never). Each connection's lifetime is up to 5% shorter, drawn at
        random, so connections opened together are not all replaced together."""
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

    # -- life cycle of connections ----------------------------------------------------------
    def on_connect(self, fn: OnConnect) -> Self:
        """``async def fn(conn)``, run on each new connection before it is lent (session
        set-up: ``SET search_path``, ``PRAGMA``...), and again after the pool reset a
        session a borrower changed; an error discards the connection (the ``get()``
        that opened it raises it)."""
        self._on_connect = fn
        return self

    def max_uses(self, n: int | None) -> Self:
        """Close a connection after it was lent ``n`` times (default: no limit)."""
        self._max_uses = n
        return self

    def keepalive(self, seconds: float | None) -> Self:
        """Ping connections idle this long in the background, so a firewall or the
        server's idle timeout (``wait_timeout``) never closes them unnoticed; one that
        fails is closed and replaced up to ``min_size`` (default: off)."""
        self._keepalive = seconds
        return self

    def reconnect_backoff(self, initial: float, maximum: float) -> Self:
        """After a failed connect, new connects wait ``initial`` seconds, doubling at
        each further failure up to ``maximum``, while other connections can serve
        (default 1 s to 10 s). The background refill to ``min_size`` follows it too."""
        self._reconnect = (initial, maximum)
        return self

    def on_reconnect_failed(self, fn: OnReconnectFailed, after: int = 5) -> Self:
        """``fn(pool, error)`` (plain or ``async``), called once when ``after`` connects
        in a row have failed (again after a success and ``after`` new failures)."""
        self._on_reconnect_failed = fn
        self._reconnect_failed_after = after
        return self

    # -- borrowers ----------------------------------------------------------------------
    def max_waiting(self, n: int | None) -> Self:
        """Most ``get()`` calls that may wait for a connection at once; one more fails
        at once with PoolQueueFullError (default: no limit; 0: never wait)."""
        self._max_waiting = n
        return self

    def leak_detection(self, seconds: float | None) -> Self:
        """Log a warning, once, with the stack that acquired it, for each connection held
        longer than this (default: off; costs a stack capture per checkout when on)."""
        self._leak_detection = seconds
        return self

    def name(self, name: str) -> Self:
        """The pool's name in logs and metrics (default: ``dialect://host:port/database``)."""
        self._name = name
        return self

    # -- validation and building ----------------------------------------------------------
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
            _seconds(name, seconds)
        _seconds("keepalive", self._keepalive, positive=True)
        _seconds("leak_detection", self._leak_detection, positive=True)
        _count("max_waiting", self._max_waiting, 0)
        _count("max_uses", self._max_uses, 1)
        initial, maximum = self._reconnect
        _seconds("reconnect_backoff initial", initial, positive=True)
        _seconds("reconnect_backoff maximum", maximum, positive=True)
        if initial is None or maximum is None or initial > maximum:
            raise ConfigurationError(
                f"reconnect_backoff(initial, maximum) needs 0 < initial <= maximum, "
                f"got ({initial!r}, {maximum!r})"
            )
        for name, fn in (
            ("on_connect", self._on_connect),
            ("on_reconnect_failed", self._on_reconnect_failed),
        ):
            if fn is not None and not callable(fn):
                raise ConfigurationError(f"{name} must be callable, got {fn!r}")
        if self._on_connect is not None and not _is_async(self._on_connect):
            raise ConfigurationError(
                "on_connect must be an async function (async def set_up(conn): ...)"
            )
        _count("on_reconnect_failed after", self._reconnect_failed_after, 1)
        if self._name is not None and not isinstance(self._name, str):
            raise ConfigurationError(f"name must be a str, got {self._name!r}")

    async def _resolve_source(self) -> None:
        """A URL given as a function: its first URL names the dialect (when no DbType
        did) and the URL options; each connect calls it again."""
        source = self._url_source
        if source is None:
            return
        if not callable(source):
            raise ConfigurationError(f"the URL must be a str or a function, got {source!r}")
        text = await call_url_source(source)
        if self._dialect is None:
            from .database import resolve_target

            self._dialect, self._url = resolve_target(text, None)
        else:
            self._url = self._dialect.parse_target(text)

    def _config(self, statement_timeout: float | None, options: dict[str, Any]) -> PoolConfig:
        initial, maximum = self._reconnect
        return PoolConfig(
            min_size=self._min_size,
            max_size=self._max_size,
            idle_timeout=self._idle_timeout,
            acquire_timeout=self._acquire_timeout,
            max_lifetime=self._max_lifetime,
            health_check=self._health_check,
            health_check_timeout=self._health_check_timeout,
            statement_timeout=statement_timeout,
            connect_options=options,
            on_connect=self._on_connect,
            url_source=self._url_source,
            max_waiting=self._max_waiting,
            leak_detection=self._leak_detection,
            max_uses=self._max_uses,
            keepalive=self._keepalive,
            reconnect_initial=float(initial),
            reconnect_maximum=float(maximum),
            on_reconnect_failed=self._on_reconnect_failed,
            reconnect_failed_after=self._reconnect_failed_after,
            name=self._name,
        )

    def _pool(self, url: URL, pool_class: type[P], *, source: bool = True) -> P:
        """An unopened pool of ``pool_class`` on ``url`` with these options (``source``:
        whether it follows the builder's URL function)."""
        assert self._dialect is not None
        url, options, statement_timeout = take_option(url, self._options)
        if self._statement_timeout is not DEFAULT:
            statement_timeout = check_timeout(self._statement_timeout, "statement_timeout")
        config = self._config(statement_timeout, options)
        if not source:
            config = dataclasses.replace(config, url_source=None)
        return pool_class(self._dialect, url, config)


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 (an object with an async __call__)
    )


async def call_url_source(source: UrlSource) -> str:
    """The current URL from a URL function (plain or coroutine function)."""
    text = source()
    if inspect.isawaitable(text):
        text = await text
    if not isinstance(text, str):
        raise ConfigurationError(f"the URL function returned {text!r}, not a str")
    return text


class PoolBuilder(PoolOptions):
    """Pool options, validated at ``build()``; awaiting the builder builds too."""

    async def build(self) -> Pool:
        """Validate the options and open ``min_size`` connections.

        A dialect whose SQL depends on the server it reaches (``has_server_variants``)
        learns that server here, from the first connection or a probe, so that the
        pool compiles for it from the start.
        """
        self._validate()
        await self._resolve_source()
        assert self._url is not None
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

"""Per-statement timeouts (docs/queries.md, "Statement timeouts").

A statement runs under a limit when its builder says so (``.timeout(s)``), or
when its connection has a default (``conn.statement_timeout``, from
``Database.connect(..., statement_timeout=s)``, the URL option
``?statement_timeout=s`` or the pool builder's ``.statement_timeout(s)``).

Enforcement costs nothing without a limit (the connection checks ``is None``).
With one, :func:`run_timed` schedules ONE timer (``loop.call_later``; no task,
no ``wait_for``). When it fires, the driver is asked to cancel the statement on
the server (:class:`~ormer.driver.SupportsCancel`: PostgreSQL's cancel request,
MariaDB's ``KILL QUERY``, SQLite's ``interrupt()``); the statement then fails
with the server's "cancelled" error, the connection stays usable and
:class:`~ormer.errors.StatementTimeoutError` is raised, chained to that error.
If the driver cannot cancel, or the statement has not ended within a short
grace period after the request, the waiting task is cancelled asyncio-wise
instead: the connection's protocol state is then unknown, so it is marked
broken (a pool discards it) and StatementTimeoutError is raised all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode

from .errors import ConfigurationError, OrmerError, StatementTimeoutError

if TYPE_CHECKING:
    from .dialect import URL
    from .driver import SupportsCancel

__all__ = [
    "DEFAULT",
    "OPTION",
    "Timeout",
    "check_timeout",
    "grace_period",
    "run_timed",
    "take_option",
]

log = logging.getLogger("ormer.sql")
R = TypeVar("R")

#: the name of the URL / connect option
OPTION: Final = "statement_timeout"


class _Default(enum.Enum):
    DEFAULT = "the connection's statement_timeout"

    def __repr__(self) -> str:
        return "DEFAULT"


#: "the connection's default": what a statement uses unless ``.timeout()`` was called
DEFAULT: Final = _Default.DEFAULT

#: a statement's limit: seconds, None (no limit) or DEFAULT (the connection's)
Timeout: TypeAlias = float | Literal[_Default.DEFAULT] | None


def check_timeout(seconds: Any, what: str = "timeout") -> float | None:
    """``seconds`` as a statement timeout (a positive number, or None for no limit).

    Raises ConfigurationError otherwise; 0 is refused (it would fail every
    statement; None means no limit).
    """
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ConfigurationError(
            f"{what} must be a positive number of seconds or None (no limit), got {seconds!r}"
        )
    return float(seconds)


def take_option(url: URL, options: dict[str, Any]) -> tuple[URL, dict[str, Any], float | None]:
    """Take ``statement_timeout`` out of a URL's query and the keyword options.

    It is ormer's, not the driver's (PostgreSQL would otherwise send it to the
    server as its own ``statement_timeout``, in milliseconds). Returns the URL
    and options without it, and its value (the keyword wins over the URL).
    """
    value: Any = None
    if OPTION in url.query:
        import dataclasses

        query = {k: v for k, v in url.query.items() if k != OPTION}
        value = url.query[OPTION]
        raw = url.raw
        base, sep, text = raw.partition("?")
        if sep:
            kept = [(k, v) for k, v in parse_qsl(text, keep_blank_values=True) if k != OPTION]
            raw = base + ("?" + urlencode(kept) if kept else "")
        url = dataclasses.replace(url, query=query, raw=raw)
    if OPTION in options:
        options = dict(options)
        value = options.pop(OPTION)
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ConfigurationError(
                f"statement_timeout must be a number of seconds, got {value!r}"
            ) from None
    return url, options, check_timeout(value, OPTION)


#: seconds between two cancel requests for a statement that is still running
RETRY = 0.25


def grace_period(timeout: float) -> float:
    """How long a statement may take to end once its cancellation was requested."""
    return min(max(1.0, timeout), 5.0)


class _Expiry:
    """The timer of one statement and what happened when it fired."""

    __slots__ = ("cancel", "canceller", "ended", "forced", "handle", "loop", "task", "timeout")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        task: asyncio.Task[Any],
        cancel: SupportsCancel | None,
        timeout: float,
    ) -> None:
        self.loop = loop
        self.task = task
        self.cancel = cancel
        self.timeout = timeout
        self.canceller: asyncio.Task[None] | None = None
        self.ended: asyncio.Event | None = None
        self.forced = False
        self.handle = loop.call_later(timeout, self.expire)

    def expire(self) -> None:
        if self.cancel is None:
            self.force()
            return
        self.ended = asyncio.Event()
        self.canceller = self.loop.create_task(self.cancel_until_ended(self.cancel, self.ended))
        self.handle = self.loop.call_later(grace_period(self.timeout), self.force)

    @staticmethod
    async def cancel_until_ended(cancel: SupportsCancel, ended: asyncio.Event) -> None:
        """Ask the server to cancel; again every RETRY seconds while the statement runs.

        A request can land while the server is between two protocol messages of the
        statement (PostgreSQL's extended protocol: after Parse, before Execute), where
        it is ignored; the next one hits. A request to an idle connection is ignored,
        so an extra one does no harm.
        """
        while not ended.is_set():
            await cancel.cancel_statement()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), RETRY)

    def force(self) -> None:
        self.forced = True
        self.task.cancel()

    @property
    def expired(self) -> bool:
        return self.forced or self.canceller is not None


def _timeout_error(timeout: float, how: str, sqlstate: str | None = None) -> StatementTimeoutError:
    return StatementTimeoutError(
        f"the statement ran longer than its timeout of {timeout:g}s and was {how}",
        timeout=timeout,
        sqlstate=sqlstate,
    )


def _consume(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("cancelling a statement failed: %r", task.exception())


async def run_timed(
    start: Callable[[], Awaitable[R]],
    timeout: float,
    cancel: SupportsCancel | None,
    broken: Callable[[], None],
    translate: Callable[[Exception], OrmerError],
) -> R:
    """Await ``start()`` for at most ``timeout`` seconds (see the module docstring).

    ``cancel``: the driver's cancel capability, if any. ``broken``: called when
    the statement had to be abandoned mid-flight (the connection is unusable).
    ``translate``: the connection's error translation (which notes a lost connection).
    Raises StatementTimeoutError; errors of a statement that did not time out
    pass through unchanged.
    """
    task = asyncio.current_task()
    if task is None:  # not in a task (a bare coroutine driven by hand): no limit possible
        return await start()
    cancelling = task.cancelling()
    expiry = _Expiry(asyncio.get_running_loop(), task, cancel, timeout)
    try:
        return await start()
    except asyncio.CancelledError:
        if expiry.forced and task.uncancel() <= cancelling:
            broken()
            how = "abandoned (no server-side cancel in time; the connection is discarded)"
            raise _timeout_error(timeout, how) from None
        raise
    except Exception as exc:
        if expiry.expired:
            if expiry.forced:
                task.uncancel()
                broken()
            cause = translate(exc)  # the server's "cancelled" error (or a lost connection)
            sqlstate = getattr(cause, "sqlstate", None)
            raise _timeout_error(timeout, "cancelled on the server", sqlstate) from exc
        raise
    finally:
        expiry.handle.cancel()
        canceller = expiry.canceller
        if canceller is not None:
            assert expiry.ended is not None
            expiry.ended.set()
            if canceller.done() or expiry.forced:
                canceller.cancel()
                canceller.add_done_callback(_consume)
            else:
                # A cancel request may still be on its way: let it finish now, so that it
                # cannot hit this connection's next statement.
                with contextlib.suppress(Exception):
                    await canceller

"""The settings of one pool, as validated by its builder (ormer.pool_builder)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .connection import Connection
    from .pool import Pool

__all__ = ["OnConnect", "OnReconnectFailed", "PoolConfig", "UrlSource"]

#: ``on_connect``: ``async def set_up(conn: Connection) -> None``
OnConnect = Callable[["Connection"], Awaitable[None]]
#: a URL that changes (rotating credentials): a function or coroutine function
UrlSource = Callable[[], "str | Awaitable[str]"]
#: ``on_reconnect_failed``: ``fn(pool, error)``, plain or coroutine function
OnReconnectFailed = Callable[["Pool", BaseException], "Awaitable[None] | None"]


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Every option of a pool (docs/pool.md, "Options"); times in seconds, None: off."""

    min_size: int = 0
    max_size: int = 10
    idle_timeout: float | None = 300.0
    acquire_timeout: float | None = 30.0
    max_lifetime: float | None = None
    #: a connection's lifetime is ``max_lifetime`` less up to this fraction, drawn per
    #: connection, so connections opened together do not all close together
    lifetime_jitter: float = 0.05
    health_check: float | None = 30.0
    health_check_timeout: float | None = 5.0
    statement_timeout: float | None = None
    connect_options: dict[str, Any] = field(default_factory=dict)
    on_connect: OnConnect | None = None
    url_source: UrlSource | None = None
    max_waiting: int | None = None
    leak_detection: float | None = None
    max_uses: int | None = None
    keepalive: float | None = None
    reconnect_initial: float = 1.0
    reconnect_maximum: float = 10.0
    on_reconnect_failed: OnReconnectFailed | None = None
    reconnect_failed_after: int = 5
    name: str | None = None

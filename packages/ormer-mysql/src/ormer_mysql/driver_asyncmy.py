"""The asyncmy driver adapter: ``mysql+asyncmy://`` URLs, or the connect option
``driver="asyncmy"`` (``pip install "ormer-mysql[asyncmy]"``).

asyncmy is a Cython rewrite of PyMySQL's protocol code; the adapter is the
aiomysql one with asyncmy's connect call and unbuffered cursor (same dialect,
same SQL, same conversions).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ormer.errors import ConfigurationError

from ._base import MySQLDriverBase, connect_error, connect_timeout, flag

try:
    import asyncmy
    from asyncmy.cursors import SSCursor
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ConfigurationError(
        "the asyncmy driver is not installed: pip install 'ormer-mysql[asyncmy]'"
    ) from exc

if TYPE_CHECKING:
    from ormer.dialect import URL

    from .dialect import MySQLDialect

__all__ = ["AsyncmyDriver"]


class AsyncmyDriver(MySQLDriverBase):
    """One asyncmy connection."""

    __slots__ = ()
    library = "asyncmy"

    @classmethod
    async def open(cls, dialect: MySQLDialect, url: URL, options: dict[str, Any]) -> AsyncmyDriver:
        """Connect (bounded by ``connect_timeout``, default 10 s), pick the dialect
        variant from the server's version and set the session up."""
        options = dict(options)
        timeout = connect_timeout(options)
        returning = flag(options, "returning")
        kwargs = cls.connect_kwargs(url, options)
        kwargs.setdefault("database", url.database)
        conn: Any = None
        try:
            async with asyncio.timeout(timeout):
                conn = await asyncmy.connect(connect_timeout=timeout, **kwargs)
                variant = dialect.for_server(conn.get_server_info(), returning)
                driver = cls(conn, variant, kwargs.get("init_command"))
                await driver._setup()
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, TypeError) and "argument" in str(exc):
                raise ConfigurationError(f"bad MySQL connect option: {exc}") from exc
            if isinstance(exc, Exception):
                raise connect_error(url, exc, timeout) from exc
            raise
        return driver

    async def _stream_cursor(self) -> Any:
        return self._conn.cursor(SSCursor)

    def _is_driver_closed(self) -> bool:
        conn = self._conn
        # _stream_broken: the server closed the socket (wait_timeout, KILL) while idle,
        # known without a round trip, so the pool discards it even before a health check.
        return not conn.connected or bool(getattr(conn, "_stream_broken", False))

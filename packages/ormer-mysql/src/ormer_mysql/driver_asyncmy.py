"""The asyncmy driver adapter: ``mysql+asyncmy://`` URLs, or the connect option
``driver="asyncmy"`` (``pip install "ormer-mysql[asyncmy]"``).

asyncmy is a Cython rewrite of PyMySQL's protocol code; the adapter is the
aiomysql one with asyncmy's connect call and unbuffered cursor (same dialect,
same SQL, same conversions).
"""

from __future__ import annotations

from typing import Any

from ormer.errors import ConfigurationError

from ._base import MySQLDriverBase

try:
    import asyncmy
    from asyncmy.cursors import SSCursor
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ConfigurationError(
        "the asyncmy driver is not installed: pip install 'ormer-mysql[asyncmy]'"
    ) from exc

__all__ = ["AsyncmyDriver"]


class AsyncmyDriver(MySQLDriverBase):
    """One asyncmy connection."""

    __slots__ = ()
    _connect = staticmethod(asyncmy.connect)

    async def _stream_cursor(self) -> Any:
        return self._conn.cursor(SSCursor)

    def _is_driver_closed(self) -> bool:
        conn = self._conn
        # _stream_broken: the server closed the socket (wait_timeout, KILL) while idle,
        # known without a round trip, so the pool discards it even before a health check.
        return not conn.connected or bool(getattr(conn, "_stream_broken", False))

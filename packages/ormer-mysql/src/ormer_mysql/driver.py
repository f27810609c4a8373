"""The aiomysql driver adapter (the default driver of ``mysql://`` URLs).

Statements run through aiomysql's connection-level ``query`` (see
:mod:`ormer_mysql._base`); streaming uses its unbuffered ``SSCursor``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import aiomysql

from ormer.errors import ConfigurationError

from ._base import MySQLDriverBase, connect_error, connect_timeout, flag

if TYPE_CHECKING:
    from ormer.dialect import URL

    from .dialect import MySQLDialect

__all__ = ["AiomysqlDriver"]


class _StreamCursor(aiomysql.SSCursor):  # type: ignore[misc]
    """An unbuffered cursor that does not turn server notes into Python warnings."""

    async def _show_warnings(self, conn: Any) -> None:
        return None


class AiomysqlDriver(MySQLDriverBase):
    """One aiomysql connection."""

    __slots__ = ()
    library = "aiomysql"

    @classmethod
    async def open(cls, dialect: MySQLDialect, url: URL, options: dict[str, Any]) -> AiomysqlDriver:
        """Connect (bounded by ``connect_timeout``, default 10 s), pick the dialect
        variant from the server's version and set the session up."""
        options = dict(options)
        timeout = connect_timeout(options)
        returning = flag(options, "returning")
        kwargs = cls.connect_kwargs(url, options)
        kwargs.setdefault("db", url.database)
        conn: Any = None
        try:
            async with asyncio.timeout(timeout):
                conn = await aiomysql.connect(connect_timeout=timeout, **kwargs)
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
        return await self._conn.cursor(_StreamCursor)

    def _is_driver_closed(self) -> bool:
        return bool(self._conn.closed)

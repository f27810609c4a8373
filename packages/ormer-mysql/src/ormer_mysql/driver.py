"""The aiomysql driver adapter (the default driver of ``mysql://`` URLs).

Statements run through aiomysql's connection-level ``query`` (see
:mod:`ormer_mysql._base`); streaming uses its unbuffered ``SSCursor``.
"""

from __future__ import annotations

from typing import Any

import aiomysql

from ._base import MySQLDriverBase

__all__ = ["AiomysqlDriver"]


class _StreamCursor(aiomysql.SSCursor):  # type: ignore[misc]
    """An unbuffered cursor that does not turn server notes into Python warnings."""

    async def _show_warnings(self, conn: Any) -> None:
        return None


class AiomysqlDriver(MySQLDriverBase):
    """One aiomysql connection."""

    __slots__ = ()
    database_keyword = "db"
    _connect = staticmethod(aiomysql.connect)

    async def _stream_cursor(self) -> Any:
        return await self._conn.cursor(_StreamCursor)

    def _is_driver_closed(self) -> bool:
        return bool(self._conn.closed)

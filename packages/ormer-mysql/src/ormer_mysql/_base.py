"""What the aiomysql and asyncmy adapters share: parameter interpolation,
statement execution on the text protocol, session setup and reset, and the
translation of MySQL error numbers to ormer's error tree.

Both libraries expose the same low-level connection surface (inherited from
PyMySQL): ``query(sql, unbuffered)`` runs one ``COM_QUERY`` and leaves its
result in ``_result`` (``rows``, ``affected_rows``, ``insert_id``,
``description``). ormer uses it directly instead of a cursor: one statement is
one round trip, and no ``SHOW WARNINGS`` round trip follows a statement with
warnings (the cursors of both libraries issue one and turn each server note,
such as ``DROP TABLE IF EXISTS`` on a missing table, into a Python warning).

Parameters are interpolated client-side (the text protocol has no bind
parameters; this is what both libraries do too), by :func:`interpolate`:
each value becomes a SQL literal, strings escaped for the session's
``NO_BACKSLASH_ESCAPES`` setting and bytes sent as ``X'..'`` hex literals.
A statement without parameters is sent exactly as written (no ``%%``
processing), as the drivers' own ``execute(sql)`` does.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import enum
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self

from ormer import errors
from ormer.driver import Row
from ormer.driverkit import (
    ErrorRule,
    ErrorRules,
    Option,
    OptionSet,
    as_bool,
    as_int,
    as_seconds,
    codes,
    connect_within,
)

if TYPE_CHECKING:
    from ormer.dialect import URL

    from .dialect import MySQLDialect

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "ERRORS",
    "MySQLDriverBase",
    "ParameterError",
    "interpolate",
    "mysql_options",
]

log = logging.getLogger("ormer.pool")

DEFAULT_CONNECT_TIMEOUT = 10.0
SERVER_STATUS_IN_TRANS = 1
SERVER_STATUS_NO_BACKSLASH_ESCAPES = 512
CLIENT_FOUND_ROWS = 2
COM_RESET_CONNECTION = 0x1F


class ParameterError(Exception):
    """Parameters do not fit the statement's ``%s`` placeholders."""


def error_number(exc: BaseException) -> int | None:
    """The MySQL error number of a driver exception (``exc.args[0]``), if any."""
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):
        return args[0]
    return None


def error_message(exc: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) >= 2 and isinstance(args[0], int):
        return f"({args[0]}) {args[1]}"
    return str(exc) or type(exc).__name__


def _error_code(exc: BaseException) -> str | None:
    number = error_number(exc)
    return None if number is None else str(number)


def _no_number(exc: BaseException) -> bool:
    return error_number(exc) is None


def _client_error(exc: BaseException) -> bool:
    number = error_number(exc)
    return number is not None and 2000 <= number < 3000


#: the connection is gone: server gone away, lost during query, lost (2055),
#: killed (MariaDB 1927), shutdown, idle disconnect (MySQL 8.0.24+), packet bigger than
#: max_allowed_packet (1153: the server closes the connection after sending it)
LOST_ERRORS = codes(2006, 2013, 2055, 1927, 1053, 4031, 1153)
#: the server's own statement time limit fired: MariaDB max_statement_time (1969),
#: MySQL max_execution_time (3024)
TIMEOUT_ERRORS = codes(1969, 3024)
_LOST = "the MySQL connection was lost: {message}"

#: MySQL errors by error number (``sqlstate`` holds it), then by the library's class
ERRORS = ErrorRules(
    [
        ErrorRule(errors.QueryError, types=(ParameterError,)),
        ErrorRule(errors.ConnectionLostError, codes=LOST_ERRORS, template=_LOST),
        # a closed or broken connection reported without an error number; the protocol out
        # of step (the server answered a multi-packet statement bigger than
        # max_allowed_packet with 1153 and closed the connection mid-stream)
        ErrorRule(
            errors.ConnectionLostError,
            types=(OSError, EOFError, asyncio.IncompleteReadError, "InterfaceError"),
            when=_no_number,
            template=_LOST,
        ),
        ErrorRule(
            errors.ConnectionLostError,
            pattern="not connected|already closed|connection closed|packet sequence number wrong",
            when=_no_number,
            template=_LOST,
        ),
        ErrorRule(errors.StatementTimeoutError, codes=TIMEOUT_ERRORS),
        ErrorRule(errors.UniqueViolationError, codes=codes(1022, 1062, 1169, 1586)),
        ErrorRule(errors.ForeignKeyViolationError, codes=codes(1216, 1217, 1451, 1452)),
        ErrorRule(errors.NotNullViolationError, codes=codes(1048, 1364)),
        # lock wait timeout (MariaDB's NOWAIT too), NOWAIT
        ErrorRule(errors.LockNotAvailableError, codes=codes(1205, 3572)),
        # deadlock, record changed
        ErrorRule(errors.TransientError, codes=codes(1213, 1020)),
        ErrorRule(errors.IntegrityError, codes=codes(3819, 4025)),  # CHECK constraint failed
        ErrorRule(errors.IntegrityError, types=("IntegrityError",)),
        ErrorRule(errors.DatabaseError, when=_client_error),  # client-side errors
        ErrorRule(errors.QueryError, when=lambda exc: not _no_number(exc)),
        ErrorRule(errors.QueryError, types=("ProgrammingError", "DataError", "NotSupportedError")),
    ],
    code=_error_code,
    message=error_message,
)

# -- interpolation ------------------------------------------------------------------------
_ESCAPES = {
    0: "\\0",
    ord("\\"): "\\\\",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    0x1A: "\\Z",
    ord("'"): "\\'",
    ord('"'): '\\"',
}


def _str(value: str, nbe: bool) -> str:
    if nbe:
        return "'" + value.replace("'", "''") + "'"
    return "'" + value.translate(_ESCAPES) + "'"


def _float(value: float) -> str:
    text = repr(value)
    if text in ("inf", "-inf", "nan"):
        raise ParameterError(f"{text} cannot be sent to MySQL")
    return text if "e" in text else text + "e0"


def _timedelta(value: datetime.timedelta) -> str:
    sign = "-" if value < datetime.timedelta(0) else ""
    total = abs(value)
    hours, rest = divmod(total.days * 86400 + total.seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"'{sign}{hours:02d}:{minutes:02d}:{secs:02d}.{total.microseconds:06d}'"


def _datetime(value: datetime.datetime) -> str:
    if value.tzinfo is not None:  # raw SQL with an aware value: as naive UTC, like the ORM
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return "'" + value.isoformat(" ", "microseconds") + "'"


_SIMPLE: dict[type, Callable[[Any], str]] = {
    int: str,
    bool: lambda v: "1" if v else "0",
    float: _float,
    decimal.Decimal: lambda v: format(v, "f"),
    bytes: lambda v: "X'" + v.hex() + "'",
    bytearray: lambda v: "X'" + bytes(v).hex() + "'",
    memoryview: lambda v: "X'" + bytes(v).hex() + "'",
    datetime.datetime: _datetime,
    datetime.date: lambda v: "'" + v.isoformat() + "'",
    datetime.time: lambda v: "'" + v.isoformat("microseconds") + "'",
    datetime.timedelta: _timedelta,
    type(None): lambda v: "NULL",
}


def literal(value: Any, nbe: bool) -> str:
    """One parameter as a SQL literal (``nbe``: the session has NO_BACKSLASH_ESCAPES)."""
    cls = type(value)
    if cls is str:
        return _str(value, nbe)
    simple = _SIMPLE.get(cls)
    if simple is not None:
        return simple(value)
    if isinstance(value, enum.Enum):
        return literal(value.value, nbe)
    if isinstance(value, (list, tuple, set, frozenset)):  # raw SQL: IN %s
        if not value:
            raise ParameterError("an empty sequence cannot be sent as an IN list")
        return "(" + ",".join(literal(v, nbe) for v in value) + ")"
    if isinstance(value, str):
        return _str(str(value), nbe)
    for base, fn in _SIMPLE.items():  # subclasses (an int subclass, a datetime subclass)
        if isinstance(value, base):
            return fn(value)
    if isinstance(value, uuid.UUID):
        return _str(str(value), nbe)
    raise ParameterError(f"cannot send a {cls.__name__} parameter to MySQL: {value!r}")


def interpolate(sql: str, params: Sequence[Any], nbe: bool) -> str:
    """``sql`` with its ``%s`` placeholders replaced by the parameters' literals."""
    if not params:
        return sql
    try:
        return sql % tuple([literal(p, nbe) for p in params])
    except (TypeError, ValueError) as exc:
        raise ParameterError(
            f"{exc}: {len(params)} parameter(s) for this statement's %s placeholders "
            "(a literal % in SQL with parameters is written %%)"
        ) from None


def mysql_options(library_keywords: Collection[str]) -> OptionSet:
    """The connect options of a MySQL driver over a library whose ``connect``
    takes ``library_keywords`` (passed through as given)."""
    return OptionSet(
        "MySQL",
        [
            Option("connect_timeout", as_seconds, DEFAULT_CONNECT_TIMEOUT),
            Option("returning", as_bool),
            Option("client_flag", as_int, 0),
        ],
        passthrough=frozenset(library_keywords) - {"connect_timeout", "client_flag"},
    )


class MySQLDriverBase:
    """One MySQL/MariaDB connection (autocommit on: ormer issues START TRANSACTION itself).

    Subclasses provide the library: ``_connect`` (its connect function: the connect
    options are that function's keywords plus ormer's), ``database_keyword``,
    ``_stream_cursor`` and ``_is_driver_closed``.
    """

    __slots__ = (
        "_closed",
        "_conn",
        "_init_command",
        "_kwargs",
        "_stream",
        "server_dialect",
        "server_version",
    )

    #: the library's ``connect`` function
    _connect: ClassVar[Callable[..., Awaitable[Any]]]
    #: the connect options (:func:`mysql_options` over ``_connect``'s keywords)
    options: ClassVar[OptionSet]
    #: the library's ``connect`` keyword naming the database
    database_keyword: ClassVar[str] = "database"

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.options = mysql_options(inspect.signature(cls._connect).parameters)

    def __init__(
        self, conn: Any, server_dialect: MySQLDialect, init_command: str | None = None
    ) -> None:
        self._conn = conn
        self._closed = False
        self._init_command = init_command
        self._stream: Any = None  # the unbuffered cursor of a stream still open
        self._kwargs: dict[str, Any] = {}  # the connect call's, for cancel_statement
        #: the dialect variant for this server (read by ormer's Connection)
        self.server_dialect = server_dialect
        self.server_version: str = conn.get_server_info()

    @classmethod
    async def open(cls, dialect: MySQLDialect, url: URL, options: dict[str, Any]) -> Self:
        """Connect (bounded by ``connect_timeout``, default 10 s), pick the dialect
        variant from the server's version and set the session up."""
        if len(url.hosts) > 1:
            raise errors.ConfigurationError(
                f"MySQL URL with several hosts ({url.address}): the MySQL drivers connect to "
                "one server; for read replicas use Database.create_pool(primary_url)"
                ".replicas(replica_url, ...)"
            )
        parsed = cls.options.parse(keywords=options)
        timeout: float = parsed.values["connect_timeout"]
        returning: bool | None = parsed.values.get("returning")
        kwargs: dict[str, Any] = {
            "host": url.host or "localhost",
            "port": url.port or 3306,
            "password": url.password or "",
            "autocommit": True,
            "charset": "utf8mb4",
            "local_infile": False,
            cls.database_keyword: url.database,
            # FOUND_ROWS: UPDATE reports the rows it matched, not only those it changed,
            # as the other backends do.
            "client_flag": parsed.values["client_flag"] | CLIENT_FOUND_ROWS,
            "connect_timeout": timeout,
        }
        if url.username is not None:
            kwargs["user"] = url.username
        kwargs.update(parsed.library)

        async def connect() -> Self:
            conn: Any = None
            try:
                conn = await cls._connect(**kwargs)
                variant = dialect.for_server(conn.get_server_info(), returning)
                driver = cls(conn, variant, kwargs.get("init_command"))
                driver._kwargs = kwargs
                await driver._setup()
                return driver
            except BaseException:
                if conn is not None:
                    conn.close()
                raise

        where = f"MySQL at {url.host or 'localhost'}:{url.port or 3306}"
        try:
            return await connect_within(timeout, connect, where=where)
        except errors.OrmerError:
            raise
        except TypeError as exc:
            if "argument" in str(exc):
                raise errors.ConfigurationError(f"bad MySQL connect option: {exc}") from exc
            raise errors.ConnectionError(
                f"cannot connect to {where}: {error_message(exc)}"
            ) from exc
        except Exception as exc:
            raise errors.ConnectionError(
                f"cannot connect to {where}: {error_message(exc)}"
            ) from exc

    async def _setup(self) -> None:
        """The session settings every connection starts with (again after a reset)."""
        await self._query(self.server_dialect.session_setup_sql())

    # -- statements ------------------------------------------------------------------
    def _sql(self, sql: str, params: Sequence[Any]) -> str:
        if not params:
            return sql
        nbe = bool(self._conn.server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES)
        return interpolate(sql, params, nbe)

    async def _query(self, sql: str) -> Any:
        """Run one statement; return the driver's result (rows, counts, last id)."""
        if self._stream is not None:  # a stream left early: read the rest of it first
            await self._close_stream()
        conn = self._conn
        await conn.query(sql)
        return conn._result

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        rows = (await self._query(self._sql(sql, params))).rows
        return list(rows) if rows else []

    async def fetch_described(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        result = await self._query(self._sql(sql, params))
        names = [d[0] for d in result.description or ()]
        return names, list(result.rows or ())

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        result = await self._query(self._sql(sql, params))
        return int(result.affected_rows or 0)

    async def insert_lastrowid(self, sql: str, params: Sequence[Any]) -> int:
        result = await self._query(self._sql(sql, params))
        return int(result.insert_id or 0)

    async def stream(self, sql: str, params: Sequence[Any], batch: int) -> AsyncIterator[list[Row]]:
        """Rows from an unbuffered (server-side streamed) result, ``batch`` at a time.

        The server sends rows as they are read; the connection runs no other
        statement meanwhile. A stream left early (``break``) is read to its end
        and dropped when it is closed, or before the connection's next statement.
        """
        if self._stream is not None:
            await self._close_stream()
        cursor = await self._stream_cursor()
        self._stream = cursor
        try:
            await cursor.execute(self._sql(sql, params))
            while True:
                rows = await cursor.fetchmany(batch)
                if not rows:
                    return
                yield list(rows)
                if len(rows) < batch:
                    return
        finally:
            if self._stream is cursor:
                await self._close_stream()

    async def _close_stream(self) -> None:
        cursor, self._stream = self._stream, None
        await cursor.close()

    async def _stream_cursor(self) -> Any:
        raise NotImplementedError

    async def cancel_statement(self) -> None:
        """Cancel the running statement: ``KILL QUERY <thread id>`` on a short-lived side
        connection (same server and options, bounded by ``connect_timeout``). The
        statement fails with 1317 and the connection stays usable; on an idle
        connection the server ignores it."""
        kwargs = {k: v for k, v in self._kwargs.items() if k != "init_command"}
        timeout = float(kwargs.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT)
        thread_id = self.thread_id
        connect = type(self)._connect

        async def kill() -> None:
            side: Any = None
            try:
                side = await connect(**kwargs)
                await side.query(f"KILL QUERY {thread_id}")
            finally:
                if side is not None:
                    side.close()

        await connect_within(timeout, kill, where=f"MySQL (KILL QUERY {thread_id})")

    # -- state -----------------------------------------------------------------------
    @property
    def thread_id(self) -> int:
        """The server's id of this connection (``CONNECTION_ID()``, what ``KILL`` takes)."""
        return int(self._conn.thread_id())

    @property
    def in_transaction(self) -> bool:
        """The server's SERVER_STATUS_IN_TRANS flag (raw START TRANSACTION included)."""
        return bool(self._conn.server_status & SERVER_STATUS_IN_TRANS)

    async def ping(self) -> None:
        if self._stream is not None:
            await self._close_stream()
        await self._conn.ping(reconnect=False)

    async def reset(self) -> None:
        """Back to a fresh session: ``COM_RESET_CONNECTION`` (rolls back, drops
        temporary tables, user variables, session variables and locks), then the
        connect option ``init_command`` and ormer's session settings again.
        Servers without the command (MySQL < 5.7.3) get a ROLLBACK only."""
        conn = self._conn
        if self._stream is not None:
            await self._close_stream()
        if self.in_transaction:
            await self._query("ROLLBACK")
        try:
            await conn._execute_command(COM_RESET_CONNECTION, b"")
            await conn._read_ok_packet()
        except Exception as exc:
            if _error_code(exc) in LOST_ERRORS or self.is_closed:
                raise
            log.debug("COM_RESET_CONNECTION is not available (%s): rollback only", exc)
            return
        if self._init_command:  # the connect option runs again, as on a new connection
            await self._query(self._init_command)
        await self._setup()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        conn = self._conn
        try:
            async with asyncio.timeout(2):
                await conn.ensure_closed()
        except (Exception, TimeoutError):
            conn.close()

    @property
    def is_closed(self) -> bool:
        return self._closed or self._is_driver_closed()

    def _is_driver_closed(self) -> bool:
        raise NotImplementedError

    # -- errors ----------------------------------------------------------------------
    def translate_error(self, exc: BaseException) -> errors.OrmerError:
        """Map a driver exception through :data:`ERRORS` (no side effects); a
        client-side error on a connection the library has closed means it is lost."""
        if _client_error(exc) and self._is_driver_closed():
            return errors.ConnectionLostError(_LOST.format(message=error_message(exc)))
        return ERRORS.translate(exc)

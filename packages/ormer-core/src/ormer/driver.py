"""The driver contract: what a backend's driver adapter implements for ormer.

A backend adapts one connection of its database library to
:class:`DriverConnection`, the required core: nine methods, each one statement
(and, where the library allows, one round trip). Everything else a driver may
do is an optional capability, a Protocol of its own:

* :class:`SupportsTransactionStatus`: ``in_transaction``, the server's view of
  an open transaction (a raw ``BEGIN`` included); the pool rolls back a
  connection that reports one.
* :class:`SupportsServerDialect`: ``server_dialect``, the dialect variant for the
  server this connection reached (MariaDB has RETURNING, MySQL has not).
* :class:`SupportsLastRowId`: ``insert_lastrowid``, the generated id of an
  INSERT; required by a dialect without ``supports_returning``.
* :class:`SupportsCopy`: ``copy_rows``, a bulk load (PostgreSQL's ``COPY``),
  used when the dialect sets ``supports_bulk_copy``.
* :class:`SupportsCancel`: ``cancel_statement``, cancel the statement running
  on the connection ON THE SERVER, leaving the connection usable (what a
  statement timeout uses; without it a timed-out connection is discarded).

The capabilities a driver has are read ONCE, when a connection opens, by
:func:`capabilities` (a frozen :class:`DriverCapabilities`); nothing on the
statement path asks the driver what it supports. A driver declares a
capability simply by having the member: the Protocols are runtime-checkable.

Errors are the driver's own exceptions; :meth:`DriverConnection.translate_error`
maps one to ormer's tree WITHOUT side effects. A translated
:class:`~ormer.errors.ConnectionLostError` is the signal that the connection is
dead (:func:`connection_lost`): the ``Connection`` then marks itself closed and
a pool discards it. :mod:`ormer.driverkit` has the pieces most drivers share
(option parsing, a bounded connect, error rules as data, dumpers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .errors import ConfigurationError, ConnectionLostError, OrmerError

if TYPE_CHECKING:
    from .dialect import Dialect

__all__ = [
    "DriverCapabilities",
    "DriverConnection",
    "Row",
    "SupportsCancel",
    "SupportsCopy",
    "SupportsLastRowId",
    "SupportsServerDialect",
    "SupportsTransactionStatus",
    "capabilities",
    "connection_lost",
]

#: one row as a driver returns it: a sequence of column values
Row = Sequence[Any]


class DriverConnection(Protocol):
    """One open connection of a database driver, adapted to ormer (the required core).

    A backend's ``Dialect.connect(url, options)`` opens one and returns it. Each
    method is one statement and, where the driver allows, one round trip (or one
    thread hand-off): ``fetch`` executes and fetches in the same call. Errors are
    raised as the driver's own exceptions; :meth:`translate_error` maps them.
    """

    async def fetch(self, sql: str, params: Sequence[Any]) -> list[Row]:
        """Run a statement and return all its rows."""
        ...

    async def fetch_described(self, sql: str, params: Sequence[Any]) -> tuple[list[str], list[Row]]:
        """Run a statement and return its column names and rows (raw SQL paths)."""
        ...

    async def execute(self, sql: str, params: Sequence[Any]) -> int:
        """Run a statement; return the affected row count."""
        ...

    def stream(self, sql: str, params: Sequence[Any], batch: int) -> AsyncIterator[list[Row]]:
        """Yield the rows of a statement in batches (a server-side cursor where there is one)."""
        ...

    async def ping(self) -> None:
        """Raise if the connection is unusable."""
        ...

    async def reset(self) -> None:
        """Return the session to its initial state (for the pool)."""
        ...

    async def close(self) -> None:
        """Close the connection; safe to call twice."""
        ...

    @property
    def is_closed(self) -> bool:
        """Whether the connection is known to be closed or broken."""
        ...

    def translate_error(self, exc: BaseException) -> OrmerError:
        """Map a driver exception to ormer's error tree (the caller chains it).

        Pure: it changes no state. Return a ConnectionLostError when the
        exception means the connection is dead.
        """
        ...


@runtime_checkable
class SupportsTransactionStatus(Protocol):
    """A driver that knows whether the session has an open transaction."""

    @property
    def in_transaction(self) -> bool:
        """Whether the server reports an open transaction (a raw BEGIN included)."""
        ...


@runtime_checkable
class SupportsServerDialect(Protocol):
    """A driver that picked the dialect variant for the server it reached."""

    @property
    def server_dialect(self) -> Dialect:
        """The (shared) dialect the connection's statements are compiled with."""
        ...


@runtime_checkable
class SupportsLastRowId(Protocol):
    """A driver that reports the id an INSERT generated (dialects without RETURNING)."""

    async def insert_lastrowid(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT and return the generated id the driver reports
        (the first of a multi-row insert when ``Dialect.lastrowid_is_first``, else the last)."""
        ...


@runtime_checkable
class SupportsCopy(Protocol):
    """A driver with a bulk load (``Dialect.supports_bulk_copy``)."""

    async def copy_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> int:
        """Load ``rows`` (values already dumped, in ``columns`` order) into ``table``;
        return the number of rows loaded."""
        ...


@runtime_checkable
class SupportsCancel(Protocol):
    """A driver that can cancel its running statement on the server (statement timeouts)."""

    async def cancel_statement(self) -> None:
        """Ask the server to stop the statement this connection is running.

        Called from another task while the statement is awaited; returns once the
        request was delivered (PostgreSQL's cancel request, MariaDB's ``KILL
        QUERY`` on a side connection, SQLite's ``interrupt()``). The statement then
        fails with the server's "cancelled" error and the connection stays usable.
        When no statement runs, it must do nothing to the connection's next one.
        """
        ...


@dataclass(frozen=True, slots=True)
class DriverCapabilities:
    """The optional capabilities of one driver connection, resolved when it opens.

    Each field is the driver itself, typed as the capability, or None when the
    driver lacks it.
    """

    transaction_status: SupportsTransactionStatus | None = None
    server_dialect: Dialect | None = None
    last_row_id: SupportsLastRowId | None = None
    copy: SupportsCopy | None = None
    cancel: SupportsCancel | None = None


def capabilities(driver: DriverConnection, dialect: Dialect) -> DriverCapabilities:
    """Read what ``driver`` supports beyond the core, once; check it against ``dialect``.

    Raises ConfigurationError when the dialect relies on a capability the driver
    lacks (no RETURNING and no ``insert_lastrowid``).
    """
    server = driver.server_dialect if isinstance(driver, SupportsServerDialect) else None
    effective = server or dialect
    last_row_id = driver if isinstance(driver, SupportsLastRowId) else None
    if not effective.supports_returning and last_row_id is None:
        raise ConfigurationError(
            f"dialect {effective.name!r} has no RETURNING, so its driver "
            f"{type(driver).__name__} must implement insert_lastrowid (SupportsLastRowId)"
        )
    return DriverCapabilities(
        transaction_status=driver if isinstance(driver, SupportsTransactionStatus) else None,
        server_dialect=server,
        last_row_id=last_row_id,
        copy=driver if isinstance(driver, SupportsCopy) else None,
        cancel=driver if isinstance(driver, SupportsCancel) else None,
    )


def connection_lost(error: OrmerError) -> bool:
    """Whether a translated error means the connection is dead (closed by the caller)."""
    return isinstance(error, ConnectionLostError)

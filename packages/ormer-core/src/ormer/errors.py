"""The ormer error tree (docs/errors.md).

Every error ormer raises subclasses :class:`OrmerError`. Driver exceptions are
translated by the dialect's driver adapter and chained (``raise ... from exc``),
so the same violation raises the same class on every backend.
"""

from __future__ import annotations

__all__ = [
    "ConfigurationError",
    "ConnectionError",
    "ConnectionLostError",
    "ConnectionReleasedError",
    "DatabaseError",
    "DialectNotFoundError",
    "ForeignKeyViolationError",
    "IntegrityError",
    "LockNotAvailableError",
    "MigrationError",
    "NotFoundError",
    "NotNullViolationError",
    "NotSupportedError",
    "OrmerError",
    "PoolClosedError",
    "PoolError",
    "PoolExhaustedByTaskError",
    "PoolQueueFullError",
    "PoolTimeoutError",
    "QueryError",
    "RelationNotLoadedError",
    "StaleObjectError",
    "StatementTimeoutError",
    "TransientError",
    "UniqueViolationError",
    "ValidationError",
    "WriteConflictError",
]


class OrmerError(Exception):
    """Base class of every error raised by ormer."""


class ConfigurationError(OrmerError):
    """Bad URL, bad pool options, bad model declaration or a misused API."""


class DialectNotFoundError(ConfigurationError):
    """No installed plugin provides the requested dialect or URL scheme."""


class ValidationError(OrmerError):
    """A value does not fit its field; raised before any SQL is sent."""


class NotFoundError(OrmerError):
    """The row an object stands for no longer exists (``update(obj)``, ``refresh(obj)``)."""


class RelationNotLoadedError(OrmerError):
    """A relation attribute was read on an object that has not loaded it (ormer never
    queries on attribute access: ``preload`` or ``include`` it)."""


class StaleObjectError(OrmerError):
    """``update(obj)`` / ``delete(obj)`` of a model with a ``version_field()``: the row
    still exists, but someone else changed it since the object was read (its version
    differs). Reload the object with ``refresh(obj)``, reapply the change and retry."""


class MigrationError(OrmerError):
    """A schema migration cannot be applied as asked: a destructive step without
    ``allow_destructive=True`` (the message names it), a change ormer cannot make, or a
    broken chain of migration files. Nothing was changed, or the message says what was."""


class NotSupportedError(OrmerError):
    """The dialect lacks a capability the statement needs."""


class ConnectionError(OrmerError):
    """The database cannot be reached (connects are bounded by a timeout)."""


class ConnectionLostError(ConnectionError):
    """The connection died while in use."""


class PoolError(OrmerError):
    """Base class of connection-pool errors."""


class PoolTimeoutError(PoolError):
    """No connection became free within ``acquire_timeout``."""


class PoolExhaustedByTaskError(PoolTimeoutError):
    """The task asking for a connection already holds all of the pool's connections.

    It could only wait for itself until ``acquire_timeout``, so it fails at
    once: use the connection it holds (``conn.select(...)``) rather than the
    pool, or raise ``max_size``.
    """


class PoolQueueFullError(PoolTimeoutError):
    """``get()`` found ``max_waiting`` borrowers already waiting: it fails at once
    instead of joining the queue (a PoolTimeoutError: handle both alike)."""


class PoolClosedError(PoolError):
    """The pool is closed (or closing) and hands out no connections."""


class ConnectionReleasedError(PoolError):
    """A pooled connection was used after it was released."""


class DatabaseError(OrmerError):
    """The server refused a statement.

    ``sqlstate`` carries the server's error code when the driver exposes one
    (a SQLSTATE on PostgreSQL, the error number on MySQL, the extended result
    code name on SQLite).
    """

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class IntegrityError(DatabaseError):
    """A constraint was violated."""


class UniqueViolationError(IntegrityError):
    """A unique or primary-key constraint was violated."""


class ForeignKeyViolationError(IntegrityError):
    """A foreign-key constraint was violated."""


class NotNullViolationError(IntegrityError):
    """NULL was written to a NOT NULL column."""


class TransientError(DatabaseError):
    """Deadlock, serialization failure or lock timeout: safe to retry."""


class LockNotAvailableError(TransientError):
    """A row lock could not be taken: ``for_update(nowait=True)`` met a locked row
    (PostgreSQL 55P03 lock_not_available, MySQL 3572 ER_LOCK_NOWAIT), or a lock wait
    timed out (PostgreSQL ``lock_timeout``, MySQL/MariaDB 1205
    ``innodb_lock_wait_timeout``; MariaDB's NOWAIT reports it too). Retrying the
    transaction later is safe."""


class WriteConflictError(TransientError):
    """Two concurrent transactions wrote the same row (optimistic concurrency, e.g.
    Turso's MVCC ``BEGIN CONCURRENT``); the database rolled this one back. Retrying
    the whole transaction is safe."""


class StatementTimeoutError(DatabaseError):
    """A statement ran longer than its timeout and was cancelled.

    ``timeout`` is the limit in seconds when ormer enforced it (``.timeout(s)``,
    a connection's or pool's ``statement_timeout``), None when the server's own
    limit fired (PostgreSQL ``statement_timeout``, MariaDB ``max_statement_time``,
    MySQL ``max_execution_time``) and the figure is the server's. The statement
    was cancelled on the server; the connection stays usable (outside a
    transaction; inside one, the transaction is aborted and must be rolled back).
    """

    def __init__(
        self, message: str, *, timeout: float | None = None, sqlstate: str | None = None
    ) -> None:
        super().__init__(message, sqlstate=sqlstate)
        self.timeout = timeout


class QueryError(DatabaseError):
    """Syntax error, unknown table or column, or another statement error."""

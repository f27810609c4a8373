"""Row locks: ``select(...).for_update()`` / ``.for_share()`` (docs/queries.md#row-locks).

:class:`RowLock` is the lock clause as data (part of a select's shape key);
:func:`check_lock_executor` decides, when the select runs, whether its executor can
hold the lock: a row lock lasts until the transaction ends, so it needs one.

On a backend without row locks (SQLite, Turso: one writer locks the whole
database) a lock is accepted only inside a transaction opened in one of the
dialect's ``row_lock_transaction_modes`` (``immediate``/``exclusive``): that
transaction already holds the database's write lock from its ``BEGIN``, which
covers every row a ``FOR UPDATE`` would lock, so the clause is left out. Anywhere
else it raises :class:`~ormer.errors.NotSupportedError`, naming the mode to use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError, NotSupportedError
from .model import TableInfo

if TYPE_CHECKING:
    from .dialect import Dialect

__all__ = ["RowLock", "check_lock_executor"]


class RowLock:
    """``FOR UPDATE | FOR SHARE [OF t, ...] [SKIP LOCKED | NOWAIT]`` as data."""

    __slots__ = ("nowait", "of", "share", "skip_locked")

    def __init__(
        self, share: bool, skip_locked: bool, nowait: bool, of: tuple[TableInfo, ...]
    ) -> None:
        if skip_locked and nowait:
            raise ConfigurationError(
                "for_update()/for_share(): skip_locked and nowait exclude each other "
                "(skip the locked rows, or fail at once on the first)"
            )
        self.share = share
        self.skip_locked = skip_locked
        self.nowait = nowait
        self.of = of

    @property
    def method(self) -> str:
        """The builder method that made the lock (for messages)."""
        return "for_share()" if self.share else "for_update()"

    def shape(self) -> tuple[Any, ...]:
        """The lock's part of a statement's shape key."""
        return (
            "LOCK",
            self.share,
            self.skip_locked,
            self.nowait,
            tuple((t.ref.name, t.ref.alias) for t in self.of),
        )


def check_lock_executor(lock: RowLock, executor: Any, dialect: Dialect) -> None:
    """Raise unless ``executor`` (a connection or a pool) can hold ``lock``.

    A pool borrows a connection per statement and returns it at once, so a lock
    taken through it would end with the statement: ConfigurationError. So does a
    connection outside a transaction (PostgreSQL accepts the statement, and
    releases the lock as it returns). A dialect without row locks needs a
    transaction in one of its ``row_lock_transaction_modes`` (NotSupportedError).
    """
    in_transaction = getattr(executor, "in_transaction", None)
    if not isinstance(in_transaction, bool):  # a pool: one connection per statement
        raise ConfigurationError(
            f"{lock.method} needs a transaction, and a pool runs each statement on a "
            "connection it returns at once: take one with `async with pool.get() as conn`, "
            f"open `async with conn.transaction():` and run the select on conn"
        )
    if not in_transaction:
        raise ConfigurationError(
            f"{lock.method} needs a transaction: the lock lasts until the transaction "
            "ends, so outside one it would end with the statement; run it inside "
            "`async with conn.transaction():`"
        )
    if dialect.supports_row_locks:
        return
    modes = dialect.row_lock_transaction_modes
    mode = getattr(executor, "transaction_mode", None)
    if mode is None or mode.lower() not in modes:
        wanted = " or ".join(repr(m) for m in sorted(modes))
        hint = (
            f": open the transaction with transaction(mode={wanted}), whose write lock "
            "on the whole database covers the rows (the lock clause is then left out)"
            if modes
            else ""
        )
        raise NotSupportedError(f"{dialect.name} has no row locks ({lock.method}){hint}")

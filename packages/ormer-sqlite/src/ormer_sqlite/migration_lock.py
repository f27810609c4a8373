"""The versioned-migrations lock of SQLite (and Turso): foreign-key enforcement off
for the run, the run in one ``BEGIN EXCLUSIVE`` transaction, each revision checked
with ``PRAGMA foreign_key_check`` before its savepoint is released.

SQLite's procedure for schema changes (https://sqlite.org/lang_altertable.html,
section 7) turns ``foreign_keys`` off *outside* any transaction, which is why the lock
does it before ``BEGIN EXCLUSIVE``: a revision may then rebuild a table that other
tables reference.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ormer.errors import MigrationError

if TYPE_CHECKING:
    from ormer.connection import Connection

__all__ = ["foreign_key_check", "migration_lock"]


@contextlib.asynccontextmanager
async def migration_lock(conn: Connection) -> AsyncIterator[None]:
    """Hold the database exclusively for the body (a second process waits in its busy
    timeout), with foreign-key enforcement off and restored at the end."""
    rows = await conn.exec_rows("PRAGMA foreign_keys")
    was_on = bool(rows and rows[0][0]) and not conn.in_transaction
    if was_on:
        await conn._control("PRAGMA foreign_keys = OFF")
    try:
        async with conn.transaction(mode="exclusive"):
            yield
    finally:
        if was_on:
            await conn._control("PRAGMA foreign_keys = ON")


async def foreign_key_check(conn: Connection) -> None:
    """``PRAGMA foreign_key_check``: MigrationError naming the first broken reference."""
    broken = await conn.exec_rows("PRAGMA foreign_key_check")
    if broken:
        first = broken[0]
        raise MigrationError(
            f"the revision breaks {len(broken)} foreign key reference(s) (first: table "
            f"{first[0]} row {first[1]} -> table {first[2]})"
        )

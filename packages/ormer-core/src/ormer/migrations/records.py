"""The history table ``ormer_migrations``: one row per applied revision.

Imported only when a migration runs (defining its model at ``import ormer`` time
would load the plugins, and so the backends, early).

Columns: ``revision`` (primary key), ``parent``, ``message``, ``checksum`` (sha256
of the file's source text when it was applied) and ``applied_at`` (UTC). The
runner writes a revision's row in the same transaction as its operations where
the database has transactional DDL.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from ..errors import DatabaseError
from ..model import Model, field, primary

if TYPE_CHECKING:
    from ..connection import Connection

__all__ = ["HISTORY_TABLE", "MigrationRecord", "applied", "ensure_history", "has_history"]

HISTORY_TABLE = "ormer_migrations"


class MigrationRecord(Model, table=HISTORY_TABLE):
    """A row of ``ormer_migrations``."""

    revision: str = primary(max_length=64)
    parent: str | None = field(default=None, max_length=64)
    message: str = ""
    checksum: str = field(default="", max_length=64)
    applied_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    )


async def ensure_history(conn: Connection) -> None:
    """Create the history table when it does not exist."""
    await conn.create_table(MigrationRecord, if_not_exists=True)


async def applied(conn: Connection) -> list[MigrationRecord]:
    """The applied revisions, oldest first (by time, then by chain: the runner
    reorders them along the chain)."""
    rows: list[MigrationRecord] = await (
        conn.select(MigrationRecord).order_by(MigrationRecord.applied_at).collect()
    )
    return rows


async def has_history(conn: Connection) -> bool:
    """Whether the history table exists, without DDL (``upgrade --sql`` and
    ``history`` only read): a probe in a savepoint-free transaction of its own."""
    try:
        async with conn.transaction():
            await conn.select(MigrationRecord).limit(1).collect()
    except DatabaseError:
        return False
    return True

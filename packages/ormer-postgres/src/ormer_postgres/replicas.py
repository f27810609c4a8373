"""How far a PostgreSQL standby lags its primary, asked of the standby itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ormer.connection import Connection

#: 0 on a primary, and on a standby that has replayed all the WAL it received while its
#: WAL receiver runs (replay paused with nothing new is not behind); else the age of the
#: last transaction it replayed (``pg_last_xact_replay_timestamp()``), infinity when it
#: has replayed none. A caught-up standby of a primary that was idle for a while looks
#: late for a moment when the next write arrives, until it replays it.
LAG_SQL = """SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0::float8
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
        AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0::float8
    ELSE COALESCE(
        EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8,
        'Infinity'::float8)
END"""


async def replica_lag(conn: Connection) -> float:
    """Seconds the standby behind ``conn`` lags (see :data:`LAG_SQL`)."""
    ((lag,),) = await conn.exec_rows(LAG_SQL)
    return max(0.0, float(lag))

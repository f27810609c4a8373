"""How far a MySQL/MariaDB replica lags its primary: ``Seconds_Behind_Master``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ormer.errors import OrmerError

if TYPE_CHECKING:
    from ormer.connection import Connection

#: the column's name in ``SHOW REPLICA STATUS`` (MySQL 8.0.22+ says Source)
LAG_COLUMNS = ("Seconds_Behind_Master", "Seconds_Behind_Source")


async def replica_lag(conn: Connection) -> float:
    """Seconds the replica behind ``conn`` lags: the largest ``Seconds_Behind_Master`` of
    its replication channels, ``math.inf`` when one is stopped (the server reports
    NULL), 0.0 for a server that replicates from nobody. The account needs the
    ``REPLICA MONITOR`` (MariaDB) or ``REPLICATION CLIENT`` (MySQL) privilege."""
    driver = conn.driver
    try:
        names, rows = await driver.fetch_described("SHOW REPLICA STATUS", ())
    except Exception as exc:
        error = exc if isinstance(exc, OrmerError) else driver.translate_error(exc)
        raise error from exc
    column = next((names.index(c) for c in LAG_COLUMNS if c in names), None)
    if not rows or column is None:
        return 0.0
    lags: list[Any] = [row[column] for row in rows]
    if any(lag is None for lag in lags):
        return math.inf
    return float(max(lags))

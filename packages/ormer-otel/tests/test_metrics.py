"""Pool metrics read back from the SDK's in-memory reader after a real workload."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ormer import Database, PoolTimeoutError

if TYPE_CHECKING:
    from conftest import Telemetry

POOL = "otel-pool"


def by_attrs(points: list[Any], **attrs: str) -> list[Any]:
    """The data points whose attributes include ``attrs`` (keys with dots as ``__``)."""
    wanted = {k.replace("__", "."): v for k, v in attrs.items()}
    return [p for p in points if all(p.attributes.get(k) == v for k, v in wanted.items())]


def gauge(metrics: dict[str, list[Any]], name: str, **attrs: str) -> int:
    """The one value of metric ``name`` for this test's pool (and ``attrs``)."""
    (point,) = by_attrs(metrics[name], db__client__connection__pool__name=POOL, **attrs)
    return int(point.value)


def count(metrics: dict[str, list[Any]], state: str) -> int:
    return gauge(metrics, "db.client.connection.count", db__client__connection__state=state)


@pytest.mark.sqlite
async def test_pool_metrics_after_a_workload(tmp_path: Path, telemetry: Telemetry) -> None:
    url = f"sqlite:///{tmp_path / 'pool.db'}"
    pool = await Database.create_pool(url).min_size(1).max_size(2).name(POOL).build()
    try:
        metrics = telemetry.metrics()
        assert count(metrics, "idle") == 1
        assert count(metrics, "used") == 0
        assert gauge(metrics, "db.client.connection.max") == 2
        assert gauge(metrics, "db.client.connection.idle.max") == 2
        assert gauge(metrics, "db.client.connection.idle.min") == 1

        a = await pool.get()
        b = await pool.get()
        assert await a.exec_rows("SELECT 1") == [(1,)]
        waiter = asyncio.create_task(pool.get(timeout=5).__aenter__())
        await asyncio.sleep(0.05)  # the third borrower queues
        metrics = telemetry.metrics()
        assert count(metrics, "used") == 2
        assert count(metrics, "idle") == 0
        assert gauge(metrics, "db.client.connection.pending_requests") == 1

        await a.release()  # the waiter gets it
        c = await waiter
        with pytest.raises(PoolTimeoutError):
            await pool.get(timeout=0.01)
        metrics = telemetry.metrics()
        assert gauge(metrics, "db.client.connection.timeouts") == 1
        assert gauge(metrics, "db.client.connection.pending_requests") == 0
        await b.release()
        await c.release()

        metrics = telemetry.metrics()
        assert count(metrics, "used") == 0
        assert count(metrics, "idle") == 2
        (create,) = by_attrs(
            metrics["db.client.connection.create_time"], db__client__connection__pool__name=POOL
        )
        assert create.count == 2  # min_size 1, then a second connection for b
        (wait,) = by_attrs(
            metrics["db.client.connection.wait_time"], db__client__connection__pool__name=POOL
        )
        assert wait.count == 3  # a, b, the waiter (not the borrower that timed out)
        assert wait.max >= 0.04  # the waiter queued until a came back
        (use,) = by_attrs(
            metrics["db.client.connection.use_time"], db__client__connection__pool__name=POOL
        )
        assert use.count == 3
        assert use.sum > 0
    finally:
        await pool.close()
    # a closed pool is no longer observed
    metrics = telemetry.metrics()
    assert (
        by_attrs(
            metrics.get("db.client.connection.count", []), db__client__connection__pool__name=POOL
        )
        == []
    )


@pytest.mark.postgres
async def test_pool_metrics_on_postgres(pg_url: str, telemetry: Telemetry) -> None:
    pool = await Database.create_pool(pg_url).min_size(0).max_size(3).name(POOL).build()
    async with pool:

        async def work() -> None:
            async with pool.get() as conn:
                assert await conn.exec_rows("SELECT 1") == [(1,)]
                await asyncio.sleep(0.01)

        await asyncio.gather(*(work() for _ in range(6)))
        metrics = telemetry.metrics()
        assert count(metrics, "used") == 0
        assert count(metrics, "idle") == pool.stats().idle > 0
        assert gauge(metrics, "db.client.connection.max") == 3
        (wait,) = by_attrs(
            metrics["db.client.connection.wait_time"], db__client__connection__pool__name=POOL
        )
        assert wait.count == 6
        (create,) = by_attrs(
            metrics["db.client.connection.create_time"], db__client__connection__pool__name=POOL
        )
        assert create.count == pool.stats().created
        assert create.sum > 0
        spans = [s for s in telemetry.db_spans() if s.name == "SELECT"]
        assert len(spans) >= 6
        assert all((s.attributes or {}).get("db.system.name") == "postgresql" for s in spans)

"""run_transaction retries a real serialization failure on PostgreSQL."""

from __future__ import annotations

import pytest

from ormer import Connection, Database, Model, TransientError, primary

pytestmark = pytest.mark.postgres


class RetryCounter(Model, table="retry_counter"):
    id: int = primary()
    n: int = 0


async def test_run_transaction_retries_a_serialization_failure(pg_url: str) -> None:
    async with await Database.connect(pg_url) as a, await Database.connect(pg_url) as b:
        await a.drop_table(RetryCounter)
        await a.create_table(RetryCounter)
        await a.insert(RetryCounter(id=1))
        attempts = 0

        async def bump(conn: Connection) -> int:
            nonlocal attempts
            attempts += 1
            row = await conn.find(RetryCounter, 1)  # the snapshot is taken here
            if attempts == 1:  # another serializable writer commits the row meanwhile
                async with a.transaction(isolation="serializable"):
                    await (
                        a.update(RetryCounter)
                        .filter(RetryCounter.id == 1)
                        .set(RetryCounter.n, 10)
                        .execute()
                    )
            bump = conn.update(RetryCounter).filter(RetryCounter.id == 1)
            await bump.set(RetryCounter.n, row.n + 1).execute()
            return row.n + 1

        assert await b.run_transaction(bump, isolation="serializable") == 11
        assert attempts == 2
        assert (await a.find(RetryCounter, 1)).n == 11

        # every attempt conflicts: the last TransientError is raised

        async def always(conn: Connection) -> None:
            await conn.find(RetryCounter, 1)
            async with a.transaction(isolation="serializable"):
                await a.update(RetryCounter).all().set(RetryCounter.n, RetryCounter.n + 1).execute()
            await conn.update(RetryCounter).all().set(RetryCounter.n, 0).execute()

        with pytest.raises(TransientError):
            await b.run_transaction(always, isolation="serializable", retries=2)
        assert (await a.find(RetryCounter, 1)).n == 14  # 1 + 2 retries, none of b's
        await a.drop_table(RetryCounter)

"""Turso end to end: MVCC on, concurrent writers with BEGIN CONCURRENT, conflicts retried.

Run: python examples/turso_demo.py (needs ormer-core and ormer-turso). The file is
not called turso.py: as a script's neighbour, that name would stand in for
pyturso's ``turso`` package for every example in this folder.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from ormer import Connection, Database, DbType, Model, primary


class Account(Model, table="accounts"):
    id: int = primary()
    balance: int = 0


class Deposit(Model, table="deposits"):
    id: int = primary(auto=True)
    account: int = 0
    amount: int = 0


async def main(path: str) -> None:
    # One connection switches the file to MVCC with a PRAGMA.
    async with await Database.connect(DbType.TURSO, path) as conn:
        await conn.exec_non_query("PRAGMA journal_mode = 'mvcc'")
        await conn.create_table(Account)
        await conn.create_table(Deposit)
        await conn.insert([Account(id=i) for i in range(4)])

    # A pool of 4 connections, each opened in MVCC mode; 8 concurrent writers.
    pool = (
        await Database.create_pool(DbType.TURSO, path)
        .range(1, 4)
        .connect_options(journal_mode="mvcc")
    )
    async with pool:

        async def writer(account: int) -> None:
            async def deposit(conn: Connection) -> None:
                await conn.insert(Deposit(account=account, amount=5))
                row = await conn.find(Account, account)
                assert row is not None
                bump = conn.update(Account).filter(Account.id == account)
                await bump.set(Account.balance, row.balance + 5).execute()

            for _ in range(25):  # a write-write conflict is retried by run_transaction
                await pool.run_transaction(deposit, mode="concurrent", retries=50)

        await asyncio.gather(*(writer(i % 4) for i in range(8)))
        accounts = await pool.select(Account).order_by(Account.id).collect()
        print("deposits:", await pool.select(Deposit).count())
        print("balances:", [a.balance for a in accounts])
        assert [a.balance for a in accounts] == [250] * 4


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(str(Path(tmp) / "turso-demo.db")))

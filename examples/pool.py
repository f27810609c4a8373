"""The seed's complete pool example: 10 concurrent tasks share one pool.

Each task borrows a connection, reads users ``range(0, 10)`` and returns the
connection when its block ends. Runs on an embedded SQLite file by default:
    python examples/pool.py [--url postgresql://postgres@127.0.0.1/test]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile

from ormer import Database, Model, Pool, primary


class User(Model, table="pool_users"):
    id: int = primary(auto=True)
    name: str
    email: str


async def handle_request(pool: Pool, i: int) -> None:
    async with pool.get() as conn:  # returned to the pool at block end
        users = await conn.select(User).order_by(User.id).range(0, 10).collect()
    print(f"Request {i}: {len(users)} users")


async def main(url: str) -> None:
    pool = await Database.create_pool(url).max_size(20).build()
    async with pool:
        await pool.drop_table(User)
        await pool.create_table(User)
        await pool.insert([User(name=f"user{n}", email=f"user{n}@example.com") for n in range(25)])
        await asyncio.gather(*(handle_request(pool, i) for i in range(10)))
        print(pool.stats())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    default = "sqlite:///" + os.path.join(tempfile.gettempdir(), "ormer-pool-example.db")
    parser.add_argument("--url", default=default, help=f"database URL (default: {default})")
    asyncio.run(main(parser.parse_args().url))

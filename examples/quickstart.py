"""ormer quickstart: models, tables, inserts, queries, updates, deletes.

Runs on an embedded SQLite file by default; pass another URL to run the same
code elsewhere:  python examples/quickstart.py --url postgresql://postgres@127.0.0.1/test
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import decimal
import os
import tempfile

from ormer import (
    Database,
    Model,
    belongs_to,
    col,
    field,
    foreign_key,
    func,
    has_many,
    index,
    primary,
    unique,
)


class Team(Model, table="qs_teams"):
    id: int = primary(auto=True)
    name: str = unique(max_length=100)
    members: list[User] = has_many("User", foreign_key="team_id", order_by="name")


class User(Model, table="qs_users"):
    id: int = primary(auto=True)
    name: str = unique(max_length=100)
    age: int = index(default=0)
    email: str | None = None
    balance: decimal.Decimal = field(
        default=decimal.Decimal("0.00"), max_digits=12, decimal_places=2
    )
    joined: datetime.date = datetime.date(2024, 1, 1)
    team_id: int | None = foreign_key("qs_teams.id", on_delete="cascade")
    team: Team | None = belongs_to(Team, foreign_key="team_id")


async def main(url: str) -> None:
    async with await Database.connect(url) as db:
        await db.drop_table(User)
        await db.drop_table(Team)
        await db.create_table(Team)
        await db.create_table(User)

        core, ops = Team(name="core"), Team(name="ops")
        await db.insert([core, ops])
        ann = User(name="Ann", age=31, email="ann@example.com", team_id=core.id)
        await db.insert(ann)
        print(f"inserted {ann!r}")
        await db.insert(
            [
                User(name="Bob", age=17, team_id=core.id, balance=decimal.Decimal("12.50")),
                User(name="Cid", age=45, email="cid@example.com", team_id=ops.id),
                User(name="Dee", age=28, team_id=ops.id, balance=decimal.Decimal("99.99")),
            ]
        )

        adults = await db.select(User).filter(User.age >= 18).order_by(User.name).collect()
        print("adults:", [u.name for u in adults])

        page = (
            await db.select(User).filter(User.name != "Bob").order_by(User.id).range(0, 2).collect()
        )
        print("first page without Bob:", [u.name for u in page])

        no_email = await db.select(User).filter(col(User.email).is_null()).count()
        print("users without email:", no_email)

        per_team = await (
            db.select(Team.name, func.count(User.id).label("members"))
            .select_from(Team)
            .join(User, User.team_id == Team.id)
            .group_by(Team.name)
            .order_by(Team.name)
            .collect()
        )
        print("members per team:", per_team)

        # relations load only when asked: one statement per relation, whatever the rows
        teams = await db.select(Team).order_by(Team.name).preload(Team.members).collect()
        print("teams:", {t.name: [u.name for u in t.members] for t in teams})
        with_team = await db.select(User).include(User.team).order_by(User.name).collect()
        print("user -> team:", [(u.name, u.team.name if u.team else None) for u in with_team])

        total = await db.select(User).sum(User.balance)
        print("total balance:", total)

        async with db.transaction():
            changed = (
                await db.update(User).filter(User.age < 18).set(User.age, User.age + 1).execute()
            )
        print("birthdays:", changed)

        removed = await db.delete(User).filter(col(User.name).like("C%")).execute()
        print("removed:", removed)

        found = await db.find(User, ann.id)
        print("found by key:", found)
        remaining = await db.select(User.name).order_by(User.name).scalars().collect()
        print("remaining:", remaining)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    default = "sqlite:///" + os.path.join(tempfile.gettempdir(), "ormer-quickstart.db")
    parser.add_argument("--url", default=default, help=f"database URL (default: {default})")
    asyncio.run(main(parser.parse_args().url))

"""Deliberate typing mistakes: ``mypy --strict`` must report each marked line.

``tests/unit/test_typing_check.py`` runs mypy on this file and requires exactly
the errors marked ``# E: <code>``, so a checker or annotation change that let
wrong result types through would fail the test suite. Never run, never collected.
"""

from __future__ import annotations

import decimal
from typing import assert_type

from ormer import (
    Connection,
    Model,
    Page,
    Pool,
    Select,
    belongs_to,
    col,
    foreign_key,
    func,
    has_many,
    primary,
)
from ormer.expr import Expr, Func, Label


class Team(Model, table="typing_fail_teams"):
    id: int = primary(auto=True)
    name: str


class User(Model, table="typing_fail_users"):
    id: int = primary(auto=True)
    name: str
    age: int = 0
    email: str | None = None
    balance: decimal.Decimal = decimal.Decimal(0)
    team_id: int | None = foreign_key("typing_fail_teams.id", default=None)


class Writer(Model, table="typing_fail_writers"):
    id: int = primary(auto=True)
    articles: list[Article] = has_many("Article", foreign_key="writer_id")


class Article(Model, table="typing_fail_articles"):
    id: int = primary(auto=True)
    writer_id: int | None = foreign_key("typing_fail_writers.id", default=None)
    writer: Writer | None = belongs_to(Writer, foreign_key="writer_id")


async def wrong_relations(db: Connection, w: Writer, a: Article) -> None:
    assert_type(w.articles, list[Writer])  # E: assert-type
    assert_type(a.writer, Writer)  # E: assert-type
    assert_type(db.select(Writer).preload(Writer.articles), Select[Article])  # E: assert-type


async def wrong_results(db: Connection, pool: Pool) -> None:
    assert_type(await db.select(User).collect(), list[Team])  # E: assert-type
    assert_type(await db.select(User).first(), User)  # E: assert-type
    assert_type(await pool.find(User, 1), User)  # E: assert-type
    assert_type(db.select(User, Team), Select[tuple[Team, User]])  # E: assert-type
    # a left-joined model may be None
    maybe = db.select(User, Team).left_join(Team, User.team_id == Team.id)
    assert_type(maybe, Select[tuple[User, Team]])  # E: assert-type
    on_pool = pool.select(User, Team).left_join(Team, User.team_id == Team.id)
    assert_type(on_pool, Select[tuple[User, Team]])  # E: assert-type
    # columns read as their value types, nullable ones with None
    assert_type(db.select(User.name, User.age), Select[tuple[str, str]])  # E: assert-type
    assert_type(db.select(User.email), Select[tuple[str]])  # E: assert-type
    assert_type(db.select(col(User.age)), Select[tuple[str]])  # E: assert-type
    assert_type(pool.select(User.name).scalars(), Select[tuple[str]])  # E: assert-type
    assert_type(await db.select(User.name).scalars().first(), str)  # E: assert-type


async def wrong_expressions(db: Connection) -> None:
    assert_type(func.count(), Func[str])  # E: assert-type
    assert_type(func.sum(User.age), Func[int])  # E: assert-type
    assert_type(func.avg(User.balance), Func[float | None])  # E: assert-type
    assert_type(func.lower(User.email), Func[str])  # E: assert-type
    assert_type(func.coalesce(User.email, "-"), Func[str | None])  # E: assert-type
    assert_type(func.count().label("n"), Label[str])  # E: assert-type
    assert_type(col(User.age) > 3, Expr[int])  # E: assert-type
    assert_type(await db.select(User).count(), int | None)  # E: assert-type
    assert_type(await db.select(User).sum(User.age), int)  # E: assert-type
    assert_type(await db.select(User).avg(User.age), decimal.Decimal | None)  # E: assert-type
    assert_type(await db.select(User).max(User.name), str)  # E: assert-type


async def wrong_calls(db: Connection) -> None:
    db.select(User, Team).scalars()  # E: misc
    db.select(User.name, User.age).scalars()  # E: misc
    name: str = await db.select(User.email).scalars().first()  # E: assignment
    age: int = (await db.select(User.age).collect())[0]  # E: assignment
    User.name.like("A%")  # E: attr-defined
    col(User.name).startswith("A")  # E: attr-defined
    assert_type(await db.select(User).order_by(User.id).page(10), Page[Team])  # E: assert-type
    print(name, age)

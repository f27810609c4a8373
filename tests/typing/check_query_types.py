"""Static checks of query result types: ``mypy --strict`` must accept every line.

Never run, never collected by pytest (the name does not match ``test_*.py``):
``make lint`` type-checks it, and ``tests/unit/test_typing_check.py`` runs mypy on
it together with ``fail_query_types.py``, whose assertions must each fail.

Each check runs for a connection, a pooled connection and a pool: ``DB`` is a
value-constrained type variable, so mypy checks the body once per class.
"""

from __future__ import annotations

import datetime
import decimal
import ipaddress
from collections.abc import AsyncIterator
from typing import Any, TypeVar, assert_type

from ormer import (
    Column,
    CommonTable,
    CompoundSelect,
    Connection,
    Database,
    Model,
    ObjectDelete,
    ObjectUpdate,
    Page,
    Pool,
    PooledConnection,
    ReplicatedPool,
    ReplicatedPoolBuilder,
    Select,
    aliased,
    belongs_to,
    col,
    exists,
    foreign_key,
    func,
    has_many,
    primary,
)
from ormer.expr import Case, Exists, Expr, Func, Label
from ormer.windows import Window

DB = TypeVar("DB", Connection, PooledConnection, Pool, ReplicatedPool)


class Org(Model, table="typing_orgs"):
    id: int = primary(auto=True)
    name: str


class Team(Model, table="typing_teams"):
    id: int = primary(auto=True)
    name: str
    org_id: int = foreign_key("typing_orgs.id")


class User(Model, table="typing_users"):
    id: int = primary(auto=True)
    name: str
    age: int = 0
    email: str | None = None
    score: float = 0.0
    active: bool = True
    balance: decimal.Decimal = decimal.Decimal(0)
    born: datetime.date | None = None
    team_id: int | None = foreign_key("typing_teams.id", default=None)


class Host(Model, table="typing_hosts"):
    """A field type that a plugin would map (ormer_sql_type): outside ``SqlValue``."""

    id: int = primary(auto=True)
    address: ipaddress.IPv4Address


class Author(Model, table="typing_authors"):
    id: int = primary(auto=True)
    name: str
    posts: list[Post] = has_many("Post", foreign_key="author_id")


class Post(Model, table="typing_posts"):
    id: int = primary(auto=True)
    title: str
    author_id: int | None = foreign_key("typing_authors.id", default=None)
    author: Author | None = belongs_to(Author, foreign_key="author_id")


async def models(db: DB) -> None:
    """Model selects: objects, tuples of objects, left joins, first, find, stream."""
    assert_type(db.select(User), Select[User])
    assert_type(await db.select(User).collect(), list[User])
    assert_type(await db.select(User).first(), User | None)
    assert_type(db.select(User).for_update(skip_locked=True), Select[User])
    assert_type(db.select(User, Team).for_share(of=[User]), Select[tuple[User, Team]])
    assert_type(await db.find(User, 1), User | None)
    assert_type(db.select(User).stream(), AsyncIterator[User])
    async for user in db.select(User).filter(User.age > 1).stream(batch=10):
        assert_type(user, User)

    assert_type(db.select(User, Team), Select[tuple[User, Team]])
    assert_type(await db.select(User, Team).collect(), list[tuple[User, Team]])
    assert_type(db.select(User, Team, Org), Select[tuple[User, Team, Org]])
    pairs = db.select(User, Team).join(Team, User.team_id == Team.id)
    assert_type(pairs, Select[tuple[User, Team]])

    # every builder method keeps the result type
    query = (
        db.select(User)
        .filter(User.age >= 18)
        .where(User.name != "x")
        .order_by(col(User.name).desc())
        .range(0, 10)
        .limit(5)
        .offset(1)
        .distinct()
        .group_by(User.id)
        .having(func.count() > 0)
        .select_from(User)
        .join(Team, User.team_id == Team.id)
    )
    assert_type(query, Select[User])

    # left joins: the joined model is optional where it is selected
    assert_type(db.select(User).left_join(Team, User.team_id == Team.id), Select[User])
    maybe = db.select(User, Team).left_join(Team, User.team_id == Team.id)
    assert_type(maybe, Select[tuple[User, Team | None]])
    assert_type(await maybe.collect(), list[tuple[User, Team | None]])
    assert_type(await maybe.first(), tuple[User, Team | None] | None)
    three = db.select(User, Team, Org)
    assert_type(
        three.left_join(Team, User.team_id == Team.id), Select[tuple[User, Team | None, Org]]
    )
    assert_type(three.left_join(Org, Team.org_id == Org.id), Select[tuple[User, Team, Org | None]])
    assert_type(
        three.left_join(Team, User.team_id == Team.id).left_join(Org, Team.org_id == Org.id),
        Select[tuple[User, Team | None, Org | None]],
    )
    # an inner join, or a left join of a model that is not selected, changes nothing
    assert_type(three.join(Team, User.team_id == Team.id), Select[tuple[User, Team, Org]])
    assert_type(
        db.select(User, Team).left_join(Org, Team.org_id == Org.id), Select[tuple[User, Team]]
    )
    # keyset pagination: after()/before() keep the type, page() gives a Page of the model
    by_id = db.select(User).order_by(User.id)
    assert_type(by_id.after((1,)).before(User(name="x")), Select[User])
    page = await by_id.page(10)
    assert_type(page, Page[User])
    assert_type(page.items, list[User])
    assert_type(page.next_cursor, tuple[Any, ...] | None)
    assert_type(await by_id.after(page.items[-1]).page(5), Page[User])
    # an alias of the same model: only the aliased position becomes optional
    boss = aliased(User, "boss")
    assert_type(
        db.select(User, boss).left_join(boss, User.team_id == boss.id),
        Select[tuple[User, User | None]],
    )


async def relations(db: DB) -> None:
    """Relation attributes read as their annotations; preload and include keep the type."""
    a = Author(name="Ann")
    assert_type(a.posts, list[Post])
    p = Post(title="t", author_id=None)
    assert_type(p.author, Author | None)
    assert_type(db.select(Author).preload(Author.posts), Select[Author])
    assert_type(db.select(Author).preload(Author.posts, Post.author), Select[Author])
    assert_type(await db.select(Author).preload(Author.posts).collect(), list[Author])
    assert_type(await db.select(Author).preload(Author.posts).first(), Author | None)
    assert_type(db.select(Post).include(Post.author), Select[Post])
    both = db.select(Post, Author).join(Author, Post.author_id == Author.id)
    assert_type(both.preload(Author.posts), Select[tuple[Post, Author]])
    for post in await db.select(Post).preload(Post.author).collect():
        assert_type(post.author, Author | None)


async def projections(db: DB) -> None:
    """Columns and expressions: tuples of their value types, 1 to 6 items."""
    assert_type(db.select(User.name), Select[tuple[str]])
    assert_type(db.select(User.name, User.age), Select[tuple[str, int]])
    assert_type(await db.select(User.name, User.age).collect(), list[tuple[str, int]])
    assert_type(db.select(User.name, User.age, User.email), Select[tuple[str, int, str | None]])
    assert_type(
        db.select(User.name, User.age, User.email, User.score),
        Select[tuple[str, int, str | None, float]],
    )
    assert_type(
        db.select(User.name, User.age, User.email, User.score, User.balance),
        Select[tuple[str, int, str | None, float, decimal.Decimal]],
    )
    assert_type(
        db.select(User.name, User.age, User.email, User.score, User.balance, User.born),
        Select[tuple[str, int, str | None, float, decimal.Decimal, datetime.date | None]],
    )
    # col() gives the Column; it reads as its value type all the same
    assert_type(col(User.name), Column[str])
    assert_type(db.select(col(User.name)), Select[tuple[str]])
    assert_type(db.select(col(User.email), User.age), Select[tuple[str | None, int]])
    assert_type(db.select(User.name, col(User.team_id)), Select[tuple[str, int | None]])
    # arithmetic on columns reads as the value type's arithmetic
    assert_type(db.select(User.age + 1), Select[tuple[int]])
    # an alias's columns
    boss = aliased(User, "boss")
    assert_type(db.select(User.name, boss.name), Select[tuple[str, str]])
    # models and values mixed
    assert_type(db.select(User, func.count()), Select[tuple[User, int]])
    assert_type(db.select(User.name, Team), Select[tuple[str, Team]])
    assert_type(db.select(User, Team.name, Org), Select[tuple[User, str, Org]])
    assert_type(db.select(User, Team, func.count()), Select[tuple[User, Team, int]])
    # scalars() unwraps a one-item select
    assert_type(db.select(User.name).scalars(), Select[str])
    assert_type(await db.select(User.name).scalars().collect(), list[str])
    assert_type(await db.select(User.email).scalars().first(), str | None)
    assert_type(await db.select(func.count()).select_from(User).scalars().first(), int | None)
    assert_type(db.select(func.max(User.age)).scalars(), Select[int | None])
    async for name in db.select(User.name).scalars().stream():
        assert_type(name, str)
    async for row in db.select(User.name, User.age).stream():
        assert_type(row, tuple[str, int])


async def expressions(db: DB) -> None:
    """``func``, labels, ``case``: typed by what they yield."""
    assert_type(func.count(), Func[int])
    assert_type(func.count(User.id), Func[int])
    assert_type(func.count_distinct(User.name), Func[int])
    assert_type(func.sum(User.age), Func[int | None])
    assert_type(func.sum(User.team_id), Func[int | None])
    assert_type(func.sum(User.score), Func[float | None])
    assert_type(func.sum(User.balance), Func[decimal.Decimal | None])
    assert_type(func.sum(User.active), Func[int | None])
    assert_type(func.avg(User.age), Func[float | None])
    assert_type(func.avg(User.score), Func[float | None])
    assert_type(func.avg(User.balance), Func[decimal.Decimal | None])
    assert_type(func.min(User.name), Func[str | None])
    assert_type(func.max(User.age), Func[int | None])
    assert_type(func.max(User.born), Func[datetime.date | None])
    assert_type(func.lower(User.name), Func[str])
    assert_type(func.upper(User.name), Func[str])
    assert_type(func.lower(User.email), Func[str | None])
    assert_type(func.length(User.name), Func[int])
    assert_type(func.length(User.email), Func[int | None])
    assert_type(func.abs(User.age), Func[int])
    assert_type(func.abs(User.balance), Func[decimal.Decimal])
    assert_type(func.coalesce(User.email, "none"), Func[str])
    assert_type(func.coalesce(User.team_id, 0), Func[int])
    assert_type(func.coalesce(col(User.email), User.name), Func[str])
    assert_type(func.coalesce(User.email, User.email), Func[str | None])
    assert_type(func.coalesce(User.email), Func[str | None])
    assert_type(func.case((User.age > 17, "adult"), else_="minor"), Case[str])
    assert_type(func.case((User.age > 17, "adult")), Case[str | None])
    assert_type(func.case((User.age > 17, User.age), else_=0), Case[int])
    assert_type(func.count().label("n"), Label[int])
    assert_type(func.sum(User.age).label("total"), Label[int | None])
    # windows are typed like their function; filter= keeps the aggregate's type
    assert_type(func.row_number().over(order_by=User.id), Window[int])
    assert_type(func.rank().over(partition_by=User.team_id, order_by=User.age), Window[int])
    assert_type(func.ntile(4).over(), Window[int])
    assert_type(func.sum(User.age).over(partition_by=[User.team_id]), Window[int | None])
    assert_type(func.lag(User.name).over(order_by=User.id), Window[str | None])
    assert_type(func.first_value(User.age).over(rows=(None, 0)), Window[int | None])
    assert_type(func.count(filter=User.age > 17), Func[int])
    assert_type(func.sum(User.age, filter=User.age > 17), Func[int | None])
    assert_type(db.select(User.id, func.row_number().over()), Select[tuple[int, int]])
    assert_type(col(User.name).label("who"), Label[str])
    # conditions are boolean expressions; arithmetic on expressions is untyped
    assert_type(col(User.age) > 3, Expr[bool])
    assert_type(col(User.name) == "Ann", Expr[bool])
    assert_type(col(User.email).is_null(), Expr[bool])
    assert_type(col(User.name).like("A%"), Expr[bool])
    assert_type(col(User.id).in_([1, 2]), Expr[bool])
    assert_type((col(User.age) > 3) & (col(User.age) < 9), Expr[bool])
    assert_type(~(col(User.age) > 3), Expr[bool])
    assert_type(exists(db.select(User.id)), Exists)
    condition: Expr[bool] = exists(db.select(User.id))
    assert_type(db.select(User).filter(condition), Select[User])
    assert_type(func.count() + 1, Expr[Any])

    members = func.count(User.id).label("members")
    per_team = db.select(User.team_id, members).group_by(User.team_id).having(members > 1)
    assert_type(per_team, Select[tuple[int | None, int]])
    stats = db.select(User.team_id, func.count(User.id), func.avg(User.age))
    assert_type(await stats.collect(), list[tuple[int | None, int, float | None]])
    labelled = db.select(func.lower(User.name).label("n"), func.length(User.email))
    assert_type(labelled, Select[tuple[str, int | None]])
    adult = func.case((User.age > 17, "adult"), else_="minor")
    assert_type(db.select(User.name, adult), Select[tuple[str, str]])


async def untyped(db: DB, anything: Any) -> None:
    """What a type checker cannot read gives ``Any`` values, never a wrong type."""
    assert_type(db.select(Host.address), Select[tuple[Any]])
    assert_type(db.select(Host.address).scalars(), Select[Any])
    assert_type(db.select(Host.id, Host.address), Select[tuple[Any, Any]])
    assert_type(db.select(Host, Host.id, Host.address, Host.id), Select[tuple[Any, Any, Any, Any]])
    seven = db.select(User.id, User.name, User.age, User.email, User.id, User.name, User.age)
    assert_type(seven, Select[tuple[Any, ...]])
    assert_type(db.select(anything), Select[Any])
    assert_type(func.sum(col(User.age) * 2), Func[Any])
    assert_type(func.max(Host.address), Func[Any])


async def aggregates(db: DB) -> None:
    """The aggregate shortcuts on a select."""
    users = db.select(User).filter(User.age > 3)
    assert_type(await users.count(), int)
    assert_type(await users.exists(), bool)
    assert_type(await users.sum(User.age), int | None)
    assert_type(await users.sum(User.score), float | None)
    assert_type(await users.sum(User.balance), decimal.Decimal | None)
    assert_type(await users.sum(User.active), int | None)
    assert_type(await users.sum(col(User.team_id)), int | None)
    assert_type(await users.avg(User.age), float | None)
    assert_type(await users.avg(User.balance), decimal.Decimal | None)
    assert_type(await users.min(User.name), str | None)
    assert_type(await users.max(User.name), str | None)
    assert_type(await users.max(User.born), datetime.date | None)
    assert_type(await db.select(User.name, User.age).count(), int)


async def writes(db: DB) -> None:
    """Writes return row counts."""
    assert_type(await db.insert(User(name="Ann")), int)
    assert_type(await db.insert([User(name="Ann"), User(name="Bob")]), int)
    assert_type(await db.update(User).filter(User.id == 1).set(User.age, 3).execute(), int)
    assert_type(await db.delete(User).filter(User.id == 1), int)
    # instance writes by primary key
    ann = User(name="Ann")
    assert_type(db.update(ann), ObjectUpdate[User])  # type: ignore[unused-awaitable]
    assert_type(await db.update(ann), int)
    assert_type(await db.update(ann).execute(), int)
    assert_type(db.delete(ann), ObjectDelete[User])  # type: ignore[unused-awaitable]
    assert_type(await db.delete(ann), int)
    assert_type(await db.refresh(ann), User)


async def ctes_and_set_operations(db: DB) -> None:
    """A CTE is a CommonTable (its columns untyped statically); a compound select is
    typed like its first select."""
    totals = db.select(User.team_id, func.count().label("n")).group_by(User.team_id).cte("t")
    assert_type(totals, CommonTable)
    rows = await db.select(Team, totals.c.n).join(totals, totals.c.team_id == Team.id).collect()
    assert_type(rows, list[tuple[Team, Any]])
    users = db.select(User).filter(User.age > 3)
    assert_type(users.union(db.select(User)), CompoundSelect[User])
    assert_type(await users.union_all(db.select(User)).collect(), list[User])
    assert_type(await users.intersect(db.select(User)).first(), User | None)
    names = db.select(User.name).except_(db.select(User.name)).order_by(User.name).range(0, 5)
    assert_type(await names.collect(), list[tuple[str]])
    assert_type(await names.scalars().collect(), list[str])
    assert_type(await names.count(), int)


async def replicated_pool(url: str) -> None:
    builder = Database.create_pool(url).replicas(url).max_size(3).max_replica_lag(2)
    pool = await assert_type(builder, ReplicatedPoolBuilder).build()
    assert_type(pool, ReplicatedPool)
    assert_type(pool.primary(), Pool)
    assert_type(pool.replica(), Pool)
    assert_type(await pool.select(User).collect(), list[User])
    assert_type(await Database.create_pool(url).max_size(3).build(), Pool)
    await pool.close()

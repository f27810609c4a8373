# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (User.age.in_(...)) and operators on them are unknown to mypy here; see ormer.col().
"""Compliance suite: queries (docs/queries.md), every result read back from the database."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

import pytest

import ormer
from ormer import ConfigurationError, Connection, Model, field, foreign_key, func, primary, unique
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestQueries"]

D = decimal.Decimal


# -- models -------------------------------------------------------------------------------
class QRegion(Model, table="suite_queries_region"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)


class QTeam(Model, table="suite_queries_team"):
    id: int = primary(auto=True)
    name: str = unique(max_length=50)
    region_id: int | None = foreign_key("suite_queries_region.id")


class QUser(Model, table="suite_queries_user"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)
    age: int = 0
    score: int | None = None
    email: str | None = None
    team_id: int | None = foreign_key("suite_queries_team.id")


class QOrder(Model, table="suite_queries_order"):
    id: int = primary(auto=True)
    user_id: int = foreign_key("suite_queries_user.id")
    amount: decimal.Decimal = field(max_digits=10, decimal_places=2)
    placed: datetime.date
    at: datetime.datetime


class QProduct(Model, table="suite_queries_product"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)


class QLine(Model, table="suite_queries_line"):
    id: int = primary(auto=True)
    order_id: int = foreign_key("suite_queries_order.id")
    product_id: int = foreign_key("suite_queries_product.id")
    qty: int
    price: decimal.Decimal = field(max_digits=10, decimal_places=2)
    discount: decimal.Decimal = field(max_digits=4, decimal_places=2)


class QEmp(Model, table="suite_queries_emp"):
    id: int = primary()
    name: str = field(max_length=50)
    manager_id: int | None = None


class QWord(Model, table="suite_queries_word"):
    id: int = primary()
    text: str = field(max_length=50)


class QNum(Model, table="suite_queries_num"):
    id: int = primary()
    a: int
    b: int
    f: float


class QSeq(Model, table="suite_queries_seq"):
    id: int = primary()
    v: int


ALL_USER_NAMES = ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay"]


class Data:
    """The rows of the shared fixture data set, as inserted (ids filled in)."""

    regions: dict[str, QRegion]
    teams: dict[str, QTeam]
    users: dict[str, QUser]
    orders: list[QOrder]
    products: list[QProduct]
    lines: list[QLine]


async def seed(db: Connection) -> Data:
    """Regions, teams, users, orders, products and order lines (a small TPC-H-like set).

    | user | age | score | email     | team |
    | Ann  | 31  | 10    | ann@x.org | core |
    | Bob  | 17  | NULL  | NULL      | core |
    | Cid  | 45  | 1     | cid@x.org | ops  |
    | Dee  | 28  | NULL  | dee@x.org | ops  |
    | Eve  | 31  | 5     | NULL      | NULL |
    | Fay  | 22  | 3     | NULL      | core |
    """
    await fresh_tables(db, QRegion, QTeam, QUser, QOrder, QProduct, QLine)
    d = Data()
    d.regions = {n: QRegion(name=n) for n in ("north", "south")}
    await db.insert(list(d.regions.values()))
    d.teams = {
        "core": QTeam(name="core", region_id=d.regions["north"].id),
        "ops": QTeam(name="ops", region_id=d.regions["south"].id),
        "idle": QTeam(name="idle", region_id=None),
    }
    await db.insert(list(d.teams.values()))
    core, ops = d.teams["core"].id, d.teams["ops"].id
    d.users = {
        "Ann": QUser(name="Ann", age=31, score=10, email="ann@x.org", team_id=core),
        "Bob": QUser(name="Bob", age=17, score=None, email=None, team_id=core),
        "Cid": QUser(name="Cid", age=45, score=1, email="cid@x.org", team_id=ops),
        "Dee": QUser(name="Dee", age=28, score=None, email="dee@x.org", team_id=ops),
        "Eve": QUser(name="Eve", age=31, score=5, email=None, team_id=None),
        "Fay": QUser(name="Fay", age=22, score=3, email=None, team_id=core),
    }
    await db.insert(list(d.users.values()))
    u = d.users
    dt = datetime.datetime
    d.orders = [
        QOrder(
            user_id=u["Ann"].id,
            amount=D("25.50"),
            placed=datetime.date(2024, 1, 15),
            at=dt(2024, 1, 15, 9, 30),
        ),
        QOrder(
            user_id=u["Ann"].id,
            amount=D("10.00"),
            placed=datetime.date(2024, 2, 1),
            at=dt(2024, 2, 1, 12, 0),
        ),
        QOrder(
            user_id=u["Cid"].id,
            amount=D("100.25"),
            placed=datetime.date(2024, 3, 10),
            at=dt(2024, 3, 10, 18, 45, 30, 123456),
        ),
        QOrder(
            user_id=u["Dee"].id,
            amount=D("5.75"),
            placed=datetime.date(2024, 2, 29),
            at=dt(2024, 2, 29, 23, 59, 59),
        ),
    ]
    await db.insert(d.orders)
    d.products = [QProduct(name="bolt"), QProduct(name="nut")]
    await db.insert(d.products)
    o, p = d.orders, d.products
    # Prices and discounts are binary fractions so that every backend computes
    # price * (1 - discount) exactly, even one that does decimal math in floats.
    d.lines = [
        QLine(order_id=o[0].id, product_id=p[0].id, qty=2, price=D("10.50"), discount=D("0.50")),
        QLine(order_id=o[0].id, product_id=p[1].id, qty=1, price=D("4.25"), discount=D("0.25")),
        QLine(order_id=o[2].id, product_id=p[0].id, qty=4, price=D("2.00"), discount=D("0.00")),
    ]
    await db.insert(d.lines)
    return d


async def names(db: Connection, *conditions: Any) -> list[str]:
    """Names of the users matching ``conditions``, sorted."""
    q = db.select(QUser.name).filter(*conditions).order_by(QUser.name).scalars()
    return list(await q.collect())


class TestQueries(SuiteBase):
    """docs/queries.md: expressions, aggregates, grouping, ordering, paging, joins, subqueries."""

    # -- comparisons and boolean logic -------------------------------------------------------------
    async def test_comparison_operators(self, db: Connection) -> None:
        await seed(db)
        assert await names(db, QUser.age == 31) == ["Ann", "Eve"]
        assert await names(db, QUser.age != 31) == ["Bob", "Cid", "Dee", "Fay"]
        assert await names(db, QUser.age < 31) == ["Bob", "Dee", "Fay"]
        assert await names(db, QUser.age <= 31) == ["Ann", "Bob", "Dee", "Eve", "Fay"]
        assert await names(db, QUser.age > 31) == ["Cid"]
        assert await names(db, QUser.age >= 31) == ["Ann", "Cid", "Eve"]
        # a literal on the left is reflected by Python onto the column
        assert await names(db, 31 < QUser.age) == ["Cid"]  # noqa: SIM300
        assert await names(db, QUser.name < "C") == ["Ann", "Bob"]
        assert await names(db, QUser.name == "Dee") == ["Dee"]

    async def test_column_to_column_comparison(self, db: Connection) -> None:
        await fresh_tables(db, QNum)
        await db.insert(
            [
                QNum(id=1, a=7, b=2, f=1.5),
                QNum(id=2, a=2, b=2, f=0.0),
                QNum(id=3, a=-1, b=5, f=2.0),
            ]
        )
        ids = db.select(QNum.id).order_by(QNum.id).scalars()
        assert await ids.filter(QNum.a > QNum.b).collect() == [1]
        assert await ids.filter(QNum.a == QNum.b).collect() == [2]
        assert await ids.filter(QNum.a < QNum.b).collect() == [3]
        assert await ids.filter(QNum.f > QNum.a).collect() == [3]

    async def test_and_or_not(self, db: Connection) -> None:
        await seed(db)
        assert await names(db, (QUser.age > 20) & (QUser.age < 40)) == ["Ann", "Dee", "Eve", "Fay"]
        assert await names(db, (QUser.age < 20) | (QUser.age > 40)) == ["Bob", "Cid"]
        assert await names(db, ~(QUser.age > 20)) == ["Bob"]
        assert await names(
            db, ((QUser.age < 20) | (QUser.age > 40)) & QUser.email.is_not_null()
        ) == ["Cid"]
        assert await names(db, ~((QUser.age < 20) | (QUser.age > 40))) == [
            "Ann",
            "Dee",
            "Eve",
            "Fay",
        ]
        # several filter arguments and chained filters are ANDed
        assert await names(db, QUser.age > 20, QUser.age < 30) == ["Dee", "Fay"]
        chained = db.select(QUser.name).filter(QUser.age > 20).filter(QUser.age < 30)
        assert await chained.order_by(QUser.name).scalars().collect() == ["Dee", "Fay"]

    async def test_three_valued_null_logic(self, db: Connection) -> None:
        await seed(db)  # score: Ann 10, Bob NULL, Cid 1, Dee NULL, Eve 5, Fay 3
        # NOT (NULL = 1) is NULL: rows with a NULL score are not returned
        assert await names(db, ~(QUser.score == 1)) == ["Ann", "Eve", "Fay"]
        assert await names(db, QUser.score != 1) == ["Ann", "Eve", "Fay"]
        assert await names(db, ~(QUser.score > 4)) == ["Cid", "Fay"]
        assert await names(db, (QUser.score > 4) | (QUser.score <= 4)) == [
            "Ann",
            "Cid",
            "Eve",
            "Fay",
        ]
        # == None is IS NULL, != None is IS NOT NULL
        assert await names(db, QUser.score == None) == ["Bob", "Dee"]  # noqa: E711
        assert await names(db, QUser.score != None) == ["Ann", "Cid", "Eve", "Fay"]  # noqa: E711
        assert await names(db, ~(QUser.score == None)) == ["Ann", "Cid", "Eve", "Fay"]  # noqa: E711
        # NULL OR TRUE is TRUE; NULL AND FALSE is FALSE
        assert await names(db, (QUser.score > 4) | (QUser.age < 20)) == ["Ann", "Bob", "Eve"]
        assert await names(db, ~((QUser.score > 4) & (QUser.age > 40))) == [
            "Ann",
            "Bob",
            "Cid",
            "Dee",
            "Eve",
            "Fay",
        ]

    async def test_is_null_and_is_not_null(self, db: Connection) -> None:
        await seed(db)
        assert await names(db, QUser.email.is_null()) == ["Bob", "Eve", "Fay"]
        assert await names(db, QUser.email.is_not_null()) == ["Ann", "Cid", "Dee"]
        assert await names(db, QUser.team_id.is_null()) == ["Eve"]

    # -- IN ----------------------------------------------------------------------------------------
    async def test_in_values(self, db: Connection) -> None:
        await seed(db)
        assert await names(db, QUser.age.in_([17, 45, 99])) == ["Bob", "Cid"]
        assert await names(db, QUser.name.in_(("Eve", "Ann"))) == ["Ann", "Eve"]
        assert await names(db, QUser.age.in_(a for a in (28, 22))) == ["Dee", "Fay"]
        assert await names(db, QUser.age.not_in([17, 45])) == ["Ann", "Dee", "Eve", "Fay"]
        # NULL IN (...) is NULL: NULL scores match neither IN nor NOT IN
        assert await names(db, QUser.score.in_([1, 10])) == ["Ann", "Cid"]
        assert await names(db, QUser.score.not_in([1, 10])) == ["Eve", "Fay"]

    async def test_in_empty_list(self, db: Connection) -> None:
        await seed(db)
        assert await names(db, QUser.age.in_([])) == []
        assert await names(db, QUser.score.in_([])) == []
        # not_in([]) is TRUE, for NULL scores as well
        assert await names(db, QUser.score.not_in([])) == ALL_USER_NAMES
        assert await names(db, ~QUser.score.in_([])) == ALL_USER_NAMES
        assert await names(db, QUser.age.in_([]) | (QUser.age == 17)) == ["Bob"]
        assert await names(db, QUser.age.not_in([]) & (QUser.age == 17)) == ["Bob"]
        assert await db.select(QUser).filter(QUser.id.in_([])).count() == 0

    async def test_not_in_with_null_matches_nothing(self, db: Connection) -> None:
        await seed(db)
        assert await names(db, QUser.score.not_in([1, None])) == []
        assert await names(db, QUser.age.not_in([17, None])) == []
        assert await names(db, QUser.score.in_([1, None])) == ["Cid"]

    async def test_in_subquery(self, db: Connection) -> None:
        await seed(db)
        big = db.select(QOrder.user_id).filter(QOrder.amount > D("20"))
        assert await names(db, QUser.id.in_(big)) == ["Ann", "Cid"]
        assert await names(db, QUser.id.not_in(big)) == ["Bob", "Dee", "Eve", "Fay"]
        any_order = db.select(QOrder.user_id)
        assert await names(db, QUser.id.in_(any_order)) == ["Ann", "Cid", "Dee"]
        none = db.select(QOrder.user_id).filter(QOrder.amount > D("1000"))
        assert await names(db, QUser.id.in_(none)) == []
        assert await names(db, QUser.id.not_in(none)) == ALL_USER_NAMES

    # -- LIKE, BETWEEN -----------------------------------------------------------------------------
    async def _words(self, db: Connection) -> None:
        await fresh_tables(db, QWord)
        texts = ["Alice", "alice", "ALICE", "a_b", "a%b", "axb", "abc", "Zoë"]
        await db.insert([QWord(id=i, text=t) for i, t in enumerate(texts, 1)])

    async def _match(self, db: Connection, cond: Any) -> list[str]:
        q = db.select(QWord.text).filter(cond).order_by(QWord.id).scalars()
        return list(await q.collect())

    async def test_like_is_case_sensitive(self, db: Connection) -> None:
        await self._words(db)
        assert await self._match(db, QWord.text.like("A%")) == ["Alice", "ALICE"]
        assert await self._match(db, QWord.text.like("a%")) == ["alice", "a_b", "a%b", "axb", "abc"]
        assert await self._match(db, QWord.text.like("alice")) == ["alice"]
        assert await self._match(db, QWord.text.like("%ICE")) == ["ALICE"]
        assert await self._match(db, QWord.text.like("a_b")) == ["a_b", "a%b", "axb"]
        assert await self._match(db, QWord.text.like("_")) == []
        assert await self._match(db, QWord.text.like("Zo_")) == ["Zoë"]
        assert await self._match(db, QWord.text.not_like("a%")) == ["Alice", "ALICE", "Zoë"]

    async def test_like_escape(self, db: Connection) -> None:
        await self._words(db)
        assert await self._match(db, QWord.text.like("a!_b", escape="!")) == ["a_b"]
        assert await self._match(db, QWord.text.like("a!%b", escape="!")) == ["a%b"]
        assert await self._match(db, QWord.text.like("%!%%", escape="!")) == ["a%b"]
        assert await self._match(db, QWord.text.like("%!_%", escape="!")) == ["a_b"]
        with pytest.raises(ConfigurationError):
            QWord.text.like("x", escape="!!")

    async def test_ilike_is_case_insensitive(self, db: Connection) -> None:
        await self._words(db)
        assert await self._match(db, QWord.text.ilike("alice")) == ["Alice", "alice", "ALICE"]
        assert await self._match(db, QWord.text.ilike("ALI%")) == ["Alice", "alice", "ALICE"]
        assert await self._match(db, QWord.text.ilike("A_B")) == ["a_b", "a%b", "axb"]
        assert await self._match(db, QWord.text.ilike("A!_B", escape="!")) == ["a_b"]

    async def test_between(self, db: Connection) -> None:
        d = await seed(db)
        assert await names(db, QUser.age.between(22, 31)) == ["Ann", "Dee", "Eve", "Fay"]
        assert await names(db, ~QUser.age.between(22, 31)) == ["Bob", "Cid"]
        assert await names(db, QUser.name.between("B", "D")) == ["Bob", "Cid"]
        feb = db.select(QOrder.id).filter(
            QOrder.placed.between(datetime.date(2024, 2, 1), datetime.date(2024, 2, 29))
        )
        assert await feb.order_by(QOrder.id).scalars().collect() == [d.orders[1].id, d.orders[3].id]

    # -- arithmetic and functions ------------------------------------------------------------------
    async def test_arithmetic(self, db: Connection) -> None:
        await fresh_tables(db, QNum)
        await db.insert(
            [
                QNum(id=1, a=7, b=2, f=1.5),
                QNum(id=2, a=-7, b=2, f=-2.5),
                QNum(id=3, a=7, b=-2, f=0.25),
                QNum(id=4, a=10, b=5, f=4.0),
            ]
        )
        q = (
            db.select(
                QNum.a + QNum.b, QNum.a - QNum.b, QNum.a * QNum.b, QNum.a / QNum.b, QNum.a // QNum.b
            )
            .select_from(QNum)
            .order_by(QNum.id)
        )
        rows = await q.collect()
        assert rows == [
            (9, 5, 14, 3.5, 3),
            (-5, -9, -14, -3.5, -4),
            (5, 9, -14, -3.5, -4),
            (15, 5, 50, 2.0, 2),
        ]
        for row in rows:
            assert all(type(v) is int for v in (row[0], row[1], row[2], row[4]))
            assert type(row[3]) is float

    async def test_arithmetic_with_literals(self, db: Connection) -> None:
        await fresh_tables(db, QNum)
        await db.insert([QNum(id=1, a=7, b=2, f=1.5), QNum(id=2, a=-7, b=2, f=-2.5)])
        q = (
            db.select(
                QNum.a / 2,
                QNum.a // 2,
                10 - QNum.a,
                -QNum.a,
                QNum.a * 3 + 1,
                QNum.f * 2,
                2 * QNum.f,
            )
            .select_from(QNum)
            .order_by(QNum.id)
        )
        assert await q.collect() == [
            (3.5, 3, 3, -7, 22, 3.0, 3.0),
            (-3.5, -4, 17, 7, -20, -5.0, -5.0),
        ]
        # arithmetic in filters
        ids = db.select(QNum.id).order_by(QNum.id).scalars()
        assert await ids.filter(QNum.a * 2 > 10).collect() == [1]
        assert await ids.filter(QNum.a / 2 == 3.5).collect() == [1]
        assert await ids.filter(QNum.a // 2 == -4).collect() == [2]
        assert await ids.filter(QNum.a + QNum.b < 0).collect() == [2]

    async def test_string_and_numeric_functions(self, db: Connection) -> None:
        await seed(db)
        q = (
            db.select(func.lower(QUser.name), func.upper(QUser.name), func.length(QUser.name))
            .select_from(QUser)
            .filter(QUser.name == "Ann")
        )
        assert await q.collect() == [("ann", "ANN", 3)]
        assert await names(db, func.lower(QUser.name) == "cid") == ["Cid"]
        assert await names(db, func.upper(QUser.name).like("E%")) == ["Eve"]
        coalesced = (
            db.select(func.coalesce(QUser.email, "none"))
            .select_from(QUser)
            .order_by(QUser.name)
            .scalars()
        )
        assert await coalesced.collect() == [
            "ann@x.org",
            "none",
            "cid@x.org",
            "dee@x.org",
            "none",
            "none",
        ]
        scores = db.select(func.coalesce(QUser.score, -1)).select_from(QUser).order_by(QUser.name)
        assert await scores.scalars().collect() == [10, -1, 1, -1, 5, 3]
        assert await names(db, func.coalesce(QUser.score, 0) == 0) == ["Bob", "Dee"]

    async def test_length_counts_characters_and_abs(self, db: Connection) -> None:
        await self._words(db)
        q = db.select(func.length(QWord.text)).select_from(QWord).filter(QWord.text == "Zoë")
        assert await q.scalars().collect() == [3]
        await fresh_tables(db, QNum)
        await db.insert([QNum(id=1, a=-7, b=2, f=-2.5), QNum(id=2, a=3, b=-4, f=1.0)])
        q2 = db.select(func.abs(QNum.a), func.abs(QNum.b), func.abs(QNum.f)).select_from(QNum)
        assert await q2.order_by(QNum.id).collect() == [(7, 2, 2.5), (3, 4, 1.0)]
        ids = db.select(QNum.id).filter(func.abs(QNum.a - QNum.b) > 8).scalars()
        assert await ids.collect() == [1]

    async def test_case_expression(self, db: Connection) -> None:
        await seed(db)
        kind = func.case((QUser.age < 18, "minor"), (QUser.age >= 40, "senior"), else_="adult")
        q = db.select(QUser.name, kind).order_by(QUser.name)
        assert await q.collect() == [
            ("Ann", "adult"),
            ("Bob", "minor"),
            ("Cid", "senior"),
            ("Dee", "adult"),
            ("Eve", "adult"),
            ("Fay", "adult"),
        ]
        adults = func.sum(func.case((QUser.age >= 18, 1), else_=0))
        assert await db.select(adults).select_from(QUser).scalars().collect() == [5]
        no_else = db.select(func.case((QUser.score > 4, QUser.score))).select_from(QUser)
        assert await no_else.order_by(QUser.name).scalars().collect() == [
            10,
            None,
            None,
            None,
            5,
            None,
        ]
        assert await names(db, func.case((QUser.score.is_null(), 0), else_=1) == 0) == [
            "Bob",
            "Dee",
        ]

    # -- aggregates --------------------------------------------------------------------------------
    async def test_aggregates_in_select(self, db: Connection) -> None:
        await seed(db)
        q = db.select(
            func.count(),
            func.count(QUser.score),
            func.count_distinct(QUser.age),
            func.sum(QUser.age),
            func.min(QUser.age),
            func.max(QUser.age),
            func.avg(QUser.score),
        ).select_from(QUser)
        ((n, n_score, n_ages, total, lo, hi, avg),) = await q.collect()
        assert (n, n_score, n_ages, total, lo, hi) == (6, 4, 5, 174, 17, 45)
        assert all(type(v) is int for v in (n, n_score, n_ages, total, lo, hi))
        assert type(avg) is float
        assert avg == pytest.approx(4.75)
        assert await db.select(func.count()).select_from(QUser).collect() == [(6,)]
        assert await db.select(func.count()).select_from(QUser).scalars().collect() == [6]
        filtered = db.select(func.count(), func.max(QUser.name)).select_from(QUser)
        assert await filtered.filter(QUser.age > 100).collect() == [(0, None)]
        minmax = db.select(func.min(QUser.name), func.max(QUser.name)).select_from(QUser)
        assert await minmax.collect() == [("Ann", "Fay")]

    async def test_aggregate_shortcuts(self, db: Connection) -> None:
        await seed(db)
        users = db.select(QUser)
        assert await users.count() == 6
        assert await users.filter(QUser.email.is_null()).count() == 3
        total = await users.sum(QUser.age)
        assert total == 174
        assert type(total) is int
        avg = await users.avg(QUser.age)
        assert type(avg) is float
        assert avg == pytest.approx(29.0)
        assert await users.min(QUser.age) == 17
        assert await users.max(QUser.age) == 45
        assert await users.max(QUser.name) == "Fay"
        assert await users.sum(QUser.score) == 19
        assert await users.avg(QUser.score) == pytest.approx(4.75)
        empty = users.filter(QUser.age > 100)
        assert await empty.count() == 0
        assert await empty.sum(QUser.age) is None
        assert await empty.avg(QUser.age) is None
        assert await empty.min(QUser.age) is None
        assert await empty.max(QUser.age) is None
        # a projection's count counts its rows
        assert await db.select(QUser.name).filter(QUser.age > 30).count() == 3
        # ORDER BY on the base query does not disturb the aggregate
        assert await users.order_by(QUser.name.desc()).sum(QUser.age) == 174

    async def test_aggregate_shortcuts_with_range_distinct_group_by(self, db: Connection) -> None:
        await seed(db)  # ages sorted: 17, 22, 28, 31, 31, 45
        by_age = db.select(QUser).order_by(QUser.age, QUser.name)
        assert await by_age.range(1, 3).count() == 2
        assert await by_age.range(1, 3).sum(QUser.age) == 22 + 28
        assert await by_age.range(1, 3).min(QUser.age) == 22
        assert await by_age.range(4, 10).max(QUser.age) == 45
        assert await by_age.range(4, 10).count() == 2
        assert await by_age.limit(3).avg(QUser.age) == pytest.approx((17 + 22 + 28) / 3)
        assert await by_age.offset(5).count() == 1
        assert await by_age.range(10, 20).count() == 0
        ages = db.select(QUser.age).distinct()
        assert await ages.count() == 5
        assert await ages.sum(QUser.age) == 17 + 22 + 28 + 31 + 45
        # DISTINCT over a nullable column counts the NULL group once
        assert await db.select(QUser.team_id).distinct().count() == 3
        groups = db.select(QUser.team_id).group_by(QUser.team_id)
        assert await groups.count() == 3
        assert await groups.max(func.count(QUser.id)) == 3
        assert await groups.min(func.count(QUser.id)) == 1
        assert await groups.having(func.count(QUser.id) > 1).count() == 2

    async def test_count_shortcut_and_count_projection_share_a_shape(self, db: Connection) -> None:
        await seed(db)
        # .count() and select(func.count()) compile to the same SQL; each keeps its result shape
        assert await db.select(QUser).count() == 6
        assert await db.select(func.count()).select_from(QUser).collect() == [(6,)]
        assert await db.select(QUser).count() == 6
        assert await db.select(func.count()).select_from(QUser).scalars().collect() == [6]
        assert await db.select(func.sum(QUser.age)).select_from(QUser).collect() == [(174,)]
        assert await db.select(QUser).sum(QUser.age) == 174

    async def test_decimal_aggregates_over_expressions(self, db: Connection) -> None:
        d = await seed(db)
        revenue = func.sum(QLine.price * (1 - QLine.discount))
        total = await db.select(revenue).select_from(QLine).scalars().collect()
        assert total == [D("10.4375")]
        assert isinstance(total[0], decimal.Decimal)
        per_order = (
            db.select(QLine.order_id, revenue.label("revenue"))
            .group_by(QLine.order_id)
            .order_by(QLine.order_id)
        )
        assert await per_order.collect() == [
            (d.orders[0].id, D("8.4375")),
            (d.orders[2].id, D("2.00")),
        ]
        gross = await db.select(QLine).sum(QLine.price * QLine.qty)
        assert gross == D("33.25")
        assert isinstance(gross, decimal.Decimal)
        price_sum = await db.select(QLine).sum(QLine.price)
        assert price_sum == D("16.75")
        assert isinstance(price_sum, decimal.Decimal)
        assert await db.select(QLine).min(QLine.price) == D("2.00")
        assert await db.select(QLine).max(QLine.price) == D("10.50")
        avg = await db.select(QLine).filter(QLine.order_id == d.orders[0].id).avg(QLine.price)
        assert avg == D("7.375")
        assert isinstance(avg, decimal.Decimal)
        assert await db.select(QOrder).sum(QOrder.amount) == D("141.50")

    # -- projections, grouping, labels -------------------------------------------------------------
    async def test_projections_are_tuples_and_scalars_bare(self, db: Connection) -> None:
        await seed(db)
        pairs = await db.select(QUser.name, QUser.age).order_by(QUser.name).limit(2).collect()
        assert pairs == [("Ann", 31), ("Bob", 17)]
        assert all(type(p) is tuple for p in pairs)
        one = await db.select(QUser.name).order_by(QUser.name).collect()
        assert one == [(n,) for n in ALL_USER_NAMES]
        bare = await db.select(QUser.name).order_by(QUser.name).scalars().collect()
        assert bare == ALL_USER_NAMES
        # and the first shape again (the same SQL must keep giving 1-tuples)
        assert await db.select(QUser.name).order_by(QUser.name).first() == ("Ann",)
        assert await db.select(QUser.name).order_by(QUser.name).scalars().first() == "Ann"
        mixed = await db.select(QUser, QUser.age + 1).filter(QUser.name == "Bob").collect()
        assert len(mixed) == 1
        user, older = mixed[0]
        assert isinstance(user, QUser)
        assert user.name == "Bob"
        assert older == 18
        with pytest.raises(ConfigurationError):
            db.select(QUser.name, QUser.age).scalars()

    async def test_group_by_having(self, db: Connection) -> None:
        d = await seed(db)
        core, ops = d.teams["core"].id, d.teams["ops"].id
        q = (
            db.select(QUser.team_id, func.count(QUser.id))
            .group_by(QUser.team_id)
            .having(func.count(QUser.id) > 2)
        )
        assert await q.collect() == [(core, 3)]
        q2 = (
            db.select(QUser.team_id, func.count(QUser.id), func.sum(QUser.age))
            .filter(QUser.team_id.is_not_null())
            .group_by(QUser.team_id)
            .having(func.count(QUser.id) >= 2, func.sum(QUser.age) > 0)
            .order_by(QUser.team_id)
        )
        assert await q2.collect() == sorted([(core, 3, 31 + 17 + 22), (ops, 2, 45 + 28)])
        per_team = (
            db.select(QTeam.name, func.count(QUser.id))
            .join(QUser, QUser.team_id == QTeam.id)
            .group_by(QTeam.name)
            .having(func.count(QUser.id) > 2)
        )
        assert await per_team.collect() == [("core", 3)]
        # having on a Decimal aggregate compared with a Decimal parameter
        big = (
            db.select(QOrder.user_id, func.sum(QOrder.amount))
            .group_by(QOrder.user_id)
            .having(func.sum(QOrder.amount) > D("30"))
            .order_by(QOrder.user_id)
        )
        assert await big.collect() == [
            (d.users["Ann"].id, D("35.50")),
            (d.users["Cid"].id, D("100.25")),
        ]

    async def test_labels_in_order_by_and_having(self, db: Connection) -> None:
        d = await seed(db)
        n = func.count(QUser.id).label("n")
        q = db.select(QUser.team_id, n).group_by(QUser.team_id).having(n > 1).order_by(n.desc())
        assert await q.collect() == [(d.teams["core"].id, 3), (d.teams["ops"].id, 2)]
        asc = db.select(QUser.team_id, n).group_by(QUser.team_id).order_by(n.asc(), QUser.team_id)
        assert [row[1] for row in await asc.collect()] == [1, 2, 3]
        total = func.sum(QUser.age).label("total_age")
        q2 = (
            db.select(QTeam.name, total)
            .join(QUser, QUser.team_id == QTeam.id)
            .group_by(QTeam.name)
            .order_by(total.desc())
        )
        assert await q2.collect() == [("ops", 73), ("core", 70)]
        name_len = func.length(QUser.name).label("name_len")
        q3 = db.select(QUser.name, name_len).filter(QUser.age > 40).order_by(name_len)
        assert await q3.collect() == [("Cid", 3)]

    # -- ordering ----------------------------------------------------------------------------------
    async def test_order_by_directions_and_multiple_keys(self, db: Connection) -> None:
        await seed(db)
        q = db.select(QUser.name)
        assert await q.order_by(QUser.name.desc()).scalars().collect() == ALL_USER_NAMES[::-1]
        assert await q.order_by(QUser.age.desc(), QUser.name.asc()).scalars().collect() == [
            "Cid",
            "Ann",
            "Eve",
            "Dee",
            "Fay",
            "Bob",
        ]
        assert await q.order_by(QUser.age.desc(), QUser.name.desc()).scalars().collect() == [
            "Cid",
            "Eve",
            "Ann",
            "Dee",
            "Fay",
            "Bob",
        ]
        assert await q.order_by(QUser.age).order_by(QUser.name.desc()).scalars().collect() == [
            "Bob",
            "Fay",
            "Dee",
            "Eve",
            "Ann",
            "Cid",
        ]
        by_expr = q.order_by((QUser.age % 10).asc(), QUser.name)
        assert await by_expr.scalars().collect() == ["Ann", "Eve", "Fay", "Cid", "Bob", "Dee"]

    async def test_null_placement(self, db: Connection) -> None:
        await seed(db)  # score: Ann 10, Bob NULL, Cid 1, Dee NULL, Eve 5, Fay 3
        q = db.select(QUser.name)

        async def order(*keys: Any) -> list[str]:
            return list(await q.order_by(*keys, QUser.name).scalars().collect())

        # ascending: NULLs first on every backend; descending: NULLs last
        assert await order(QUser.score) == ["Bob", "Dee", "Cid", "Fay", "Eve", "Ann"]
        assert await order(QUser.score.asc()) == ["Bob", "Dee", "Cid", "Fay", "Eve", "Ann"]
        assert await order(QUser.score.desc()) == ["Ann", "Eve", "Fay", "Cid", "Bob", "Dee"]
        # nulls= overrides
        assert await order(QUser.score.asc(nulls="last")) == [
            "Cid",
            "Fay",
            "Eve",
            "Ann",
            "Bob",
            "Dee",
        ]
        assert await order(QUser.score.desc(nulls="first")) == [
            "Bob",
            "Dee",
            "Ann",
            "Eve",
            "Fay",
            "Cid",
        ]
        assert await order(QUser.score.asc(nulls="first")) == [
            "Bob",
            "Dee",
            "Cid",
            "Fay",
            "Eve",
            "Ann",
        ]
        assert await order(QUser.score.desc(nulls="last")) == [
            "Ann",
            "Eve",
            "Fay",
            "Cid",
            "Bob",
            "Dee",
        ]
        with pytest.raises(ConfigurationError):
            QUser.score.asc(nulls="middle")

    # -- paging, distinct, first, find -------------------------------------------------------------
    async def test_range_limit_offset(self, db: Connection) -> None:
        await seed(db)
        q = db.select(QUser.name).order_by(QUser.name).scalars()
        assert await q.range(0, 2).collect() == ["Ann", "Bob"]
        assert await q.range(1, 3).collect() == ["Bob", "Cid"]
        assert await q.range(4, 100).collect() == ["Eve", "Fay"]
        assert await q.range(2, 2).collect() == []
        assert await q.range(10, 20).collect() == []
        assert await q.limit(2).collect() == ["Ann", "Bob"]
        assert await q.limit(0).collect() == []
        assert await q.offset(4).collect() == ["Eve", "Fay"]
        assert await q.offset(0).collect() == ALL_USER_NAMES
        assert await q.limit(2).offset(1).collect() == ["Bob", "Cid"]
        assert await q.offset(1).limit(2).collect() == ["Bob", "Cid"]
        models = await db.select(QUser).order_by(QUser.age).range(0, 2).collect()
        assert [u.name for u in models] == ["Bob", "Fay"]
        with pytest.raises(ConfigurationError):
            q.range(3, 1)
        with pytest.raises(ConfigurationError):
            q.limit(-1)

    async def test_first_and_distinct(self, db: Connection) -> None:
        d = await seed(db)
        first = await db.select(QUser).order_by(QUser.age.desc()).first()
        assert first == d.users["Cid"]
        assert await db.select(QUser).filter(QUser.age > 100).first() is None
        assert await db.select(QUser.name).filter(QUser.age > 100).first() is None
        assert await db.select(QUser.name, QUser.age).order_by(QUser.age).first() == ("Bob", 17)
        ages = db.select(QUser.age).distinct().order_by(QUser.age).scalars()
        assert await ages.collect() == [17, 22, 28, 31, 45]
        teams = await db.select(QUser.team_id).distinct().collect()
        assert sorted(teams, key=lambda t: (t[0] is not None, t[0] or 0)) == [
            (None,),
            (d.teams["core"].id,),
            (d.teams["ops"].id,),
        ]
        pairs = db.select(QUser.age, QUser.team_id).filter(QUser.age == 31).distinct()
        assert len(await pairs.collect()) == 2

    async def test_find_by_primary_key(self, db: Connection) -> None:
        d = await seed(db)
        ann = d.users["Ann"]
        found = await db.find(QUser, ann.id)
        assert isinstance(found, QUser)
        assert found == ann
        assert await db.find(QUser, 10**9) is None
        order = await db.find(QOrder, d.orders[2].id)
        assert order is not None
        assert order.amount == D("100.25")
        assert order.at == datetime.datetime(2024, 3, 10, 18, 45, 30, 123456)
        assert order.placed == datetime.date(2024, 3, 10)

    # -- typed parameters --------------------------------------------------------------------------
    async def test_date_datetime_decimal_parameters(self, db: Connection) -> None:
        d = await seed(db)
        o = [x.id for x in d.orders]
        ids = db.select(QOrder.id).order_by(QOrder.id).scalars()
        assert await ids.filter(QOrder.placed >= datetime.date(2024, 2, 1)).collect() == [
            o[1],
            o[2],
            o[3],
        ]
        assert await ids.filter(QOrder.placed == datetime.date(2024, 2, 29)).collect() == [o[3]]
        assert await ids.filter(QOrder.placed < datetime.date(2024, 2, 1)).collect() == [o[0]]
        dt = datetime.datetime
        assert await ids.filter(QOrder.at < dt(2024, 2, 1, 12, 0)).collect() == [o[0]]
        assert await ids.filter(QOrder.at <= dt(2024, 2, 1, 12, 0)).collect() == [o[0], o[1]]
        assert await ids.filter(QOrder.at > dt(2024, 2, 1, 12, 0)).collect() == [o[2], o[3]]
        exact = dt(2024, 3, 10, 18, 45, 30, 123456)
        assert await ids.filter(QOrder.at == exact).collect() == [o[2]]
        assert await ids.filter(QOrder.at.between(dt(2024, 2, 1), dt(2024, 3, 1))).collect() == [
            o[1],
            o[3],
        ]
        assert await ids.filter(QOrder.amount > D("10.00")).collect() == [o[0], o[2]]
        assert await ids.filter(QOrder.amount == D("10.00")).collect() == [o[1]]
        assert await ids.filter(QOrder.amount == D("10")).collect() == [o[1]]
        assert await ids.filter(QOrder.amount <= D("10")).collect() == [o[1], o[3]]
        assert await ids.filter(QOrder.amount.in_([D("5.75"), D("25.50")])).collect() == [
            o[0],
            o[3],
        ]
        # Decimal parameters compared with Decimal expressions (not just columns)
        assert await ids.filter(QOrder.amount * 2 > D("50")).collect() == [o[0], o[2]]
        assert await ids.filter(QOrder.amount + D("0.25") == D("6.00")).collect() == [o[3]]

    # -- subqueries and EXISTS ---------------------------------------------------------------------
    async def test_exists_and_not_exists_correlated(self, db: Connection) -> None:
        await seed(db)
        has_orders = ormer.exists(db.select(QOrder.id).filter(QOrder.user_id == QUser.id))
        assert await names(db, has_orders) == ["Ann", "Cid", "Dee"]
        no_orders = ormer.not_exists(db.select(QOrder).filter(QOrder.user_id == QUser.id))
        assert await names(db, no_orders) == ["Bob", "Eve", "Fay"]
        assert await names(db, ~has_orders) == ["Bob", "Eve", "Fay"]
        big = ormer.exists(
            db.select(QOrder.id).filter(QOrder.user_id == QUser.id, QOrder.amount > D("50"))
        )
        assert await names(db, big) == ["Cid"]
        assert await names(db, has_orders & (QUser.age < 30)) == ["Dee"]
        # two levels: teams having a member who has an order
        member_with_order = ormer.exists(
            db.select(QUser.id).filter(QUser.team_id == QTeam.id, has_orders)
        )
        teams = db.select(QTeam.name).filter(member_with_order).order_by(QTeam.name).scalars()
        assert await teams.collect() == ["core", "ops"]
        # an uncorrelated EXISTS is true or false for every row
        assert await names(db, ormer.exists(db.select(QOrder.id))) == ALL_USER_NAMES
        none = ormer.exists(db.select(QOrder.id).filter(QOrder.amount > D("1000")))
        assert await names(db, none) == []
        # EXISTS as a selected value
        flag = db.select(QUser.name, has_orders.label("has_orders")).order_by(QUser.name)
        assert await flag.collect() == [
            ("Ann", True),
            ("Bob", False),
            ("Cid", True),
            ("Dee", True),
            ("Eve", False),
            ("Fay", False),
        ]

    async def test_query_exists(self, db: Connection) -> None:
        await seed(db)
        assert await db.select(QOrder).filter(QOrder.amount > D("100")).exists() is True
        assert await db.select(QOrder).filter(QOrder.amount > D("1000")).exists() is False
        assert await db.select(QUser.name).filter(QUser.name == "Fay").exists() is True
        assert await db.select(QUser).order_by(QUser.name).exists() is True
        await fresh_tables(db, QWord)
        assert await db.select(QWord).exists() is False
        groups = db.select(QUser.team_id).group_by(QUser.team_id)
        assert await groups.having(func.count(QUser.id) > 2).exists() is True
        assert await groups.having(func.count(QUser.id) > 5).exists() is False
        assert await db.select(QUser.age).distinct().filter(QUser.age > 40).exists() is True

    async def test_scalar_subquery_value(self, db: Connection) -> None:
        await seed(db)
        oldest = db.select(func.max(QUser.age)).select_from(QUser)
        assert await names(db, QUser.age == oldest) == ["Cid"]
        avg_age = db.select(func.avg(QUser.age)).select_from(QUser)
        assert await names(db, QUser.age > avg_age) == ["Ann", "Cid", "Eve"]

    # -- joins -------------------------------------------------------------------------------------
    async def test_inner_join(self, db: Connection) -> None:
        d = await seed(db)
        rows = await (
            db.select(QUser, QTeam)
            .join(QTeam, QUser.team_id == QTeam.id)
            .order_by(QUser.name)
            .collect()
        )
        assert [(u.name, t.name) for u, t in rows] == [
            ("Ann", "core"),
            ("Bob", "core"),
            ("Cid", "ops"),
            ("Dee", "ops"),
            ("Fay", "core"),
        ]
        for user, team in rows:
            assert isinstance(user, QUser)
            assert isinstance(team, QTeam)
        assert rows[0] == (d.users["Ann"], d.teams["core"])
        joined = db.select(QUser, QTeam).join(QTeam, QUser.team_id == QTeam.id)
        assert await joined.count() == 5
        assert await joined.filter(QTeam.name == "ops").sum(QUser.age) == 45 + 28
        assert await joined.order_by(QUser.age).first() == (d.users["Bob"], d.teams["core"])
        # a join condition combining several predicates
        big = await (
            db.select(QUser.name, QOrder.amount)
            .join(QOrder, (QOrder.user_id == QUser.id) & (QOrder.amount > D("20")))
            .order_by(QOrder.amount)
            .collect()
        )
        assert big == [("Ann", D("25.50")), ("Cid", D("100.25"))]
        either = await (
            db.select(QUser.name, QOrder.amount)
            .join(
                QOrder,
                (QOrder.user_id == QUser.id)
                & ((QOrder.amount < D("6")) | (QOrder.amount > D("100"))),
            )
            .order_by(QUser.name)
            .collect()
        )
        assert either == [("Cid", D("100.25")), ("Dee", D("5.75"))]

    async def test_left_join(self, db: Connection) -> None:
        d = await seed(db)
        rows = await (
            db.select(QUser, QTeam)
            .left_join(QTeam, QUser.team_id == QTeam.id)
            .order_by(QUser.name)
            .collect()
        )
        assert [(u.name, t.name if t else None) for u, t in rows] == [
            ("Ann", "core"),
            ("Bob", "core"),
            ("Cid", "ops"),
            ("Dee", "ops"),
            ("Eve", None),
            ("Fay", "core"),
        ]
        eve = rows[4]
        assert eve == (d.users["Eve"], None)
        teams = await (
            db.select(QTeam, QUser)
            .left_join(QUser, QUser.team_id == QTeam.id)
            .filter(QUser.id.is_null())
            .collect()
        )
        assert teams == [(d.teams["idle"], None)]
        values = await (
            db.select(QTeam.name, QUser.name)
            .left_join(QUser, QUser.team_id == QTeam.id)
            .order_by(QTeam.name, QUser.name)
            .collect()
        )
        assert values == [
            ("core", "Ann"),
            ("core", "Bob"),
            ("core", "Fay"),
            ("idle", None),
            ("ops", "Cid"),
            ("ops", "Dee"),
        ]
        counts = await (
            db.select(QTeam.name, func.count(QUser.id))
            .left_join(QUser, QUser.team_id == QTeam.id)
            .group_by(QTeam.name)
            .order_by(QTeam.name)
            .collect()
        )
        assert counts == [("core", 3), ("idle", 0), ("ops", 2)]

    async def test_chained_and_six_way_join(self, db: Connection) -> None:
        d = await seed(db)
        three = await (
            db.select(QRegion.name, QTeam.name, QUser.name)
            .join(QTeam, QTeam.region_id == QRegion.id)
            .join(QUser, QUser.team_id == QTeam.id)
            .order_by(QUser.name)
            .collect()
        )
        assert three == [
            ("north", "core", "Ann"),
            ("north", "core", "Bob"),
            ("south", "ops", "Cid"),
            ("south", "ops", "Dee"),
            ("north", "core", "Fay"),
        ]
        six = await (
            db.select(QRegion, QTeam, QUser, QOrder, QLine, QProduct)
            .join(QTeam, QTeam.region_id == QRegion.id)
            .join(QUser, QUser.team_id == QTeam.id)
            .join(QOrder, QOrder.user_id == QUser.id)
            .join(QLine, QLine.order_id == QOrder.id)
            .join(QProduct, QProduct.id == QLine.product_id)
            .order_by(QLine.id)
            .collect()
        )
        assert len(six) == 3
        assert six[0] == (
            d.regions["north"],
            d.teams["core"],
            d.users["Ann"],
            d.orders[0],
            d.lines[0],
            d.products[0],
        )
        assert six[1] == (
            d.regions["north"],
            d.teams["core"],
            d.users["Ann"],
            d.orders[0],
            d.lines[1],
            d.products[1],
        )
        assert six[2] == (
            d.regions["south"],
            d.teams["ops"],
            d.users["Cid"],
            d.orders[2],
            d.lines[2],
            d.products[0],
        )
        per_region = await (
            db.select(QRegion.name, QProduct.name, func.sum(QLine.qty))
            .join(QTeam, QTeam.region_id == QRegion.id)
            .join(QUser, QUser.team_id == QTeam.id)
            .join(QOrder, QOrder.user_id == QUser.id)
            .join(QLine, QLine.order_id == QOrder.id)
            .join(QProduct, QProduct.id == QLine.product_id)
            .filter(QOrder.placed < datetime.date(2024, 12, 31))
            .group_by(QRegion.name, QProduct.name)
            .order_by(QRegion.name, QProduct.name)
            .collect()
        )
        assert per_region == [("north", "bolt", 2), ("north", "nut", 1), ("south", "bolt", 4)]

    async def test_aliased_self_join(self, db: Connection) -> None:
        await fresh_tables(db, QEmp)
        boss = QEmp(id=1, name="Boss", manager_id=None)
        mid = QEmp(id=2, name="Mid", manager_id=1)
        low = QEmp(id=3, name="Low", manager_id=2)
        other = QEmp(id=4, name="Other", manager_id=1)
        await db.insert([boss, mid, low, other])
        mgr = ormer.aliased(QEmp)
        pairs = await (
            db.select(QEmp.name, mgr.name)
            .join(mgr, QEmp.manager_id == mgr.id)
            .order_by(QEmp.id)
            .collect()
        )
        assert pairs == [("Mid", "Boss"), ("Low", "Mid"), ("Other", "Boss")]
        objects = await (
            db.select(QEmp, mgr)
            .left_join(mgr, QEmp.manager_id == mgr.id)
            .order_by(QEmp.id)
            .collect()
        )
        assert objects == [(boss, None), (mid, boss), (low, mid), (other, boss)]
        assert all(isinstance(e, QEmp) for pair in objects for e in pair if e is not None)
        under_boss = await (
            db.select(QEmp.name)
            .join(mgr, QEmp.manager_id == mgr.id)
            .filter(mgr.name == "Boss")
            .order_by(QEmp.name)
            .scalars()
            .collect()
        )
        assert under_boss == ["Mid", "Other"]
        grand = ormer.aliased(QEmp)
        chain = await (
            db.select(QEmp.name, mgr.name, grand.name)
            .join(mgr, QEmp.manager_id == mgr.id)
            .join(grand, mgr.manager_id == grand.id)
            .collect()
        )
        assert chain == [("Low", "Mid", "Boss")]

    # -- FROM inference ----------------------------------------------------------------------------
    async def test_select_from(self, db: Connection) -> None:
        await seed(db)
        with pytest.raises(ConfigurationError, match="select_from"):
            await db.select(func.count()).collect()
        with pytest.raises(ConfigurationError, match="select_from"):
            await db.select(func.count(QUser.id)).collect()
        with pytest.raises(ConfigurationError, match="select_from"):
            db.select(QUser.age + 1).sql()
        with pytest.raises(ConfigurationError, match="select_from"):
            await db.select(func.max(QUser.age).label("m")).first()
        assert await db.select(func.count(QUser.id)).select_from(QUser).collect() == [(6,)]
        older = db.select(QUser.age + 1).select_from(QUser).filter(QUser.name == "Bob")
        assert await older.collect() == [(18,)]
        # a labelled plain column is still a plain column
        lbl = await db.select(QUser.name.label("who")).filter(QUser.age == 17).collect()
        assert lbl == [("Bob",)]
        # select_from picks another table than the first column's
        per_team = await (
            db.select(QTeam.name, func.count(QUser.id))
            .select_from(QUser)
            .join(QTeam, QUser.team_id == QTeam.id)
            .group_by(QTeam.name)
            .order_by(QTeam.name)
            .collect()
        )
        assert per_team == [("core", 3), ("ops", 2)]

    # -- streaming ---------------------------------------------------------------------------------
    async def test_stream(self, db: Connection) -> None:
        await fresh_tables(db, QSeq)
        await db.insert([QSeq(id=i, v=1000 - i) for i in range(1, 251)])
        for batch in (1, 7, 50, 64, 250, 1000):
            got = [s async for s in db.select(QSeq).order_by(QSeq.id).stream(batch=batch)]
            assert [s.id for s in got] == list(range(1, 251)), batch
            assert all(isinstance(s, QSeq) and s.v == 1000 - s.id for s in got)
        values = [v async for v in db.select(QSeq.v).order_by(QSeq.v).scalars().stream(batch=33)]
        assert values == list(range(750, 1000))
        tuples = [
            t
            async for t in db.select(QSeq.id, QSeq.v)
            .filter(QSeq.id <= 3)
            .order_by(QSeq.id)
            .stream(batch=2)
        ]
        assert tuples == [(1, 999), (2, 998), (3, 997)]
        empty = [s async for s in db.select(QSeq).filter(QSeq.id > 10_000).stream(batch=10)]
        assert empty == []
        default = [s async for s in db.select(QSeq).order_by(QSeq.id.desc()).stream()]
        assert [s.id for s in default] == list(range(250, 0, -1))
        with pytest.raises(ConfigurationError):
            async for _ in db.select(QSeq).stream(batch=0):
                pass

    # -- SQL text, caching, generative builders ----------------------------------------------------
    async def test_sql_binds_values(self, db: Connection) -> None:
        await seed(db)
        secret = "Zed'q-7f3a9"
        q = db.select(QUser).filter(QUser.name == secret, QUser.age > 987654).range(3, 5)
        sql, params = q.sql()
        assert isinstance(sql, str)
        assert isinstance(params, list)
        assert secret not in sql
        assert "Zed" not in sql
        assert "987654" not in sql
        assert secret in params
        assert 987654 in params
        assert db.dialect.placeholder(1) in sql
        assert db.dialect.quote("suite_queries_user") in sql
        assert await q.collect() == []
        # the same query, run, finds what its parameters say
        q2 = db.select(QUser.name).filter(QUser.name == "Ann", QUser.age > 30)
        sql2, params2 = q2.sql()
        assert "Ann" not in sql2
        assert "Ann" in params2
        assert await q2.scalars().collect() == ["Ann"]
        # values inside IN, LIKE, BETWEEN and CASE are bound too
        q3 = (
            db.select(func.case((QUser.age > 424242, "lit-case"), else_="lit-else"))
            .select_from(QUser)
            .filter(
                QUser.name.in_(["lit-in-1", "Ann"]),
                QUser.name.like("lit-like%")
                | QUser.age.between(515151, 616161)
                | (QUser.age == 31),
            )
        )
        sql3, params3 = q3.sql()
        for literal in ("lit-case", "lit-else", "lit-in-1", "lit-like", "424242", "515151"):
            assert literal not in sql3
        assert {"lit-case", "lit-else", "lit-in-1", "lit-like%", 424242, 515151} <= set(params3)
        assert await q3.scalars().collect() == ["lit-else"]

    async def test_statement_cache_reuses_shape(self, db: Connection) -> None:
        await seed(db)
        cache = db.dialect.cache

        def query(age: int) -> Any:
            return db.select(QUser.name).filter(QUser.age == age).order_by(QUser.name).scalars()

        assert await query(31).collect() == ["Ann", "Eve"]
        hits, misses = cache.hits, cache.misses
        assert await query(17).collect() == ["Bob"]
        assert cache.hits == hits + 1
        assert cache.misses == misses
        assert await query(45).collect() == ["Cid"]
        assert cache.hits == hits + 2
        assert await query(31).collect() == ["Ann", "Eve"]
        # same shape with other LIMIT/OFFSET values
        page = db.select(QUser.name).order_by(QUser.name).scalars()
        assert await page.range(1, 3).collect() == ["Bob", "Cid"]
        hits = cache.hits
        assert await page.range(2, 5).collect() == ["Cid", "Dee", "Eve"]
        assert cache.hits == hits + 1
        # same shape with Decimal/date values
        day = db.select(QOrder.amount).filter(QOrder.placed == datetime.date(2024, 1, 15))
        assert await day.scalars().collect() == [D("25.50")]
        hits = cache.hits
        day2 = db.select(QOrder.amount).filter(QOrder.placed == datetime.date(2024, 2, 29))
        assert await day2.scalars().collect() == [D("5.75")]
        assert cache.hits == hits + 1

    async def test_generative_builders_do_not_leak_state(self, db: Connection) -> None:
        await seed(db)
        base = db.select(QUser.name).order_by(QUser.name).scalars()
        page1 = base.range(0, 2)
        page2 = base.range(2, 4)
        adults = base.filter(QUser.age >= 18)
        limited = base.limit(1)
        desc = base.order_by(QUser.age.desc())
        assert await page2.collect() == ["Cid", "Dee"]
        assert await page1.collect() == ["Ann", "Bob"]
        assert await base.collect() == ALL_USER_NAMES
        assert await adults.collect() == ["Ann", "Cid", "Dee", "Eve", "Fay"]
        assert await adults.range(1, 2).collect() == ["Cid"]
        assert await limited.collect() == ["Ann"]
        assert await desc.collect() == ALL_USER_NAMES  # name is still the first key
        assert await base.count() == 6
        assert await page1.collect() == ["Ann", "Bob"]
        assert await base.first() == "Ann"
        assert await page2.first() == "Cid"  # first() keeps the offset
        assert await base.collect() == ALL_USER_NAMES
        joined = db.select(QUser.name).order_by(QUser.name)
        with_team = joined.join(QTeam, QUser.team_id == QTeam.id)
        assert len(await with_team.collect()) == 5
        assert len(await joined.collect()) == 6
        grouped = db.select(QUser.team_id).group_by(QUser.team_id)
        assert len(await grouped.having(func.count(QUser.id) > 2).collect()) == 1
        assert len(await grouped.collect()) == 3

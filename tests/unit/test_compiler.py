"""SQL text per dialect, without a database.

Queries are built on an executor that only has a ``dialect`` attribute: the
``sql()`` methods compile and bind, they never run anything. Two dialects:

* the real SQLite dialect, from the plugin registry;
* ``ServerDialect``, defined here, which overrides what a server dialect would
  (``$n`` placeholders, backtick quoting, no NULLS FIRST/LAST syntax with NULLs
  sorting last, ``char_length``, ``ILIKE``, ``OFFSET .. FETCH``) to prove that
  the single core compiler defers to its dialect for each of them.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import uuid
from typing import Any, ClassVar

import pytest

import ormer.plugins
from ormer import (
    ConfigurationError,
    Model,
    NotSupportedError,
    ValidationError,
    aliased,
    exists,
    field,
    foreign_key,
    func,
    index,
    not_exists,
    primary,
    unique,
)
from ormer.compiler import SQLCompiler
from ormer.dialect import Dialect
from ormer.model import table_of
from ormer.query import Delete, Select, Update
from ormer.statements import InsertStmt
from ormer.types import ColumnType, Kind


# --- test dialects -----
class ServerCompiler(SQLCompiler):
    function_names: ClassVar[dict[str, str]] = {"length": "char_length"}

    def ilike(self, operand: str, pattern: str, negate: bool) -> str:
        return f"{operand} {'NOT ILIKE' if negate else 'ILIKE'} {pattern}"

    def limit_clause(self, limit: str | None, offset: str | None) -> str:
        parts = []
        if offset is not None:
            parts.append(f"OFFSET {offset} ROWS")
        if limit is not None:
            parts.append(f"FETCH NEXT {limit} ROWS ONLY")
        return " ".join(parts)


class ServerDialect(Dialect):
    name = "testserver"
    compiler_class = ServerCompiler
    supports_nulls_order = False
    nulls_first_ascending = False
    paramstyle = "numeric"

    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    def placeholder(self, position: int) -> str:
        return f"${position}"


class NullsLastDialect(Dialect):
    """Has NULLS FIRST/LAST syntax, but NULLs sort last ascending (like PostgreSQL)."""

    name = "nullslast"
    nulls_first_ascending = False


class QmarkNoNullsOrderDialect(Dialect):
    """Positional ``?`` placeholders and NULL ordering emulated (one value per mark)."""

    name = "qmarknonulls"
    supports_nulls_order = False
    nulls_first_ascending = False


class CastingDialect(ServerDialect):
    """A server that needs typed placeholders."""

    def param_sql(self, placeholder: str, type_: ColumnType | None) -> str:
        if type_ is not None and type_.kind is Kind.INT:
            return f"{placeholder}::int8"
        return placeholder


class NoReturningDialect(Dialect):
    name = "noreturning"
    supports_returning = False


class _OnlyDialect:
    """Satisfies what ``sql()`` needs of an Executor: a ``dialect``. Runs nothing."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect


# --- models -----
class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Team(Model, table="teams"):
    id: int = primary(auto=True)
    name: str = unique(max_length=50)


class User(Model, table="users"):
    id: int = primary(auto=True)
    name: str = unique()
    age: int = index(default=0)
    email: str | None = None
    score: float | None = None
    team_id: int | None = foreign_key("teams.id", on_delete="cascade")


class Membership(Model):
    team_id: int = primary()
    user_id: int = primary()
    role: str = "member"


class Article(Model, table="articles"):
    id: int = primary(auto=True)
    slug: str = field(max_length=80)
    title: str = unique(group="title_lang")
    lang: str = unique(group="title_lang", max_length=5)
    author_id: int | None = foreign_key("users.id", on_delete="set null")
    team_id: int = foreign_key(Team.id, on_delete="cascade")
    created: datetime.datetime = index(group="by_date")
    day: datetime.date = index(group="by_date")
    rating: float = index()
    price: decimal.Decimal = field(max_digits=10, decimal_places=2)
    data: dict[str, Any]
    tags: list[str]
    blob: bytes | None
    uid: uuid.UUID
    color: Color
    priority: Priority
    active: bool
    at: datetime.time
    stamp: datetime.datetime = field(timezone=True)


USER_COLS = (
    '"users"."id", "users"."name", "users"."age", "users"."email", "users"."score", '
    '"users"."team_id"'
)
SELECT_USERS = f'SELECT {USER_COLS} FROM "users"'
S_USER_COLS = USER_COLS.replace('"', "`")
S_SELECT_USERS = SELECT_USERS.replace('"', "`")


# --- helpers -----
@pytest.fixture
def sqlite() -> Dialect:
    return ormer.plugins.get_dialect("sqlite")


@pytest.fixture
def server() -> Dialect:
    return ServerDialect()


def check_placeholders(dialect: Dialect, sql: str, params: list[Any]) -> None:
    """Every placeholder has exactly one value (and values never sit in the text)."""
    if dialect.placeholder(1) == "?":
        assert sql.count("?") == len(params), (sql, params)
    else:
        numbers = {int(n) for n in re.findall(r"\$(\d+)", sql)}
        assert numbers == set(range(1, len(params) + 1)), (sql, params)


def sel(dialect: Dialect, *items: Any) -> Select[Any]:
    return Select(_OnlyDialect(dialect), items)  # type: ignore[arg-type]


def sql_of(dialect: Dialect, query: Any) -> tuple[str, list[Any]]:
    sql, params = query.sql()
    check_placeholders(dialect, sql, params)
    return sql, params


def where(dialect: Dialect, *conditions: Any) -> tuple[str, list[Any]]:
    """The WHERE clause (without the leading select) of ``select(User).filter(...)``."""
    sql, params = sql_of(dialect, sel(dialect, User).filter(*conditions))
    prefix = (SELECT_USERS if dialect.quote("x") == '"x"' else S_SELECT_USERS) + " WHERE "
    assert sql.startswith(prefix), sql
    return sql[len(prefix) :], params


# --- SELECT basics -----
def test_select_model_lists_every_column_qualified(sqlite: Dialect, server: Dialect) -> None:
    assert sql_of(sqlite, sel(sqlite, User)) == (SELECT_USERS, [])
    assert sql_of(server, sel(server, User)) == (S_SELECT_USERS, [])


def test_select_columns_from_first_columns_model(sqlite: Dialect) -> None:
    assert sql_of(sqlite, sel(sqlite, User.name, User.age)) == (
        'SELECT "users"."name", "users"."age" FROM "users"',
        [],
    )


def test_select_two_models_without_join_is_a_cross_join(sqlite: Dialect) -> None:
    sql, _ = sql_of(sqlite, sel(sqlite, User, Team))
    assert sql == f'SELECT {USER_COLS}, "teams"."id", "teams"."name" FROM "users", "teams"'


def test_expression_first_needs_select_from(sqlite: Dialect) -> None:
    with pytest.raises(ConfigurationError, match="select_from"):
        sel(sqlite, func.count()).sql()
    assert sql_of(sqlite, sel(sqlite, func.count()).select_from(User)) == (
        'SELECT COUNT(*) FROM "users"',
        [],
    )


# --- operators -----
@pytest.mark.parametrize(
    ("make", "expected_sql", "expected_params"),
    [
        (lambda: User.age == 3, '"users"."age" = ?', [3]),
        (lambda: User.age != 3, '"users"."age" <> ?', [3]),
        (lambda: User.age < 3, '"users"."age" < ?', [3]),
        (lambda: User.age <= 3, '"users"."age" <= ?', [3]),
        (lambda: User.age > 3, '"users"."age" > ?', [3]),
        (lambda: User.age >= 3, '"users"."age" >= ?', [3]),
        (lambda: 3 < User.age, '"users"."age" > ?', [3]),  # noqa: SIM300 - reflected
        (lambda: User.age == User.id, '"users"."age" = "users"."id"', []),
        (lambda: User.email == None, '"users"."email" IS NULL', []),  # noqa: E711
        (lambda: User.email != None, '"users"."email" IS NOT NULL', []),  # noqa: E711
        (lambda: User.email.is_null(), '"users"."email" IS NULL', []),
        (lambda: User.email.is_not_null(), '"users"."email" IS NOT NULL', []),
        (lambda: User.id.in_([1, 2, 3]), '"users"."id" IN (?, ?, ?)', [1, 2, 3]),
        (lambda: User.id.not_in((4, 5)), '"users"."id" NOT IN (?, ?)', [4, 5]),
        (lambda: User.id.in_([]), "(1 = 0)", []),
        (lambda: User.id.not_in([]), "(1 = 1)", []),
        (lambda: User.id.in_(x for x in range(2)), '"users"."id" IN (?, ?)', [0, 1]),
        (lambda: User.name.like("A%"), '"users"."name" LIKE ?', ["A%"]),
        (lambda: User.name.not_like("A%"), '"users"."name" NOT LIKE ?', ["A%"]),
        (
            lambda: User.name.like("50!%%", escape="!"),
            '"users"."name" LIKE ? ESCAPE \'!\'',
            ["50!%%"],
        ),
        (
            lambda: User.name.like("x'%", escape="'"),
            "\"users\".\"name\" LIKE ? ESCAPE ''''",
            ["x'%"],
        ),
        (lambda: User.name.ilike("a%"), 'LOWER("users"."name") LIKE LOWER(?)', ["a%"]),
        (lambda: User.age.between(18, 65), '"users"."age" BETWEEN ? AND ?', [18, 65]),
        (
            lambda: (User.age > 1) & (User.age < 5) & (User.name != "x"),
            '("users"."age" > ?) AND ("users"."age" < ?) AND ("users"."name" <> ?)',
            [1, 5, "x"],
        ),
        (
            lambda: ((User.age > 1) | (User.name == "y")) & User.email.is_null(),
            '(("users"."age" > ?) OR ("users"."name" = ?)) AND ("users"."email" IS NULL)',
            [1, "y"],
        ),
        (
            lambda: ~((User.age > 1) | User.email.is_null()),
            'NOT (("users"."age" > ?) OR ("users"."email" IS NULL))',
            [1],
        ),
    ],
)
def test_filter_operators_sqlite(
    sqlite: Dialect, make: Any, expected_sql: str, expected_params: list[Any]
) -> None:
    assert where(sqlite, make()) == (expected_sql, expected_params)


def test_several_filters_are_anded(sqlite: Dialect) -> None:
    q = sel(sqlite, User).filter(User.age >= 18, User.name.like("A%")).filter(User.id != 7)
    assert sql_of(sqlite, q) == (
        f'{SELECT_USERS} WHERE ("users"."age" >= ?) AND ("users"."name" LIKE ?) '
        'AND ("users"."id" <> ?)',
        [18, "A%", 7],
    )


def test_empty_in_inside_a_conjunction(sqlite: Dialect) -> None:
    sql, params = where(sqlite, User.id.not_in([]), User.id.in_([1, 2]))
    assert sql == '((1 = 1)) AND ("users"."id" IN (?, ?))'
    assert params == [1, 2]


def test_like_escape_must_be_one_character() -> None:
    with pytest.raises(ConfigurationError, match="single character"):
        User.name.like("x", escape="!!")


def test_ilike_and_like_with_overriding_dialect(server: Dialect) -> None:
    assert where(server, User.name.ilike("a%")) == ("`users`.`name` ILIKE $1", ["a%"])
    assert where(server, User.name.ilike("a!%", escape="!")) == (
        "`users`.`name` ILIKE $1 ESCAPE '!'",
        ["a!%"],
    )
    assert where(server, User.name.like("a%")) == ("`users`.`name` LIKE $1", ["a%"])


def test_server_placeholders_are_numbered_in_text_order(server: Dialect) -> None:
    cond = (User.age.between(1, 9)) & User.id.in_([5, 6]) & (User.name == "n")
    assert where(server, cond) == (
        "(`users`.`age` BETWEEN $1 AND $2) AND (`users`.`id` IN ($3, $4)) "
        "AND (`users`.`name` = $5)",
        [1, 9, 5, 6, "n"],
    )


def test_dialect_param_sql_adds_casts(server: Dialect) -> None:
    d = CastingDialect()
    sql, params = sql_of(d, sel(d, User).filter(User.age > 3, User.name == "x"))
    assert sql == f"{S_SELECT_USERS} WHERE (`users`.`age` > $1::int8) AND (`users`.`name` = $2)"
    assert params == [3, "x"]


def test_expressions_have_no_truth_value() -> None:
    with pytest.raises(TypeError, match="truth value"):
        bool(User.age == 1)
    with pytest.raises(TypeError):
        _ = (User.age > 1) and (User.age < 5)


# --- values never in SQL text -----
def test_values_never_appear_in_sql(sqlite: Dialect, server: Dialect) -> None:
    evil = "Robert'); DROP TABLE users;--"
    number = 987654321
    when = datetime.date(2031, 12, 24)
    for d in (sqlite, server):
        q = (
            sel(d, User.name, (User.age + number).label("shifted"))
            .filter(
                (User.name == evil)
                | User.name.like(evil)
                | User.name.ilike(evil)
                | User.name.in_([evil, "zz-in"])
                | User.age.between(number, number + 1)
                | (func.coalesce(User.email, "zz-coalesce") == "zz-cmp"),
                func.case((User.age > 55555, "zz-then"), else_="zz-else") != "zz-case",
            )
            .having(func.count() > 77777)
            .group_by(User.name)
            .range(3333, 4444)
        )
        sql, params = sql_of(d, q)
        for value in (evil, str(number), "zz-", "55555", "77777", "3333", "1111", "DROP"):
            assert value not in sql
        for value in (evil, number, 1111, 3333):
            assert value in params
        u = Update(_OnlyDialect(d), User).filter(User.name == evil).set(User.email, evil)  # type: ignore[arg-type]
        usql, uparams = sql_of(d, u)
        assert evil not in usql
        assert uparams == [evil, evil]
        dsql, dparams = sql_of(d, Delete(_OnlyDialect(d), User).filter(User.email == evil))  # type: ignore[arg-type]
        assert evil not in dsql
        assert dparams == [evil]
        # dates are parameters too
        asql, aparams = sql_of(d, sel(d, Article.id).filter(Article.day > when))
        assert "2031" not in asql
        assert aparams == [when if d is server else "2031-12-24"]


# --- arithmetic -----
def test_arithmetic_operators(sqlite: Dialect) -> None:
    sql, params = where(sqlite, User.age % 2 == 0, -User.age < 3, 10 * User.age + 1 >= 2)
    assert sql == (
        '(("users"."age" % ?) = ?) AND ((? - "users"."age") < ?) '
        'AND (((? * "users"."age") + ?) >= ?)'
    )
    assert params == [2, 0, 0, 3, 10, 1, 2]
    q = sel(sqlite, User.age - 1, 1 - User.age, User.age * User.id).select_from(User)
    assert sql_of(sqlite, q) == (
        'SELECT "users"."age" - ?, ? - "users"."age", "users"."age" * "users"."id" FROM "users"',
        [1, 1],
    )


def test_true_division_casts_integers(sqlite: Dialect, server: Dialect) -> None:
    assert sql_of(sqlite, sel(sqlite, User.age / 2).select_from(User)) == (
        'SELECT CAST("users"."age" AS REAL) / ? FROM "users"',
        [2],
    )
    assert sql_of(sqlite, sel(sqlite, 10 / User.age).select_from(User)) == (
        'SELECT CAST(? AS REAL) / "users"."age" FROM "users"',
        [10],
    )
    # the cast type is the dialect's float type name
    assert sql_of(server, sel(server, User.age / User.id).select_from(User)) == (
        "SELECT CAST(`users`.`age` AS DOUBLE PRECISION) / `users`.`id` FROM `users`",
        [],
    )
    # a float operand needs no cast
    assert sql_of(sqlite, sel(sqlite, User.score / 2).select_from(User)) == (
        'SELECT "users"."score" / ? FROM "users"',
        [2],
    )
    assert (User.age / 2).type.kind is Kind.FLOAT  # type: ignore[union-attr]


def test_floor_division_formula_binds_every_placeholder(sqlite: Dialect, server: Dialect) -> None:
    # SQL's integer / and % truncate toward zero; Python's // floors: a // b is
    # a / b, minus 1 where a % b and b differ in sign (no intermediate value can
    # overflow: 2**63-1 // -2 fits). Each occurrence is its own placeholder.
    assert sql_of(sqlite, sel(sqlite, User.age // 2).select_from(User)) == (
        'SELECT ("users"."age" / ? - CASE WHEN ("users"."age" % ? < 0 AND ? > 0) '
        'OR ("users"."age" % ? > 0 AND ? < 0) THEN 1 ELSE 0 END) FROM "users"',
        [2, 2, 2, 2, 2],
    )
    assert sql_of(server, sel(server, (User.age + 1) // User.id).select_from(User)) == (
        "SELECT ((`users`.`age` + $1) / `users`.`id` - CASE WHEN "
        "((`users`.`age` + $2) % `users`.`id` < 0 AND `users`.`id` > 0) OR "
        "((`users`.`age` + $3) % `users`.`id` > 0 AND `users`.`id` < 0) THEN 1 ELSE 0 END) "
        "FROM `users`",
        [1, 1, 1],
    )
    assert sql_of(sqlite, sel(sqlite, User.score // 2).select_from(User)) == (
        'SELECT FLOOR("users"."score" / ?) FROM "users"',
        [2],
    )
    assert (User.age // 2).type.kind is Kind.INT  # type: ignore[union-attr]


# --- functions, case, labels -----
def test_functions_and_aggregates(sqlite: Dialect) -> None:
    q = sel(
        sqlite,
        func.count(),
        func.count(User.email),
        func.count_distinct(User.age),
        func.sum(User.age),
        func.avg(User.age),
        func.min(User.name),
        func.max(User.age),
    ).select_from(User)
    assert sql_of(sqlite, q) == (
        'SELECT COUNT(*), COUNT("users"."email"), COUNT(DISTINCT "users"."age"), '
        'SUM("users"."age"), AVG("users"."age"), MIN("users"."name"), MAX("users"."age") '
        'FROM "users"',
        [],
    )
    q = sel(
        sqlite,
        func.lower(User.name),
        func.upper(User.name),
        func.length(User.name),
        func.abs(User.age - 40),
        func.coalesce(User.email, "none"),
    ).select_from(User)
    assert sql_of(sqlite, q) == (
        'SELECT LOWER("users"."name"), UPPER("users"."name"), LENGTH("users"."name"), '
        'ABS("users"."age" - ?), COALESCE("users"."email", ?) FROM "users"',
        [40, "none"],
    )


def test_dialect_renames_functions(server: Dialect) -> None:
    assert where(server, func.length(User.name) > 3) == ("CHAR_LENGTH(`users`.`name`) > $1", [3])


def test_case(sqlite: Dialect) -> None:
    expr = func.case((User.age < 18, "minor"), (User.age >= 65, "senior"), else_="adult")
    assert sql_of(sqlite, sel(sqlite, expr).select_from(User)) == (
        'SELECT CASE WHEN "users"."age" < ? THEN ? WHEN "users"."age" >= ? THEN ? '
        'ELSE ? END FROM "users"',
        [18, "minor", 65, "senior", "adult"],
    )
    no_else = func.sum(func.case((User.email.is_null(), 1)))
    assert sql_of(sqlite, sel(sqlite, no_else).select_from(User)) == (
        'SELECT SUM(CASE WHEN "users"."email" IS NULL THEN ? END) FROM "users"',
        [1],
    )


def test_label_and_order_by_label(sqlite: Dialect, server: Dialect) -> None:
    doubled = (User.age * 2).label("doubled")
    assert sql_of(sqlite, sel(sqlite, User.name, doubled).order_by(doubled.desc())) == (
        'SELECT "users"."name", "users"."age" * ? AS "doubled" FROM "users" '
        'ORDER BY "doubled" DESC',
        [2],
    )
    n = func.count(User.id).label("n")
    q = sel(server, User.team_id, n).group_by(User.team_id).having(n > 1).order_by(n)
    assert sql_of(server, q) == (
        "SELECT `users`.`team_id`, COUNT(`users`.`id`) AS `n` FROM `users` "
        "GROUP BY `users`.`team_id` HAVING COUNT(`users`.`id`) > $1 ORDER BY `n` ASC",
        [1],
    )
    # a label that is not in the select list orders by its expression
    other = (User.age + 1).label("other")
    assert sql_of(sqlite, sel(sqlite, User.name).order_by(other)) == (
        'SELECT "users"."name" FROM "users" ORDER BY "users"."age" + ? ASC',
        [1],
    )


def test_label_names_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="label"):
        User.age.label('x"; DROP TABLE users')


# --- ORDER BY and NULL placement -----
def test_order_by_sqlite_nulls_default_matches_pinned_placement(sqlite: Dialect) -> None:
    # ormer pins NULLs first ascending, last descending: SQLite's own default.
    q = sel(sqlite, User.name).order_by(User.email, User.email.desc(), User.name.desc())
    assert sql_of(sqlite, q) == (
        'SELECT "users"."name" FROM "users" ORDER BY "users"."email" ASC, '
        '"users"."email" DESC, "users"."name" DESC',
        [],
    )


def test_order_by_explicit_nulls(sqlite: Dialect) -> None:
    q = sel(sqlite, User.name).order_by(User.email.asc(nulls="last"), User.age.desc(nulls="first"))
    assert sql_of(sqlite, q) == (
        'SELECT "users"."name" FROM "users" ORDER BY "users"."email" ASC NULLS LAST, '
        '"users"."age" DESC NULLS FIRST',
        [],
    )
    with pytest.raises(ConfigurationError):
        User.email.asc(nulls="middle")


def test_order_by_nulls_explicit_when_dialect_default_differs() -> None:
    d = NullsLastDialect()
    q = sel(d, User.name).order_by(User.email, User.email.desc(), User.age, User.age.desc())
    assert sql_of(d, q) == (
        'SELECT "users"."name" FROM "users" ORDER BY "users"."email" ASC NULLS FIRST, '
        '"users"."email" DESC NULLS LAST, "users"."age" ASC, "users"."age" DESC',
        [],
    )


def test_order_by_nulls_emulated_without_syntax(server: Dialect) -> None:
    q = sel(server, User.name).order_by(User.email, User.score.desc(), User.age.desc())
    assert sql_of(server, q) == (
        "SELECT `users`.`name` FROM `users` ORDER BY "
        "CASE WHEN `users`.`email` IS NULL THEN 0 ELSE 1 END ASC, `users`.`email` ASC, "
        "CASE WHEN `users`.`score` IS NULL THEN 0 ELSE 1 END DESC, `users`.`score` DESC, "
        "`users`.`age` DESC",
        [],
    )
    q = sel(server, User.name).order_by(User.age.asc(nulls="last"))
    assert sql_of(server, q)[0].endswith(
        "ORDER BY CASE WHEN `users`.`age` IS NULL THEN 0 ELSE 1 END DESC, `users`.`age` ASC"
    )


def test_emulated_null_order_binds_parameters_twice() -> None:
    d = QmarkNoNullsOrderDialect()
    q = sel(d, User.name).order_by(func.coalesce(User.email, "zz"))
    assert sql_of(d, q) == (
        'SELECT "users"."name" FROM "users" ORDER BY '
        'CASE WHEN COALESCE("users"."email", ?) IS NULL THEN 0 ELSE 1 END ASC, '
        'COALESCE("users"."email", ?) ASC',
        ["zz", "zz"],
    )


# --- joins and subqueries -----
def test_join_and_left_join(sqlite: Dialect) -> None:
    team_cols = '"teams"."id", "teams"."name"'
    q = sel(sqlite, User, Team).join(Team, User.team_id == Team.id)
    assert sql_of(sqlite, q) == (
        f'SELECT {USER_COLS}, {team_cols} FROM "users" JOIN "teams" ON "users"."team_id" = '
        '"teams"."id"',
        [],
    )
    q = sel(sqlite, User, Team).left_join(Team, (User.team_id == Team.id) & (Team.name != "x"))
    assert sql_of(sqlite, q) == (
        f'SELECT {USER_COLS}, {team_cols} FROM "users" LEFT JOIN "teams" ON '
        '("users"."team_id" = "teams"."id") AND ("teams"."name" <> ?)',
        ["x"],
    )


def test_chained_joins_with_filters_bind_in_order(server: Dialect) -> None:
    q = (
        sel(server, Membership.role, User.name, Team.name)
        .join(User, (Membership.user_id == User.id) & (User.age > 20))
        .join(Team, (Membership.team_id == Team.id) & (Team.name != "t"))
        .filter(Membership.role == "admin")
    )
    assert sql_of(server, q) == (
        "SELECT `membership`.`role`, `users`.`name`, `teams`.`name` FROM `membership` "
        "JOIN `users` ON (`membership`.`user_id` = `users`.`id`) AND (`users`.`age` > $1) "
        "JOIN `teams` ON (`membership`.`team_id` = `teams`.`id`) AND (`teams`.`name` <> $2) "
        "WHERE `membership`.`role` = $3",
        [20, "t", "admin"],
    )


def test_aliased_self_join(sqlite: Dialect) -> None:
    boss = aliased(User, "boss")
    q = sel(sqlite, User.name, boss.name).join(boss, User.team_id == boss.id)
    assert sql_of(sqlite, q) == (
        'SELECT "users"."name", "boss"."name" FROM "users" JOIN "users" AS "boss" '
        'ON "users"."team_id" = "boss"."id"',
        [],
    )
    a, b = aliased(User, "a"), aliased(User, "b")
    q = sel(sqlite, a.name, b.name).left_join(b, a.id == b.team_id).filter(b.age > 1)
    assert sql_of(sqlite, q) == (
        'SELECT "a"."name", "b"."name" FROM "users" AS "a" LEFT JOIN "users" AS "b" '
        'ON "a"."id" = "b"."team_id" WHERE "b"."age" > ?',
        [1],
    )


def test_in_subquery(sqlite: Dialect, server: Dialect) -> None:
    sub = sel(sqlite, Team.id).filter(Team.name.like("a%"))
    assert where(sqlite, User.team_id.in_(sub)) == (
        '"users"."team_id" IN (SELECT "teams"."id" FROM "teams" WHERE "teams"."name" LIKE ?)',
        ["a%"],
    )
    assert where(sqlite, User.team_id.not_in(sub)) == (
        '"users"."team_id" NOT IN (SELECT "teams"."id" FROM "teams" WHERE "teams"."name" LIKE ?)',
        ["a%"],
    )
    # numbering continues through the subquery; its LIMIT binds where it appears
    inner = sel(server, Team.id).filter(Team.name == "x").limit(5)
    q = sel(server, User).filter(User.age > 1, User.team_id.in_(inner)).limit(10)
    assert sql_of(server, q) == (
        f"{S_SELECT_USERS} WHERE (`users`.`age` > $1) AND (`users`.`team_id` IN "
        "(SELECT `teams`.`id` FROM `teams` WHERE `teams`.`name` = $2 FETCH NEXT $3 ROWS ONLY)) "
        "FETCH NEXT $4 ROWS ONLY",
        [1, "x", 5, 10],
    )


def test_scalar_subquery_comparison(sqlite: Dialect) -> None:
    avg_age = sel(sqlite, func.avg(User.age)).select_from(User)
    assert where(sqlite, User.age > avg_age) == (
        '"users"."age" > (SELECT AVG("users"."age") FROM "users")',
        [],
    )


def test_exists_correlates_with_outer_model(sqlite: Dialect) -> None:
    sub = sel(sqlite, User.id).filter(User.team_id == Team.id, User.age > 30)
    q = sel(sqlite, Team).filter(exists(sub))
    # "teams" is the outer query's table: it is not added to the subquery's FROM
    assert sql_of(sqlite, q) == (
        'SELECT "teams"."id", "teams"."name" FROM "teams" WHERE EXISTS (SELECT "users"."id" '
        'FROM "users" WHERE ("users"."team_id" = "teams"."id") AND ("users"."age" > ?))',
        [30],
    )
    q = sel(sqlite, Team.name).filter(not_exists(sel(sqlite, User).filter(User.team_id == Team.id)))
    assert sql_of(sqlite, q) == (
        'SELECT "teams"."name" FROM "teams" WHERE NOT EXISTS (SELECT '
        f'{USER_COLS} FROM "users" WHERE "users"."team_id" = "teams"."id")',
        [],
    )
    with pytest.raises(ConfigurationError):
        exists(User.id)


# --- grouping, ranges, distinct -----
def test_group_by_having(sqlite: Dialect) -> None:
    q = (
        sel(sqlite, User.team_id, func.count(User.id))
        .filter(User.age > 10)
        .group_by(User.team_id)
        .having(func.count(User.id) > 2, func.max(User.age) < 90)
    )
    assert sql_of(sqlite, q) == (
        'SELECT "users"."team_id", COUNT("users"."id") FROM "users" WHERE "users"."age" > ? '
        'GROUP BY "users"."team_id" HAVING (COUNT("users"."id") > ?) AND '
        '(MAX("users"."age") < ?)',
        [10, 2, 90],
    )


def test_range_limit_offset_sqlite(sqlite: Dialect) -> None:
    base = sel(sqlite, User.id)
    prefix = 'SELECT "users"."id" FROM "users"'
    assert sql_of(sqlite, base.range(5, 15)) == (f"{prefix} LIMIT ? OFFSET ?", [10, 5])
    assert sql_of(sqlite, base.range(0, 10)) == (f"{prefix} LIMIT ?", [10])
    assert sql_of(sqlite, base.limit(3)) == (f"{prefix} LIMIT ?", [3])
    assert sql_of(sqlite, base.limit(0)) == (f"{prefix} LIMIT ?", [0])
    assert sql_of(sqlite, base.offset(4)) == (f"{prefix} LIMIT -1 OFFSET ?", [4])
    assert sql_of(sqlite, base.offset(0)) == (prefix, [])
    assert sql_of(sqlite, base.limit(2).offset(7)) == (f"{prefix} LIMIT ? OFFSET ?", [2, 7])
    ordered = base.filter(User.age > 1).order_by(User.name).range(2, 3)
    assert sql_of(sqlite, ordered) == (
        f'{prefix} WHERE "users"."age" > ? ORDER BY "users"."name" ASC LIMIT ? OFFSET ?',
        [1, 1, 2],
    )


def test_range_limit_offset_dialect_override(server: Dialect) -> None:
    base = sel(server, User.id)
    prefix = "SELECT `users`.`id` FROM `users`"
    assert sql_of(server, base.range(5, 15)) == (
        f"{prefix} OFFSET $2 ROWS FETCH NEXT $1 ROWS ONLY",
        [10, 5],
    )
    assert sql_of(server, base.offset(4)) == (f"{prefix} OFFSET $1 ROWS", [4])


@pytest.mark.parametrize(
    "bad",
    [
        lambda q: q.range(5, 2),
        lambda q: q.range(-1, 2),
        lambda q: q.limit(-1),
        lambda q: q.limit(1.5),
        lambda q: q.offset(True),
    ],
)
def test_bad_ranges(sqlite: Dialect, bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        bad(sel(sqlite, User))


def test_distinct(sqlite: Dialect, server: Dialect) -> None:
    assert sql_of(sqlite, sel(sqlite, User).distinct()) == (
        f'SELECT DISTINCT {USER_COLS} FROM "users"',
        [],
    )
    assert sql_of(server, sel(server, User.name).distinct().limit(2)) == (
        "SELECT DISTINCT `users`.`name` FROM `users` FETCH NEXT $1 ROWS ONLY",
        [2],
    )


def test_builders_are_generative(sqlite: Dialect) -> None:
    base = sel(sqlite, User.id)
    filtered = base.filter(User.age > 1)
    assert sql_of(sqlite, base) == ('SELECT "users"."id" FROM "users"', [])
    assert sql_of(sqlite, filtered)[1] == [1]


# --- UPDATE / DELETE -----
def test_update_with_set_expressions(sqlite: Dialect, server: Dialect) -> None:
    ex = _OnlyDialect(sqlite)
    u = Update(ex, User).filter(User.id == 1).set(User.age, User.age + 1).set("email", None)  # type: ignore[arg-type]
    assert sql_of(sqlite, u) == (
        'UPDATE "users" SET "age" = "users"."age" + ?, "email" = ? WHERE "users"."id" = ?',
        [1, None, 1],
    )
    u = Update(_OnlyDialect(server), User).filter(User.age < 3, User.name != "x")  # type: ignore[arg-type]
    u = u.set(User.name, func.upper(User.name))
    assert sql_of(server, u) == (
        "UPDATE `users` SET `name` = UPPER(`users`.`name`) "
        "WHERE (`users`.`age` < $1) AND (`users`.`name` <> $2)",
        [3, "x"],
    )


def test_update_guards(sqlite: Dialect) -> None:
    ex: Any = _OnlyDialect(sqlite)
    with pytest.raises(ConfigurationError, match=r"\.all\(\)"):
        Update(ex, User).set(User.age, 3).sql()
    assert sql_of(sqlite, Update(ex, User).all().set(User.age, 3)) == (
        'UPDATE "users" SET "age" = ?',
        [3],
    )
    with pytest.raises(ConfigurationError, match="set"):
        Update(ex, User).all().sql()
    with pytest.raises(ValidationError, match=r"User\.age"):
        Update(ex, User).set(User.age, "three")
    with pytest.raises(ValidationError, match="not nullable"):
        Update(ex, User).set(User.name, None)
    with pytest.raises(ConfigurationError):
        Update(ex, User).set(Team.name, "x")


def test_delete(sqlite: Dialect, server: Dialect) -> None:
    ex: Any = _OnlyDialect(sqlite)
    assert sql_of(sqlite, Delete(ex, User).filter(User.age.in_([1, 2]))) == (
        'DELETE FROM "users" WHERE "users"."age" IN (?, ?)',
        [1, 2],
    )
    with pytest.raises(ConfigurationError, match=r"\.all\(\)"):
        Delete(ex, User).sql()
    assert sql_of(sqlite, Delete(ex, User).all()) == ('DELETE FROM "users"', [])
    assert sql_of(server, Delete(_OnlyDialect(server), Team).filter(Team.id == 9)) == (  # type: ignore[arg-type]
        "DELETE FROM `teams` WHERE `teams`.`id` = $1",
        [9],
    )


# --- INSERT / upsert -----
def _insert(dialect: Dialect, stmt: InsertStmt) -> tuple[str, tuple[Any, ...]]:
    return dialect.compiler(dialect).compile_insert(stmt)


def test_insert_sql(sqlite: Dialect, server: Dialect) -> None:
    t = table_of(Team)
    id_, name = t.fields
    assert _insert(sqlite, InsertStmt(t, (name,), 1, (id_,)))[0] == (
        'INSERT INTO "teams" ("name") VALUES (?) RETURNING "id"'
    )
    assert _insert(sqlite, InsertStmt(t, (id_, name), 2))[0] == (
        'INSERT INTO "teams" ("id", "name") VALUES (?, ?), (?, ?)'
    )
    assert _insert(server, InsertStmt(t, (id_, name), 3, (id_,)))[0] == (
        "INSERT INTO `teams` (`id`, `name`) VALUES ($1, $2), ($3, $4), ($5, $6) RETURNING `id`"
    )
    assert _insert(sqlite, InsertStmt(t, (), 1, (id_,)))[0] == (
        'INSERT INTO "teams" DEFAULT VALUES RETURNING "id"'
    )
    with pytest.raises(NotSupportedError):
        _insert(sqlite, InsertStmt(t, (), 2))


def test_insert_dumpers_follow_column_types(sqlite: Dialect) -> None:
    a = table_of(Article)
    _, dumpers = _insert(sqlite, InsertStmt(a, a.fields, 1))
    by_attr = dict(zip([f.attr for f in a.fields], dumpers))
    assert by_attr["id"] is None
    assert by_attr["title"] is None
    assert by_attr["data"]({"k": [1, "é"]}) == '{"k":[1,"é"]}'
    assert by_attr["color"](Color.BLUE) == "blue"
    assert by_attr["priority"](Priority.HIGH) == 2
    assert by_attr["uid"](uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert by_attr["day"](datetime.date(2024, 2, 29)) == "2024-02-29"


def test_insert_returning_needs_dialect_support() -> None:
    d = NoReturningDialect()
    t = table_of(Team)
    with pytest.raises(NotSupportedError, match="RETURNING"):
        _insert(d, InsertStmt(t, (t.fields[1],), 1, (t.fields[0],)))
    assert _insert(d, InsertStmt(t, (t.fields[1],), 1))[0] == (
        'INSERT INTO "teams" ("name") VALUES (?)'
    )


def test_upsert_sql(sqlite: Dialect, server: Dialect) -> None:
    m = table_of(Membership)
    assert _insert(sqlite, InsertStmt(m, m.fields, 1, upsert=True, conflict=m.primary_key))[0] == (
        'INSERT INTO "membership" ("team_id", "user_id", "role") VALUES (?, ?, ?) '
        'ON CONFLICT ("team_id", "user_id") DO UPDATE SET "role" = excluded."role"'
    )
    assert _insert(sqlite, InsertStmt(m, m.primary_key, 1, upsert=True, conflict=m.primary_key))[
        0
    ] == (
        'INSERT INTO "membership" ("team_id", "user_id") VALUES (?, ?) '
        'ON CONFLICT ("team_id", "user_id") DO NOTHING'
    )
    u = table_of(User)
    name = u.field("name")
    cols = tuple(f for f in u.fields if not f.auto)
    assert _insert(server, InsertStmt(u, cols, 1, upsert=True, conflict=(name,)))[0] == (
        "INSERT INTO `users` (`name`, `age`, `email`, `score`, `team_id`) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (`name`) DO UPDATE SET "
        "`age` = excluded.`age`, `email` = excluded.`email`, `score` = excluded.`score`, "
        "`team_id` = excluded.`team_id`"
    )
    with pytest.raises(ConfigurationError, match="conflict"):
        InsertStmt(u, cols, 1, upsert=True)


# --- DDL -----
def _ddl(dialect: Dialect, model: type[Model], if_not_exists: bool = True) -> list[str]:
    return dialect.compiler(dialect).create_table_sql(table_of(model), if_not_exists)


def test_create_table_auto_pk_unique_varchar(sqlite: Dialect, server: Dialect) -> None:
    assert _ddl(sqlite, Team) == [
        'CREATE TABLE IF NOT EXISTS "teams" (\n'
        '  "id" INTEGER PRIMARY KEY,\n'
        '  "name" VARCHAR(50) NOT NULL,\n'
        '  CONSTRAINT "uq_teams_name" UNIQUE ("name")\n'
        ")"
    ]
    assert _ddl(server, Team, if_not_exists=False) == [
        "CREATE TABLE `teams` (\n"
        "  `id` BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n"
        "  `name` VARCHAR(50) NOT NULL,\n"
        "  CONSTRAINT `uq_teams_name` UNIQUE (`name`)\n"
        ")"
    ]


def test_create_table_composite_primary_key(sqlite: Dialect) -> None:
    assert _ddl(sqlite, Membership) == [
        'CREATE TABLE IF NOT EXISTS "membership" (\n'
        '  "team_id" INTEGER NOT NULL,\n'
        '  "user_id" INTEGER NOT NULL,\n'
        "  \"role\" TEXT DEFAULT 'member' NOT NULL,\n"
        '  PRIMARY KEY ("team_id", "user_id")\n'
        ")"
    ]


def test_create_table_explicit_single_primary_key(sqlite: Dialect) -> None:
    class Code(Model, table="codes"):
        code: str = primary(max_length=8)
        n: int = 0

    assert _ddl(sqlite, Code) == [
        'CREATE TABLE IF NOT EXISTS "codes" (\n'
        '  "code" VARCHAR(8) NOT NULL,\n'
        '  "n" INTEGER DEFAULT 0 NOT NULL,\n'
        '  PRIMARY KEY ("code")\n'
        ")"
    ]


def test_create_table_groups_foreign_keys_and_types_sqlite(sqlite: Dialect) -> None:
    assert _ddl(sqlite, Article) == [
        'CREATE TABLE IF NOT EXISTS "articles" (\n'
        '  "id" INTEGER PRIMARY KEY,\n'
        '  "slug" VARCHAR(80) NOT NULL,\n'
        '  "title" TEXT NOT NULL,\n'
        '  "lang" VARCHAR(5) NOT NULL,\n'
        '  "author_id" INTEGER,\n'
        '  "team_id" INTEGER NOT NULL,\n'
        '  "created" TEXT NOT NULL,\n'
        '  "day" TEXT NOT NULL,\n'
        '  "rating" REAL NOT NULL,\n'
        '  "price" DECIMAL(10, 2) NOT NULL,\n'
        '  "data" TEXT NOT NULL,\n'
        '  "tags" TEXT NOT NULL,\n'
        '  "blob" BLOB,\n'
        '  "uid" TEXT NOT NULL,\n'
        '  "color" TEXT NOT NULL,\n'
        '  "priority" INTEGER NOT NULL,\n'
        '  "active" INTEGER NOT NULL,\n'
        '  "at" TEXT NOT NULL,\n'
        '  "stamp" TEXT NOT NULL,\n'
        '  CONSTRAINT "uq_articles_title_lang" UNIQUE ("title", "lang"),\n'
        '  CONSTRAINT "fk_articles_author_id" FOREIGN KEY ("author_id") REFERENCES "users" ("id") '
        "ON DELETE SET NULL,\n"
        '  CONSTRAINT "fk_articles_team_id" FOREIGN KEY ("team_id") REFERENCES "teams" ("id") '
        "ON DELETE CASCADE\n"
        ")",
        'CREATE INDEX IF NOT EXISTS "ix_articles_rating" ON "articles" ("rating")',
        'CREATE INDEX IF NOT EXISTS "ix_articles_by_date" ON "articles" ("created", "day")',
    ]


def test_create_table_portable_type_names(server: Dialect) -> None:
    ddl = _ddl(server, Article)
    body = ddl[0]
    for line in [
        "`created` TIMESTAMP NOT NULL",
        "`day` DATE NOT NULL",
        "`rating` DOUBLE PRECISION NOT NULL",
        "`price` NUMERIC(10, 2) NOT NULL",
        "`data` JSON NOT NULL",
        "`uid` UUID NOT NULL",
        "`color` TEXT NOT NULL",
        "`priority` BIGINT NOT NULL",
        "`active` BOOLEAN NOT NULL",
        "`at` TIME NOT NULL",
        "`stamp` TIMESTAMP WITH TIME ZONE NOT NULL",
        "`slug` VARCHAR(80) NOT NULL",
        "CONSTRAINT `fk_articles_team_id` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) "
        "ON DELETE CASCADE",
    ]:
        assert f"  {line}" in [x.rstrip(",") for x in body.split("\n")], line
    assert "CHAR(" not in body.replace("VARCHAR(", "")
    assert ddl[1:] == [
        "CREATE INDEX IF NOT EXISTS `ix_articles_rating` ON `articles` (`rating`)",
        "CREATE INDEX IF NOT EXISTS `ix_articles_by_date` ON `articles` (`created`, `day`)",
    ]


def test_drop_table(sqlite: Dialect, server: Dialect) -> None:
    t = table_of(Team)
    assert sqlite.compiler(sqlite).drop_table_sql(t, True) == 'DROP TABLE IF EXISTS "teams"'
    assert server.compiler(server).drop_table_sql(t, False) == "DROP TABLE `teams`"


# --- the statement cache -----
def test_same_shape_compiles_once(sqlite: Dialect) -> None:
    def query(age: int, name: str) -> Select[Any]:
        return sel(sqlite, User).filter(User.age > age, User.name.like(name)).limit(age)

    first_sql, first_params = query(17, "A%").sql()
    cache = sqlite.cache
    misses, hits, size = cache.misses, cache.hits, len(cache)
    sql, params = query(40, "B%").sql()
    assert (cache.misses, cache.hits, len(cache)) == (misses, hits + 1, size)
    assert sql == first_sql
    assert first_params == [17, "A%", 17]
    assert params == [40, "B%", 40]


def test_different_shape_is_a_new_entry(server: Dialect) -> None:
    cache = server.cache
    assert (cache.misses, cache.hits, len(cache)) == (0, 0, 0)
    sel(server, User).filter(User.age > 1).sql()
    assert (cache.misses, cache.hits, len(cache)) == (1, 0, 1)
    sel(server, User).filter(User.age > 2).sql()
    assert (cache.misses, cache.hits, len(cache)) == (1, 1, 1)
    for q in [
        sel(server, User).filter(User.age >= 1),  # another operator
        sel(server, User).filter(User.id > 1),  # another column
        sel(server, User).filter(User.age.in_([1, 2])),
        sel(server, User).filter(User.age.in_([1, 2, 3])),  # another list length
        sel(server, User).filter(User.age > 1).limit(1),
        sel(server, User).filter(User.age > 1).distinct(),
        sel(server, User).filter(User.name > "1"),  # another param type
    ]:
        before = len(cache)
        q.sql()
        assert len(cache) == before + 1
    assert cache.misses == 8
    # writes are cached by shape as well
    ex: Any = _OnlyDialect(server)
    Update(ex, User).filter(User.id == 1).set(User.age, 1).sql()
    hits = cache.hits
    assert Update(ex, User).filter(User.id == 2).set(User.age, 5).sql() == (
        "UPDATE `users` SET `age` = $1 WHERE `users`.`id` = $2",
        [5, 2],
    )
    assert cache.hits == hits + 1


def test_cache_distinguishes_models_sharing_a_table_name(server: Dialect) -> None:
    # Regression: the shape used only table/column names, so a second model class
    # on the same table name got the first one's SQL (and row converter).
    def first() -> type[Model]:
        class Shared(Model, table="shared"):
            id: int = primary()
            a: str | None

        return Shared

    def second() -> type[Model]:
        class Shared(Model, table="shared"):
            id: int = primary()
            a: str

        return Shared

    one, two = first(), second()
    assert sql_of(server, sel(server, one).order_by(one.a))[0] == (  # type: ignore[attr-defined]
        "SELECT `shared`.`id`, `shared`.`a` FROM `shared` ORDER BY "
        "CASE WHEN `shared`.`a` IS NULL THEN 0 ELSE 1 END ASC, `shared`.`a` ASC"
    )
    assert sql_of(server, sel(server, two).order_by(two.a))[0] == (  # type: ignore[attr-defined]
        "SELECT `shared`.`id`, `shared`.`a` FROM `shared` ORDER BY `shared`.`a` ASC"
    )

    class Other(Model, table="shared"):
        id: int = primary()
        b: int

    assert sql_of(server, sel(server, Other))[0] == (
        "SELECT `shared`.`id`, `shared`.`b` FROM `shared`"
    )


def test_each_dialect_has_its_own_cache(sqlite: Dialect, server: Dialect) -> None:
    q_server = sel(server, Team).filter(Team.name == "a")
    q_sqlite = sel(sqlite, Team).filter(Team.name == "a")
    assert q_server.sql()[0] == (
        "SELECT `teams`.`id`, `teams`.`name` FROM `teams` WHERE `teams`.`name` = $1"
    )
    assert q_sqlite.sql()[0] == (
        'SELECT "teams"."id", "teams"."name" FROM "teams" WHERE "teams"."name" = ?'
    )


# --- long in_ lists: one parameter ------------------------------------------------------
def test_long_in_list_binds_one_json_parameter_on_sqlite(sqlite: Dialect) -> None:
    from ormer.expr import IN_ARRAY_MIN

    values = list(range(IN_ARRAY_MIN + 1))
    sql, params = where(sqlite, User.id.in_(values), User.name.not_in([f"n{i}" for i in values]))
    assert sql == (
        '("users"."id" IN (SELECT value FROM json_each(?))) AND '
        '("users"."name" NOT IN (SELECT value FROM json_each(?)))'
    )
    assert params[0] == "[" + ",".join(map(str, values)) + "]"
    assert params[1].startswith('["n0","n1",')


def test_long_in_list_shares_one_compiled_shape(sqlite: Dialect) -> None:
    from ormer.expr import IN_ARRAY_MIN

    cache = sqlite.cache
    where(sqlite, User.id.in_(range(IN_ARRAY_MIN + 1)))
    misses = cache.misses
    for n in (IN_ARRAY_MIN + 2, 50_000, 100_000):
        _, params = where(sqlite, User.id.in_(range(n)))
        assert len(params) == 1
    assert cache.misses == misses


def test_long_in_list_without_a_dialect_form_is_not_supported(server: Dialect) -> None:
    from ormer.expr import IN_ARRAY_MIN

    assert where(server, User.id.in_(range(IN_ARRAY_MIN)))[1] == list(range(IN_ARRAY_MIN))
    with pytest.raises(NotSupportedError, match="in_array"):
        where(server, User.id.in_(range(IN_ARRAY_MIN + 1)))

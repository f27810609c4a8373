"""Keyset pagination's SQL, without a database (ormer/keyset.py, docs/pagination.md).

``after()``/``before()`` compile to the expanded predicate on the ordering
columns, with every cursor value a bound parameter; a query has one cached SQL
shape per ordering, whatever the cursor. Running pages is the compliance suite's
job (``ormer.testing.suite.test_keyset``).
"""

from __future__ import annotations

import datetime
from typing import Any

import pytest

import ormer.plugins
from ormer import ConfigurationError, Model, ValidationError, field, primary, unique
from ormer.dialect import Dialect
from ormer.query import Select


class Post(Model, table="posts"):
    id: int = primary(auto=True)
    score: int = 0
    title: str = field(max_length=40, default="")
    created: datetime.datetime = datetime.datetime(2024, 1, 1)
    slug: str = unique(max_length=40, default="")
    note: str | None = None


class _OnlyDialect:
    """What ``sql()`` needs of an executor: a dialect. Runs nothing."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect


@pytest.fixture
def sqlite() -> Dialect:
    return ormer.plugins.get_dialect("sqlite")


def posts(dialect: Dialect) -> Select[Post]:
    return Select(_OnlyDialect(dialect), (Post,))  # type: ignore[arg-type]


COLS = (
    'SELECT "posts"."id", "posts"."score", "posts"."title", "posts"."created", '
    '"posts"."slug", "posts"."note" FROM "posts"'
)


def test_after_one_column(sqlite: Dialect) -> None:
    sql, params = posts(sqlite).order_by(Post.id).after((41,)).sql()
    assert sql == f'{COLS} WHERE "posts"."id" > ? ORDER BY "posts"."id" ASC'
    assert params == [41]
    sql, params = posts(sqlite).order_by(Post.id.desc()).after((41,)).sql()
    assert sql == f'{COLS} WHERE "posts"."id" < ? ORDER BY "posts"."id" DESC'
    sql, params = posts(sqlite).order_by(Post.id.desc()).before((41,)).sql()
    assert sql == f'{COLS} WHERE "posts"."id" > ? ORDER BY "posts"."id" DESC'


def test_after_mixed_directions_expands(sqlite: Dialect) -> None:
    query = posts(sqlite).order_by(Post.score.desc(), Post.title, Post.id)
    sql, params = query.after((5, "b", 7)).sql()
    s, t, i = '"posts"."score"', '"posts"."title"', '"posts"."id"'
    assert sql == (
        f"{COLS} WHERE ({s} <= ?) AND (({s} < ?) OR (({s} = ?) AND ({t} > ?)) OR "
        f"(({s} = ?) AND ({t} = ?) AND ({i} > ?))) "
        f"ORDER BY {s} DESC, {t} ASC, {i} ASC"
    )
    assert params == [5, 5, 5, "b", 5, "b", 7]
    # before() flips every comparison, leading bound included
    sql, params = query.before((5, "b", 7)).sql()
    assert sql == (
        f"{COLS} WHERE ({s} >= ?) AND (({s} > ?) OR (({s} = ?) AND ({t} < ?)) OR "
        f"(({s} = ?) AND ({t} = ?) AND ({i} < ?))) "
        f"ORDER BY {s} DESC, {t} ASC, {i} ASC"
    )


def test_and_with_filters_and_object_cursor(sqlite: Dialect) -> None:
    post = Post(id=9, score=3, title="x", slug="s")
    query = posts(sqlite).filter(Post.title != "z").order_by(Post.score, Post.id).after(post)
    sql, params = query.sql()
    assert sql.startswith(f'{COLS} WHERE ("posts"."title" <> ?) AND ("posts"."score" >= ?) AND ')
    assert params == ["z", 3, 3, 3, 9]


def test_values_are_typed_by_their_columns(sqlite: Dialect) -> None:
    query = posts(sqlite).order_by(Post.created, Post.id)
    day = datetime.date(2024, 3, 1)
    _, params = query.after((day, 1)).sql()  # a date meets a datetime column at midnight
    assert params[:3] == ["2024-03-01 00:00:00.000000"] * 3
    with pytest.raises(ValidationError, match=r"after\(\) cursor value for Post\.created"):
        query.after(("2024-03-01", 1))
    with pytest.raises(ValidationError, match=r"before\(\) cursor value for Post\.id"):
        query.before((day, "1"))


def test_one_cached_shape_per_ordering(sqlite: Dialect) -> None:
    def page_after(cursor: tuple[Any, ...]) -> tuple[str, list[Any]]:
        return posts(sqlite).order_by(Post.score.desc(), Post.id).after(cursor).sql()

    first_sql, first_params = page_after((1, 2))
    assert first_params == [1, 1, 1, 2]
    cache = sqlite.cache
    misses, hits, size = cache.misses, cache.hits, len(cache)
    for n in range(3, 8):
        sql, params = page_after((n, n * 10))
        assert sql == first_sql
        assert params == [n, n, n, n * 10]
    assert (cache.misses, cache.hits, len(cache)) == (misses, hits + 5, size)
    # another ordering (or direction) is another shape, compiled once
    posts(sqlite).order_by(Post.score, Post.id).after((1, 2)).sql()
    posts(sqlite).order_by(Post.score, Post.id).after((3, 4)).sql()
    assert (cache.misses, len(cache)) == (misses + 1, size + 1)


def test_query_builders_stay_generative(sqlite: Dialect) -> None:
    base = posts(sqlite).order_by(Post.id)
    base.after((1,))
    base.before((1,))
    assert base.sql()[0] == f'{COLS} ORDER BY "posts"."id" ASC'


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda q: q.after((1,)), "needs an ORDER BY"),
        (lambda q: q.order_by(Post.score).after((1,)), r"not unique.*add Post\.id"),
        (lambda q: q.order_by(Post.note, Post.id).after(("a", 1)), "nullable"),
        (lambda q: q.order_by(Post.score + 1, Post.id).after((1, 1)), "not a plain column"),
        (lambda q: q.order_by(Post.id).after((1, 2)), r"2 value\(s\), the ordering 1"),
        (lambda q: q.order_by(Post.id).after((1,)).before((2,)), "already has after"),
        (lambda q: q.order_by(Post.id).before((1,)).before((2,)), "already has before"),
        (lambda q: q.order_by(Post.id).after({"id": 1}), "Post object or a tuple"),
    ],
)
def test_misuse_is_a_configuration_error(sqlite: Dialect, build: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build(posts(sqlite))


def test_unique_field_or_primary_key_makes_an_ordering_unique(sqlite: Dialect) -> None:
    by_slug = posts(sqlite).order_by(Post.slug.desc()).after(("m",)).sql()
    assert by_slug[0].endswith('WHERE "posts"."slug" < ? ORDER BY "posts"."slug" DESC')
    with_extra = posts(sqlite).order_by(Post.id, Post.score).after((1, 2)).sql()
    assert with_extra[1] == [1, 1, 1, 2]

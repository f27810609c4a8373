# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (KsPost.score.desc()) are unknown to mypy here; see ormer.col().
"""Compliance suite: keyset pagination, ``after``/``before``/``page`` (docs/pagination.md).

Every walk is compared with the rows the same query returns in one ordered
select: pages taken by cursor visit every row exactly once, in order, forwards
and backwards, with ties in the leading ordering columns. A hypothesis property
checks random rows, orderings and page sizes against a sorted Python oracle.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Coroutine
from typing import Any

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    Model,
    Page,
    ValidationError,
    field,
    foreign_key,
    func,
    primary,
    unique,
)
from ormer.expr import Ordering
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.oracle import sort_rows
from ormer.testing.properties import Target, profile_name, property_settings

__all__ = ["TestKeyset", "TestKeysetProperty"]

T0 = datetime.datetime(2024, 5, 1, 12, 0, 0)


class KsAuthor(Model, table="suite_keyset_author"):
    id: int = primary(auto=True)
    name: str = field(max_length=40)


class KsPost(Model, table="suite_keyset_post"):
    id: int = primary(auto=True)
    author_id: int = foreign_key("suite_keyset_author.id")
    score: int = 0
    title: str = field(max_length=40, default="")
    created: datetime.datetime = T0
    slug: str = unique(max_length=40)
    note: str | None = None


class KsPair(Model, table="suite_keyset_pair"):
    """No primary key: the ordering is unique through a two-column unique constraint."""

    region: str = unique(group="region_code", max_length=10)
    code: int = unique(group="region_code")
    label: str = field(max_length=20, default="")


def _key(post: KsPost) -> int:
    return post.id


async def _posts(db: Connection, n: int = 200) -> list[KsPost]:
    """``n`` posts with many ties in score, title and created."""
    await fresh_tables(db, KsAuthor, KsPost)
    authors = [KsAuthor(name="ann"), KsAuthor(name="bob")]
    await db.insert(authors)
    posts = [
        KsPost(
            author_id=authors[i % 2].id,
            score=(i * 7) % 10,
            title="abcde"[(i * 3) % 5],
            created=T0 + datetime.timedelta(minutes=(i * 11) % 13),
            slug=f"post-{i:03d}",
        )
        for i in range(n)
    ]
    await db.insert(posts)
    return posts


async def _walk(query: Any, size: int) -> tuple[list[Any], list[Page[Any]]]:
    """Every row of ``query`` by following next_cursor, and the pages seen."""
    pages = [await query.page(size)]
    while pages[-1].has_more:
        pages.append(await query.after(pages[-1].next_cursor).page(size))
        assert len(pages) < 1000, "the walk does not end"
    return [item for p in pages for item in p.items], pages


async def _walk_back(query: Any, size: int, start: Any) -> list[Any]:
    """Every row of ``query`` before ``start``, by following prev_cursor backwards."""
    page = await query.before(start).page(size)
    rows = list(page.items)
    while page.has_more:
        page = await query.before(page.prev_cursor).page(size)
        assert page.items, "has_more said rows precede, but the page is empty"
        rows[:0] = page.items
        assert len(rows) < 1000, "the walk does not end"
    return rows


class TestKeyset(SuiteBase):
    """after()/before()/page() visit every row once, in the query's order."""

    async def test_walk_by_id_in_pages_of_7(self, db: Connection) -> None:
        posts = await _posts(db)
        query = db.select(KsPost).order_by(KsPost.id)
        everything = await query.collect()
        assert everything == sorted(posts, key=_key)
        rows, pages = await _walk(query, 7)
        assert rows == everything
        assert len(pages) == 29  # 28 full pages and 4 rows
        assert [len(p.items) for p in pages] == [7] * 28 + [4]
        assert all(p.has_more for p in pages[:-1])
        assert pages[-1].has_more is False
        for p in pages:
            assert p.next_cursor == (p.items[-1].id,)
            assert p.prev_cursor == (p.items[0].id,)

    async def test_last_page_when_rows_fill_pages_exactly(self, db: Connection) -> None:
        await _posts(db, 14)
        query = db.select(KsPost).order_by(KsPost.id.desc())
        first = await query.page(7)
        assert first.has_more is True
        second = await query.after(first.next_cursor).page(7)
        assert len(second.items) == 7
        assert second.has_more is False  # the 8th row that page() asks for is not there
        beyond = await query.after(second.next_cursor).page(7)
        assert beyond == Page([], False, None, None)
        ids = [p.id for p in first.items + second.items]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 14

    @pytest.mark.parametrize(
        "order",
        [
            "score desc, id asc",
            "score asc, id desc",
            "title asc, created desc, id asc",
            "created desc, id desc",
        ],
    )
    async def test_walk_with_ties_and_mixed_directions(self, db: Connection, order: str) -> None:
        await _posts(db)
        orderings = []
        for item in order.split(", "):
            name, direction = item.split()
            column = getattr(KsPost, name)
            orderings.append(column.desc() if direction == "desc" else column.asc())
        query = db.select(KsPost).order_by(*orderings)
        everything = await query.collect()
        assert len(everything) == 200
        for size in (7, 1, 199, 200, 500):
            rows, pages = await _walk(query, size)
            assert [r.id for r in rows] == [r.id for r in everything], f"size {size}"
            assert pages[-1].has_more is False
        # backwards from the last row: everything before it, in the query's order
        assert await _walk_back(query, 7, everything[-1]) == everything[:-1]

    async def test_before_pages_backwards(self, db: Connection) -> None:
        await _posts(db)
        query = db.select(KsPost).order_by(KsPost.score.desc(), KsPost.id)
        everything = await query.collect()
        cursor = everything[100]
        page = await query.before(cursor).page(7)
        assert page.items == everything[93:100]  # the 7 just before, in the query's order
        assert page.has_more is True
        assert page.prev_cursor == (everything[93].score, everything[93].id)
        assert page.next_cursor == (everything[99].score, everything[99].id)
        # the page after a backwards page's next_cursor is the cursor row onwards
        again = await query.after(page.next_cursor).page(3)
        assert again.items == everything[100:103]
        head = await query.before(everything[5]).page(7)
        assert head.items == everything[:5]
        assert head.has_more is False  # nothing before the first row
        assert await query.before(everything[0]).page(7) == Page([], False, None, None)
        # without page(): every row before the cursor, still in the query's order
        assert await query.before(cursor).collect() == everything[:100]
        assert await query.before(cursor).count() == 100
        assert await query.after(cursor).collect() == everything[101:]

    async def test_cursor_from_object_tuple_or_list(self, db: Connection) -> None:
        await _posts(db)
        query = db.select(KsPost).order_by(KsPost.created.desc(), KsPost.id)
        everything = await query.collect()
        row = everything[50]
        by_object = await query.after(row).page(10)
        by_tuple = await query.after((row.created, row.id)).page(10)
        by_list = await query.after([row.created, row.id]).page(10)  # a decoded JSON token
        assert by_object == by_tuple == by_list
        assert by_object.items == everything[51:61]
        assert by_object.next_cursor == (everything[60].created, everything[60].id)
        # a date against a datetime column is its midnight, as in filters
        assert await query.before((row.created.date(), 0)).count() == 200
        sql, params = query.after((row.created, row.id)).sql()
        assert str(row.created) not in sql and row.created.isoformat() not in sql
        assert len(params) == 4 and params[-1] == row.id  # values are bound (dumped)

    async def test_filters_combine(self, db: Connection) -> None:
        await _posts(db)
        base = db.select(KsPost).order_by(KsPost.title, KsPost.id.desc())
        filtered = base.filter(KsPost.score >= 5, KsPost.author_id == KsPost.author_id)
        everything = await filtered.collect()
        assert 0 < len(everything) < 200
        assert all(p.score >= 5 for p in everything)
        rows, _ = await _walk(filtered, 6)
        assert rows == everything
        # a filter added after after() is ANDed with the cursor condition
        cursor = everything[10]
        late = base.after(cursor).filter(KsPost.score >= 5)
        assert await late.collect() == everything[11:]
        assert (await late.page(4)).items == everything[11:15]

    async def test_join_filter_on_a_model_select(self, db: Connection) -> None:
        await _posts(db)
        query = (
            db.select(KsPost)
            .join(KsAuthor, KsPost.author_id == KsAuthor.id)
            .filter(KsAuthor.name == "bob")
            .order_by(KsPost.score, KsPost.id)
        )
        everything = await query.collect()
        assert len(everything) == 100
        rows, _ = await _walk(query, 9)
        assert rows == everything

    async def test_unique_constraint_ordering(self, db: Connection) -> None:
        await fresh_tables(db, KsPair)
        pairs = [KsPair(region=r, code=c, label=f"{r}{c}") for r in "xyz" for c in range(5)]
        await db.insert(pairs)
        query = db.select(KsPair).order_by(KsPair.region.desc(), KsPair.code)
        everything = await query.collect()
        assert [(p.region, p.code) for p in everything] == [(r, c) for r in "zyx" for c in range(5)]
        rows, pages = await _walk(query, 4)
        assert rows == everything
        assert pages[0].next_cursor == ("z", 3)
        # a unique() field alone is unique too
        await _posts(db, 30)
        by_slug = db.select(KsPost).order_by(KsPost.slug.desc())
        rows, _ = await _walk(by_slug, 7)
        assert [p.slug for p in rows] == [f"post-{i:03d}" for i in reversed(range(30))]

    async def test_pages_through_a_pool(self, db: Connection, ormer_url: str) -> None:
        await _posts(db, 40)
        expected = await db.select(KsPost).order_by(KsPost.score, KsPost.id).collect()
        async with await Database.create_pool(ormer_url).max_size(2).build() as pool:
            query = pool.select(KsPost).order_by(KsPost.score, KsPost.id)
            rows, pages = await _walk(query, 6)
            assert rows == expected
            assert len(pages) == 7
            back = await query.before(pages[-1].prev_cursor).page(6)
            assert back.items == pages[-2].items

    async def test_empty_table(self, db: Connection) -> None:
        await fresh_tables(db, KsAuthor, KsPost)
        query = db.select(KsPost).order_by(KsPost.score, KsPost.id)
        page = await query.page(7)
        assert page == Page([], False, None, None)
        assert await query.after((3, 10)).page(7) == Page([], False, None, None)
        assert await query.before((3, 10)).page(7) == Page([], False, None, None)
        assert await query.after((3, 10)).collect() == []

    async def test_page_is_a_frozen_value(self, db: Connection) -> None:
        await _posts(db, 3)
        page = await db.select(KsPost).order_by(KsPost.id).page(2)
        assert isinstance(page, Page)
        assert [p.slug for p in page.items] == ["post-000", "post-001"]
        with pytest.raises(dataclasses.FrozenInstanceError):
            page.has_more = False  # type: ignore[misc]
        assert not hasattr(page, "__dict__")

    async def test_errors(self, db: Connection) -> None:
        posts = await _posts(db, 5)
        post = posts[0]
        q = db.select(KsPost)
        by_id = q.order_by(KsPost.id)
        with pytest.raises(ConfigurationError, match=r"needs an ORDER BY.*KsPost\.id"):
            q.after(post)
        with pytest.raises(ConfigurationError, match="needs an ORDER BY"):
            await q.page(5)
        with pytest.raises(ConfigurationError, match="not a plain column of KsPost"):
            q.order_by(func.lower(KsPost.title), KsPost.id).after(("a", 1))
        with pytest.raises(ConfigurationError, match="not a plain column of KsPost"):
            q.order_by(KsPost.id.label("k")).after((1,))
        joined = q.join(KsAuthor, KsPost.author_id == KsAuthor.id)
        with pytest.raises(ConfigurationError, match=r"KsAuthor\.id is not a plain column"):
            joined.order_by(KsAuthor.id, KsPost.id).after((1, 1))
        with pytest.raises(ConfigurationError, match=r"not unique.*add KsPost\.id"):
            q.order_by(KsPost.score).after((3,))
        with pytest.raises(ConfigurationError, match=r"not unique.*add KsPost\.id"):
            await q.order_by(KsPost.score, KsPost.title).page(5)
        with pytest.raises(ConfigurationError, match=r"KsPost\.note is nullable.*backends"):
            q.order_by(KsPost.note, KsPost.id).after(("x", 1))
        with pytest.raises(ConfigurationError, match=r"1 value\(s\), the ordering 2"):
            q.order_by(KsPost.score, KsPost.id).after((1,))
        with pytest.raises(ConfigurationError, match=r"3 value\(s\), the ordering 2"):
            q.order_by(KsPost.score, KsPost.id).before((1, 2, 3))
        with pytest.raises(ConfigurationError, match="already has after"):
            by_id.after(post).after(post)
        with pytest.raises(ConfigurationError, match="already has after"):
            by_id.after(post).before(post)
        with pytest.raises(ConfigurationError, match="already has before"):
            by_id.before(post).after(post)
        with pytest.raises(ConfigurationError, match="call order_by"):
            by_id.after(post).order_by(KsPost.score)
        with pytest.raises(ConfigurationError, match="KsPost object or a tuple"):
            by_id.after(5)
        with pytest.raises(ConfigurationError, match="KsPost object or a tuple"):
            by_id.after(KsAuthor(name="x"))
        with pytest.raises(ValidationError, match=r"cursor value for KsPost\.id"):
            by_id.after(("five",))
        with pytest.raises(ValidationError, match=r"KsPost\.id: is None"):
            by_id.after((None,))
        with pytest.raises(ValidationError, match=r"KsPost\.id: is None"):
            by_id.after(KsPost(author_id=1, slug="unsaved"))  # no id yet
        for ranged in (by_id.range(0, 10), by_id.limit(3), by_id.offset(2)):
            with pytest.raises(ConfigurationError, match="never an OFFSET"):
                await ranged.page(5)
        with pytest.raises(ConfigurationError, match="one model"):
            await db.select(KsPost.id).order_by(KsPost.id).page(5)  # type: ignore[misc]
        with pytest.raises(ConfigurationError, match="one model"):
            await (
                db.select(KsPost, KsAuthor)
                .join(  # type: ignore[misc]
                    KsAuthor, KsPost.author_id == KsAuthor.id
                )
                .order_by(KsPost.id)
                .page(5)
            )
        for size in (0, -1, 2.5, True):
            with pytest.raises(ConfigurationError, match="page size"):
                await by_id.page(size)  # type: ignore[arg-type]
        # nothing above changed the data, and the base query still pages
        assert (await by_id.page(5)).items == sorted(posts, key=_key)


# -- the property: random rows, orderings and page sizes against a sorted oracle ----------------
class KsProp(Model, table="suite_keyset_prop"):
    id: int = primary()
    a: int
    b: str = field(max_length=8)
    c: bool
    d: datetime.date


_COLUMNS = ("a", "b", "c", "d")
# few distinct values, so that the leading columns tie often
_rows = st.lists(
    st.builds(
        lambda a, b, c, d: (a, b, c, datetime.date(2024, 1, 1) + datetime.timedelta(days=d)),
        st.integers(-1, 1),
        st.sampled_from(["", "a", "ab", "b"]),  # code-point order on every backend
        st.booleans(),
        st.integers(0, 2),
    ),
    min_size=1,
    max_size=40,
)


@dataclasses.dataclass
class KeysetCase:
    rows: list[KsProp]
    order: list[tuple[str, bool]]  # (attribute, descending); ends with ("id", ...)
    size: int

    def orderings(self) -> list[Ordering]:
        cols = [getattr(KsProp, name) for name, _ in self.order]
        return [c.desc() if desc else c.asc() for c, (_, desc) in zip(cols, self.order)]


@st.composite
def keyset_cases(draw: st.DrawFn) -> KeysetCase:
    values = draw(_rows)
    ids = draw(
        st.lists(st.integers(-1000, 1000), min_size=len(values), max_size=len(values), unique=True)
    )
    rows = [KsProp(id=i, a=a, b=b, c=c, d=d) for i, (a, b, c, d) in zip(ids, values)]
    leading = draw(st.lists(st.sampled_from(_COLUMNS), unique=True, max_size=3))
    order = [(name, draw(st.booleans())) for name in [*leading, "id"]]
    return KeysetCase(rows, order, draw(st.integers(1, 8)))


async def _forwards(query: Any, size: int, total: int) -> list[KsProp]:
    page = await query.page(size)
    got: list[KsProp] = list(page.items)
    while page.has_more:
        page = await query.after(page.next_cursor).page(size)
        assert page.items, "has_more, then an empty page"
        got += page.items
        assert len(got) <= total, f"more rows than the table has: {[r.id for r in got]}"
    return got


async def _backwards(
    query: Any, size: int, last: KsProp, order: list[str], total: int
) -> list[KsProp]:
    page = await query.before(tuple(getattr(last, n) for n in order)).page(size)
    got = [*page.items, last]
    while page.has_more:
        page = await query.before(page.prev_cursor).page(size)
        assert page.items, "has_more, then an empty page"
        got[:0] = page.items
        assert len(got) <= total, f"more rows than the table has: {[r.id for r in got]}"
    return got


async def _check_case(db: Connection, case: KeysetCase) -> None:
    await db.delete(KsProp).all()
    await db.insert(case.rows)
    query = db.select(KsProp).order_by(*case.orderings())
    expected = sort_rows(case.rows, case.orderings())
    assert await query.collect() == expected, "ORDER BY differs from the oracle"
    names = [n for n, _ in case.order]
    for size in sorted({1, 2, 3, case.size}):
        got = await _forwards(query, size, len(expected))
        assert got == expected, f"size {size}: {[r.id for r in got]} != oracle"
        got = await _backwards(query, size, expected[-1], names, len(expected))
        assert got == expected, f"backwards, size {size}: {[r.id for r in got]} != oracle"


def _examples() -> int | None:
    """About 25 examples per backend; the fuzz profile's count under ``make fuzz``."""
    return None if profile_name() == "ormer-fuzz" else 25


class TestKeysetProperty:
    """Concatenated pages equal the sorted oracle, for random rows, orderings
    (ties, mixed directions, every column type here) and page sizes.

    Not a :class:`SuiteBase`: the test is synchronous, hypothesis runs each
    example on the :class:`~ormer.testing.properties.Target`'s own event loop.
    """

    def test_pages_concatenate_to_the_sorted_rows(self, ormer_url: str) -> None:
        target = Target(ormer_url)
        try:
            target.run(fresh_tables(target.conn, KsProp))
            self._run(target, lambda case: _check_case(target.conn, case))
        finally:
            try:
                target.run(target.conn.drop_table(KsProp, if_exists=True))
            finally:
                target.close()

    def _run(self, target: Target, body: Any) -> None:
        @settings(property_settings(_examples()))
        @given(case=keyset_cases())
        def run(case: KeysetCase) -> None:
            note(f"backend: {target.backend}; order {case.order}")
            coro: Coroutine[Any, Any, None] = body(case)
            target.run(coro)

        run()

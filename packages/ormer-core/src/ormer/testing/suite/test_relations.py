# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (User.age.in_(...)) and operators on them are unknown to mypy here; see ormer.col().
"""Compliance suite: relations and preload (docs/relations.md), every result read back.

Each test compares what a preload (or ``include``) put on the objects with what a
plain select of the same rows returns, and counts the statements it ran through the
``ormer_after_execute`` hook: one per relation argument, none for a relation
without owners, one in all for ``include``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

import ormer
from ormer import (
    ConfigurationError,
    Connection,
    Database,
    Model,
    NotSupportedError,
    RelationNotLoadedError,
    UniqueViolationError,
    asdict,
    belongs_to,
    col,
    field,
    foreign_key,
    has_many,
    has_one,
    many_to_many,
    primary,
    table_of,
    unique,
)
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires
from ormer.testing.statements import count_statements

__all__ = ["TestRelations"]


# -- models ---------------------------------------------------------------------------------
class RelAuthor(Model, table="suite_rel_author"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)
    posts: list[RelPost] = has_many("RelPost", foreign_key="author_id")
    posts_by_title_desc: list[RelPost] = has_many(
        "RelPost", foreign_key="author_id", order_by="-title"
    )
    posts_by_title_then_newest: list[RelPost] = has_many(
        "RelPost", foreign_key="author_id", order_by=("title", "-id")
    )
    profile: RelProfile | None = has_one("RelProfile", foreign_key="author_id")
    # a has_one over a non-unique key: preload takes the first by key, include refuses
    first_post: RelPost | None = has_one("RelPost", foreign_key="author_id")


class RelProfile(Model, table="suite_rel_profile"):
    id: int = primary(auto=True)
    author_id: int = foreign_key("suite_rel_author.id", unique=True)
    bio: str = field(max_length=50)
    author: RelAuthor | None = belongs_to(RelAuthor, foreign_key="author_id")


class RelTag(Model, table="suite_rel_tag"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)
    posts: list[RelPost] = many_to_many(
        "RelPost", through="RelPostTag", source_key="tag_id", target_key="post_id"
    )


class RelPost(Model, table="suite_rel_post"):
    id: int = primary(auto=True)
    author_id: int | None = foreign_key("suite_rel_author.id", default=None)
    title: str = field(max_length=50)
    author: RelAuthor | None = belongs_to(RelAuthor, foreign_key="author_id")
    tags: list[RelTag] = many_to_many(
        RelTag, through="RelPostTag", source_key="post_id", target_key="tag_id"
    )


class RelPostTag(Model, table="suite_rel_post_tag"):
    id: int = primary(auto=True)
    post_id: int = foreign_key("suite_rel_post.id")
    tag_id: int = foreign_key("suite_rel_tag.id")


class RelCategory(Model, table="suite_rel_category"):
    """A tree: each category's parent is a category of the same table."""

    id: int = primary(auto=True)
    name: str = field(max_length=50)
    parent_id: int | None = foreign_key("suite_rel_category.id", default=None)
    parent: RelCategory | None = belongs_to("RelCategory", foreign_key="parent_id")
    children: list[RelCategory] = has_many("RelCategory", foreign_key="parent_id")


class RelOrder(Model, table="suite_rel_order"):
    """A parent with a two-column primary key."""

    region: str = primary(max_length=10)
    number: int = primary()
    note: str = field(max_length=50)
    lines: list[RelLine] = has_many("RelLine", foreign_key=("order_region", "order_number"))


class RelLine(Model, table="suite_rel_line"):
    """Children with a two-column foreign key (NULL in both columns: no order)."""

    id: int = primary(auto=True)
    order_region: str | None = field(max_length=10, default=None)
    order_number: int | None = None
    qty: int = 0
    order: RelOrder | None = belongs_to(RelOrder, foreign_key=("order_region", "order_number"))


class RelCountry(Model, table="suite_rel_country"):
    """Referenced by a unique code, not by its primary key."""

    id: int = primary(auto=True)
    code: str = unique(max_length=2)
    cities: list[RelCity] = has_many("RelCity", foreign_key="country_code", references="code")


class RelCity(Model, table="suite_rel_city"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)
    country_code: str | None = foreign_key("suite_rel_country.code", default=None, max_length=2)
    # references: the column foreign_key() names (code), not the primary key
    country: RelCountry | None = belongs_to(RelCountry, foreign_key="country_code")


BLOG = (RelAuthor, RelProfile, RelTag, RelPost, RelPostTag)
#: the bind-limit test inserts max_bind_params / 2 parents: at most this many (time)
MAX_BIND_LIMIT_PARENTS = 20_000


# -- data ---------------------------------------------------------------------------------------
@dataclass
class Blog:
    """The blog data set: four authors (Cid without posts), eight posts (one
    without author), three tags (one without posts), two profiles."""

    authors: dict[str, RelAuthor]
    posts: dict[str, RelPost]
    tags: dict[str, RelTag]


async def seed(db: Connection) -> Blog:
    """| post   | author | tags     |   Insert order = id order, so a title order is not
    | b-old  | Bob    | sql      |   the id order; Bob has two posts titled "b".
    | a3     | Ann    | sql, py  |
    | a1     | Ann    | py       |
    | orphan | NULL   | -        |
    | b-mid  | Bob    | sql      |
    | a2     | Ann    | -        |
    | d1     | Dee    | py       |
    | b-new  | Bob    | -        |
    """
    await fresh_tables(db, *BLOG)
    authors = {n: RelAuthor(name=n) for n in ("Ann", "Bob", "Cid", "Dee")}
    await db.insert(list(authors.values()))
    await db.insert(
        [
            RelProfile(author_id=authors["Ann"].id, bio="ann's bio"),
            RelProfile(author_id=authors["Dee"].id, bio="dee's bio"),
        ]
    )
    spec = [
        ("b-old", "Bob", "b"),
        ("a3", "Ann", "a3"),
        ("a1", "Ann", "a1"),
        ("orphan", None, "orphan"),
        ("b-mid", "Bob", "b"),
        ("a2", "Ann", "a2"),
        ("d1", "Dee", "d1"),
        ("b-new", "Bob", "a"),
    ]
    posts: dict[str, RelPost] = {}
    for key, author, title in spec:
        posts[key] = RelPost(author_id=authors[author].id if author else None, title=title)
        await db.insert(posts[key])  # one at a time: ids follow this order
    tags = {n: RelTag(name=n) for n in ("sql", "py", "unused")}
    await db.insert(list(tags.values()))
    links = [("b-old", "sql"), ("a3", "sql"), ("a3", "py"), ("a1", "py"), ("b-mid", "sql")]
    links.append(("d1", "py"))
    await db.insert([RelPostTag(post_id=posts[p].id, tag_id=tags[t].id) for p, t in links])
    return Blog(authors, posts, tags)


async def seed_tree(db: Connection) -> dict[str, RelCategory]:
    """Three levels: root -> (a, b), a -> (a1, a2), b -> (); and a second root alone."""
    await fresh_tables(db, RelCategory)
    cats: dict[str, RelCategory] = {}
    for name, parent in [
        ("root", None),
        ("lone", None),
        ("b", "root"),
        ("a", "root"),
        ("a2", "a"),
        ("a1", "a"),
    ]:
        cats[name] = RelCategory(name=name, parent_id=cats[parent].id if parent else None)
        await db.insert(cats[name])
    return cats


async def seed_orders(db: Connection) -> tuple[list[RelOrder], list[RelLine]]:
    await fresh_tables(db, RelOrder, RelLine)
    orders = [
        RelOrder(region="eu", number=1, note="eu1"),
        RelOrder(region="eu", number=2, note="eu2"),
        RelOrder(region="us", number=1, note="us1"),
    ]
    await db.insert(orders)
    lines = [
        RelLine(order_region="us", order_number=1, qty=5),
        RelLine(order_region="eu", order_number=1, qty=1),
        RelLine(order_region="eu", order_number=1, qty=2),
        RelLine(order_region=None, order_number=None, qty=9),
        RelLine(order_region="us", order_number=1, qty=6),
    ]
    await db.insert(lines)
    return orders, lines


# -- manual selects: what a preload must equal ----------------------------------------------------
async def posts_of(db: Connection, author_id: int, *order: Any) -> list[RelPost]:
    q = db.select(RelPost).filter(RelPost.author_id == author_id)
    return await q.order_by(*(order or (RelPost.id,))).collect()


async def tags_of(db: Connection, post_id: int) -> list[RelTag]:
    q = db.select(RelTag).join(RelPostTag, RelPostTag.tag_id == RelTag.id)
    return await q.filter(RelPostTag.post_id == post_id).order_by(RelTag.id).collect()


async def posts_tagged(db: Connection, tag_id: int) -> list[RelPost]:
    q = db.select(RelPost).join(RelPostTag, RelPostTag.post_id == RelPost.id)
    return await q.filter(RelPostTag.tag_id == tag_id).order_by(RelPost.id).collect()


def by_id(objects: Sequence[Any]) -> list[Any]:
    """A many_to_many list in primary-key order (the relation promises no order)."""
    return sorted(objects, key=lambda o: o.id)


class TestRelations(SuiteBase):
    """docs/relations.md: has_many, belongs_to, has_one, many_to_many; preload and include."""

    # -- has_many ----------------------------------------------------------------------------------
    async def test_has_many_equals_the_manual_select_one_statement(self, db: Connection) -> None:
        blog = await seed(db)
        with count_statements() as c:
            authors = await (
                db.select(RelAuthor).order_by(RelAuthor.id).preload(RelAuthor.posts).collect()
            )
        assert c.n == 2, c.statements
        assert [a.name for a in authors] == ["Ann", "Bob", "Cid", "Dee"]
        for a in authors:
            assert a.posts == await posts_of(db, a.id), a.name
        ann, bob, _, dee = authors
        # ordered by the target's primary key (= insert order here), not by title
        assert [p.title for p in ann.posts] == ["a3", "a1", "a2"]
        assert [p.id for p in bob.posts] == [blog.posts[k].id for k in ("b-old", "b-mid", "b-new")]
        assert [p.title for p in dee.posts] == ["d1"]
        assert all(type(p) is RelPost for p in ann.posts)
        assert all(p.author_id == ann.id for p in ann.posts)

    async def test_has_many_order_by_option(self, db: Connection) -> None:
        blog = await seed(db)
        with count_statements() as c:
            authors = await (
                db.select(RelAuthor)
                .order_by(RelAuthor.id)
                .preload(RelAuthor.posts_by_title_desc, RelAuthor.posts_by_title_then_newest)
                .collect()
            )
        assert c.n == 3, c.statements
        ann, bob, cid, _ = authors
        # "-title": descending
        assert ann.posts_by_title_desc == await posts_of(db, ann.id, col(RelPost.title).desc())
        assert [p.title for p in ann.posts_by_title_desc] == ["a3", "a2", "a1"]
        assert [p.title for p in bob.posts_by_title_desc] == ["b", "b", "a"]
        # ("title", "-id"): ties on title broken by the newest id first
        want = await posts_of(db, bob.id, RelPost.title, col(RelPost.id).desc())
        assert bob.posts_by_title_then_newest == want
        keys = ("b-new", "b-mid", "b-old")
        assert [p.id for p in bob.posts_by_title_then_newest] == [blog.posts[k].id for k in keys]
        assert cid.posts_by_title_desc == []
        assert cid.posts_by_title_then_newest == []

    async def test_has_many_empty_is_a_separate_list_per_parent(self, db: Connection) -> None:
        await seed(db)
        # two more authors without posts
        await db.insert([RelAuthor(name="Eve"), RelAuthor(name="Fay")])
        query = db.select(RelAuthor).order_by(RelAuthor.id).preload(RelAuthor.posts)
        authors = await query.collect()
        empty = [a for a in authors if a.name in ("Cid", "Eve", "Fay")]
        assert [a.posts for a in empty] == [[], [], []]
        for a in empty:
            assert type(a.posts) is list
            assert await posts_of(db, a.id) == []
        lists = [a.posts for a in authors]
        assert len({id(x) for x in lists}) == len(lists), "parents share a list object"
        # appending to one parent's list changes no other parent's
        empty[0].posts.append(RelPost(title="x"))
        assert empty[1].posts == []
        assert empty[2].posts == []

    async def test_no_owners_no_statement(self, db: Connection) -> None:
        await seed(db)
        with count_statements() as c:
            none = await (
                db.select(RelAuthor)
                .filter(RelAuthor.name == "nobody")
                .preload(RelAuthor.posts, RelPost.tags)
                .collect()
            )
        assert none == []
        assert c.n == 1, c.statements  # the root select only
        with count_statements() as c:
            cid = await (
                db.select(RelAuthor)
                .filter(RelAuthor.name == "Cid")
                .preload(RelAuthor.posts, RelPost.tags)
                .collect()
            )
        assert [a.posts for a in cid] == [[]]
        assert c.n == 2, c.statements  # no post loaded: no statement for Post.tags
        with count_statements() as c:
            orphans = await (
                db.select(RelPost)
                .filter(col(RelPost.author_id).is_null())
                .preload(RelPost.author)
                .collect()
            )
        assert [(p.title, p.author) for p in orphans] == [("orphan", None)]
        assert c.n == 1, c.statements  # every foreign key NULL: nothing to look up

    # -- belongs_to and has_one --------------------------------------------------------------------
    async def test_belongs_to_null_and_shared_target(self, db: Connection) -> None:
        blog = await seed(db)
        with count_statements() as c:
            posts = await db.select(RelPost).order_by(RelPost.id).preload(RelPost.author).collect()
        assert c.n == 2, c.statements
        assert len(posts) == 8
        for p in posts:
            if p.author_id is None:
                assert p.author is None
            else:
                assert p.author == await db.find(RelAuthor, p.author_id)
                assert p.author is not None
                assert p.author.id == p.author_id
        by_title = {p.title: p for p in posts}
        assert by_title["orphan"].author is None
        ann_posts = [p for p in posts if p.author_id == blog.authors["Ann"].id]
        assert len(ann_posts) == 3
        # one object per target row: the posts of one author share it
        assert ann_posts[0].author is ann_posts[1].author is ann_posts[2].author
        assert by_title["d1"].author is not ann_posts[0].author

    async def test_has_one_present_and_absent(self, db: Connection) -> None:
        await seed(db)
        with count_statements() as c:
            authors = await (
                db.select(RelAuthor).order_by(RelAuthor.id).preload(RelAuthor.profile).collect()
            )
        assert c.n == 2, c.statements
        for a in authors:
            manual = await db.select(RelProfile).filter(RelProfile.author_id == a.id).first()
            assert a.profile == manual, a.name
        assert {a.name: (a.profile.bio if a.profile else None) for a in authors} == {
            "Ann": "ann's bio",
            "Bob": None,
            "Cid": None,
            "Dee": "dee's bio",
        }
        # and back: the profile's belongs_to
        profiles = await db.select(RelProfile).preload(RelProfile.author).collect()
        assert sorted(p.author.name for p in profiles if p.author) == ["Ann", "Dee"]

    async def test_has_one_several_rows_takes_the_first_by_key(self, db: Connection) -> None:
        await seed(db)
        query = db.select(RelAuthor).order_by(RelAuthor.id)
        with count_statements() as c:
            authors = await query.preload(RelAuthor.first_post).collect()
        assert c.n == 2, c.statements
        assert len(authors) == 4
        for a in authors:
            manual = (
                await db.select(RelPost)
                .filter(RelPost.author_id == a.id)
                .order_by(RelPost.id)
                .first()
            )
            assert a.first_post == manual, a.name
        assert sum(a.first_post is not None for a in authors) >= 2
        # include refuses: a LEFT JOIN would repeat an author once per post
        with pytest.raises(ConfigurationError, match=r"RelPost\.author_id is not unique"):
            query.include(RelAuthor.first_post)
        # a second profile for Ann is refused by the unique key include relies on
        with pytest.raises(UniqueViolationError):
            await db.insert(RelProfile(author_id=authors[0].id, bio="second"))

    # -- many_to_many ------------------------------------------------------------------------------
    async def test_many_to_many_with_empty_sides(self, db: Connection) -> None:
        blog = await seed(db)
        with count_statements() as c:
            posts = await db.select(RelPost).order_by(RelPost.id).preload(RelPost.tags).collect()
        assert c.n == 2, c.statements
        for p in posts:
            assert by_id(p.tags) == await tags_of(db, p.id), p.title
        # in post id order: b-old, a3, a1, orphan, b-mid, a2, d1, b-new
        tags = [sorted(t.name for t in p.tags) for p in posts]
        assert tags == [["sql"], ["py", "sql"], ["py"], [], ["sql"], [], ["py"], []]
        assert posts[1].id == blog.posts["a3"].id
        # a tag row is one object within the preload: posts tagged "py" share it
        py = [t for p in posts for t in p.tags if t.name == "py"]
        assert len(py) == 3
        assert py[0] is py[1] is py[2]
        # the other side: a tag without posts
        with count_statements() as c:
            all_tags = await db.select(RelTag).order_by(RelTag.id).preload(RelTag.posts).collect()
        assert c.n == 2, c.statements
        for t in all_tags:
            assert by_id(t.posts) == await posts_tagged(db, t.id), t.name
        assert {t.name: len(t.posts) for t in all_tags} == {"sql": 3, "py": 3, "unused": 0}
        unused = next(t for t in all_tags if t.name == "unused")
        assert unused.posts == []
        assert unused.id == blog.tags["unused"].id

    # -- nested ------------------------------------------------------------------------------------
    async def test_nested_preload_is_three_statements_for_one_and_fifty(
        self, db: Connection
    ) -> None:
        await fresh_tables(db, *BLOG)
        tags = [RelTag(name=f"t{i}") for i in range(5)]
        await db.insert(tags)
        authors = [RelAuthor(name=f"w{i:02d}") for i in range(50)]
        await db.insert(authors)
        posts = [
            RelPost(author_id=a.id, title=f"{a.name}-{j}")
            for i, a in enumerate(authors)
            for j in range(i % 3)
        ]
        await db.insert(posts)
        await db.insert(
            [
                RelPostTag(post_id=p.id, tag_id=tags[k].id)
                for n, p in enumerate(posts)
                for k in range(n % 4)
            ]
        )
        query = db.select(RelAuthor).order_by(RelAuthor.id).preload(RelAuthor.posts, RelPost.tags)
        with count_statements() as c:
            one = await query.filter(RelAuthor.name == "w05").collect()
        assert c.n == 3, c.statements
        with count_statements() as c:
            fifty = await query.collect()
        assert c.n == 3, c.statements
        assert len(fifty) == 50
        assert fifty[5] == one[0]
        assert [p.title for p in one[0].posts] == ["w05-0", "w05-1"]
        for a in fifty:
            assert a.posts == await posts_of(db, a.id), a.name
            for p in a.posts:
                assert by_id(p.tags) == await tags_of(db, p.id), p.title
        assert sum(len(p.tags) for a in fifty for p in a.posts) == sum(
            n % 4 for n in range(len(posts))
        )

    # -- self-referencing --------------------------------------------------------------------------
    async def test_self_referencing_tree(self, db: Connection) -> None:
        cats = await seed_tree(db)
        # every category: its parent and its children
        with count_statements() as c:
            everything = await (
                db.select(RelCategory)
                .order_by(RelCategory.id)
                .preload(RelCategory.parent, RelCategory.children)
                .collect()
            )
        assert c.n == 3, c.statements
        # the selected rows only: the parents and children loaded are not results
        assert [cat.name for cat in everything] == ["root", "lone", "b", "a", "a2", "a1"]
        for cat in everything:
            want_parent = (
                None if cat.parent_id is None else await db.find(RelCategory, cat.parent_id)
            )
            assert cat.parent == want_parent, cat.name
            want_children = (
                await db.select(RelCategory)
                .filter(RelCategory.parent_id == cat.id)
                .order_by(RelCategory.id)
                .collect()
            )
            assert cat.children == want_children, cat.name
        named = {cat.name: cat for cat in everything}
        assert [ch.name for ch in named["root"].children] == ["b", "a"]  # id order
        assert [ch.name for ch in named["a"].children] == ["a2", "a1"]
        assert named["b"].children == []
        assert named["lone"].children == []
        assert named["root"].parent is None
        assert named["a1"].parent is not None
        assert named["a1"].parent.name == "a"

        # three levels from the roots: roots -> children -> grandchildren
        with count_statements() as c:
            roots = await (
                db.select(RelCategory)
                .filter(col(RelCategory.parent_id).is_null())
                .order_by(RelCategory.id)
                .preload(RelCategory.children, RelCategory.children)
                .collect()
            )
        assert c.n == 3, c.statements
        assert [r.name for r in roots] == ["root", "lone"]
        root = roots[0]
        assert [ch.name for ch in root.children] == ["b", "a"]
        assert [[g.name for g in ch.children] for ch in root.children] == [[], ["a2", "a1"]]
        assert root.children[1].children == [cats["a2"], cats["a1"]]

        # the third level on objects in hand
        level2 = [ch for r in roots for ch in r.children]
        grandchildren = [g for ch in level2 for g in ch.children]
        with count_statements() as c:
            assert await db.preload(grandchildren, RelCategory.children) is grandchildren
        assert c.n == 1, c.statements
        assert [g.children for g in grandchildren] == [[], []]

    # -- composite keys ----------------------------------------------------------------------------
    async def test_composite_keys(self, db: Connection) -> None:
        orders, _ = await seed_orders(db)
        with count_statements() as c:
            got = await (
                db.select(RelOrder)
                .order_by(RelOrder.region, RelOrder.number)
                .preload(RelOrder.lines)
                .collect()
            )
        assert c.n == 2, c.statements
        for o in got:
            manual = (
                await db.select(RelLine)
                .filter(RelLine.order_region == o.region, RelLine.order_number == o.number)
                .order_by(RelLine.id)
                .collect()
            )
            assert o.lines == manual, o.note
        assert {o.note: [ln.qty for ln in o.lines] for o in got} == {
            "eu1": [1, 2],
            "eu2": [],
            "us1": [5, 6],
        }
        with count_statements() as c:
            back = await db.select(RelLine).order_by(RelLine.id).preload(RelLine.order).collect()
        assert c.n == 2, c.statements
        assert [ln.order.note if ln.order else None for ln in back] == [
            "us1",
            "eu1",
            "eu1",
            None,
            "us1",
        ]
        assert back[0].order is back[4].order
        assert back[0].order == orders[2]
        with count_statements() as c:
            joined = await db.select(RelLine).order_by(RelLine.id).include(RelLine.order).collect()
        assert c.n == 1, c.statements
        assert [ln.order for ln in joined] == [ln.order for ln in back]

    async def test_references_a_unique_column(self, db: Connection) -> None:
        await fresh_tables(db, RelCountry, RelCity)
        # ids and codes in opposite orders: a key mix-up cannot pass
        countries = [RelCountry(code=c) for c in ("zz", "fr", "de")]
        await db.insert(countries)
        cities = [
            RelCity(name="Paris", country_code="fr"),
            RelCity(name="Nowhere", country_code=None),
            RelCity(name="Lyon", country_code="fr"),
            RelCity(name="Bonn", country_code="de"),
        ]
        await db.insert(cities)
        with count_statements() as c:
            got = await db.select(RelCity).order_by(RelCity.id).preload(RelCity.country).collect()
        assert c.n == 2, c.statements
        assert [x.country.code if x.country else None for x in got] == ["fr", None, "fr", "de"]
        assert got[0].country == await db.select(RelCountry).filter(RelCountry.code == "fr").first()
        with count_statements() as c:
            back = await (
                db.select(RelCountry).order_by(RelCountry.id).preload(RelCountry.cities).collect()
            )
        assert c.n == 2, c.statements
        assert {x.code: [y.name for y in x.cities] for x in back} == {
            "zz": [],
            "fr": ["Paris", "Lyon"],
            "de": ["Bonn"],
        }
        for x in back:
            manual = (
                await db.select(RelCity)
                .filter(RelCity.country_code == x.code)
                .order_by(RelCity.id)
                .collect()
            )
            assert x.cities == manual, x.code
        with count_statements() as c:
            joined = (
                await db.select(RelCity).order_by(RelCity.id).include(RelCity.country).collect()
            )
        assert c.n == 1, c.statements
        assert [x.country for x in joined] == [x.country for x in got]

    async def test_composite_keys_many_parents(self, db: Connection) -> None:
        # 1,500 two-column keys in one preload (beyond SQLite's expression depth of 1,000)
        n = 1500
        await fresh_tables(db, RelOrder, RelLine)
        await db.insert([RelOrder(region=f"r{i % 3}", number=i, note=str(i)) for i in range(n)])
        children = [
            RelLine(order_region=f"r{i % 3}", order_number=i, qty=i) for i in range(0, n, 7)
        ]
        await db.insert(children)
        with count_statements() as c:
            got = (
                await db.select(RelOrder)
                .order_by(RelOrder.number)
                .preload(RelOrder.lines)
                .collect()
            )
        # one statement for the keys, or one per preload_max_keys (MariaDB: 999)
        chunk = db.dialect.preload_max_keys or n
        assert c.n == 1 + -(-n // chunk), len(c.statements)
        assert len(got) == n
        assert [[ln.qty for ln in o.lines] for o in got] == [
            [i] if i % 7 == 0 else [] for i in range(n)
        ]
        with count_statements() as c:
            lines = await db.select(RelLine).order_by(RelLine.id).preload(RelLine.order).collect()
        assert c.n == 2, len(c.statements)
        assert [ln.order.note if ln.order else None for ln in lines] == [
            str(i) for i in range(0, n, 7)
        ]

    async def test_composite_keys_beyond_the_bind_limit(self, db: Connection) -> None:
        # more parents than one statement may bind two key columns for
        n = db.dialect.max_bind_params // 2 + 25
        if n > MAX_BIND_LIMIT_PARENTS:
            pytest.skip(
                f"{db.dialect.max_bind_params} bind parameters: {n} parents would take seconds "
                f"(this test runs up to {MAX_BIND_LIMIT_PARENTS})"
            )
        await fresh_tables(db, RelOrder, RelLine)
        await db.insert([RelOrder(region=f"r{i % 7}", number=i, note="") for i in range(n)])
        step = max(1, n // 500)
        children = [
            RelLine(order_region=f"r{i % 7}", order_number=i, qty=i) for i in range(0, n, step)
        ]
        children.append(RelLine(order_region="r0", order_number=n - 1 - (n - 1) % 7, qty=-1))
        await db.insert(children)
        with count_statements() as c:
            got = await db.select(RelOrder).preload(RelOrder.lines).collect()
        assert len(got) == n
        assert 2 <= c.n <= 2 + (2 * n) // db.dialect.max_bind_params + 1, len(c.statements)
        expected: dict[tuple[str, int], list[int]] = {}
        for ln in children:
            assert ln.order_region is not None
            assert ln.order_number is not None
            expected.setdefault((ln.order_region, ln.order_number), []).append(ln.qty)
        loaded = {(o.region, o.number): [ln.qty for ln in o.lines] for o in got if o.lines}
        assert loaded == expected
        assert sum(1 for o in got if o.lines == []) == n - len(expected)

    # -- preload on other query shapes -------------------------------------------------------------
    async def test_preload_with_filter_order_range_and_join(self, db: Connection) -> None:
        await seed(db)
        with count_statements() as c:
            got = await (
                db.select(RelAuthor)
                .filter(col(RelAuthor.name).in_(["Bob", "Dee", "Cid"]))
                .order_by(col(RelAuthor.name).desc())
                .range(0, 2)
                .preload(RelAuthor.posts, RelPost.tags)
                .collect()
            )
        assert c.n == 3, c.statements
        assert [a.name for a in got] == ["Dee", "Cid"]
        for a in got:
            assert a.posts == await posts_of(db, a.id)
            for p in a.posts:
                assert by_id(p.tags) == await tags_of(db, p.id)
        assert [[t.name for t in p.tags] for p in got[0].posts] == [["py"]]
        # an inner join filters the owners; the preload sees only the selected ones
        with count_statements() as c:
            with_profile = await (
                db.select(RelAuthor)
                .join(RelProfile, RelProfile.author_id == RelAuthor.id)
                .filter(RelProfile.bio != "")
                .order_by(RelAuthor.id)
                .preload(RelAuthor.posts)
                .collect()
            )
        assert c.n == 2, c.statements
        assert [a.name for a in with_profile] == ["Ann", "Dee"]
        for a in with_profile:
            assert a.posts == await posts_of(db, a.id)
        # a two-model select: the preload's owner is one of the selected models
        with count_statements() as c:
            pairs = await (
                db.select(RelPost, RelAuthor)
                .join(RelAuthor, RelPost.author_id == RelAuthor.id)
                .filter(RelAuthor.name == "Ann")
                .order_by(RelPost.id)
                .preload(RelPost.tags, RelAuthor.profile)
                .collect()
            )
        assert c.n == 3, c.statements
        assert [p.title for p, _ in pairs] == ["a3", "a1", "a2"]
        for p, a in pairs:
            assert by_id(p.tags) == await tags_of(db, p.id)
            assert a.profile is not None
            assert a.profile.bio == "ann's bio"

    async def test_preload_with_first(self, db: Connection) -> None:
        await seed(db)
        with count_statements() as c:
            ann = await (
                db.select(RelAuthor)
                .order_by(RelAuthor.id)
                .preload(RelAuthor.posts, RelPost.tags, RelAuthor.profile)
                .first()
            )
        assert c.n == 4, c.statements
        assert ann is not None
        assert ann.name == "Ann"
        assert ann.posts == await posts_of(db, ann.id)
        assert [sorted(t.name for t in p.tags) for p in ann.posts] == [["py", "sql"], ["py"], []]
        assert ann.profile is not None
        assert ann.profile.bio == "ann's bio"
        with count_statements() as c:
            nobody = (
                await db.select(RelAuthor)
                .filter(RelAuthor.name == "nobody")
                .preload(RelAuthor.posts)
                .first()
            )
        assert nobody is None
        assert c.n == 1, c.statements

    @requires("statements_during_stream")
    async def test_preload_with_stream_per_batch(self, db: Connection) -> None:
        await seed(db)
        got: list[RelAuthor] = []
        with count_statements() as c:
            query = db.select(RelAuthor).order_by(RelAuthor.id).preload(RelAuthor.posts)
            async for a in query.stream(batch=3):
                # loaded when the object is yielded, batch by batch
                got.append(a)
                assert type(a.posts) is list
        # the stream (1) + one preload per batch of 3 authors (2)
        assert c.n == 3, c.statements
        assert [a.name for a in got] == ["Ann", "Bob", "Cid", "Dee"]
        for a in got:
            assert a.posts == await posts_of(db, a.id)

    @lacks("statements_during_stream")
    async def test_preload_with_stream_on_one_connection_not_supported(
        self, db: Connection
    ) -> None:
        await seed(db)
        query = db.select(RelAuthor).order_by(RelAuthor.id).preload(RelAuthor.posts)
        with pytest.raises(NotSupportedError):
            async for _ in query.stream(batch=3):
                pass
        # the connection is still usable; a plain stream still works
        names = [a.name async for a in db.select(RelAuthor).order_by(RelAuthor.id).stream()]
        assert names == ["Ann", "Bob", "Cid", "Dee"]

    # -- objects in hand ---------------------------------------------------------------------------
    async def test_conn_preload_on_objects_in_hand(self, db: Connection) -> None:
        await seed(db)
        authors = await db.select(RelAuthor).order_by(RelAuthor.id).collect()
        with count_statements() as c:
            same = await db.preload(authors, RelAuthor.posts, RelPost.tags)
        assert same is authors
        assert c.n == 2, c.statements
        for a in authors:
            assert a.posts == await posts_of(db, a.id)
            for p in a.posts:
                assert by_id(p.tags) == await tags_of(db, p.id)
        # one object
        post = await db.select(RelPost).filter(RelPost.title == "a3").first()
        assert post is not None
        with count_statements() as c:
            one = await db.preload(post, RelPost.author, RelPost.tags)
        assert one is post
        assert c.n == 2, c.statements
        assert post.author == await db.find(RelAuthor, post.author_id)
        assert [t.name for t in by_id(post.tags)] == ["sql", "py"]
        # an empty list: nothing to do, no statement
        with count_statements() as c:
            assert await db.preload([], RelAuthor.posts) == []
        assert c.n == 0, c.statements

    # -- include -----------------------------------------------------------------------------------
    async def test_include_to_one_in_one_statement(self, db: Connection) -> None:
        await seed(db)
        with count_statements() as c:
            posts = await db.select(RelPost).order_by(RelPost.id).include(RelPost.author).collect()
        assert c.n == 1, c.statements
        assert len(posts) == 8
        plain = await db.select(RelPost).order_by(RelPost.id).collect()
        assert posts == plain
        for p in posts:
            want = None if p.author_id is None else await db.find(RelAuthor, p.author_id)
            assert p.author == want, p.title
        assert [p.author for p in posts if p.title == "orphan"] == [None]
        # include needs no other statement: it streams on one connection on every backend
        query = db.select(RelPost).order_by(RelPost.id).include(RelPost.author)
        with count_statements() as c:
            streamed = [p async for p in query.stream(batch=3)]
        assert c.n == 1, c.statements
        assert streamed == posts
        assert [p.author for p in streamed] == [p.author for p in posts]
        first = await query.filter(col(RelPost.author_id).is_null()).first()
        assert first is not None
        assert (first.title, first.author) == ("orphan", None)
        with count_statements() as c:
            authors = (
                await db.select(RelAuthor)
                .order_by(RelAuthor.id)
                .include(RelAuthor.profile)
                .collect()
            )
        assert c.n == 1, c.statements
        assert [a.profile.bio if a.profile else None for a in authors] == [
            "ann's bio",
            None,
            None,
            "dee's bio",
        ]

    # -- pool --------------------------------------------------------------------------------------
    async def test_preload_through_a_pool(self, db: Connection, ormer_url: str) -> None:
        await seed(db)
        async with await Database.create_pool(ormer_url).max_size(2).build() as pool:
            async with pool.get() as warm:  # open the connection outside the count
                assert await warm.select(RelAuthor).count() == 4
            with count_statements() as c:
                authors = await (
                    pool.select(RelAuthor)
                    .order_by(RelAuthor.id)
                    .preload(RelAuthor.posts, RelPost.tags)
                    .collect()
                )
            assert c.n == 3, c.statements
            assert c.checkouts == 1, "root query and preloads on one borrowed connection"
            for a in authors:
                assert a.posts == await posts_of(db, a.id)
                for p in a.posts:
                    assert by_id(p.tags) == await tags_of(db, p.id)
            # stream + preload works through a pool on every backend
            streamed = [
                a
                async for a in pool.select(RelAuthor)
                .order_by(RelAuthor.id)
                .preload(RelAuthor.posts)
                .stream(batch=2)
            ]
            assert [a.name for a in streamed] == ["Ann", "Bob", "Cid", "Dee"]
            assert [a.posts for a in streamed] == [a.posts for a in authors]
            # preload on objects in hand through the pool
            posts = await pool.select(RelPost).order_by(RelPost.id).collect()
            assert await pool.preload(posts, RelPost.author) is posts
            assert [p.author.name if p.author else None for p in posts] == [
                "Bob",
                "Ann",
                "Ann",
                None,
                "Bob",
                "Ann",
                "Dee",
                "Bob",
            ]

    # -- unloaded access, not columns, misuse ------------------------------------------------------
    async def test_unloaded_relation_raises(self, db: Connection) -> None:
        await seed(db)
        ann = await db.select(RelAuthor).filter(RelAuthor.name == "Ann").first()
        assert ann is not None
        with pytest.raises(RelationNotLoadedError) as info:
            _ = ann.posts
        message = str(info.value)
        assert "RelAuthor.posts" in message
        assert "preload" in message
        with pytest.raises(RelationNotLoadedError, match=r"RelAuthor\.profile"):
            _ = ann.profile
        post = RelPost(title="new")  # a new object: nothing loaded either
        with pytest.raises(RelationNotLoadedError, match=r"RelPost\.author"):
            _ = post.author
        with pytest.raises(RelationNotLoadedError, match=r"RelPost\.tags"):
            _ = post.tags
        # loading one relation loads no other
        await db.preload(ann, RelAuthor.posts)
        assert len(ann.posts) == 3
        with pytest.raises(RelationNotLoadedError, match=r"RelAuthor\.profile"):
            _ = ann.profile

    async def test_relations_are_not_columns(self, db: Connection) -> None:
        info = table_of(RelAuthor)
        assert set(info.columns) == {"id", "name"}
        assert set(table_of(RelPost).columns) == {"id", "author_id", "title"}
        with count_statements() as c:
            await fresh_tables(db, *BLOG)
        # CREATE TABLE "suite_rel_author" (...): the table named before the column list
        author_ddl = [
            s
            for s in c.statements
            if "CREATE" in s.upper() and "suite_rel_author" in s.split("(")[0]
        ]
        assert len(author_ddl) == 1, c.statements
        columns = author_ddl[0].split("(", 1)[1]
        assert "name" in columns
        assert "posts" not in columns
        assert "profile" not in columns
        with pytest.raises(TypeError):
            RelAuthor(**{"name": "x", "posts": []})
        ann = RelAuthor(name="Ann")
        assert "posts" not in repr(ann)
        ann.posts = [RelPost(title="not written")]  # assigning is not a write
        with count_statements() as c:
            await db.insert(ann)
        assert len(c.statements) == 1, c.statements
        assert "posts" not in c.statements[0]
        assert asdict(ann) == {"id": ann.id, "name": "Ann"}
        ann.name = "Anne"
        with count_statements() as c:
            assert await db.update(ann) == 1
        assert len(c.statements) == 1, c.statements
        assert "posts" not in c.statements[0]
        assert await db.select(RelAuthor.name).scalars().collect() == ["Anne"]
        assert await db.select(RelPost).count() == 0
        assert await db.select(RelAuthor).collect() == [ann]
        # loaded relations do not take part in == or repr
        await db.insert(RelPost(author_id=ann.id, title="t"))
        loaded = await db.select(RelAuthor).preload(RelAuthor.posts).first()
        plain = await db.select(RelAuthor).first()
        assert loaded is not None
        assert plain is not None
        assert loaded == plain
        assert repr(loaded) == repr(plain)
        assert "RelPost" not in repr(loaded)
        # on the class, a relation is an ormer.Relation
        relation: Any = RelAuthor.posts
        assert isinstance(relation, ormer.Relation)

    async def test_unknown_target_name(self, db: Connection) -> None:
        class RelDangling(Model, table="suite_rel_dangling"):
            id: int = primary(auto=True)
            name: str = field(max_length=10)
            things: list[Any] = has_many("RelNoSuchModelAnywhere", foreign_key="dangling_id")

        await fresh_tables(db, RelDangling)
        await db.insert(RelDangling(name="x"))
        with pytest.raises(ConfigurationError, match="RelNoSuchModelAnywhere"):
            await db.select(RelDangling).preload(RelDangling.things).collect()

    async def test_preload_owner_not_loaded(self, db: Connection) -> None:
        await seed(db)
        # Post.tags: no Post is selected, and no earlier argument loads posts
        with pytest.raises(ConfigurationError):
            db.select(RelAuthor).preload(RelPost.tags)
        with pytest.raises(ConfigurationError):
            db.select(RelAuthor).preload(RelPost.tags, RelAuthor.posts)
        with pytest.raises(ConfigurationError):
            db.select(RelTag).include(RelAuthor.profile)
        # a has_many cannot ride a LEFT JOIN
        with pytest.raises(ConfigurationError):
            db.select(RelAuthor).include(RelAuthor.posts)

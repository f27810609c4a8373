"""Random relation graphs and their pure-Python oracle, for the preload property.

A :class:`GraphCase` is a blog: authors, posts (some without author), tags and
post-tag links, every primary key drawn at random (so a key order is never the
insert order) and the rows inserted in a shuffled order; and a forest of
categories (a self-referencing model: ``parent`` and ``children``). :class:`GraphOracle`
says what each relation holds, from the generated rows alone: what
``preload(GAuthor.posts, GPost.tags)``, ``preload(GPost.author)``,
``include(GPost.author)``, ``preload(GTag.posts)`` and
``preload(GCategory.parent, GCategory.children)`` must put on the objects.

The models have fixed table names (``prop_rel_*``): each example creates and
drops them (``ormer.testing.properties.check_preload``), on a database of its own
(the property tests' per-session schema or in-memory file).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from .. import Model, belongs_to, foreign_key, has_many, many_to_many, primary
from .. import field as model_field

__all__ = [
    "GAuthor",
    "GCategory",
    "GPost",
    "GPostTag",
    "GTag",
    "GRAPH_MODELS",
    "GraphCase",
    "GraphOracle",
    "graph_cases",
]

#: primary keys are drawn from 1..KEY_MAX
KEY_MAX = 10**6


class GAuthor(Model, table="prop_rel_author"):
    id: int = primary()
    name: str = model_field(max_length=20)
    posts: list[GPost] = has_many("GPost", foreign_key="author_id")


class GTag(Model, table="prop_rel_tag"):
    id: int = primary()
    name: str = model_field(max_length=20)
    posts: list[GPost] = many_to_many(
        "GPost", through="GPostTag", source_key="tag_id", target_key="post_id"
    )


class GPost(Model, table="prop_rel_post"):
    id: int = primary()
    author_id: int | None = foreign_key("prop_rel_author.id", default=None)
    title: str = model_field(max_length=20)
    author: GAuthor | None = belongs_to(GAuthor, foreign_key="author_id")
    tags: list[GTag] = many_to_many(
        GTag, through="GPostTag", source_key="post_id", target_key="tag_id"
    )


class GPostTag(Model, table="prop_rel_post_tag"):
    id: int = primary()
    post_id: int = foreign_key("prop_rel_post.id")
    tag_id: int = foreign_key("prop_rel_tag.id")


class GCategory(Model, table="prop_rel_category"):
    id: int = primary()
    parent_id: int | None = foreign_key("prop_rel_category.id", default=None)
    parent: GCategory | None = belongs_to("GCategory", foreign_key="parent_id")
    children: list[GCategory] = has_many("GCategory", foreign_key="parent_id")


#: parents first (create in this order, drop in reverse)
GRAPH_MODELS: tuple[type[Model], ...] = (GAuthor, GTag, GPost, GPostTag, GCategory)


@dataclass
class GraphCase:
    """The rows of one example, each list in the order it is inserted."""

    authors: list[GAuthor]
    tags: list[GTag]
    posts: list[GPost]
    links: list[GPostTag]
    #: a forest, each category after its parent
    categories: list[GCategory] = field(default_factory=list)

    def shape(self) -> str:
        """A short description for the coverage report: sizes and NULL foreign keys."""
        orphans = sum(1 for p in self.posts if p.author_id is None)
        return (
            f"{len(self.authors)}a/{len(self.posts)}p/{orphans}null/"
            f"{len(self.tags)}t/{len(self.links)}l/{len(self.categories)}c"
        )


@st.composite
def graph_cases(draw: st.DrawFn) -> GraphCase:
    """0-8 authors with 0-5 posts each, 0-3 posts without author, 0-5 tags, random links."""
    keys = st.integers(1, KEY_MAX)
    author_ids = draw(st.lists(keys, unique=True, max_size=8))
    tag_ids = draw(st.lists(keys, unique=True, max_size=5))
    owners: list[int | None] = []
    for author_id in author_ids:
        owners += [author_id] * draw(st.integers(0, 5))
    owners += [None] * draw(st.integers(0, 3))
    post_ids = draw(st.lists(keys, unique=True, min_size=len(owners), max_size=len(owners)))
    posts = [
        GPost(id=pid, author_id=owner, title=f"p{pid}") for pid, owner in zip(post_ids, owners)
    ]
    pairs: list[tuple[int, int]] = []
    for post in posts:
        if tag_ids:
            linked = draw(st.lists(st.sampled_from(tag_ids), unique=True, max_size=len(tag_ids)))
            pairs += [(post.id, tag_id) for tag_id in linked]
    pairs = draw(st.permutations(pairs))
    link_ids = draw(st.lists(keys, unique=True, min_size=len(pairs), max_size=len(pairs)))
    category_ids = draw(st.lists(keys, unique=True, max_size=8))
    categories: list[GCategory] = []
    for cid in category_ids:  # a parent among the categories drawn before, or none
        parent = draw(st.none() | st.sampled_from(categories)) if categories else None
        categories.append(GCategory(id=cid, parent_id=parent.id if parent else None))
    return GraphCase(
        authors=draw(st.permutations([GAuthor(id=i, name=f"a{i}") for i in author_ids])),
        tags=draw(st.permutations([GTag(id=i, name=f"t{i}") for i in tag_ids])),
        posts=draw(st.permutations(posts)),
        links=[GPostTag(id=lid, post_id=p, tag_id=t) for lid, (p, t) in zip(link_ids, pairs)],
        categories=categories,
    )


@dataclass
class GraphOracle:
    """What each relation holds, computed from a case's rows (keys in key order)."""

    #: author id -> ids of its posts, ascending (has_many orders by the target's key)
    posts_of: dict[int, list[int]] = field(default_factory=dict)
    #: post id -> ids of its tags, ascending (many_to_many promises no order: compare sorted)
    tags_of: dict[int, list[int]] = field(default_factory=dict)
    #: tag id -> ids of its posts, ascending
    posts_tagged: dict[int, list[int]] = field(default_factory=dict)
    #: post id -> its author id, or None
    author_of: dict[int, int | None] = field(default_factory=dict)
    #: category id -> its parent's id, or None
    parent_of: dict[int, int | None] = field(default_factory=dict)
    #: category id -> ids of its children, ascending
    children_of: dict[int, list[int]] = field(default_factory=dict)
    #: rows by primary key, as generated
    rows: dict[tuple[type[Model], int], Model] = field(default_factory=dict)

    @classmethod
    def of(cls, case: GraphCase) -> GraphOracle:
        """The oracle of ``case``."""
        o = cls()
        o.posts_of = {a.id: [] for a in case.authors}
        o.tags_of = {p.id: [] for p in case.posts}
        o.posts_tagged = {t.id: [] for t in case.tags}
        for p in case.posts:
            o.author_of[p.id] = p.author_id
            if p.author_id is not None:
                o.posts_of[p.author_id].append(p.id)
        for link in case.links:
            o.tags_of[link.post_id].append(link.tag_id)
            o.posts_tagged[link.tag_id].append(link.post_id)
        o.children_of = {c.id: [] for c in case.categories}
        for c in case.categories:
            o.parent_of[c.id] = c.parent_id
            if c.parent_id is not None:
                o.children_of[c.parent_id].append(c.id)
        lists = (o.posts_of, o.tags_of, o.posts_tagged, o.children_of)
        for ids in (ids for mapping in lists for ids in mapping.values()):
            ids.sort()
        rows: list[Any] = [*case.authors, *case.tags, *case.posts, *case.categories]
        o.rows = {(type(r), r.id): r for r in rows}
        return o

    def row(self, model: type[Model], key: int) -> Model:
        """The generated row of ``model`` with primary key ``key``."""
        return self.rows[(model, key)]

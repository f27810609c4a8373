"""Relation declarations, resolution and the SQL they compile to (no database here: the
loading itself is tested on every backend by ormer.testing.suite.test_relations)."""

from __future__ import annotations

import pytest

from ormer import (
    ConfigurationError,
    Model,
    Relation,
    RelationNotLoadedError,
    asdict,
    belongs_to,
    field,
    foreign_key,
    has_many,
    has_one,
    many_to_many,
    primary,
    table_of,
)
from ormer.planner import statement_plan
from ormer.plugins import get_dialect
from ormer.preload import _statement


class RAuthor(Model, table="r_authors"):
    id: int = primary(auto=True)
    name: str = field(max_length=50)
    posts: list[RPost] = has_many("RPost", foreign_key="author_id", order_by=("-title", "id"))
    profile: RProfile | None = has_one("RProfile", foreign_key="author_id")


class RProfile(Model, table="r_profiles"):
    id: int = primary(auto=True)
    author_id: int = foreign_key("r_authors.id")


class RPost(Model, table="r_posts"):
    id: int = primary(auto=True)
    author_id: int | None = foreign_key("r_authors.id", default=None)
    title: str = field(max_length=50)
    author: RAuthor | None = belongs_to(RAuthor, foreign_key="author_id")
    tags: list[RTag] = many_to_many(
        "RTag", through="RPostTag", source_key="post_id", target_key="tag_id"
    )


class RTag(Model, table="r_tags"):
    id: int = primary(auto=True)
    name: str = ""


class RPostTag(Model, table="r_post_tags"):
    post_id: int = primary()
    tag_id: int = primary()


class ROrg(Model, table="r_orgs"):
    region: str = primary(max_length=10)
    code: int = primary()
    members: list[RMember] = has_many("RMember", foreign_key=("org_region", "org_code"))


class RMember(Model, table="r_members"):
    id: int = primary(auto=True)
    org_region: str = field(max_length=10)
    org_code: int = 0
    org: ROrg | None = belongs_to("ROrg", foreign_key=("org_region", "org_code"))


def test_relations_are_not_columns() -> None:
    info = table_of(RAuthor)
    assert [f.attr for f in info.fields] == ["id", "name"]
    author = RAuthor(name="Ann")
    assert repr(author) == "RAuthor(id=None, name='Ann')"
    assert asdict(author) == {"id": None, "name": "Ann"}
    with pytest.raises(TypeError):
        RAuthor(name="Ann", posts=[])  # type: ignore[call-arg]
    dialect = get_dialect("sqlite")
    sql = " ".join(dialect.compiler(dialect).create_table_sql(info, False))
    assert '"id"' in sql and '"name"' in sql
    assert "posts" not in sql and "profile" not in sql


def test_equality_ignores_loaded_relations() -> None:
    a, b = RAuthor(id=1, name="Ann"), RAuthor(id=1, name="Ann")
    a.posts = [RPost(title="x")]
    assert a == b and b == a
    assert a != RAuthor(id=2, name="Ann")
    assert repr(a) == repr(b)


def test_class_attribute_is_the_relation() -> None:
    rel = RAuthor.posts
    assert isinstance(rel, Relation)
    assert (rel.owner, rel.name, rel.kind, rel.to_many) == (RAuthor, "posts", "has_many", True)
    assert rel.target is RPost  # a forward name, resolved on first use
    assert repr(RPost.author) == "<belongs_to RPost.author>"
    assert not RPost.author.to_many


def test_unloaded_relation_raises_and_names_it() -> None:
    post = RPost(title="x")
    with pytest.raises(RelationNotLoadedError, match=r"RPost\.author was not loaded.*preload"):
        _ = post.author
    with pytest.raises(RelationNotLoadedError, match=r"RAuthor\.posts"):
        _ = RAuthor(name="a").posts
    post.author = None  # assigning is not a write, and makes it readable
    assert post.author is None


def test_unknown_target_name_raises_naming_it() -> None:
    class Lonely(Model, table="r_lonely"):
        id: int = primary(auto=True)
        friends: list[Model] = has_many("NoSuchModel", foreign_key="lonely_id")

    with pytest.raises(ConfigurationError, match=r"Lonely\.friends: no model named 'NoSuchModel'"):
        Lonely.friends.resolve()  # type: ignore[attr-defined]


def test_bad_key_fields_raise_at_resolution() -> None:
    class Bad(Model, table="r_bad"):
        id: int = primary(auto=True)
        posts: list[RPost] = has_many(RPost, foreign_key="nope")
        owner: RAuthor | None = belongs_to(RAuthor, foreign_key="missing")
        wide: list[RPost] = has_many(RPost, foreign_key=("author_id", "title"))

    with pytest.raises(ConfigurationError, match="foreign_key 'nope' is not a field of RPost"):
        Bad.posts.resolve()  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="foreign_key 'missing' is not a field of Bad"):
        Bad.owner.resolve()  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match=r"2 key field\(s\).*1 referenced"):
        Bad.wide.resolve()  # type: ignore[attr-defined]


def test_declaration_errors() -> None:
    with pytest.raises(ConfigurationError, match="model class or its name"):
        has_many(42, foreign_key="x")
    with pytest.raises(ConfigurationError, match="field name"):
        belongs_to("X", foreign_key=())


def test_composite_keys_pair_in_order() -> None:
    res = ROrg.members.resolve()  # type: ignore[attr-defined]
    assert [f.attr for f in res.local] == ["region", "code"]
    assert [f.attr for f in res.remote] == ["org_region", "org_code"]
    back = RMember.org.resolve()  # type: ignore[attr-defined]
    assert [f.attr for f in back.local] == ["org_region", "org_code"]
    assert [f.attr for f in back.remote] == ["region", "code"]


def test_preload_statements_sql() -> None:
    dialect = get_dialect("sqlite")

    def sql(rel: Relation, keys: list[object]) -> str:
        return statement_plan(dialect, _statement(rel, rel.resolve(), keys))[0].sql

    assert sql(RAuthor.posts, [1, 2]) == (  # type: ignore[arg-type]
        'SELECT "r_posts"."id", "r_posts"."author_id", "r_posts"."title" FROM "r_posts" '
        'WHERE "r_posts"."author_id" IN (SELECT value FROM json_each(?)) '
        'ORDER BY "r_posts"."title" DESC, "r_posts"."id" ASC'
    )
    assert sql(RPost.author, [3]) == (  # type: ignore[arg-type]
        'SELECT "r_authors"."id", "r_authors"."name" FROM "r_authors" '
        'WHERE "r_authors"."id" IN (SELECT value FROM json_each(?))'
    )
    assert sql(RPost.tags, [1]) == (  # type: ignore[arg-type]
        'SELECT "r_tags"."id", "r_tags"."name", "r_post_tags"."post_id" FROM "r_tags" '
        'JOIN "r_post_tags" ON "r_post_tags"."tag_id" = "r_tags"."id" '
        'WHERE "r_post_tags"."post_id" IN (SELECT value FROM json_each(?)) '
        'ORDER BY "r_tags"."id" ASC'
    )
    composite = sql(ROrg.members, [("eu", 1), ("us", 2)])  # type: ignore[arg-type]
    assert composite.endswith(
        'WHERE ("r_members"."org_region", "r_members"."org_code") IN (VALUES (?, ?), (?, ?)) '
        'ORDER BY "r_members"."id" ASC'
    )
    pg = get_dialect("postgresql")
    composite_pg = statement_plan(pg, _statement(ROrg.members, ROrg.members.resolve(), [("eu", 1)]))  # type: ignore[attr-defined]
    assert "IN (SELECT * FROM unnest($1::text[], $2::bigint[]))" in composite_pg[0].sql

"""Relation property: preloads over random authors/posts/tags graphs (NULL foreign
keys, empty sides) equal the pure-Python oracle of ``ormer.testing.graphs``."""

from __future__ import annotations

from ormer.testing.properties import RelationProperties


class TestRelationProperties(RelationProperties):
    """preload(GAuthor.posts, GPost.tags), preload/include(GPost.author), preload(GTag.posts)."""

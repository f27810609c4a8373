"""Tortoise ORM models over the benchmark tables (imported by Tortoise.init)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from ..common import AUTHOR_TABLE, INSERT_TABLE, POST_TABLE, READ_TABLE, WRITE_TABLE


class TItem(Model):
    id = fields.BigIntField(primary_key=True, generated=False)
    name = fields.TextField()
    email = fields.TextField()
    age = fields.BigIntField()
    score = fields.FloatField()
    note = fields.TextField(null=True)

    class Meta:
        table = READ_TABLE


class TInsertItem(Model):
    id = fields.BigIntField(primary_key=True, generated=False)
    name = fields.TextField()
    email = fields.TextField()
    age = fields.BigIntField()
    score = fields.FloatField()
    note = fields.TextField(null=True)

    class Meta:
        table = INSERT_TABLE


class TWriteItem(Model):
    id = fields.BigIntField(primary_key=True, generated=False)
    name = fields.TextField()
    email = fields.TextField()
    age = fields.BigIntField()
    score = fields.FloatField()
    note = fields.TextField(null=True)

    class Meta:
        table = WRITE_TABLE


class TAuthor(Model):
    id = fields.BigIntField(primary_key=True, generated=False)
    name = fields.TextField()
    posts: fields.ReverseRelation[TPost]

    class Meta:
        table = AUTHOR_TABLE


class TPost(Model):
    id = fields.BigIntField(primary_key=True, generated=False)
    author: fields.ForeignKeyRelation[TAuthor] = fields.ForeignKeyField(
        "bench.TAuthor", related_name="posts", source_field="author_id"
    )
    title = fields.TextField()
    body = fields.TextField()

    class Meta:
        table = POST_TABLE
        ordering = ["id"]  # what the others give: each author's posts by id

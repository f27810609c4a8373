"""Tortoise ORM models over the benchmark tables (imported by Tortoise.init)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from ..common import INSERT_TABLE, READ_TABLE, WRITE_TABLE


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

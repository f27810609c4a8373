"""``version_field()`` declarations and the SQL it adds (docs/writes.md#optimistic-locking),
without a database: the behaviour on each backend is in the compliance suite
(``ormer.testing.suite.test_versioning``).

No ``from __future__ import annotations``: models are declared inside test functions.
"""

from typing import Any

import pytest

import ormer
import ormer.plugins
from ormer import ConfigurationError, Model, StaleObjectError, field, primary, version_field
from ormer.dialect import Dialect
from ormer.errors import OrmerError
from ormer.model import aliased, table_of
from ormer.query import ObjectDelete, ObjectUpdate, Update
from ormer.statements import InsertStmt


class Doc(Model, table="docs"):
    id: int = primary(auto=True)
    title: str = field(max_length=40)
    version: int = version_field()


class Slot(Model, table="slots"):
    rev: int = version_field(default=5, column="row_version")
    code: str = primary(max_length=10)
    label: str = ""


class _OnlyDialect:
    """What ``sql()`` needs of an executor: a ``dialect``. Runs nothing."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect


def _ex(name: str = "sqlite") -> Any:
    return _OnlyDialect(ormer.plugins.get_dialect(name))


def test_exported_names() -> None:
    assert ormer.version_field is version_field
    assert ormer.StaleObjectError is StaleObjectError
    assert issubclass(StaleObjectError, OrmerError)
    assert ormer.errors.StaleObjectError is StaleObjectError


def test_version_field_is_optional_for_type_checkers() -> None:
    """Registered as a dataclass_transform field specifier, ``version_field()`` (no
    ``default=`` at the call) would be a required constructor argument to mypy and
    pyright; unregistered, its call is the field's default. docs/models.md constructs
    a versioned model without the version, and tests/unit/test_typing_check.py runs
    mypy on that page."""
    transform = Model.__dataclass_transform__  # type: ignore[attr-defined]
    assert version_field not in transform["field_specifiers"]
    assert field in transform["field_specifiers"]


def test_table_info_and_defaults() -> None:
    info = table_of(Doc)
    assert info.version is info.field("version")
    assert Doc(title="a").version == 1
    assert Doc(title="a", version=4).version == 4
    slot = table_of(Slot)
    assert slot.version is not None
    assert (slot.version.attr, slot.version.column) == ("rev", "row_version")
    assert Slot(code="s").rev == 5
    assert table_of(aliased(Doc)).version is info.version


def test_models_without_version_field() -> None:
    class Plain(Model):
        id: int = primary()
        name: str = ""

    assert table_of(Plain).version is None


def test_two_version_fields() -> None:
    with pytest.raises(ConfigurationError, match=r"at most one version_field\(\).*v1, v2"):

        class Two(Model):
            id: int = primary()
            v1: int = version_field()
            v2: int = version_field()


@pytest.mark.parametrize("annotation", [str, bool, float, int | None])
def test_version_field_needs_a_non_null_int(annotation: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"Bad\.version: .*non-null int"):
        type(
            "Bad",
            (Model,),
            {
                "__annotations__": {"id": int, "version": annotation},
                "id": primary(),
                "version": version_field(),
            },
        )


def test_version_field_needs_a_primary_key() -> None:
    with pytest.raises(ConfigurationError, match="needs a primary key"):

        class NoKey(Model):
            name: str
            version: int = version_field()


def test_version_field_cannot_be_part_of_the_primary_key() -> None:
    spec = version_field()
    spec.primary = True  # no public specifier does this; a hand-built spec is refused
    with pytest.raises(ConfigurationError, match="cannot be part of the primary key"):
        type(
            "KeyVersion",
            (Model,),
            {"__annotations__": {"version": int, "name": str}, "version": spec},
        )


@pytest.mark.parametrize("default", ["1", 1.0, True, None])
def test_version_default_must_be_an_int(default: Any) -> None:
    with pytest.raises(ConfigurationError, match="default must be an int"):
        version_field(default=default)


def test_object_update_sql() -> None:
    doc = Doc(id=3, title="t", version=7)
    sql, params = ObjectUpdate(_ex(), doc).sql()
    assert sql == (
        'UPDATE "docs" SET "title" = ?, "version" = "docs"."version" + ? '
        'WHERE ("docs"."id" = ?) AND ("docs"."version" = ?)'
    )
    assert params == ["t", 1, 3, 7]
    assert doc.version == 7  # only a successful execute() changes it


def test_object_delete_sql() -> None:
    sql, params = ObjectDelete(_ex(), Slot(code="s", rev=2)).sql()
    assert sql == ('DELETE FROM "slots" WHERE ("slots"."code" = ?) AND ("slots"."row_version" = ?)')
    assert params == ["s", 2]


def test_bulk_update_bumps_unless_it_sets_the_version() -> None:
    ex = _ex()
    base = Update(ex, Doc).filter(Doc.id > 1)
    assert base.set(Doc.title, "x").sql() == (
        'UPDATE "docs" SET "title" = ?, "version" = "docs"."version" + ? WHERE "docs"."id" > ?',
        ["x", 1, 1],
    )
    assert base.set(Doc.version, 9).sql() == (
        'UPDATE "docs" SET "version" = ? WHERE "docs"."id" > ?',
        [9, 1],
    )


def test_upsert_sql_bumps_the_version() -> None:
    sqlite = ormer.plugins.get_dialect("sqlite")
    info = table_of(Doc)
    stmt = InsertStmt(info, info.fields, 1, upsert=True, conflict=info.primary_key)
    assert sqlite.compiler(sqlite).compile_insert(stmt)[0] == (
        'INSERT INTO "docs" ("id", "title", "version") VALUES (?, ?, ?) '
        'ON CONFLICT ("id") DO UPDATE SET "title" = excluded."title", '
        '"version" = "docs"."version" + 1'
    )
    mysql = ormer.plugins.get_dialect("mysql")
    slot = table_of(Slot)
    stmt = InsertStmt(slot, slot.fields, 1, upsert=True, conflict=slot.primary_key)
    assert mysql.compiler(mysql).compile_insert(stmt)[0] == (
        "INSERT INTO `slots` (`row_version`, `code`, `label`) VALUES (%s, %s, %s) "
        "ON DUPLICATE KEY UPDATE `label` = VALUES(`label`), `row_version` = `row_version` + 1"
    )

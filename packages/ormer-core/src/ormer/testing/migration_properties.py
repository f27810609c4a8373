"""Property: ``migrate_table`` turns a random model v1 into v2 (docs/migrations.md).

Each example draws a table in two versions (columns added, dropped, widened, their
nullability, defaults and indexes changed), creates v1 with a few rows, runs
``migrate_table(v2, allow_destructive=True)``, then checks that the live table
(``inspect_table``) equals v2's schema (a new plan has no steps) and that the kept
columns of the rows hold their values (a NULL turned NOT NULL holds v2's default).

A test module subclasses :class:`MigrationProperties` and supplies ``ormer_url``,
as for :mod:`ormer.testing.properties`; it runs ``1/example_share`` of the
profile's examples (each creates and drops a table: ~20 on the ci profile).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from ..model import Model, field, index, primary, unique
from .properties import Target, _Base, profile_name

__all__ = ["ColumnVersion", "MigrationCase", "MigrationProperties", "migration_cases"]

_tables = itertools.count()
_KINDS: dict[str, type] = {"int": int, "str": str, "float": float, "bool": bool}
_DEFAULTS: dict[str, list[Any]] = {
    "int": [0, 7, -3],
    "str": ["", "d'x"],
    "float": [2.5, -1.25],
    "bool": [True, False],
}
_LENGTHS = [8, 20, 40, None]  # VARCHAR(n) ... TEXT: a later entry is wider


@dataclass(frozen=True)
class ColumnVersion:
    """One column in one version of the table."""

    kind: str
    nullable: bool
    default: Any = None  # None: no default
    max_length: int | None = None
    index: bool = False
    unique: bool = False

    def declare(self) -> tuple[Any, Any]:
        """(annotation, field specifier) declaring the column on a model."""
        py: Any = _KINDS[self.kind]
        options: dict[str, Any] = {}
        if self.kind == "str":
            options["max_length"] = self.max_length
        if self.default is not None:
            options["default"] = self.default
        elif self.nullable:
            options["default"] = None
        spec = (
            unique(**options)
            if self.unique
            else index(**options)
            if self.index
            else field(**options)
        )
        return (py | None if self.nullable else py), spec


@dataclass(frozen=True)
class MigrationCase:
    """Columns by name in v1 and v2 (None: absent in that version) and the row count."""

    columns: tuple[tuple[str, ColumnVersion | None, ColumnVersion | None], ...]
    rows: int

    def model(self, version: int, table: str) -> type[Model]:
        # ``k``: in both versions (a model of an auto key only inserts no column)
        annotations: dict[str, Any] = {"id": int, "k": int}
        namespace: dict[str, Any] = {"id": primary(auto=True), "k": field()}
        for name, v1, v2 in self.columns:
            column = v1 if version == 1 else v2
            if column is not None:
                annotations[name], namespace[name] = column.declare()
        namespace["__annotations__"] = annotations
        namespace["__module__"] = __name__
        model: type[Model] = type(f"M{table}v{version}", (Model,), namespace, table=table)
        return model

    def value(self, column: ColumnVersion, row: int) -> Any:
        """The value row ``row`` holds in a v1 column (distinct per row: unique-safe)."""
        if column.nullable and row % 2:
            return None
        return {
            "int": row * 7 - 3,
            "str": f"s{row}",
            "float": row + 0.5,
            "bool": row % 2 == 0,
        }[column.kind]

    def describe(self) -> str:
        def one(c: ColumnVersion | None) -> str:
            if c is None:
                return "-"
            flags = (
                ("?" if c.nullable else "") + ("i" if c.index else "") + ("u" if c.unique else "")
            )
            size = f"({c.max_length})" if c.max_length else ""
            return f"{c.kind}{size}{flags}{'=d' if c.default is not None else ''}"

        return " ".join(f"{one(a)}>{one(b)}" for _, a, b in self.columns)


@st.composite
def _column(draw: st.DrawFn, kind: str, nullable: bool | None = None) -> ColumnVersion:
    nullable = draw(st.booleans()) if nullable is None else nullable
    default = draw(st.none() | st.sampled_from(_DEFAULTS[kind]))
    length = draw(st.sampled_from(_LENGTHS)) if kind == "str" else None
    keyed = draw(st.sampled_from(["", "", "index", "unique"]))
    if kind == "str" and length is None:
        keyed = ""  # TEXT keys need a prefix length on MySQL: not portable
    if kind == "bool" and keyed == "unique":
        keyed = "index"  # two rows hold the same bool
    return ColumnVersion(
        kind, nullable, default, length, index=keyed == "index", unique=keyed == "unique"
    )


@st.composite
def _evolve(draw: st.DrawFn, v1: ColumnVersion) -> ColumnVersion | None:
    """v2 of a v1 column: dropped, or kept with a wider type and changed flags."""
    if draw(st.integers(0, 4)) == 0:
        return None
    length = v1.max_length
    if v1.kind == "str" and length is not None:
        length = draw(st.sampled_from(_LENGTHS[_LENGTHS.index(length) :]))
    nullable = draw(st.booleans()) or (v1.unique and v1.nullable)  # NULLs -> one default
    default = draw(st.none() | st.sampled_from(_DEFAULTS[v1.kind]))
    if v1.nullable and not nullable and default is None:
        default = _DEFAULTS[v1.kind][-1]  # the NULLs need a value
    indexed = draw(st.booleans()) and not v1.unique
    if v1.kind == "str" and length is None:
        indexed = False
    return ColumnVersion(
        v1.kind, nullable, default, length, index=indexed and not v1.unique, unique=v1.unique
    )


@st.composite
def migration_cases(draw: st.DrawFn) -> MigrationCase:
    """A table in two versions plus a row count (0 to 3)."""
    columns = []
    for i in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(sorted(_KINDS)))
        v1 = draw(_column(kind)) if draw(st.integers(0, 3)) else None
        v2: ColumnVersion | None
        if v1 is None:  # added in v2: nullable or with a default (existing rows), not unique
            new = draw(_column(kind))
            nullable = new.nullable or new.default is None
            v2 = ColumnVersion(kind, nullable, new.default, new.max_length, new.index, False)
        else:
            v2 = draw(_evolve(v1))
        columns.append((f"c{i}", v1, v2))
    return MigrationCase(tuple(columns), draw(st.integers(0, 3)))


async def check_migration(target: Target, case: MigrationCase) -> None:
    """Create v1 with rows, migrate to v2, compare the live schema and the rows."""
    conn = target.conn
    table = f"mig{os.getpid() % 1000}_{next(_tables)}"
    v1, v2 = case.model(1, table), case.model(2, table)
    await conn.create_table(v1, if_not_exists=False)
    try:
        objects = []
        for row in range(case.rows):
            values = {n: case.value(c, row) for n, c, _ in case.columns if c is not None}
            objects.append(v1(k=row, **values))
        if objects:
            await conn.insert(objects)
        await conn.migrate_table(v2, allow_destructive=True)
        plan = await conn.plan_table(v2)
        assert plan.steps == [], f"{case.describe()}: left to do after migrate:\n{plan}"
        got = await conn.select(v2).order_by(v2.id).collect()  # type: ignore[attr-defined]
        assert [o.k for o in got] == list(range(case.rows))  # type: ignore[attr-defined]
        for row, obj in enumerate(got):
            for name, old, new in case.columns:
                if old is None or new is None:
                    continue
                expected = case.value(old, row)
                if expected is None and not new.nullable:
                    expected = new.default
                assert getattr(obj, name) == expected, (case.describe(), name, row)
    finally:
        await conn.drop_table(v2)


class MigrationProperties(_Base):
    """``migrate_table`` over random v1 → v2 pairs: the live schema equals v2's."""

    #: the property runs 1/example_share of the profile's examples
    example_share = 10

    def test_migrate_table_reaches_v2(self, ormer_target: Target) -> None:
        t = ormer_target
        examples = t.max_examples
        if examples is None:
            profile = settings.get_profile(profile_name())
            examples = max(1, profile.max_examples // self.example_share)

        async def body(case: MigrationCase) -> None:
            await check_migration(t, case)

        def describe_case(case: MigrationCase) -> tuple[str, type[Model]]:
            return case.describe(), case.model(2, "described")

        self._run(t, "migrate_table", migration_cases(), body, describe_case, examples)

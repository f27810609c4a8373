"""A table as the database has it: what a dialect's ``inspect_table`` returns.

Types and defaults are the dialect's own SQL, normalized by the dialect
(``Dialect.normalize_type`` / ``normalize_default``) so that a table made by
``create_table`` compares equal to its model's schema rendered by the same dialect.
"""

from __future__ import annotations

from dataclasses import dataclass

from .schema import ForeignKeySchema, IndexSchema

__all__ = ["LiveColumn", "LiveTable", "live_foreign_key", "live_index"]


@dataclass(frozen=True)
class LiveColumn:
    """A column read from the database catalog.

    ``type``: the DDL type as ``Dialect.normalize_type`` spells it (the spelling
    ``Dialect.type_name`` renders for the same type). ``default``: the server default
    as ``Dialect.normalize_default`` spells it (``"3"``, ``"'abc'"``), None for none;
    an auto-increment key's generated default is reported as None with ``auto``.
    """

    name: str
    type: str
    nullable: bool
    default: str | None = None
    primary: bool = False
    auto: bool = False


@dataclass(frozen=True)
class LiveTable:
    """Columns in table order, primary key, indexes (unique constraints included, as
    ``unique=True``; the primary key's own index excluded) and foreign keys."""

    name: str
    columns: tuple[LiveColumn, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[IndexSchema, ...] = ()
    foreign_keys: tuple[ForeignKeySchema, ...] = ()

    def column(self, name: str) -> LiveColumn | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


def live_foreign_key(live: LiveTable | None, fk: ForeignKeySchema) -> ForeignKeySchema:
    """The live foreign key ``fk`` stands for: by name, else by columns and target (a
    migration file names it ``fk_<table>_<column>``, the server named it otherwise when
    ``create_table`` made it)."""
    if live is None:
        return fk
    for have in live.foreign_keys:
        if have.name == fk.name:
            return have
    for have in live.foreign_keys:
        if (have.columns, have.ref_table, have.ref_columns) == (
            fk.columns,
            fk.ref_table,
            fk.ref_columns,
        ):
            return have
    return fk


def live_index(live: LiveTable | None, index: IndexSchema) -> IndexSchema:
    """The live index ``index`` stands for: by name, else by columns and uniqueness."""
    if live is None:
        return index
    for have in live.indexes:
        if have.name == index.name:
            return have
    for have in live.indexes:
        if (have.columns, have.unique) == (index.columns, index.unique):
            return have
    return index

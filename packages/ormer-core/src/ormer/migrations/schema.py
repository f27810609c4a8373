"""The portable description of a table: what a model declares, what a chain of
migration files builds, independent of any dialect (docs/migrations.md).

Types are ormer's kinds (``"int"``, ``"str"``, ...) with their parameters, never a
dialect's DDL spelling: a migration file written against SQLite upgrades
PostgreSQL too. Each dialect renders a :class:`ColumnSchema` to its DDL type with
``Dialect.type_name(column.column_type(), indexed)``.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..types import ColumnType, Kind

if TYPE_CHECKING:
    from ..model import FieldInfo, TableInfo

__all__ = [
    "ColumnSchema",
    "ForeignKeySchema",
    "IndexSchema",
    "TableSchema",
    "model_schema",
    "server_default",
]

#: the Python class a column of each storage kind holds (for ColumnType)
_PY_TYPES: dict[Kind, type] = {
    Kind.INT: int,
    Kind.STR: str,
    Kind.FLOAT: float,
    Kind.BOOL: bool,
    Kind.BYTES: bytes,
    Kind.DECIMAL: decimal.Decimal,
    Kind.DATE: datetime.date,
    Kind.TIME: datetime.time,
    Kind.DATETIME: datetime.datetime,
    Kind.UUID: uuid.UUID,
    Kind.JSON: dict,
}

#: kinds whose constant Python defaults become server defaults (DEFAULT <literal>)
_DEFAULT_KINDS = frozenset({Kind.INT, Kind.STR, Kind.FLOAT, Kind.BOOL, Kind.DECIMAL})


@dataclass(frozen=True)
class ColumnSchema:
    """One column: name, storage kind and parameters, nullability, server default.

    ``kind`` is a :class:`~ormer.types.Kind` value (an enum field stores its values'
    kind). ``default`` is a constant Python value (int, float, str, bool, Decimal)
    rendered as the column's ``DEFAULT``, or None for no server default.
    """

    name: str
    kind: str
    nullable: bool = False
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    timezone: bool = False
    default: Any = None
    primary: bool = False
    auto: bool = False

    def column_type(self) -> ColumnType:
        """The :class:`~ormer.types.ColumnType` a dialect renders to DDL."""
        kind = Kind(self.kind)
        return ColumnType(
            kind,
            _PY_TYPES[kind],
            nullable=self.nullable,
            timezone=self.timezone,
            max_length=self.max_length,
            max_digits=self.max_digits,
            decimal_places=self.decimal_places,
        )


@dataclass(frozen=True)
class IndexSchema:
    """An index or a unique constraint (``unique=True``) over ``columns``, in order."""

    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ForeignKeySchema:
    """``FOREIGN KEY (columns) REFERENCES ref_table (ref_columns) [ON DELETE ...]``."""

    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: str | None = None


@dataclass(frozen=True)
class TableSchema:
    """A table: columns in order, primary key, indexes (unique ones included) and
    foreign keys. Equality is structural (two schemas equal = nothing to migrate)."""

    name: str
    columns: tuple[ColumnSchema, ...]
    primary_key: tuple[str, ...] = ()
    indexes: tuple[IndexSchema, ...] = ()
    foreign_keys: tuple[ForeignKeySchema, ...] = field(default=())

    def column(self, name: str) -> ColumnSchema | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def indexed_columns(self) -> frozenset[str]:
        """Columns in the primary key or an index (MySQL types those differently)."""
        return frozenset(self.primary_key) | {c for i in self.indexes for c in i.columns}


def server_default(f: FieldInfo) -> Any:
    """The server default of a field: its constant default when the kind has a SQL
    literal (int, float, str, bool, Decimal), else None (factories, None, others)."""
    spec = f.spec
    if spec.default_factory is not None:
        return None
    value = spec.default
    kind = f.type.kind if f.type.kind is not Kind.ENUM else f.type.enum_value_kind
    if kind not in _DEFAULT_KINDS or value is None or type(value).__name__ == "_Missing":
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    return value


def _column(f: FieldInfo) -> ColumnSchema:
    ct = f.type
    kind = ct.enum_value_kind if ct.kind is Kind.ENUM else ct.kind
    return ColumnSchema(
        name=f.column,
        kind=kind.value,
        nullable=ct.nullable,
        max_length=ct.max_length,
        max_digits=ct.max_digits,
        decimal_places=ct.decimal_places,
        timezone=ct.timezone,
        default=server_default(f),
        primary=f.primary,
        auto=f.auto,
    )


def model_schema(info: TableInfo) -> TableSchema:
    """The schema a model declares (what ``create_table`` creates)."""
    indexes = [
        IndexSchema(name, tuple(f.column for f in group), unique=True)
        for name, group in info.unique_groups
    ] + [
        IndexSchema(name, tuple(f.column for f in group), unique=False)
        for name, group in info.index_groups
    ]
    fks = []
    for f in info.fields:
        if f.spec.foreign_key:
            table, column = f.spec.foreign_key.split(".")
            fks.append(
                ForeignKeySchema(
                    f"fk_{info.name}_{f.column}", (f.column,), table, (column,), f.spec.on_delete
                )
            )
    return TableSchema(
        name=info.name,
        columns=tuple(_column(f) for f in info.fields),
        primary_key=tuple(f.column for f in info.primary_key),
        indexes=tuple(indexes),
        foreign_keys=tuple(fks),
    )

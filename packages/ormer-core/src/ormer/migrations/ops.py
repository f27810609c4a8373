"""Schema operations: what a migration does, one step at a time.

The same operations serve ``conn.plan_table``/``migrate_table`` (a diff of a model
against the live table), versioned migration files (``op.add_column(...)`` in
``upgrade(op)``) and autogenerate (a diff of the models against the state the
files build). Each has a readable ``str()`` (``add column email TEXT NULL`` once a
dialect has named the type: see ``describe``) and is rendered to SQL by the
dialect's compiler (``SQLCompiler.migration_sql``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .live import LiveColumn
from .schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema

if TYPE_CHECKING:
    from ..connection import Connection
    from ..dialect import Dialect

__all__ = [
    "AddColumn",
    "AddForeignKey",
    "AlterColumn",
    "CreateIndex",
    "CreateTable",
    "DropColumn",
    "DropForeignKey",
    "DropIndex",
    "DropTable",
    "Execute",
    "Operation",
    "Run",
]


def _null(c: ColumnSchema | LiveColumn) -> str:
    return "NULL" if c.nullable else "NOT NULL"


class Operation:
    """Base of the operations. ``table``: the table it changes (None for raw SQL)."""

    table: str | None

    def describe(self, dialect: Dialect | None = None) -> str:
        """A readable one-line summary; types in ``dialect``'s DDL when given, else
        ormer's kind names."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.describe()


def _literal(value: Any) -> str | None:
    return None if value is None else repr(value)


def _type(c: ColumnSchema | LiveColumn, dialect: Dialect | None, indexed: bool = False) -> str:
    if isinstance(c, LiveColumn):
        return c.type
    if dialect is None:
        params = [str(p) for p in (c.max_length, c.max_digits, c.decimal_places) if p]
        return c.kind + (f"({', '.join(params)})" if params else "")
    return dialect.normalize_type(dialect.type_name(c.column_type(), indexed))


@dataclass(frozen=True)
class CreateTable(Operation):
    schema: TableSchema

    @property
    def table(self) -> str:  # type: ignore[override]
        return self.schema.name

    def describe(self, dialect: Dialect | None = None) -> str:
        return f"create table {self.schema.name} ({len(self.schema.columns)} columns)"


@dataclass(frozen=True)
class DropTable(Operation):
    table: str

    def describe(self, dialect: Dialect | None = None) -> str:
        return f"drop table {self.table}"


@dataclass(frozen=True)
class AddColumn(Operation):
    table: str
    column: ColumnSchema

    def describe(self, dialect: Dialect | None = None) -> str:
        c = self.column
        default = ""
        if c.default is not None:
            literal = dialect.default_sql(c) if dialect is not None else repr(c.default)
            default = f" DEFAULT {literal}"
        return f"add column {c.name} {_type(c, dialect)} {_null(c)}{default}"


@dataclass(frozen=True)
class DropColumn(Operation):
    """Drop a column (``column``: as the model or the database had it)."""

    table: str
    column: ColumnSchema | LiveColumn

    def describe(self, dialect: Dialect | None = None) -> str:
        return f"drop column {self.column.name}"


@dataclass(frozen=True)
class AlterColumn(Operation):
    """A column's type, nullability or server default changes (``old`` → ``new``;
    same name). ``old`` is a :class:`LiveColumn` when planned against the database."""

    table: str
    old: ColumnSchema | LiveColumn
    new: ColumnSchema
    #: the column is in an index or key of its table (a dialect may type it differently)
    indexed: bool = False

    def describe(self, dialect: Dialect | None = None) -> str:
        old, new = self.old, self.new
        parts = []
        old_type, new_type = _type(old, dialect, self.indexed), _type(new, dialect, self.indexed)
        if old_type != new_type:
            parts.append(f"type {old_type} -> {new_type}")
        if old.nullable != new.nullable:
            parts.append(f"{_null(old)} -> {_null(new)}")
        if isinstance(old, LiveColumn) and dialect is not None:
            old_default = old.default
            new_default = (
                None if new.default is None else dialect.normalize_default(dialect.default_sql(new))
            )
        else:
            old_default, new_default = _literal(old.default), _literal(new.default)
        if old_default != new_default:
            parts.append(f"default {old_default or 'none'} -> {new_default or 'none'}")
        return f"alter column {new.name} " + ", ".join(parts or ["(no change)"])


@dataclass(frozen=True)
class CreateIndex(Operation):
    table: str
    index: IndexSchema

    def describe(self, dialect: Dialect | None = None) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"create {kind} {self.index.name} ({', '.join(self.index.columns)})"


@dataclass(frozen=True)
class DropIndex(Operation):
    table: str
    index: IndexSchema

    def describe(self, dialect: Dialect | None = None) -> str:
        kind = "unique index" if self.index.unique else "index"
        return f"drop {kind} {self.index.name}"


@dataclass(frozen=True)
class AddForeignKey(Operation):
    table: str
    foreign_key: ForeignKeySchema

    def describe(self, dialect: Dialect | None = None) -> str:
        fk = self.foreign_key
        on_delete = f" on delete {fk.on_delete}" if fk.on_delete else ""
        return (
            f"add foreign key ({', '.join(fk.columns)}) references "
            f"{fk.ref_table} ({', '.join(fk.ref_columns)}){on_delete}"
        )


@dataclass(frozen=True)
class DropForeignKey(Operation):
    table: str
    foreign_key: ForeignKeySchema

    def describe(self, dialect: Dialect | None = None) -> str:
        return f"drop foreign key {self.foreign_key.name}"


@dataclass(frozen=True)
class Execute(Operation):
    """Raw SQL (a data migration): ``op.execute("UPDATE ...", [params])``."""

    sql: str
    params: tuple[Any, ...] = ()
    table = None

    def describe(self, dialect: Dialect | None = None) -> str:
        return f"execute {self.sql}"


@dataclass(frozen=True)
class Run(Operation):
    """A Python data migration: ``op.run(fn)``, awaited as ``await fn(conn)``."""

    fn: Callable[[Connection], Awaitable[Any]]
    table = None

    def describe(self, dialect: Dialect | None = None) -> str:
        return f"run {getattr(self.fn, '__qualname__', repr(self.fn))}"

"""DDL rendering of tables and schema operations, mixed into ``SQLCompiler``.

Portable SQL (standard ``ALTER TABLE``); a dialect's compiler overrides
:meth:`DDLCompiler.migration_sql` for what differs and returns None for what its
database cannot ALTER: that operation is then done by a table rebuild
(:meth:`DDLCompiler.rebuild_table_sql`, SQLite's documented procedure).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..errors import NotSupportedError
from .live import LiveColumn, LiveTable
from .ops import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    CreateIndex,
    CreateTable,
    DropColumn,
    DropForeignKey,
    DropIndex,
    DropTable,
    Execute,
    Operation,
    Run,
)
from .schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema
from .state import live_column, schema_as_live

if TYPE_CHECKING:
    from ..dialect import Dialect

__all__ = ["REBUILD_PREFIX", "DDLCompiler"]

#: the name of the table a rebuild fills before it takes the old one's place
REBUILD_PREFIX = "_ormer_new_"


class DDLCompiler:
    """CREATE TABLE and ALTER TABLE rendering (the ``SQLCompiler`` mixin)."""

    dialect: Dialect
    q: Callable[[str], str]

    # -- CREATE TABLE ------------------------------------------------------------------------
    def schema_create_sql(
        self,
        schema: TableSchema | LiveTable,
        if_not_exists: bool = False,
        types: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> list[str]:
        """``CREATE TABLE`` (columns with their server defaults, primary key, unique
        constraints, foreign keys) and one ``CREATE INDEX`` per non-unique index.
        ``types``: DDL types by column (a plugin's); ``name``: create under another name."""
        live = (
            schema if isinstance(schema, LiveTable) else schema_as_live(self.dialect, schema, types)
        )
        table = name or live.name
        lines = [self.column_sql(c) for c in live.columns]
        if live.primary_key and not any(c.auto for c in live.columns):
            lines.append(f"PRIMARY KEY ({self.columns_sql(live.primary_key)})")
        for index in live.indexes:
            if index.unique:
                lines.append(self.unique_constraint_sql(index))
        # named as the schema names them (fk_<table>_<column>), so that a migration file
        # can drop one by name without a database (upgrade --sql)
        lines += [
            f"CONSTRAINT {self.q(fk.name)} {self.foreign_key_sql(fk)}"
            if fk.name
            else self.foreign_key_sql(fk)
            for fk in live.foreign_keys
        ]
        exists = "IF NOT EXISTS " if if_not_exists else ""
        body = ",\n  ".join(lines)
        statements = [f"CREATE TABLE {exists}{self.q(table)} (\n  {body}\n)"]
        for index in live.indexes:
            if not index.unique:
                statements.append(self.index_sql(live.name, index, if_not_exists))
        return statements

    def column_sql(self, column: LiveColumn) -> str:
        """A column definition: ``"name" TYPE [DEFAULT x] [NOT NULL]``."""
        if column.auto:
            return self.dialect.auto_pk_sql(self.q(column.name))
        sql = f"{self.q(column.name)} {column.type}"
        if column.default is not None:
            sql += f" DEFAULT {column.default}"
        if not column.nullable:
            sql += " NOT NULL"
        return sql

    def columns_sql(self, columns: tuple[str, ...]) -> str:
        return ", ".join(self.q(c) for c in columns)

    def unique_constraint_sql(self, index: IndexSchema) -> str:
        return f"CONSTRAINT {self.q(index.name)} UNIQUE ({self.columns_sql(index.columns)})"

    def foreign_key_sql(self, fk: ForeignKeySchema) -> str:
        """``FOREIGN KEY (...) REFERENCES t (...) [ON DELETE ...]`` (a table constraint)."""
        sql = (
            f"FOREIGN KEY ({self.columns_sql(fk.columns)}) REFERENCES {self.q(fk.ref_table)} "
            f"({self.columns_sql(fk.ref_columns)})"
        )
        if fk.on_delete:
            sql += f" ON DELETE {fk.on_delete.upper()}"
        return sql

    def index_sql(self, table: str, index: IndexSchema, if_not_exists: bool = False) -> str:
        unique = "UNIQUE " if index.unique else ""
        exists = "IF NOT EXISTS " if if_not_exists else ""
        return (
            f"CREATE {unique}INDEX {exists}{self.q(index.name)} ON {self.q(table)} "
            f"({self.columns_sql(index.columns)})"
        )

    # -- operations --------------------------------------------------------------------------
    def migration_sql(
        self, op: Operation, live: LiveTable | None, target: TableSchema | None = None
    ) -> list[str] | None:
        """The SQL of one operation, ``live`` being the table before it (None: unknown or
        missing) and ``target`` the schema the migration aims at, when known. None: this
        dialect cannot ALTER that, rebuild the table (:meth:`rebuild_table_sql`)."""
        q = self.q
        if isinstance(op, CreateTable):
            return self.schema_create_sql(op.schema)
        if isinstance(op, DropTable):
            return [f"DROP TABLE {q(op.table)}"]
        if isinstance(op, Execute):
            return [op.sql]
        if isinstance(op, Run):
            return []
        table = q(op.table or "")
        if isinstance(op, AddColumn):
            column = self.added_column(op.column, live, target)
            return [f"ALTER TABLE {table} ADD COLUMN {self.column_sql(column)}"]
        if isinstance(op, DropColumn):
            return [f"ALTER TABLE {table} DROP COLUMN {q(op.column.name)}"]
        if isinstance(op, AlterColumn):
            return self.alter_column_sql(op, live, target)
        if isinstance(op, CreateIndex):
            return [self.index_sql(op.table, op.index)]
        if isinstance(op, DropIndex):
            return [self.drop_index_sql(op.table, op.index)]
        if isinstance(op, AddForeignKey):
            fk = op.foreign_key
            return [f"ALTER TABLE {table} ADD CONSTRAINT {q(fk.name)} {self.foreign_key_sql(fk)}"]
        if isinstance(op, DropForeignKey):
            return [f"ALTER TABLE {table} DROP CONSTRAINT {q(op.foreign_key.name)}"]
        raise NotSupportedError(f"{self.dialect.name}: cannot render {op}")

    def drop_index_sql(self, table: str, index: IndexSchema) -> str:
        """``DROP INDEX name`` (MySQL says ``ON table``; a constraint's index differs)."""
        return f"DROP INDEX {self.q(index.name)}"

    def added_column(
        self, column: ColumnSchema, live: LiveTable | None, target: TableSchema | None
    ) -> LiveColumn:
        """A column as ADD COLUMN creates it (typed as indexed when ``target`` indexes it)."""
        indexed = target is not None and column.name in target.indexed_columns()
        return live_column(self.dialect, column, indexed)

    def alter_column_sql(
        self, op: AlterColumn, live: LiveTable | None, target: TableSchema | None
    ) -> list[str] | None:
        """Standard ``ALTER COLUMN``: ``SET DATA TYPE``, ``SET/DROP NOT NULL``,
        ``SET/DROP DEFAULT``, one statement per change."""
        dialect = self.dialect
        indexed = target is not None and op.new.name in target.indexed_columns()
        if live is not None:
            indexed = indexed or op.new.name in (
                set(live.primary_key) | {c for i in live.indexes for c in i.columns}
            )
        new = live_column(dialect, op.new, indexed)
        old = op.old if isinstance(op.old, LiveColumn) else live_column(dialect, op.old, indexed)
        prefix = f"ALTER TABLE {self.q(op.table)} ALTER COLUMN {self.q(new.name)}"
        out = []
        if dialect.normalize_type(old.type) != dialect.normalize_type(new.type):
            out.append(f"{prefix} SET DATA TYPE {new.type}")
        old_default = None if old.default is None else dialect.normalize_default(old.default)
        new_default = None if new.default is None else dialect.normalize_default(new.default)
        if old_default != new_default:
            out.append(
                f"{prefix} DROP DEFAULT"
                if new.default is None
                else f"{prefix} SET DEFAULT {new.default}"
            )
        if old.nullable != new.nullable:
            out.append(f"{prefix} {'DROP' if new.nullable else 'SET'} NOT NULL")
        return out

    def fill_nulls_sql(self, op: Operation, indexed: bool = False) -> list[str]:
        """Before an ``AlterColumn`` to NOT NULL of a column with a server default: the
        ``UPDATE`` giving its NULLs that default (else nothing)."""
        if not isinstance(op, AlterColumn) or not op.old.nullable or op.new.nullable:
            return []
        default = live_column(self.dialect, op.new, indexed).default
        if default is None:
            return []
        column = self.q(op.new.name)
        return [f"UPDATE {self.q(op.table)} SET {column} = {default} WHERE {column} IS NULL"]

    # -- table rebuild -----------------------------------------------------------------------
    def rebuild_table_sql(self, live: LiveTable, new: TableSchema | LiveTable) -> list[str]:
        """Rebuild ``live`` as ``new`` keeping its rows (https://sqlite.org/lang_altertable.html
        section 7): create ``_ormer_new_<table>``, copy the kept columns (CAST where the
        type changes, NULLs of a column turning NOT NULL replaced by its default; new
        columns get their default), drop the old table, rename the new one, create the
        indexes. Run it in a transaction (the caller handles foreign-key enforcement)."""
        target = new if isinstance(new, LiveTable) else schema_as_live(self.dialect, new)
        temp = REBUILD_PREFIX + live.name
        create = self.schema_create_sql(target, name=temp)
        statements = [create[0]]
        names, values = [], []
        for column in target.columns:
            old = live.column(column.name)
            if old is None:
                continue
            value = self.q(column.name)
            if self.dialect.normalize_type(old.type) != self.dialect.normalize_type(column.type):
                value = f"CAST({value} AS {column.type})"
            if old.nullable and not column.nullable and column.default is not None:
                value = f"COALESCE({value}, {column.default})"
            names.append(self.q(column.name))
            values.append(value)
        if names:
            statements.append(
                f"INSERT INTO {self.q(temp)} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} FROM {self.q(live.name)}"
            )
        statements.append(f"DROP TABLE {self.q(live.name)}")
        statements.append(f"ALTER TABLE {self.q(temp)} RENAME TO {self.q(live.name)}")
        statements += create[1:]  # the non-unique indexes, named on the final table
        return statements

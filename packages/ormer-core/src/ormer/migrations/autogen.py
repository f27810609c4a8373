"""Autogenerate: diff the models against the state the migration files build and
write the difference as a new migration file (``ormer migrations make``).

The upgrade is :func:`~ormer.migrations.diff.diff_schemas` for every table (new
tables created after the tables their foreign keys reference; dropped tables last);
the downgrade is its inverse in reverse order (what was added is dropped, what was
dropped is re-added with its full definition from the state).
"""

from __future__ import annotations

import datetime
import decimal
import importlib
import json
import re
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from ..errors import ConfigurationError, MigrationError
from ..model import Model, table_of
from .diff import diff_schemas
from .opapi import State
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
    Operation,
)
from .schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema, model_schema

__all__ = [
    "diff_state",
    "import_models",
    "inverse",
    "models_state",
    "new_revision_id",
    "render_migration",
    "write_migration",
]


def import_models(module_name: str) -> list[type[Model]]:
    """Every ``Model`` subclass defined in the module ``module_name`` (not imported
    into it). An unimportable module is a :class:`ConfigurationError` with the
    import error's message."""
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise ConfigurationError(
            f"cannot import models module {module_name!r}: {type(error).__name__}: {error}"
        ) from error
    return _models_in(module)


def _models_in(module: ModuleType) -> list[type[Model]]:
    found: list[type[Model]] = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and issubclass(value, Model)
            and value.__module__ == module.__name__
            and getattr(value, "__ormer_table__", None) is not None
        ):
            found.append(value)
    return found


def models_state(models: Iterable[type[Model]]) -> State:
    """The portable schema the models declare, by table name."""
    state: State = {}
    for model in models:
        schema = model_schema(table_of(model))
        if schema.name in state:
            raise ConfigurationError(f"two models use the table {schema.name!r}")
        state[schema.name] = schema
    return state


def _creation_order(tables: dict[str, TableSchema]) -> list[str]:
    """Table names with each after the tables its foreign keys reference (cycles keep
    their alphabetical order)."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in visiting:
            return
        visiting.add(name)
        for fk in tables[name].foreign_keys:
            if fk.ref_table in tables and fk.ref_table != name:
                visit(fk.ref_table)
        visiting.discard(name)
        order.append(name)

    for name in sorted(tables):
        visit(name)
    return order


def diff_state(old: State, new: State) -> list[Operation]:
    """The operations turning the state ``old`` into ``new``: changed tables, then new
    tables (referenced ones first), then dropped tables (referencing ones first)."""
    ops: list[Operation] = []
    for name in sorted(set(old) & set(new)):
        ops += diff_schemas(old[name], new[name])
    created = {n: new[n] for n in new if n not in old}
    for name in _creation_order(created):
        ops += diff_schemas(None, new[name])
    dropped = {n: old[n] for n in old if n not in new}
    for name in reversed(_creation_order(dropped)):
        ops += diff_schemas(old[name], None)
    return ops


def inverse(ops: Sequence[Operation], before: State) -> list[Operation]:
    """The operations undoing ``ops`` (applied to the state ``before``), in reverse
    order."""
    result: list[Operation] = []
    for op in reversed(ops):
        if isinstance(op, CreateTable):
            result.append(DropTable(op.schema.name))
        elif isinstance(op, DropTable):
            result.append(CreateTable(before[op.table]))
        elif isinstance(op, AddColumn):
            result.append(DropColumn(op.table, op.column))
        elif isinstance(op, DropColumn):
            old = before[op.table].column(op.column.name)
            assert old is not None
            result.append(AddColumn(op.table, old))
        elif isinstance(op, AlterColumn):
            assert isinstance(op.old, ColumnSchema)
            result.append(AlterColumn(op.table, op.new, op.old))
        elif isinstance(op, CreateIndex):
            result.append(DropIndex(op.table, op.index))
        elif isinstance(op, DropIndex):
            result.append(CreateIndex(op.table, op.index))
        elif isinstance(op, AddForeignKey):
            result.append(DropForeignKey(op.table, op.foreign_key))
        elif isinstance(op, DropForeignKey):
            result.append(AddForeignKey(op.table, op.foreign_key))
        else:  # pragma: no cover - diffs hold only the above
            raise MigrationError(f"autogenerate cannot invert {op.describe()}")
    return result


# -- rendering ----------------------------------------------------------------------------
def _value(value: Any) -> str:
    """A Python literal (strings double-quoted, as ruff format writes them)."""
    if isinstance(value, decimal.Decimal):
        return f"Decimal({json.dumps(str(value))})"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)


_COLUMN_DEFAULTS = ColumnSchema(name="", kind="")


def _column(c: ColumnSchema) -> str:
    args = [_value(c.name), _value(c.kind)]
    for name in (
        "nullable",
        "max_length",
        "max_digits",
        "decimal_places",
        "timezone",
        "default",
        "primary",
        "auto",
    ):
        value = getattr(c, name)
        if value != getattr(_COLUMN_DEFAULTS, name) or type(value) is not type(
            getattr(_COLUMN_DEFAULTS, name)
        ):
            args.append(f"{name}={_value(value)}")
    return f"op.column({', '.join(args)})"


def _index(i: IndexSchema) -> str:
    unique = ", unique=True" if i.unique else ""
    return f"op.index({', '.join(_value(x) for x in (i.name, *i.columns))}{unique})"


def _fk(fk: ForeignKeySchema) -> str:
    on_delete = f", on_delete={_value(fk.on_delete)}" if fk.on_delete else ""
    return (
        f"op.foreign_key({_value(fk.name)}, {_value(fk.columns)}, {_value(fk.ref_table)}, "
        f"{_value(fk.ref_columns)}{on_delete})"
    )


def _render(op: Operation) -> list[str]:
    if isinstance(op, CreateTable):
        s = op.schema
        lines = ["op.create_table(", f"    {_value(s.name)},"]
        lines += [f"    {_column(c)}," for c in s.columns]
        lines.append(f"    primary_key={_value(s.primary_key)},")
        if s.indexes:
            lines += ["    indexes=[", *(f"        {_index(i)}," for i in s.indexes), "    ],"]
        if s.foreign_keys:
            fks = (f"        {_fk(f)}," for f in s.foreign_keys)
            lines += ["    foreign_keys=[", *fks, "    ],"]
        return [*lines, ")"]
    if isinstance(op, DropTable):
        return [f"op.drop_table({_value(op.table)})"]
    if isinstance(op, AddColumn):
        return [f"op.add_column({_value(op.table)}, {_column(op.column)})"]
    if isinstance(op, DropColumn):
        return [f"op.drop_column({_value(op.table)}, {_value(op.column.name)})"]
    if isinstance(op, AlterColumn):
        assert isinstance(op.old, ColumnSchema)
        changes = [
            f"{name}={_value(getattr(op.new, name))}"
            for name in (
                "kind",
                "nullable",
                "max_length",
                "max_digits",
                "decimal_places",
                "timezone",
                "default",
            )
            if getattr(op.new, name) != getattr(op.old, name)
            or type(getattr(op.new, name)) is not type(getattr(op.old, name))
        ]
        return [f"op.alter_column({_value(op.table)}, {_value(op.new.name)}, {', '.join(changes)})"]
    if isinstance(op, CreateIndex):
        i = op.index
        unique = ", unique=True" if i.unique else ""
        args = ", ".join(_value(x) for x in (op.table, i.name, *i.columns))
        return [f"op.create_index({args}{unique})"]
    if isinstance(op, DropIndex):
        return [f"op.drop_index({_value(op.table)}, {_value(op.index.name)})"]
    if isinstance(op, AddForeignKey):
        fk = op.foreign_key
        on_delete = f", on_delete={_value(fk.on_delete)}" if fk.on_delete else ""
        return [
            f"op.add_foreign_key({_value(op.table)}, {_value(fk.name)}, {_value(fk.columns)}, "
            f"{_value(fk.ref_table)}, {_value(fk.ref_columns)}{on_delete})"
        ]
    if isinstance(op, DropForeignKey):
        return [f"op.drop_foreign_key({_value(op.table)}, {_value(op.foreign_key.name)})"]
    raise MigrationError(f"autogenerate cannot render {op.describe()}")  # pragma: no cover


def _body(ops: Sequence[Operation]) -> str:
    if not ops:
        return "    pass\n"
    return "".join(f"    {line}\n" for op in ops for line in _render(op))


def new_revision_id() -> str:
    """A new revision id: 12 random hex digits."""
    return secrets.token_hex(6)


def slug(message: str) -> str:
    """The file-name part of a message: lower case words joined by ``_``."""
    words = re.findall(r"[a-z0-9]+", message.lower())
    return "_".join(words)[:40].strip("_") or "migration"


def render_migration(
    revision: str,
    parent: str | None,
    message: str,
    upgrade: Sequence[Operation],
    downgrade: Sequence[Operation],
) -> str:
    """The Python source of a migration file."""
    text = "".join(_body(upgrade)) + "".join(_body(downgrade))
    imports = "from decimal import Decimal\n\n" if "Decimal(" in text else ""
    created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f'"""{message.replace(chr(34) * 3, "")}\n\n'
        f'Created by ormer migrations make, {created}.\n"""\n\n'
        f"{imports}"
        "from ormer.migrations import Operations\n\n"
        f"revision = {_value(revision)}\n"
        f"parent = {_value(parent)}\n"
        f"message = {_value(message)}\n\n\n"
        "def upgrade(op: Operations) -> None:\n"
        f"{_body(upgrade)}\n\n"
        "def downgrade(op: Operations) -> None:\n"
        f"{_body(downgrade)}"
    )


def write_migration(
    directory: Path,
    parent: str | None,
    message: str,
    state: State,
    models: State,
    revision: str | None = None,
) -> Path | None:
    """Write the migration turning ``state`` into ``models`` (None: no changes)."""
    upgrade = diff_state(state, models)
    if not upgrade:
        return None
    downgrade = inverse(upgrade, state)
    revision = revision or new_revision_id()
    if not re.fullmatch(r"[0-9A-Za-z]+", revision):
        raise ConfigurationError(f"revision id {revision!r}: letters and digits only")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{revision}_{slug(message)}.py"
    path.write_text(render_migration(revision, parent, message, upgrade, downgrade))
    return path

"""Table plans: what ``conn.plan_table(Model)`` finds to do and ``migrate_table`` runs.

A plan compares the model's schema with the live table (``Dialect.inspect_table``),
orders the operations (``diff_live``), renders each one's SQL (the dialect's
``SQLCompiler.migration_sql``, or one table rebuild for what the database cannot
ALTER) and checks the data each would touch: a step that could lose data is
*destructive* (``PlanStep.reason`` says why), a step that cannot run at all is
*blocked* (``PlanStep.blocked``). ``migrate_table`` refuses both before any DDL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import MigrationError
from .diff import diff_live, expected_type
from .live import LiveColumn, LiveTable
from .ops import AddColumn, AlterColumn, CreateTable, DropColumn, DropIndex, Operation
from .schema import TableSchema, model_schema
from .state import live_after, schema_as_live

if TYPE_CHECKING:
    from ..connection import Connection
    from ..dialect import Dialect
    from ..model import Model

__all__ = ["PlanStep", "TablePlan", "check_plan", "plan_schema", "plan_table"]


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One operation of a plan and the SQL it runs.

    ``destructive``: the step can lose data (``reason`` says what: ``drops column age
    holding 12 non-NULL values``); it runs only with ``allow_destructive=True``.
    ``blocked``: why the step cannot run even then (a NOT NULL column without a default
    for existing rows), else None. ``rebuild``: the dialect cannot ALTER this, the
    plan rebuilds the table (the whole rebuild's SQL is on the first such step).
    ``str(step)`` is the operation in the dialect's types (``add column email TEXT NULL``).
    """

    operation: Operation
    sql: tuple[str, ...]
    destructive: bool = False
    reason: str | None = None
    blocked: str | None = None
    rebuild: bool = False
    dialect: Dialect | None = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        return self.operation.describe(self.dialect)


@dataclass(slots=True)
class TablePlan:
    """The steps that bring one table to its model's schema (none: up to date).

    ``creates``: the table is missing (the one step creates it). ``schema``: the
    model's schema; ``live``: the table as read before planning (None: missing).
    """

    table: str
    steps: list[PlanStep]
    creates: bool = False
    schema: TableSchema | None = field(default=None, repr=False)
    live: LiveTable | None = field(default=None, repr=False)

    @property
    def destructive(self) -> bool:
        """Whether any step can lose data (``allow_destructive=True`` needed)."""
        return any(s.destructive for s in self.steps)

    @property
    def rebuild(self) -> bool:
        """Whether the plan rebuilds the table (SQLite/Turso, for what ALTER cannot do)."""
        return any(s.rebuild for s in self.steps)

    @property
    def sql(self) -> list[str]:
        """Every statement the plan runs, in order."""
        return [sql for step in self.steps for sql in step.sql]

    def __str__(self) -> str:
        if not self.steps:
            return f"{self.table}: up to date"
        return "\n".join(str(s) for s in self.steps)


class _Data:
    """Row counts a plan's checks read, each query run at most once."""

    __slots__ = ("_cache", "conn", "table")

    def __init__(self, conn: Connection, table: str) -> None:
        self.conn = conn
        self.table = table
        self._cache: dict[str, int] = {}

    async def count(self, where: str = "") -> int:
        if where not in self._cache:
            q = self.conn.dialect.quote
            sql = f"SELECT COUNT(*) FROM {q(self.table)}" + (f" WHERE {where}" if where else "")
            rows = await self.conn._fetch(sql, ())
            self._cache[where] = int(rows[0][0])
        return self._cache[where]

    async def non_null(self, column: str) -> int:
        return await self.count(f"{self.conn.dialect.quote(column)} IS NOT NULL")

    async def nulls(self, column: str) -> int:
        return await self.count(f"{self.conn.dialect.quote(column)} IS NULL")


def _default_of(dialect: Dialect, schema: TableSchema, name: str) -> str | None:
    column = schema.column(name)
    if column is None or column.default is None:
        return None
    if not dialect.supports_default(column, name in schema.indexed_columns()):
        return None
    return dialect.default_sql(column)


async def _check(
    conn: Connection, data: _Data, schema: TableSchema, op: Operation
) -> tuple[str | None, str | None, list[str]]:
    """(reason it is destructive, why it is blocked, SQL to run before it)."""
    dialect = conn.dialect
    if isinstance(op, DropColumn):
        n = await data.non_null(op.column.name)
        if n:
            return f"drops column {op.column.name} holding {n} non-NULL values", None, []
    elif isinstance(op, DropIndex):
        n = await data.count()
        if n:
            kind = "unique index" if op.index.unique else "index"
            return f"drops {kind} {op.index.name} on a table holding {n} rows", None, []
    elif isinstance(op, AddColumn):
        c = op.column
        if not c.nullable and _default_of(dialect, schema, c.name) is None and await data.count():
            blocked = (
                f"adds NOT NULL column {c.name} without a default to a table holding "
                f"{await data.count()} rows: give it a default (or make it nullable)"
            )
            return None, blocked, []
    elif isinstance(op, AlterColumn) and isinstance(op.old, LiveColumn):
        reasons: list[str] = []
        before: list[str] = []
        blocked = None
        new_type = expected_type(dialect, schema, op.new)
        if dialect.type_change(op.old.type, new_type) == "narrow":
            n = await data.non_null(op.new.name)
            if n:
                reasons.append(
                    f"narrows {op.new.name} from {op.old.type} to {new_type} ({n} values)"
                )
        if op.old.nullable and not op.new.nullable:
            n = await data.nulls(op.new.name)
            if n:
                default = _default_of(dialect, schema, op.new.name)
                if default is None:
                    blocked = (
                        f"sets NOT NULL on {op.new.name} holding {n} NULLs and no default "
                        "to fill them: give it a default or update the rows first"
                    )
                else:
                    reasons.append(f"fills {n} NULLs of {op.new.name} with {default}")
                    compiler = dialect.compiler(dialect)
                    indexed = op.new.name in schema.indexed_columns()
                    before += compiler.fill_nulls_sql(op, indexed)
        return ("; ".join(reasons) or None), blocked, before
    return None, None, []


async def plan_schema(
    conn: Connection, schema: TableSchema, types: Mapping[str, str] | None = None
) -> TablePlan:
    """Plan ``schema`` against the live table on ``conn`` (``types``: DDL types by column
    that a plugin chose, as ``create_table`` uses them)."""
    dialect = conn.dialect
    compiler = dialect.compiler(dialect)
    live = await dialect.inspect_table(conn, schema.name)
    ops = diff_live(dialect, live, schema)
    if live is None:
        create = tuple(compiler.schema_create_sql(schema, False, types))
        step = PlanStep(CreateTable(schema), create, dialect=dialect)
        return TablePlan(schema.name, [step], creates=True, schema=schema, live=None)
    data = _Data(conn, schema.name)
    rendered: list[tuple[Operation, list[str] | None, str | None, str | None]] = []
    state: LiveTable | None = live
    for op in ops:
        reason, blocked, before = await _check(conn, data, schema, op)
        sql = compiler.migration_sql(op, state, schema)
        rendered.append((op, None if sql is None else before + sql, reason, blocked))
        state = live_after(dialect, state, op)
    steps: list[PlanStep] = []
    if any(sql is None for _, sql, _, _ in rendered):
        target = schema_as_live(dialect, schema, types)
        rebuild = tuple(compiler.rebuild_table_sql(live, target))
        first = next(i for i, (_, sql, _, _) in enumerate(rendered) if sql is None)
        for i, (op, _, reason, blocked) in enumerate(rendered):
            sql_i = rebuild if i == first else ()
            steps.append(PlanStep(op, sql_i, reason is not None, reason, blocked, True, dialect))
    else:
        for op, sql, reason, blocked in rendered:
            assert sql is not None
            steps.append(
                PlanStep(op, tuple(sql), reason is not None, reason, blocked, False, dialect)
            )
    return TablePlan(schema.name, steps, schema=schema, live=live)


def _model_schema(model: type[Model], conn: Connection) -> tuple[TableSchema, dict[str, str]]:
    from ..model import table_of

    info = table_of(model)
    dialect = conn.dialect
    compiler = dialect.compiler(dialect)
    schema = model_schema(info)
    indexed = schema.indexed_columns()
    types = {f.column: compiler.column_type_sql(f, f.column in indexed) for f in info.fields}
    return schema, types


async def plan_table(conn: Connection, model: type[Model]) -> TablePlan:
    """The plan that brings ``model``'s table up to date on ``conn`` (nothing changed)."""
    schema, types = _model_schema(model, conn)
    return await plan_schema(conn, schema, types)


def check_plan(plan: TablePlan, allow_destructive: bool) -> None:
    """Raise MigrationError for a blocked step, or a destructive one unless allowed."""
    blocked = [s for s in plan.steps if s.blocked]
    if blocked:
        lines = "; ".join(f"{s}: {s.blocked}" for s in blocked)
        raise MigrationError(f"{plan.table}: cannot migrate ({lines}); nothing was changed")
    if plan.destructive and not allow_destructive:
        lines = "; ".join(f"{s} ({s.reason})" for s in plan.steps if s.destructive)
        raise MigrationError(
            f"{plan.table}: destructive steps refused: {lines}; nothing was changed "
            "(pass allow_destructive=True to run them)"
        )


async def migrate_table(
    conn: Connection, model: type[Model], *, allow_destructive: bool = False
) -> TablePlan:
    """Create ``model``'s table if missing, else apply its plan; returns the plan applied.
    Checks run before any DDL: a refusal (MigrationError) changes nothing."""
    from .apply import run_plan

    plan = await plan_table(conn, model)
    check_plan(plan, allow_destructive)
    if plan.steps:
        await run_plan(conn, plan)
    return plan

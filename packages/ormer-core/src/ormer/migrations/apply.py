"""Running operations: a table plan (``migrate_table``), a migration file's operations
(``apply_operations``), or their SQL without a database (``operations_sql``, for
``ormer migrations upgrade --sql``).

On a dialect with transactional DDL (PostgreSQL, SQLite, Turso) a plan runs in one
transaction (a savepoint inside the caller's): all of its steps or none. MySQL and
MariaDB commit each DDL statement: a failure midway leaves the earlier ones applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from ..errors import MigrationError
from .live import LiveTable
from .ops import CreateTable, DropTable, Execute, Operation, Run
from .schema import TableSchema
from .state import live_after, schema_as_live

if TYPE_CHECKING:
    from ..connection import Connection
    from ..dialect import Dialect
    from .plan import TablePlan

__all__ = ["apply_operations", "operations_sql", "run_plan", "run_statements"]


async def run_statements(conn: Connection, statements: Sequence[str], rebuild: str | None) -> None:
    """Run DDL statements in one transaction where the dialect's DDL is transactional.
    ``rebuild``: the table these statements rebuild (the dialect prepares and checks it:
    SQLite turns foreign-key enforcement off around the transaction, then checks)."""
    dialect = conn.dialect
    token = await dialect.rebuild_guard(conn, rebuild) if rebuild else None
    try:
        if dialect.transactional_ddl:
            async with conn.transaction():
                for sql in statements:
                    await conn._control(sql)
                if rebuild:
                    await dialect.rebuild_check(conn, rebuild, token)
        else:
            for sql in statements:
                await conn._control(sql)
    finally:
        if rebuild:
            await dialect.rebuild_release(conn, token)


async def run_plan(conn: Connection, plan: TablePlan) -> None:
    """Run a checked plan's SQL (see ``migrate_table``)."""
    await run_statements(conn, plan.sql, plan.table if plan.rebuild else None)


async def apply_operations(conn: Connection, ops: Sequence[Operation]) -> list[str]:
    """Run operations in order on ``conn`` and return the SQL run.

    An ``AlterColumn`` to NOT NULL first gives the column's NULLs its server default
    (when it has one; without one, NULLs make the database refuse the change).
    Each operation runs on its own (its statements in a transaction, or a savepoint in
    the caller's, on transactional-DDL dialects); what the dialect cannot ALTER rebuilds
    the table as the live catalog has it. ``Execute`` binds its parameters;
    ``Run`` awaits ``fn(conn)``. Wrap the call in ``conn.transaction()`` to make the
    whole list atomic (SQLite cannot turn foreign keys off inside a transaction: a
    rebuild of a table other tables reference then raises MigrationError).
    """
    dialect = conn.dialect
    compiler = dialect.compiler(dialect)
    ran: list[str] = []
    for op in ops:
        if isinstance(op, Execute):
            await conn.exec_non_query(op.sql, list(op.params))
            ran.append(op.sql)
            continue
        if isinstance(op, Run):
            await op.fn(conn)
            continue
        live = None
        if op.table is not None and not isinstance(op, CreateTable):
            live = await dialect.inspect_table(conn, op.table)
            if live is None and not isinstance(op, DropTable):
                raise MigrationError(f"{op}: table {op.table} does not exist")
        sql = compiler.migration_sql(op, live)
        rebuild = None
        if sql is None:
            assert live is not None
            target = live_after(dialect, live, op)
            assert target is not None
            sql = compiler.rebuild_table_sql(live, target)  # fills NULLs itself
            rebuild = live.name
        else:
            sql = compiler.fill_nulls_sql(op) + sql
        await run_statements(conn, sql, rebuild)
        ran += sql
    return ran


def operations_sql(
    dialect: Dialect, ops: Sequence[Operation], state: Mapping[str, TableSchema]
) -> list[str]:
    """The SQL ``apply_operations`` would run, rendered without a database from
    ``state`` (the tables as the migration files built them, before ``ops``). A
    ``Run`` step shows as a comment; rebuilds assume foreign keys are off."""
    compiler = dialect.compiler(dialect)
    tables: dict[str, LiveTable | None] = {
        name: schema_as_live(dialect, schema) for name, schema in state.items()
    }
    out: list[str] = []
    for op in ops:
        if isinstance(op, Run):
            out.append(f"-- {op.describe(dialect)} (Python: not shown)")
            continue
        if isinstance(op, Execute):
            out.append(op.sql)
            continue
        name = op.table
        assert name is not None
        live = tables.get(name)
        sql = compiler.migration_sql(op, live)
        if sql is None:
            if live is None:
                raise MigrationError(f"{op}: table {name} is not in the migrations' state")
            target = live_after(dialect, live, op)
            assert target is not None
            sql = compiler.rebuild_table_sql(live, target)
        else:
            sql = compiler.fill_nulls_sql(op) + sql
        out += sql
        tables[name] = None if isinstance(op, DropTable) else live_after(dialect, live, op)
    return out

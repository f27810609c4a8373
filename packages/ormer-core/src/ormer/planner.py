"""Where every execution plan is looked up, or made once and cached.

The query builders describe statements (``ormer.statements``); a connection runs
SQL. Between them, this module is the one owner of plans (``ormer.plans``):
for a statement it returns the cached plan of its shape, building it on a miss,

* :func:`statement_plan` — SELECT/UPDATE/DELETE, by the shape walk;
* :func:`rows_converter` — a select plan's row converter for one result form;
* :func:`find_plan` — ``find(Model, pk)``, one per model;
* :func:`insert_plan` — an INSERT, by :class:`~ormer.plans.InsertKey`;
* :func:`raw_converter` — ``exec_table``, by :class:`~ormer.plans.RawKey`.

A cache hit costs one walk (statements only) and one dictionary lookup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .compiler import Compiled, compile_statement
from .expr import BinaryOp, Expr, Param
from .hydrate import RowsConverter, make_converter, make_named_converter
from .model import Model, TableInfo, table_of
from .plans import FindPlan, InsertPlan, RawKey
from .statements import InsertStmt, SelectItem, SelectStmt
from .types import ColumnType, Kind

if TYPE_CHECKING:
    from .dialect import Dialect

__all__ = ["find_plan", "insert_plan", "raw_converter", "rows_converter", "statement_plan"]

_INT = ColumnType(Kind.INT, int)
_BOOL = ColumnType(Kind.BOOL, bool)


#: the compiled plan of a SELECT/UPDATE/DELETE's shape, and its walked parameters (the
#: compiler's own cached entry point, re-exported: no extra call on the hot path)
statement_plan = compile_statement


def rows_converter(
    dialect: Dialect,
    compiled: Compiled,
    items: Sequence[SelectItem],
    nullable: frozenset[int] = frozenset(),
    scalars: bool = False,
) -> RowsConverter:
    """A select plan's row converter for one result form (``scalars``: bare values).

    Selects with and without ``.scalars()`` (and the aggregate shortcuts) share one
    compiled statement, so a plan keeps one converter per form.
    """
    converters = compiled.converters
    convert = converters.get(scalars)
    if convert is None:
        convert = converters[scalars] = make_converter(items, dialect, nullable, scalars)
    return convert


def find_plan(dialect: Dialect, model: type[Model]) -> FindPlan:
    """``find(model, pk)``'s plan: the SQL of ``select(model).filter(pk == k).first()``,
    which key (or the LIMIT, -1) each placeholder takes, and the row converter."""
    plans = dialect.find_plans
    plan = plans.get(model)
    if plan is None:
        plan = plans[model] = _make_find_plan(dialect, model, table_of(model))
    return plan


def _make_find_plan(dialect: Dialect, model: type[Model], info: TableInfo) -> FindPlan:
    markers = [object() for _ in info.primary_key]
    where: Expr | None = None
    for f, marker in zip(info.primary_key, markers):
        part = BinaryOp("=", info.columns[f.attr], Param(marker, f.type), _BOOL)
        where = part if where is None else where & part
    stmt = SelectStmt((info,), info)
    stmt.where = where
    stmt.limit = Param(1, _INT)
    compiled, nodes = compile_statement(dialect, stmt)  # a LIMIT: noted short
    slots = tuple(
        (markers.index(v) if any(v is m for m in markers) else -1, dump)
        for index, dump in compiled.slots
        for v in [nodes[index].value]
    )
    key = info.primary_key
    return FindPlan(
        compiled.sql,
        slots,
        make_converter(stmt.items, dialect, small=True),
        key[0].type.py_type if len(key) == 1 else None,
    )


def insert_plan(dialect: Dialect, stmt: InsertStmt) -> InsertPlan:
    """An INSERT's SQL and per-column dumpers, by its :class:`~ormer.plans.InsertKey`."""
    key = stmt.key()
    plans = dialect.insert_plans
    plan = plans.get(key)
    if plan is None:
        plan = InsertPlan(*dialect.compiler(dialect).compile_insert(stmt))
        plans.put(key, plan)
        if stmt.rows == 1:
            dialect.note_short_statement(plan.sql, write=True)
    return plan


def raw_converter(dialect: Dialect, model: Any, names: Sequence[str]) -> RowsConverter:
    """``exec_table``'s converter of rows with columns ``names`` into ``model`` objects."""
    key = RawKey(model, tuple(names))
    plans = dialect.raw_plans
    convert = plans.get(key)
    if convert is None:
        convert = make_named_converter(table_of(model), list(names), dialect)
        plans.put(key, convert)
    return convert

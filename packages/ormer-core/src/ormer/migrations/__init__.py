"""Schema migrations: table plans against the live database (``conn.plan_table``,
``conn.migrate_table``), versioned migration files and the ``ormer migrations`` CLI
(docs/migrations.md)."""

from __future__ import annotations

from .diff import diff_live, diff_schemas
from .files import Revision, Step, load_chain, replay
from .live import LiveColumn, LiveTable
from .opapi import Operations, State
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
from .plan import PlanStep, TablePlan
from .runner import RevisionStatus, check, downgrade, history, make, upgrade, upgrade_sql
from .schema import ColumnSchema, ForeignKeySchema, IndexSchema, TableSchema, model_schema

__all__ = [
    "RevisionStatus",
    "check",
    "downgrade",
    "history",
    "make",
    "upgrade",
    "upgrade_sql",
    "Operations",
    "Revision",
    "State",
    "Step",
    "load_chain",
    "replay",
    "AddColumn",
    "AddForeignKey",
    "AlterColumn",
    "ColumnSchema",
    "CreateIndex",
    "CreateTable",
    "DropColumn",
    "DropForeignKey",
    "DropIndex",
    "DropTable",
    "Execute",
    "ForeignKeySchema",
    "IndexSchema",
    "LiveColumn",
    "LiveTable",
    "Operation",
    "PlanStep",
    "Run",
    "TablePlan",
    "TableSchema",
    "diff_live",
    "diff_schemas",
    "model_schema",
]

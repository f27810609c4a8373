"""ormer: an asyncio ORM with a connection pool and pluggable database backends.

from ormer import Database, DbType, Model, primary

class User(Model, table="users"):
    id: int = primary(auto=True)
    name: str

async with await Database.connect(DbType.SQLITE, "app.db") as db:
    await db.create_table(User)
    await db.insert(User(name="Ann"))
    users = await db.select(User).filter(User.name != "Bob").collect()
"""

from __future__ import annotations

from typing import TypeVar

from .compound import CompoundSelect
from .connection import Connection, Transaction
from .database import Database, DbType
from .errors import (
    ConfigurationError,
    ConnectionError,
    ConnectionLostError,
    ConnectionReleasedError,
    DatabaseError,
    DialectNotFoundError,
    ForeignKeyViolationError,
    IntegrityError,
    LockNotAvailableError,
    MigrationError,
    NotFoundError,
    NotNullViolationError,
    NotSupportedError,
    OrmerError,
    PoolClosedError,
    PoolError,
    PoolExhaustedByTaskError,
    PoolQueueFullError,
    PoolTimeoutError,
    QueryError,
    RelationNotLoadedError,
    StaleObjectError,
    StatementTimeoutError,
    TransientError,
    UniqueViolationError,
    ValidationError,
    WriteConflictError,
)
from .expr import Column, Expr, exists, func, not_exists
from .keyset import Page
from .model import (
    Model,
    aliased,
    asdict,
    field,
    foreign_key,
    index,
    primary,
    table_of,
    unique,
    version_field,
)
from .pool import Pool, PooledConnection, PoolStats
from .pool_builder import PoolBuilder, PoolOptions
from .query import Delete, Insert, ObjectDelete, ObjectUpdate, Select, Update
from .relations import Relation, belongs_to, has_many, has_one, many_to_many
from .replicas import ReplicaStats, ReplicatedPool, ReplicatedPoolBuilder, ReplicatedPoolStats
from .sqllog import LogSettings, configure_logging
from .statements import CommonTable
from .windows import rollup

__version__ = "0.1.0"

T = TypeVar("T")


def col(attribute: T) -> Column[T]:
    """Type-checker aid: ``col(User.name)`` is ``Column[str]`` where ``User.name`` reads as ``str``.

    At run time it returns its argument (already a column on the model class).
    """
    if not isinstance(attribute, Column):
        raise TypeError(f"col() takes a model column such as User.name, not {attribute!r}")
    return attribute


__all__ = [
    "Column",
    "ConfigurationError",
    "Connection",
    "ConnectionError",
    "ConnectionLostError",
    "ConnectionReleasedError",
    "Database",
    "DatabaseError",
    "DbType",
    "Delete",
    "DialectNotFoundError",
    "Expr",
    "ForeignKeyViolationError",
    "Insert",
    "IntegrityError",
    "MigrationError",
    "LogSettings",
    "Model",
    "NotFoundError",
    "NotNullViolationError",
    "NotSupportedError",
    "ObjectDelete",
    "ObjectUpdate",
    "OrmerError",
    "Page",
    "Pool",
    "PoolBuilder",
    "PoolOptions",
    "PoolClosedError",
    "PoolError",
    "PoolExhaustedByTaskError",
    "PoolQueueFullError",
    "PoolStats",
    "ReplicaStats",
    "ReplicatedPool",
    "ReplicatedPoolBuilder",
    "ReplicatedPoolStats",
    "PoolTimeoutError",
    "PooledConnection",
    "QueryError",
    "Relation",
    "RelationNotLoadedError",
    "Select",
    "CommonTable",
    "CompoundSelect",
    "StaleObjectError",
    "Transaction",
    "StatementTimeoutError",
    "LockNotAvailableError",
    "TransientError",
    "UniqueViolationError",
    "Update",
    "ValidationError",
    "WriteConflictError",
    "__version__",
    "aliased",
    "asdict",
    "belongs_to",
    "col",
    "configure_logging",
    "exists",
    "field",
    "foreign_key",
    "func",
    "has_many",
    "has_one",
    "index",
    "many_to_many",
    "not_exists",
    "primary",
    "rollup",
    "table_of",
    "unique",
    "version_field",
]

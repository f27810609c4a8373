"""Query builders: ``Select``, ``Insert``, ``Update``, ``Delete`` (docs/queries.md, docs/writes.md).

Builders are generative (each method returns a new builder, so a base query
can be reused) and run through an :class:`Executor`: a single connection, or
a pool that borrows one per statement.
"""

from __future__ import annotations

import copy
import decimal
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast, overload

from .compiler import Compiled
from .errors import ConfigurationError, NotFoundError, NotSupportedError
from .expr import (
    BinaryOp,
    BoolOp,
    Column,
    Expr,
    ExprOrValue,
    Func,
    Label,
    N,
    Ordering,
    Param,
    SqlValue,
    V,
    as_condition,
    as_expr,
    func,
)
from .hydrate import RowsConverter
from .keyset import Keyset, Page, fetch_page, seek
from .locks import RowLock, check_lock_executor
from .model import FieldInfo, Model, TableInfo, table_of
from .planner import find_plan, rows_converter, statement_plan
from .preload import IncludePlan, apply_includes, check_preloads, load_relations, plan_includes
from .relations import Relation
from .statements import (
    CommonTable,
    CompoundStmt,
    CteColumn,
    DeleteStmt,
    DerivedColumn,
    DerivedTable,
    Join,
    SelectStmt,
    UpdateStmt,
    limit_param,
    offset_param,
    range_params,
)
from .timeouts import DEFAULT, Timeout, check_timeout
from .types import ColumnType, Kind
from .unexecuted import Site, creation_site, warn_unexecuted
from .versioning import held_version, stale_error, version_condition, with_version_bump

if TYPE_CHECKING:
    from .compound import CompoundSelect
    from .connection import Connection
    from .dialect import Dialect, Row
    from .pool import Pool
    from .replicas import ReplicatedPool

R = TypeVar("R")
S = TypeVar("S", bound=Sequence[Any])

__all__ = [
    "Delete",
    "Executor",
    "Insert",
    "ObjectDelete",
    "ObjectUpdate",
    "QueryAPI",
    "Select",
    "Update",
    "resolve_item",
]

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
M = TypeVar("M", bound=Model)
M1 = TypeVar("M1", bound=Model)
M2 = TypeVar("M2", bound=Model)
M3 = TypeVar("M3", bound=Model)
# one per select position: the value type a column or expression item yields
V1 = TypeVar("V1", bound=SqlValue)
V2 = TypeVar("V2", bound=SqlValue)
V3 = TypeVar("V3", bound=SqlValue)
V4 = TypeVar("V4", bound=SqlValue)
V5 = TypeVar("V5", bound=SqlValue)
V6 = TypeVar("V6", bound=SqlValue)
_INT = ColumnType(Kind.INT, int)
_BOOL = ColumnType(Kind.BOOL, bool)


class Executor(Protocol):
    """What query builders run on: a connection, or a pool borrowing one per statement."""

    @property
    def dialect(self) -> Dialect: ...

    async def _fetch(
        self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT
    ) -> list[Row]: ...

    async def _read(self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT) -> list[Row]:
        """A SELECT a builder compiled (no side effect): a pool may retry it once
        on a fresh connection when its connection turns out dead."""
        ...

    async def _execute(
        self, sql: str, params: Sequence[Any], timeout: Timeout = DEFAULT
    ) -> int: ...

    def _stream(
        self, sql: str, params: Sequence[Any], batch: int, timeout: Timeout = DEFAULT
    ) -> AsyncIterator[list[Row]]: ...

    async def _insert(
        self,
        objects: Sequence[Model],
        upsert: bool,
        conflict: tuple[FieldInfo, ...],
        timeout: Timeout = DEFAULT,
    ) -> int: ...


def resolve_item(item: Any) -> TableInfo | Expr:
    """A select item: a model class (or alias) → its table; an expression as is."""
    if isinstance(item, Expr):
        return item
    info = getattr(item, "__ormer_table__", None)
    if isinstance(info, TableInfo):
        return info
    raise ConfigurationError(
        f"cannot select {item!r}: pass model classes, columns (User.name) or expressions"
    )


def _table_of_item(item: TableInfo | Expr) -> TableInfo | CommonTable | None:
    if isinstance(item, TableInfo):
        return item
    inner = item.expr if isinstance(item, Label) else item
    if isinstance(inner, CteColumn):
        return inner.cte
    if isinstance(inner, Column):
        info: TableInfo = inner.table.info
        return info
    return None


def _conditions(conditions: Sequence[Any], where: str) -> Expr | None:
    if len(conditions) == 1:
        return as_condition(conditions[0], where)
    if not conditions:
        return None
    return BoolOp.of("AND", *[as_condition(c, where) for c in conditions])


def _ordering(item: Any) -> Ordering:
    if isinstance(item, Ordering):
        return item
    if isinstance(item, Expr):
        return item.asc()
    raise ConfigurationError(f"order_by takes columns, expressions or .asc()/.desc(), not {item!r}")


class Select(Generic[T]):
    """A SELECT under construction; awaiting ``collect()`` runs it.

    ``conn.select(User)`` yields ``User`` objects; ``conn.select(User, Team)``
    tuples; ``conn.select(User.name, func.count())`` tuples of values.
    """

    __slots__ = (
        "_ex",
        "_include",
        "_keyset",
        "_loads",
        "_nullable",
        "_scalars",
        "_stmt",
        "_timeout",
    )

    def __init__(self, executor: Executor, items: Sequence[Any]) -> None:
        if not items:
            raise ConfigurationError("select() needs at least one model, column or expression")
        resolved = tuple(resolve_item(i) for i in items)
        from_ = _table_of_item(resolved[0])
        self._ex = executor
        self._stmt = SelectStmt(resolved, from_ if from_ is not None else _NO_FROM)
        self._nullable: frozenset[int] = frozenset()
        self._scalars = False
        self._timeout: Timeout = DEFAULT
        self._loads: tuple[Relation, ...] = ()
        self._include: IncludePlan | None = None
        self._keyset: Keyset | None = None

    def _copy(self) -> Select[T]:
        new = Select.__new__(Select)
        new._ex = self._ex
        new._stmt = self._stmt.copy()
        new._nullable = self._nullable
        new._scalars = self._scalars
        new._timeout = self._timeout
        new._loads = self._loads
        new._include = self._include
        new._keyset = self._keyset
        return cast("Select[T]", new)

    def timeout(self, seconds: float | None) -> Select[T]:
        """A new builder whose statement may run at most ``seconds`` (None: no limit).

        Overrides the connection's ``statement_timeout``. Over the limit the
        statement is cancelled on the server and StatementTimeoutError is raised;
        ``stream()`` applies it to each batch's round trip. The SQL is unchanged.
        """
        limit = check_timeout(seconds)
        new = self._copy()
        new._timeout = limit
        return new

    # -- row locks (ormer.locks; docs/queries.md#row-locks) -----------------------------------
    def for_update(
        self, *, skip_locked: bool = False, nowait: bool = False, of: Sequence[Any] = ()
    ) -> Select[T]:
        """Lock the selected rows until the transaction ends: ``FOR UPDATE``.

        ``skip_locked=True`` leaves out rows another transaction has locked (``SKIP
        LOCKED``: a work queue's claim); ``nowait=True`` fails at once with
        :class:`~ormer.errors.LockNotAvailableError` instead of waiting for them
        (``NOWAIT``); the two exclude each other (ConfigurationError). ``of=(Model,
        ...)`` locks only those tables' rows (PostgreSQL, MySQL 8; NotSupportedError
        on MariaDB). The select must run on a connection inside a transaction
        (ConfigurationError otherwise, and always through a pool). SQLite and Turso
        have no row locks: inside ``transaction(mode="immediate")`` (or
        ``"exclusive"``), whose write lock on the whole database covers the rows,
        the clause is left out; elsewhere NotSupportedError.
        """
        return self._locked(share=False, skip_locked=skip_locked, nowait=nowait, of=of)

    def for_share(
        self, *, skip_locked: bool = False, nowait: bool = False, of: Sequence[Any] = ()
    ) -> Select[T]:
        """Lock the selected rows against writes (others may still read and share-lock
        them) until the transaction ends: ``FOR SHARE`` (MariaDB: ``LOCK IN SHARE
        MODE``). Options and rules as :meth:`for_update`."""
        return self._locked(share=True, skip_locked=skip_locked, nowait=nowait, of=of)

    def _locked(self, share: bool, skip_locked: bool, nowait: bool, of: Sequence[Any]) -> Select[T]:
        method = "for_share()" if share else "for_update()"
        for flag, value in (("skip_locked", skip_locked), ("nowait", nowait)):
            if type(value) is not bool:
                raise ConfigurationError(f"{method}: {flag} must be True or False, not {value!r}")
        if isinstance(of, (str, bytes)) or not isinstance(of, Sequence):
            of = (of,)
        tables: list[TableInfo] = []
        for model in of:
            info = resolve_item(model)
            if not isinstance(info, TableInfo):
                raise ConfigurationError(f"{method}: of= takes model classes, not {model!r}")
            tables.append(info)
        new = self._copy()
        new._stmt.lock = RowLock(share, skip_locked, nowait, tuple(tables))
        return new

    def _check_lock(self) -> None:
        """Before running: a locking select needs a transaction it can hold the lock in."""
        stmt = self._stmt
        lock = stmt.lock
        if lock is None:
            return
        if stmt.distinct or stmt.is_aggregate:
            raise ConfigurationError(
                f"{lock.method} locks rows, and a select with DISTINCT, GROUP BY or an "
                "aggregate returns none of them: lock the rows in a plain select first"
            )
        named = {id(t.ref) for t in stmt.tables_in_from()}
        for info in lock.of:
            if id(info.ref) not in named:
                raise ConfigurationError(
                    f"{lock.method}: of= names {info.model.__name__}, which this select "
                    "neither reads from nor joins"
                )
        check_lock_executor(lock, self._ex, self._ex.dialect)

    def __ormer_statement__(self) -> SelectStmt:
        self._check_from()
        return self._stmt

    # -- building ---------------------------------------------------------------------------
    def filter(self, *conditions: Any) -> Select[T]:
        """Add WHERE conditions (ANDed with each other and with earlier filters)."""
        cond = _conditions(conditions, "filter()")
        new = self._copy()
        if cond is not None:
            stmt = new._stmt
            stmt.where = cond if stmt.where is None else stmt.where & cond
        return new

    where = filter

    def order_by(self, *items: Any) -> Select[T]:
        """Append ORDER BY items: columns, expressions, labels, ``x.asc()``/``x.desc()``."""
        if self._keyset is not None:
            raise ConfigurationError(
                "order_by() after after()/before(): the cursor is read in the ordering "
                "it was given, so call order_by() first"
            )
        new = self._copy()
        new._stmt.order_by = new._stmt.order_by + tuple(_ordering(i) for i in items)
        return new

    def after(self, cursor: Any) -> Select[T]:
        """Rows strictly after ``cursor`` in the ORDER BY (keyset pagination).

        ``cursor`` is an object of the selected model or a tuple with one value per
        ordering item (a page's ``next_cursor``). The ordering must be unique and
        NOT NULL; see ``ormer.keyset`` and docs/pagination.md.
        """
        return seek(self, cursor, before=False)

    def before(self, cursor: Any) -> Select[T]:
        """Rows strictly before ``cursor`` in the ORDER BY, still in that order
        (``page()`` then returns the rows just before it); see ``after()``."""
        return seek(self, cursor, before=True)

    async def page(self: Select[M], size: int) -> Page[M]:
        """One keyset page of ``size`` objects, with ``has_more`` and the cursors of
        its ends (LIMIT size + 1, never an OFFSET); see docs/pagination.md."""
        return await fetch_page(self, size)

    def range(self, start: int, end: int) -> Select[T]:
        """Rows ``start`` (inclusive) to ``end`` (exclusive): OFFSET start LIMIT end-start."""
        limit, offset = range_params(start, end)
        new = self._copy()
        new._stmt.limit, new._stmt.offset = limit, offset
        return new

    def limit(self, n: int) -> Select[T]:
        """At most ``n`` rows."""
        new = self._copy()
        new._stmt.limit = limit_param(n)
        return new

    def offset(self, n: int) -> Select[T]:
        """Skip ``n`` rows."""
        new = self._copy()
        new._stmt.offset = offset_param(n)
        return new

    def distinct(self) -> Select[T]:
        """SELECT DISTINCT."""
        new = self._copy()
        new._stmt.distinct = True
        return new

    def distinct_on(self, *exprs: Any) -> Select[T]:
        """``SELECT DISTINCT ON (exprs)``: the first row of each group of equal ``exprs``
        in the ORDER BY (which must start with them). PostgreSQL only: other backends
        raise NotSupportedError (``Dialect.supports_distinct_on``)."""
        if not exprs:
            raise ConfigurationError("distinct_on() needs at least one expression")
        new = self._copy()
        new._stmt.distinct_on = new._stmt.distinct_on + tuple(as_expr(e) for e in exprs)
        return new

    def group_by(self, *exprs: Any) -> Select[T]:
        """GROUP BY expressions."""
        new = self._copy()
        new._stmt.group_by = new._stmt.group_by + tuple(as_expr(e) for e in exprs)
        return new

    def having(self, *conditions: Any) -> Select[T]:
        """HAVING conditions (ANDed)."""
        cond = _conditions(conditions, "having()")
        new = self._copy()
        if cond is not None:
            stmt = new._stmt
            stmt.having = cond if stmt.having is None else stmt.having & cond
        return new

    def _join(self, kind: str, model: Any, on: Any) -> Select[Any]:
        info = model if isinstance(model, CommonTable) else resolve_item(model)
        if not isinstance(info, (TableInfo, CommonTable)):
            raise ConfigurationError(f"join() takes a model class or a CTE, not {model!r}")
        condition = as_condition(on, "left_join()" if kind == "left" else "join()")
        new = self._copy()
        stmt = new._stmt
        stmt.joins = (*stmt.joins, Join(kind, info, condition))
        if kind == "left":
            positions = {i for i, item in enumerate(stmt.items) if item is info}
            new._nullable = new._nullable | positions
        return new

    def join(self, model: Any, on: Any) -> Select[T]:
        """INNER JOIN ``model`` ON ``on`` (joins chain)."""
        return self._join("inner", model, on)

    @overload
    def left_join(
        self: Select[tuple[A, M2]], model: type[M2], on: Any
    ) -> Select[tuple[A, M2 | None]]: ...
    @overload
    def left_join(
        self: Select[tuple[A, M2, B]], model: type[M2], on: Any
    ) -> Select[tuple[A, M2 | None, B]]: ...
    @overload
    def left_join(
        self: Select[tuple[A, B, M3]], model: type[M3], on: Any
    ) -> Select[tuple[A, B, M3 | None]]: ...
    @overload
    def left_join(self, model: Any, on: Any) -> Select[T]: ...

    def left_join(self, model: Any, on: Any) -> Select[Any]:
        """LEFT JOIN: the joined model comes back as None where nothing matched.

        Type checkers see it: ``select(User, Team).left_join(Team, on)`` is a
        ``Select[tuple[User, Team | None]]`` (the model selected 2nd or 3rd).
        """
        return self._join("left", model, on)

    def select_from(self, model: Any) -> Select[T]:
        """Set the FROM model or CTE (needed when the first item is not a column or model)."""
        info = model if isinstance(model, CommonTable) else resolve_item(model)
        if not isinstance(info, (TableInfo, CommonTable)):
            raise ConfigurationError(f"select_from() takes a model class or a CTE, not {model!r}")
        new = self._copy()
        new._stmt.from_ = info
        return new

    def scalars(self: Select[tuple[A]]) -> Select[A]:
        """For a one-column select: bare values instead of 1-tuples.

        Type checkers accept it on one-item value selects only (``Select[tuple[str]]``
        becomes ``Select[str]``).
        """
        if len(self._stmt.items) != 1 or isinstance(self._stmt.items[0], TableInfo):
            raise ConfigurationError("scalars() applies to a select of exactly one column")
        new = self._copy()
        new._scalars = True
        return cast("Select[A]", new)

    # -- CTEs and set operations (ormer.compound) ---------------------------------------------
    def cte(self, name: str) -> CommonTable:
        """This select as a common table expression ``name`` (docs/queries.md): select
        from it and join it like a model, its columns being ``cte.c.<column>``."""
        self._plain("cte()")
        return CommonTable(name, self.__ormer_statement__())

    def union(self, other: Any) -> CompoundSelect[T]:
        """``self UNION other`` (duplicates dropped), typed like this select."""
        return self._set_op("UNION", other)

    def union_all(self, other: Any) -> CompoundSelect[T]:
        """``self UNION ALL other`` (every row of both)."""
        return self._set_op("UNION ALL", other)

    def intersect(self, other: Any) -> CompoundSelect[T]:
        """``self INTERSECT other`` (distinct rows in both)."""
        return self._set_op("INTERSECT", other)

    def except_(self, other: Any) -> CompoundSelect[T]:
        """``self EXCEPT other`` (distinct rows of this select not in ``other``)."""
        return self._set_op("EXCEPT", other)

    def _plain(self, what: str) -> None:
        if self._loads or self._include is not None:
            raise ConfigurationError(f"{what} of a select with preload()/include()")

    def _set_op(self, op: str, other: Any) -> CompoundSelect[T]:
        from .compound import CompoundSelect, statement_of

        self._plain(op.lower())
        stmt = CompoundStmt(op, self.__ormer_statement__(), statement_of(other, op))
        return CompoundSelect(self._ex, stmt, self._nullable, self._scalars, self._timeout)

    # -- relations --------------------------------------------------------------------------
    def preload(self, *relations: Any) -> Select[T]:
        """Load relations onto the results: one extra statement per relation, whatever the
        number of rows (``IN`` over the loaded objects' keys; none when no object has a key).

        ``preload(Author.posts, Post.tags)``: each relation starts from a model the query
        yields or from the targets of an earlier relation of the call. Works with
        ``collect()``, ``first()`` and ``stream()`` (per batch). Through a pool, the query
        and its preloads run on one connection (docs/relations.md).
        """
        selected = [i.model for i in self._stmt.items if isinstance(i, TableInfo)]
        if self._include is not None:
            selected += [i.model for i in self._include.items]
        selected += [r.target for r in self._loads]
        loads = check_preloads(selected, relations)
        new = self._copy()
        new._loads = self._loads + loads
        return new

    def include(self, *relations: Any) -> Select[T]:
        """Load to-one relations (belongs_to, has_one) in the same statement, through a
        LEFT JOIN of each target: ``select(Post).include(Post.author)``. An owner is a
        model the query yields or the target of an earlier include."""
        plan = plan_includes(self._stmt.items, self._include, relations)
        new = self._copy()
        new._include = plan
        return new

    def _loaded_stmt(self) -> tuple[SelectStmt, frozenset[int]]:
        """The statement with the includes' joins and items, and its nullable positions."""
        plan = self._include
        if plan is None:
            return self._stmt, self._nullable
        stmt = self._stmt.copy()
        width = len(stmt.items)
        stmt.items = stmt.items + plan.items
        stmt.joins = stmt.joins + plan.joins
        extra = frozenset(range(width, width + len(plan.items)))
        return stmt, self._nullable | extra

    def _related_results(self, rows: list[Any], stmt: SelectStmt) -> tuple[list[Any], Any]:
        """Converted rows → the results, and the loaded objects by class (preload owners)."""
        loaded: dict[type[Model], list[Model]] = {}
        if self._include is None:
            results = rows
            items = stmt.items
            if len(items) == 1:
                if isinstance(items[0], TableInfo):
                    # a copy: a self-referencing preload adds its targets to this list
                    loaded[items[0].model] = list(results)
                return results, loaded
        for at, item in enumerate(stmt.items):
            if isinstance(item, TableInfo):
                objs = [r[at] for r in rows if r[at] is not None]
                loaded.setdefault(item.model, []).extend(objs)
        if self._include is not None:
            width = len(self._stmt.items)
            single = width == 1 and isinstance(self._stmt.items[0], TableInfo)
            rows = apply_includes(rows, self._include, width, single)
        return rows, loaded

    async def _collect_related(self) -> list[T]:
        session = getattr(self._ex, "_session", None)
        if session is not None and self._loads:  # a pool: one connection for all statements
            async with session() as conn:
                return await self._run_related(conn)
        return await self._run_related(self._ex)

    async def _run_related(self, ex: Executor) -> list[T]:
        stmt, nullable = self._loaded_stmt()
        compiled, nodes = statement_plan(ex.dialect, stmt)
        rows = await ex._read(compiled.sql, compiled.bind(nodes), self._timeout)
        convert = rows_converter(ex.dialect, compiled, stmt.items, nullable, self._scalars)
        results, loaded = self._related_results(convert(rows), stmt)
        if self._loads:
            await load_relations(ex, loaded, self._loads)
        return results

    # -- compiling --------------------------------------------------------------------------
    def _check_from(self) -> None:
        if self._stmt.from_ is _NO_FROM:
            raise ConfigurationError(
                "this select's first item is not a plain column or model, so its FROM "
                "is unknown: add .select_from(Model)"
            )

    def _compiled(self, stmt: SelectStmt | None = None) -> tuple[Compiled, list[Any]]:
        self._check_from()
        compiled, nodes = statement_plan(self._ex.dialect, stmt or self._stmt)
        return compiled, compiled.bind(nodes)

    def _compiled_nodes(self) -> tuple[Compiled, list[Param]]:
        self._check_from()
        return statement_plan(self._ex.dialect, self._stmt)

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL and parameter list this query sends (its first statement, when it
        preloads relations), without running it."""
        compiled, params = self._compiled(self._loaded_stmt()[0])
        return compiled.sql, params

    def _converter(self, compiled: Compiled) -> RowsConverter:
        return rows_converter(
            self._ex.dialect, compiled, self._stmt.items, self._nullable, self._scalars
        )

    # -- running ----------------------------------------------------------------------------
    async def collect(self) -> list[T]:
        """Run the query and return every result."""
        self._check_lock()
        if self._loads or self._include is not None:
            self._check_from()
            return await self._collect_related()
        compiled, params = self._compiled()
        rows = await self._ex._read(compiled.sql, params, self._timeout)
        return self._converter(compiled)(rows)

    async def first(self) -> T | None:
        """The first result (LIMIT 1), or None."""
        new = self._copy()
        new._stmt.limit = Param(1, _INT)
        results = await new.collect()
        return results[0] if results else None

    async def exists(self) -> bool:
        """Whether the query has at least one row."""
        self._check_lock()
        new = self._copy()
        stmt = new._stmt
        stmt.items = (Param(1, _INT),)
        stmt.order_by = ()
        stmt.limit = Param(1, _INT)
        compiled, params = new._compiled()
        return bool(await self._ex._read(compiled.sql, params, self._timeout))

    async def _scalar(self, expr: Func) -> Any:
        self._check_from()
        if self._stmt.lock is not None:
            raise ConfigurationError(
                f"{self._stmt.lock.method} with count()/sum()/avg()/min()/max(): an "
                "aggregate returns no rows to lock; collect() the locked rows instead"
            )
        stmt = self._stmt
        if (
            stmt.distinct
            or stmt.distinct_on
            or stmt.group_by
            or stmt.limit is not None
            or stmt.offset is not None
        ):
            inner = stmt.copy()
            if expr.args:
                inner.items = (Label(expr.args[0], "_v"),)
                arg: tuple[Expr, ...] = (DerivedColumn("_sub", "_v", expr.args[0].type),)
            else:
                if not (stmt.distinct or stmt.distinct_on):
                    inner.items = (Param(1, _INT),)
                arg = ()
            expr = Func(expr.name, arg, expr.type, aggregate=True, distinct=expr.distinct)
            outer = SelectStmt((expr,), DerivedTable(inner, "_sub"))
        else:
            outer = stmt.copy()
            outer.items = (expr,)
            outer.order_by = ()
        compiled, nodes = statement_plan(self._ex.dialect, outer)
        rows = await self._ex._read(compiled.sql, compiled.bind(nodes), self._timeout)
        values = rows_converter(self._ex.dialect, compiled, (expr,), scalars=True)(rows)
        return values[0] if values else None

    async def count(self) -> int:
        """The number of rows the query yields."""
        n = await self._scalar(func.count())
        return int(n or 0)

    @overload
    async def sum(self, expr: Expr[bool | None] | bool | None) -> int | None: ...
    @overload
    async def sum(self, expr: ExprOrValue[N]) -> N | None: ...
    @overload
    async def sum(self, expr: Any) -> Any: ...

    async def sum(self, expr: Any) -> Any:
        """SUM of an expression over the query's rows (operand type kept; None if no rows)."""
        return await self._scalar(func.sum(expr))

    @overload
    async def avg(
        self, expr: Expr[decimal.Decimal | None] | decimal.Decimal | None
    ) -> decimal.Decimal | None: ...
    @overload
    async def avg(self, expr: Any) -> float | None: ...

    async def avg(self, expr: Any) -> Any:
        """AVG (Decimal for Decimal operands, float otherwise; None if no rows)."""
        return await self._scalar(func.avg(expr))

    @overload
    async def min(self, expr: ExprOrValue[V]) -> V | None: ...
    @overload
    async def min(self, expr: Any) -> Any: ...

    async def min(self, expr: Any) -> Any:
        """MIN of an expression (None if no rows)."""
        return await self._scalar(func.min(expr))

    @overload
    async def max(self, expr: ExprOrValue[V]) -> V | None: ...
    @overload
    async def max(self, expr: Any) -> Any: ...

    async def max(self, expr: Any) -> Any:
        """MAX of an expression (None if no rows)."""
        return await self._scalar(func.max(expr))

    async def stream(self, batch: int = 500) -> AsyncIterator[T]:
        """Yield results as they arrive, ``batch`` rows at a time from the driver."""
        if type(batch) is not int or batch < 1:
            raise ConfigurationError(f"stream batch must be a positive int, got {batch!r}")
        self._check_lock()
        ex = self._ex
        related = self._loads or self._include is not None
        one_connection = getattr(ex, "_session", None) is None
        if self._loads and one_connection and not ex.dialect.stream_allows_statements:
            raise NotSupportedError(
                f"{ex.dialect.name}: stream() with preload() on one connection: the "
                "connection cannot run the preload statements while the stream is open; "
                "stream through the pool (pool.select(...)), or collect()"
            )
        stmt, nullable = self._loaded_stmt()
        compiled, params = self._compiled(stmt)
        convert = rows_converter(ex.dialect, compiled, stmt.items, nullable, self._scalars)
        batches = ex._stream(compiled.sql, params, batch, self._timeout)
        try:
            async for rows in batches:
                results = convert(rows)
                if related:
                    results, loaded = self._related_results(results, stmt)
                    if self._loads:
                        await load_relations(ex, loaded, self._loads)
                for item in results:
                    yield item
        finally:  # closed early (aclose/aclosing): close the cursor now, not at GC
            aclose = getattr(batches, "aclose", None)
            if aclose is not None:
                await aclose()


class _NoFrom(TableInfo):
    """Marker for a select whose FROM must come from ``select_from``."""

    def __init__(self) -> None:  # never used as a table
        pass


_NO_FROM: Any = _NoFrom()


P = TypeVar("P", bound="_Pending")


class _Pending:
    """A write statement that warns when it is garbage-collected without having run.

    ``_site`` is where user code created it; ``_done`` turns true once it was
    executed, its SQL was asked for, or building it failed (the caller already got
    an exception, so a second complaint would be noise).
    """

    __slots__ = ("_done", "_site", "_timeout")
    _done: bool
    _site: Site
    _timeout: Timeout

    def _start_pending(self) -> None:
        # user code -> QueryAPI method -> builder __init__ -> here
        self._site = creation_site(3)
        self._done = False
        self._timeout = DEFAULT

    def timeout(self: P, seconds: float | None) -> P:
        """A new statement that may run at most ``seconds`` (None: no limit), each of
        its statements for a batch insert; see ``Select.timeout``. This one is spent."""
        try:
            limit = check_timeout(seconds)
        except BaseException:
            self._done = True
            raise
        new = copy.copy(self)
        new._timeout = limit
        self._done = True
        return new

    def _describe(self) -> str:
        raise NotImplementedError

    def __del__(self) -> None:
        if not getattr(self, "_done", True):
            warn_unexecuted(self._describe(), self._site)


class _Write(_Pending):
    """Shared parts of UPDATE and DELETE: filters and the ``.all()`` guard.

    Generative like ``Select``: each method returns a new builder and leaves this
    one as it was, so a base statement can be reused. Deriving a builder counts as
    using this one (only the statement that is finally built must run).
    """

    __slots__ = ("_all", "_ex", "_stmt")
    _stmt: UpdateStmt | DeleteStmt
    _ex: Executor
    _all: bool
    _verb = ""
    _statement_class: type[UpdateStmt] | type[DeleteStmt]

    def _describe(self) -> str:
        return f"{self._verb}({self._stmt.table.model.__name__})"

    def _derive(self: W) -> W:
        new = object.__new__(type(self))
        new._ex = self._ex
        new._stmt = self._stmt.copy()
        new._all = self._all
        new._timeout = self._timeout
        new._site = self._site
        new._done = False
        self._done = True
        return new

    def __init__(self, executor: Executor, model: Any) -> None:
        self._ex = executor
        self._stmt = self._statement_class(table_of(model))
        self._all = False
        self._start_pending()

    def filter(self: W, *conditions: Any) -> W:
        """A new builder restricted to the rows matching ``conditions`` (ANDed)."""
        return self._filtered(conditions)

    where = filter

    def all(self: W) -> W:
        """A new builder for every row (required when there is no filter)."""
        return self._everything()

    def _filtered(self: W, conditions: Sequence[Any]) -> W:
        try:
            cond = _conditions(conditions, "filter()")
        except BaseException:
            self._done = True
            raise
        new = self._derive()
        if cond is not None:
            stmt = new._stmt
            stmt.where = cond if stmt.where is None else stmt.where & cond
        return new

    def _everything(self: W) -> W:
        new = self._derive()
        new._all = True
        return new

    def _check(self) -> None:
        if self._stmt.where is None and not self._all:
            model = self._stmt.table.model.__name__
            raise ConfigurationError(
                f"{self._verb} on {model} without filter() would touch every row; "
                f"call .all() to say that is meant"
            )

    def _final(self) -> UpdateStmt | DeleteStmt:
        """The statement to run (``Update`` adds the version bump)."""
        return self._stmt

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL and parameters this statement sends, without running it."""
        self._done = True
        self._check()
        compiled, nodes = statement_plan(self._ex.dialect, self._final())
        return compiled.sql, compiled.bind(nodes)

    async def execute(self) -> int:
        """Run it; return the number of affected rows."""
        sql, params = self.sql()
        return await self._ex._execute(sql, params, self._timeout)

    def __await__(self) -> Generator[Any, None, int]:
        return self.execute().__await__()


W = TypeVar("W", bound=_Write)


class Update(_Write, Generic[M]):
    """``UPDATE``: ``conn.update(User).filter(...).set(User.age, User.age + 1).execute()``."""

    __slots__ = ()
    _verb = "update"
    _statement_class = UpdateStmt

    def __init__(self, executor: Executor, model: type[M]) -> None:
        super().__init__(executor, model)

    def set(self, column: Any, value: Any) -> Update[M]:
        """A new builder with ``SET column = value``; a Python value is validated first."""
        try:
            item = self._set_item(column, value)
        except BaseException:
            self._done = True
            raise
        new = self._derive()
        stmt = cast("UpdateStmt", new._stmt)
        stmt.sets = (*stmt.sets, item)
        return new

    def _set_item(self, column: Any, value: Any) -> tuple[Column[Any], Expr]:
        stmt = cast("UpdateStmt", self._stmt)
        if isinstance(column, str):
            column = stmt.table.columns.get(column)
        if not isinstance(column, Column) or column.table.info is not stmt.table:
            raise ConfigurationError(
                f"set() takes a column of {stmt.table.model.__name__} (or its field name)"
            )
        if not isinstance(value, Expr):
            column.field.validate(value)
        return column, as_expr(value, column.type, column)

    def _check(self) -> None:
        if not cast("UpdateStmt", self._stmt).sets:
            raise ConfigurationError("update() needs at least one set(column, value)")
        super()._check()

    def _final(self) -> UpdateStmt:
        """A versioned model's rows get ``version = version + 1`` unless set here."""
        stmt = cast("UpdateStmt", self._stmt)
        sets = with_version_bump(stmt.table, stmt.sets)
        if sets is stmt.sets:
            return stmt
        stmt = stmt.copy()
        stmt.sets = sets
        return stmt


class Delete(_Write, Generic[M]):
    """``DELETE``: ``conn.delete(User).filter(...).execute()``."""

    __slots__ = ()
    _verb = "delete"
    _statement_class = DeleteStmt

    def __init__(self, executor: Executor, model: type[M]) -> None:
        super().__init__(executor, model)


def _key_of(obj: Model, action: str) -> tuple[TableInfo, Expr]:
    """An object's table and the condition selecting its row by primary key."""
    if not isinstance(obj, Model):
        raise ConfigurationError(f"{action}() takes a model class or a model object, not {obj!r}")
    info = table_of(type(obj))
    if not info.primary_key:
        raise ConfigurationError(
            f"{action}({type(obj).__name__} object) needs a primary key to find its row; "
            f"{type(obj).__name__} declares none (use {action}({type(obj).__name__}).filter(...))"
        )
    values = obj.__dict__
    condition: Expr | None = None
    for f in info.primary_key:
        value = values.get(f.attr)
        if value is None:
            raise ConfigurationError(
                f"{action}({type(obj).__name__} object): its primary key {f.attr} is None; "
                "insert the object first"
            )
        f.validate(value)
        part = BinaryOp("=", info.columns[f.attr], Param(value, f.type), _BOOL)
        condition = part if condition is None else condition & part
    assert condition is not None
    return info, condition


def _key_text(obj: Model) -> str:
    info = table_of(type(obj))
    values = obj.__dict__
    return ", ".join(f"{f.attr}={values.get(f.attr)!r}" for f in info.primary_key)


async def _row_exists(executor: Executor, obj: Model) -> bool:
    """Whether ``obj``'s row (by primary key) exists: tells a stale object from a gone one."""
    _, condition = _key_of(obj, "update")
    return await Select[Model](executor, (type(obj),)).filter(condition).exists()


class ObjectUpdate(_Pending, Generic[M]):
    """``await conn.update(obj)``: write an object's non-key columns to its row.

    Every non-key field is written (ormer does not track which ones changed), with
    the values the object holds when the statement runs, validated first. A row
    that no longer exists raises :class:`~ormer.errors.NotFoundError`. With a
    ``version_field()`` the row must still hold the object's version (else
    :class:`~ormer.errors.StaleObjectError`); the update adds 1 to it, on the row
    and on the object.
    """

    __slots__ = ("_ex", "_obj")

    def __init__(self, executor: Executor, obj: M) -> None:
        info, _ = _key_of(obj, "update")
        if len(info.primary_key) == len(info.fields):
            raise ConfigurationError(
                f"update({type(obj).__name__} object): every field is part of the primary "
                "key, so there is nothing to update"
            )
        self._ex = executor
        self._obj = obj
        self._start_pending()

    def _describe(self) -> str:
        return f"update({type(self._obj).__name__} object)"

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL and parameters this statement sends, without running it."""
        self._done = True
        obj = self._obj
        info, condition = _key_of(obj, "update")
        values = obj.__dict__
        stmt = UpdateStmt(info)
        sets = []
        for f in info.fields:
            if f.primary or f is info.version:
                continue
            value = values.get(f.attr)
            f.validate(value)
            sets.append((info.columns[f.attr], Param(value, f.type)))
        stmt.sets = with_version_bump(info, tuple(sets))
        held = version_condition(info, held_version(info, obj))
        stmt.where = condition if held is None else condition & held
        compiled, nodes = statement_plan(self._ex.dialect, stmt, one_row=True)
        return compiled.sql, compiled.bind(nodes)

    async def execute(self) -> int:
        """Run it; return 1, or raise NotFoundError when the row is gone
        (StaleObjectError when it holds another version)."""
        obj = self._obj
        info = table_of(type(obj))
        sql, params = self.sql()  # validates the version too
        held = held_version(info, obj)
        n = await self._ex._execute(sql, params, self._timeout)
        if n and held is not None and info.version is not None:
            obj.__dict__[info.version.attr] = held + 1
        if n == 0:
            if held is not None and await _row_exists(self._ex, obj):
                raise stale_error("update", obj, _key_text(obj), held)
            raise NotFoundError(
                f"update({type(obj).__name__} object): no row with {_key_text(obj)} "
                f"in {table_of(type(obj)).name} (deleted, or its key changed)"
            )
        return n

    def __await__(self) -> Generator[Any, None, int]:
        return self.execute().__await__()


class ObjectDelete(_Pending, Generic[M]):
    """``await conn.delete(obj)``: delete an object's row by primary key.

    Returns the number of rows deleted: 1, or 0 when the row was already gone
    (deleting is idempotent, unlike ``update(obj)`` and ``refresh(obj)``). With a
    ``version_field()``, a row holding another version than the object raises
    :class:`~ormer.errors.StaleObjectError` and stays.
    """

    __slots__ = ("_ex", "_obj")

    def __init__(self, executor: Executor, obj: M) -> None:
        _key_of(obj, "delete")
        self._ex = executor
        self._obj = obj
        self._start_pending()

    def _describe(self) -> str:
        return f"delete({type(self._obj).__name__} object)"

    def sql(self) -> tuple[str, list[Any]]:
        """The SQL and parameters this statement sends, without running it."""
        self._done = True
        info, condition = _key_of(self._obj, "delete")
        stmt = DeleteStmt(info)
        held = version_condition(info, held_version(info, self._obj))
        stmt.where = condition if held is None else condition & held
        compiled, nodes = statement_plan(self._ex.dialect, stmt, one_row=True)
        return compiled.sql, compiled.bind(nodes)

    async def execute(self) -> int:
        """Run it; return the number of rows deleted (0 or 1; StaleObjectError when
        the row holds another version)."""
        obj = self._obj
        sql, params = self.sql()
        held = held_version(table_of(type(obj)), obj)
        n = await self._ex._execute(sql, params, self._timeout)
        if n == 0 and held is not None and await _row_exists(self._ex, obj):
            raise stale_error("delete", obj, _key_text(obj), held)
        return n

    def __await__(self) -> Generator[Any, None, int]:
        return self.execute().__await__()


class Insert(_Pending, Generic[M]):
    """``INSERT`` of one or many objects; auto primary keys are set on them.

    Many objects are split into as few statements as the dialect's bind
    limit allows, inside one transaction. ``insert_or_update`` upserts on the
    primary key or ``conflict=(...)`` columns.
    """

    __slots__ = ("_conflict", "_ex", "_objects", "_upsert")

    def __init__(
        self,
        executor: Executor,
        objects: M | Sequence[M],
        upsert: bool = False,
        conflict: Sequence[Any] | None = None,
    ) -> None:
        objs: list[M] = list(objects) if isinstance(objects, (list, tuple)) else [objects]  # type: ignore[list-item]
        # The first object names the model; the insert checks every other one's class.
        if objs and not isinstance(objs[0], Model):
            raise ConfigurationError(f"insert() takes model objects, not {objs[0]!r}")
        self._ex = executor
        self._objects = objs
        self._upsert = upsert
        fields: tuple[FieldInfo, ...] = ()
        if objs:
            info = table_of(type(objs[0]))
            if conflict is None:
                fields = info.primary_key
            else:
                for c in conflict:
                    if not isinstance(c, Column) or c.table.info is not info:
                        raise ConfigurationError(
                            f"conflict columns must be columns of {info.model.__name__}"
                        )
                fields = tuple(c.field for c in conflict)
        self._conflict = fields
        self._start_pending()

    def _describe(self) -> str:
        verb = "insert_or_update" if self._upsert else "insert"
        objs = self._objects
        what = f"{len(objs)} {type(objs[0]).__name__} objects" if objs else "no objects"
        if len(objs) == 1:
            what = f"{type(objs[0]).__name__} object"
        return f"{verb}({what})"

    async def execute(self) -> int:
        """Run the insert; return the number of rows written."""
        self._done = True
        return await self._ex._insert(self._objects, self._upsert, self._conflict, self._timeout)

    def __await__(self) -> Generator[Any, None, int]:
        return self.execute().__await__()


class QueryAPI:
    """The query methods shared by a connection and a pool (which borrows per statement)."""

    __slots__ = ()

    async def run_transaction(
        self,
        fn: Callable[[Connection], Awaitable[R]],
        *,
        isolation: str | None = None,
        mode: str | None = None,
        retries: int = 10,
        backoff: float = 0.002,
    ) -> R:
        """``await fn(conn)`` in a transaction, run again on a ``TransientError``
        (deadlock, serialization failure, write-write conflict); a pool borrows a
        connection per attempt. See ``ormer.retry.run_transaction``."""
        from .retry import run_transaction

        target = cast("Connection | Pool | ReplicatedPool", self)
        return await run_transaction(
            target, fn, isolation=isolation, mode=mode, retries=retries, backoff=backoff
        )

    @overload
    def select(self, a: type[M1], /) -> Select[M1]: ...
    @overload
    def select(self, a: ExprOrValue[V1], /) -> Select[tuple[V1]]: ...
    @overload
    def select(self, a: type[M1], b: type[M2], /) -> Select[tuple[M1, M2]]: ...
    @overload
    def select(self, a: type[M1], b: ExprOrValue[V2], /) -> Select[tuple[M1, V2]]: ...
    @overload
    def select(self, a: ExprOrValue[V1], b: type[M2], /) -> Select[tuple[V1, M2]]: ...
    @overload
    def select(self, a: ExprOrValue[V1], b: ExprOrValue[V2], /) -> Select[tuple[V1, V2]]: ...
    @overload
    def select(self, a: type[M1], b: type[M2], c: type[M3], /) -> Select[tuple[M1, M2, M3]]: ...
    @overload
    def select(
        self, a: type[M1], b: type[M2], c: ExprOrValue[V3], /
    ) -> Select[tuple[M1, M2, V3]]: ...
    @overload
    def select(
        self, a: type[M1], b: ExprOrValue[V2], c: type[M3], /
    ) -> Select[tuple[M1, V2, M3]]: ...
    @overload
    def select(
        self, a: type[M1], b: ExprOrValue[V2], c: ExprOrValue[V3], /
    ) -> Select[tuple[M1, V2, V3]]: ...
    @overload
    def select(
        self, a: ExprOrValue[V1], b: type[M2], c: type[M3], /
    ) -> Select[tuple[V1, M2, M3]]: ...
    @overload
    def select(
        self, a: ExprOrValue[V1], b: type[M2], c: ExprOrValue[V3], /
    ) -> Select[tuple[V1, M2, V3]]: ...
    @overload
    def select(
        self, a: ExprOrValue[V1], b: ExprOrValue[V2], c: type[M3], /
    ) -> Select[tuple[V1, V2, M3]]: ...
    @overload
    def select(
        self, a: ExprOrValue[V1], b: ExprOrValue[V2], c: ExprOrValue[V3], /
    ) -> Select[tuple[V1, V2, V3]]: ...
    @overload
    def select(
        self, a: ExprOrValue[V1], b: ExprOrValue[V2], c: ExprOrValue[V3], d: ExprOrValue[V4], /
    ) -> Select[tuple[V1, V2, V3, V4]]: ...
    @overload
    def select(
        self,
        a: ExprOrValue[V1],
        b: ExprOrValue[V2],
        c: ExprOrValue[V3],
        d: ExprOrValue[V4],
        e: ExprOrValue[V5],
        /,
    ) -> Select[tuple[V1, V2, V3, V4, V5]]: ...
    @overload
    def select(
        self,
        a: ExprOrValue[V1],
        b: ExprOrValue[V2],
        c: ExprOrValue[V3],
        d: ExprOrValue[V4],
        e: ExprOrValue[V5],
        f: ExprOrValue[V6],
        /,
    ) -> Select[tuple[V1, V2, V3, V4, V5, V6]]: ...
    # items a type checker cannot read (a type that a plugin maps, say): untyped values
    @overload
    def select(self, a: Any, /) -> Select[tuple[Any]]: ...
    @overload
    def select(self, a: Any, b: Any, /) -> Select[tuple[Any, Any]]: ...
    @overload
    def select(self, a: Any, b: Any, c: Any, /) -> Select[tuple[Any, Any, Any]]: ...
    @overload
    def select(self, a: Any, b: Any, c: Any, d: Any, /) -> Select[tuple[Any, Any, Any, Any]]: ...
    @overload
    def select(
        self, a: Any, b: Any, c: Any, d: Any, e: Any, /
    ) -> Select[tuple[Any, Any, Any, Any, Any]]: ...
    @overload
    def select(
        self, a: Any, b: Any, c: Any, d: Any, e: Any, f: Any, /
    ) -> Select[tuple[Any, Any, Any, Any, Any, Any]]: ...
    @overload
    def select(self, *items: Any) -> Select[tuple[Any, ...]]: ...

    def select(self, *items: Any) -> Select[Any]:
        """Start a SELECT of models, columns or expressions.

        Type checkers see the result type: ``select(User)`` is a ``Select[User]``,
        ``select(User, Team)`` a ``Select[tuple[User, Team]]`` and
        ``select(User.name, func.count())`` a ``Select[tuple[str, int]]`` (up to three
        items that mix models and values, up to six values); other selects are
        ``Select[tuple[Any, ...]]``.
        """
        return Select(cast("Executor", self), items)

    def insert(self, objects: M | Sequence[M]) -> Insert[M]:
        """INSERT one object or a list; awaiting the builder (or ``.execute()``) runs it."""
        return Insert(cast("Executor", self), objects)

    def insert_or_update(
        self, objects: M | Sequence[M], conflict: Sequence[Any] | None = None
    ) -> Insert[M]:
        """Upsert on the primary key, or on ``conflict=(User.email,)``."""
        return Insert(cast("Executor", self), objects, upsert=True, conflict=conflict)

    @overload
    def update(self, target: type[M], /) -> Update[M]: ...
    @overload
    def update(self, target: M, /) -> ObjectUpdate[M]: ...

    def update(self, target: Any, /) -> Update[Any] | ObjectUpdate[Any]:
        """``update(User)`` starts an UPDATE (needs ``filter(...)`` or ``.all()``);
        ``update(obj)`` writes an object's non-key columns to its row, by primary key."""
        if isinstance(target, Model):
            return ObjectUpdate(cast("Executor", self), target)
        return Update(cast("Executor", self), _model_class(target, "update"))

    @overload
    def delete(self, target: type[M], /) -> Delete[M]: ...
    @overload
    def delete(self, target: M, /) -> ObjectDelete[M]: ...

    def delete(self, target: Any, /) -> Delete[Any] | ObjectDelete[Any]:
        """``delete(User)`` starts a DELETE (needs ``filter(...)`` or ``.all()``);
        ``delete(obj)`` deletes an object's row, by primary key."""
        if isinstance(target, Model):
            return ObjectDelete(cast("Executor", self), target)
        return Delete(cast("Executor", self), _model_class(target, "delete"))

    async def refresh(self, obj: M) -> M:
        """Reload every field of ``obj`` from its row (by primary key); returns ``obj``.

        Raises :class:`~ormer.errors.NotFoundError` when the row no longer exists.
        """
        info, condition = _key_of(obj, "refresh")
        model = type(obj)
        found = await Select[M](cast("Executor", self), (model,)).filter(condition).first()
        if found is None:
            raise NotFoundError(
                f"refresh({model.__name__} object): no row with {_key_text(obj)} in {info.name}"
            )
        obj.__dict__.update(found.__dict__)
        return obj

    async def find(self, model: type[M], pk: Any) -> M | None:
        """The object whose primary key is ``pk`` (a tuple for composite keys), or None."""
        ex: Executor = self  # type: ignore[assignment]  # (no cast() call on the hot path)
        plan = ex.dialect.find_plans.get(model)
        if plan is not None and type(pk) is plan.key_type:  # the common lookup, planned
            rows = await ex._read(plan.sql, plan.one_key_params(pk))
            return plan.convert(rows)[0] if rows else None
        info = table_of(model)
        if not info.primary_key:
            raise ConfigurationError(f"{model.__name__} has no primary key")
        keys = pk if isinstance(pk, tuple) else (pk,)
        if len(keys) != len(info.primary_key):
            raise ConfigurationError(
                f"{model.__name__} has a {len(info.primary_key)}-column primary key; "
                f"got {len(keys)} value(s)"
            )
        fields = info.primary_key
        for f, k in zip(fields, keys):
            if type(k) is not f.type.py_type:  # None, or a value of another type: general path
                conditions = [info.columns[f.attr] == k for f, k in zip(fields, keys)]
                return await Select[M](ex, (model,)).filter(*conditions).first()
        # The common case: one cached plan per model (SQL, dumpers, row converter), so a
        # lookup builds no query tree; same SQL as select(model).filter(pk == k).first().
        plan = find_plan(ex.dialect, model)
        found = plan.convert(await ex._read(plan.sql, plan.params(keys)))
        return found[0] if found else None

    @overload
    async def preload(self, objects: M, /, *relations: Any) -> M: ...
    @overload
    async def preload(self, objects: S, /, *relations: Any) -> S: ...

    async def preload(self, objects: Any, /, *relations: Any) -> Any:
        """Load relations onto objects already in hand (one object or a sequence), with
        the same batching as ``select(...).preload(...)``; returns ``objects``.

        ``await conn.preload(authors, Author.posts, Post.tags)``: two statements.
        """
        objs = [objects] if isinstance(objects, Model) else list(objects)
        for obj in objs:
            if not isinstance(obj, Model):
                raise ConfigurationError(f"preload() takes model objects, not {obj!r}")
        loads = check_preloads(
            [type(o) for o in objs] or [r.owner for r in relations if isinstance(r, Relation)],
            relations,
        )
        if not objs:
            return objects
        loaded: dict[type[Model], list[Model]] = {}
        for obj in objs:
            loaded.setdefault(type(obj), []).append(obj)
        ex = cast("Executor", self)
        session = getattr(ex, "_session", None)
        if session is not None:  # a pool: one connection for all statements
            async with session() as conn:
                await load_relations(conn, loaded, loads)
        else:
            await load_relations(ex, loaded, loads)
        return objects


def _model_class(target: Any, action: str) -> Any:
    if isinstance(target, type) and issubclass(target, Model):
        return target
    if isinstance(getattr(target, "__ormer_table__", None), TableInfo):
        return target  # an aliased model
    raise ConfigurationError(
        f"{action}() takes a model class ({action}(User).filter(...)) or a model object "
        f"({action}(user)), not {target!r}"
    )

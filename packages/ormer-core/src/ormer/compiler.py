"""The SQL compiler: one visitor from statement and expression trees to SQL.

``SQLCompiler`` renders portable SQL and asks its dialect for what differs
(quoting, placeholders, type names, casts); a dialect subclasses it only to
override the ``visit_*`` or clause methods whose SQL differs, as SQLAlchemy's
dialect compilers do.

Compiled statements are cached per dialect by statement *shape* (see
``ormer.expr``): a cache hit costs one tree walk and one dict lookup, and the
bound values are read from the walked ``Param`` nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from . import plugins
from .errors import ConfigurationError, NotSupportedError
from .expr import (
    IN_ARRAY_MIN,
    Between,
    BinaryOp,
    BoolOp,
    Case,
    Column,
    Const,
    Exists,
    Expr,
    Func,
    InList,
    InSubquery,
    IsNull,
    Label,
    Like,
    Not,
    Ordering,
    Param,
    RowIn,
    ScalarSubquery,
)
from .locks import RowLock
from .migrations.ddl import DDLCompiler
from .migrations.schema import model_schema
from .model import FieldInfo, TableInfo
from .plans import PlanCache
from .statements import (
    CommonTable,
    CompoundStmt,
    DeleteStmt,
    DerivedColumn,
    DerivedTable,
    InsertStmt,
    SelectStmt,
    UpdateStmt,
)
from .types import ColumnType, Kind
from .windows import FilteredAggregate, Frame, IntLiteral, Rollup, Window, WindowFunc

if TYPE_CHECKING:
    from .dialect import Dialect, Dumper
    from .hydrate import RowsConverter

__all__ = ["Compiled", "SQLCompiler", "StatementCache", "compile_statement"]

_COMPOUND = (BinaryOp, BoolOp, Not, IsNull, InList, InSubquery, Like, Between, Case, Exists)
_NUMERIC_EXACT = (Kind.INT, Kind.BOOL)


class Compiled:
    """A compiled statement: SQL text plus where each placeholder's value comes from.

    ``slots[i] = (walk_index, dumper)``: placeholder ``i`` takes the value of the
    ``walk_index``-th Param of the statement's walk, converted by ``dumper``.
    ``converters`` holds a select's row converters, made once per shape by the
    query layer: one per result form (``True`` for bare scalars, ``False`` for
    rows), since a select with and without ``.scalars()`` shares its SQL.
    """

    __slots__ = ("converters", "slots", "sql")

    def __init__(self, sql: str, slots: tuple[tuple[int, Dumper | None], ...]) -> None:
        self.sql = sql
        self.slots = slots
        self.converters: dict[bool, RowsConverter] = {}

    def bind(self, nodes: Sequence[Param]) -> list[Any]:
        """The parameter list for this statement's walked Param nodes."""
        out = []
        for index, dump in self.slots:
            value = nodes[index].value
            out.append(value if dump is None or value is None else dump(value))
        return out


class StatementCache(PlanCache[tuple[Any, ...], Compiled]):
    """Compiled SELECT/UPDATE/DELETE statements by shape key, bounded."""

    __slots__ = ()


def compile_statement(
    dialect: Dialect,
    stmt: SelectStmt | CompoundStmt | UpdateStmt | DeleteStmt,
    one_row: bool = False,
) -> tuple[Compiled, list[Param]]:
    """Compile (or fetch from the cache) a statement; return it and its walked params.

    ``one_row``: the caller knows the statement touches one row by its key (an
    object's update or delete). Such statements and SELECTs with a LIMIT are told to
    the dialect as short (:meth:`~ormer.dialect.Dialect.note_short_statement`) when
    compiled: a LIMIT bounds the rows, not the work, so a driver running short
    statements inline must still bound their time.
    """
    key: list[Any] = []
    nodes: list[Param] = []
    stmt._walk(key, nodes)
    shape = tuple(key)
    cache = dialect.cache
    compiled = cache.get(shape)
    if compiled is None:
        cache.misses += 1
        compiled = dialect.compiler(dialect, nodes).compile(stmt)
        cache.put(shape, compiled)
        if one_row:
            dialect.note_short_statement(compiled.sql, write=not isinstance(stmt, SelectStmt))
        elif isinstance(stmt, SelectStmt) and stmt.limit is not None:
            dialect.note_short_statement(compiled.sql)
    else:
        cache.hits += 1
    return compiled, nodes


class SQLCompiler(DDLCompiler):
    """Renders statements for one dialect. One instance per compilation (cache miss)."""

    #: the LIMIT that means "no limit" (an OFFSET without a LIMIT needs one)
    no_limit: ClassVar[str] = "-1"

    def __init__(self, dialect: Dialect, nodes: Sequence[Param] = ()) -> None:
        self.dialect = dialect
        self.q = dialect.quote
        self._index = {id(node): i for i, node in enumerate(nodes)}
        self._slots: list[tuple[int, Dumper | None]] = []
        self._select_labels: list[set[str]] = []
        self._outer_joined: list[set[str]] = []  # per SELECT: tables that may be all NULL
        # per statement level: the table references in scope (a subquery sees its own
        # and every enclosing level's: naming an outer table correlates)
        self._scopes: list[tuple[set[int], Any]] = []
        self._ctes_found: list[CommonTable] | None = None  # CTE discovery (ctes_sql)
        self._derived = 0  # derived tables named so far (_m1, _m2, ...)
        self._windows: dict[int, Window[Any]] = {}  # id(func) -> the window it renders in
        self._window_clause: str | None = None  # the clause being rendered, if no window fits

    # -- entry points ------------------------------------------------------------------
    def compile(self, stmt: SelectStmt | CompoundStmt | UpdateStmt | DeleteStmt) -> Compiled:
        if isinstance(stmt, (SelectStmt, CompoundStmt)):
            sql = self.query_with_ctes(stmt)
        elif isinstance(stmt, UpdateStmt):
            sql = self.update_sql(stmt)
        else:
            sql = self.delete_sql(stmt)
        return Compiled(sql, tuple(self._slots))

    def compile_insert(self, stmt: InsertStmt) -> tuple[str, tuple[Dumper | None, ...]]:
        """SQL of an insert and the dumper of each column (applied to every row)."""
        dumpers = tuple(self.dialect.dumper(f.type) for f in stmt.columns)
        return self.insert_sql(stmt), dumpers

    def process(self, node: Expr) -> str:
        method: Callable[[Any], str] = getattr(self, "visit_" + node.visit_name)
        return method(node)

    def operand(self, node: Expr) -> str:
        """A sub-expression, parenthesised when it is compound."""
        sql = self.process(node)
        return f"({sql})" if isinstance(node, _COMPOUND) else sql

    # -- placeholders --------------------------------------------------------------------
    def bind_param(self, node: Param) -> str:
        index = self._index.get(id(node))
        if index is None:
            raise ConfigurationError("internal: a parameter was not collected by the walk")
        self._slots.append((index, self.dialect.dumper(node.type)))
        placeholder = self.dialect.placeholder(len(self._slots))
        return self.dialect.param_sql(placeholder, node.type)

    def visit_param(self, node: Param) -> str:
        return self.bind_param(node)

    # -- expressions ---------------------------------------------------------------------
    def visit_column(self, node: Column[Any]) -> str:
        scopes = self._scopes
        if scopes and not any(id(node.table) in refs for refs, _ in scopes):
            self._not_in_scope(node)
        return f"{self.q(node.table.ref_name)}.{self.q(node.name)}"

    def _not_in_scope(self, node: Column[Any]) -> None:
        stmt = self._scopes[-1][1]
        model = node.table.model.__name__
        name = node.table.alias or model
        if isinstance(stmt, SelectStmt):
            raise ConfigurationError(
                f"{node.describe()} is a column of {name}, which this query neither selects "
                f"from nor joins: add .join({name}, <condition>) (or .select_from({name}))"
            )
        target = stmt.table.model.__name__
        raise ConfigurationError(
            f"{node.describe()} is a column of {name}, but this statement writes "
            f"{target}: refer to other tables through a subquery, e.g. "
            f"{target}.<column>.in_(select({name}.<column>).filter(...))"
        )

    def visit_derived_column(self, node: DerivedColumn) -> str:
        return f"{self.q(node.alias)}.{self.q(node.name)}"

    def visit_const(self, node: Const) -> str:
        return "(1 = 1)" if node.value else "(1 = 0)"

    def visit_binary(self, node: BinaryOp) -> str:
        op = node.op
        if op == "/":
            return self.true_divide(node.left, node.right)
        if op == "//":
            return self.floor_divide(node.left, node.right)
        return f"{self.operand(node.left)} {op} {self.operand(node.right)}"

    def true_divide(self, left: Expr, right: Expr) -> str:
        """``/`` as true division: exact integers are cast to floating point first."""
        if self._is_exact_integer(left) and self._is_exact_integer(right):
            return f"CAST({self.process(left)} AS {self.float_cast_type()}) / {self.operand(right)}"
        return f"{self.operand(left)} / {self.operand(right)}"

    def float_cast_type(self) -> str:
        return self.dialect.type_name(ColumnType(Kind.FLOAT, float), False)

    def floor_divide(self, left: Expr, right: Expr) -> str:
        """``//`` as Python's floor division (SQL ``/`` and ``%`` truncate toward zero)."""

        # Each occurrence is rendered anew (left to right) so that every placeholder
        # gets its own bind slot: positional "?" styles need one value per mark.
        def a() -> str:
            return self.operand(left)

        def b() -> str:
            return self.operand(right)

        if self._is_exact_integer(left) and self._is_exact_integer(right):
            # the truncated quotient, minus 1 where the remainder's sign differs from
            # b's: no intermediate value leaves the operands' range (2**63-1 // -2 fits)
            div, mod = self.integer_divide, self.remainder
            return (
                f"({div(a(), b())} - CASE WHEN ({mod(a(), b())} < 0 AND {b()} > 0) "
                f"OR ({mod(a(), b())} > 0 AND {b()} < 0) THEN 1 ELSE 0 END)"
            )
        return f"FLOOR({a()} / {b()})"

    def integer_divide(self, a: str, b: str) -> str:
        """Integer division truncating toward zero, of two rendered integer operands."""
        return f"{a} / {b}"

    def remainder(self, a: str, b: str) -> str:
        """The remainder of two rendered integer operands (sign of the dividend)."""
        return f"{a} % {b}"

    @staticmethod
    def _is_exact_integer(node: Expr) -> bool:
        t = node.type
        return t is None or t.kind in _NUMERIC_EXACT

    def visit_boolop(self, node: BoolOp) -> str:
        return f" {node.op} ".join(self.operand(item) for item in node.items)

    def visit_not(self, node: Not) -> str:
        return f"NOT {self.operand(node.operand)}"

    def visit_is_null(self, node: IsNull) -> str:
        return f"{self.operand(node.operand)} IS {'NOT ' if node.negate else ''}NULL"

    def visit_in_list(self, node: InList) -> str:
        # operand first: positional placeholders (? %s) bind in the order rendered
        if node.array is not None:
            operand = self.operand(node.operand)
            if node.indexed:
                return self.in_array_indexed(operand, node.array, node.negate)
            return self.in_array(operand, node.array, node.negate)
        if not node.values:
            return self.visit_const(Const(node.negate))
        operand = self.operand(node.operand)
        values = ", ".join(self.process(v) for v in node.values)
        return f"{operand} {'NOT IN' if node.negate else 'IN'} ({values})"

    def visit_row_in(self, node: RowIn) -> str:
        # columns first: positional placeholders bind in the order rendered
        return self.row_in(tuple(self.operand(c) for c in node.columns), node)

    def row_in(self, columns: tuple[str, ...], node: RowIn) -> str:
        """``(a, b) IN (VALUES (?, ?), ...)``: a composite key among ``node.rows``
        (SQL-standard; PostgreSQL unnests ``node.arrays``, MySQL lists row values)."""
        rows = ", ".join("(" + ", ".join(self.process(v) for v in row) + ")" for row in node.rows)
        return f"({', '.join(columns)}) IN (VALUES {rows})"

    def in_array(self, operand: str, array: Param, negate: bool) -> str:
        """``operand [NOT] IN`` a long list bound as ONE parameter (``array.value`` is a
        tuple of the values, ``array.type`` the operand's type).

        A dialect renders it in its own form: ``= ANY($1)`` on PostgreSQL, a JSON array
        through ``json_each`` on SQLite, an interpolated ``IN (...)`` on MySQL; bind the
        parameter with :meth:`bind_array`. The default raises NotSupportedError.
        """
        raise NotSupportedError(
            f"{self.dialect.name}: in_/not_in with more than {IN_ARRAY_MIN} values needs "
            "the dialect's compiler to implement in_array"
        )

    def in_array_indexed(self, operand: str, array: Param, negate: bool) -> str:
        """:meth:`in_array` when the operand leads an index its model declares (a dialect
        may pick another form for an index lookup); by default the same."""
        return self.in_array(operand, array, negate)

    def bind_array(self, array: Param, dump: Dumper) -> str:
        """The placeholder of an ``in_array`` parameter; ``dump`` turns the tuple of values
        into what the driver binds (it runs on every execution)."""
        index = self._index.get(id(array))
        if index is None:
            raise ConfigurationError("internal: a parameter was not collected by the walk")
        self._slots.append((index, dump))
        return self.dialect.placeholder(len(self._slots))

    def array_elements(self, array: Param) -> Callable[[Any], list[Any]]:
        """A function dumping each value of an ``in_array`` tuple as a single parameter
        of the operand's type would be (None stays None)."""
        dump = self.dialect.dumper(array.type)
        if dump is None:
            return list

        def elements(values: Any) -> list[Any]:
            return [None if v is None else dump(v) for v in values]

        return elements

    def visit_in_subquery(self, node: InSubquery) -> str:
        operand = self.operand(node.operand)  # first: placeholders bind in rendering order
        sub = self.select_sql(node.select)
        return f"{operand} {'NOT IN' if node.negate else 'IN'} ({sub})"

    def visit_scalar_subquery(self, node: ScalarSubquery) -> str:
        return f"({self.select_sql(node.select)})"

    def visit_exists(self, node: Exists) -> str:
        return f"{'NOT ' if node.negate else ''}EXISTS ({self.select_sql(node.select)})"

    def visit_like(self, node: Like) -> str:
        operand, pattern = self.operand(node.operand), self.operand(node.pattern)
        if node.case_insensitive:
            sql = self.ilike(operand, pattern, node.negate)
        else:
            sql = f"{operand} {'NOT LIKE' if node.negate else 'LIKE'} {pattern}"
        if node.escape is not None:
            sql += f" ESCAPE {self.string_literal(node.escape)}"
        return sql

    def ilike(self, operand: str, pattern: str, negate: bool) -> str:
        """Case-insensitive LIKE; the portable form lower-cases both sides."""
        return f"LOWER({operand}) {'NOT LIKE' if negate else 'LIKE'} LOWER({pattern})"

    def string_literal(self, text: str) -> str:
        """A SQL string literal (only for validated, dialect-syntax text like ESCAPE)."""
        return "'" + text.replace("'", "''") + "'"

    def visit_between(self, node: Between) -> str:
        return (
            f"{self.operand(node.operand)} BETWEEN {self.operand(node.low)} "
            f"AND {self.operand(node.high)}"
        )

    #: portable function names → this dialect's SQL names
    function_names: dict[str, str] = {}

    def visit_func(self, node: Func) -> str:
        name = self.function_names.get(node.name, node.name).upper()
        if not node.args:
            return f"{name}(*){self.call_suffix(node)}"
        args = ", ".join(self.process(a) for a in node.args)
        return f"{name}({'DISTINCT ' if node.distinct else ''}{args}){self.call_suffix(node)}"

    # -- windows, FILTER, ROLLUP (ormer.windows) -------------------------------------------
    def call_suffix(self, node: Func) -> str:
        """What follows a function call's parentheses: ``FILTER (WHERE ...)`` for a
        filtered aggregate, ``OVER (...)`` when the call is a window's. A dialect that
        wraps a call (``CAST(SUM(x) AS BIGINT)``) appends it right after the call."""
        sql = ""
        if isinstance(node, FilteredAggregate):
            sql = f" FILTER (WHERE {self.process(node.condition)})"
        window = self._windows.pop(id(node), None) if self._windows else None
        if window is not None:
            sql += f" OVER ({self.window_spec(window)})"
        return sql

    def visit_window(self, node: Window[Any]) -> str:
        if not self.dialect.supports_window_functions:
            raise NotSupportedError(f"{self.dialect.name} has no window functions")
        if self._window_clause is not None:
            raise ConfigurationError(
                f"{node.describe()} in {self._window_clause}: windows are computed after "
                "WHERE, GROUP BY and HAVING; select it in a subquery or CTE and filter there"
            )
        self._windows[id(node.func)] = node
        sql = self.process(node.func)
        if self._windows.pop(id(node.func), None) is not None:
            raise ConfigurationError(f"internal: {node.describe()} was rendered without OVER")
        return sql

    def window_spec(self, node: Window[Any]) -> str:
        """``PARTITION BY ... ORDER BY ... ROWS BETWEEN ...`` (inside ``OVER (...)``)."""
        parts = []
        if node.partition_by:
            parts.append("PARTITION BY " + ", ".join(self.process(p) for p in node.partition_by))
        if node.order_by:
            parts.append("ORDER BY " + ", ".join(self.order_item(o) for o in node.order_by))
        if node.frame is not None:
            frame = node.frame
            start, end = self.frame_bound(frame.start, True), self.frame_bound(frame.end, False)
            parts.append(f"{frame.mode} BETWEEN {start} AND {end}")
        return " ".join(parts)

    @staticmethod
    def frame_bound(bound: int | None, start: bool) -> str:
        """A frame bound: None (UNBOUNDED), 0, -n PRECEDING, n FOLLOWING."""
        if bound is None:
            return "UNBOUNDED PRECEDING" if start else "UNBOUNDED FOLLOWING"
        if bound == 0:
            return "CURRENT ROW"
        return f"{-bound} PRECEDING" if bound < 0 else f"{bound} FOLLOWING"

    def visit_window_func(self, node: WindowFunc[Any]) -> str:
        if id(node) not in self._windows:
            raise ConfigurationError(
                f"{node.name}() is a window function: use it as func.{node.name}(...).over(...)"
            )
        name = self.function_names.get(node.name, node.name).upper()
        if len(node.args) == 2 and not self.dialect.supports_offset_default:
            return self.offset_with_default(name, node)
        args = [self.process(a) for a in node.args[:1]]
        args += [str(int(n)) for n in node.literals]
        args += [self.process(a) for a in node.args[1:]]
        return f"{name}({', '.join(args)}){self.call_suffix(node)}"

    def offset_with_default(self, name: str, node: WindowFunc[Any]) -> str:
        """``LAG/LEAD(x, n, default)`` where the backend takes no default (MariaDB): the
        default where fewer than ``n`` rows precede (follow) the current one in its
        partition, counted over the same ordering, so a NULL value stays NULL."""
        window = self._windows.pop(id(node))
        n = int(node.literals[0])
        bounds = (None, 0) if node.name == "lag" else (0, None)
        counted = Window(window.func, window.partition_by, window.order_by, Frame("ROWS", bounds))
        count_spec = self.window_spec(counted)
        value = self.process(node.args[0])
        spec = self.window_spec(window)
        default = self.process(node.args[1])
        return (
            f"CASE WHEN COUNT(*) OVER ({count_spec}) > {n} THEN {name}({value}, {n}) "
            f"OVER ({spec}) ELSE {default} END"
        )

    def visit_filtered_aggregate(self, node: FilteredAggregate[Any]) -> str:
        if self.dialect.supports_aggregate_filter:
            return self.visit_func(node)
        plain = node.as_case()
        window = self._windows.pop(id(node), None)
        if window is not None:
            self._windows[id(plain)] = window
        return self.process(plain)

    def visit_int_literal(self, node: IntLiteral) -> str:
        return str(int(node.value))

    def visit_rollup(self, node: Rollup) -> str:
        if self.dialect.group_by_rollup != "rollup":
            raise NotSupportedError(f"{self.dialect.name} has no GROUP BY ROLLUP")
        return "ROLLUP (" + ", ".join(self.process(e) for e in node.exprs) + ")"

    def group_by_clause(self, stmt: SelectStmt) -> str:
        """``GROUP BY ...`` (MySQL moves a ``rollup(...)`` to ``WITH ROLLUP``)."""
        return "GROUP BY " + ", ".join(self.process(g) for g in stmt.group_by)

    def distinct_on_clause(self, exprs: tuple[Expr, ...]) -> str:
        """``SELECT DISTINCT ON (...)`` (``Dialect.supports_distinct_on``)."""
        if not self.dialect.supports_distinct_on:
            raise NotSupportedError(f"{self.dialect.name} has no SELECT DISTINCT ON")
        return "SELECT DISTINCT ON (" + ", ".join(self.process(e) for e in exprs) + ")"

    def visit_case(self, node: Case) -> str:
        parts = ["CASE"]
        for cond, value in node.whens:
            parts.append(f"WHEN {self.process(cond)} THEN {self.process(value)}")
        if node.else_ is not None:
            parts.append(f"ELSE {self.process(node.else_)}")
        parts.append("END")
        return " ".join(parts)

    def visit_label(self, node: Label) -> str:
        return self.process(node.expr)

    # -- SELECT ---------------------------------------------------------------------------
    def table_sql(self, info: TableInfo) -> str:
        ref = info.ref
        if ref.alias:
            return f"{self.q(ref.name)} AS {self.q(ref.alias)}"
        return self.q(ref.name)

    def model_columns(self, info: TableInfo) -> str:
        prefix = self.q(info.ref.ref_name)
        return ", ".join(f"{prefix}.{self.q(f.column)}" for f in info.fields)

    def select_item(self, item: TableInfo | Expr) -> str:
        if isinstance(item, TableInfo):
            return self.model_columns(item)
        if isinstance(item, Label):
            return f"{self.process(item.expr)} AS {self.q(item.name)}"
        return self.process(item)

    def select_sql(self, stmt: SelectStmt) -> str:
        labels = {i.name for i in stmt.items if isinstance(i, Label)}
        self._select_labels.append(labels)
        self._outer_joined.append(
            {self.join_ref_name(j.table) for j in stmt.joins if j.kind == "left"}
        )
        refs = {id(t.ref) for t in stmt.tables_in_from()}
        refs.update(id(i.ref) for i in stmt.items if isinstance(i, TableInfo))
        self._scopes.append((refs, stmt))
        outer_clause, self._window_clause = self._window_clause, None
        try:
            return self._select_sql(stmt)
        finally:
            self._window_clause = outer_clause
            self._select_labels.pop()
            self._outer_joined.pop()
            self._scopes.pop()

    def _select_sql(self, stmt: SelectStmt) -> str:
        if stmt.distinct_on:
            parts = [self.distinct_on_clause(stmt.distinct_on)]
        else:
            parts = ["SELECT DISTINCT" if stmt.distinct else "SELECT"]
        parts.append(", ".join(self.select_item(i) for i in stmt.items))
        parts.append("FROM " + self.from_sql(stmt))
        for join in stmt.joins:
            kind = "LEFT JOIN" if join.kind == "left" else "JOIN"
            table = join.table
            if isinstance(table, CommonTable):
                target = self.cte_ref_sql(table)
            else:
                target = self.table_sql(table)
            parts.append(f"{kind} {target} ON {self.process(join.on)}")
        if stmt.where is not None:
            self._window_clause = "filter()"
            parts.append("WHERE " + self.process(stmt.where))
        if stmt.group_by:
            self._window_clause = "group_by()"
            parts.append(self.group_by_clause(stmt))
        if stmt.having is not None:
            self._window_clause = "having()"
            parts.append("HAVING " + self.process(stmt.having))
        self._window_clause = None
        if stmt.order_by:
            parts.append("ORDER BY " + ", ".join(self.order_item(o) for o in stmt.order_by))
        limit = self.bind_param(stmt.limit) if stmt.limit is not None else None
        offset = self.bind_param(stmt.offset) if stmt.offset is not None else None
        if limit is not None or offset is not None:
            parts.append(self.limit_clause(limit, offset))
        if stmt.lock is not None:
            lock = self.lock_clause(stmt.lock)
            if lock:
                parts.append(lock)
        return " ".join(parts)

    def from_sql(self, stmt: SelectStmt) -> str:
        from_ = stmt.from_
        if isinstance(from_, DerivedTable):
            return f"({self.query_sql(from_.select)}) AS {self.q(from_.alias)}"
        if isinstance(from_, CommonTable):
            return self.cte_ref_sql(from_)
        tables = [self.table_sql(from_)]
        named = {id(t.ref) for t in stmt.tables_in_from()}
        for item in stmt.items:  # selected models neither in FROM nor joined: cross join
            if isinstance(item, TableInfo) and id(item.ref) not in named:
                named.add(id(item.ref))
                tables.append(self.table_sql(item))
        return ", ".join(tables)

    def order_item(self, ordering: Ordering) -> str:
        expr = ordering.expr
        if isinstance(expr, Label) and expr.name in self._select_labels[-1]:
            sql = self.q(expr.name)
        else:
            sql = self.process(expr)
        direction = " DESC" if ordering.desc else " ASC"
        nulls = ordering.nulls
        if nulls is None:
            if self._never_null(expr):
                return sql + direction
            # Pin one NULL placement on every backend: NULLs first ascending.
            nulls = "last" if ordering.desc else "first"
            default_first = self.dialect.nulls_first_ascending != ordering.desc
            if (nulls == "first") == default_first:
                return sql + direction
        if self.dialect.supports_nulls_order:
            return f"{sql}{direction} NULLS {nulls.upper()}"
        flag = f"CASE WHEN {sql} IS NULL THEN 0 ELSE 1 END"
        if not (isinstance(expr, Label) and expr.name in self._select_labels[-1]):
            sql = self.process(expr)  # rendered again: its placeholders need their own slots
        return f"{flag} {'ASC' if nulls == 'first' else 'DESC'}, {sql}{direction}"

    def _never_null(self, expr: Expr) -> bool:
        """Whether an ORDER BY item is never NULL: a NOT NULL column of a table that is
        not outer-joined, ``COUNT``, ``IS [NOT] NULL``, ``EXISTS``, a constant.
        Expression types do not track nullability (``a + 1``, ``a < b`` are NULL
        where ``a`` is), so every other item gets ormer's NULL placement."""
        inner = expr.expr if isinstance(expr, Label) else expr
        if isinstance(inner, Column):
            if self._rolls_up():
                return False  # a rolled-up column is NULL in the subtotal rows
            return not inner.type.nullable and inner.table.ref_name not in self._outer_joined[-1]
        if isinstance(inner, Func):
            return inner.name == "count"
        return isinstance(inner, (IsNull, Exists, Const))

    def _rolls_up(self) -> bool:
        stmt = self._scopes[-1][1] if self._scopes else None
        return isinstance(stmt, SelectStmt) and any(isinstance(g, Rollup) for g in stmt.group_by)

    def limit_clause(self, limit: str | None, offset: str | None) -> str:
        """``LIMIT n OFFSET m``; a dialect overrides when OFFSET needs a LIMIT."""
        if limit is None:
            return f"LIMIT {self.no_limit} OFFSET {offset}"
        if offset is None:
            return f"LIMIT {limit}"
        return f"LIMIT {limit} OFFSET {offset}"

    def lock_clause(self, lock: RowLock) -> str:
        """``FOR UPDATE | <share_lock_sql> [OF t, ...] [SKIP LOCKED | NOWAIT]``; empty on a
        dialect without row locks (``ormer.locks``: there the transaction's own lock
        stands for it, and the query layer checked that it is held)."""
        dialect = self.dialect
        if not dialect.supports_row_locks:
            return ""
        parts = [dialect.share_lock_sql if lock.share else "FOR UPDATE"]
        if lock.of:
            if not dialect.supports_lock_of:
                raise NotSupportedError(
                    f"{dialect.name}: {lock.method} with of=: it locks the rows of every "
                    "table the select reads; drop of="
                )
            parts.append("OF " + ", ".join(self.q(t.ref.ref_name) for t in lock.of))
        if lock.skip_locked:
            parts.append("SKIP LOCKED")
        elif lock.nowait:
            parts.append("NOWAIT")
        return " ".join(parts)

    # -- common table expressions and set operations -----------------------------------
    def query_sql(self, stmt: SelectStmt | CompoundStmt) -> str:
        """A select or a compound select (no WITH clause: that is hoisted to the top)."""
        if isinstance(stmt, CompoundStmt):
            return self.compound_sql(stmt)
        return self.select_sql(stmt)

    @staticmethod
    def join_ref_name(table: TableInfo | CommonTable) -> str:
        """The name a joined table's columns are qualified with."""
        return table.name if isinstance(table, CommonTable) else table.ref.ref_name

    def cte_ref_sql(self, cte: CommonTable) -> str:
        """A CTE named in FROM or JOIN (noted while the WITH clause is being planned)."""
        if self._ctes_found is not None:
            self._ctes_found.append(cte)
        return self.q(cte.name)

    def query_with_ctes(self, stmt: SelectStmt | CompoundStmt) -> str:
        """``WITH [RECURSIVE] a(...) AS (...), b(...) AS (...) <query>``: every CTE the
        query refers to (in FROM, JOIN or any subquery), dependencies first."""
        ctes = self._cte_order(stmt)
        if not ctes:
            return self.query_sql(stmt)
        recursive = any(c.recursive for c in ctes)
        if recursive and not self.dialect.supports_recursive_cte:
            raise NotSupportedError(f"{self.dialect.name} has no recursive CTEs (WITH RECURSIVE)")
        defs = ", ".join(self.cte_definition(c) for c in ctes)
        return f"WITH {'RECURSIVE ' if recursive else ''}{defs} {self.query_sql(stmt)}"

    def cte_definition(self, cte: CommonTable) -> str:
        columns = ", ".join(self.q(c.name) for c in cte.columns)
        return f"{self.q(cte.name)}({columns}) AS ({self.query_sql(cte.body)})"

    def _referenced_ctes(self, stmt: SelectStmt | CompoundStmt) -> list[CommonTable]:
        """The CTEs a query names, found by rendering it once (its SQL is discarded)."""
        saved = self._slots, self._ctes_found, self._derived
        self._slots, self._ctes_found = [], []
        try:
            self.query_sql(stmt)
            return self._ctes_found
        finally:
            self._slots, self._ctes_found, self._derived = saved

    def _cte_order(self, stmt: SelectStmt | CompoundStmt) -> list[CommonTable]:
        order: list[CommonTable] = []
        by_name: dict[str, CommonTable] = {}

        def visit(cte: CommonTable) -> None:
            known = by_name.get(cte.name)
            if known is not None:
                if known is cte or known.base is cte:
                    return  # placed already, or the anchor a recursive CTE refers to
                if cte.base is known:
                    raise ConfigurationError(
                        f"this query refers to CTE {cte.name!r} both before and after its "
                        "union_all(): use the recursive CTE union_all() returned"
                    )
                raise ConfigurationError(f"two different CTEs named {cte.name!r} in one query")
            by_name[cte.name] = cte
            for dep in self._referenced_ctes(cte.body):
                visit(dep)
            order.append(cte)

        for cte in self._referenced_ctes(stmt):
            visit(cte)
        return order

    def compound_sql(self, stmt: CompoundStmt) -> str:
        """``a UNION b ...``; with ORDER BY/LIMIT the compound is wrapped as a derived
        table ``_u`` (its ORDER BY items are columns of ``_u``), so any expression sorts."""
        if stmt.op in ("INTERSECT", "EXCEPT") and not self.dialect.supports_intersect_except:
            raise NotSupportedError(f"{self.dialect.name} has no {stmt.op}")
        left = self.compound_member(stmt.left, stmt.op, True)
        right = self.compound_member(stmt.right, stmt.op, False)
        body = f"{left} {stmt.op} {right}"
        if not stmt.order_by and stmt.limit is None and stmt.offset is None:
            return body
        parts = [f"SELECT * FROM ({body}) AS {self.q('_u')}"]
        self._select_labels.append(set())
        self._outer_joined.append(set())
        try:
            if stmt.order_by:
                parts.append("ORDER BY " + ", ".join(self.order_item(o) for o in stmt.order_by))
        finally:
            self._select_labels.pop()
            self._outer_joined.pop()
        limit = self.bind_param(stmt.limit) if stmt.limit is not None else None
        offset = self.bind_param(stmt.offset) if stmt.offset is not None else None
        if limit is not None or offset is not None:
            parts.append(self.limit_clause(limit, offset))
        return " ".join(parts)

    def compound_member(self, member: SelectStmt | CompoundStmt, op: str, left: bool) -> str:
        """One side of a set operation, unparenthesised (SQLite allows no parentheses):
        a member with its own ORDER BY/LIMIT, or a compound whose operator binds
        differently (INTERSECT binds tighter than UNION/EXCEPT on PostgreSQL and MySQL),
        becomes ``SELECT * FROM (member) AS _mN``."""
        if isinstance(member, SelectStmt):
            inline = not member.order_by and member.limit is None and member.offset is None
            if inline:
                return self.select_sql(member)
        else:
            ordered = member.order_by or member.limit is not None or member.offset is not None
            same_level = (member.op == "INTERSECT") == (op == "INTERSECT")
            if left and same_level and not ordered:
                return self.compound_sql(member)
        self._derived += 1
        alias = self.q(f"_m{self._derived}")
        return f"SELECT * FROM ({self.query_sql(member)}) AS {alias}"

    # -- UPDATE / DELETE -------------------------------------------------------------------
    def update_sql(self, stmt: UpdateStmt) -> str:
        self._scopes.append(({id(stmt.table.ref)}, stmt))
        sets = ", ".join(f"{self.q(c.name)} = {self.process(v)}" for c, v in stmt.sets)
        sql = f"UPDATE {self.q(stmt.table.name)} SET {sets}"
        if stmt.where is not None:
            sql += " WHERE " + self.process(stmt.where)
        return sql

    def delete_sql(self, stmt: DeleteStmt) -> str:
        self._scopes.append(({id(stmt.table.ref)}, stmt))
        sql = f"DELETE FROM {self.q(stmt.table.name)}"
        if stmt.where is not None:
            sql += " WHERE " + self.process(stmt.where)
        return sql

    # -- INSERT ------------------------------------------------------------------------------
    def insert_sql(self, stmt: InsertStmt) -> str:
        columns = ", ".join(self.q(f.column) for f in stmt.columns)
        width = len(stmt.columns)
        placeholder = self.dialect.placeholder
        rows = []
        n = 0
        for _ in range(stmt.rows):
            cells = []
            for f in stmt.columns:
                n += 1
                cells.append(self.dialect.param_sql(placeholder(n), f.type))
            rows.append("(" + ", ".join(cells) + ")")
        if width:
            sql = f"INSERT INTO {self.q(stmt.table.name)} ({columns}) VALUES {', '.join(rows)}"
        else:
            sql = self.insert_default_values(stmt)
        if stmt.upsert:
            sql += " " + self.upsert_clause(stmt)
        if stmt.returning:
            sql += " " + self.returning_clause(stmt.returning)
        return sql

    def insert_default_values(self, stmt: InsertStmt) -> str:
        if stmt.rows != 1:
            raise NotSupportedError("a multi-row insert needs at least one column value")
        return f"INSERT INTO {self.q(stmt.table.name)} DEFAULT VALUES"

    def returning_clause(self, fields: Sequence[FieldInfo]) -> str:
        if not self.dialect.supports_returning:
            raise NotSupportedError(f"{self.dialect.name} has no RETURNING")
        return "RETURNING " + ", ".join(self.q(f.column) for f in fields)

    def upsert_clause(self, stmt: InsertStmt) -> str:
        """``ON CONFLICT (...) DO UPDATE SET col = excluded.col`` (PostgreSQL, SQLite).

        A versioned model's row gets ``version = table.version + 1`` instead of the
        object's version (docs/writes.md#optimistic-locking).
        """
        target = ", ".join(self.q(f.column) for f in stmt.conflict)
        sets = [
            f"{self.q(f.column)} = excluded.{self.q(f.column)}" for f in self.upsert_updates(stmt)
        ]
        bump = self.upsert_version_bump(stmt, f"{self.q(stmt.table.name)}.")
        if bump is not None:
            sets.append(bump)
        if not sets:
            return f"ON CONFLICT ({target}) DO NOTHING"
        return f"ON CONFLICT ({target}) DO UPDATE SET {', '.join(sets)}"

    def upsert_updates(self, stmt: InsertStmt) -> list[FieldInfo]:
        """The columns an upsert's update branch copies from the proposed row: all but
        the conflict columns and the version."""
        conflict = {f.column for f in stmt.conflict}
        version = stmt.table.version
        return [f for f in stmt.columns if f.column not in conflict and f is not version]

    def upsert_version_bump(self, stmt: InsertStmt, qualifier: str) -> str | None:
        """``version = <qualifier>version + 1`` for a versioned model's upsert, else None."""
        version = stmt.table.version
        if version is None or version in stmt.conflict:
            return None
        column = self.q(version.column)
        return f"{column} = {qualifier}{column} + 1"

    # -- DDL -----------------------------------------------------------------------------
    def create_table_sql(self, info: TableInfo, if_not_exists: bool) -> list[str]:
        """``CREATE TABLE`` (columns with the server defaults ``model_schema`` gives them,
        unique constraints, foreign keys) plus one ``CREATE INDEX`` per index group:
        exactly the table ``model_schema(info)`` describes, so ``plan_table`` right
        after it has no steps."""
        indexed = {
            f.column for _, group in info.unique_groups + info.index_groups for f in group
        } | {f.column for f in info.primary_key}
        types = {f.column: self.column_type_sql(f, f.column in indexed) for f in info.fields}
        return self.schema_create_sql(model_schema(info), if_not_exists, types)

    def column_type_sql(self, f: FieldInfo, indexed: bool) -> str:
        custom = plugins.hook().ormer_sql_type(py_type=f.type.py_type, dialect=self.dialect)
        return custom if isinstance(custom, str) else self.dialect.type_name(f.type, indexed)

    def drop_table_sql(self, info: TableInfo, if_exists: bool) -> str:
        return f"DROP TABLE {'IF EXISTS ' if if_exists else ''}{self.q(info.name)}"

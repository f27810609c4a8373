"""Property tests a dialect runs on itself: differential (against the oracle),
metamorphic (TLP, NoREC, count), round-trip and relation properties (docs/testing.md).

A test module subclasses the classes here (their names do not start with
``Test``, so importing them collects nothing by itself) and supplies one
``ormer_url`` fixture, as for the compliance suite::

    from ormer.testing.properties import PropertySuite

    @pytest.fixture
    def ormer_url():
        return "mydb://..."

    class TestProperties(PropertySuite):
        pass

Each test function opens one connection (on an event loop of its own,
:class:`Target`) and runs every example on it; each example creates its own
table (a fresh name) and drops it at the end, so a shared database works.

How many examples run is a hypothesis profile, chosen by the environment
variable ``ORMER_HYPOTHESIS_PROFILE``:

* ``ci`` (default): derandomized, the same examples on every run
  (``ORMER_PROPERTY_EXAMPLES`` examples per property and backend, default 200);
* ``fuzz``: random, ``ORMER_FUZZ_EXAMPLES`` per property and backend (default
  10,000), failures saved in hypothesis' example database;
* ``dev``: random, the ``ci`` count.

:func:`report_lines` summarises what ran: examples per property and backend
and how many distinct filter and model shapes they covered.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, NoReturn, TypeVar

import pytest
from hypothesis import HealthCheck, event, given, note, reject, settings
from hypothesis import strategies as st

from .. import Connection, Database, col
from ..expr import BinaryOp, Column, Expr, Func, Param, func
from ..model import Model, table_of
from ..types import INT64_MAX, INT64_MIN, Kind
from .graphs import (
    GRAPH_MODELS,
    GAuthor,
    GCategory,
    GPost,
    GraphCase,
    GraphOracle,
    GTag,
    graph_cases,
)
from .oracle import (
    Semantics,
    Unpredictable,
    aggregate,
    close_to,
    compare,
    evaluate,
    group_rows,
    model_shape,
    same_multiset,
    select_rows,
    set_operation,
    shape,
    sort_rows,
    window,
)
from .statements import count_statements
from .strategies import (
    AggregateCase,
    BatchCase,
    Limits,
    QueryCase,
    RoundTripCase,
    SetOperationCase,
    UpsertCase,
    aggregate_cases,
    batch_cases,
    query_cases,
    roundtrip_cases,
    set_operation_cases,
    upsert_cases,
)

__all__ = [
    "DifferentialProperties",
    "PropertySuite",
    "RelationProperties",
    "RoundTripProperties",
    "Target",
    "check_aggregates",
    "check_batch",
    "check_preload",
    "check_query",
    "check_set_operation",
    "check_roundtrip",
    "check_upsert",
    "property_settings",
    "report_lines",
]

T = TypeVar("T")

# -- profiles ----------------------------------------------------------------------------
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "ormer-ci",
    max_examples=int(os.environ.get("ORMER_PROPERTY_EXAMPLES", "200")),
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "ormer-dev",
    max_examples=int(os.environ.get("ORMER_PROPERTY_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "ormer-fuzz",
    max_examples=int(os.environ.get("ORMER_FUZZ_EXAMPLES", "10000")),
    deadline=None,
    print_blob=True,
    suppress_health_check=_SUPPRESS,
)


def profile_name() -> str:
    """The active profile: ``ORMER_HYPOTHESIS_PROFILE`` (``ci``, ``dev``, ``fuzz``)."""
    name = os.environ.get("ORMER_HYPOTHESIS_PROFILE", "ci").strip() or "ci"
    return name if name.startswith("ormer-") else f"ormer-{name}"


def property_settings(max_examples: int | None = None) -> settings:
    """The active profile's settings, optionally with another example count."""
    base = settings.get_profile(profile_name())
    if max_examples is None:
        return settings(base)
    return settings(base, max_examples=max_examples)


# -- coverage ----------------------------------------------------------------------------
@dataclass
class Stats:
    """What one property covered on one backend."""

    examples: int = 0
    shapes: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    rejected: Counter[str] = field(default_factory=Counter)


STATS: dict[tuple[str, str], Stats] = {}


def _record(prop: str, backend: str, shape_: str, model: type[Model]) -> None:
    stats = STATS.setdefault((prop, backend), Stats())
    stats.examples += 1
    stats.shapes.add(shape_)
    stats.models.add(model_shape(model))


def _reject(prop: str, backend: str, reason: Unpredictable) -> NoReturn:
    text = str(reason).split(":")[0]
    STATS.setdefault((prop, backend), Stats()).rejected[text] += 1
    event(f"rejected: {text}")
    reject()
    raise AssertionError("unreachable")  # pragma: no cover


def report_lines() -> list[str]:
    """One line per property and backend: examples run, distinct shapes covered."""
    lines = []
    for (prop, backend), s in sorted(STATS.items()):
        rejected = sum(s.rejected.values())
        lines.append(
            f"{prop:<12} {backend:<27} {s.examples:>7} examples  {len(s.shapes):>7} query shapes"
            f"  {len(s.models):>7} model shapes  {rejected:>6} rejected"
        )
    return lines


# -- running examples ----------------------------------------------------------------------
class Target:
    """One database under test for one test function: an event loop and a connection."""

    def __init__(
        self, url: str, *, code_point_text: bool = True, max_examples: int | None = None
    ) -> None:
        self.max_examples = max_examples
        self.runner = asyncio.Runner()
        try:
            self.conn: Connection = self.runner.run(Database.connect(url))
        except BaseException:
            self.runner.close()
            raise
        dialect = self.conn.dialect
        self.backend = type(dialect).__name__  # the server's variant (MariaDB, no RETURNING)
        self.limits = Limits.for_dialect(dialect, code_point_text=code_point_text)
        self.sem = Semantics(like_default_escape=dialect.like_default_escape)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def close(self) -> None:
        try:
            self.runner.run(self.conn.close())
        finally:
            self.runner.close()


@contextlib.asynccontextmanager
async def _table(conn: Connection, model: type[Model]) -> AsyncIterator[None]:
    await conn.create_table(model, if_not_exists=False)
    try:
        yield
    finally:
        await conn.drop_table(model)


def _by_id(rows: Sequence[Model]) -> list[Model]:
    return sorted(rows, key=lambda r: r.__dict__["id"])


def _sql(query: Any) -> str:
    sql, params = query.sql()
    return f"\n  SQL: {sql}\n  params: {params!r}"


# -- the select property ---------------------------------------------------------------------
@dataclass
class _Expected:
    ordered: list[Model]
    filtered: list[Model]
    ranged: list[Model]
    tlp: tuple[list[int], list[int], list[int]]
    items: list[tuple[Any, ...]]


def _expect_query(case: QueryCase, sem: Semantics) -> _Expected:
    """Everything the oracle says about a case (raises Unpredictable first, before SQL)."""
    where = case.where
    ordered = sort_rows(case.rows, case.order_by, sem)
    filtered = select_rows(case.rows, where, case.order_by, sem=sem)
    ranged = filtered[case.start : case.end]
    parts: tuple[list[int], list[int], list[int]] = ([], [], [])
    for row in case.rows:
        value = evaluate(where, row, sem)
        truth = None if value is None else bool(value)
        parts[0 if truth is True else 1 if truth is False else 2].append(row.__dict__["id"])
    items: list[tuple[Any, ...]] = []
    if case.items is not None:
        for row in filtered:  # every kept row: servers evaluate select items before LIMIT
            items.append(tuple(evaluate(i, row, sem) for i in case.items))
        items = items[case.start : case.end]
    return _Expected(ordered, filtered, ranged, parts, items)


async def check_query(conn: Connection, case: QueryCase, expected: _Expected) -> None:
    """Run a select case and compare everything with the oracle's ``expected``."""
    model = case.model
    pk = table_of(model).columns["id"]
    async with _table(conn, model):
        if case.rows:
            await conn.insert(case.rows)
        everything = await conn.select(model).order_by(pk).collect()
        assert everything == _by_id(case.rows), "rows read back differ from the rows written"
        ordered = conn.select(model).order_by(*case.order_by)
        assert await ordered.collect() == expected.ordered, f"order_by differs{_sql(ordered)}"

        query = conn.select(model).filter(case.where).order_by(*case.order_by)
        ranged = query.range(case.start, case.end)
        got = await ranged.collect()
        assert got == expected.ranged, f"select differs from the oracle{_sql(ranged)}"
        assert await query.collect() == expected.filtered, f"unranged select{_sql(query)}"

        n = await query.count()
        assert n == len(expected.filtered), f"count() {n} != {len(expected.filtered)}"
        n = await ranged.count()
        assert n == len(expected.ranged), f"range().count() {n} != len(collect()){_sql(ranged)}"
        first = await query.first()
        assert first == (expected.filtered[0] if expected.filtered else None), "first()"
        streamed = [row async for row in query.stream(batch=case.batch)]
        assert streamed == expected.filtered, f"stream(batch={case.batch}) != collect()"

        # TLP: p, NOT p and (p) IS NULL partition the table
        by_id = conn.select(pk).order_by(pk).scalars()
        parts = (
            await by_id.filter(case.where).collect(),
            await by_id.filter(~case.where).collect(),
            await by_id.filter(case.where.is_null()).collect(),
        )
        assert parts == expected.tlp, (
            f"TLP partition (p, ~p, p IS NULL) {parts} != oracle {expected.tlp}"
            f"{_sql(by_id.filter(~case.where))}"
        )
        # NoREC: the predicate outside WHERE counts the same rows
        norec = conn.select(func.sum(func.case((case.where, 1), else_=0))).select_from(model)
        total = await norec.scalars().first()
        assert (total or 0) == len(expected.filtered), f"NoREC sum(case) {total}{_sql(norec)}"

        if case.items is not None:
            projection = (
                conn.select(*case.items)
                .select_from(model)
                .filter(case.where)
                .order_by(*case.order_by)
                .range(case.start, case.end)
            )
            values = await projection.collect()
            assert values == expected.items, f"projection differs{_sql(projection)}"


# -- the aggregate property --------------------------------------------------------------------
def _group_value(expr: Expr, group: Sequence[Model], sem: Semantics) -> Any:
    """A HAVING/select expression over one group (aggregates over its rows)."""
    if isinstance(expr, Func) and expr.aggregate:
        if not expr.args:
            return len(group)
        values = [evaluate(expr.args[0], row, sem) for row in group]
        return aggregate(expr.name, values, expr.distinct)
    if isinstance(expr, Param):
        return expr.value
    if isinstance(expr, Column):
        return evaluate(expr, group[0], sem)
    assert isinstance(expr, BinaryOp), expr
    left = _group_value(expr.left, group, sem)
    return compare(expr.op, left, _group_value(expr.right, group, sem))


@dataclass
class _Aggregates:
    count: int
    count_col: int
    sum: Any
    min: Any
    max: Any
    avg: Any
    count_distinct: int
    values: list[Any]


def _aggregates(rows: Sequence[Model], target: Column[Any], sem: Semantics) -> _Aggregates:
    values = [evaluate(target, r, sem) for r in rows]
    kind = target.type.kind
    present = [v for v in values if v is not None]
    if kind is Kind.INT and (
        sum(v for v in present if v > 0) > INT64_MAX or sum(v for v in present if v < 0) < INT64_MIN
    ):
        raise Unpredictable(
            "integer overflow in sum: PostgreSQL and SQLite raise, MySQL returns a wider value"
        )
    if kind is Kind.FLOAT and sum(abs(v) for v in present) > 1.7976931348623157e308:
        raise Unpredictable("float overflow in sum: PostgreSQL raises, the others give inf")
    if kind is Kind.FLOAT and any(abs(v) > 1e150 for v in present):
        raise Unpredictable(
            "float overflow in avg: PostgreSQL's avg(float8) accumulates squares and raises"
        )
    return _Aggregates(
        count=len(rows),
        count_col=aggregate("count", values),
        sum=aggregate("sum", values),
        min=aggregate("min", values),
        max=aggregate("max", values),
        avg=aggregate("avg", values),
        count_distinct=aggregate("count", values, distinct=True),
        values=values,
    )


def _same_sum(got: Any, exact: Any, agg: _Aggregates, target: Column[Any], limits: Limits) -> bool:
    kind = target.type.kind
    if kind in (Kind.INT, Kind.BOOL):
        return bool(got == exact)
    if kind is Kind.DECIMAL and limits.exact_decimal_arithmetic:
        return bool(got == exact)
    places = target.type.decimal_places or 0
    quantum = Fraction(1, 10**places) if kind is Kind.DECIMAL else Fraction(0)
    return close_to(got, exact, agg.values, quantum)


def _same_avg(got: Any, exact: Any, agg: _Aggregates, target: Column[Any]) -> bool:
    places = target.type.decimal_places
    # PostgreSQL rounds an average to about 16 significant digits, MySQL to places + 4
    quantum = Fraction(1, 10 ** (places + 4)) if places is not None else Fraction(0)
    if exact is not None:
        quantum += abs(Fraction(exact)) * Fraction(1, 10**15)
    return close_to(got, exact, agg.values, quantum)


async def check_aggregates(
    conn: Connection, case: AggregateCase, sem: Semantics, limits: Limits
) -> None:
    """Aggregates (shortcuts, group by/having, distinct) against the oracle."""
    model, target = case.model, case.target
    kept = select_rows(case.rows, case.where, sem=sem)
    whole = _aggregates(kept, target, sem)
    groups: list[tuple[Any, _Aggregates]] = []
    distinct_values: list[Any] = []
    for v in (evaluate(case.distinct_column, r, sem) for r in kept):
        if not any(v == d for d in distinct_values):
            distinct_values.append(v)
    if case.key is not None:
        key = case.key
        for group in group_rows(kept, key, sem):
            if case.having is not None and _group_value(case.having, group, sem) is not True:
                continue
            groups.append((group[0], _aggregates(group, target, sem)))
        ordered = sort_rows([g for g, _ in groups], [key.asc()], sem)
        order = {id(r): i for i, r in enumerate(ordered)}
        groups.sort(key=lambda g: order[id(g[0])])

    async with _table(conn, model):
        if case.rows:
            await conn.insert(case.rows)
        q = conn.select(model)
        if case.where is not None:
            q = q.filter(case.where)
        assert await q.count() == whole.count, "count()"
        got_sum = await q.sum(target)
        assert _same_sum(got_sum, whole.sum, whole, target, limits), (
            f"sum() {got_sum!r} != {whole.sum!r}{_sql(q)}"
        )
        got_avg = await q.avg(target)
        assert _same_avg(got_avg, whole.avg, whole, target), f"avg() {got_avg!r} != {whole.avg!r}"
        assert await q.min(target) == whole.min, "min()"
        assert await q.max(target) == whole.max, "max()"

        dq = conn.select(case.distinct_column).distinct()
        if case.where is not None:
            dq = dq.filter(case.where)
        got_distinct = await dq.scalars().collect()
        assert len(got_distinct) == len(distinct_values), (
            f"distinct(): {got_distinct!r} != {distinct_values!r}{_sql(dq)}"
        )
        assert all(any(g == d for d in distinct_values) for g in got_distinct), "distinct()"
        assert await dq.count() == len(distinct_values), "distinct().count()"

        if conn.dialect.supports_window_functions:
            await _check_windows(conn, case, kept, sem, limits)
        if case.key is None:
            return
        key = case.key
        items = (
            key,
            func.count(),
            func.count(target),
            func.sum(target),
            func.min(target),
            func.max(target),
            func.avg(target),
            func.count_distinct(target),
        )
        gq = conn.select(*items).group_by(key).order_by(key)
        if case.where is not None:
            gq = gq.filter(case.where)
        if case.having is not None:
            gq = gq.having(case.having)
        got = await gq.collect()
        assert len(got) == len(groups), f"{len(got)} groups != {len(groups)}{_sql(gq)}"
        for row, (first, agg) in zip(got, groups):
            expected_key = evaluate(key, first, sem)
            k, count, count_col, total, low, high, avg, nd = row
            what = f"group {expected_key!r}: got {row!r}{_sql(gq)}"
            assert k == expected_key, what
            assert (count, count_col, nd) == (agg.count, agg.count_col, agg.count_distinct), what
            assert (low, high) == (agg.min, agg.max), what
            assert _same_sum(total, agg.sum, agg, target, limits), what
            assert _same_avg(avg, agg.avg, agg, target), what


# -- the set-operation property ---------------------------------------------------------------
async def check_set_operation(conn: Connection, case: SetOperationCase, sem: Semantics) -> None:
    """``select(column).filter(left) <op> select(column).filter(right)`` against the
    oracle: the rows as a multiset, ``count()``, and the compound ordered by its column."""
    column = case.column
    kept_left = select_rows(case.rows, case.left, sem=sem)
    kept_right = select_rows(case.rows, case.right, sem=sem)
    rows_of = {id(r): r for r in (*kept_left, *kept_right)}
    left = [((evaluate(column, r, sem),), id(r)) for r in kept_left]
    right = [((evaluate(column, r, sem),), id(r)) for r in kept_right]
    expected = set_operation(case.op, [v for v, _ in left], [v for v, _ in right])
    # the expected rows in ORDER BY column: each value through a row that holds it
    holders = [next(rows_of[i] for v2, i in (*left, *right) if v2 == v) for v in expected]
    ordered_values = [(evaluate(column, r, sem),) for r in sort_rows(holders, [column.asc()], sem)]
    async with _table(conn, case.model):
        if case.rows:
            await conn.insert(case.rows)
        if case.op in ("intersect", "except") and not conn.dialect.supports_intersect_except:
            return
        q1 = conn.select(column).filter(case.left)
        q2 = conn.select(column).filter(case.right)
        compound = getattr(q1, "except_" if case.op == "except" else case.op)(q2)
        got = await compound.collect()
        assert same_multiset(got, expected), (
            f"{case.op}: {got!r} != oracle {expected!r}{_sql(compound)}"
        )
        n = await compound.count()
        assert n == len(expected), f"{case.op} count() {n} != {len(expected)}{_sql(compound)}"
        ordered = compound.order_by(column)
        got_ordered = await ordered.collect()
        assert got_ordered == ordered_values, (
            f"{case.op} order_by: {got_ordered!r} != {ordered_values!r}{_sql(ordered)}"
        )


async def _check_windows(
    conn: Connection, case: AggregateCase, kept: Sequence[Model], sem: Semantics, limits: Limits
) -> None:
    """row_number/rank/dense_rank and sum over the group key's partitions (none without
    a key), ordered by the aggregated column, against ``oracle.window``."""
    model, target, key = case.model, case.target, case.key
    pk = table_of(model).columns["id"]
    order = [target.asc(), pk.asc()]
    items = (
        pk,
        func.row_number().over(partition_by=key, order_by=order),
        func.rank().over(partition_by=key, order_by=target),
        func.dense_rank().over(partition_by=key, order_by=target.desc()),
        func.sum(target).over(partition_by=key),
    )
    wq = conn.select(*items)
    if case.where is not None:
        wq = wq.filter(case.where)
    got = {row[0]: row[1:] for row in await wq.collect()}
    numbers = window("row_number", kept, key, order, sem=sem)
    ranks = window("rank", kept, key, [target.asc()], sem=sem)
    dense = window("dense_rank", kept, key, [target.desc()], sem=sem)
    sums = window("sum", kept, key, [], target, sem)
    parts = group_rows(kept, key, sem) if key is not None else [list(kept)]
    part_of = {id(r): _aggregates(part, target, sem) for part in parts for r in part}
    assert len(got) == len(kept), f"window rows {len(got)} != {len(kept)}{_sql(wq)}"
    for i, row in enumerate(kept):
        row_id = getattr(row, "id")  # noqa: B009  (generated models: an int primary key "id")
        what = f"windows of id {row_id}: got {got.get(row_id)!r}{_sql(wq)}"
        n, r, d, total = got[row_id]
        assert (n, r, d) == (numbers[i], ranks[i], dense[i]), what
        if _fits_column(sums[i], target):  # MariaDB's SUM() OVER keeps the column's
            # precision and saturates (99...9) where a plain SUM widens: not comparable
            assert _same_sum(total, sums[i], part_of[id(row)], target, limits), what


def _fits_column(value: Any, target: Column[Any]) -> bool:
    """Whether a DECIMAL value has no more integer digits than the column allows."""
    ct = target.type
    if ct.kind is not Kind.DECIMAL or value is None or ct.max_digits is None:
        return True
    return bool(abs(Fraction(value)) < 10 ** (ct.max_digits - (ct.decimal_places or 0)))


# -- write properties ---------------------------------------------------------------------
async def check_roundtrip(conn: Connection, case: RoundTripCase) -> None:
    """Insert, read back (select, find, projection), find by value, update, read back."""
    model = case.model
    info = table_of(model)
    pk = info.columns["id"]
    rows = _by_id(case.rows)
    async with _table(conn, model):
        await conn.insert(case.rows)
        assert await conn.select(model).order_by(pk).collect() == rows, "select(Model)"
        for row in rows[:3]:
            assert await conn.find(model, row.__dict__["id"]) == row, "find()"
        columns = list(info.columns.values())
        tuples = await conn.select(*columns).order_by(pk).collect()
        assert tuples == [tuple(r.__dict__[c.attr] for c in columns) for r in rows], "projection"
        for c in columns:
            if c.type.kind is Kind.JSON:
                continue
            for row in rows[:2]:
                value = row.__dict__[c.attr]
                if value is None:
                    continue
                want = [r.__dict__["id"] for r in rows if r.__dict__[c.attr] == value]
                query = conn.select(pk).filter(c == value).order_by(pk).scalars()
                found = await query.collect()
                assert found == want, f"{c.attr} == {value!r}: {found} != {want}{_sql(query)}"
        if case.update_attr:
            row = rows[0]
            column = info.columns[case.update_attr]
            n = (
                await conn.update(model)
                .filter(pk == row.__dict__["id"])
                .set(column, case.update_value)
            )
            assert n == 1, f"update() affected {n} rows"
            back = await conn.find(model, row.__dict__["id"])
            assert back is not None
            assert back.__dict__[case.update_attr] == case.update_value, "update then read back"


async def check_upsert(conn: Connection, case: UpsertCase) -> None:
    """Upserting a batch twice leaves what upserting it once does."""
    model = case.model
    pk = table_of(model).columns["id"]
    expected: dict[int, Model] = {}
    async with _table(conn, model):
        for batch in (case.first, case.second):
            expected.update({r.__dict__["id"]: r for r in batch})
            want = [expected[k] for k in sorted(expected)]
            for attempt in ("once", "twice"):
                await conn.insert_or_update(batch)
                got = await conn.select(model).order_by(pk).collect()
                assert got == want, f"after upserting {attempt}"


async def check_batch(conn: Connection, case: BatchCase) -> None:
    """A batch insert sets distinct ids that fetch exactly the rows inserted."""
    model = case.model
    pk = table_of(model).columns["id"]
    seen: set[int] = set()
    async with _table(conn, model):
        for batch in case.batches:
            await conn.insert(batch)
            ids = [obj.__dict__["id"] for obj in batch]
            assert all(type(i) is int for i in ids), f"ids {ids[:5]}"
            assert len(set(ids)) == len(ids), "duplicate ids"
            assert not seen & set(ids), "an id handed out twice"
            seen |= set(ids)
            if ids:
                got = await conn.select(model).filter(pk.in_(ids)).order_by(pk).collect()
                assert got == _by_id(batch), "the ids fetch other rows"
        assert await conn.select(model).count() == len(seen), "row count"


# -- the relation property ------------------------------------------------------------------
@contextlib.asynccontextmanager
async def _graph_tables(conn: Connection) -> AsyncIterator[None]:
    for model in reversed(GRAPH_MODELS):
        await conn.drop_table(model, if_exists=True)
    for model in GRAPH_MODELS:
        await conn.create_table(model)
    try:
        yield
    finally:
        for model in reversed(GRAPH_MODELS):
            await conn.drop_table(model, if_exists=True)


def _ids(objects: Iterable[Any]) -> list[int]:
    return [o.id for o in objects]


def _assert_shared(objects: Iterable[Any], what: str) -> None:
    """Objects of one preload statement with the same key are one object."""
    seen: dict[int, Any] = {}
    for obj in objects:
        assert seen.setdefault(obj.id, obj) is obj, f"{what}: two objects for key {obj.id}"


async def check_preload(conn: Connection, case: GraphCase) -> None:
    """Preloads and includes over a random authors/posts/tags graph equal the oracle,
    at one statement per relation argument that has owners with a non-NULL key."""
    o = GraphOracle.of(case)
    async with _graph_tables(conn):
        for rows in (case.authors, case.tags, case.posts, case.links):
            if rows:
                await conn.insert(rows)
        for category in case.categories:  # one at a time: each after its parent
            await conn.insert(category)

        await _check_authors(conn, o)
        await _check_post_authors(conn, case, o)
        await _check_tags(conn, o)
        await _check_tree(conn, o)


async def _check_authors(conn: Connection, o: GraphOracle) -> None:
    """authors -> posts -> tags: ``preload(GAuthor.posts, GPost.tags)``."""
    query = conn.select(GAuthor).order_by(GAuthor.id).preload(GAuthor.posts, GPost.tags)
    with count_statements() as counter:
        authors = await query.collect()
    loaded = [p for a in authors for p in a.posts]
    want = 1 + bool(authors) + bool(loaded)
    assert counter.n == want, f"preload(posts, tags): {counter.n} statements, not {want}"
    assert _ids(authors) == sorted(o.posts_of), "authors"
    for a in authors:
        assert a == o.row(GAuthor, a.id), "author row"
        assert _ids(a.posts) == o.posts_of[a.id], f"author {a.id}: posts (key order)"
        for p in a.posts:
            assert p == o.row(GPost, p.id), "post row"
            assert sorted(_ids(p.tags)) == o.tags_of[p.id], f"post {p.id}: tags"
            assert all(t == o.row(GTag, t.id) for t in p.tags), "tag row"
    _assert_shared((t for p in loaded for t in p.tags), "GPost.tags")


async def _check_post_authors(conn: Connection, case: GraphCase, o: GraphOracle) -> None:
    """posts -> author (None for a NULL author_id), by preload and by include."""
    query = conn.select(GPost).order_by(GPost.id)
    with count_statements() as counter:
        posts = await query.preload(GPost.author).collect()
    want = 1 + any(p.author_id is not None for p in case.posts)
    assert counter.n == want, f"preload(GPost.author): {counter.n} statements, not {want}"
    assert _ids(posts) == sorted(o.author_of), "posts"
    for p in posts:
        key = o.author_of[p.id]
        expected = None if key is None else o.row(GAuthor, key)
        assert p.author == expected, f"post {p.id}: author"
    _assert_shared((p.author for p in posts if p.author is not None), "GPost.author")
    # the same through a LEFT JOIN: one statement
    with count_statements() as counter:
        included = await query.include(GPost.author).collect()
    assert counter.n == 1, f"include(GPost.author): {counter.n} statements"
    assert included == posts, "include: posts"
    assert [p.author for p in included] == [p.author for p in posts], "include: authors"


async def _check_tags(conn: Connection, o: GraphOracle) -> None:
    """tags -> posts, the other side of the many_to_many."""
    tags = await conn.select(GTag).order_by(GTag.id).preload(GTag.posts).collect()
    assert _ids(tags) == sorted(o.posts_tagged), "tags"
    for t in tags:
        assert sorted(_ids(t.posts)) == o.posts_tagged[t.id], f"tag {t.id}: posts"


async def _check_tree(conn: Connection, o: GraphOracle) -> None:
    """A self-referencing model: every category's parent and children, and two levels
    of children from the roots."""
    query = conn.select(GCategory).order_by(GCategory.id)
    with count_statements() as counter:
        every = await query.preload(GCategory.parent, GCategory.children).collect()
    has_parent = any(p is not None for p in o.parent_of.values())
    want = 1 + has_parent + bool(o.parent_of)
    assert counter.n == want, f"preload(parent, children): {counter.n} statements, not {want}"
    assert _ids(every) == sorted(o.parent_of), "categories: the selected rows only"
    for c in every:
        parent = c.parent
        assert (parent.id if parent else None) == o.parent_of[c.id], f"category {c.id}: parent"
        assert _ids(c.children) == o.children_of[c.id], f"category {c.id}: children"
        if parent is not None:  # the loaded parents got their children too
            assert _ids(parent.children) == o.children_of[parent.id], "parent's children"
    roots = await (
        query.filter(col(GCategory.parent_id).is_null())
        .preload(GCategory.children, GCategory.children)
        .collect()
    )
    assert _ids(roots) == sorted(k for k, p in o.parent_of.items() if p is None), "roots"
    for root in roots:
        assert _ids(root.children) == o.children_of[root.id], f"root {root.id}: children"
        for child in root.children:
            assert _ids(child.children) == o.children_of[child.id], f"{child.id}: level 3"


# -- the test classes ---------------------------------------------------------------------------
def _optional_fixture(request: pytest.FixtureRequest, name: str, default: T) -> T:
    try:
        value: T = request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return default
    return value


class _Base:
    @pytest.fixture
    def ormer_target(self, ormer_url: str, request: pytest.FixtureRequest) -> Iterator[Target]:
        """The database under test. Optional fixtures: ``ormer_code_point_text``
        (False when the database's collation is not code-point order) and
        ``ormer_max_examples`` (examples per property here, else the profile's)."""
        code_point_text = _optional_fixture(request, "ormer_code_point_text", True)
        examples: int | None = _optional_fixture(request, "ormer_max_examples", None)
        target = Target(ormer_url, code_point_text=code_point_text, max_examples=examples)
        try:
            yield target
        finally:
            target.close()

    def _run(
        self,
        target: Target,
        prop: str,
        strategy: st.SearchStrategy[T],
        body: Callable[[T], Coroutine[Any, Any, None]],
        describe_case: Callable[[T], tuple[str, type[Model]]],
        examples: int | None = None,
    ) -> None:
        @settings(property_settings(examples if examples is not None else target.max_examples))
        @given(case=strategy)
        def run(case: T) -> None:
            shape_, model = describe_case(case)
            note(f"backend: {target.backend}")
            target.run(body(case))
            _record(prop, target.backend, shape_, model)

        run()


class DifferentialProperties(_Base):
    """Selects and aggregates on generated models and rows agree with the oracle."""

    def test_select_matches_oracle(self, ormer_target: Target) -> None:
        t = ormer_target

        async def body(case: QueryCase) -> None:
            try:
                expected = _expect_query(case, t.sem)
            except Unpredictable as exc:
                _reject("select", t.backend, exc)
            await check_query(t.conn, case, expected)

        def describe_case(case: QueryCase) -> tuple[str, type[Model]]:
            order = ",".join(shape(o) for o in case.order_by)
            return f"{shape(case.where)}|{order}", case.model

        self._run(t, "select", query_cases(t.limits), body, describe_case)

    def test_aggregates_match_oracle(self, ormer_target: Target) -> None:
        t = ormer_target

        async def body(case: AggregateCase) -> None:
            try:
                await check_aggregates(t.conn, case, t.sem, t.limits)
            except Unpredictable as exc:
                _reject("aggregates", t.backend, exc)

        def describe_case(case: AggregateCase) -> tuple[str, type[Model]]:
            parts = (case.where, case.key, case.target, case.having)
            return "|".join(shape(p) for p in parts), case.model

        self._run(t, "aggregates", aggregate_cases(t.limits), body, describe_case)

    def test_set_operations_match_oracle(self, ormer_target: Target) -> None:
        t = ormer_target

        async def body(case: SetOperationCase) -> None:
            try:
                await check_set_operation(t.conn, case, t.sem)
            except Unpredictable as exc:
                _reject("set operations", t.backend, exc)

        def describe_case(case: SetOperationCase) -> tuple[str, type[Model]]:
            return f"{case.op}|{shape(case.left)}|{shape(case.right)}", case.model

        self._run(t, "set operations", set_operation_cases(t.limits), body, describe_case)


class RoundTripProperties(_Base):
    """Values, upserts and batch inserts read back as written."""

    def test_values_round_trip(self, ormer_target: Target) -> None:
        t = ormer_target

        async def body(case: RoundTripCase) -> None:
            await check_roundtrip(t.conn, case)

        def describe_case(case: RoundTripCase) -> tuple[str, type[Model]]:
            return model_shape(case.model), case.model

        self._run(t, "roundtrip", roundtrip_cases(t.limits), body, describe_case)

    def test_upsert_twice_equals_once(self, ormer_target: Target) -> None:
        t = ormer_target

        async def body(case: UpsertCase) -> None:
            await check_upsert(t.conn, case)

        def describe_case(case: UpsertCase) -> tuple[str, type[Model]]:
            return f"{len(case.first)}/{len(case.second)}", case.model

        self._run(t, "upsert", upsert_cases(t.limits), body, describe_case)

    def test_batch_insert_ids(self, ormer_target: Target) -> None:
        t = ormer_target

        async def body(case: BatchCase) -> None:
            await check_batch(t.conn, case)

        def describe_case(case: BatchCase) -> tuple[str, type[Model]]:
            sizes = "/".join("big" if len(b) > 1000 else str(len(b)) for b in case.batches)
            return sizes, case.model

        self._run(t, "batch ids", batch_cases(t.limits), body, describe_case)


class RelationProperties(_Base):
    """Preloads over random relation graphs agree with the oracle (``ormer.testing.graphs``)."""

    #: the relation property runs 1/example_share of the profile's examples (each
    #: example creates four tables: ~25 on the ci profile)
    example_share = 8

    def test_preload_matches_oracle(self, ormer_target: Target) -> None:
        t = ormer_target
        examples = t.max_examples
        if examples is None:
            profile = settings.get_profile(profile_name())
            examples = max(1, profile.max_examples // self.example_share)

        async def body(case: GraphCase) -> None:
            await check_preload(t.conn, case)

        def describe_case(case: GraphCase) -> tuple[str, type[Model]]:
            return case.shape(), GAuthor

        self._run(t, "preload", graph_cases(), body, describe_case, examples)


class PropertySuite(DifferentialProperties, RoundTripProperties, RelationProperties):
    """Every property; subclass it in a test module that supplies ``ormer_url``."""

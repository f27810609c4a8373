"""SQL shapes of window functions, aggregate FILTER, ROLLUP and DISTINCT ON, per dialect.

Compiled without a database (an executor that only has a ``dialect``): the text,
the bound values, the placeholder count and the shape key are checked.
"""

from __future__ import annotations

from typing import Any

import pytest

import ormer.plugins
from ormer import ConfigurationError, Model, NotSupportedError, col, func, primary, rollup
from ormer.compiler import compile_statement
from ormer.dialect import Dialect
from ormer.query import Select
from ormer.types import Kind


class Sale(Model, table="sales"):
    id: int = primary(auto=True)
    region: str
    amount: int
    note: str | None = None


class _OnlyDialect:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect


def dialect(name: str) -> Dialect:
    return ormer.plugins.get_dialect(name)


def sel(name: str, *items: Any) -> Select[Any]:
    """``select(*items)`` FROM sales (the first item may be a window)."""
    return Select(_OnlyDialect(dialect(name)), items).select_from(Sale)  # type: ignore[arg-type]


def sql(name: str, query: Select[Any]) -> tuple[str, list[Any]]:
    text, params = query.sql()
    marks = text.count("?") + text.count("%s") + len(set(_numbered(text)))
    assert marks == len(params), (text, params)
    return text, params


def _numbered(text: str) -> list[str]:
    import re

    return re.findall(r"\$\d+", text)


# --- windows -----
def test_row_number_partition_and_order() -> None:
    rn = func.row_number().over(partition_by=Sale.region, order_by=col(Sale.amount).desc())
    text, params = sql("postgresql", sel("postgresql", Sale.id, rn))
    assert text == (
        'SELECT "sales"."id", ROW_NUMBER() OVER (PARTITION BY "sales"."region" '
        'ORDER BY "sales"."amount" DESC) FROM "sales"'
    )
    assert params == []


@pytest.mark.parametrize(
    ("frame", "clause"),
    [
        ({"rows": (-2, 0)}, "ROWS BETWEEN 2 PRECEDING AND CURRENT ROW"),
        ({"rows": (None, 0)}, "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW"),
        ({"rows": (0, None)}, "ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING"),
        ({"rows": (-1, 3)}, "ROWS BETWEEN 1 PRECEDING AND 3 FOLLOWING"),
        ({"range": (None, None)}, "RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"),
    ],
)
def test_frames(frame: dict[str, Any], clause: str) -> None:
    w = func.sum(Sale.amount).over(order_by=Sale.id, **frame)
    text, _ = sql("sqlite", sel("sqlite", w))
    assert (
        text
        == f'SELECT SUM("sales"."amount") OVER (ORDER BY "sales"."id" ASC {clause}) FROM "sales"'
    )


def test_frame_shapes_differ_in_the_cache_key() -> None:
    a = sel("sqlite", func.sum(Sale.amount).over(order_by=Sale.id, rows=(-1, 0)))
    b = sel("sqlite", func.sum(Sale.amount).over(order_by=Sale.id, rows=(-2, 0)))
    assert a.sql()[0] != b.sql()[0]


@pytest.mark.parametrize(
    "bad",
    [{"rows": (1, -1)}, {"rows": (0,)}, {"rows": (0.5, 1)}, {"rows": (0, 0), "range": (0, 0)}],
)
def test_bad_frames_are_configuration_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        func.sum(Sale.amount).over(**bad)


def test_lag_lead_literal_offsets_and_bound_default() -> None:
    lag = func.lag(Sale.amount, 2, default=0).over(order_by=Sale.id)
    lead = func.lead(Sale.amount).over(order_by=Sale.id)
    text, params = sql("sqlite", sel("sqlite", lag, lead))
    assert text == (
        'SELECT LAG("sales"."amount", 2, ?) OVER (ORDER BY "sales"."id" ASC), '
        'LEAD("sales"."amount", 1) OVER (ORDER BY "sales"."id" ASC) FROM "sales"'
    )
    assert params == [0]


def test_ntile_first_last_value() -> None:
    q = sel(
        "mysql",
        func.ntile(3).over(order_by=Sale.id),
        func.first_value(Sale.amount).over(partition_by=[Sale.region], order_by=Sale.id),
        func.last_value(Sale.amount).over(order_by=Sale.id, rows=(None, None)),
    )
    text, _ = sql("mysql", q)
    assert "NTILE(3) OVER (ORDER BY `sales`.`id` ASC)" in text
    assert "FIRST_VALUE(`sales`.`amount`) OVER (PARTITION BY `sales`.`region` ORDER BY" in text
    assert "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING" in text


def test_postgres_sum_window_sits_inside_the_cast() -> None:
    text, _ = sql("postgresql", sel("postgresql", func.sum(Sale.amount).over()))
    assert text == 'SELECT CAST(SUM("sales"."amount") OVER () AS BIGINT) FROM "sales"'


def test_mysql_avg_window_keeps_the_double_cast() -> None:
    text, _ = sql("mysql", sel("mysql", func.avg(Sale.amount).over(partition_by=Sale.region)))
    assert text == (
        "SELECT AVG(CAST(`sales`.`amount` AS DOUBLE)) OVER (PARTITION BY `sales`.`region`) "
        "FROM `sales`"
    )


def test_window_types_follow_the_function() -> None:
    assert func.row_number().over().type.kind is Kind.INT  # type: ignore[union-attr]
    w = func.sum(Sale.amount).over()
    assert w.type is not None and w.type.kind is Kind.INT
    lag = func.lag(Sale.region).over(order_by=Sale.id)
    assert lag.type is not None and lag.type.kind is Kind.STR and lag.type.nullable


def test_window_function_without_over_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"row_number\(\) is a window function"):
        sel("sqlite", Sale.id, func.row_number()).sql()


def test_over_on_a_plain_function_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not an aggregate or window function"):
        func.lower(Sale.region).over()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_ntile_and_offsets_are_checked(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        func.ntile(bad)
    if bad != 0:
        with pytest.raises(ConfigurationError):
            func.lag(Sale.amount, bad)


def test_window_in_a_filter_of_an_outer_query_via_in_subquery() -> None:
    ranked = sel("sqlite", Sale.id, func.row_number().over(order_by=Sale.id).label("rn"))
    text, _ = sql("sqlite", ranked)
    assert text.endswith('ROW_NUMBER() OVER (ORDER BY "sales"."id" ASC) AS "rn" FROM "sales"')


# --- FILTER -----
def test_filter_native_on_postgres_and_sqlite() -> None:
    c = func.count(filter=Sale.amount > 10)
    s = func.sum(Sale.amount, filter=Sale.region == "eu")
    text, params = sql("postgresql", sel("postgresql", c, s).select_from(Sale))
    assert text == (
        'SELECT COUNT(*) FILTER (WHERE "sales"."amount" > $1::bigint), '
        'CAST(SUM("sales"."amount") FILTER (WHERE "sales"."region" = $2::text) AS BIGINT) '
        'FROM "sales"'
    )
    assert params == [10, "eu"]
    text, params = sql("sqlite", sel("sqlite", c, s).select_from(Sale))
    assert 'COUNT(*) FILTER (WHERE "sales"."amount" > ?)' in text
    assert params == [10, "eu"]


def test_filter_emulated_with_case_on_mysql() -> None:
    q = sel(
        "mysql",
        func.count(filter=Sale.amount > 10),
        func.count(Sale.note, filter=Sale.amount > 1),
        func.avg(Sale.amount, filter=Sale.region == "eu"),
    )
    text, params = sql("mysql", q)
    assert text == (
        "SELECT COUNT(CASE WHEN `sales`.`amount` > %s THEN 1 END), "
        "COUNT(CASE WHEN `sales`.`amount` > %s THEN `sales`.`note` END), "
        "AVG(CAST(CASE WHEN `sales`.`region` = %s THEN `sales`.`amount` END AS DOUBLE)) "
        "FROM `sales`"
    )
    assert params == [10, 1, "eu"]


def test_filtered_aggregate_as_a_window() -> None:
    w = func.sum(Sale.amount, filter=Sale.amount > 1).over(partition_by=Sale.region)
    text, _ = sql("sqlite", sel("sqlite", w))
    assert text == (
        'SELECT SUM("sales"."amount") FILTER (WHERE "sales"."amount" > ?) '
        'OVER (PARTITION BY "sales"."region") FROM "sales"'
    )
    text, _ = sql("mysql", sel("mysql", w))
    assert text == (
        "SELECT SUM(CASE WHEN `sales`.`amount` > %s THEN `sales`.`amount` END) "
        "OVER (PARTITION BY `sales`.`region`) FROM `sales`"
    )


def test_filter_needs_a_condition() -> None:
    with pytest.raises(TypeError):
        func.count(filter=True)


# --- ROLLUP -----
def test_rollup_per_dialect() -> None:
    def q(name: str) -> Select[Any]:
        return sel(name, Sale.region, func.sum(Sale.amount)).group_by(rollup(Sale.region))

    assert sql("postgresql", q("postgresql"))[0].endswith(
        'FROM "sales" GROUP BY ROLLUP ("sales"."region")'
    )
    assert sql("mysql", q("mysql"))[0].endswith(
        "FROM `sales` GROUP BY `sales`.`region` WITH ROLLUP"
    )
    for name in ("sqlite", "turso"):
        with pytest.raises(NotSupportedError, match="ROLLUP"):
            q(name).sql()


def test_mysql_rollup_must_be_the_whole_group_by() -> None:
    q = sel("mysql", Sale.region, func.sum(Sale.amount)).group_by(Sale.id, rollup(Sale.region))
    with pytest.raises(NotSupportedError, match="WITH ROLLUP"):
        q.sql()


# --- DISTINCT ON -----
def test_distinct_on() -> None:
    q = (
        sel("postgresql", Sale)
        .distinct_on(Sale.region)
        .order_by(Sale.region, col(Sale.amount).desc())
    )
    text, _ = sql("postgresql", q)
    assert text.startswith('SELECT DISTINCT ON ("sales"."region") "sales"."id"')
    for name in ("sqlite", "mysql", "turso"):
        with pytest.raises(NotSupportedError, match="DISTINCT ON"):
            sel(name, Sale).distinct_on(Sale.region).sql()


def test_shape_key_distinguishes_constructs() -> None:
    d = dialect("sqlite")
    stmts = [
        sel("sqlite", func.count()).select_from(Sale),
        sel("sqlite", func.count(filter=Sale.amount > 1)).select_from(Sale),
        sel("sqlite", func.count().over()).select_from(Sale),
        sel("sqlite", func.count().over(partition_by=Sale.region)).select_from(Sale),
        sel("sqlite", Sale).distinct_on(Sale.region),
        sel("sqlite", Sale),
    ]
    keys = set()
    for s in stmts:
        key: list[Any] = []
        s._stmt._walk(key, [])
        keys.add(tuple(key))
    assert len(keys) == len(stmts)
    compile_statement(d, stmts[1]._stmt)

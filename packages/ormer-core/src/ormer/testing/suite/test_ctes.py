# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (CtNode.id.desc()) are unknown to mypy here; see ormer.col().
"""Compliance suite: common table expressions (recursive too) and set operations
(docs/queries.md#common-table-expressions, #set-operations).

Every result is compared with the same computation done in Python over the rows
inserted: aggregates per group, tree walks, and the multiset semantics of UNION
[ALL], INTERSECT and EXCEPT (NULLs equal to each other, as SQL's DISTINCT has them).
"""

from __future__ import annotations

import decimal
from collections import Counter
from typing import Any

import pytest

from ormer import (
    CommonTable,
    ConfigurationError,
    Connection,
    Model,
    NotSupportedError,
    col,
    field,
    func,
    primary,
)
from ormer.expr import as_expr
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires

__all__ = ["TestCTEsAndSetOperations"]


class CtCustomer(Model, table="suite_cte_customer"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)


class CtOrder(Model, table="suite_cte_order"):
    id: int = primary(auto=True)
    customer_id: int = 0
    amount: decimal.Decimal = field(default=decimal.Decimal(0), max_digits=10, decimal_places=2)
    qty: int = 0


class CtNode(Model, table="suite_cte_node"):
    id: int = primary()
    parent_id: int | None = None
    name: str = field(max_length=20, default="")


class CtItem(Model, table="suite_cte_item"):
    id: int = primary(auto=True)
    grp: int | None = None
    val: int | None = None


# a tree of 12 nodes under two roots (1 and 20), depths up to 4
TREE = {
    1: None,
    2: 1,
    3: 1,
    4: 2,
    5: 2,
    6: 4,
    7: 6,
    8: 3,
    20: None,
    21: 20,
    22: 21,
    23: 20,
}

ITEMS = [  # (grp, val): duplicates and NULLs on both sides
    (1, 10),
    (1, 10),
    (1, None),
    (1, 20),
    (2, 10),
    (2, None),
    (2, None),
    (2, 30),
    (2, 30),
    (3, 40),
    (None, 20),
    (None, None),
]


async def _shop(db: Connection) -> tuple[list[CtCustomer], list[CtOrder]]:
    await fresh_tables(db, CtCustomer, CtOrder)
    customers = [CtCustomer(name=n) for n in ("ann", "bob", "cid", "dee")]
    await db.insert(customers)
    orders = [
        CtOrder(
            customer_id=customers[i % 3].id,
            amount=decimal.Decimal(i * 7 % 11) + decimal.Decimal("0.25"),
            qty=i % 4 + 1,
        )
        for i in range(17)
    ]
    await db.insert(orders)
    return customers, orders


async def _tree(db: Connection) -> None:
    await fresh_tables(db, CtNode)
    await db.insert([CtNode(id=k, parent_id=p, name=f"n{k}") for k, p in TREE.items()])


async def _items(db: Connection) -> None:
    await fresh_tables(db, CtItem)
    await db.insert([CtItem(grp=g, val=v) for g, v in ITEMS])


def _vals(grp: int | None) -> list[int | None]:
    return [v for g, v in ITEMS if g == grp]


def _descendants(root: int) -> dict[int, int]:
    """node id -> depth below ``root`` (root at 0), computed in Python."""
    out = {root: 0}
    frontier = [root]
    while frontier:
        nxt = [k for k, p in TREE.items() if p in frontier]
        for k in nxt:
            out[k] = out[TREE[k]] + 1  # type: ignore[index]
        frontier = nxt
    return out


def _sort_key(v: int | None) -> tuple[bool, int]:
    return (v is not None, v or 0)


def _set_result(op: str, left: list[Any], right: list[Any]) -> Counter[Any]:
    """SQL's set operators over two multisets (NULLs equal to each other)."""
    if op == "union_all":
        return Counter(left) + Counter(right)
    if op == "union":
        return Counter(set(left) | set(right))
    if op == "intersect":
        return Counter(set(left) & set(right))
    return Counter(set(left) - set(right))


def _tree_cte(db: Connection, root: int) -> CommonTable:
    tree = (
        db.select(CtNode.id, CtNode.parent_id, as_expr(0).label("depth"))
        .filter(CtNode.id == root)
        .cte("tree")
    )
    return tree.union_all(
        db.select(CtNode.id, CtNode.parent_id, (tree.c.depth + 1).label("depth")).join(
            tree, CtNode.parent_id == tree.c.id
        )
    )


class TestCTEsAndSetOperations(SuiteBase):
    """WITH [RECURSIVE] and UNION/INTERSECT/EXCEPT, checked against Python."""

    # -- CTEs ------------------------------------------------------------------------------
    async def test_cte_with_an_aggregate_joined_back_to_a_model(self, db: Connection) -> None:
        customers, orders = await _shop(db)
        totals = (
            db.select(
                CtOrder.customer_id,
                func.sum(CtOrder.amount).label("total"),
                func.count().label("n"),
            )
            .group_by(CtOrder.customer_id)
            .cte("totals")
        )
        rows = (
            await db.select(CtCustomer, totals.c.total, totals.c.n)
            .join(totals, totals.c.customer_id == CtCustomer.id)
            .order_by(CtCustomer.id)
            .collect()
        )
        expected = []
        for c in customers:
            mine = [o for o in orders if o.customer_id == c.id]
            if mine:
                expected.append((c, sum(o.amount for o in mine), len(mine)))
        assert rows == expected
        assert len(rows) == 3  # dee has no orders: the inner join drops her
        for _, total, n in rows:
            assert isinstance(total, decimal.Decimal)
            assert type(n) is int

    async def test_cte_columns_are_typed_like_the_projection(self, db: Connection) -> None:
        _, orders = await _shop(db)
        doubled = db.select(CtOrder.id, (CtOrder.qty * 2).label("twice")).cte("doubled")
        assert doubled.c.twice.type is not None and doubled.c.twice.type.py_type is int
        rows = await db.select(doubled.c.id, doubled.c.twice).order_by(doubled.c.id).collect()
        assert rows == [(o.id, o.qty * 2) for o in sorted(orders, key=lambda o: o.id)]
        assert all(type(t) is int for _, t in rows)
        with pytest.raises(ConfigurationError, match="no column 'nope'"):
            doubled.c.nope  # noqa: B018

    async def test_two_ctes_the_second_reading_the_first(self, db: Connection) -> None:
        customers, orders = await _shop(db)
        qty = (
            db.select(CtOrder.customer_id, func.sum(CtOrder.qty).label("units"))
            .group_by(CtOrder.customer_id)
            .cte("qty")
        )
        threshold = 14
        big = db.select(qty.c.customer_id, qty.c.units).filter(qty.c.units >= threshold).cte("big")
        sql, _ = (
            db.select(CtCustomer.name, big.c.units)
            .join(big, big.c.customer_id == CtCustomer.id)
            .sql()
        )
        assert sql.count(" AS (") == 2  # WITH qty AS (...), big AS (...)
        rows = (
            await db.select(CtCustomer.name, big.c.units)
            .join(big, big.c.customer_id == CtCustomer.id)
            .order_by(CtCustomer.name)
            .collect()
        )
        units = Counter[int]()
        for o in orders:
            units[o.customer_id] += o.qty
        expected = sorted((c.name, units[c.id]) for c in customers if units[c.id] >= threshold)
        assert rows == expected
        assert expected  # the threshold keeps some customers...
        assert len(expected) < 3  # ...and drops some

    async def test_cte_in_a_subquery_filter(self, db: Connection) -> None:
        customers, orders = await _shop(db)
        big = db.select(CtOrder.customer_id).filter(CtOrder.amount > 8).cte("big_orders")
        rows = (
            await db.select(CtCustomer.name)
            .filter(CtCustomer.id.in_(db.select(big.c.customer_id)))
            .order_by(CtCustomer.name)
            .scalars()
            .collect()
        )
        ids = {o.customer_id for o in orders if o.amount > 8}
        assert rows == sorted(c.name for c in customers if c.id in ids)

    @requires("window_functions")
    async def test_window_in_a_cte_filtered_outside(self, db: Connection) -> None:
        _, orders = await _shop(db)
        ranked = db.select(
            CtOrder.id,
            CtOrder.customer_id,
            func.row_number()
            .over(
                partition_by=CtOrder.customer_id, order_by=[col(CtOrder.amount).desc(), CtOrder.id]
            )
            .label("pos"),
        ).cte("ranked")
        rows = (
            await db.select(ranked.c.customer_id, ranked.c.id, ranked.c.pos)
            .filter(ranked.c.pos <= 2)
            .order_by(ranked.c.customer_id, ranked.c.pos)
            .collect()
        )
        expected = []
        for cid in sorted({o.customer_id for o in orders}):
            mine = sorted(
                (o for o in orders if o.customer_id == cid), key=lambda o: (-o.amount, o.id)
            )
            expected += [(cid, o.id, i + 1) for i, o in enumerate(mine[:2])]
        assert rows == expected
        assert len(rows) == 6

    @requires("recursive_cte")
    async def test_recursive_tree_walk_descendants_and_depth(self, db: Connection) -> None:
        await _tree(db)
        for root in (1, 2, 20, 7):
            tree = _tree_cte(db, root)
            rows = await db.select(tree.c.id, tree.c.depth).order_by(tree.c.id).collect()
            assert dict(rows) == _descendants(root)
            assert [r[0] for r in rows] == sorted(_descendants(root))
        assert max(_descendants(1).values()) == 4

    @requires("recursive_cte")
    async def test_recursive_cte_joined_back_to_the_model(self, db: Connection) -> None:
        await _tree(db)
        tree = _tree_cte(db, 2)
        rows = (
            await db.select(CtNode, tree.c.depth)
            .join(tree, tree.c.id == CtNode.id)
            .filter(tree.c.depth >= 1)
            .order_by(tree.c.depth.desc(), CtNode.id)
            .collect()
        )
        expected = sorted(
            ((k, d) for k, d in _descendants(2).items() if d >= 1), key=lambda kd: (-kd[1], kd[0])
        )
        assert [(n.id, d) for n, d in rows] == expected
        assert all(n.name == f"n{n.id}" and n.parent_id == TREE[n.id] for n, _ in rows)
        count = await db.select(tree.c.id).count()
        assert count == len(_descendants(2))

    @lacks("recursive_cte")
    async def test_recursive_cte_not_supported(self, db: Connection) -> None:
        await _tree(db)
        tree = _tree_cte(db, 1)
        with pytest.raises(NotSupportedError, match="recursive"):
            await db.select(tree.c.id).collect()

    async def test_cte_misuse_is_a_configuration_error(self, db: Connection) -> None:
        with pytest.raises(ConfigurationError, match="label it"):
            db.select(CtOrder.customer_id, func.count()).group_by(CtOrder.customer_id).cte("x")
        with pytest.raises(ConfigurationError, match="identifier"):
            db.select(CtOrder.id).cte("no such")
        a = db.select(CtOrder.id).cte("same")
        b = db.select(CtOrder.qty.label("id")).cte("same")
        with pytest.raises(ConfigurationError, match="two different CTEs"):
            db.select(a.c.id).join(b, b.c.id == a.c.id).sql()

    async def test_cte_statements_are_cached_by_shape(self, db: Connection) -> None:
        await _shop(db)
        cache = db.dialect.cache

        def query(limit: int) -> Any:
            cte = db.select(CtOrder.customer_id, CtOrder.qty).filter(CtOrder.qty <= limit).cte("q")
            return db.select(cte.c.customer_id).filter(cte.c.qty > 0)

        first_sql, first_params = query(2).sql()
        misses = cache.misses
        second_sql, second_params = query(3).sql()
        assert cache.misses == misses  # same shape: a cache hit, new values bound
        assert second_sql == first_sql
        assert 2 in first_params and 3 in second_params
        assert len(await query(2).collect()) < len(await query(4).collect())

    # -- set operations --------------------------------------------------------------------
    @pytest.mark.parametrize("op", ["union", "union_all", "intersect", "except_"])
    async def test_set_operation_with_duplicates_and_nulls(self, db: Connection, op: str) -> None:
        if op in ("intersect", "except_") and not db.dialect.supports_intersect_except:
            pytest.skip(f"{db.dialect.name} lacks intersect_except")
        await _items(db)
        left = db.select(CtItem.val).filter(CtItem.grp == 1)
        right = db.select(CtItem.val).filter(CtItem.grp == 2)
        compound = getattr(left, op)(right)
        rows = await compound.collect()
        expected = _set_result(op.rstrip("_"), [(v,) for v in _vals(1)], [(v,) for v in _vals(2)])
        assert Counter(rows) == expected
        assert await compound.count() == sum(expected.values())

    async def test_union_of_models_and_of_mixed_items(self, db: Connection) -> None:
        await _items(db)
        everything = await db.select(CtItem).order_by(CtItem.id).collect()
        q = (
            db.select(CtItem)
            .filter(CtItem.grp == 1)
            .union_all(db.select(CtItem).filter(CtItem.val == 10))
        )
        rows = await q.order_by(CtItem.id).collect()
        expected = [i for i in everything if i.grp == 1] + [i for i in everything if i.val == 10]
        assert rows == sorted(expected, key=lambda i: i.id)
        pairs = (
            await db.select(CtItem.grp, CtItem.val)
            .filter(CtItem.grp == 3)
            .union(db.select(CtItem.val, CtItem.grp).filter(CtItem.grp == 3))
            .order_by(CtItem.grp)
            .collect()
        )
        assert pairs == [(3, 40), (40, 3)]

    async def test_ordering_and_slicing_a_compound(self, db: Connection) -> None:
        await _items(db)
        q = (
            db.select(CtItem.val)
            .filter(CtItem.grp == 1)
            .union_all(db.select(CtItem.val).filter(CtItem.grp == 2))
        )
        values = _vals(1) + _vals(2)
        asc = sorted(values, key=_sort_key)  # ormer puts NULLs first ascending
        desc = sorted(values, key=_sort_key, reverse=True)
        assert await q.order_by(CtItem.val).scalars().collect() == asc
        assert await q.order_by(CtItem.val.desc()).scalars().collect() == desc
        assert await q.order_by("val").range(2, 6).scalars().collect() == asc[2:6]
        assert await q.order_by(CtItem.val.desc()).limit(3).scalars().collect() == desc[:3]
        assert await q.order_by(CtItem.val).offset(7).scalars().collect() == asc[7:]
        assert await q.order_by(CtItem.val.desc()).first() == (desc[0],)
        assert await q.order_by(CtItem.val).range(1, 4).count() == 3
        assert await q.count() == len(values)
        v1 = (CtItem.val + 1).label("v1")
        labelled = (
            db.select(v1)
            .select_from(CtItem)
            .filter(CtItem.grp == 3)
            .union(db.select(CtItem.id.label("v1")).filter(CtItem.grp == 3))
        )
        three = await db.select(CtItem.id).filter(CtItem.grp == 3).scalars().collect()
        expected = sorted([41, *three], reverse=True)
        assert await labelled.order_by(v1.desc()).scalars().collect() == expected
        with pytest.raises(ConfigurationError, match="result columns"):
            q.order_by(CtItem.grp)

    async def test_members_with_their_own_limit_and_chained_operators(self, db: Connection) -> None:
        await _items(db)
        top2 = (
            db.select(CtItem.val)
            .filter(CtItem.val.is_not_null())
            .order_by(CtItem.val.desc())
            .limit(2)
        )
        low = db.select(CtItem.val).filter(CtItem.val < 15)
        rows = await top2.union_all(low).collect()
        present = sorted((v for _, v in ITEMS if v is not None), reverse=True)
        assert Counter(rows) == Counter(
            [(v,) for v in present[:2] + [v for v in present if v < 15]]
        )
        if not db.dialect.supports_intersect_except:
            return
        # (grp1 UNION grp3) INTERSECT grp2, as written: left to right
        g = {k: db.select(CtItem.val).filter(CtItem.grp == k) for k in (1, 2, 3)}
        chained = await g[1].union(g[3]).intersect(g[2]).collect()
        expected = (set(_vals(1)) | set(_vals(3))) & set(_vals(2))
        assert Counter(chained) == Counter((v,) for v in expected)
        # grp1 UNION (grp3 INTERSECT grp2): the right member is a compound
        nested = await g[1].union(g[3].intersect(g[2])).collect()
        expected = set(_vals(1)) | (set(_vals(3)) & set(_vals(2)))
        assert Counter(nested) == Counter((v,) for v in expected)
        # grp1 EXCEPT grp2 UNION grp3
        mixed = await g[1].except_(g[2]).union(g[3]).collect()
        expected = (set(_vals(1)) - set(_vals(2))) | set(_vals(3))
        assert Counter(mixed) == Counter((v,) for v in expected)

    async def test_compound_as_a_cte(self, db: Connection) -> None:
        await _items(db)
        both = (
            db.select(CtItem.val)
            .filter(CtItem.grp == 1)
            .union_all(db.select(CtItem.val).filter(CtItem.grp == 3))
            .cte("both")
        )
        total = await db.select(func.sum(both.c.val)).select_from(both).scalars().first()
        assert total == sum(v for v in _vals(1) + _vals(3) if v is not None)

    async def test_column_counts_are_checked_at_build_time(self, db: Connection) -> None:
        with pytest.raises(ConfigurationError, match="column counts"):
            db.select(CtItem.val).union(db.select(CtItem.val, CtItem.grp))
        with pytest.raises(ConfigurationError, match="column counts"):
            db.select(CtItem).union_all(db.select(CtItem.id))
        with pytest.raises(ConfigurationError, match="takes a select"):
            db.select(CtItem.val).union(42)

    @lacks("intersect_except")
    async def test_intersect_not_supported(self, db: Connection) -> None:
        await _items(db)
        with pytest.raises(NotSupportedError, match="INTERSECT"):
            await db.select(CtItem.val).intersect(db.select(CtItem.grp)).collect()

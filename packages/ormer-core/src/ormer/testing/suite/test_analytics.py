"""Compliance suite: window functions, aggregate FILTER, ROLLUP, DISTINCT ON (issue 18).

Every result is checked against the same value computed in Python from the rows
the test inserted. A backend lacking a construct (its dialect's capability flags)
must raise NotSupportedError, which the ``@lacks`` twins check.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest

from ormer import Connection, Model, NotSupportedError, col, field, func, primary, rollup
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import lacks, requires

__all__ = ["TestAnalytics"]


class Score(Model, table="suite_an_scores"):
    id: int = primary()
    team: str = field(max_length=10)
    player: str = field(max_length=10)
    points: int
    bonus: int | None = None


#: (team, player, points, bonus): ties inside teams, NULL bonuses, a one-row team
ROWS: list[tuple[str, str, int, int | None]] = [
    ("red", "ann", 10, 1),
    ("red", "bob", 30, None),
    ("red", "cid", 30, 2),
    ("red", "dan", 5, 3),
    ("blue", "eve", 7, None),
    ("blue", "fay", 7, 4),
    ("blue", "gus", 12, 5),
    ("green", "hal", 1, 6),
    ("red", "ian", 30, None),
    ("blue", "joy", 2, 7),
]


async def _scores(db: Connection) -> list[Score]:
    await fresh_tables(db, Score)
    objs = [
        Score(id=i + 1, team=t, player=p, points=n, bonus=b) for i, (t, p, n, b) in enumerate(ROWS)
    ]
    await db.insert(objs)
    return objs


def _by_team(objs: list[Score]) -> dict[str, list[Score]]:
    """Each team's rows by points descending, then id."""
    out: dict[str, list[Score]] = defaultdict(list)
    for o in sorted(objs, key=lambda o: (-o.points, o.id)):
        out[o.team].append(o)
    return out


def _ranks(rows: list[Score]) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """row_number, rank, dense_rank per id, in ``rows``' order (points descending)."""
    number, rank, dense = {}, {}, {}
    prev: int | None = None
    current = dense_current = 0
    for i, o in enumerate(rows, start=1):
        if o.points != prev:
            current, dense_current, prev = i, dense_current + 1, o.points
        number[o.id], rank[o.id], dense[o.id] = i, current, dense_current
    return number, rank, dense


class TestAnalytics(SuiteBase):
    """Windows, FILTER, ROLLUP and DISTINCT ON read back the values Python computes."""

    @requires("window_functions")
    async def test_ranking_functions_per_partition(self, db: Connection) -> None:
        objs = await _scores(db)
        order = [col(Score.points).desc(), Score.id]
        q = db.select(
            Score.id,
            func.row_number().over(partition_by=Score.team, order_by=order),
            func.rank().over(partition_by=Score.team, order_by=col(Score.points).desc()),
            func.dense_rank().over(partition_by=[Score.team], order_by=col(Score.points).desc()),
        )
        got = {row[0]: row[1:] for row in await q.collect()}
        expected: dict[int, tuple[int, int, int]] = {}
        for rows in _by_team(objs).values():
            number, rank, dense = _ranks(rows)
            for o in rows:
                expected[o.id] = (number[o.id], rank[o.id], dense[o.id])
        assert got == expected
        assert all(type(v) is int for row in got.values() for v in row)

    @requires("window_functions")
    async def test_lag_lead_ntile_first_last(self, db: Connection) -> None:
        objs = await _scores(db)
        ordered = sorted(objs, key=lambda o: o.id)
        q = db.select(
            Score.id,
            func.lag(Score.points).over(order_by=Score.id),
            func.lag(Score.points, 2, default=-1).over(order_by=Score.id),
            func.lead(Score.player).over(order_by=Score.id),
            func.ntile(3).over(order_by=Score.id),
            func.first_value(Score.player).over(partition_by=Score.team, order_by=Score.id),
            func.last_value(Score.player).over(
                partition_by=Score.team, order_by=Score.id, rows=(None, None)
            ),
        ).order_by(Score.id)
        got = await q.collect()
        n = len(ordered)
        size, extra = divmod(n, 3)
        tiles = [t + 1 for t in range(3) for _ in range(size + (1 if t < extra else 0))]
        teams = defaultdict(list)
        for o in ordered:
            teams[o.team].append(o.player)
        expected = [
            (
                o.id,
                ordered[i - 1].points if i >= 1 else None,
                ordered[i - 2].points if i >= 2 else -1,
                ordered[i + 1].player if i + 1 < n else None,
                tiles[i],
                teams[o.team][0],
                teams[o.team][-1],
            )
            for i, o in enumerate(ordered)
        ]
        assert got == expected

    @requires("window_functions")
    async def test_running_sums_and_frames(self, db: Connection) -> None:
        objs = await _scores(db)
        q = db.select(
            Score.id,
            func.sum(Score.points).over(partition_by=Score.team, order_by=Score.id, rows=(None, 0)),
            func.sum(Score.points).over(order_by=Score.id, rows=(-1, 1)),
            func.sum(Score.points).over(partition_by=Score.team),
            func.count().over(order_by=Score.id, rows=(-2, 0)),
            func.max(Score.points).over(order_by=Score.id, range=(None, 0)),
        ).order_by(Score.id)
        got = await q.collect()
        ordered = sorted(objs, key=lambda o: o.id)
        pts = [o.points for o in ordered]
        totals: dict[str, int] = defaultdict(int)
        running: dict[str, int] = defaultdict(int)
        for o in ordered:
            totals[o.team] += o.points
        expected = []
        for i, o in enumerate(ordered):
            running[o.team] += o.points
            expected.append(
                (
                    o.id,
                    running[o.team],
                    sum(pts[max(i - 1, 0) : i + 2]),
                    totals[o.team],
                    min(i + 1, 3),
                    max(pts[: i + 1]),
                )
            )
        assert got == expected
        assert all(type(v) is int for row in got for v in row)

    @requires("window_functions")
    async def test_window_over_a_filtered_aggregate(self, db: Connection) -> None:
        objs = await _scores(db)
        big = Score.points >= 10
        q = db.select(
            Score.id,
            func.count(filter=big).over(partition_by=Score.team),
            func.sum(Score.points, filter=big).over(partition_by=Score.team),
        )
        got = {row[0]: row[1:] for row in await q.collect()}
        expected = {}
        for o in objs:
            team_big = [p.points for p in objs if p.team == o.team and p.points >= 10]
            expected[o.id] = (len(team_big), sum(team_big) if team_big else None)
        assert got == expected

    @requires("window_functions")
    async def test_window_label_orders_the_query(self, db: Connection) -> None:
        # (a window in an outer query's filter needs a derived table or CTE in FROM:
        # see the CTE builder; here the window orders the rows it ranks)
        objs = await _scores(db)
        r = func.rank().over(partition_by=Score.team, order_by=col(Score.points).desc())
        rows = (
            await db.select(Score.player, r.label("r")).order_by(r.label("r"), Score.id).collect()
        )
        ranks: dict[int, int] = {}
        for team_rows in _by_team(objs).values():
            ranks.update(_ranks(team_rows)[1])
        expected = sorted(((o.player, ranks[o.id]) for o in objs), key=lambda pr: pr[1])
        by_id = sorted(objs, key=lambda o: (ranks[o.id], o.id))
        assert rows == [(o.player, ranks[o.id]) for o in by_id]
        assert sorted(rows, key=lambda pr: pr[1]) == expected

    @lacks("window_functions")
    async def test_windows_missing_raise(self, db: Connection) -> None:
        await _scores(db)
        with pytest.raises(NotSupportedError):
            await db.select(Score.id, func.row_number().over(order_by=Score.id)).collect()

    async def test_filter_equals_case_and_python(self, db: Connection) -> None:
        objs = await _scores(db)
        cond = (Score.points > 6) & (Score.bonus != None)  # noqa: E711
        q = db.select(
            Score.team,
            func.count(filter=cond),
            func.count(Score.bonus, filter=Score.points > 6),
            func.sum(Score.points, filter=cond),
            func.max(Score.player, filter=cond),
            func.count_distinct(Score.points, filter=Score.points > 6),
            func.sum(func.case((cond, 1), else_=0)),
            func.sum(func.case((cond, Score.points))),
        ).group_by(Score.team)
        got = {row[0]: row[1:] for row in await q.collect()}
        expected: dict[str, tuple[Any, ...]] = {}
        for team, group in itertools.groupby(sorted(objs, key=lambda o: o.team), lambda o: o.team):
            rows = list(group)
            hit = [o for o in rows if o.points > 6 and o.bonus is not None]
            over6 = [o for o in rows if o.points > 6]
            points = sum(o.points for o in hit) if hit else None
            expected[team] = (
                len(hit),
                sum(o.bonus is not None for o in over6),
                points,
                max((o.player for o in hit), default=None),
                len({o.points for o in over6}),
                len(hit),
                points,
            )
        assert got == expected

    @requires("rollup")
    async def test_rollup_totals(self, db: Connection) -> None:
        objs = await _scores(db)
        q = db.select(Score.team, func.sum(Score.points), func.count()).group_by(rollup(Score.team))
        got = await q.collect()
        teams: dict[str, list[int]] = defaultdict(list)
        for o in objs:
            teams[o.team].append(o.points)
        expected = [(t, sum(p), len(p)) for t, p in teams.items()]
        expected.append((None, sum(o.points for o in objs), len(objs)))  # type: ignore[arg-type]
        assert sorted(got, key=repr) == sorted(expected, key=repr)

    @requires("rollup")
    async def test_rollup_two_levels(self, db: Connection) -> None:
        objs = await _scores(db)
        q = db.select(Score.team, Score.points, func.count()).group_by(
            rollup(Score.team, Score.points)
        )
        got = {(t, p): n for t, p, n in await q.collect()}
        expected: dict[tuple[Any, Any], int] = defaultdict(int)
        for o in objs:
            expected[(o.team, o.points)] += 1
            expected[(o.team, None)] += 1
            expected[(None, None)] += 1
        assert got == dict(expected)

    @lacks("rollup")
    async def test_rollup_missing_raises(self, db: Connection) -> None:
        await _scores(db)
        q = db.select(Score.team, func.count()).group_by(rollup(Score.team))
        with pytest.raises(NotSupportedError, match="ROLLUP"):
            await q.collect()

    @requires("distinct_on")
    async def test_distinct_on_keeps_the_first_row_per_group(self, db: Connection) -> None:
        objs = await _scores(db)
        q = (
            db.select(Score)
            .distinct_on(Score.team)
            .order_by(Score.team, col(Score.points).desc(), Score.id)
        )
        got = await q.collect()
        expected = [rows[0] for _, rows in sorted(_by_team(objs).items())]
        assert [(o.id, o.team, o.points) for o in got] == [
            (o.id, o.team, o.points) for o in expected
        ]
        assert await q.count() == len(expected)

    @lacks("distinct_on")
    async def test_distinct_on_missing_raises(self, db: Connection) -> None:
        await _scores(db)
        with pytest.raises(NotSupportedError, match="DISTINCT ON"):
            await db.select(Score).distinct_on(Score.team).order_by(Score.team).collect()

"""Loading relations onto objects: batched statements (``preload``) and LEFT JOINs
(``include``). docs/relations.md.

``preload``: one SELECT per relation, whatever the number of owner objects: the
target rows whose key columns are ``IN`` the owners' keys (a list of more than
``IN_ARRAY_MIN`` keys travels as one array parameter; composite keys are chunked
by the dialect's bind-parameter limit), grouped in Python and stored in each
owner's ``__dict__``. No statement runs when no owner has a key.

``include``: a to-one relation read in the same statement, through a LEFT JOIN
of the target under an alias of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .errors import ConfigurationError
from .expr import IN_ARRAY_MIN, BinaryOp, BoolOp, Expr, InList, Ordering, RowIn
from .model import FieldInfo, Model, TableInfo, aliased, table_of
from .planner import rows_converter, statement_plan
from .relations import TO_ONE, Relation, Resolved
from .statements import Join, SelectItem, SelectStmt
from .types import ColumnType, Kind

if TYPE_CHECKING:
    from .query import Executor

__all__ = [
    "IncludePlan",
    "apply_includes",
    "check_preloads",
    "load_relations",
    "plan_includes",
]

_BOOL = ColumnType(Kind.BOOL, bool)
#: bind parameters kept free of the dialect's limit in a composite-key chunk
_SPARE_PARAMS = 16


def _relation(item: Any, what: str) -> Relation:
    if not isinstance(item, Relation):
        raise ConfigurationError(
            f"{what}() takes relation attributes such as Author.posts, not {item!r}"
        )
    item.resolve()
    return item


def check_preloads(
    selected: Iterable[type[Model]], relations: Sequence[Any]
) -> tuple[Relation, ...]:
    """Validate a ``preload(...)`` call: each relation's owner is a selected model or the
    target of an earlier relation of the call. Resolves the relations' targets."""
    loaded = list(selected)
    out: list[Relation] = []
    for item in relations:
        rel = _relation(item, "preload")
        if not any(issubclass(m, rel.owner) for m in loaded):
            raise ConfigurationError(
                f"preload({rel.owner.__name__}.{rel.name}): no {rel.owner.__name__} objects "
                f"to load it onto; the query yields {_names(loaded)}: preload a relation "
                f"that leads to {rel.owner.__name__} first"
            )
        loaded.append(rel.target)
        out.append(rel)
    return tuple(out)


def _names(models: Sequence[type[Model]]) -> str:
    return ", ".join(dict.fromkeys(m.__name__ for m in models)) or "no model objects"


def _getter(fields: Sequence[FieldInfo]) -> Any:
    """A function reading an object's key: one value, or a tuple for a composite key."""
    return attrgetter(*[f.attr for f in fields])


async def load_relations(
    ex: Executor, loaded: dict[type[Model], list[Model]], relations: Sequence[Relation]
) -> None:
    """Run each relation's statement and store the results on its owner objects.

    ``loaded``: the objects in hand, by class; each relation's targets join them, so a
    later relation may start from them (``preload(Author.posts, Post.tags)``). A
    relation given twice loads onto the objects the first one did not.
    """
    done: dict[Relation, set[int]] = {}
    for rel in relations:
        # owners that got this relation from an earlier argument keep it: preloading
        # Category.children twice loads two levels of a tree
        seen = done.setdefault(rel, set())
        owners = [
            o
            for model, objs in loaded.items()
            if issubclass(model, rel.owner)
            for o in objs
            if id(o) not in seen
        ]
        seen.update(id(o) for o in owners)
        targets = await _load(ex, rel, owners)
        if targets:
            loaded.setdefault(rel.target, []).extend(targets)


async def _load(ex: Executor, rel: Relation, owners: list[Model]) -> list[Model]:
    res = rel.resolve()
    key_of = _getter(res.local)
    composite = len(res.local) > 1
    keys: dict[Any, None] = {}
    for owner in owners:
        k = key_of(owner)
        if k is not None and not (composite and None in k):
            keys[k] = None
    rows: list[Any] = []
    if keys:
        for chunk in _chunks(list(keys), len(res.remote), res.remote[0].type.kind, ex):
            stmt = _statement(rel, res, chunk)
            compiled, nodes = statement_plan(ex.dialect, stmt)
            found = await ex._read(compiled.sql, compiled.bind(nodes))
            rows.extend(rows_converter(ex.dialect, compiled, stmt.items)(found))
    name = rel.name
    if res.through is not None:
        return _assign_linked(res, name, owners, key_of, rows, composite)
    remote_of = _getter(res.remote)
    if rel.to_many:
        groups: dict[Any, list[Model]] = {}
        for obj in rows:
            k = remote_of(obj)
            group = groups.get(k)
            if group is None:
                groups[k] = [obj]
            else:
                group.append(obj)
        _assign_groups(name, owners, key_of, groups)
        return rows
    index: dict[Any, Model] = {}
    for obj in rows:
        index.setdefault(remote_of(obj), obj)  # has_one with several rows: the first
    for owner in owners:
        owner.__dict__[name] = index.get(key_of(owner))
    return list(index.values())


def _assign_groups(
    name: str, owners: list[Model], key_of: Any, groups: dict[Any, list[Model]]
) -> None:
    """Give each owner its own list: the group of its key (a copy for a second owner
    with the same key, as when one row was loaded twice), else a new empty list."""
    handed: dict[Any, list[Model]] = {}
    for owner in owners:
        k = key_of(owner)
        group = groups.pop(k, None)
        if group is not None:
            handed[k] = group
        else:
            given = handed.get(k)
            group = [] if given is None else list(given)
        owner.__dict__[name] = group


def _assign_linked(
    res: Resolved, name: str, owners: list[Model], key_of: Any, rows: list[Any], composite: bool
) -> list[Model]:
    """many_to_many: rows are (target, *source key); one object per target row."""
    target_key_of = _getter(res.target.primary_key or res.target_ref)
    shared: dict[Any, Model] = {}
    groups: dict[Any, list[Model]] = {}
    for row in rows:
        obj = shared.setdefault(target_key_of(row[0]), row[0])
        k = row[1:] if composite else row[1]
        group = groups.get(k)
        if group is None:
            groups[k] = [obj]
        else:
            group.append(obj)
    _assign_groups(name, owners, key_of, groups)
    return list(shared.values())


def _chunks(keys: list[Any], width: int, key_kind: Kind, ex: Executor) -> list[list[Any]]:
    """One chunk for a single-column key (bound as one array parameter), unless the
    dialect sets ``preload_max_keys`` or the keys are bytes (IN lists of 1,000);
    composite keys in chunks that fit the dialect's bind-parameter limit."""
    if width == 1:
        size = ex.dialect.preload_max_keys
        if key_kind is Kind.BYTES:  # an IN list: within the bind-parameter limit
            size = min(size or IN_ARRAY_MIN, IN_ARRAY_MIN)
        if size is None or len(keys) <= size:
            return [keys]
        return [keys[i : i + size] for i in range(0, len(keys), size)]
    size = max(1, (ex.dialect.max_bind_params - _SPARE_PARAMS) // width)
    if ex.dialect.preload_max_keys is not None:
        size = min(size, ex.dialect.preload_max_keys)
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _key_condition(columns: Sequence[Any], keys: list[Any]) -> Expr:
    if len(columns) == 1:
        column = columns[0]
        if column.type.kind is Kind.BYTES:  # SQLite's array (JSON) cannot carry bytes
            return column.in_(keys)  # type: ignore[no-any-return]
        # one array parameter: one statement shape (and prepared statement) for any count
        return InList.of_array(column, tuple(keys))
    return RowIn(tuple(columns), keys)


def _pairs(
    left: TableInfo, lf: Sequence[FieldInfo], right: TableInfo, rf: Sequence[FieldInfo]
) -> Expr:
    parts = [
        BinaryOp("=", left.columns[a.attr], right.columns[b.attr], _BOOL) for a, b in zip(lf, rf)
    ]
    return parts[0] if len(parts) == 1 else BoolOp.of("AND", *parts)


def _statement(rel: Relation, res: Resolved, keys: list[Any]) -> SelectStmt:
    target = res.target
    order = (
        tuple(Ordering(target.columns[f.attr], desc, None) for f, desc in res.order)
        if rel.kind != "belongs_to"  # one row per key: nothing to order
        else ()
    )
    through = res.through
    if through is None:
        stmt = SelectStmt((target,), target)
        stmt.where = _key_condition([target.columns[f.attr] for f in res.remote], keys)
    else:
        source = tuple(through.columns[f.attr] for f in res.remote)
        stmt = SelectStmt((target, *source), target)
        on = _pairs(through, res.through_target, target, res.target_ref)
        stmt.joins = (Join("inner", through, on),)
        stmt.where = _key_condition(source, keys)
    stmt.order_by = order
    return stmt


# -- include: to-one relations through a LEFT JOIN ------------------------------------


class IncludePlan:
    """What ``include(...)`` adds to a select: aliased target tables, their LEFT JOINs,
    and which loaded object goes into which owner's attribute."""

    __slots__ = ("assign", "items", "joins")

    def __init__(
        self,
        items: tuple[TableInfo, ...],
        joins: tuple[Join, ...],
        assign: tuple[tuple[int, str, int], ...],
    ) -> None:
        self.items = items
        self.joins = joins
        #: (owner position, attribute, target position) in each result row
        self.assign = assign


_aliases: dict[tuple[Relation, int], TableInfo] = {}


def _alias(rel: Relation, position: int) -> TableInfo:
    """The target's alias for an include at ``position`` (stable names: cached SQL)."""
    info = _aliases.get((rel, position))
    if info is None:
        alias = aliased(rel.target, f"ormer_inc{position}")
        info = _aliases[(rel, position)] = table_of(alias)
    return info


def plan_includes(
    items: Sequence[SelectItem], earlier: IncludePlan | None, relations: Sequence[Any]
) -> IncludePlan:
    """Add ``relations`` (to-one) to a select's includes. Each relation's owner is a
    model the select yields or the target of an earlier include."""
    tables: list[TableInfo] = [i for i in items if isinstance(i, TableInfo)]
    positions = {id(i): n for n, i in enumerate(items) if isinstance(i, TableInfo)}
    new_items = list(earlier.items) if earlier else []
    joins = list(earlier.joins) if earlier else []
    assign = list(earlier.assign) if earlier else []
    for n, info in enumerate(new_items):
        positions[id(info)] = len(items) + n
        tables.append(info)
    for item in relations:
        rel = _relation(item, "include")
        if rel.kind not in TO_ONE:
            raise ConfigurationError(
                f"include({rel.owner.__name__}.{rel.name}): include loads to-one relations "
                f"(belongs_to, has_one) through a join; a {rel.kind} relation is a list: "
                f"use preload({rel.owner.__name__}.{rel.name})"
            )
        res = rel.resolve()
        if rel.kind == "has_one" and not _unique(res.target, res.remote):
            target_name = res.target.model.__name__
            keys = ", ".join(f"{target_name}.{f.attr}" for f in res.remote)
            raise ConfigurationError(
                f"include({rel.owner.__name__}.{rel.name}): {keys} is not unique, so the "
                f"join would repeat a {rel.owner.__name__} for each matching "
                f"{target_name}; declare it unique (foreign_key(..., unique=True)) or use "
                f"preload({rel.owner.__name__}.{rel.name}), which takes the first by key"
            )
        owner = next((t for t in tables if issubclass(t.model, rel.owner)), None)
        if owner is None:
            raise ConfigurationError(
                f"include({rel.owner.__name__}.{rel.name}): the query yields no "
                f"{rel.owner.__name__} objects to load it onto"
            )
        position = len(items) + len(new_items)
        target = _alias(rel, position)
        on = _pairs(target, res.remote, owner, res.local)  # remote fields are the target's
        new_items.append(target)
        joins.append(Join("left", target, on))
        assign.append((positions[id(owner)], rel.name, position))
        positions[id(target)] = position
        tables.append(target)
    return IncludePlan(tuple(new_items), tuple(joins), tuple(assign))


def _unique(info: TableInfo, fields: Sequence[FieldInfo]) -> bool:
    """Whether the fields hold at most one row per value: they cover the primary key or
    a unique constraint."""
    have = {id(f) for f in fields}
    groups = [info.primary_key, *(group for _, group in info.unique_groups)]
    return any(group and {id(f) for f in group} <= have for group in groups)


def apply_includes(rows: list[Any], plan: IncludePlan, width: int, single: bool) -> list[Any]:
    """Store each row's included objects on their owners; return the rows as the select
    without includes yields them (``width`` items; ``single``: the bare model)."""
    for owner_at, name, target_at in plan.assign:
        for row in rows:
            owner = row[owner_at]
            if owner is not None:
                owner.__dict__[name] = row[target_at]
    if single:
        return [row[0] for row in rows]
    return [row[:width] for row in rows]

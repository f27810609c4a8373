"""Relations between models: ``has_many``, ``has_one``, ``belongs_to``, ``many_to_many``.

A relation is declared on a model class like a field but is not a column::

    class Author(Model, table="authors"):
        id: int = primary(auto=True)
        posts: list["Post"] = has_many("Post", foreign_key="author_id")

On the class, ``Author.posts`` is a :class:`Relation` (what ``preload`` and
``include`` take). On an object, ``author.posts`` is the loaded value, stored in
the object's ``__dict__`` by a preload, so reading it is a plain attribute
lookup; a relation that was never loaded raises
:class:`~ormer.errors.RelationNotLoadedError`. Nothing here runs a query: loading
is ``ormer.preload``'s job, and only ever when the user awaits it.

Targets may be model classes or names, resolved at first use against the
models defined so far (docs/relations.md).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .errors import ConfigurationError, RelationNotLoadedError
from .identifiers import check_identifier

if TYPE_CHECKING:
    from .model import FieldInfo, Model, TableInfo

__all__ = [
    "Relation",
    "RelationSpec",
    "belongs_to",
    "has_many",
    "has_one",
    "many_to_many",
    "register_model",
    "resolve_model",
]

Kind = Literal["has_many", "has_one", "belongs_to", "many_to_many"]
#: the kinds whose value is one object (or None), loadable by ``include`` (a LEFT JOIN)
TO_ONE: frozenset[str] = frozenset({"has_one", "belongs_to"})

Names = tuple[str, ...]


@dataclass(frozen=True)
class RelationSpec:
    """What a relation declaration (``has_many(...)``, ...) said, before the class exists."""

    kind: Kind
    target: Any
    foreign_key: Names = ()
    references: Names | None = None
    order_by: Names = ()
    through: Any = None
    source_key: Names = ()
    target_key: Names = ()


def _names(value: str | tuple[str, ...] | list[str] | None, what: str) -> Names:
    if value is None:
        return ()
    names = (value,) if isinstance(value, str) else tuple(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ConfigurationError(f"{what} must be a field name or a tuple of field names")
    for n in names:
        check_identifier(n.removeprefix("-"), what)
    return names


def _target(target: Any, what: str) -> Any:
    if isinstance(target, str):
        if not target:
            raise ConfigurationError(f"{what}: the target model name is empty")
        return target
    if isinstance(target, type) and hasattr(target, "__ormer_table__"):
        return target
    raise ConfigurationError(
        f"{what}: the target must be a model class or its name, not {target!r}"
    )


def has_many(
    target: Any,
    *,
    foreign_key: str | tuple[str, ...],
    references: str | tuple[str, ...] | None = None,
    order_by: str | tuple[str, ...] | None = None,
    init: Literal[False] = False,
) -> Any:
    """The objects of ``target`` whose ``foreign_key`` field(s) hold this object's key.

    ``references``: the field(s) of this model the foreign key holds (default: the
    column the ``foreign_key()`` field names, else the primary key). ``order_by``:
    field name(s) of the target, ``"-name"`` for descending (default: its primary key).
    Annotate it ``list["Target"]``.
    """
    return RelationSpec(
        "has_many",
        _target(target, "has_many"),
        foreign_key=_names(foreign_key, "has_many foreign_key"),
        references=_names(references, "has_many references") or None,
        order_by=_names(order_by, "has_many order_by"),
    )


def has_one(
    target: Any,
    *,
    foreign_key: str | tuple[str, ...],
    references: str | tuple[str, ...] | None = None,
    init: Literal[False] = False,
) -> Any:
    """The one object of ``target`` whose ``foreign_key`` field(s) hold this object's key,
    or None. Annotate it ``"Target | None"``."""
    return RelationSpec(
        "has_one",
        _target(target, "has_one"),
        foreign_key=_names(foreign_key, "has_one foreign_key"),
        references=_names(references, "has_one references") or None,
    )


def belongs_to(
    target: Any,
    *,
    foreign_key: str | tuple[str, ...],
    references: str | tuple[str, ...] | None = None,
    init: Literal[False] = False,
) -> Any:
    """The object of ``target`` this object's ``foreign_key`` field(s) point at, or None
    (a NULL foreign key, or a dangling one). ``references``: the target's field(s) the
    key holds (default: the column the ``foreign_key()`` field names, else the target's
    primary key). Annotate it ``"Target | None"``."""
    return RelationSpec(
        "belongs_to",
        _target(target, "belongs_to"),
        foreign_key=_names(foreign_key, "belongs_to foreign_key"),
        references=_names(references, "belongs_to references") or None,
    )


def many_to_many(
    target: Any,
    *,
    through: Any,
    source_key: str | tuple[str, ...],
    target_key: str | tuple[str, ...],
    init: Literal[False] = False,
) -> Any:
    """The objects of ``target`` linked to this object by rows of the ``through`` model:
    its ``source_key`` field(s) hold this object's key, its ``target_key`` field(s) the
    target's. Annotate it ``list["Target"]``."""
    return RelationSpec(
        "many_to_many",
        _target(target, "many_to_many"),
        through=_target(through, "many_to_many through"),
        source_key=_names(source_key, "many_to_many source_key"),
        target_key=_names(target_key, "many_to_many target_key"),
    )


# -- model registry, for targets given by name ------------------------------------------

_models: dict[str, list[weakref.ref[type[Model]]]] = {}


def register_model(cls: type[Model]) -> None:
    """Remember a model class so relations can name it (weakly: classes may be dropped)."""
    refs = _models.setdefault(cls.__name__, [])
    refs[:] = [r for r in refs if r() is not None]
    refs.append(weakref.ref(cls))


def resolve_model(name: Any, owner: type[Model], where: str) -> type[Model]:
    """The model class a relation names: the class itself, a class name (the one
    defined last in the owner's module wins, else the only one of that name), or
    ``"module.ClassName"``."""
    if not isinstance(name, str):
        return name  # type: ignore[no-any-return]
    module, _, short = name.rpartition(".")
    alive = [c for r in _models.get(short, ()) if (c := r()) is not None]
    if module:
        alive = [c for c in alive if c.__module__ == module]
    else:
        local = [c for c in alive if c.__module__ == owner.__module__]
        if local:
            return local[-1]
    if len(alive) == 1 or (module and alive):
        return alive[-1]
    if not alive:
        raise ConfigurationError(
            f"{where}: no model named {name!r} is defined (define the class, or pass it "
            "instead of its name)"
        )
    raise ConfigurationError(
        f"{where}: {len(alive)} models are named {name!r} (in "
        f"{', '.join(sorted({c.__module__ for c in alive}))}); write 'module.{short}' "
        "or pass the class"
    )


# -- the relation attribute ------------------------------------------------------------


class Resolved:
    """A relation with its classes found and its key columns paired.

    Loading a relation reads target rows whose ``remote`` fields (on the target, or
    on ``through``) equal an owner's ``local`` fields; ``target_ref``/``through_target``
    pair a link row with its target row for many_to_many.
    """

    __slots__ = ("local", "order", "remote", "target", "target_ref", "through", "through_target")

    def __init__(
        self,
        target: TableInfo,
        local: tuple[FieldInfo, ...],
        remote: tuple[FieldInfo, ...],
        order: tuple[tuple[FieldInfo, bool], ...],
        through: TableInfo | None = None,
        through_target: tuple[FieldInfo, ...] = (),
        target_ref: tuple[FieldInfo, ...] = (),
    ) -> None:
        self.target = target
        self.local = local
        self.remote = remote
        self.order = order
        self.through = through
        self.through_target = through_target
        self.target_ref = target_ref


class Relation:
    """A relation attribute of a model class (``Author.posts``): what ``preload`` and
    ``include`` take. Reading it on an object that has not loaded it raises
    :class:`~ormer.errors.RelationNotLoadedError`; loaded values live in the object."""

    __slots__ = ("_resolved", "name", "owner", "spec")

    def __init__(self, owner: type[Model], name: str, spec: RelationSpec) -> None:
        self.owner = owner
        self.name = name
        self.spec = spec
        self._resolved: Resolved | None = None

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def to_many(self) -> bool:
        """Whether the loaded value is a list (has_many, many_to_many)."""
        return self.spec.kind not in TO_ONE

    @property
    def target(self) -> type[Model]:
        """The target model class (resolving a name on first use)."""
        return self.resolve().target.model

    def __repr__(self) -> str:
        return f"<{self.spec.kind} {self.owner.__name__}.{self.name}>"

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        if instance is None:
            return self
        # Only reached when the object's __dict__ has no value: never loaded.
        cls = self.owner.__name__
        raise RelationNotLoadedError(
            f"{cls}.{self.name} was not loaded (ormer never queries on attribute access): "
            f"preload it with select({cls}).preload({cls}.{self.name}), "
            f"include({cls}.{self.name}) or await conn.preload(objects, {cls}.{self.name})"
        )

    def resolve(self) -> Resolved:
        """Find the target (and through) classes and pair the key fields; cached."""
        resolved = self._resolved
        if resolved is None:
            resolved = self._resolved = _resolve(self)
        return resolved


def _table(model: type[Model]) -> TableInfo:
    from .model import table_of

    return table_of(model)


def _fields(info: TableInfo, names: Names, where: str, role: str) -> tuple[FieldInfo, ...]:
    out = []
    for n in names:
        try:
            out.append(info.field(n))
        except ConfigurationError:
            raise ConfigurationError(
                f"{where}: {role} {n!r} is not a field of {info.model.__name__}"
            ) from None
    return tuple(out)


def _referenced(
    keys: tuple[FieldInfo, ...],
    referenced: TableInfo,
    explicit: Names | None,
    where: str,
) -> tuple[FieldInfo, ...]:
    """The fields of ``referenced`` that the key fields ``keys`` hold."""
    if explicit is not None:
        fields = _fields(referenced, explicit, where, "references")
    else:
        declared = [k.spec.foreign_key for k in keys]
        if all(d is not None for d in declared) and all(
            d.split(".")[0] == referenced.name for d in declared if d is not None
        ):
            by_column = {f.column: f for f in referenced.fields}
            fields = tuple(
                by_column[col]
                for d in declared
                if d is not None and (col := d.split(".")[1]) in by_column
            )
            if len(fields) != len(keys):
                fields = referenced.primary_key
        else:
            fields = referenced.primary_key
    if not fields:
        raise ConfigurationError(
            f"{where}: {referenced.model.__name__} has no primary key; give references=..."
        )
    if len(fields) != len(keys):
        raise ConfigurationError(
            f"{where}: {len(keys)} key field(s) {[k.attr for k in keys]} but "
            f"{len(fields)} referenced field(s) {[f.attr for f in fields]}"
        )
    return fields


def _resolve(rel: Relation) -> Resolved:
    spec = rel.spec
    where = f"{rel.owner.__name__}.{rel.name}"
    owner = _table(rel.owner)
    target = _table(resolve_model(spec.target, rel.owner, where))
    if spec.kind == "belongs_to":
        local = _fields(owner, spec.foreign_key, where, "foreign_key")
        remote = _referenced(local, target, spec.references, where)
        return Resolved(target, local, remote, ())
    if spec.kind in ("has_many", "has_one"):
        remote = _fields(target, spec.foreign_key, where, "foreign_key")
        local = _referenced(remote, owner, spec.references, where)
        order: list[tuple[FieldInfo, bool]] = []
        for name in spec.order_by:
            f = _fields(target, (name.removeprefix("-"),), where, "order_by")[0]
            order.append((f, name.startswith("-")))
        if not order:
            order = [(f, False) for f in target.primary_key or remote]
        return Resolved(target, local, remote, tuple(order))
    through = _table(resolve_model(spec.through, rel.owner, where))
    source = _fields(through, spec.source_key, where, "source_key")
    link = _fields(through, spec.target_key, where, "target_key")
    local = _referenced(source, owner, None, where)
    target_ref = _referenced(link, target, None, where)
    order = [(f, False) for f in target.primary_key or target_ref]
    return Resolved(target, local, source, tuple(order), through, link, target_ref)


def relations_of(cls: type[Any]) -> dict[str, Relation]:
    """The relation attributes of a model class, by name (its own and inherited)."""
    out: dict[str, Relation] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if isinstance(value, Relation):
                out[attr] = value
    return out

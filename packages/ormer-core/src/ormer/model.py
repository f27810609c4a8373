"""Models: ``Model``, the field specifiers and table metadata (docs/models.md).

A model class is dataclass-like (PEP 681): a keyword-only constructor,
``repr`` and ``==`` by field values. On the class, each field is a
:class:`~ormer.expr.Column` expression (``User.age >= 18``); instances keep
their values in their own ``__dict__`` so reading ``user.age`` is a plain
attribute lookup.
"""

from __future__ import annotations

import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, ClassVar, Literal, TypeVar, dataclass_transform, overload

from . import plugins
from .errors import ConfigurationError
from .expr import Column, TableRef
from .identifiers import check_identifier, snake_case
from .relations import (
    Relation,
    RelationSpec,
    belongs_to,
    has_many,
    has_one,
    many_to_many,
    register_model,
    relations_of,
)
from .types import ColumnType, Kind, column_type_for, make_validator

__all__ = [
    "FieldInfo",
    "Model",
    "TableInfo",
    "aliased",
    "asdict",
    "field",
    "foreign_key",
    "index",
    "primary",
    "table_of",
    "unique",
    "version_field",
]

M = TypeVar("M", bound="Model")

_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()
_ON_DELETE = {"cascade", "restrict", "set null", "set default", "no action"}


@dataclass
class _FieldSpec:
    """What a field specifier call (``field(...)``, ``primary(...)``) declared."""

    default: Any = _MISSING
    default_factory: Callable[[], Any] | None = None
    primary: bool = False
    auto: bool = False
    unique: bool = False
    unique_group: str | None = None
    index: bool = False
    index_group: str | None = None
    foreign_key: str | None = None
    on_delete: str | None = None
    max_length: int | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    timezone: bool = False
    column: str | None = None
    version: bool = False


def field(
    *,
    default: Any = _MISSING,
    default_factory: Callable[[], Any] | None = None,
    max_length: int | None = None,
    max_digits: int | None = None,
    decimal_places: int | None = None,
    timezone: bool = False,
    column: str | None = None,
) -> Any:
    """Declare a field's options.

    ``max_length`` makes a ``str`` a ``VARCHAR(n)``; ``max_digits`` /
    ``decimal_places`` set a Decimal's precision (default 18, 6);
    ``timezone=True`` makes a datetime field hold aware datetimes;
    ``column`` stores the field under another column name.
    """
    if default is not _MISSING and default_factory is not None:
        raise ConfigurationError("give a field either default or default_factory, not both")
    return _FieldSpec(
        default=default,
        default_factory=default_factory,
        max_length=max_length,
        max_digits=max_digits,
        decimal_places=decimal_places,
        timezone=timezone,
        column=column,
    )


@overload
def primary(*, auto: Literal[True], init: Literal[False] = False, **options: Any) -> Any: ...
@overload
def primary(*, auto: Literal[False] = False, init: Literal[True] = True, **options: Any) -> Any: ...


def primary(*, auto: bool = False, init: bool = True, **options: Any) -> Any:
    """A primary-key field. ``auto=True``: database-generated, set on the object after insert.

    Several ``primary()`` fields make a composite key. Takes every keyword of :func:`field`.
    Type checkers see an auto key as not part of the constructor (``User(name="Ann")``);
    at run time ``User(id=5, name="Ann")`` still stores an explicit key.
    """
    spec: _FieldSpec = field(**options)
    spec.primary = True
    spec.auto = auto
    return spec


def unique(*, group: str | None = None, **options: Any) -> Any:
    """A field with a UNIQUE constraint; fields sharing ``group`` form one constraint."""
    spec: _FieldSpec = field(**options)
    spec.unique = True
    spec.unique_group = group
    return spec


def index(*, group: str | None = None, **options: Any) -> Any:
    """An indexed field; fields sharing ``group`` form one multi-column index."""
    spec: _FieldSpec = field(**options)
    spec.index = True
    spec.index_group = group
    return spec


def foreign_key(
    target: Any,
    *,
    on_delete: str | None = None,
    unique: bool = False,
    index: bool = False,
    **options: Any,
) -> Any:
    """A field referencing another table's column: ``"teams.id"`` or ``Team.id``.

    ``on_delete``: ``"cascade"``, ``"restrict"``, ``"set null"``, ``"set default"``
    or ``"no action"``. ``unique=True`` makes it a UNIQUE column (a one-to-one link,
    which ``include`` of a ``has_one`` needs); ``index=True`` indexes it (what a
    ``has_many`` preload looks rows up by).
    """
    if isinstance(target, Column):
        target = f"{target.table.name}.{target.name}"
    if not isinstance(target, str) or target.count(".") != 1:
        raise ConfigurationError(
            f"foreign_key target {target!r} must be 'table.column' or a model column"
        )
    table, column = target.split(".")
    check_identifier(table, "table")
    check_identifier(column, "column")
    if on_delete is not None and on_delete.lower() not in _ON_DELETE:
        raise ConfigurationError(
            f"on_delete={on_delete!r}; choose one of {', '.join(sorted(_ON_DELETE))}"
        )
    spec: _FieldSpec = field(**options)
    spec.foreign_key = target
    spec.on_delete = on_delete.lower() if on_delete else None
    spec.unique = unique
    spec.index = index and not unique  # a UNIQUE constraint is already an index
    return spec


def version_field(*, default: int = 1, column: str | None = None) -> Any:
    """The optimistic-locking version of a model (docs/writes.md#optimistic-locking).

    An ``int`` field, at most one per model and not part of the primary key.
    Inserting stores the object's value (``default``, 1 unless given);
    ``update(obj)`` and ``delete(obj)`` match the row only while it still holds
    the object's version (else :class:`~ormer.errors.StaleObjectError`), and
    every UPDATE of the model adds 1 to it. ``column`` stores it under another
    column name.
    """
    if type(default) is not int:
        raise ConfigurationError(f"version_field(default={default!r}): the default must be an int")
    spec: _FieldSpec = field(default=default, column=column)
    spec.version = True
    return spec


@dataclass(eq=False)
class FieldInfo:
    """One field of a model: Python attribute, column, type and constraints."""

    attr: str
    column: str
    type: ColumnType
    spec: _FieldSpec
    validate: Callable[[Any], None] = dc_field(repr=False)

    @property
    def primary(self) -> bool:
        return self.spec.primary

    @property
    def auto(self) -> bool:
        return self.spec.auto

    @property
    def nullable(self) -> bool:
        return self.type.nullable

    @property
    def has_default(self) -> bool:
        return self.spec.default is not _MISSING or self.spec.default_factory is not None


@dataclass(eq=False)
class TableInfo:
    """Table metadata of a model class (``table_of(User)``)."""

    model: type[Model]
    name: str
    fields: tuple[FieldInfo, ...]
    ref: TableRef
    columns: dict[str, Column[Any]]
    primary_key: tuple[FieldInfo, ...]
    auto: FieldInfo | None
    unique_groups: tuple[tuple[str, tuple[FieldInfo, ...]], ...]
    index_groups: tuple[tuple[str, tuple[FieldInfo, ...]], ...]
    #: the ``version_field()`` of the model (optimistic locking), if any
    version: FieldInfo | None = None

    def field(self, attr: str) -> FieldInfo:
        for f in self.fields:
            if f.attr == attr:
                return f
        raise ConfigurationError(f"{self.model.__name__} has no field {attr!r}")


def table_of(model: Any) -> TableInfo:
    """The :class:`TableInfo` of a model class (or aliased model), else ConfigurationError."""
    info = getattr(model, "__ormer_table__", None)
    if not isinstance(info, TableInfo):
        raise ConfigurationError(f"{model!r} is not an ormer model class")
    return info


def _groups(
    fields: list[FieldInfo], flag: str, group: str, prefix: str, table: str
) -> tuple[tuple[str, tuple[FieldInfo, ...]], ...]:
    named: dict[str, list[FieldInfo]] = {}
    out: list[tuple[str, tuple[FieldInfo, ...]]] = []
    for f in fields:
        if not getattr(f.spec, flag):
            continue
        g = getattr(f.spec, group)
        if g is None:
            out.append((f"{prefix}_{table}_{f.column}", (f,)))
        else:
            named.setdefault(g, []).append(f)
    for g, members in named.items():
        out.append((f"{prefix}_{table}_{g}", tuple(members)))
    for name, _ in out:
        check_identifier(name, f"{prefix} constraint")
    return tuple(out)


_RESERVED = frozenset({"__ormer_table__", "__init__", "__eq__", "__repr__"})


def _build_table(cls: type[Model], table: str | None) -> TableInfo:
    name = check_identifier(table if table is not None else snake_case(cls.__name__), "table")
    try:
        hints = _field_hints(cls)
    except NameError as exc:
        raise ConfigurationError(
            f"{cls.__name__}: cannot resolve an annotation ({exc}); define the types "
            "it names at module level"
        ) from exc
    relations = _relation_attrs(cls)
    own_annotations = {a: v for a, v in inspect.get_annotations(cls).items() if a not in relations}
    for attr, value in cls.__dict__.items():
        if isinstance(value, _FieldSpec) and attr not in own_annotations:
            raise ConfigurationError(
                f"{cls.__name__}.{attr} is declared with a field specifier but has no type "
                f"annotation, so it would not be a column: write `{attr}: int = ...` "
                "(the annotation gives the column its type)"
            )
    own = [a for a in own_annotations if hints.get(a) is not ClassVar]
    inherited = [
        f.attr
        for base in cls.__mro__[1:]
        if isinstance(base.__dict__.get("__ormer_table__"), TableInfo)
        for f in base.__dict__["__ormer_table__"].fields
    ]
    attrs = list(dict.fromkeys(inherited + own))
    fields: list[FieldInfo] = []
    for attr in attrs:
        annotation = hints[attr]
        if typing.get_origin(annotation) is ClassVar:
            continue
        if attr.startswith("_") or attr in _RESERVED or hasattr(Model, attr):
            raise ConfigurationError(
                f"{cls.__name__}.{attr}: field names may not start with '_' or shadow "
                "Model attributes; use field(column=...) to store it under that column name"
            )
        raw = _field_default(cls, attr)
        spec = raw if isinstance(raw, _FieldSpec) else _FieldSpec(default=raw)
        if isinstance(spec.default, (list, dict, set, bytearray)):
            raise ConfigurationError(
                f"{cls.__name__}.{attr}: a mutable default ({type(spec.default).__name__}) "
                "would be shared by every instance; use field(default_factory=...)"
            )
        column = check_identifier(spec.column or attr, "column")
        ctype = column_type_for(
            annotation,
            max_length=spec.max_length,
            max_digits=spec.max_digits,
            decimal_places=spec.decimal_places,
            timezone=spec.timezone,
        )
        if spec.auto and (ctype.kind is not Kind.INT):
            raise ConfigurationError(
                f"{cls.__name__}.{attr}: primary(auto=True) needs an int field"
            )
        where = f"{cls.__name__}.{attr}"
        fields.append(FieldInfo(attr, column, ctype, spec, make_validator(ctype, where)))
    if not fields:
        raise ConfigurationError(f"{cls.__name__} declares no fields")
    seen: set[str] = set()
    for f in fields:
        if f.column in seen:
            raise ConfigurationError(f"{cls.__name__}: two fields use the column {f.column!r}")
        seen.add(f.column)
    pk = tuple(f for f in fields if f.primary)
    autos = [f for f in fields if f.auto]
    if len(autos) > 1 or (autos and len(pk) > 1):
        raise ConfigurationError(
            f"{cls.__name__}: primary(auto=True) is allowed on a single-column primary key only; "
            f"found primary keys {[f.attr for f in pk]}"
        )
    version = _version_of(cls.__name__, fields)
    ref = TableRef(cls, name)
    columns: dict[str, Column[Any]] = {f.attr: Column(ref, f) for f in fields}
    info = TableInfo(
        model=cls,
        name=name,
        fields=tuple(fields),
        ref=ref,
        columns=columns,
        primary_key=pk,
        auto=autos[0] if autos else None,
        unique_groups=_groups(fields, "unique", "unique_group", "uq", name),
        index_groups=_groups(fields, "index", "index_group", "ix", name),
        version=version,
    )
    ref.info = info
    return info


def _relation_attrs(klass: type) -> set[str]:
    """Attributes of ``klass`` and its bases declared as relations (not columns)."""
    return {
        attr
        for base in klass.__mro__
        for attr, value in vars(base).items()
        if isinstance(value, (RelationSpec, Relation))
    }


def _field_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls)`` without the relation attributes, whose annotations
    name models that may not exist yet (``posts: list["Post"]``)."""
    hints: dict[str, Any] = {}
    skip = _relation_attrs(cls)
    for base in reversed(cls.__mro__):
        annotations = inspect.get_annotations(base)
        if not annotations:
            continue
        kept = {a: v for a, v in annotations.items() if a not in skip}
        if not kept:
            continue
        proxy = type(base.__name__, (), {"__annotations__": kept, "__module__": base.__module__})
        # as get_type_hints does for a class: the module's names win over the class's
        # attributes (a field `date: date` means the type, not the column)
        module = vars(sys.modules[base.__module__]) if base.__module__ in sys.modules else {}
        hints.update(typing.get_type_hints(proxy, globalns=dict(vars(base)), localns=module))
    return hints


def _version_of(model: str, fields: list[FieldInfo]) -> FieldInfo | None:
    """The model's ``version_field()``, checked: one at most, a non-null int, not a key."""
    versions = [f for f in fields if f.spec.version]
    if not versions:
        return None
    if len(versions) > 1:
        raise ConfigurationError(
            f"{model}: a model has at most one version_field(); found "
            f"{', '.join(f.attr for f in versions)}"
        )
    (version,) = versions
    where = f"{model}.{version.attr}"
    if version.type.kind is not Kind.INT or version.nullable:
        raise ConfigurationError(f"{where}: version_field() needs a non-null int field (`int`)")
    if version.primary:
        raise ConfigurationError(f"{where}: a version_field() cannot be part of the primary key")
    if not any(f.primary for f in fields):
        raise ConfigurationError(
            f"{where}: version_field() needs a primary key, which update(obj) and "
            "delete(obj) use to find the row"
        )
    return version


def _field_default(cls: type, attr: str) -> Any:
    for klass in cls.__mro__:
        if attr in klass.__dict__:
            value = klass.__dict__[attr]
            if isinstance(value, Column):  # inherited field: reuse its declaration
                return value.field.spec
            return value
    return _MISSING


def _make_init(info: TableInfo) -> Callable[..., None]:
    """Generate the keyword-only ``__init__`` (one assignment per field, no loops)."""
    namespace: dict[str, Any] = {"_MISSING": _MISSING}
    params: list[str] = []
    body: list[str] = []
    for i, f in enumerate(info.fields):
        spec = f.spec
        if spec.default_factory is not None:
            namespace[f"_factory{i}"] = spec.default_factory
            params.append(f"{f.attr}=_MISSING")
            body.append(f"    _d[{f.attr!r}] = _factory{i}() if {f.attr} is _MISSING else {f.attr}")
            continue
        if spec.default is not _MISSING:
            namespace[f"_default{i}"] = spec.default
            params.append(f"{f.attr}=_default{i}")
        elif spec.auto or f.nullable:
            params.append(f"{f.attr}=None")
        else:
            params.append(f.attr)
        body.append(f"    _d[{f.attr!r}] = {f.attr}")
    # Locals start with "_": field names never do, so a field named `d` or `self` is safe.
    source = f"def __init__(_self, *, {', '.join(params)}):\n    _d = _self.__dict__\n"
    source += "\n".join(body) + "\n"
    exec(source, namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{info.model.__qualname__}.__init__"
    return init


def plain_setattr(cls: type) -> bool:
    """Whether setting an attribute on an instance of ``cls`` is ``object``'s own
    (no ``__setattr__`` of the model's): row converters then store attributes."""
    setter: object = cls.__setattr__
    return setter is object.__setattr__


def _share_field_keys(cls: type, info: TableInfo) -> None:
    """Store every field, in order, on one throwaway instance of a new model class.

    CPython (3.11+) keeps the attributes of a class's instances in one key table shared
    by the class, each instance holding only its values, as long as the instances set
    the same attributes in the same order and the table got them before it filled up:
    every object ``__init__`` or a row converter makes then costs a small array of
    values instead of a dict with keys of its own (136 bytes a six-field object instead
    of 336; a converted row about 20% less time, half when its memory is fresh).
    """
    if not plain_setattr(cls):
        return  # a model with its own __setattr__: its converters build dicts instead
    blank: object = object.__new__(cls)
    for f in info.fields:
        object.__setattr__(blank, f.attr, None)


@dataclass_transform(
    kw_only_default=True,
    # version_field is left out on purpose: mypy and pyright give a specifier's field a
    # default only when the call passes default=, so `version: int = version_field()`
    # would become a required constructor argument; as a plain default it is optional.
    # The relation specifiers take init=False: relations are not constructor arguments.
    field_specifiers=(
        field,
        primary,
        unique,
        index,
        foreign_key,
        has_many,
        has_one,
        belongs_to,
        many_to_many,
    ),
)
class Model:
    """Base class of ormer models.

    ``class User(Model, table="users"): ...`` declares a table; the table name
    defaults to the snake_case class name. Fields are annotated class
    attributes; ``T | None`` makes a column nullable.
    """

    __ormer_table__: ClassVar[TableInfo]

    def __init_subclass__(cls, *, table: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        info = _build_table(cls, table)
        cls.__ormer_table__ = info
        for attr, column in info.columns.items():
            setattr(cls, attr, column)
        init = _make_init(info)
        cls.__init__ = init  # type: ignore[method-assign]
        _share_field_keys(cls, info)
        for attr, value in list(cls.__dict__.items()):
            if isinstance(value, RelationSpec):
                setattr(cls, attr, Relation(cls, attr, value))
        if relations_of(cls):
            cls.__eq__ = _fields_eq(info)  # type: ignore[method-assign]
        register_model(cls)
        plugins.model_defined(cls)

    def __init__(self, **values: Any) -> None:  # replaced per subclass
        raise TypeError("instantiate a Model subclass, not Model itself")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        """The model's pydantic schema (``TypeAdapter(User)``, FastAPI; docs/fastapi.md).

        Called by pydantic only: ormer imports pydantic_core here, never at import time.
        """
        from .pydantic_schema import model_core_schema

        return model_core_schema(cls, handler)

    def __repr__(self) -> str:
        info = self.__ormer_table__
        d = self.__dict__
        inner = ", ".join(f"{f.attr}={d.get(f.attr, _MISSING)!r}" for f in info.fields)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]


def _fields_eq(info: TableInfo) -> Callable[[Any, object], bool]:
    """``==`` by field values only, for models whose objects also hold loaded relations."""
    attrs = tuple(f.attr for f in info.fields)

    def __eq__(self: Any, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        mine, theirs = self.__dict__, other.__dict__
        return all(mine.get(a, _MISSING) == theirs.get(a, _MISSING) for a in attrs)

    return __eq__


class _Alias:
    """An aliased model: ``A = aliased(User)``; ``A.name`` is a column of the alias."""

    def __init__(self, model: type[Model], alias: str) -> None:
        base = table_of(model)
        ref = TableRef(model, base.name, check_identifier(alias, "alias"))
        columns: dict[str, Column[Any]] = {f.attr: Column(ref, f) for f in base.fields}
        self.__ormer_table__ = TableInfo(
            model=model,
            name=base.name,
            fields=base.fields,
            ref=ref,
            columns=columns,
            primary_key=base.primary_key,
            auto=base.auto,
            unique_groups=base.unique_groups,
            index_groups=base.index_groups,
            version=base.version,
        )
        ref.info = self.__ormer_table__
        self.__dict__.update(columns)
        self._model = model

    def __repr__(self) -> str:
        return f"aliased({self._model.__name__}, {self.__ormer_table__.ref.alias!r})"


_alias_counter = 0


def aliased(model: type[M], name: str | None = None) -> type[M]:
    """The same model under another name, to use one table twice in a query."""
    global _alias_counter
    if name is None:
        _alias_counter += 1
        name = f"{table_of(model).name}_{_alias_counter}"
    return typing.cast("type[M]", _Alias(model, name))


def asdict(obj: Model) -> dict[str, Any]:
    """The field values of a model instance, by attribute name."""
    info = table_of(type(obj))
    d = obj.__dict__
    return {f.attr: d.get(f.attr) for f in info.fields}

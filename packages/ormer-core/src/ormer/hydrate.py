"""Row converters: driver rows → model objects / tuples, built once per shape.

A converter is generated Python source compiled once per (select shape,
dialect): the loop unpacks each row into locals and stores them as the new
object's attributes, in field order, so CPython keeps them in the key table the
class shares (``ormer.model._share_field_keys``) rather than in a dict per
object; a loader is called only for columns whose dialect needs one (and only
for non-NULL values). Nothing per row validates, calls a hook or builds an
intermediate dict.

While a large result is converted the cyclic garbage collector is paused
(``ormer.gcpause``): the objects built are acyclic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .expr import Column, Expr
from .gcpause import pausing_gc
from .model import TableInfo, plain_setattr

if TYPE_CHECKING:
    from .dialect import Dialect, Loader

__all__ = ["RowsConverter", "make_converter", "make_named_converter"]

RowsConverter = Callable[[Sequence[Sequence[Any]]], list[Any]]


class _Builder:
    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.namespace: dict[str, Any] = {"_new": object.__new__}
        self.n = 0

    def var(self) -> str:
        self.n += 1
        return f"c{self.n}"

    def value(self, var: str, loader: Loader | None) -> str:
        if loader is None:
            return var
        name = f"_L{len(self.namespace)}"
        self.namespace[name] = loader
        return f"(None if {var} is None else {name}({var}))"

    def model(self, info: TableInfo, vars_: list[str], nullable_row: bool, body: list[str]) -> str:
        """Emit the statements building one model object; return its variable."""
        cls_name = f"_M{len(self.namespace)}"
        self.namespace[cls_name] = info.model
        obj = f"o{len(self.namespace)}"
        values = [
            (f.attr, self.value(v, self.dialect.column_loader(f.type)))
            for f, v in zip(info.fields, vars_)
        ]
        indent = "        "
        if nullable_row:
            key_vars = [v for f, v in zip(info.fields, vars_) if f.primary] or vars_
            test = " and ".join(f"{v} is None" for v in key_vars)
            body.append(f"{indent}if {test}:")
            body.append(f"{indent}    {obj} = None")
            body.append(f"{indent}else:")
            indent += "    "
        body.append(f"{indent}{obj} = _new({cls_name})")
        if plain_setattr(info.model):
            # attribute stores: the values go into the key table the class shares
            # (ormer.model._share_field_keys), no dict per object
            body.extend(f"{indent}{obj}.{attr} = {value}" for attr, value in values)
        else:  # a model with its own __setattr__, not called for a row read back
            items = ", ".join(f"{attr!r}: {value}" for attr, value in values)
            body.append(f"{indent}{obj}.__dict__ = {{{items}}}")
        return obj


def make_converter(
    items: Sequence[TableInfo | Expr],
    dialect: Dialect,
    nullable_models: frozenset[int] = frozenset(),
    scalars: bool = False,
    small: bool = False,
) -> RowsConverter:
    """A function turning a list of rows into a list of results for a select's items.

    One model → model objects; otherwise tuples (one per row) with a model
    object or a converted value per item. ``nullable_models`` holds the
    positions of left-joined models (None when the row has no match).
    ``scalars``: a single expression item yields bare values. ``small``: for
    results of a row or two (a primary-key lookup): no garbage-collector pause
    to consider.
    """
    b = _Builder(dialect)
    row_vars: list[str] = []
    parts: list[str] = []
    body: list[str] = []
    for position, item in enumerate(items):
        if isinstance(item, TableInfo):
            vars_ = [b.var() for _ in item.fields]
            row_vars.extend(vars_)
            parts.append(b.model(item, vars_, position in nullable_models, body))
        else:
            var = b.var()
            row_vars.append(var)
            load = (
                dialect.column_loader(item.type)
                if isinstance(item, Column)
                else dialect.loader(item.type)
            )
            parts.append(b.value(var, load))
    if len(parts) == 1 and (scalars or isinstance(items[0], TableInfo)):
        result = parts[0]
    else:
        result = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    target = ", ".join(row_vars) + ("," if len(row_vars) == 1 else "")
    lines = [
        "def convert(rows):",
        "    out = []",
        "    append = out.append",
        f"    for {target} in rows:",
        *body,
        f"        append({result})",
        "    return out",
    ]
    exec("\n".join(lines) + "\n", b.namespace)
    convert: RowsConverter = b.namespace["convert"]
    return pausing_gc(convert) if body and not small else convert


def _make_object(cls: type, values: dict[str, Any]) -> Any:
    obj: Any = object.__new__(cls)
    obj.__dict__ = values
    return obj


def make_named_converter(info: TableInfo, names: Sequence[str], dialect: Dialect) -> RowsConverter:
    """Converter for raw SQL results: map columns by name onto a model's fields.

    Fields missing from the result take their default (or None); unknown
    columns are ignored.
    """
    by_column = {f.column: f for f in info.fields}
    positions = [(by_column[n], i) for i, n in enumerate(names) if n in by_column]
    missing = [f for f in info.fields if f.column not in set(names)]
    loaders = [(f.attr, i, dialect.loader(f.type)) for f, i in positions]
    cls = info.model

    def default(f: Any) -> Any:
        spec = f.spec
        if spec.default_factory is not None:
            return spec.default_factory()
        return None if spec.default.__class__.__name__ == "_Missing" else spec.default

    def convert(rows: Sequence[Sequence[Any]]) -> list[Any]:
        out = []
        for row in rows:
            values = {f.attr: default(f) for f in missing}
            for attr, i, load in loaders:
                v = row[i]
                values[attr] = v if load is None or v is None else load(v)
            out.append(_make_object(cls, values))
        return out

    return pausing_gc(convert)

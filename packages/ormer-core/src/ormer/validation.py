"""Validating a batch of objects before they are inserted (docs/models.md: ValidationError
before any SQL), with a function generated once per model.

The generated function checks each object's class, reads its values in one
``itemgetter`` call (for all the objects at once, in C, when each is of the
model and has every value) and tests them in one expression: inline tests that accept
only values the field validator accepts too (exact int/str/float/bool types
within their limits), the field validator itself for other types. An object
that fails the inline test goes through :func:`validate_object`, which raises
the field validator's own error (or accepts a value of a compatible type, such
as an int for a float). The values read come back as one tuple per object, in
field order, ready for the insert.
"""

from __future__ import annotations

import math
import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .errors import ConfigurationError
from .gcpause import pausing_gc_in_slices
from .model import Model, TableInfo
from .types import INT64_MAX, INT64_MIN, Kind, find_surrogate

__all__ = ["validate_batch", "validate_object"]

_BatchValidator = Callable[[Sequence[Model]], list[tuple[Any, ...]]]
_VALIDATORS: weakref.WeakKeyDictionary[TableInfo, _BatchValidator] = weakref.WeakKeyDictionary()


def validate_batch(objects: Sequence[Model], info: TableInfo) -> list[tuple[Any, ...]]:
    """Validate objects of ``info``'s model; return each one's values in field order.

    Raises ValidationError for the first bad value, ConfigurationError for an
    object of another class.
    """
    check = _VALIDATORS.get(info)
    if check is None:
        check = _VALIDATORS[info] = pausing_gc_in_slices(_make_validator(info))
    return check(objects)


def validate_object(obj: Model, info: TableInfo) -> None:
    """The field-by-field validation of one object: raises the first error, in field order."""
    auto = info.auto
    d = obj.__dict__
    for f in info.fields:
        value = d.get(f.attr)
        if f is auto and value is None:
            continue
        f.validate(value)


def _wrong_class(obj: Any, info: TableInfo) -> None:
    if not isinstance(obj, Model):
        raise ConfigurationError(f"insert() takes model objects, not {obj!r}")
    raise ConfigurationError(
        f"one insert takes objects of one model: {info.model.__name__} and "
        f"{type(obj).__name__} mixed"
    )


def _inline_test(v: str, f: Any, i: int, ns: dict[str, Any]) -> str:
    """An expression true only for values ``f.validate`` accepts (may be too strict)."""
    kind, ct = f.type.kind, f.type
    if kind is Kind.INT:
        return f"({v}.__class__ is int and {INT64_MIN} <= {v} <= {INT64_MAX})"
    if kind is Kind.STR:
        test = f"{v}.__class__ is str and '\\x00' not in {v} and ({v}.isascii() or not _SURR({v}))"
        if ct.max_length is not None:
            test += f" and len({v}) <= {ct.max_length}"
        return f"({test})"
    if kind is Kind.FLOAT:
        return f"({v}.__class__ is float and -_INF < {v} < _INF)"
    if kind is Kind.BOOL:
        return f"{v}.__class__ is bool"
    ns[f"_V{i}"] = f.validate
    return f"_V{i}({v}) is None"


def _make_validator(info: TableInfo) -> _BatchValidator:
    fields = info.fields
    attrs = [f.attr for f in fields]
    ns: dict[str, Any] = {
        "_cls": info.model,
        "_info": info,
        "_one": validate_object,
        "_wrong": _wrong_class,
        "_INF": math.inf,
        "_SURR": find_surrogate,
        "_get": operator.itemgetter(*attrs),
    }
    tests = []
    for i, f in enumerate(fields):
        test = _inline_test(f"v{i}", f, i, ns)
        if f.type.nullable or f is info.auto:
            test = f"(v{i} is None or {test})"
        tests.append(test)
    names = "".join(f"v{i}, " for i in range(len(fields)))
    # itemgetter of one key returns the bare value, of several a tuple
    read = "row = (_get(d),)" if len(fields) == 1 else "row = _get(d)"
    source = (
        "def validate(objects):\n"
        "    out = []\n"
        "    append = out.append\n"
        "    for obj in objects:\n"
        "        if obj.__class__ is not _cls:\n"
        "            _wrong(obj, _info)\n"
        "        d = obj.__dict__\n"
        "        try:\n"
        f"            {read}\n"
        "        except KeyError:\n"
        "            _one(obj, _info)\n"  # raises (a missing non-nullable value), or:
        f"            row = ({''.join(f'd.get({a!r}), ' for a in attrs)})\n"
        f"        {names}= row\n"
        f"        if not ({' and '.join(tests)}):\n"
        "            _one(obj, _info)\n"
        "        append(row)\n"
        "    return out\n"
    )
    if len(fields) > 1:
        # The common case first, its reads done in C: every object of the model with
        # every value set (else the loop above decides, raising what it raises).
        ns.update(_exact=None, _list=list, _map=map, _set=set, _type=type, _zip=zip)
        ns["_dict"] = operator.attrgetter("__dict__")
        ns["_only"] = {info.model}
        source += (
            "def validate_fast(objects):\n"
            "    try:\n"
            "        rows = _list(_map(_get, _map(_dict, objects)))\n"
            "    except Exception:\n"  # no __dict__, a missing value: the loop's errors
            "        rows = None\n"
            "    if rows is None or _set(_map(_type, objects)) != _only:\n"
            "        return _exact(objects)\n"
            f"    for obj, ({names}) in _zip(objects, rows):\n"
            f"        if not ({' and '.join(tests)}):\n"
            "            _one(obj, _info)\n"  # the first error of the batch, or accepted
            "    return rows\n"
        )
    exec(source, ns)
    validate: _BatchValidator = ns["validate"]
    if len(fields) > 1:
        ns["_exact"] = validate
        validate = ns["validate_fast"]
    return validate

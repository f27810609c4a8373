"""The generated batch validator of inserts (``ormer.connection._validate``) accepts and
rejects exactly what the fields' own validators do, with the same first error."""

from __future__ import annotations

import datetime
import decimal
import math
from typing import Any

import pytest

from ormer import Model, ValidationError, field, primary
from ormer.connection import _validate
from ormer.model import table_of


class VItem(Model, table="v_item"):
    id: int = primary(auto=True)
    n: int
    s: str = field(max_length=5)
    t: str
    f: float
    b: bool
    d: decimal.Decimal = field(max_digits=5, decimal_places=2)
    when: datetime.date
    opt: int | None = None


def good(**changes: Any) -> VItem:
    obj = VItem(
        n=1, s="abc", t="text", f=1.5, b=True, d=decimal.Decimal("1.25"),
        when=datetime.date(2024, 1, 1),
    )  # fmt: skip
    obj.__dict__.update(changes)
    return obj


def field_error(obj: VItem) -> str | None:
    """The first error of the field-by-field validation, or None."""
    info = table_of(VItem)
    for f in info.fields:
        value = obj.__dict__.get(f.attr)
        if f is info.auto and value is None:
            continue
        try:
            f.validate(value)
        except ValidationError as exc:
            return str(exc)
    return None


CASES: list[dict[str, Any]] = [
    {},
    {"id": 7},
    {"id": True},
    {"id": "7"},
    {"n": True},
    {"n": 2**63},
    {"n": -(2**63)},
    {"n": 1.0},
    {"n": None},
    {"s": "abcdef"},
    {"s": "a\x00"},
    {"s": b"abc"},
    {"t": "x" * 10_000},
    {"f": 3},
    {"f": math.nan},
    {"f": math.inf},
    {"f": True},
    {"f": "1.5"},
    {"b": 1},
    {"b": None},
    {"d": decimal.Decimal("1.234")},
    {"d": 3},
    {"d": 1.5},
    {"when": datetime.datetime(2024, 1, 1)},
    {"opt": None},
    {"opt": 3},
    {"opt": "3"},
    {"n": None, "s": "toolong"},
]


@pytest.mark.parametrize("changes", CASES, ids=repr)
def test_batch_validator_matches_field_validators(changes: dict[str, Any]) -> None:
    obj = good(**changes)
    expected = field_error(obj)
    batch = [good(), obj, good()]
    if expected is None:
        rows = _validate(batch, table_of(VItem))
        attrs = [f.attr for f in table_of(VItem).fields]
        assert rows == [tuple(o.__dict__[a] for a in attrs) for o in batch]
    else:
        with pytest.raises(ValidationError) as info:
            _validate(batch, table_of(VItem))
        assert str(info.value) == expected


def test_missing_attribute() -> None:
    obj = good()
    del obj.__dict__["opt"]  # nullable: validated as None, written as NULL
    assert _validate([obj], table_of(VItem))[0][-1] is None
    del obj.__dict__["n"]
    with pytest.raises(ValidationError, match="not nullable"):
        _validate([obj], table_of(VItem))

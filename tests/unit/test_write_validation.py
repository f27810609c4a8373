"""The generated batch validator of inserts (``ormer.validation.validate_batch``) accepts and
rejects exactly what the fields' own validators do, with the same first error."""

from __future__ import annotations

import datetime
import decimal
import gc
import math
from typing import Any

import pytest

from ormer import ConfigurationError, Model, ValidationError, field, gcpause, primary
from ormer.gcpause import GC_PAUSE_MIN_ITEMS
from ormer.model import table_of
from ormer.validation import validate_batch


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
        rows = validate_batch(batch, table_of(VItem))
        attrs = [f.attr for f in table_of(VItem).fields]
        assert rows == [tuple(o.__dict__[a] for a in attrs) for o in batch]
    else:
        with pytest.raises(ValidationError) as info:
            validate_batch(batch, table_of(VItem))
        assert str(info.value) == expected


def test_missing_attribute() -> None:
    obj = good()
    del obj.__dict__["opt"]  # nullable: validated as None, written as NULL
    assert validate_batch([obj], table_of(VItem))[0][-1] is None
    del obj.__dict__["n"]
    with pytest.raises(ValidationError, match="not nullable"):
        validate_batch([obj], table_of(VItem))


class Other(Model, table="v_other"):
    id: int = primary()


@pytest.mark.parametrize("position", [0, 1, 2])
def test_every_object_must_be_of_the_first_ones_model(position: int) -> None:
    batch: list[Any] = [good(), good(), good()]
    batch[position] = Other(id=1)
    first = type(batch[0]).__name__
    with pytest.raises(ConfigurationError, match=f"one model: {first} and"):
        validate_batch(batch, table_of(type(batch[0])))
    batch[position] = "not a model"
    if position:
        with pytest.raises(ConfigurationError, match="takes model objects, not 'not a model'"):
            validate_batch(batch, table_of(VItem))


def test_large_batches_run_with_the_collector_paused_and_restore_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = table_of(VItem)
    batch = [good(n=i) for i in range(3000)]  # 3000 tuples: several collections if not paused
    # The pause is checked through the calls it makes, not through gc.callbacks: the
    # collector's switch is process-wide, so a thread elsewhere in the test run (another
    # pause ending, say) may switch it back on and let a collection run meanwhile.
    calls: list[str] = []

    class RecordingGC:
        def isenabled(self) -> bool:
            return gc.isenabled()

        def disable(self) -> None:
            calls.append("disable")
            gc.disable()

        def enable(self) -> None:
            calls.append("enable")
            gc.enable()

    monkeypatch.setattr(gcpause, "gc", RecordingGC())
    rows = validate_batch(batch, info)
    assert calls == ["disable", "enable"]
    assert [r[1] for r in rows] == list(range(3000))
    assert gc.isenabled()
    batch[-1].__dict__["n"] = "bad"
    with pytest.raises(ValidationError):
        validate_batch(batch, info)
    assert gc.isenabled()  # restored after a failure too
    assert len(validate_batch(batch[: GC_PAUSE_MIN_ITEMS - 1], info)) == GC_PAUSE_MIN_ITEMS - 1


def test_large_batches_are_validated_in_slices_collecting_the_young_generation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = table_of(VItem)
    size = gcpause.GC_SLICE_ITEMS
    n = 3 * size + 5  # four slices, three collections between them
    collections: list[int] = []
    monkeypatch.setattr(gcpause, "_collect", lambda generation: collections.append(generation))
    batch = [good(n=i) for i in range(n)]
    rows = validate_batch(batch, info)
    assert [r[1] for r in rows] == list(range(n))  # every row, in order, once
    assert collections == [0, 0, 0]
    assert gc.isenabled()
    # the first bad value is the one reported, whichever slice it is in
    batch[size + 1].__dict__["n"] = "first"
    batch[-1].__dict__["t"] = 5
    with pytest.raises(ValidationError, match="'first'"):
        validate_batch(batch, info)
    batch[size + 1].__dict__["n"] = 1
    with pytest.raises(ValidationError, match=r"VItem\.t"):
        validate_batch(batch, info)
    assert gc.isenabled()
    # the application's collector switched off: left off, nothing collected
    collections.clear()
    batch[-1].__dict__["t"] = "x"
    gc.disable()
    try:
        assert len(validate_batch(batch, info)) == n
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert collections == []


def test_the_first_error_of_a_batch_is_raised_whatever_comes_after() -> None:
    info = table_of(VItem)
    # an int for a float is accepted by the field validator (not the inline test)
    batch: list[Any] = [good(n=0), good(n=1, f=1), good(n="bad"), Other(id=1)]
    with pytest.raises(ValidationError, match="'bad'"):
        validate_batch(batch, info)
    batch[2] = good(n=2)
    with pytest.raises(ConfigurationError, match="one model: VItem and Other"):
        validate_batch(batch, info)
    del batch[3]
    del batch[0].__dict__["opt"]  # a missing nullable value: None
    rows = validate_batch(batch, info)
    assert [r[1] for r in rows] == [0, 1, 2]
    assert rows[0][-1] is None and rows[1][4] == 1

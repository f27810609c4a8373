"""Row converters (``ormer.hydrate``), without a database: rows in, objects out."""

from __future__ import annotations

import datetime
import gc
from typing import Any

import pytest

import ormer.plugins
from ormer import Model, primary, table_of
from ormer.gcpause import GC_PAUSE_MIN_ITEMS
from ormer.hydrate import make_converter, make_named_converter


class Event(Model, table="hydrate_events"):
    id: int = primary()
    name: str
    at: datetime.datetime | None = None


def _rows(n: int, at: Any = None) -> list[tuple[Any, ...]]:
    return [(i, f"e{i}", at) for i in range(n)]


@pytest.fixture
def convert() -> Any:
    return make_converter((table_of(Event),), ormer.plugins.get_dialect("sqlite"))


@pytest.mark.parametrize("n", [0, 1, GC_PAUSE_MIN_ITEMS - 1, GC_PAUSE_MIN_ITEMS, 3000])
def test_converts_every_row_small_or_large(convert: Any, n: int) -> None:
    objects = convert(_rows(n))
    assert objects == [Event(id=i, name=f"e{i}", at=None) for i in range(n)]
    assert gc.isenabled()


def _with_loader(loader: Any) -> Any:
    """A converter for Event on a SQLite dialect whose datetime loader is ``loader``."""
    base = type(ormer.plugins.get_dialect("sqlite"))
    datetime_kind = table_of(Event).fields[2].type.kind

    class LoaderDialect(base):  # type: ignore[misc,valid-type]
        def column_loader(self, ct: Any) -> Any:
            return loader if ct.kind is datetime_kind else None

    return make_converter((table_of(Event),), LoaderDialect())


def test_large_result_pauses_gc_and_restores_it() -> None:
    seen: list[bool] = []

    def spy(value: Any) -> Any:
        seen.append(gc.isenabled())
        return value

    convert = _with_loader(spy)
    convert(_rows(GC_PAUSE_MIN_ITEMS, "2026-11-25"))
    assert len(seen) == GC_PAUSE_MIN_ITEMS and not any(seen)  # paused throughout
    assert gc.isenabled()
    seen.clear()
    convert(_rows(3, "2026-11-25"))
    assert seen == [True, True, True]  # small results leave the collector alone


def test_gc_is_restored_when_a_loader_raises() -> None:
    def fail(value: Any) -> Any:
        raise ValueError(f"bad value {value!r}")

    with pytest.raises(ValueError, match="bad value"):
        _with_loader(fail)(_rows(GC_PAUSE_MIN_ITEMS, "x"))
    assert gc.isenabled()


def test_gc_left_disabled_when_the_caller_disabled_it(convert: Any) -> None:
    gc.disable()
    try:
        assert len(convert(_rows(GC_PAUSE_MIN_ITEMS))) == GC_PAUSE_MIN_ITEMS
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_named_converter_maps_by_column_name_with_defaults() -> None:
    dialect = ormer.plugins.get_dialect("sqlite")
    convert = make_named_converter(table_of(Event), ["name", "id", "extra"], dialect)
    rows = [(f"e{i}", i, "ignored") for i in range(GC_PAUSE_MIN_ITEMS)]
    objects = convert(rows)
    assert objects[:2] == [Event(id=0, name="e0"), Event(id=1, name="e1")]
    assert len(objects) == GC_PAUSE_MIN_ITEMS
    assert gc.isenabled()


def test_objects_read_back_share_their_class_key_table(convert: Any) -> None:
    """Rows become attributes stored in field order (no dict of keys per object):
    the objects are what ``__init__`` builds, and the same size as those objects."""
    import sys

    read = convert(_rows(50))
    made = [Event(id=i, name=f"e{i}", at=None) for i in range(50)]
    assert read == made
    assert list(vars(read[7])) == ["id", "name", "at"]
    assert vars(read[7]) == {"id": 7, "name": "e7", "at": None}
    # a split (shared-key) __dict__ is smaller than a dict with keys of its own
    own = {"id": 7, "name": "e7", "at": None}
    assert sys.getsizeof(vars(read[7])) < sys.getsizeof(own)
    read[7].name = "changed"
    assert read[7].name == "changed" and read[8].name == "e8"


class Audited(Model, table="hydrate_audited"):
    id: int = primary()
    name: str

    def __setattr__(self, attr: str, value: Any) -> None:
        self.__dict__.setdefault("_changed", []).append(attr)
        object.__setattr__(self, attr, value)


def test_a_model_with_its_own_setattr_reads_back_without_calling_it() -> None:
    convert = make_converter((table_of(Audited),), ormer.plugins.get_dialect("sqlite"))
    (obj,) = convert([(1, "a")])
    assert vars(obj) == {"id": 1, "name": "a"}  # no _changed: __setattr__ not called
    obj.name = "b"
    assert vars(obj)["_changed"] == ["name"]

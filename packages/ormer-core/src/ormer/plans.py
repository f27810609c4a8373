"""Typed execution plans and the bounded caches that keep them, per dialect.

What a statement needs at run time is worked out once per *shape* and kept:

* :class:`~ormer.compiler.Compiled` — a SELECT/UPDATE/DELETE compiled by shape
  (SQL and where each placeholder's value comes from), with the row converters
  of a select; cached in ``dialect.cache`` by the statement's shape key.
* :class:`FindPlan` — ``find(Model, pk)``: SQL, the key position and dumper of
  each placeholder, the row converter; one per model class.
* :class:`InsertPlan` — an INSERT of a given width and row count: SQL and the
  dumper of each column; keyed by :class:`InsertKey`.
* raw SQL mapped onto a model (``exec_table``): the row converter for a result's
  column names; keyed by :class:`RawKey`.

Each cache holds one kind of plan under one kind of key, so nothing needs a
cast or an ``Any`` to read it back.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    from .dialect import Dumper
    from .hydrate import RowsConverter
    from .model import Model

__all__ = ["FindPlan", "InsertKey", "InsertPlan", "PlanCache", "RawKey"]

K = TypeVar("K", bound=Hashable)
P = TypeVar("P")


class PlanCache(Generic[K, P]):
    """Plans by key, bounded: past ``maxsize`` the oldest eighth is dropped."""

    __slots__ = ("_data", "hits", "maxsize", "misses")

    def __init__(self, maxsize: int = 2048) -> None:
        self._data: dict[K, P] = {}
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> P | None:
        return self._data.get(key)

    def put(self, key: K, plan: P) -> None:
        data = self._data
        if len(data) >= self.maxsize:
            for old in list(data)[: self.maxsize // 8 or 1]:
                del data[old]
        data[key] = plan

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


class FindPlan:
    """``find(Model, pk)``: its SQL; per placeholder, the key position (-1 for the
    LIMIT, whose value is 1) and dumper; the row converter (for one row: no pause of
    the garbage collector to consider).

    ``key_type``: a one-column key's Python type (None for a composite key): a key of
    exactly that type takes :meth:`one_key_params`.
    """

    __slots__ = ("_layout", "convert", "key_type", "slots", "sql")

    def __init__(
        self,
        sql: str,
        slots: tuple[tuple[int, Dumper | None], ...],
        convert: RowsConverter,
        key_type: type | None = None,
    ) -> None:
        self.sql = sql
        self.slots = slots
        self.convert = convert
        self.key_type = key_type
        # the parameters of a one-column key, when no value needs a dumper
        sources = tuple(source for source, dump in slots if dump is None)
        self._layout = sources if len(sources) == len(slots) else None

    def params(self, keys: tuple[Any, ...]) -> list[Any]:
        """The parameter list for primary-key values ``keys``."""
        out = []
        for source, dump in self.slots:
            value = keys[source] if source >= 0 else 1
            out.append(value if dump is None else dump(value))
        return out

    def one_key_params(self, key: Any) -> list[Any]:
        """The parameter list for a one-column key (the common lookup)."""
        layout = self._layout
        if layout == (0, -1):  # WHERE key = ? LIMIT ?
            return [key, 1]
        if layout == (0,):  # a LIMIT written into the SQL
            return [key]
        return self.params((key,))


class InsertKey(NamedTuple):
    """What an INSERT's SQL and dumpers depend on."""

    model: type[Model]  # the dumpers come from its field types
    table: str
    columns: tuple[str, ...]
    rows: int
    returning: tuple[str, ...]
    upsert: bool
    conflict: tuple[str, ...]


class InsertPlan:
    """An INSERT: its SQL and the dumper of each column (applied to every row)."""

    __slots__ = ("dumpers", "sql")

    def __init__(self, sql: str, dumpers: tuple[Dumper | None, ...]) -> None:
        self.sql = sql
        self.dumpers = dumpers


class RawKey(NamedTuple):
    """``exec_table``'s converter depends on the model and the result's column names."""

    model: type[Model]
    names: tuple[str, ...]

"""The Turso dialect: SQLite's SQL rules (ormer-sqlite's dialect, subclassed), Turso's
URLs, and two variants chosen per connection by the file's journal mode.

* :class:`TursoDialect`: a file in WAL mode (the default). One writer at a time, as
  on SQLite: a pool serialises writes and transactions (``serialize_writes``).
* :class:`TursoMVCCDialect`: a file in MVCC mode (``journal_mode="mvcc"``).
  ``transaction(mode="concurrent")`` issues ``BEGIN CONCURRENT``; a pool runs such
  transactions concurrently (other writes still take its write gate: a plain
  deferred transaction cannot upgrade past a concurrent writer), and a write-write
  conflict raises
  :class:`ormer.errors.WriteConflictError` (a ``TransientError``: retry it).

Each connection's driver reports its variant (``server_dialect``), so a pool
learns it when built. Storage of the portable types is SQLite's (see
``ormer_sqlite.dialect``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ormer.dialect import URL
from ormer.driver import DriverConnection
from ormer.errors import ConfigurationError
from ormer.expr import Like
from ormer_sqlite.dialect import SQLiteCompiler, SQLiteDialect

__all__ = ["TursoCompiler", "TursoDialect", "TursoMVCCDialect"]

_SCHEMES = ("turso", "libsql")
_EXAMPLES = "turso:///relative.db, turso:////absolute.db or turso:///:memory:"


def _glob_escaped(char: str) -> str:
    return f"[{char}]" if char in "[*?" else char


class TursoCompiler(SQLiteCompiler):
    """Turso's LIKE ignores ``PRAGMA case_sensitive_like``: a case-sensitive LIKE is
    rendered as GLOB (case-sensitive) over the pattern translated in SQL: GLOB's own
    metacharacters quoted, ``%`` → ``*``, ``_`` → ``?``, escaped wildcards literal."""

    def visit_like(self, node: Like) -> str:
        if node.case_insensitive:
            return super().visit_like(node)
        pattern = self.operand(node.pattern)
        # 1. escaped characters (the escape doubled first: pairs scan left to right)
        marks: list[tuple[str, str]] = []
        if node.escape is not None:
            esc = node.escape
            marks = [(esc + esc, esc), (esc + "%", "%"), (esc + "_", "_")]
            for i, (seq, _) in enumerate(marks):
                pattern = _replace(pattern, self.string_literal(seq), f"char({i + 1})")
        # 2. GLOB's metacharacters, 3. the wildcards, 4. the escaped ones, as literals
        for old, new in (("[", "[[]"), ("*", "[*]"), ("?", "[?]"), ("%", "*"), ("_", "?")):
            pattern = _replace(pattern, self.string_literal(old), self.string_literal(new))
        for i, (_, literal) in enumerate(marks):
            glob = self.string_literal(_glob_escaped(literal))
            pattern = _replace(pattern, f"char({i + 1})", glob)
        operand = self.operand(node.operand)
        return f"{operand} {'NOT GLOB' if node.negate else 'GLOB'} {pattern}"


def _replace(sql: str, old: str, new: str) -> str:
    return f"REPLACE({sql}, {old}, {new})"


class TursoDialect(SQLiteDialect):
    """Turso (pyturso 0.8+), a file in WAL mode: SQLite's SQL, one writer at a time."""

    name = "turso"
    compiler_class = TursoCompiler
    supports_returning = True
    max_bind_params = 32766
    supports_nulls_order = True
    keeps_negative_zero = True
    # checked on pyturso 0.8: windows (ROWS/RANGE frames, lag/lead/ntile/first/last
    # value) and FILTER work; ROLLUP does not parse ("no such function: rollup")
    supports_aggregate_filter = True
    supports_window_functions = True
    group_by_rollup = None
    transaction_modes = frozenset({"deferred", "immediate", "exclusive"})
    serialize_writes = True
    reset_clears_session = False  # reset() only rolls back
    # no FOR UPDATE: an immediate/exclusive transaction holds the file's write lock
    # (a "concurrent" one does not: it locks nothing until commit)
    supports_row_locks = False
    row_lock_transaction_modes = frozenset({"immediate", "exclusive"})
    has_server_variants = True  # WAL or MVCC: the driver reports which
    #: the file's journal mode this variant is for
    journal_mode = "wal"

    def __init__(self) -> None:
        super().__init__()
        self._wal: TursoDialect = self  # the WAL dialect of this family
        self._mvcc: TursoMVCCDialect | None = None

    def variant(self, journal_mode: str) -> TursoDialect:
        """The shared dialect for a file in ``journal_mode`` ("wal" or "mvcc")."""
        wal = self._wal
        if journal_mode.lower() != "mvcc":
            return wal
        if wal._mvcc is None:
            mvcc = TursoMVCCDialect()
            mvcc._wal = wal
            wal._mvcc = mvcc
        return wal._mvcc

    @property
    def short_statements(self) -> dict[str, int]:
        """One set for both journal modes (they compile the same SQL): the WAL
        dialect's, which the MVCC variant's connections see too."""
        return super(TursoDialect, self._wal).short_statements

    @property
    def short_writes(self) -> set[str]:
        return super(TursoDialect, self._wal).short_writes

    def parse_target(self, target: str) -> URL:
        """A path, ``:memory:``, ``turso:///relative``, ``turso:////absolute`` (or ``libsql://``)."""
        if "://" not in target:
            return dataclasses.replace(super().parse_target(target), scheme="turso")
        scheme, _, rest = target.partition("://")
        scheme = scheme.lower()
        if scheme not in _SCHEMES:
            raise ConfigurationError(f"not a Turso URL: {target!r}; use {_EXAMPLES}")
        if rest and not rest.startswith("/") and rest != ":memory:":
            raise ConfigurationError(
                f"Turso URL {target!r} names a remote host; ormer-turso opens local database "
                f"files only (a remote Turso/libsql server is not supported yet): use {_EXAMPLES}"
            )
        url = super().parse_target(f"sqlite://{rest}")
        return dataclasses.replace(url, scheme=scheme, raw=target)

    async def connect(self, url: URL, options: dict[str, Any]) -> DriverConnection:
        from .driver import TursoDriver

        assert url.database is not None
        return await TursoDriver.open(url.database, {**url.query, **options}, self)


class TursoMVCCDialect(TursoDialect):
    """A Turso file in MVCC mode: ``BEGIN CONCURRENT`` and concurrent writers."""

    transaction_modes = frozenset({"deferred", "immediate", "exclusive", "concurrent"})
    concurrent_transaction_modes = frozenset({"concurrent"})
    journal_mode = "mvcc"

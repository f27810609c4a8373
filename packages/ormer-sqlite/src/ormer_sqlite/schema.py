"""SQLite (and Turso) schema introspection and the table rebuild's foreign-key handling.

``inspect_table`` reads ``PRAGMA table_xinfo`` / ``index_list`` / ``index_info`` /
``foreign_key_list`` and the table's ``CREATE TABLE`` text from ``sqlite_master``:
the text gives each column's declared type with its parameters (Turso's pragma drops
them: ``VARCHAR`` for ``VARCHAR(20)``), whether an integer key is the rowid
(``INTEGER PRIMARY KEY``: auto-increment) and the names of unique constraints, whose
indexes SQLite names ``sqlite_autoindex_<table>_<n>``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ormer.errors import MigrationError
from ormer.migrations.live import LiveColumn, LiveTable
from ormer.migrations.schema import ForeignKeySchema, IndexSchema

if TYPE_CHECKING:
    from ormer.connection import Connection
    from ormer.dialect import Dialect

__all__ = [
    "RebuildToken",
    "inspect_sqlite_table",
    "parse_create_table",
    "rebuild_check",
    "rebuild_guard",
    "rebuild_release",
]

_CONSTRAINT_START = re.compile(r"^(CONSTRAINT|PRIMARY|UNIQUE|FOREIGN|CHECK)\b", re.IGNORECASE)
_COLUMN_KEYWORD = re.compile(
    r"\b(CONSTRAINT|PRIMARY|NOT|NULL|UNIQUE|CHECK|DEFAULT|COLLATE|REFERENCES|GENERATED|AS)\b",
    re.IGNORECASE,
)
_NAMED_UNIQUE = re.compile(r"^CONSTRAINT\s+(\S+)\s+UNIQUE\s*\((.*)\)\s*$", re.IGNORECASE | re.S)
_QUOTES = {'"': '"', "`": "`", "[": "]", "'": "'"}


def _split(body: str) -> list[str]:
    """Split a definition list on its top-level commas (quotes and parentheses kept)."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(body):
        ch = body[i]
        if ch in _QUOTES:
            close = _QUOTES[ch]
            i += 1
            while i < len(body):
                if body[i] == close:
                    if close != "]" and i + 1 < len(body) and body[i + 1] == close:
                        i += 2
                        continue
                    break
                i += 1
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
        i += 1
    parts.append(body[start:].strip())
    return [p for p in parts if p]


def _identifier(text: str) -> tuple[str, str]:
    """The leading identifier of ``text`` (unquoted) and the rest."""
    text = text.lstrip()
    if text and text[0] in _QUOTES:
        close = _QUOTES[text[0]]
        i = 1
        out = []
        while i < len(text):
            if text[i] == close:
                if close != "]" and i + 1 < len(text) and text[i + 1] == close:
                    out.append(close)
                    i += 2
                    continue
                return "".join(out), text[i + 1 :]
            out.append(text[i])
            i += 1
        return "".join(out), ""
    m = re.match(r"[^\s(]+", text)
    end = m.end() if m else 0
    return text[:end], text[end:]


def parse_create_table(
    sql: str,
) -> tuple[dict[str, tuple[str, bool]], list[tuple[str, tuple[str, ...]]]]:
    """From a ``CREATE TABLE`` statement: ``{column: (declared type, inline PRIMARY
    KEY)}`` and the named unique constraints ``[(name, columns)]``."""
    body = sql[sql.index("(") + 1 : sql.rindex(")")]
    columns: dict[str, tuple[str, bool]] = {}
    uniques: list[tuple[str, tuple[str, ...]]] = []
    for part in _split(body):
        if _CONSTRAINT_START.match(part):
            m = _NAMED_UNIQUE.match(part)
            if m:
                name, _ = _identifier(m.group(1))
                cols = tuple(_identifier(c)[0] for c in _split(m.group(2)))
                uniques.append((name, cols))
            continue
        name, rest = _identifier(part)
        keyword = _COLUMN_KEYWORD.search(rest)
        declared = (rest[: keyword.start()] if keyword else rest).strip()
        columns[name] = (declared, bool(re.search(r"\bPRIMARY\s+KEY\b", rest, re.IGNORECASE)))
    return columns, uniques


async def _rows(conn: Connection, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    return list(await conn._fetch(sql, params))


async def inspect_sqlite_table(dialect: Dialect, conn: Connection, table: str) -> LiveTable | None:
    """The table as SQLite has it (None: no such table)."""
    master = await _rows(
        conn, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    )
    if not master:
        return None
    declared, named_uniques = parse_create_table(master[0][0])
    q = dialect.quote(table)
    info = await _rows(conn, f"PRAGMA table_xinfo({q})")
    pk = sorted((int(r[5]), r[1]) for r in info if int(r[5]) > 0)
    primary_key = tuple(name for _, name in pk)
    columns = []
    for _cid, name, pragma_type, notnull, default, pk_pos, hidden in info:
        if hidden:
            continue  # a generated or virtual-table hidden column: not ormer's
        ddl, inline_pk = declared.get(name, (pragma_type, False))
        ddl = dialect.normalize_type(ddl or pragma_type)
        auto = bool(pk_pos) and len(primary_key) == 1 and inline_pk and ddl == "INTEGER"
        columns.append(
            LiveColumn(
                name=name,
                type=ddl,
                nullable=not notnull and not auto,
                default=None if default is None else dialect.normalize_default(str(default)),
                primary=bool(pk_pos),
                auto=auto,
            )
        )
    indexes = []
    for _seq, name, unique, origin, *_ in await _rows(conn, f"PRAGMA index_list({q})"):
        if origin == "pk":
            continue
        cols = tuple(
            r[2]
            for r in sorted(
                await _rows(conn, f"PRAGMA index_info({dialect.quote(name)})"),
                key=lambda r: int(r[0]),
            )
        )
        if origin == "u":
            name = next((n for n, c in named_uniques if c == cols), name)
        indexes.append(IndexSchema(name, cols, unique=bool(unique)))
    groups: dict[int, list[Any]] = {}
    for row in await _rows(conn, f"PRAGMA foreign_key_list({q})"):
        groups.setdefault(int(row[0]), []).append(row)
    fks = []
    for rows in groups.values():
        rows.sort(key=lambda r: int(r[1]))
        on_delete = str(rows[0][6]).lower()
        fks.append(
            ForeignKeySchema(
                f"fk_{table}_{'_'.join(r[3] for r in rows)}",
                tuple(r[3] for r in rows),
                rows[0][2],
                tuple(r[4] for r in rows),
                None if on_delete in ("no action", "none", "") else on_delete,
            )
        )
    return LiveTable(
        name=table,
        columns=tuple(columns),
        primary_key=primary_key,
        indexes=tuple(sorted(indexes, key=lambda i: i.name)),
        foreign_keys=tuple(fks),
    )


class RebuildToken:
    """What a rebuild's guard found: foreign keys were on (turned off), the table's
    triggers (``DROP TABLE`` drops them: recreated before commit)."""

    __slots__ = ("foreign_keys", "triggers")

    def __init__(self, foreign_keys: bool, triggers: list[str]) -> None:
        self.foreign_keys = foreign_keys
        self.triggers = triggers


async def rebuild_guard(conn: Connection, table: str) -> RebuildToken:
    """SQLite's rebuild procedure, step 1: foreign-key enforcement off (outside any
    transaction: the pragma is a no-op inside one); the table's triggers saved.

    Inside a transaction enforcement cannot be turned off: a rebuild of a table that
    other tables reference would then cascade or fail on the old table's drop, so it
    is refused (MigrationError) before anything runs."""
    triggers = [
        str(r[0])
        for r in await _rows(
            conn, "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", (table,)
        )
        if r[0]
    ]
    on = bool((await _rows(conn, "PRAGMA foreign_keys"))[0][0])
    if not on:
        return RebuildToken(False, triggers)
    if not conn.in_transaction:
        await conn._control("PRAGMA foreign_keys = OFF")
        return RebuildToken(True, triggers)
    tables = await _rows(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")
    for (name,) in tables:
        refs = await _rows(conn, f"PRAGMA foreign_key_list({conn.dialect.quote(name)})")
        if name != table and any(r[2] == table for r in refs):
            raise MigrationError(
                f"{table}: rebuilding it inside a transaction while table {name} references "
                "it needs foreign keys off, which SQLite allows only outside transactions: "
                "migrate it outside a transaction"
            )
    return RebuildToken(False, triggers)


async def rebuild_check(conn: Connection, table: str, token: RebuildToken) -> None:
    """SQLite's rebuild procedure, steps 8 and 10: the triggers recreated, then
    ``PRAGMA foreign_key_check`` before commit."""
    for sql in token.triggers:
        await conn._control(sql)
    if not token.foreign_keys:
        return
    broken = await _rows(conn, "PRAGMA foreign_key_check")
    if broken:
        first = broken[0]
        raise MigrationError(
            f"{table}: the rebuilt table breaks {len(broken)} foreign key reference(s) "
            f"(first: table {first[0]} row {first[1]} -> {first[2]}); rolled back"
        )


async def rebuild_release(conn: Connection, token: RebuildToken | None) -> None:
    """After the rebuild's transaction: foreign keys back on if they were, and the
    rename's ``legacy_alter_table`` off (set by the rebuild's statements)."""
    await conn._control("PRAGMA legacy_alter_table = OFF")
    if token is not None and token.foreign_keys:
        await conn._control("PRAGMA foreign_keys = ON")

"""Operation and collection names parsed from a statement's text, cached per text.

ormer sends parameterized SQL whose text repeats per query shape, so a bounded
cache keyed by the text makes the parse a dictionary hit after the first time.
The parser is a small tokenizer, not a SQL grammar: it reads the first keyword
(the operation) and the tables named at the top level after FROM, JOIN, INTO,
UPDATE, TABLE and similar keywords. A collection is reported only when the
statement names exactly one table at its top level (a join or a comma list
names several: the OpenTelemetry conventions then leave ``db.collection.name``
unset); subqueries (inside parentheses) are not looked into.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["ParsedSQL", "parse_sql"]

# statement texts remembered (ormer's text repeats per query shape, not per value)
CACHE_SIZE = 2048

_TOKEN = re.compile(
    r"""
    \s+                                 # whitespace
  | --[^\n]*                            # line comment
  | /\*.*?\*/                           # block comment
  | '(?:[^']|'')*'                      # string literal
  | "(?P<dq>(?:[^"]|"")*)"              # "quoted identifier"
  | `(?P<bq>(?:[^`]|``)*)`              # `quoted identifier`
  | \[(?P<sq>[^\]]*)\]                  # [quoted identifier]
  | (?P<word>[A-Za-z_][A-Za-z_0-9$]*)   # keyword or bare identifier
  | (?P<punct>[().,;])
  | [^\s]                               # anything else (operators, placeholders)
    """,
    re.VERBOSE | re.DOTALL,
)

# keywords after which a table name follows
_TABLE_BEFORE = frozenset({"FROM", "JOIN", "INTO", "TABLE"})
# operations whose statement produces a result set (for db.response.returned_rows)
_READS = frozenset({"SELECT", "VALUES", "SHOW", "PRAGMA", "EXPLAIN", "DESCRIBE", "TABLE"})
# words that may sit between FROM/TABLE/INTO and the table name
_SKIP_BEFORE_NAME = frozenset(
    {"IF", "NOT", "EXISTS", "ONLY", "LATERAL", "IGNORE", "LOW_PRIORITY", "TEMPORARY", "TEMP"}
)
# the main statement after WITH ... AS (...)
_MAIN = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "MERGE", "VALUES"})
# words that end a table reference (a bare word after a table is otherwise its alias)
_CLAUSES = frozenset(
    {
        "WHERE", "GROUP", "ORDER", "LIMIT", "OFFSET", "HAVING", "WINDOW", "UNION",
        "INTERSECT", "EXCEPT", "FOR", "ON", "USING", "SET", "VALUES", "SELECT",
        "RETURNING", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS", "NATURAL",
        "OUTER", "DEFAULT", "FETCH", "LOCK", "AS", "ADD", "DROP", "ALTER", "RENAME",
        "OVERRIDING", "PARTITION", "STRAIGHT_JOIN", "USE", "FORCE", "TABLESAMPLE",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParsedSQL:
    """What a statement's text says: its operation, its one table, and whether
    it returns rows (a read, or a write with RETURNING)."""

    operation: str | None
    collection: str | None
    returns_rows: bool


def _tokens(sql: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: kind is ``word`` (upper-cased), ``name`` (a quoted
    identifier, unquoted), ``punct`` or ``other``; whitespace and comments dropped."""
    out: list[tuple[str, str]] = []
    for m in _TOKEN.finditer(sql):
        if m.group("word") is not None:
            out.append(("word", m.group("word")))
        elif m.group("dq") is not None:
            out.append(("name", m.group("dq").replace('""', '"')))
        elif m.group("bq") is not None:
            out.append(("name", m.group("bq").replace("``", "`")))
        elif m.group("sq") is not None:
            out.append(("name", m.group("sq")))
        elif m.group("punct") is not None:
            out.append(("punct", m.group("punct")))
        elif not m.group().isspace() and not m.group().startswith(("--", "/*")):
            out.append(("other", m.group()))
    return out


def _name_at(tokens: list[tuple[str, str]], i: int) -> tuple[str | None, int]:
    """The (possibly schema-qualified) table name starting at ``i``, and the index after it."""
    while i < len(tokens) and tokens[i][0] == "word" and tokens[i][1].upper() in _SKIP_BEFORE_NAME:
        i += 1
    parts: list[str] = []
    while i < len(tokens):
        kind, text = tokens[i]
        if kind == "name" or (kind == "word" and (parts or text.upper() not in _CLAUSES)):
            parts.append(text)
            i += 1
            if i < len(tokens) and tokens[i] == ("punct", "."):
                i += 1
                continue
        break
    return (".".join(parts) if parts else None), i


def _skip_alias(tokens: list[tuple[str, str]], i: int) -> int:
    """The index after a table's alias (a bare alias: ``AS alias`` ends at ``AS``)."""
    if i < len(tokens):
        kind, text = tokens[i]
        if kind == "name" or (kind == "word" and text.upper() not in _CLAUSES):
            return i + 1
    return i


@lru_cache(maxsize=CACHE_SIZE)
def parse_sql(sql: str) -> ParsedSQL:
    """Parse ``sql`` (cached: the same text is parsed once)."""
    tokens = _tokens(sql)
    if not tokens or tokens[0][0] != "word":
        return ParsedSQL(None, None, False)
    operation = tokens[0][1].upper()
    start = 1
    ctes: set[str] = set()
    if operation == "WITH":  # the main statement follows the CTEs, at depth 0
        depth = 0
        for i, (kind, text) in enumerate(tokens[1:], 1):
            if kind == "punct" and text in "()":
                depth += 1 if text == "(" else -1
            elif depth == 0 and kind == "word" and text.upper() == "AS":
                ctes.add(tokens[i - 1][1])
            elif depth == 0 and kind == "word" and text.upper() in _MAIN:
                operation, start = text.upper(), i + 1
                break
    tables: set[str] = set()
    if operation == "UPDATE":  # UPDATE [ONLY] table SET ...
        name, start = _name_at(tokens, start)
        if name is not None:
            tables.add(name)
    returning = False
    depth = 0
    i = start
    while i < len(tokens):
        kind, text = tokens[i]
        i += 1
        if kind == "punct":
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
            continue
        if depth or kind != "word":
            continue
        upper = text.upper()
        if upper == "RETURNING":
            returning = True
        elif upper in _TABLE_BEFORE or (upper == "ON" and operation == "CREATE"):
            name, i = _name_at(tokens, i)
            if name is None:
                continue
            tables.add(name)
            # an alias, then "," and another table: several tables
            i = _skip_alias(tokens, i)
            while i < len(tokens) and tokens[i] == ("punct", ",") and upper == "FROM":
                more, i = _name_at(tokens, i + 1)
                if more is not None:
                    tables.add(more)
                i = _skip_alias(tokens, i)
    tables -= ctes
    collection = next(iter(tables)) if len(tables) == 1 else None
    return ParsedSQL(operation, collection, operation in _READS or returning)

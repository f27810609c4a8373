"""Docstrings and docs point only to documents users have.

Users get this repository (and the packages built from it), not the project's
design notes: a docstring that says "see DESIGN §3" or "the seed's chapter"
points nowhere. Every such reference names a page of docs/ instead.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: names of documents that are not in the repository
MISSING = re.compile(r"DESIGN(\.md| §)|ARCHITECTURE\.md|\.\./shared|(?i:\bthe seed\b|seed's)")


def _files() -> list[Path]:
    sources = sorted((ROOT / "packages").glob("*/src/**/*.py"))
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    pages += sorted((ROOT / "packages").glob("*/README.md"))
    return sources + pages


def test_the_files_are_found() -> None:
    names = {p.name for p in _files()}
    assert {"pool.py", "query.py", "plugins.md", "README.md"} <= names


def test_no_reference_to_a_document_users_do_not_have() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _files()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if MISSING.search(line)
    ]
    assert found == [], "\n".join(found)

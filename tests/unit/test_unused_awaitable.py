"""A write built but never awaited is caught statically by mypy's ``unused-awaitable``.

The builders are awaitable (``__await__``), so a type checker with that error code
enabled reports ``db.insert(user)`` standing alone. docs/writes.md tells users to
enable it; this test proves the setting catches every write builder and nothing else.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SNIPPET = """\
from ormer import Connection, Model, Pool, primary


class User(Model, table="users"):
    id: int = primary(auto=True)
    name: str


async def handler(db: Connection, pool: Pool, user: User) -> None:
    db.insert(user)  # MISSING
    db.insert_or_update([user])  # MISSING
    db.update(User).filter(User.id == 1).set(User.name, "x")  # MISSING
    db.delete(User).filter(User.id == 1)  # MISSING
    db.update(user)  # MISSING
    db.delete(user)  # MISSING
    pool.insert(user)  # MISSING
    pool.delete(user)  # MISSING
    await db.insert(user)
    await db.update(user)
    await pool.update(User).filter(User.id == 2).set(User.name, "y").execute()
    removed = await db.delete(User).filter(User.id == 2)
    query = db.delete(User).filter(User.id == 3)
    await query
    print(removed)
"""


def test_mypy_reports_every_unawaited_write(tmp_path: Path) -> None:
    source = tmp_path / "service.py"
    source.write_text(SNIPPET)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--enable-error-code",
            "unused-awaitable",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    flagged = {
        int(m.group(1))
        for m in re.finditer(r"service\.py:(\d+): error: .*\[unused-awaitable\]", result.stdout)
    }
    expected = {i for i, line in enumerate(SNIPPET.splitlines(), 1) if "# MISSING" in line}
    assert len(expected) == 8
    assert flagged == expected, result.stdout
    # nothing else is reported: the snippet is otherwise --strict clean
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == len(expected), result.stdout

"""Running versioned migrations against a database: upgrade, downgrade, history,
``upgrade --sql``, check and make (what ``ormer migrations`` calls).

Upgrade and downgrade run under ``Dialect.migration_lock(conn)`` (an advisory lock
on PostgreSQL, ``GET_LOCK`` on MySQL/MariaDB, an exclusive transaction on SQLite
and Turso) and read the history inside it, so a second process waits, then finds
the revisions applied and does nothing. Each revision runs in its own transaction
together with its history row where DDL is transactional (inside SQLite's
exclusive transaction that is a savepoint); on MySQL/MariaDB the row is written
right after the revision's statements, which commit one by one: a failure midway
leaves the statements that completed applied and the revision not recorded.
A failing revision stops the run; the revisions before it stay applied.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import MigrationError
from .autogen import diff_state, models_state, write_migration
from .files import Step, load_chain, replay
from .ops import Operation

if TYPE_CHECKING:
    from ..connection import Connection
    from ..model import Model
    from .records import MigrationRecord

__all__ = [
    "RevisionStatus",
    "check",
    "downgrade",
    "history",
    "make",
    "upgrade",
    "upgrade_sql",
]


@dataclass(frozen=True)
class RevisionStatus:
    """A revision of the chain with its history row (None: pending)."""

    step: Step
    record: MigrationRecord | None

    @property
    def applied(self) -> bool:
        return self.record is not None


def _verify(steps: Sequence[Step], records: Sequence[MigrationRecord]) -> int:
    """Check the history against the files; return how many revisions are applied
    (always a prefix of the chain)."""
    by_id = {s.revision.revision: s for s in steps}
    for rec in records:
        step = by_id.get(rec.revision)
        if step is None:
            raise MigrationError(
                f"revision {rec.revision} ({rec.message!r}) is applied but no migration file "
                "defines it"
            )
        if step.revision.checksum != rec.checksum:
            raise MigrationError(
                f"{step.revision.path.name} was edited after it was applied (its checksum "
                "differs from the history's): revert the edit and write a new migration"
            )
    done = {r.revision for r in records}
    count = len(done)
    if {s.revision.revision for s in steps[:count]} != done:
        first = next(s for s in steps if s.revision.revision not in done)
        raise MigrationError(
            f"{first.revision.path.name} is not applied but later revisions are: the "
            "history does not follow the chain (was a file inserted into it?)"
        )
    return count


def _index(steps: Sequence[Step], revision: str) -> int:
    """The position of ``revision`` (an id, or a prefix of at least 4 characters)."""
    ids = [s.revision.revision for s in steps]
    if revision in ids:
        return ids.index(revision)
    found = [i for i, r in enumerate(ids) if len(revision) >= 4 and r.startswith(revision)]
    if len(found) == 1:
        return found[0]
    if found:
        raise MigrationError(f"revision prefix {revision!r} is ambiguous")
    raise MigrationError(f"no migration file has the revision {revision!r}")


async def _run_revision(conn: Connection, ops: Sequence[Operation], step: Step, up: bool) -> None:
    from .apply import apply_operations
    from .records import MigrationRecord

    async def body() -> None:
        await apply_operations(conn, ops)
        await conn.dialect.migration_check(conn)
        rev = step.revision
        if up:
            await conn.insert(
                MigrationRecord(
                    revision=rev.revision,
                    parent=rev.parent,
                    message=rev.message,
                    checksum=rev.checksum,
                )
            )
        else:
            await (
                conn.delete(MigrationRecord)
                .filter(MigrationRecord.revision == rev.revision)
                .execute()
            )

    if conn.dialect.transactional_ddl:
        async with conn.transaction():
            await body()
    else:
        await body()


#: a migrations folder
Folder = str | os.PathLike[str]

#: called with each revision once it is applied (or reverted)
Progress = Callable[[Step], None]


async def _migrate(
    conn: Connection,
    directory: Folder,
    target: str | None,
    up: bool,
    progress: Progress | None,
) -> list[Step]:
    from .records import applied, ensure_history

    steps = replay(load_chain(Path(directory)))
    done: list[Step] = []
    failure: MigrationError | None = None
    async with conn.dialect.migration_lock(conn):
        await ensure_history(conn)
        count = _verify(steps, await applied(conn))
        if up:
            stop = len(steps) if target in (None, "head") else _index(steps, target) + 1
            todo = [(s, s.upgrade) for s in steps[count:stop]]
        else:
            assert target is not None
            keep = 0 if target == "base" else _index(steps, target) + 1
            if keep > count:
                raise MigrationError(f"revision {target} is not applied: nothing to downgrade")
            todo = [(s, s.downgrade) for s in reversed(steps[keep:count])]
        for step, ops in todo:
            try:
                await _run_revision(conn, ops, step, up)
            except Exception as error:
                what = "upgrade" if up else "downgrade"
                kept = "before it stay applied" if up else "after it stay reverted"
                failure = MigrationError(
                    f"{step.revision.path.name}: {what} failed ({type(error).__name__}: "
                    f"{error}); the revisions {kept}"
                )
                failure.__cause__ = error
                break
            done.append(step)
            if progress is not None:
                progress(step)
    if failure is not None:
        raise failure
    return done


async def upgrade(
    conn: Connection,
    directory: Folder,
    target: str | None = None,
    progress: Progress | None = None,
) -> list[Step]:
    """Apply the pending revisions up to ``target`` (None or ``"head"``: all), in
    order; return those applied (``progress`` is called after each). A failing
    revision raises MigrationError; the ones before it stay applied."""
    return await _migrate(conn, directory, target, True, progress)


async def downgrade(
    conn: Connection,
    directory: Folder,
    target: str,
    progress: Progress | None = None,
) -> list[Step]:
    """Revert the applied revisions after ``target`` (``"base"``: all of them), newest
    first; ``target`` itself stays applied. Return those reverted."""
    return await _migrate(conn, directory, target, False, progress)


async def history(conn: Connection, directory: Folder) -> list[RevisionStatus]:
    """Every revision of the chain with its history row (None when pending)."""
    from .records import applied, has_history

    steps = replay(load_chain(Path(directory)))
    records = await applied(conn) if await has_history(conn) else []
    _verify(steps, records)
    by_id = {r.revision: r for r in records}
    return [RevisionStatus(s, by_id.get(s.revision.revision)) for s in steps]


async def upgrade_sql(conn: Connection, directory: Folder, target: str | None = None) -> list[str]:
    """The SQL ``upgrade`` would run for the pending revisions, rendered for ``conn``'s
    dialect from the migration files' state (nothing is executed; a ``op.run``
    step appears as a comment). Each revision starts with a ``-- revision`` comment."""
    from .apply import operations_sql

    statuses = await history(conn, directory)
    steps = [s.step for s in statuses]
    stop = len(steps) if target in (None, "head") else _index(steps, target) + 1
    lines: list[str] = []
    for status in statuses[:stop]:
        if status.applied:
            continue
        rev = status.step.revision
        lines.append(f"-- revision {rev.revision} ({rev.path.name}): {rev.message}")
        lines += operations_sql(conn.dialect, status.step.upgrade, status.step.before)
    return lines


def check(folder: Folder, models: Sequence[type[Model]]) -> list[Operation]:
    """The operations a new migration would need: empty when the models match the
    state the migration files build."""
    directory = Path(folder)
    steps = replay(load_chain(directory)) if directory.is_dir() else []
    state = steps[-1].after if steps else {}
    return diff_state(state, models_state(models))


def make(
    folder: Folder,
    message: str,
    models: Sequence[type[Model]],
    revision: str | None = None,
) -> Path | None:
    """Write a new migration file for the difference between the models and the
    files' state (None, and no file, when there is none). ``revision``: the new
    file's id (default: 12 random hex digits)."""
    directory = Path(folder)
    steps = replay(load_chain(directory)) if directory.is_dir() else []
    state = steps[-1].after if steps else {}
    parent = steps[-1].revision.revision if steps else None
    return write_migration(directory, parent, message, state, models_state(models), revision)

"""Migration files: loading a folder, ordering the chain, replaying it.

A migration file is ``<revision>_<slug>.py`` with module-level ``revision`` (str),
``parent`` (the previous revision, None for the first), ``message`` and two
functions ``upgrade(op)`` and ``downgrade(op)``. They may be plain ``def`` (what
autogenerate writes) or ``async def``: ``op``'s methods only record operations, so
an ``async def`` must not await anything else (use ``op.run(fn)`` for code that
talks to the database). The files form one linear chain: a fork (two files with
the same parent), a parent that no file defines, two roots or a cycle is a
:class:`~ormer.errors.MigrationError` naming the files.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MigrationError
from .opapi import Operations, State
from .ops import Operation

__all__ = ["Revision", "Step", "load_chain", "record", "replay"]

_FILE = re.compile(r"^([0-9A-Za-z]+)_\w*\.py$")


@dataclass(frozen=True)
class Revision:
    """One migration file: its id, parent, message, functions, path and the sha256 of
    its source text (``checksum``, recorded in the history when applied)."""

    revision: str
    parent: str | None
    message: str
    path: Path
    checksum: str
    upgrade: Callable[[Operations], Any] = field(repr=False, compare=False)
    downgrade: Callable[[Operations], Any] = field(repr=False, compare=False)


@dataclass(frozen=True)
class Step:
    """A revision with its recorded operations: ``upgrade`` (turning ``before`` into
    ``after``) and ``downgrade`` (turning ``after`` back)."""

    revision: Revision
    before: State
    after: State
    upgrade: tuple[Operation, ...]
    downgrade: tuple[Operation, ...]


def checksum(text: bytes) -> str:
    """The sha256 hex digest of a file's source."""
    return hashlib.sha256(text).hexdigest()


def _load(path: Path) -> Revision:
    source = path.read_bytes()
    name = f"_ormer_migration_{path.stem}_{checksum(source)[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py path always has one
        raise MigrationError(f"{path}: cannot be loaded")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise MigrationError(f"{path}: {type(error).__name__}: {error}") from error
    finally:
        sys.modules.pop(name, None)
    missing = [a for a in ("revision", "parent", "upgrade", "downgrade") if not hasattr(module, a)]
    if missing:
        raise MigrationError(f"{path}: a migration file needs {', '.join(missing)}")
    revision, parent = module.revision, module.parent
    if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
        raise MigrationError(f"{path}: revision must be a str and parent a str or None")
    if not path.name.startswith(revision + "_"):
        raise MigrationError(f"{path}: the file name must start with its revision ({revision}_...)")
    return Revision(
        revision=revision,
        parent=parent,
        message=str(getattr(module, "message", "")),
        path=path,
        checksum=checksum(source),
        upgrade=module.upgrade,
        downgrade=module.downgrade,
    )


def load_chain(directory: Path) -> list[Revision]:
    """The folder's migration files in chain order (first = the one without parent)."""
    if not directory.is_dir():
        raise MigrationError(f"{directory}: no such migrations folder")
    revisions = [_load(p) for p in sorted(directory.glob("*.py")) if _FILE.match(p.name)]
    by_id: dict[str, Revision] = {}
    for r in revisions:
        if r.revision in by_id:
            raise MigrationError(
                f"revision {r.revision} is defined twice: {by_id[r.revision].path.name} "
                f"and {r.path.name}"
            )
        by_id[r.revision] = r
    children: dict[str | None, list[Revision]] = {}
    for r in revisions:
        if r.parent is not None and r.parent not in by_id:
            raise MigrationError(
                f"{r.path.name}: its parent revision {r.parent} is in no migration file"
            )
        children.setdefault(r.parent, []).append(r)
    for parent, kids in children.items():
        if len(kids) > 1:
            names = ", ".join(k.path.name for k in kids)
            what = (
                "have no parent (two first migrations)"
                if parent is None
                else (f"have the same parent {parent}")
            )
            raise MigrationError(f"the chain forks: {names} {what}; give one the other as parent")
    chain: list[Revision] = []
    current = children.get(None, [])
    while current:
        chain.append(current[0])
        current = children.get(current[0].revision, [])
    if len(chain) != len(revisions):
        loose = ", ".join(sorted(r.path.name for r in revisions if r not in chain))
        raise MigrationError(f"the chain has a cycle: {loose} cannot be reached from the first")
    return chain


def record(fn: Callable[[Operations], Any], state: State, where: str) -> Operations:
    """Call ``upgrade``/``downgrade`` with a recording ``op`` (an ``async def`` is run to
    completion: it must not await anything but ``op`` methods)."""
    op = Operations(state, where)
    try:
        result = fn(op)
        if inspect.isawaitable(result):
            gen = result.__await__()
            try:
                gen.send(None)
            except StopIteration:
                pass
            else:
                gen.close()
                raise MigrationError(
                    f"{where} awaited something: op methods only record operations; "
                    "run database code with op.run(async_fn)"
                )
    except MigrationError:
        raise
    except Exception as error:  # a bug in the file: name it, no traceback in the CLI
        raise MigrationError(f"{where}: {type(error).__name__}: {error}") from error
    return op


def replay(chain: Sequence[Revision]) -> list[Step]:
    """Record every revision's upgrade and downgrade, in order, from an empty state:
    the last step's ``after`` is the schema the migrations produce."""
    steps: list[Step] = []
    state: State = {}
    for r in chain:
        up = record(r.upgrade, state, f"{r.path.name}: upgrade")
        down = record(r.downgrade, up.state, f"{r.path.name}: downgrade")
        steps.append(Step(r, state, up.state, tuple(up.operations), tuple(down.operations)))
        state = up.state
    return steps

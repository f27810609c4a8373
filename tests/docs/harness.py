"""Parses and runs the ```python blocks of README.md and docs/*.md (a doc that lies fails).

The conventions (documented for doc writers in docs/testing.md, "The docs are
tested"):

* Every ```python block of a markdown file runs, in order, in one namespace
  shared by the file's blocks (a model defined early is usable later). Each
  file gets a fresh namespace, a fresh temporary working directory, and its
  own databases.
* Blocks run as a script does (``__name__ == "__main__"``), so a complete
  program's ``if __name__ == "__main__":`` part runs too.
* A block containing a top-level ``await`` runs in the file's event loop. Any
  other block runs as plain code with no loop running, so a complete program
  (``asyncio.run(main())``) runs as written.
* The namespace starts with three names, opened before the first block and
  closed after the last: ``url`` (the URL of the file's database), ``db`` (an
  open ``Connection`` to it) and ``pool`` (a pool over another database).
* ``<!-- docs-test: backend=postgres -->`` (or ``mysql``; default ``sqlite``)
  anywhere in a file picks the backend of those fixtures. A server backend
  resolves its server with :func:`ormer.testing.servers.server_url` (skipped
  with the reason when none is reachable, failed under ``ORMER_TEST_REQUIRE``)
  and gives the run a database of its own, dropped at the end.
* ``<!-- docs-test: no-run: <reason> -->`` right before a block (blank lines
  between are allowed) skips that block; the run counts and reports it.
* A multi-line comment opening with ``<!-- docs-test: hidden`` holds code that
  runs at that point but is not rendered (set-up a page only describes in
  prose, such as "the examples use the models of queries.md").
* Anything else after ``docs-test:`` is an error, as is a ``no-run`` marker
  that is not followed by a python block: a typo must not silently stop a
  block from running.
* Every connection opened while a file runs (through ``Database.connect`` or a
  pool: the ``ormer_connection_created`` hook), and every pool or connection
  left in the namespace, is closed after the file's last block; the file's
  leftover tasks are cancelled. Warnings are errors (pyproject.toml), so a
  block that leaks one fails.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import inspect
import logging
import os
import re
import secrets
import sys
import textwrap
import types
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ormer.plugins
import ormer.sqllog
from ormer import Connection, Database, DatabaseError
from ormer.hookspecs import hookimpl
from ormer.pool import Pool
from ormer.testing.servers import server_url

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = ("sqlite", "postgres", "mysql")
PYTHON_LANGS = ("python", "py")

_DIRECTIVE = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*(?P<end>-->)?\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)")


class DocMarkerError(Exception):
    """A malformed ``docs-test`` marker (reported as the failure of that file's test)."""


@dataclass
class Block:
    """One python block: ``line`` is the 1-based line of its first code line."""

    line: int
    code: str
    hidden: bool = False
    no_run: str | None = None


@dataclass
class Doc:
    """A markdown file's python blocks and its backend."""

    path: Path
    name: str
    backend: str = "sqlite"
    blocks: list[Block] = field(default_factory=list)


def doc_paths() -> list[Path]:
    """README.md and every docs/*.md, in a stable order."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def display_name(path: Path) -> str:
    """The path relative to the repository (``docs/queries.md``), else as given."""
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def _dedent(lines: list[str], indent: str) -> str:
    """Strip a fence's own indentation (a block inside a list item) from its lines."""
    out = [line[len(indent) :] if line.startswith(indent) else line.lstrip() for line in lines]
    return textwrap.dedent("\n".join(out)) + "\n"


def parse_doc(path: Path, text: str | None = None) -> Doc:
    """The python blocks and markers of one markdown file (DocMarkerError if malformed)."""
    name = display_name(path)
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    doc = Doc(path=path, name=name)
    backend_line: int | None = None
    pending: tuple[int, str] | None = None  # (line, reason) of a no-run marker
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"{name}:{i + 1}"
        fence = _FENCE.match(line)
        directive = _DIRECTIVE.match(line)
        if fence:
            indent, mark, lang = fence["indent"], fence["fence"], fence["lang"].lower()
            end = i + 1
            while end < len(lines) and not re.match(
                rf"^\s*{re.escape(mark[0])}{{{len(mark)},}}\s*$", lines[end]
            ):
                end += 1
            if end == len(lines):
                raise DocMarkerError(f"{where}: code fence never closed")
            if lang in PYTHON_LANGS:
                reason = pending[1] if pending else None
                doc.blocks.append(Block(i + 2, _dedent(lines[i + 1 : end], indent), no_run=reason))
            elif pending:
                raise DocMarkerError(
                    f"{name}:{pending[0]}: a no-run marker must come right before a python block"
                )
            pending = None
            i = end + 1
            continue
        if directive:
            body = directive["body"]
            if directive["end"] is None:  # a multi-line hidden block
                if body != "hidden":
                    raise DocMarkerError(
                        f"{where}: a multi-line docs-test comment must open with "
                        f"'<!-- docs-test: hidden', not {body!r}"
                    )
                end = i + 1
                while end < len(lines) and lines[end].strip() != "-->":
                    end += 1
                if end == len(lines):
                    raise DocMarkerError(f"{where}: hidden block never closed with '-->'")
                if pending:
                    raise DocMarkerError(
                        f"{name}:{pending[0]}: a no-run marker must come right before a "
                        "python block"
                    )
                doc.blocks.append(Block(i + 2, _dedent(lines[i + 1 : end], ""), hidden=True))
                i = end + 1
                continue
            if body.startswith("backend="):
                backend = body.removeprefix("backend=").strip()
                if backend not in BACKENDS:
                    raise DocMarkerError(f"{where}: unknown backend {backend!r}, one of {BACKENDS}")
                if backend_line is not None:
                    raise DocMarkerError(f"{where}: second backend marker (first: {backend_line})")
                doc.backend, backend_line = backend, i + 1
            elif body.startswith("no-run"):
                reason = body.removeprefix("no-run").lstrip(":").strip()
                if not reason:
                    raise DocMarkerError(f"{where}: no-run needs a reason: 'no-run: <reason>'")
                if pending:
                    raise DocMarkerError(f"{where}: two no-run markers in a row")
                pending = (i + 1, reason)
            else:
                raise DocMarkerError(f"{where}: unknown docs-test marker {body!r}")
        elif pending and line.strip():
            raise DocMarkerError(
                f"{name}:{pending[0]}: a no-run marker must come right before a python block"
            )
        i += 1
    if pending:
        raise DocMarkerError(f"{name}:{pending[0]}: no python block follows this no-run marker")
    return doc


# --- the databases behind `url`, `db` and `pool` --------------------------------------


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))


async def _admin(url: str, sql: str) -> None:
    async with await Database.connect(url) as admin:
        await admin.exec_non_query(sql)


@contextlib.asynccontextmanager
async def _server_database(backend: str) -> AsyncIterator[str]:
    """A database of the run's own on the backend's server, dropped at the end.

    A user who may not create databases gets the server URL's own database.
    """
    base = server_url(backend)  # skips (or fails under ORMER_TEST_REQUIRE) without a server
    name = f"ormer_docs_{os.getpid()}_{secrets.token_hex(4)}"
    quoted = f'"{name}"' if backend == "postgres" else f"`{name}`"
    create = f"CREATE DATABASE {quoted}"
    if backend == "mysql":
        create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    try:
        await _admin(base, create)
    except DatabaseError as exc:
        if exc.sqlstate not in ("42501", "1044", "1045", "1227"):  # access denied
            raise
        yield base
        return
    try:
        yield _with_database(base, name)
    finally:
        await _admin(base, f"DROP DATABASE IF EXISTS {quoted}")


@contextlib.asynccontextmanager
async def doc_fixtures(backend: str, tmp: Path) -> AsyncIterator[dict[str, Any]]:
    """``url``, ``db`` and ``pool`` for a file of ``backend``."""
    async with contextlib.AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp / 'docs.db'}"
            pool_url = f"sqlite:///{tmp / 'docs-pool.db'}"
        else:
            url = await stack.enter_async_context(_server_database(backend))
            pool_url = url
        db = await Database.connect(url)
        stack.push_async_callback(db.close)
        pool = await Database.create_pool(pool_url).max_size(4).build()
        stack.push_async_callback(pool.terminate)
        yield {"url": url, "db": db, "pool": pool}


# --- running a file ----------------------------------------------------------------


class _ConnectionTracker:
    """Records every driver connection opened while a file runs."""

    def __init__(self) -> None:
        self.opened: list[Any] = []

    @hookimpl
    def ormer_connection_created(self, conn: Any) -> None:
        self.opened.append(conn)


@dataclass
class DocResult:
    """What a run did: blocks run, hidden blocks run, and skipped blocks."""

    ran: int = 0
    hidden: int = 0
    not_run: list[tuple[int, str]] = field(default_factory=list)


def _run_block(doc: Doc, block: Block, ns: dict[str, Any], loop: asyncio.AbstractEventLoop) -> None:
    # Padded with newlines so tracebacks show the markdown file's own line numbers.
    source = "\n" * (block.line - 1) + block.code
    code = compile(
        source,
        str(doc.path),
        "exec",
        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
        dont_inherit=True,
    )
    if code.co_flags & inspect.CO_COROUTINE:
        loop.run_until_complete(eval(code, ns))  # top-level await: in the file's loop
    else:
        exec(code, ns)  # no loop running: asyncio.run(main()) works


async def _close_everything(
    ns: dict[str, Any], tracker: _ConnectionTracker, leftovers: list[str]
) -> None:
    for value in list(ns.values()):
        if isinstance(value, Pool) and not value.is_closed:
            await value.terminate()
        elif isinstance(value, Connection) and not value.is_closed:
            await value.close()
    for conn in tracker.opened:
        if not conn.is_closed:
            try:
                await conn.close()
            except Exception as exc:  # e.g. opened in a loop that is gone
                leftovers.append(f"{conn!r}: {type(exc).__name__}: {exc}")


def _cancel_tasks(loop: asyncio.AbstractEventLoop) -> None:
    tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


@contextlib.contextmanager
def _process_state_restored() -> Any:
    """Put back what a page may change for the whole process: the ``ormer`` loggers'
    handlers, levels and propagation, and ``ormer.configure_logging``'s settings
    (docs/logging.md turns SQL logging on; later pages and tests must not log)."""
    names = ["ormer", *(n for n in logging.root.manager.loggerDict if n.startswith("ormer."))]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate, logger.disabled)
    settings = ormer.sqllog.log_settings()
    try:
        yield
    finally:
        ormer.sqllog._State.settings = settings
        for name in [
            "ormer",
            *(n for n in logging.root.manager.loggerDict if n.startswith("ormer.")),
        ]:
            logger = logging.getLogger(name)
            handlers, level, propagate, disabled = saved.get(
                name, ([], logging.NOTSET, True, False)
            )
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
            logger.disabled = disabled


def run_doc(doc: Doc, tmp: Path) -> DocResult:
    """Run ``doc``'s blocks in order (the working directory must already be ``tmp``).

    A failing block's exception propagates with a note naming ``file:line``.
    """
    with _process_state_restored():
        return _run_doc(doc, tmp)


def _run_doc(doc: Doc, tmp: Path) -> DocResult:
    result = DocResult()
    module_name = "ormer_docs_" + re.sub(r"\W", "_", doc.name)
    module = types.ModuleType(module_name)
    module.__file__ = str(doc.path)
    ns = module.__dict__
    sys.modules[module_name] = module  # typing.get_type_hints looks models' module up here
    # The blocks run as a script does: ``__name__ == "__main__"`` (a complete program's
    # ``if __name__ == "__main__":`` part runs), with the module standing in for
    # ``__main__`` while they run so that models defined there resolve their hints.
    ns["__name__"] = "__main__"
    saved_main = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    tracker = _ConnectionTracker()
    tracker_name = ormer.plugins.register(tracker, name=f"docs-tracker-{module_name}")
    loop = asyncio.new_event_loop()
    fixtures = doc_fixtures(doc.backend, tmp)
    leftovers: list[str] = []
    try:
        ns.update(loop.run_until_complete(fixtures.__aenter__()))
        try:
            for index, block in enumerate(doc.blocks, 1):
                if block.no_run is not None:
                    result.not_run.append((block.line, block.no_run))
                    continue
                try:
                    _run_block(doc, block, ns, loop)
                except BaseException as exc:
                    kind = "hidden block" if block.hidden else "python block"
                    exc.add_note(f"in the {kind} at {doc.name}:{block.line} (block {index})")
                    raise
                if block.hidden:
                    result.hidden += 1
                else:
                    result.ran += 1
        finally:
            loop.run_until_complete(_close_everything(ns, tracker, leftovers))
            loop.run_until_complete(fixtures.__aexit__(None, None, None))
    finally:
        try:
            _cancel_tasks(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()
            ormer.plugins.unregister(tracker_name)
            del sys.modules[module_name]
            if saved_main is not None:
                sys.modules["__main__"] = saved_main
            ns.clear()
            gc.collect()  # a leak warning surfaces in this file's test
    if leftovers:
        raise AssertionError(f"{doc.name}: connections left open: {leftovers}")
    return result

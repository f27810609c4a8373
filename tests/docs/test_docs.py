"""Every ```python block of README.md and docs/*.md runs (conventions: conftest.py and
docs/testing.md, "The docs are tested"); and the harness itself fails when it should."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import ormer.plugins
import ormer.sqllog
from ormer.hookspecs import hookimpl

from .harness import Doc, DocMarkerError, parse_doc


def test_doc(doc: Doc | DocMarkerError, run_markdown: Any, record_doc_result: Any) -> None:
    """All python blocks of one markdown file, in order, in one namespace."""
    if isinstance(doc, DocMarkerError):
        raise doc
    result = run_markdown(doc)
    record_doc_result(doc, result)
    assert result.ran + len(result.not_run) + result.hidden == len(doc.blocks)
    assert result.ran > 0, f"{doc.name}: every python block is marked no-run"


# --- the harness fails when a doc is wrong -------------------------------------------

FENCE = "```"


def md(*blocks: str, head: str = "") -> str:
    """A markdown text with ``blocks`` as python blocks (a block starting with '<!--' as is)."""
    parts = [head, "# Example\n"]
    for block in blocks:
        parts.append(block if block.startswith("<!--") else f"{FENCE}python\n{block}{FENCE}\n")
    return "\n".join(parts)


def test_blocks_share_one_namespace_and_the_fixtures(run_markdown: Any) -> None:
    text = md(
        "from ormer import Model, primary\n\n\n"
        "class Note(Model):\n    id: int = primary(auto=True)\n    text: str\n",
        "await db.create_table(Note)\nawait db.insert(Note(text='a'))\n",
        "assert [n.text for n in await db.select(Note).collect()] == ['a']\n"
        "assert url.startswith('sqlite:///') and not pool.is_closed\n",
    )
    result = run_markdown(text)
    assert (result.ran, result.hidden, result.not_run) == (3, 0, [])


def test_a_page_changing_sql_logging_does_not_leak_it(run_markdown: Any) -> None:
    sql_log = logging.getLogger("ormer.sql")
    before = (list(sql_log.handlers), sql_log.level, ormer.sqllog.log_settings())
    text = md(
        "import logging\nimport ormer\n\nseen = []\n\n\n"
        "class Keep(logging.Handler):\n"
        "    def emit(self, record):\n        seen.append(record)\n\n\n"
        "logging.getLogger('ormer.sql').addHandler(Keep())\n"
        "logging.getLogger('ormer.sql').setLevel(logging.DEBUG)\n"
        "ormer.configure_logging(params=False)\n",
        "await db.exec_rows('SELECT 1')\nassert seen\n",
    )
    assert run_markdown(text).ran == 2
    assert (list(sql_log.handlers), sql_log.level, ormer.sqllog.log_settings()) == before


def test_a_complete_program_runs_with_asyncio_run(run_markdown: Any, tmp_path: Any) -> None:
    program = (
        "import asyncio\nfrom pathlib import Path\n\nfrom ormer import Database, DbType\n\n\n"
        "async def main():\n"
        "    async with await Database.connect(DbType.SQLITE, 'app.db') as conn:\n"
        "        await conn.exec_non_query('CREATE TABLE t (a INTEGER)')\n\n\n"
        "asyncio.run(main())\n"
        "assert Path('app.db').exists()\n"
    )
    assert run_markdown(md(program)).ran == 1
    assert (tmp_path / "cwd" / "app.db").exists()  # the working directory is a temp dir


def test_a_failing_block_names_the_file_and_line(run_markdown: Any, tmp_path: Any) -> None:
    text = md("x = 1\n", "y = 2\nassert x == 2, 'the doc lies'\n")
    with pytest.raises(AssertionError, match="the doc lies") as info:
        run_markdown(text)
    # Line 9 opens the second block (blank, heading, blank, fence, x, fence, blank, fence);
    # the assert is line 10.
    assert "in the python block at " in str(info.value.__notes__)
    assert info.value.__notes__[-1].endswith("example.md:9 (block 2)")
    frame = info.traceback[-1]
    assert Path(str(frame.path)).name == "example.md" and frame.lineno + 1 == 10


def test_no_run_blocks_are_counted_not_run(run_markdown: Any) -> None:
    text = md(
        "<!-- docs-test: no-run: shows an error's output -->\n", "raise SystemExit(3)\n", "1\n"
    )
    result = run_markdown(text)
    assert result.ran == 1
    assert result.not_run == [(7, "shows an error's output")]


def test_hidden_blocks_run(run_markdown: Any) -> None:
    text = md("<!-- docs-test: hidden\nsecret = 42\n-->\n", "assert secret == 42\n")
    result = run_markdown(text)
    assert (result.ran, result.hidden) == (1, 1)
    hidden = md("<!-- docs-test: hidden\nassert False, 'checked'\n-->\n", "1\n")
    with pytest.raises(AssertionError, match="checked"):
        run_markdown(hidden)


def test_leftover_connections_and_pools_are_closed(run_markdown: Any) -> None:
    class Opened:
        conns: list[Any] = []

        @hookimpl
        def ormer_connection_created(self, conn: Any) -> None:
            self.conns.append(conn)

    text = md(
        "from ormer import Database\n\n"
        "opened = [await Database.connect(url) for _ in range(3)]\n"
        "p = await Database.create_pool(url).min_size(2).build()\n"
        "p = None  # the pool itself is lost: its connections are still found\n",
    )
    name = ormer.plugins.register(Opened())
    try:
        run_markdown(text)
    finally:
        ormer.plugins.unregister(name)
    assert len(Opened.conns) == 1 + 3 + 2  # the fixture `db`, the block's three, the pool's two
    assert all(conn.is_closed for conn in Opened.conns)


def test_a_leaked_warning_fails(run_markdown: Any) -> None:
    text = md("import warnings\n\nwarnings.warn('careless', DeprecationWarning)\n")
    with pytest.raises(DeprecationWarning, match="careless"):
        run_markdown(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (md("<!-- docs-test: no-run -->\n", "1\n"), "needs a reason"),
        (md("<!-- docs-test: no-run: why -->\n\nprose\n", "1\n"), "right before a python block"),
        (md("1\n", "<!-- docs-test: no-run: why -->\n"), "no python block follows"),
        (md("1\n", head="<!-- docs-test: backend=oracle -->\n"), "unknown backend"),
        (md("1\n", head="<!-- docs-test: skip -->\n"), "unknown docs-test marker"),
        (md("<!-- docs-test: setup\nx = 1\n-->\n"), "must open with"),
        (md("<!-- docs-test: hidden\nx = 1\n"), "never closed"),
        ("```python\n1\n", "code fence never closed"),
    ],
)
def test_malformed_markers_are_errors(text: str, message: str) -> None:
    with pytest.raises(DocMarkerError, match=message):
        parse_doc(Path("example.md"), text)


def test_blocks_in_list_items_and_the_backend_marker() -> None:
    text = "<!-- docs-test: backend=postgres -->\n\n- item:\n\n  ```python\n  x = 1\n  ```\n"
    doc = parse_doc(Path("example.md"), text)
    assert doc.backend == "postgres"
    assert [(b.line, b.code) for b in doc.blocks] == [(6, "x = 1\n")]

"""pytest wiring of the docs test: one test per markdown file with python blocks,
the ``run_markdown`` fixture, and a summary of blocks run and not run.

The conventions a doc follows are in harness.py and docs/testing.md ("The docs
are tested").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Doc, DocMarkerError, DocResult, display_name, doc_paths, parse_doc, run_doc

# --- pytest wiring -----------------------------------------------------------------

_MARKS = {
    "sqlite": pytest.mark.sqlite,
    "postgres": pytest.mark.postgres,
    "mysql": pytest.mark.mysql,
}
_RESULTS: dict[str, DocResult] = {}


def _doc_params() -> Iterator[Any]:
    for path in doc_paths():
        name = display_name(path)
        try:
            doc: Doc | DocMarkerError = parse_doc(path)
        except DocMarkerError as exc:
            yield pytest.param(exc, id=name)
            continue
        if doc.blocks:
            yield pytest.param(doc, id=name, marks=_MARKS[doc.backend])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``doc``: one parameter per markdown file that has python blocks."""
    if "doc" in metafunc.fixturenames:
        metafunc.parametrize("doc", list(_doc_params()))


@pytest.fixture
def run_markdown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run a doc: ``run_markdown(doc_or_markdown_text)`` -> DocResult, in ``tmp_path``."""

    def run(doc: Doc | str) -> DocResult:
        if isinstance(doc, str):
            doc = parse_doc(tmp_path / "example.md", doc)
        workdir = tmp_path / "cwd"
        workdir.mkdir(exist_ok=True)
        monkeypatch.chdir(workdir)
        return run_doc(doc, tmp_path)

    return run


@pytest.fixture
def record_doc_result() -> Any:
    """Keep a file's DocResult for the terminal summary."""

    def record(doc: Doc, result: DocResult) -> None:
        _RESULTS[doc.name] = result

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line of totals, and every block a marker kept from running, with its reason."""
    if not _RESULTS:
        return
    ran = sum(r.ran for r in _RESULTS.values())
    hidden = sum(r.hidden for r in _RESULTS.values())
    not_run = [(name, line, why) for name, r in _RESULTS.items() for line, why in r.not_run]
    terminalreporter.write_sep("-", "docs: python blocks")
    terminalreporter.write_line(
        f"{ran} blocks run ({hidden} hidden set-up blocks besides) in {len(_RESULTS)} files; "
        f"{len(not_run)} not run (no-run markers)"
    )
    for name, line, why in not_run:
        terminalreporter.write_line(f"  not run: {name}:{line}: {why}")

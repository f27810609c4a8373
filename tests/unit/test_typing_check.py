"""Query result types under ``mypy --strict`` (tests/typing).

One mypy run (module-scoped, cache in a temporary directory) checks:

* ``tests/typing/check_query_types.py``: every ``assert_type`` holds, no error;
* ``tests/typing/fail_query_types.py``: exactly the errors marked ``# E: <code>``,
  which proves the assertions can fail (a wrong result type is reported);
* the Python blocks of ``docs/models.md``: clean.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TYPING = ROOT / "tests" / "typing"
CHECKS = TYPING / "check_query_types.py"
MISTAKES = TYPING / "fail_query_types.py"
MODELS_DOC = ROOT / "docs" / "models.md"

_ERROR = re.compile(r"^(?P<path>.+?):(?P<line>\d+): error: (?P<message>.*)  \[(?P<code>[a-z-]+)\]$")
_MARK = re.compile(r"# E: (?P<code>[a-z-]+)\s*$")

pytestmark = pytest.mark.slow

Errors = dict[str, set[tuple[int, str]]]


def _doc_blocks(tmp: Path) -> list[Path]:
    """The ```python blocks of docs/models.md, one module each."""
    blocks = re.findall(r"```python\n(.*?)```", MODELS_DOC.read_text(), re.S)
    paths = []
    for i, block in enumerate(blocks):
        path = tmp / f"models_doc_{i}.py"
        path.write_text(block)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def mypy_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Errors, list[Path], str]:
    tmp = tmp_path_factory.mktemp("typing")
    docs = _doc_blocks(tmp)
    files = [CHECKS, MISTAKES, *docs]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp / "mypy-cache"),
            "--show-error-codes",
            "--no-pretty",
            "--no-color-output",
            "--no-error-summary",
            *map(str, files),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # 0: clean, 1: type errors found; anything else (2: usage or crash) is a broken run
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    errors: Errors = {}
    for line in proc.stdout.splitlines():
        m = _ERROR.match(line)
        if m is None:
            assert ": note: " in line, f"unexpected mypy output: {line!r}\n{proc.stderr}"
            continue
        path = str(Path(m["path"]).resolve())
        errors.setdefault(path, set()).add((int(m["line"]), m["code"]))
    return errors, docs, proc.stdout


def test_result_types_check(mypy_run: tuple[Errors, list[Path], str]) -> None:
    errors, _, output = mypy_run
    assert str(CHECKS) not in errors, output
    assert "assert_type(" in CHECKS.read_text()


def test_wrong_result_types_are_reported(mypy_run: tuple[Errors, list[Path], str]) -> None:
    errors, _, output = mypy_run
    expected = {
        (number, m["code"])
        for number, line in enumerate(MISTAKES.read_text().splitlines(), start=1)
        if (m := _MARK.search(line)) is not None
    }
    assert len(expected) >= 20
    assert errors.get(str(MISTAKES), set()) == expected, output


def test_models_doc_is_strict_clean(mypy_run: tuple[Errors, list[Path], str]) -> None:
    errors, docs, output = mypy_run
    assert len(docs) >= 4  # the blocks were found
    assert not [p for p in docs if str(p.resolve()) in errors], output
    assert set(errors) <= {str(CHECKS), str(MISTAKES)}, output

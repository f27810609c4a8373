"""Each distribution builds a wheel on its own, and ormer-core + ormer-sqlite
installed from those wheels into an empty virtualenv run the quickstart.

This is what a user gets from ``pip install ormer-core ormer-sqlite``: the
entry point must be declared, the dependencies complete, py.typed shipped.
"""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["ormer-core", "ormer-sqlite"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    built: dict[str, Path] = {}
    for package in PACKAGES:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--outdir",
                str(out),
                str(ROOT / "packages" / package),
            ],
            check=True,
            capture_output=True,
        )
        [wheel] = out.glob(package.replace("-", "_") + "-*.whl")
        built[package] = wheel
    return built


def test_wheels_ship_typed_packages_and_entry_point(wheels: dict[str, Path]) -> None:
    core = zipfile.ZipFile(wheels["ormer-core"]).namelist()
    sqlite = zipfile.ZipFile(wheels["ormer-sqlite"])
    assert "ormer/py.typed" in core
    assert "ormer/testing/suite/__init__.py" in core
    assert "ormer_sqlite/py.typed" in sqlite.namelist()
    [entry_points] = [n for n in sqlite.namelist() if n.endswith("entry_points.txt")]
    text = sqlite.read(entry_points).decode()
    assert "[ormer.plugins]" in text
    assert "sqlite = ormer_sqlite.plugin" in text


def test_quickstart_runs_from_wheels_in_an_empty_venv(
    wheels: dict[str, Path], tmp_path: Path
) -> None:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *map(str, wheels.values())],
        check=True,
        capture_output=True,
    )
    url = f"sqlite:///{tmp_path / 'quickstart.db'}"
    result = subprocess.run(
        [str(python), str(ROOT / "examples" / "quickstart.py"), "--url", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "adults: ['Ann', 'Cid', 'Dee']" in result.stdout
    assert "remaining: ['Ann', 'Bob', 'Dee']" in result.stdout
    assert (tmp_path / "quickstart.db").exists()

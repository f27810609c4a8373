"""Each distribution builds a wheel on its own, and each backend's wheel,
installed with ormer-core's alone into an empty virtualenv, runs the quickstart.

This is what a user gets from ``pip install ormer-core ormer-<backend>``: the
entry point must be declared, the dependencies complete, py.typed shipped.
"""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from ormer.testing.servers import server_url

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(
    p.name for p in (ROOT / "packages").glob("ormer-*") if (p / "pyproject.toml").exists()
)

# backend distribution → (entry-point line, how its quickstart URL is found)
BACKENDS: dict[str, tuple[str, Callable[[Path], str]]] = {
    "ormer-sqlite": ("sqlite = ormer_sqlite.plugin", lambda tmp: f"sqlite:///{tmp / 'qs.db'}"),
    "ormer-postgres": ("postgresql = ormer_postgres.plugin", lambda tmp: server_url("postgres")),
    "ormer-mysql": ("mysql = ormer_mysql.plugin", lambda tmp: server_url("mysql")),
    "ormer-turso": ("turso = ormer_turso.plugin", lambda tmp: f"turso:///{tmp / 'qs.db'}"),
}
PRESENT_BACKENDS = [b for b in BACKENDS if b in PACKAGES]
# backends built on another backend's SQL rules install that one's wheel too
SIBLINGS: dict[str, tuple[str, ...]] = {"ormer-turso": ("ormer-sqlite",)}


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("wheels")
    built: dict[str, Path] = {}
    for package in PACKAGES:
        source = str(ROOT / "packages" / package)
        subprocess.run(
            [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), source],
            check=True,
            capture_output=True,
        )
        [wheel] = out.glob(package.replace("-", "_") + "-*.whl")
        built[package] = wheel
    return built


def test_core_wheel_ships_typing_and_the_suite(wheels: dict[str, Path]) -> None:
    names = zipfile.ZipFile(wheels["ormer-core"]).namelist()
    assert "ormer/py.typed" in names
    assert "ormer/testing/suite/__init__.py" in names


@pytest.mark.parametrize("backend", PRESENT_BACKENDS)
def test_backend_wheel_declares_its_entry_point(wheels: dict[str, Path], backend: str) -> None:
    wheel = zipfile.ZipFile(wheels[backend])
    module = backend.replace("-", "_")
    assert f"{module}/py.typed" in wheel.namelist()
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "[ormer.plugins]" in text
    assert BACKENDS[backend][0] in text


def test_otel_wheel_declares_its_entry_point(wheels: dict[str, Path]) -> None:
    if "ormer-otel" not in wheels:
        pytest.skip("packages/ormer-otel is not in this tree")
    wheel = zipfile.ZipFile(wheels["ormer-otel"])
    assert "ormer_otel/py.typed" in wheel.namelist()
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "[ormer.plugins]\notel = ormer_otel.plugin" in wheel.read(entry_points).decode()


@pytest.mark.parametrize("backend", PRESENT_BACKENDS)
def test_quickstart_runs_from_wheels_in_an_empty_venv(
    wheels: dict[str, Path], tmp_path: Path, backend: str
) -> None:
    url = BACKENDS[backend][1](tmp_path)
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            str(wheels["ormer-core"]),
            *(str(wheels[sibling]) for sibling in SIBLINGS.get(backend, ())),
            str(wheels[backend]),
        ],
        check=True,
        capture_output=True,
    )
    if backend == "ormer-turso":  # its own example too: MVCC and concurrent writers
        demo = subprocess.run(
            [str(python), str(ROOT / "examples" / "turso_demo.py")],
            check=True,
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert "balances: [250, 250, 250, 250]" in demo.stdout, demo.stderr
    result = subprocess.run(
        [str(python), str(ROOT / "examples" / "quickstart.py"), "--url", url],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert "adults: ['Ann', 'Cid', 'Dee']" in result.stdout
    assert "remaining: ['Ann', 'Bob', 'Dee']" in result.stdout

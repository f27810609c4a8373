"""The plugin is declared as the ``otel`` entry point of the ``ormer.plugins`` group."""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import ormer.hookspecs
import ormer_otel.plugin

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_entry_point_is_declared() -> None:
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert project["name"] == "ormer-otel"
    assert project["entry-points"]["ormer.plugins"] == {"otel": "ormer_otel.plugin"}
    try:
        dist = importlib.metadata.distribution("ormer-otel")
    except importlib.metadata.PackageNotFoundError:
        return  # not installed (the tests run it from src/): the pyproject is the truth
    points = [e for e in dist.entry_points if e.group == "ormer.plugins"]
    assert [(e.name, e.value) for e in points] == [("otel", "ormer_otel.plugin")]


def test_plugin_implements_the_statement_and_pool_hooks() -> None:
    hooks = {
        "ormer_before_execute",
        "ormer_after_execute",
        "ormer_connection_created",
        "ormer_connection_checkout",
        "ormer_connection_checkin",
        "ormer_pool_opened",
        "ormer_pool_closed",
    }
    for name in hooks:
        assert hasattr(ormer.hookspecs, name)
        impl = getattr(ormer_otel.plugin, name)
        assert hasattr(impl, "ormer_impl"), name  # marked with ormer's hookimpl

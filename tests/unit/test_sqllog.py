"""ormer.sqllog: the text of statement parameters in ``ormer.sql`` records.

The statement paths themselves (plain, batch insert, bulk copy, stream) are
covered on every backend by the compliance suite's ``TestSqlLogging``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

import ormer
from ormer import ConfigurationError, LogSettings, configure_logging
from ormer.sqllog import LoggedParams, format_params, log_settings

SMALL = LogSettings(params=True, max_length=10, max_params=3, max_total=100)


@pytest.fixture(autouse=True)
def restore_settings() -> Iterator[None]:
    saved = log_settings()
    try:
        yield
    finally:
        configure_logging(
            params=saved.params,
            max_length=saved.max_length,
            max_params=saved.max_params,
            max_total=saved.max_total,
        )


def test_short_parameters_read_as_before() -> None:
    assert format_params([1, "a", None, 2.5, b"\x00"]) == "[1, 'a', None, 2.5, b'\\x00']"
    assert format_params((1, "a")) == "(1, 'a')"
    assert format_params([]) == "[]"


def test_long_values_are_cut_with_their_length() -> None:
    text = format_params(["a" * 1000, b"b" * 5000, 10**50], SMALL)
    assert text == (
        "['aaaaaaaaaa'... (1000 chars), b'bbbbbbbbbb'... (5000 bytes), 1000000000... (51 chars)]"
    )


def test_many_values_end_with_how_many_more() -> None:
    assert format_params(list(range(100_000)), SMALL) == "[0, 1, 2, ... (99997 more)]"


def test_total_length_is_bounded() -> None:
    settings = LogSettings(max_length=50, max_params=1000, max_total=200)
    text = format_params(["z" * 40] * 1000, settings)
    assert text.endswith(" more)]")
    assert len(text) < 200 + 60  # the bound, one value's overshoot and the marker
    shown = text.count("'" + "z" * 40 + "'")
    assert f"... ({1000 - shown} more)" in text


def test_rows_of_a_bulk_copy_are_cut_per_row() -> None:
    rows = [(i, f"name {i}" * 20) for i in range(100_000)]
    text = format_params(rows, SMALL)
    assert text.startswith("[(0, 'name ... (127 chars), (1, 'name ")
    assert text.endswith("... (99997 more)]")
    assert len(text) < 200


def test_redacted_parameters_show_only_their_count() -> None:
    hidden = LogSettings(params=False)
    assert format_params(["secret", 2], hidden) == "<2 parameters hidden>"
    assert format_params(["secret"], hidden) == "<1 parameter hidden>"
    assert "secret" not in format_params({"k": "secret"}, hidden)


def test_configure_logging_changes_what_records_show() -> None:
    configure_logging(max_length=5)
    assert str(LoggedParams(["abcdefgh"])) == "['abcde'... (8 chars)]"
    settings = configure_logging(params=False)
    assert settings.max_length == 5  # left-out arguments are kept
    assert str(LoggedParams(["abcdefgh"])) == "<1 parameter hidden>"
    assert repr(LoggedParams([1])) == "<1 parameter hidden>"
    configure_logging(params=True)
    assert str(LoggedParams([1])) == "[1]"


@pytest.mark.parametrize(
    "bad",
    [
        {"params": "no"},
        {"max_length": 0},
        {"max_params": -1},
        {"max_total": 1.5},
        {"max_length": True},
    ],
)
def test_configure_logging_rejects_bad_values(bad: dict[str, object]) -> None:
    before = log_settings()
    with pytest.raises(ConfigurationError):
        configure_logging(**bad)  # type: ignore[arg-type]
    assert log_settings() == before


def test_public_api_is_reexported() -> None:
    assert ormer.configure_logging is configure_logging
    assert ormer.LogSettings is LogSettings
    assert "configure_logging" in ormer.__all__


@pytest.mark.parametrize(
    ("value", "shown"), [("0", False), ("false", False), ("OFF", False), ("1", True), ("", True)]
)
def test_environment_variable_redacts(value: str, shown: bool) -> None:
    env = {**os.environ, "ORMER_LOG_PARAMS": value}
    code = (
        "import logging, ormer.sqllog as s\n"
        "print(s.log_settings().params, str(s.LoggedParams(['pw'])))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split(" ", 1)
    assert out[0] == str(shown)
    assert ("'pw'" in out[1]) is shown

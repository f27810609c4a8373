"""The statement_timeout option: taken out of the URL and the keywords, validated."""

from __future__ import annotations

import pytest

from ormer import ConfigurationError
from ormer.dialect import parse_url
from ormer.timeouts import DEFAULT, check_timeout, grace_period, take_option


def test_taken_out_of_the_url_query_and_raw_text() -> None:
    url = parse_url("postgresql://u@h/db?search_path=s1&statement_timeout=2.5&x=%2F")
    stripped, options, timeout = take_option(url, {"command_timeout": 3})
    assert timeout == 2.5
    assert stripped.query == {"search_path": "s1", "x": "/"}
    assert "statement_timeout" not in stripped.raw
    assert parse_url(stripped.raw).query == {"search_path": "s1", "x": "/"}
    assert options == {"command_timeout": 3}


def test_the_keyword_wins_and_is_not_passed_on() -> None:
    url = parse_url("mysql://u@h/db?statement_timeout=9")
    given = {"statement_timeout": 0.5, "connect_timeout": 2}
    stripped, options, timeout = take_option(url, given)
    assert timeout == 0.5
    assert options == {"connect_timeout": 2}
    assert given == {"statement_timeout": 0.5, "connect_timeout": 2}  # not mutated
    assert stripped.raw == "mysql://u@h/db"


def test_absent_means_no_limit_and_the_url_is_untouched() -> None:
    url = parse_url("postgresql://u@h/db?search_path=a")
    assert take_option(url, {}) == (url, {}, None)


@pytest.mark.parametrize("bad", [-1, 0, "abc", True, float("nan"), [1]])
def test_bad_values(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        check_timeout(bad)
    with pytest.raises(ConfigurationError):
        take_option(parse_url("sqlite:///x"), {"statement_timeout": bad})


def test_good_values() -> None:
    assert check_timeout(None) is None
    assert check_timeout(1) == 1.0
    assert check_timeout(0.001) == 0.001
    assert repr(DEFAULT) == "DEFAULT"
    assert grace_period(0.1) == 1.0
    assert grace_period(3) == 3.0
    assert grace_period(600) == 5.0

"""Round-trip properties: values, upserts and batch inserts read back as written."""

from __future__ import annotations

import pytest

from ormer.testing.properties import RoundTripProperties


class TestRoundTrip(RoundTripProperties):
    """Every type reads back equal; upsert twice equals once; batch ids fetch their rows."""


@pytest.mark.mysql
class TestBatchIdsWithoutReturning(RoundTripProperties):
    """MySQL servers read generated ids with LAST_INSERT_ID() (the first id of a
    multi-row INSERT); MariaDB takes that path too with ``?returning=false``."""

    test_values_round_trip = None  # type: ignore[assignment]
    test_upsert_twice_equals_once = None  # type: ignore[assignment]

    @pytest.fixture
    def ormer_url(self, property_mysql_url: str) -> str:
        separator = "&" if "?" in property_mysql_url else "?"
        return f"{property_mysql_url}{separator}returning=false"

    @pytest.fixture
    def ormer_code_point_text(self) -> bool:
        return True  # the tables ormer creates on MySQL use a binary collation

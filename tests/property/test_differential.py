"""Differential properties: generated selects and aggregates agree with the
Python oracle on every backend (``ormer.testing.properties``)."""

from __future__ import annotations

from ormer.testing.properties import DifferentialProperties


class TestDifferential(DifferentialProperties):
    """select/filter/order/range/count/stream, TLP and NoREC, group by/having, windows
    (row_number/rank/dense_rank/sum over the group key's partitions)."""

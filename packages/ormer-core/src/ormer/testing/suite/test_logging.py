"""Compliance suite: ``ormer.sql`` records on the backend's own statements.

Every statement is logged at DEBUG with its elapsed time; its parameters are
truncated (a batch insert's thousands of values, a bulk copy's rows) or
redacted, on every backend and every statement path (plain statements, batch
inserts, bulk copy, streams).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import pytest

import ormer.sqllog
from ormer import Connection, Model, configure_logging, field, primary
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestSqlLogging"]

SECRET = "s3cret-value-never-logged"


class LogItem(Model, table="suite_log_item"):
    id: int = primary()
    name: str = field(max_length=300)


@contextlib.contextmanager
def caplog_records(logger: logging.Logger) -> Iterator[list[logging.LogRecord]]:
    """The records a handler on ``logger`` formats while the block runs."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def sql_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ormer.sql"]


class TestSqlLogging(SuiteBase):
    """Parameters in ``ormer.sql`` records: bounded by default, hidden on request."""

    @pytest.fixture(autouse=True)
    def restore_log_settings(self) -> Iterator[None]:
        saved = ormer.sqllog.log_settings()
        try:
            yield
        finally:
            configure_logging(
                params=saved.params,
                max_length=saved.max_length,
                max_params=saved.max_params,
                max_total=saved.max_total,
            )

    async def fill(self, db: Connection, rows: int) -> None:
        await fresh_tables(db, LogItem)
        await db.insert([LogItem(id=i, name=f"item {i} " + "x" * 200) for i in range(rows)])

    async def test_statements_are_logged_with_elapsed_time(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        await fresh_tables(db, LogItem)
        with caplog.at_level(logging.DEBUG, logger="ormer.sql"):
            await db.insert(LogItem(id=1, name="one"))
            rows = await db.select(LogItem).filter(LogItem.name == "one").collect()
        assert [r.id for r in rows] == [1]
        messages = sql_messages(caplog)
        assert len(messages) >= 2
        select = next(m for m in messages if m.lstrip().upper().startswith("SELECT"))
        assert "'one'" in select
        assert select.endswith(" ms)")

    async def test_large_batch_parameters_are_truncated(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        configure_logging(params=True, max_length=40, max_params=5, max_total=300)
        with caplog.at_level(logging.DEBUG, logger="ormer.sql"):
            await self.fill(db, 3000)
        assert await db.select(LogItem).count() == 3000  # the rows themselves are whole
        inserts = [m for m in sql_messages(caplog) if "item 0 " in m or "item 2999 " in m]
        assert inserts, sql_messages(caplog)[:3]
        for message in sql_messages(caplog):
            params_text = message[message.rfind("[") :] if "[" in message else ""
            assert len(params_text) < 1000, params_text[:200]
        first = inserts[0]
        assert "more)" in first  # "... (N more)"
        assert "... (" in first and "chars)" in first  # the 200-x names are cut
        assert "x" * 60 not in first

    async def test_redacted_parameters_show_only_their_count(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        configure_logging(params=False)
        await fresh_tables(db, LogItem)
        with caplog.at_level(logging.DEBUG, logger="ormer.sql"):
            await db.insert(LogItem(id=7, name=SECRET))
            assert await db.select(LogItem.name).filter(
                LogItem.name == SECRET
            ).scalars().collect() == [SECRET]
            async for item in db.select(LogItem).filter(LogItem.name == SECRET).stream(batch=10):
                assert item.id == 7
        messages = sql_messages(caplog)
        assert messages
        assert not any(SECRET in m for m in messages)
        assert any("parameters hidden>" in m or "parameter hidden>" in m for m in messages)
        assert any("(stream, batch=10)" in m for m in messages)

    async def test_stream_parameters_are_truncated(
        self, db: Connection, caplog: pytest.LogCaptureFixture
    ) -> None:
        configure_logging(params=True, max_length=10)
        await fresh_tables(db, LogItem)
        long_name = "y" * 250
        await db.insert(LogItem(id=1, name=long_name))
        with caplog.at_level(logging.DEBUG, logger="ormer.sql"):
            got = [
                i.name async for i in db.select(LogItem).filter(LogItem.name == long_name).stream()
            ]
        assert got == [long_name]
        stream = [m for m in sql_messages(caplog) if "(stream, batch=" in m]
        assert len(stream) == 1
        assert "'yyyyyyyyyy'... (250 chars)" in stream[0]
        assert long_name not in stream[0]

    async def test_nothing_is_formatted_when_debug_is_off(
        self, db: Connection, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        calls: list[object] = []
        original = ormer.sqllog.format_params

        def counting(params: object, settings: object = None) -> str:
            calls.append(params)
            return original(params)

        monkeypatch.setattr(ormer.sqllog, "format_params", counting)
        logger = logging.getLogger("ormer.sql")
        level = logger.level
        try:
            logger.setLevel(logging.INFO)  # setLevel: the logger caches isEnabledFor
            await fresh_tables(db, LogItem)
            await db.insert([LogItem(id=i, name="n") for i in range(50)])
            assert await db.select(LogItem).count() == 50
            assert calls == []
            # DEBUG on, but the only handler never formats: still nothing formatted (lazy)
            logger.setLevel(logging.DEBUG)
            monkeypatch.setattr(logger, "propagate", False)
            quiet = logging.NullHandler()
            logger.addHandler(quiet)
            try:
                assert await db.select(LogItem).filter(LogItem.id == 3).count() == 1
            finally:
                logger.removeHandler(quiet)
            assert calls == []
            # and a handler that does format it sees the bounded text
            logger.propagate = True
            with caplog_records(logger) as records:
                assert await db.select(LogItem).filter(LogItem.id == 4).count() == 1
            assert [r.getMessage().count("[4]") for r in records] == [1]
            assert calls  # formatted now that a handler formats the record
        finally:
            logger.setLevel(level)

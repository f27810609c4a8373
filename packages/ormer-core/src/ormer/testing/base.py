"""Fixtures and helpers shared by every compliance-suite class."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ormer import Connection, Database, Model

__all__ = ["SuiteBase", "fresh_tables"]


async def fresh_tables(db: Connection, *models: type[Model]) -> None:
    """Drop (children first) and create (parents first) the tables of ``models``."""
    for model in reversed(models):
        await db.drop_table(model, if_exists=True)
    for model in models:
        await db.create_table(model)


@pytest.mark.asyncio
class SuiteBase:
    """Base of the suite classes: provides ``db``, one open connection per test.

    The including test module supplies an ``ormer_url`` fixture. Tables a test
    needs are (re)created with :func:`fresh_tables` at its start, so suites run
    on a shared server database as well as on a fresh file.
    """

    @pytest_asyncio.fixture
    async def db(self, ormer_url: str) -> AsyncIterator[Connection]:
        conn = await Database.connect(ormer_url)
        try:
            yield conn
        finally:
            await conn.close()

"""Fixtures and helpers shared by every compliance-suite class."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ormer import Connection, Database, Model
from ormer.dialect import Dialect

from .capabilities import LACKS_ATTR, REQUIRES_ATTR, skip_reason

__all__ = ["SuiteBase", "fresh_tables"]


async def fresh_tables(db: Connection, *models: type[Model]) -> None:
    """Drop (children first) and create (parents first) the tables of ``models``."""
    for model in reversed(models):
        await db.drop_table(model, if_exists=True)
    for model in models:
        await db.create_table(model)


_DIALECTS: dict[str, Dialect] = {}


async def _dialect_of(url: str) -> Dialect:
    """The dialect a connection to ``url`` compiles with (its server variant), once per URL."""
    dialect = _DIALECTS.get(url)
    if dialect is None:
        async with await Database.connect(url) as conn:
            dialect = _DIALECTS[url] = conn.dialect
    return dialect


@pytest.mark.asyncio
class SuiteBase:
    """Base of the suite classes: provides ``db``, one open connection per test.

    The including test module supplies an ``ormer_url`` fixture. Tables a test
    needs are (re)created with :func:`fresh_tables` at its start, so suites run
    on a shared server database as well as on a fresh file.
    """

    @pytest_asyncio.fixture(autouse=True)
    async def _capabilities(self, request: pytest.FixtureRequest, ormer_url: str) -> None:
        """Skip a ``@requires(...)`` test on a backend without the capability, and a
        ``@lacks(...)`` test on one with it (``ormer.testing.capabilities``)."""
        test = request.function
        if not hasattr(test, REQUIRES_ATTR) and not hasattr(test, LACKS_ATTR):
            return
        reason = skip_reason(test, await _dialect_of(ormer_url))
        if reason is not None:
            pytest.skip(reason)

    @pytest_asyncio.fixture
    async def db(self, ormer_url: str) -> AsyncIterator[Connection]:
        conn = await Database.connect(ormer_url)
        try:
            yield conn
        finally:
            await conn.close()

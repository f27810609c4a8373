"""What DialectNotFoundError says for a misspelt scheme or name, or a missing backend.

A typo must not send the user to ``pip install`` a package that does not
exist: it gets "did you mean ...?" (difflib against the registered schemes and
the first-party ones); a first-party backend that is not installed names its package.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ormer.plugins
from ormer import Database, DbType, DialectNotFoundError
from ormer.plugins import KNOWN_BACKENDS, KNOWN_PACKAGES


@pytest.fixture
def without_postgres() -> Iterator[None]:
    """Unregister the installed PostgreSQL plugin for one test, then restore it."""
    pm = ormer.plugins.manager()
    plugin = pm.get_plugin("postgresql")
    if plugin is not None:
        ormer.plugins.unregister("postgresql")
    try:
        yield
    finally:
        if plugin is not None:
            ormer.plugins.register(plugin, name="postgresql")


async def connect_error(url: str) -> str:
    with pytest.raises(DialectNotFoundError) as info:
        await Database.connect(url)
    return str(info.value)


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("postgressql://u@h/db", "postgresql://"),
        ("postgress://h/db", "postgres://"),
        ("sqlit:///x.db", "sqlite://"),
        ("sqllite:///x.db", "sqlite://"),
        ("mysq://h/db", "mysql://"),
        ("marydb://h/db", "mariadb://"),
        ("postgressql+asyncpg://h/db", "postgresql+asyncpg://"),
    ],
)
async def test_misspelt_scheme_suggests_the_right_one(url: str, meant: str) -> None:
    message = await connect_error(url)
    assert f"Did you mean {meant}?" in message
    assert "pip install" not in message  # no package named after the typo
    assert "Installed dialects: " in message


@pytest.mark.usefixtures("without_postgres")
async def test_misspelt_scheme_of_an_uninstalled_backend_names_its_package() -> None:
    message = await connect_error("postgressql://u@h/db")
    assert "Did you mean postgresql://?" in message
    assert "pip install ormer-postgres" in message
    assert "ormer-postgressql" not in message


def test_misspelt_dialect_name_suggests_the_name() -> None:
    with pytest.raises(DialectNotFoundError) as info:
        DbType("postgressql")
    message = str(info.value)
    assert "Did you mean 'postgresql'?" in message
    assert "pip install" not in message


async def test_unrelated_scheme_keeps_the_plugin_hint() -> None:
    message = await connect_error("nosuch://h/db")
    assert "Did you mean" not in message
    assert "pip install ormer-nosuch" in message


@pytest.fixture
def without_turso() -> Iterator[None]:
    """Unregister the installed Turso plugin for one test, then restore it."""
    pm = ormer.plugins.manager()
    plugin = pm.get_plugin("turso")
    if plugin is not None:
        ormer.plugins.unregister("turso")
    try:
        yield
    finally:
        if plugin is not None:
            ormer.plugins.register(plugin, name="turso")


@pytest.mark.usefixtures("without_turso")
@pytest.mark.parametrize("url", ["turso:///app.db", "libsql:///app.db"])
async def test_turso_scheme_names_the_turso_package(url: str) -> None:
    message = await connect_error(url)
    assert "To add it: pip install ormer-turso" in message
    assert "planned" not in message


@pytest.mark.usefixtures("without_turso")
async def test_turso_dbtype_names_the_turso_package() -> None:
    with pytest.raises(DialectNotFoundError) as info:
        await Database.connect(DbType.TURSO, "app.db")
    assert "pip install ormer-turso" in str(info.value)


def test_known_backends_is_the_one_table() -> None:
    assert KNOWN_PACKAGES == {
        "sqlite": "ormer-sqlite",
        "postgresql": "ormer-postgres",
        "mysql": "ormer-mysql",
        "turso": "ormer-turso",
    }
    assert all(b.package is not None for b in KNOWN_BACKENDS.values())
    # every DbType member is a known first-party backend
    assert {member.value for member in DbType} <= set(KNOWN_BACKENDS)

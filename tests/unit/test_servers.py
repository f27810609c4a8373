"""ormer.testing.servers: how a backend's test server is chosen (no database, no Docker).

The only thing faked is the "does a Docker engine answer" probe (this machine
has no engine); "a local service answers" is a real listening socket.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from ormer.errors import ConfigurationError
from ormer.testing import servers
from ormer.testing.servers import (
    ContainersUnavailable,
    image_for,
    resolve_server,
    server_url,
    servers_mode,
)

NO_ENGINE = "no Docker engine answers (connection refused)"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "ORMER_TEST_SERVERS",
        "ORMER_TEST_REQUIRE",
        "ORMER_TEST_POSTGRES_URL",
        "ORMER_TEST_MYSQL_URL",
        "ORMER_TEST_POSTGRES_IMAGE",
        "ORMER_TEST_MYSQL_IMAGE",
    ):
        monkeypatch.delenv(name, raising=False)
    resolve_server.cache_clear()
    yield
    resolve_server.cache_clear()


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The engine probe says no; returns a list counting its calls."""
    calls: list[int] = []

    def probe() -> str:
        calls.append(1)
        return NO_ENGINE

    monkeypatch.setattr(servers, "_docker_engine_problem", probe)
    return calls


@pytest.fixture
def local_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A port that answers, as the local PostgreSQL default."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        url = f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/test"
        monkeypatch.setitem(servers.DEFAULT_URLS, "postgres", url)
        yield url


@pytest.fixture
def nothing_local(monkeypatch: pytest.MonkeyPatch) -> str:
    """A port where nothing listens, as the local PostgreSQL default."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    url = f"postgresql://postgres@127.0.0.1:{port}/test"
    monkeypatch.setitem(servers.DEFAULT_URLS, "postgres", url)
    return f"127.0.0.1:{port}"


def test_selector_defaults_to_auto() -> None:
    assert servers_mode() == "auto"


@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("containers", "containers"),
        ("local", "local"),
        ("auto", "auto"),
        (" Containers ", "containers"),
        ("", "auto"),
    ],
)
def test_selector_values(monkeypatch: pytest.MonkeyPatch, raw: str, mode: str) -> None:
    monkeypatch.setenv("ORMER_TEST_SERVERS", raw)
    assert servers_mode() == mode


def test_unknown_selector_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORMER_TEST_SERVERS", "docker")
    with pytest.raises(
        ConfigurationError,
        match=r"ORMER_TEST_SERVERS='docker' is not one of auto, containers, local",
    ):
        servers_mode()
    with pytest.raises(ConfigurationError, match="docker"):
        resolve_server("postgres")


def test_images_default_and_override(monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_for("postgres") == "postgres:16"
    assert image_for("mysql") == "mariadb:11"
    monkeypatch.setenv("ORMER_TEST_POSTGRES_IMAGE", "postgres:17")
    monkeypatch.setenv("ORMER_TEST_MYSQL_IMAGE", "mysql:8.4")
    assert image_for("postgres") == "postgres:17"
    assert image_for("mysql") == "mysql:8.4"


@pytest.mark.parametrize("mode", ["auto", "containers", "local"])
def test_explicit_url_wins_over_every_mode(
    monkeypatch: pytest.MonkeyPatch, no_engine: list[int], mode: str
) -> None:
    monkeypatch.setenv("ORMER_TEST_SERVERS", mode)
    monkeypatch.setenv("ORMER_TEST_MYSQL_URL", "mysql://u:p@db.example:3306/x")
    target = resolve_server("mysql")
    assert target.url == "mysql://u:p@db.example:3306/x"
    assert target.source == "url ORMER_TEST_MYSQL_URL"
    assert target.note is None
    assert no_engine == []  # the engine is not even asked


def test_containers_without_engine_fails_with_one_message(
    monkeypatch: pytest.MonkeyPatch, no_engine: list[int], local_postgres: str
) -> None:
    monkeypatch.setenv("ORMER_TEST_SERVERS", "containers")
    with pytest.raises(ContainersUnavailable) as info:
        resolve_server("postgres")
    assert str(info.value) == (
        f"ORMER_TEST_SERVERS=containers, but no postgres container: {NO_ENGINE}"
    )
    # in a test: the session stops with that message (not a skip, not a local fallback)
    with pytest.raises(pytest.exit.Exception, match="ORMER_TEST_SERVERS=containers") as stop:
        server_url("postgres")
    assert stop.value.returncode == pytest.ExitCode.TESTS_FAILED


def test_auto_without_engine_falls_back_to_local_with_the_reason(
    no_engine: list[int], local_postgres: str
) -> None:
    target = resolve_server("postgres")
    assert target.url == local_postgres
    assert target.source.startswith("local 127.0.0.1:")
    assert target.note == f"containers not used: {NO_ENGINE}"
    assert server_url("postgres") == local_postgres
    resolve_server("postgres")
    assert no_engine == [1]  # resolved (and probed) once per process


def test_local_does_not_ask_for_an_engine(
    monkeypatch: pytest.MonkeyPatch, no_engine: list[int], local_postgres: str
) -> None:
    monkeypatch.setenv("ORMER_TEST_SERVERS", "local")
    target = resolve_server("postgres")
    assert target.url == local_postgres
    assert target.note == "ORMER_TEST_SERVERS=local"
    assert no_engine == []


def test_no_server_skips_with_every_reason(no_engine: list[int], nothing_local: str) -> None:
    target = resolve_server("postgres")
    assert target.url is None
    assert NO_ENGINE in target.source
    assert f"{nothing_local} does not answer" in target.source
    with pytest.raises(pytest.skip.Exception, match="ORMER_TEST_POSTGRES_URL is unset"):
        server_url("postgres")


def test_no_server_fails_when_required(
    monkeypatch: pytest.MonkeyPatch, no_engine: list[int], nothing_local: str
) -> None:
    monkeypatch.setenv("ORMER_TEST_REQUIRE", "mysql, postgres")
    with pytest.raises(pytest.fail.Exception, match="required by ORMER_TEST_REQUIRE"):
        server_url("postgres")


def test_a_container_that_does_not_start_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, local_postgres: str
) -> None:
    """The engine "answers" (faked) but none is there: the real start fails, and says so."""
    monkeypatch.setattr(servers, "_docker_engine_problem", lambda: None)
    monkeypatch.setenv("ORMER_TEST_SERVERS", "containers")
    monkeypatch.setenv("ORMER_TEST_POSTGRES_IMAGE", "postgres:17")
    with pytest.raises(
        ContainersUnavailable, match=r"no postgres container: container postgres:17 did not start"
    ):
        resolve_server("postgres")
    resolve_server.cache_clear()
    monkeypatch.setenv("ORMER_TEST_SERVERS", "auto")
    target = resolve_server("postgres")
    assert target.url == local_postgres
    assert target.note is not None
    assert target.note.startswith("containers not used: container postgres:17 did not start")

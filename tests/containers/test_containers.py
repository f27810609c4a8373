"""The test containers themselves: this project's images and a session's hygiene.

Runs under ``make test-containers`` (ORMER_TEST_SERVERS=containers); where a
backend's server is not a container, its tests skip saying so.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from ormer import ConnectionError, Database
from ormer.testing import servers
from ormer.testing.servers import CONTAINER_LABEL, image_for, resolve_server

pytestmark = pytest.mark.containers

BACKENDS = ["postgres", "mysql"]
PORTS = {"postgres": 5432, "mysql": 3306}


def container_url(backend: str) -> str:
    target = resolve_server(backend)
    if target.url is None or not target.source.startswith("testcontainers "):
        pytest.skip(f"the {backend} server is {target.source}, not a container")
    return target.url


@pytest.fixture
def docker_client() -> Iterator[Any]:
    docker = pytest.importorskip("docker")
    client = docker.from_env(timeout=30)
    yield client
    client.close()


def session_container(client: Any, backend: str) -> Any:
    """This session's container for ``backend`` (found by its owner label)."""
    owner = servers._owner()
    mine = [
        c
        for c in client.containers.list(filters={"label": f"ormer.test.owner={owner}"})
        if image_for(backend) in c.image.tags
    ]
    assert len(mine) == 1, f"one {backend} container per session, found {mine}"
    return mine[0]


def with_password(url: str, password: str | None) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    netloc = f"{name}:{password}@{host}" if password is not None else f"{name}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_labelled_container_on_loopback_only(backend: str, docker_client: Any) -> None:
    url = container_url(backend)
    assert urlsplit(url).hostname == "127.0.0.1"
    container = session_container(docker_client, backend)
    assert container.labels[CONTAINER_LABEL] == "1"
    bindings = container.attrs["NetworkSettings"]["Ports"][f"{PORTS[backend]}/tcp"]
    assert bindings, "the server port is published"
    assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
    assert {int(b["HostPort"]) for b in bindings} == {urlsplit(url).port}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("password", ["wrong", None], ids=["wrong-password", "no-password"])
async def test_login_needs_the_password(backend: str, password: str | None) -> None:
    url = container_url(backend)
    with pytest.raises(ConnectionError):
        await Database.connect(with_password(url, password))


async def test_mariadb_has_no_passwordless_root_accounts() -> None:
    url = container_url("mysql")
    async with await Database.connect(url) as db:
        rows = await db.exec_rows(
            "SELECT user, host FROM mysql.global_priv WHERE user IN ('root', '') ORDER BY host"
        )
    assert [tuple(r) for r in rows] == [("root", "%"), ("root", "localhost")]


def test_containers_of_dead_sessions_are_removed(docker_client: Any) -> None:
    container_url("postgres")
    image = image_for("postgres")
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    host = servers._owner().rpartition(":")[0]
    started = []
    try:
        for owner in (f"{host}:{dead_pid.pid}", servers._owner()):
            started.append(
                docker_client.containers.run(
                    image,
                    entrypoint=["sleep", "300"],
                    labels={CONTAINER_LABEL: "1", "ormer.test.owner": owner},
                    detach=True,
                )
            )
        orphan, alive = started
        assert servers._remove_orphans.__wrapped__() == 1
        remaining = {c.id for c in docker_client.containers.list(all=True)}
        assert orphan.id not in remaining
        assert alive.id in remaining  # its owner (this session) still runs
    finally:
        for container in started:
            if container.id in {c.id for c in docker_client.containers.list(all=True)}:
                container.remove(force=True)

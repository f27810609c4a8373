"""Where server-backed tests find their database (docs/testing.md).

For a backend (``"postgres"``, ``"mysql"``), in order:

1. ``ORMER_TEST_<BACKEND>_URL`` (e.g. ``ORMER_TEST_POSTGRES_URL``) always wins;
2. else ``ORMER_TEST_SERVERS`` selects (default ``auto``):

   - ``containers``: a testcontainers container of ``ORMER_TEST_<BACKEND>_IMAGE``
     (default ``postgres:16`` / ``mariadb:11``); no Docker engine answering,
     or a container that does not start, is a :class:`ContainersUnavailable`
     error (the test session stops with that one message, never a skip);
   - ``local``: the local default (``postgresql://postgres@127.0.0.1:5432/test``,
     ``mysql://root@127.0.0.1:3306/test``) when its port answers;
   - ``auto``: a container when a Docker engine answers a ping (the ``docker``
     client binary alone is not enough) and the container starts, else the
     local default, with the reason containers were not used recorded in
     :attr:`ServerTarget.note` (and printed in the session header);

3. without a server the tests skip with the reason, or fail when the backend
   is named in ``ORMER_TEST_REQUIRE=postgres,mysql``.

Each backend gets at most one container per process (``resolve_server`` is
cached), removed at interpreter exit; containers of sessions that died are
removed by the next session on the same host (they carry the label
``ormer.test`` and their owner's host and pid).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import gc
import importlib
import os
import socket
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from ormer.errors import ConfigurationError

__all__ = [
    "CONTAINER_LABEL",
    "DEFAULT_IMAGES",
    "DEFAULT_URLS",
    "MODES",
    "ContainersUnavailable",
    "ServerTarget",
    "image_for",
    "report_lines",
    "required_backends",
    "resolve_server",
    "server_url",
    "servers_mode",
]

DEFAULT_URLS = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
DEFAULT_IMAGES = {"postgres": "postgres:16", "mysql": "mariadb:11"}
MODES = ("auto", "containers", "local")
_MODE_ENV = "ORMER_TEST_SERVERS"


class ContainersUnavailable(ConfigurationError):
    """``ORMER_TEST_SERVERS=containers`` was asked for, but no container could be had."""


@dataclass(frozen=True)
class ServerTarget:
    """The URL a backend's tests use (None if none), where it came from, and why.

    ``source`` is ``"url ORMER_TEST_<BACKEND>_URL"``, ``"testcontainers <image>"``,
    ``"local <host:port>"``, or, without a URL, the reason there is none.
    ``note`` says why containers were not used when ``auto`` fell back.
    """

    backend: str
    url: str | None
    source: str
    note: str | None = None


def required_backends() -> set[str]:
    """Backends named in ``ORMER_TEST_REQUIRE`` (their absence fails, not skips)."""
    raw = os.environ.get("ORMER_TEST_REQUIRE", "")
    return {name.strip().lower() for name in raw.split(",") if name.strip()}


def servers_mode() -> str:
    """``ORMER_TEST_SERVERS`` (``auto``, ``containers`` or ``local``; default ``auto``)."""
    raw = os.environ.get(_MODE_ENV, "").strip().lower() or "auto"
    if raw not in MODES:
        raise ConfigurationError(
            f"{_MODE_ENV}={os.environ[_MODE_ENV]!r} is not one of {', '.join(MODES)}"
        )
    return raw


def image_for(backend: str) -> str:
    """The container image for a backend: ``ORMER_TEST_<BACKEND>_IMAGE`` or the default."""
    return (
        os.environ.get(f"ORMER_TEST_{backend.upper()}_IMAGE", "").strip()
        or (DEFAULT_IMAGES[backend])
    )


def _port_answers(url: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout):
            return True
    except OSError:
        return False


def _docker_engine_problem() -> str | None:
    """None when a Docker engine answers a ping, else why not."""
    try:
        import docker  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        return "the docker/testcontainers packages are not installed"
    # docker-py leaks the socket of a failed connection: collect it here, quietly,
    # rather than as a ResourceWarning (an error in the tests) in some later test.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        except Exception as exc:
            problem: str | None = f"no Docker engine answers ({_short(exc)})"
        else:
            problem = None
        gc.collect()
    return problem


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _container_class(name: str, cls: str) -> Any:
    """``testcontainers.community.<name>`` (4.15+), else the older ``testcontainers.<name>``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in (f"testcontainers.community.{name}", f"testcontainers.{name}"):
            try:
                return getattr(importlib.import_module(module), cls)
            except (ImportError, AttributeError):
                continue
    raise ImportError(f"testcontainers has no {cls} (pip install 'testcontainers[{name}]')")


def _start_failure(image: str, exc: BaseException) -> str:
    try:
        from docker.errors import (  # type: ignore[import-not-found, import-untyped, unused-ignore]
            ImageNotFound,
            NotFound,
        )
    except ImportError:
        pass
    else:
        if isinstance(exc, ImageNotFound | NotFound):
            return f"image {image} missing ({_short(exc)})"
    why = f"container {image} did not start ({type(exc).__name__}: {_short(exc)})"
    if "ryuk" in str(exc).lower():
        why += "; where its Ryuk image cannot be pulled, set TESTCONTAINERS_RYUK_DISABLED=true"
    return why


CONTAINER_LABEL = "ormer.test"
"""Every container a test session starts carries this label (``containers.sh clean``)."""
_OWNER_LABEL = "ormer.test.owner"
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@functools.cache
def _remove_orphans() -> int:
    """Remove (once per process) containers of test sessions of this host that died.

    Ryuk, testcontainers' own reaper, is disabled where its image cannot be
    pulled; a session killed before its atexit hook leaves its containers
    behind, labelled with its host and pid. Returns how many were removed.
    """
    import docker  # type: ignore[import-not-found, import-untyped, unused-ignore]

    host = socket.gethostname()
    removed = 0
    client = docker.from_env(timeout=10)
    try:
        for container in client.containers.list(all=True, filters={"label": _OWNER_LABEL}):
            owner_host, _, pid = container.labels.get(_OWNER_LABEL, "").rpartition(":")
            if owner_host == host and pid.isdigit() and not _pid_alive(int(pid)):
                container.remove(force=True, v=True)
                removed += 1
    finally:
        client.close()
    return removed


def _label_and_bind(container: Any, port: int) -> None:
    """Label the container as ours; publish its port on loopback only when we reach it there."""
    labels = {CONTAINER_LABEL: "1", _OWNER_LABEL: _owner()}
    run_id = os.environ.get("ORMER_TEST_RUN_ID")
    if run_id:  # set by tests/containers/containers.sh, which removes the run's containers
        labels[f"{CONTAINER_LABEL}.run"] = run_id
    container.with_kwargs(labels=labels)
    client = container.get_docker_client()
    if client.get_connection_mode().name == "docker_host" and client.host() in _LOOPBACK_NAMES:
        container.ports[port] = ("127.0.0.1",)


def _container_host(container: Any) -> str:
    host: str = container.get_container_host_ip()
    # "localhost" may resolve to ::1 first, where the port is not published
    return "127.0.0.1" if host in _LOOPBACK_NAMES else host


def _start_container(backend: str, image: str) -> str:
    """Start ``image`` for ``backend`` (removed at exit) and return its URL.

    The MySQL/MariaDB container's user is root: the suites create a database
    per session. A container that fails to become ready is removed before the
    error propagates.
    """
    _remove_orphans()
    if backend == "postgres":
        container = _container_class("postgres", "PostgresContainer")(image, driver=None)
        port = 5432
    else:
        container = _container_class("mysql", "MySqlContainer")(
            image, username="root", password="test", dbname="test"
        )
        port = 3306
    _label_and_bind(container, port)
    try:
        container.start()
    except BaseException:
        with contextlib.suppress(Exception):
            container.stop()
        raise
    atexit.register(container.stop)
    host = _container_host(container)
    if backend == "postgres":
        url: str = container.get_connection_url(host=host)
        return url
    user, password, dbname = container.username, container.password, container.dbname
    return f"mysql://{user}:{password}@{host}:{container.get_exposed_port(port)}/{dbname}"


def _try_start(backend: str, image: str) -> tuple[str | None, str | None]:
    """``(url, None)`` for a started container, else ``(None, why not)``."""
    # as in _docker_engine_problem: a failed start leaks docker-py sockets
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            result: tuple[str | None, str | None] = (_start_container(backend, image), None)
        except Exception as exc:
            result = (None, _start_failure(image, exc))
        gc.collect()
    return result


@functools.cache
def resolve_server(backend: str) -> ServerTarget:
    """Resolve (once per process) the database a backend's tests use.

    Raises :class:`ContainersUnavailable` under ``ORMER_TEST_SERVERS=containers``
    when no container could be started, and ``ConfigurationError`` for an
    unknown ``ORMER_TEST_SERVERS`` value.
    """
    env_name = f"ORMER_TEST_{backend.upper()}_URL"
    env = os.environ.get(env_name)
    if env:
        return ServerTarget(backend, env, f"url {env_name}")
    mode = servers_mode()
    note = f"{_MODE_ENV}=local"
    if mode != "local":
        image = image_for(backend)
        problem = _docker_engine_problem()
        if problem is None:
            url, problem = _try_start(backend, image)
            if url is not None:
                return ServerTarget(backend, url, f"testcontainers {image}")
        if mode == "containers":
            raise ContainersUnavailable(
                f"{_MODE_ENV}=containers, but no {backend} container: {problem}"
            )
        note = f"containers not used: {problem}"
    default = DEFAULT_URLS[backend]
    where = urlsplit(default).netloc.rpartition("@")[2]
    if _port_answers(default):
        return ServerTarget(backend, default, f"local {where}", note)
    return ServerTarget(
        backend,
        None,
        f"no {backend} server: {env_name} is unset, {note}, and {where} does not answer",
    )


def _resolve_or_exit(backend: str) -> ServerTarget:
    try:
        return resolve_server(backend)
    except ConfigurationError as exc:
        pytest.exit(f"ormer test servers: {exc}", returncode=pytest.ExitCode.TESTS_FAILED)


def server_url(backend: str) -> str:
    """The backend's URL inside a test; skips (or fails, if required) without one.

    A :class:`ContainersUnavailable` stops the whole session with its message
    (one message, not one failure per test).
    """
    target = _resolve_or_exit(backend)
    if target.url is not None:
        return target.url
    if backend in required_backends():
        pytest.fail(f"{target.source} (required by ORMER_TEST_REQUIRE)", pytrace=False)
    pytest.skip(target.source)


_VERSIONS: dict[str, str] = {}


async def _server_version(url: str) -> str:
    from ormer import Database

    async with await Database.connect(url) as db:
        rows = await db.exec_rows("SELECT version()")
    return str(rows[0][0])


def _describe(backend: str) -> str:
    target = _resolve_or_exit(backend)
    if target.url is None:
        return f"{backend}: none ({target.source})"
    if backend not in _VERSIONS:
        try:
            _VERSIONS[backend] = asyncio.run(_server_version(target.url))
        except Exception as exc:
            _VERSIONS[backend] = f"version unknown ({type(exc).__name__}: {_short(exc)})"
    line = f"{backend}: {_VERSIONS[backend]} [{target.source}]"
    return f"{line}; {target.note}" if target.note else line


_REPORTED: set[str] = set()


def report_lines(backends: Iterable[str], items: Iterable[pytest.Item]) -> list[str]:
    """Session-header lines for the backends that the collected ``items`` use.

    Each backend with a marked item (``@pytest.mark.postgres``/``mysql``) is
    resolved (starting its container if that is the choice) and reported
    once per process with ``SELECT version()`` and its source; meant for a
    ``pytest_report_collectionfinish`` hook in a conftest.
    """
    items = list(items)
    wanted = [
        b
        for b in backends
        if b not in _REPORTED and any(item.get_closest_marker(b) for item in items)
    ]
    _REPORTED.update(wanted)
    return [f"ormer test server {_describe(backend)}" for backend in wanted]

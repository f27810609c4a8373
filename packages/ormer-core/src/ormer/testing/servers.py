"""Where server-backed tests find their database (docs/testing.md).

For a backend (``"postgres"``, ``"mysql"``), in order:

1. ``ORMER_TEST_<BACKEND>_URL`` (e.g. ``ORMER_TEST_POSTGRES_URL``);
2. a testcontainers container, when a Docker engine answers a ping (the
   ``docker`` client binary alone is not enough);
3. the local default (``postgresql://postgres@127.0.0.1:5432/test``,
   ``mysql://root@127.0.0.1:3306/test``) when its port answers;
4. otherwise the tests skip with the reason, or fail when the backend is
   named in ``ORMER_TEST_REQUIRE=postgres,mysql``.
"""

from __future__ import annotations

import atexit
import functools
import os
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

__all__ = ["ServerTarget", "required_backends", "resolve_server", "server_url"]

DEFAULT_URLS = {
    "postgres": "postgresql://postgres@127.0.0.1:5432/test",
    "mysql": "mysql://root@127.0.0.1:3306/test",
}
_IMAGES = {"postgres": "postgres:15", "mysql": "mariadb:10.11"}


@dataclass(frozen=True)
class ServerTarget:
    """The URL a backend's tests use (None if none), and where it came from."""

    backend: str
    url: str | None
    source: str


def required_backends() -> set[str]:
    """Backends named in ``ORMER_TEST_REQUIRE`` (their absence fails, not skips)."""
    raw = os.environ.get("ORMER_TEST_REQUIRE", "")
    return {name.strip().lower() for name in raw.split(",") if name.strip()}


def _port_answers(url: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout):
            return True
    except OSError:
        return False


def _docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-not-found, import-untyped, unused-ignore]

        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def _container_class(name: str, cls: str) -> Any:
    """testcontainers moved its modules under ``community`` (4.15); accept both."""
    import importlib
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for module in (f"testcontainers.community.{name}", f"testcontainers.{name}"):
            try:
                return getattr(importlib.import_module(module), cls)
            except (ImportError, AttributeError):
                continue
    return None


def _start_container(backend: str) -> str | None:
    try:
        if backend == "postgres":
            postgres_cls = _container_class("postgres", "PostgresContainer")
            if postgres_cls is None:
                return None
            pg = postgres_cls(_IMAGES[backend], driver=None).start()
            atexit.register(pg.stop)
            url: str = pg.get_connection_url()
            return url.replace("postgresql+psycopg2://", "postgresql://")
        mysql_cls = _container_class("mysql", "MySqlContainer")
        if mysql_cls is None:
            return None
        my = mysql_cls(_IMAGES[backend]).start()
        atexit.register(my.stop)
        host, port = my.get_container_host_ip(), my.get_exposed_port(3306)
        return f"mysql://{my.username}:{my.password}@{host}:{port}/{my.dbname}"
    except Exception:
        return None


@functools.cache
def resolve_server(backend: str) -> ServerTarget:
    """Resolve (once per process) the database a backend's tests use."""
    env_name = f"ORMER_TEST_{backend.upper()}_URL"
    env = os.environ.get(env_name)
    if env:
        return ServerTarget(backend, env, f"{env_name}")
    if _docker_engine_answers():
        url = _start_container(backend)
        if url is not None:
            return ServerTarget(backend, url, f"testcontainers {_IMAGES[backend]}")
    default = DEFAULT_URLS[backend]
    if _port_answers(default):
        return ServerTarget(backend, default, "local default")
    return ServerTarget(
        backend,
        None,
        f"no {backend} server: {env_name} is unset, no Docker engine answers, "
        f"and {urlsplit(default).netloc} does not answer",
    )


def server_url(backend: str) -> str:
    """The backend's URL inside a test; skips (or fails, if required) without one."""
    target = resolve_server(backend)
    if target.url is not None:
        return target.url
    if backend in required_backends():
        pytest.fail(f"{target.source} (required by ORMER_TEST_REQUIRE)", pytrace=False)
    pytest.skip(target.source)

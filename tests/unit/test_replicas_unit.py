"""Replicated pool, multi-host URL and pgbouncer option pieces that need no server."""

from __future__ import annotations

import pytest

from ormer import ConfigurationError, Database, NotSupportedError
from ormer.dialect import parse_url
from ormer.replicas import ReplicatedPoolBuilder, is_plain_read


def test_multi_host_url() -> None:
    url = parse_url(
        "postgresql://u:p%40ss@h1:5433,h2,[::1]:5434/db?target_session_attrs=read-write"
    )
    assert url.hosts == (("h1", 5433), ("h2", None), ("::1", 5434))
    assert (url.host, url.port) == ("h1", 5433)
    assert url.password == "p@ss" and url.database == "db"
    assert url.query == {"target_session_attrs": "read-write"}
    assert url.address == "h1:5433,h2,::1:5434"
    assert "p@ss" not in repr(url) and "h2" in repr(url)
    single = parse_url("postgresql://u@h:1/db")
    assert single.hosts == () and single.address == "h:1"


@pytest.mark.parametrize("text", ["postgresql://h1:x,h2/db", "postgresql://h1,,h2/db"])
def test_bad_multi_host_url(text: str) -> None:
    with pytest.raises(ConfigurationError, match="malformed database URL"):
        parse_url(text)


@pytest.mark.parametrize(
    ("sql", "read"),
    [
        ("SELECT 1", True),
        ("  select * from t where a = 1", True),
        ("-- note\nSELECT 1", True),
        ("/* hint */ (SELECT 1) UNION (SELECT 2)", True),
        ("VALUES (1), (2)", True),
        ("SHOW server_version", True),
        ("SELECT * FROM t FOR UPDATE", False),
        ("select * from t for no key update skip locked", False),
        ("SELECT * FROM t FOR SHARE", False),
        ("SELECT * FROM t LOCK IN SHARE MODE", False),
        ("SELECT * INTO copy FROM t", False),
        ("INSERT INTO t VALUES (1)", False),
        ("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x", False),
        ("UPDATE t SET a = 1", False),
        ("CALL p()", False),
    ],
)
def test_raw_sql_routing(sql: str, read: bool) -> None:
    assert is_plain_read(sql) is read


async def test_builder_carries_the_options_set_before_replicas() -> None:
    builder = Database.create_pool("sqlite:///x.db").max_size(7).acquire_timeout(3)
    replicated = builder.replicas("sqlite:///y.db").min_size(1)
    assert isinstance(replicated, ReplicatedPoolBuilder)
    assert (replicated._max_size, replicated._acquire_timeout, replicated._min_size) == (7, 3, 1)
    with pytest.raises(NotSupportedError, match="sqlite: read replicas"):
        await replicated.build()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("pgbouncer=true&statement_cache_size=100", "statement_cache_size"),
        ("pgbouncer=true&search_path=app", "search_path"),
        ("pgbouncer=maybe", "pgbouncer"),
    ],
)
async def test_pgbouncer_option_refuses_session_state(query: str, message: str) -> None:
    # refused before any connect: no server is needed (port 9 answers nothing)
    with pytest.raises(ConfigurationError, match=message):
        await Database.connect(f"postgresql://u@127.0.0.1:9/db?{query}")


async def test_mysql_refuses_several_hosts() -> None:
    with pytest.raises(ConfigurationError, match="several hosts"):
        await Database.connect("mysql://u@127.0.0.1:9,127.0.0.1:10/db")

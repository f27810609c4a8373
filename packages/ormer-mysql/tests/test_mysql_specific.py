"""MySQL/MariaDB-specific behaviour on a real server, on both drivers.

DDL types, typed read-back, error numbers, connections killed or timed out by
the server, deadlocks, streaming, URL forms, unreachable servers, generated
ids under concurrency (RETURNING and LAST_INSERT_ID()), session reset.
"""

from __future__ import annotations

import asyncio
import datetime
import decimal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    DbType,
    ForeignKeyViolationError,
    Model,
    NotNullViolationError,
    QueryError,
    TransientError,
    UniqueViolationError,
    field,
    foreign_key,
    func,
    index,
    primary,
    unique,
)
from ormer.errors import ConnectionError as OrmerConnectionError
from ormer.errors import ConnectionLostError
from ormer.testing import fresh_tables

pytestmark = pytest.mark.mysql

UTC = datetime.UTC
D = decimal.Decimal


class MyTyped(Model, table="my_specific_typed"):
    id: int = primary(auto=True)
    code: str = unique()  # indexed, no max_length: VARCHAR(255)
    label: str = index(max_length=40)
    body: str = ""
    flag: bool = False
    at: datetime.datetime = datetime.datetime(2024, 1, 1)
    aware: datetime.datetime | None = field(default=None, timezone=True)
    ref: uuid.UUID | None = None
    price: D = field(default=D("0"), max_digits=12, decimal_places=3)
    clock: datetime.time | None = None
    ratio: float = 0.0
    blob: bytes | None = None
    meta: dict | None = None  # type: ignore[type-arg]


class MyParent(Model, table="my_specific_parent"):
    id: int = primary(auto=True)
    name: str = unique(max_length=40)


class MyChild(Model, table="my_specific_child"):
    id: int = primary(auto=True)
    parent_id: int = foreign_key("my_specific_parent.id")
    qty: int = 0


class MyRow(Model, table="my_specific_row"):
    id: int = primary(auto=True)
    name: str = unique(max_length=60)
    worker: int = 0


class MyCounter(Model, table="my_specific_counter"):
    id: int = primary()
    value: int = 0


@pytest.fixture
def url(mysql_url: str) -> str:
    return mysql_url


@pytest.fixture
async def db(url: str) -> AsyncIterator[Connection]:
    conn = await Database.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


async def connection_id(conn: Any) -> int:
    [(cid,)] = await conn.exec_rows("SELECT CONNECTION_ID()")
    return int(cid)


# -- DDL and types ----------------------------------------------------------------------
async def test_column_types_in_information_schema(db: Connection) -> None:
    await fresh_tables(db, MyTyped)
    rows = await db.exec_rows(
        "SELECT COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        ["my_specific_typed"],
    )
    types = {name: str(ctype).lower() for name, ctype, _ in rows}
    assert types["id"] == "bigint(20)" or types["id"] == "bigint"
    assert types["code"] == "varchar(255)"  # indexed str without max_length
    assert types["label"] == "varchar(40)"
    assert types["body"] == "longtext"
    assert types["flag"] == "tinyint(1)"
    assert types["at"] == "datetime(6)"
    assert types["aware"] == "datetime(6)"
    assert types["ref"] == "char(36)"
    assert types["price"] == "decimal(12,3)"
    assert types["clock"] == "time(6)"
    assert types["ratio"] == "double"
    assert types["blob"] == "longblob"
    assert types["meta"] in ("longtext", "json")  # MariaDB's JSON is LONGTEXT + CHECK
    collations = {name: coll for name, _, coll in rows if coll is not None}
    expected = "utf8mb4_nopad_bin" if db.dialect.supports_returning else None
    if expected is not None:
        assert collations["code"] == expected
        assert collations["body"] == expected
    [(table_collation,)] = await db.exec_rows(
        "SELECT TABLE_COLLATION FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
        ["my_specific_typed"],
    )
    assert str(table_collation).startswith("utf8mb4_")
    assert str(table_collation).endswith("_bin")
    [(auto,)] = await db.exec_rows(
        "SELECT EXTRA FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = 'id'",
        ["my_specific_typed"],
    )
    assert "auto_increment" in str(auto).lower()


async def test_values_read_back_typed(db: Connection) -> None:
    await fresh_tables(db, MyTyped)
    ref = uuid.uuid4()
    aware = datetime.datetime(
        2024,
        6,
        1,
        8,
        30,
        0,
        123456,
        tzinfo=datetime.timezone(datetime.timedelta(hours=5, minutes=30)),
    )
    obj = MyTyped(
        code="c1",
        label="Label",
        body="ü" * 70000,  # longer than TEXT's 64 KiB
        flag=True,
        at=datetime.datetime(2024, 2, 29, 23, 59, 59, 999999),
        aware=aware,
        ref=ref,
        price=D("-12.5"),
        clock=datetime.time(23, 59, 59, 999999),
        ratio=0.1,
        blob=b"\x00\xff'\\",
        meta={"k": ["v", 1, None]},
    )
    await db.insert(obj)
    got = await db.find(MyTyped, obj.id)
    assert got is not None
    assert got.flag is True
    assert type(got.ref) is uuid.UUID
    assert got.ref == ref
    assert type(got.clock) is datetime.time
    assert got.clock == datetime.time(23, 59, 59, 999999)
    assert got.aware == aware
    assert got.aware is not None
    assert got.aware.utcoffset() == datetime.timedelta(0)  # read back in UTC
    assert got.price == D("-12.500")
    assert str(got.price) == "-12.500"
    assert got.body == "ü" * 70000
    assert got.blob == b"\x00\xff'\\"
    assert got.meta == {"k": ["v", 1, None]}
    assert got == obj
    # stored as naive UTC: what a raw query sees
    [(raw_aware, raw_flag)] = await db.exec_rows(
        "SELECT aware, flag FROM my_specific_typed WHERE id = %s", [obj.id]
    )
    assert raw_aware == datetime.datetime(2024, 6, 1, 3, 0, 0, 123456)
    assert raw_flag == 1
    # the same conversions apply to raw SQL mapped onto the model
    [mapped] = await db.exec_table(MyTyped, "SELECT * FROM my_specific_typed")
    assert mapped == obj
    assert mapped.flag is True
    assert type(mapped.clock) is datetime.time


async def test_comparisons_are_exact_and_like_is_case_sensitive(db: Connection) -> None:
    await fresh_tables(db, MyRow)
    await db.insert([MyRow(name="abc"), MyRow(name="ABC"), MyRow(name="abc "), MyRow(name="a%c")])
    names = db.select(MyRow.name).order_by(MyRow.name).scalars()
    assert await names.filter(MyRow.name == "abc").collect() == ["abc"]  # no PAD SPACE
    assert await names.filter(MyRow.name.like("a%")).collect() == ["a%c", "abc", "abc "]
    assert await names.filter(MyRow.name.ilike("abc")).collect() == ["ABC", "abc"]
    assert await names.filter(MyRow.name.like("a!%c", escape="!")).collect() == ["a%c"]
    # a literal % in raw SQL: as written without parameters, %% with parameters
    assert await db.exec_rows("SELECT COUNT(*) FROM my_specific_row WHERE name LIKE 'a%'") == [(3,)]
    assert await db.exec_rows(
        "SELECT COUNT(*) FROM my_specific_row WHERE name LIKE 'a%%' AND name <> %s", ["abc"]
    ) == [(2,)]
    # modulo and floor division compile without a bare %
    sql, _ = db.select(MyRow.id % 2, MyRow.id // 2).select_from(MyRow).sql()
    assert "MOD(" in sql
    assert "%" not in sql.replace("%s", "")


async def test_update_counts_matched_rows(db: Connection) -> None:
    await fresh_tables(db, MyCounter)
    await db.insert([MyCounter(id=1, value=5), MyCounter(id=2, value=5)])
    # CLIENT_FOUND_ROWS: rows whose value does not change still count, as elsewhere
    assert await db.update(MyCounter).all().set(MyCounter.value, 5).execute() == 2
    assert await db.exec_non_query("UPDATE my_specific_counter SET value = 5") == 2
    # SET assignments read the old row (SIMULTANEOUS_ASSIGNMENT on MariaDB)
    await (
        db.update(MyCounter)
        .all()
        .set(MyCounter.id, MyCounter.id + 10)
        .set(MyCounter.value, MyCounter.id)
    )
    rows = await db.select(MyCounter.id, MyCounter.value).order_by(MyCounter.id).collect()
    assert rows == [(11, 1), (12, 2)]


async def test_avg_and_division_are_floats(db: Connection) -> None:
    await fresh_tables(db, MyCounter)
    await db.insert([MyCounter(id=1, value=1), MyCounter(id=2, value=2), MyCounter(id=3, value=4)])
    avg = await db.select(MyCounter).avg(MyCounter.value)
    assert type(avg) is float
    assert avg == pytest.approx(7 / 3, rel=1e-15)
    total = await db.select(MyCounter).sum(MyCounter.value)
    assert (total, type(total)) == (7, int)
    thirds = await db.select(MyCounter.value / 3).select_from(MyCounter).scalars().collect()
    assert thirds == pytest.approx([1 / 3, 2 / 3, 4 / 3], rel=1e-15)


# -- errors -----------------------------------------------------------------------------
async def test_error_numbers_are_the_sqlstate(db: Connection) -> None:
    await fresh_tables(db, MyParent, MyChild)
    parent = MyParent(name="p")
    await db.insert(parent)
    await db.insert(MyChild(parent_id=parent.id))
    with pytest.raises(UniqueViolationError) as unique_info:
        await db.insert(MyParent(name="p"))
    assert unique_info.value.sqlstate == "1062"
    with pytest.raises(ForeignKeyViolationError) as fk_info:
        await db.insert(MyChild(parent_id=-5))
    assert fk_info.value.sqlstate == "1452"
    with pytest.raises(ForeignKeyViolationError) as parent_info:
        await db.delete(MyParent).filter(MyParent.id == parent.id).execute()
    assert parent_info.value.sqlstate == "1451"
    with pytest.raises(NotNullViolationError) as null_info:
        await db.exec_non_query(
            "INSERT INTO my_specific_child (parent_id, qty) VALUES (%s, %s)", [parent.id, None]
        )
    assert null_info.value.sqlstate == "1048"
    for sql, number in (
        ("SELEC 1", "1064"),
        ("SELECT * FROM my_specific_nothing", "1146"),
        ("SELECT nothing FROM my_specific_child", "1054"),
    ):
        with pytest.raises(QueryError) as query_info:
            await db.exec_rows(sql)
        assert query_info.value.sqlstate == number
        assert number in str(query_info.value)
    assert await db.select(MyChild).count() == 1


async def test_deadlock_is_transient(url: str) -> None:
    async with await Database.connect(url) as setup:
        await fresh_tables(setup, MyCounter)
        await setup.insert([MyCounter(id=1), MyCounter(id=2)])
    a, b = await Database.connect(url), await Database.connect(url)
    try:
        tx_a, tx_b = await a.begin(), await b.begin()
        await a.update(MyCounter).filter(MyCounter.id == 1).set(MyCounter.value, 1)
        await b.update(MyCounter).filter(MyCounter.id == 2).set(MyCounter.value, 2)
        # a waits for b's row; b then waits for a's: InnoDB kills one of them
        blocked = asyncio.ensure_future(
            a.update(MyCounter).filter(MyCounter.id == 2).set(MyCounter.value, 1).execute()
        )
        await asyncio.sleep(0.3)
        results = await asyncio.gather(
            b.update(MyCounter).filter(MyCounter.id == 1).set(MyCounter.value, 2).execute(),
            blocked,
            return_exceptions=True,
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1, results
        assert isinstance(errors[0], TransientError)
        assert errors[0].sqlstate == "1213"
        for tx in (tx_a, tx_b):  # the victim's transaction was rolled back by InnoDB
            await tx.rollback()
    finally:
        await a.close()
        await b.close()


async def test_lock_wait_timeout_is_transient(url: str) -> None:
    async with await Database.connect(url) as a, await Database.connect(url) as b:
        await fresh_tables(a, MyCounter)
        await a.insert(MyCounter(id=1))
        await b.exec_non_query("SET SESSION innodb_lock_wait_timeout = 1")
        async with a.transaction():
            await a.update(MyCounter).filter(MyCounter.id == 1).set(MyCounter.value, 9)
            with pytest.raises(TransientError) as info:
                await b.update(MyCounter).filter(MyCounter.id == 1).set(MyCounter.value, 7)
            assert info.value.sqlstate == "1205"
        assert await b.select(MyCounter.value).scalars().collect() == [9]


# -- connections the server ends ---------------------------------------------------------------
async def test_killed_connection_is_replaced_at_checkout(url: str) -> None:
    pool = await Database.create_pool(url).max_size(1).health_check(0).build()
    try:
        async with pool.get() as conn:
            victim = await connection_id(conn)
        async with await Database.connect(url) as admin:
            await admin.exec_non_query(f"KILL {victim}")
        await asyncio.sleep(0.1)
        async with pool.get() as conn:  # the dead one fails its ping and is replaced
            assert await connection_id(conn) != victim
            assert await conn.exec_rows("SELECT 1") == [(1,)]
        stats = pool.stats()
        assert stats.closed == 1
        assert stats.created == 2
        assert stats.size == 1
    finally:
        await pool.close()


async def test_killed_connection_in_use_raises_connection_lost(db: Connection, url: str) -> None:
    victim = await connection_id(db)
    async with await Database.connect(url) as admin:
        await admin.exec_non_query(f"KILL {victim}")
    await asyncio.sleep(0.1)
    with pytest.raises(ConnectionLostError):
        await db.exec_rows("SELECT 1")
    assert db.is_closed


async def test_server_side_idle_timeout_is_invisible_through_the_pool(url: str) -> None:
    async with await Database.connect(url) as setup:
        await fresh_tables(setup, MyCounter)
    pool = await (
        Database.create_pool(url)
        .max_size(1)
        .health_check(0)
        .connect_options(init_command="SET SESSION wait_timeout = 1")
        .build()
    )
    try:
        async with pool.get() as conn:
            first = await connection_id(conn)  # raw SQL: the session is reset on return
            assert first == conn.driver.thread_id  # type: ignore[attr-defined]
        await asyncio.sleep(2.5)  # the server closes the idle connection
        async with pool.get() as conn:
            assert conn.driver.thread_id != first  # type: ignore[attr-defined]
            assert await conn.select(func.count()).select_from(MyCounter).scalars().collect()
        assert pool.stats().closed == 1
        # pool-level statements go through the same replacement
        await asyncio.sleep(2.5)
        assert await pool.exec_rows("SELECT 2") == [(2,)]
    finally:
        await pool.close()


async def test_cancelled_query_discards_the_connection(url: str) -> None:
    pool = await Database.create_pool(url).max_size(1).build()
    try:
        async with pool.get() as conn:
            first = conn.driver.thread_id  # type: ignore[attr-defined]
        task = asyncio.ensure_future(pool.exec_rows("SELECT SLEEP(5)"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        started = time.monotonic()
        async with pool.get() as conn:  # a fresh connection, not the desynced one
            assert conn.driver.thread_id != first  # type: ignore[attr-defined]
            assert await conn.exec_rows("SELECT 4") == [(4,)]
        assert time.monotonic() - started < 2
        assert pool.stats().closed == 1
    finally:
        await pool.close()


async def test_open_transaction_is_rolled_back_on_return(url: str) -> None:
    async with await Database.create_pool(url).max_size(1).build() as pool:
        await pool.drop_table(MyCounter)
        await pool.create_table(MyCounter)
        async with pool.get() as conn:
            await conn.begin()
            await conn.insert(MyCounter(id=1))
        async with pool.get() as conn:
            assert not conn.in_transaction
            assert not conn.driver_in_transaction()
            assert await conn.select(MyCounter).count() == 0


async def test_pool_resets_the_session_on_return(url: str) -> None:
    pool = await Database.create_pool(url).max_size(1).build()
    try:
        async with pool.get() as conn:
            cid = await connection_id(conn)
            await conn.exec_non_query("SET @ormer_leftover = 42")
            await conn.exec_non_query("SET SESSION sql_mode = ''")
            await conn.exec_non_query("START TRANSACTION")
            assert conn.driver_in_transaction()
        async with pool.get() as conn:
            assert await connection_id(conn) == cid  # the same connection, reset
            assert await conn.exec_rows("SELECT @ormer_leftover") == [(None,)]
            [(mode,)] = await conn.exec_rows("SELECT @@SESSION.sql_mode")
            assert "STRICT_ALL_TABLES" in str(mode)
            assert not conn.driver_in_transaction()
            [(charset,)] = await conn.exec_rows("SELECT @@character_set_client")
            assert charset == "utf8mb4"
    finally:
        await pool.close()


# -- streaming, URLs, connecting ------------------------------------------------------------
async def test_stream_in_batches_smaller_than_the_result(db: Connection) -> None:
    await fresh_tables(db, MyCounter)
    await db.insert([MyCounter(id=i, value=i * 2) for i in range(1, 1001)])
    batches = [len(b) async for b in db.driver.stream("SELECT id FROM my_specific_counter", [], 64)]
    assert sum(batches) == 1000
    assert max(batches) == 64
    seen = [c.value async for c in db.select(MyCounter).order_by(MyCounter.id).stream(batch=7)]
    assert seen == [i * 2 for i in range(1, 1001)]
    # leaving a stream early drains it: the connection goes on working
    async for c in db.select(MyCounter).order_by(MyCounter.id).stream(batch=10):
        if c.id == 15:
            break
    assert await db.select(MyCounter).count() == 1000
    assert db.dialect.supports_server_side_cursor


async def test_url_schemes(mysql_server: str) -> None:
    rest = mysql_server.split("://", 1)[1]
    drivers = {
        "mysql": "AiomysqlDriver",
        "mariadb": "AiomysqlDriver",
        "mysql+aiomysql": "AiomysqlDriver",
        "mysql+asyncmy": "AsyncmyDriver",
        "mariadb+asyncmy": "AsyncmyDriver",
    }
    for scheme, driver in drivers.items():
        async with await Database.connect(f"{scheme}://{rest}") as conn:
            assert conn.dialect.name == "mysql"
            assert type(conn.driver).__name__ == driver
            assert await conn.exec_rows("SELECT 1") == [(1,)]
    async with await Database.connect(mysql_server, driver="asyncmy") as conn:
        assert type(conn.driver).__name__ == "AsyncmyDriver"
    async with await Database.connect(DbType.MYSQL, mysql_server) as conn:
        assert await conn.exec_rows("SELECT 2") == [(2,)]
    async with await Database.create_pool(DbType.MYSQL, f"mariadb://{rest}").build() as pool:
        assert await pool.exec_rows("SELECT 3") == [(3,)]
    with pytest.raises(ConfigurationError):
        await Database.connect(f"mysql+nosuchdriver://{rest}")
    with pytest.raises(ConfigurationError):
        await Database.connect(mysql_server, no_such_option=1)


async def test_unreachable_server_fails_within_the_timeout(mysql_driver: str) -> None:
    scheme = "mysql+asyncmy" if mysql_driver == "asyncmy" else "mysql"
    started = time.monotonic()
    with pytest.raises(OrmerConnectionError):
        await Database.connect(f"{scheme}://root@127.0.0.1:1/test", connect_timeout=3)
    with pytest.raises(OrmerConnectionError):
        await Database.create_pool(f"{scheme}://root@127.0.0.1:1/test").min_size(1).build()
    assert time.monotonic() - started < 10


async def test_silent_server_fails_within_the_connect_timeout(mysql_driver: str) -> None:
    """A server that accepts TCP but never sends its handshake cannot hang connect()."""
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    scheme = "mysql+asyncmy" if mysql_driver == "asyncmy" else "mysql"
    try:
        started = time.monotonic()
        with pytest.raises(OrmerConnectionError, match="timed out"):
            await Database.connect(f"{scheme}://root@127.0.0.1:{port}/test?connect_timeout=1")
        assert 0.9 < time.monotonic() - started < 5
    finally:
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_wrong_credentials_are_a_connection_error(mysql_server: str) -> None:
    rest = mysql_server.split("://", 1)[1].split("@", 1)[1]
    with pytest.raises(OrmerConnectionError, match=r"1045|denied"):
        await Database.connect(f"mysql://ormer_no_such_user:pw@{rest}")


# -- generated ids --------------------------------------------------------------------------
@pytest.mark.parametrize("returning", [True, False], ids=["returning", "last_insert_id"])
async def test_generated_ids_under_concurrent_batch_inserts(url: str, returning: bool) -> None:
    target = url + ("" if returning else "?returning=false")
    pool = await Database.create_pool(target).max_size(4).build()
    try:
        await pool.drop_table(MyRow)
        await pool.create_table(MyRow)

        async def work(worker: int) -> list[MyRow]:
            made: list[MyRow] = []
            for round_ in range(5):
                batch = [MyRow(name=f"w{worker}-r{round_}-{i}", worker=worker) for i in range(120)]
                single = MyRow(name=f"w{worker}-r{round_}-single", worker=worker)
                async with pool.get() as conn:
                    assert conn.dialect.supports_returning is returning
                    await conn.insert(batch)
                    await conn.insert(single)
                made += [*batch, single]
                await asyncio.sleep(0)
            return made

        groups = await asyncio.gather(*(work(w) for w in range(4)))
        objects = [o for group in groups for o in group]
        assert len({o.id for o in objects}) == len(objects)
        stored = {r.id: r.name for r in await pool.select(MyRow).collect()}
        assert stored == {o.id: o.name for o in objects}
    finally:
        await pool.close()


@pytest.mark.parametrize("returning", [True, False], ids=["returning", "last_insert_id"])
async def test_upsert_sets_the_key_of_the_updated_row(url: str, returning: bool) -> None:
    async with await Database.connect(url + ("" if returning else "?returning=false")) as conn:
        await fresh_tables(conn, MyRow)
        first = MyRow(name="same", worker=1)
        await conn.insert([MyRow(name="other"), first])
        again = MyRow(name="same", worker=2)
        await conn.insert_or_update(again, conflict=(MyRow.name,))
        assert again.id == first.id
        rows = await conn.select(MyRow.name, MyRow.worker).order_by(MyRow.id).collect()
        assert rows == [("other", 0), ("same", 2)]
        fresh = MyRow(name="new", worker=3)
        await conn.insert_or_update(fresh, conflict=(MyRow.name,))
        assert await conn.find(MyRow, fresh.id) == fresh


async def test_pool_level_statements_use_the_server_variant(url: str) -> None:
    async with await Database.create_pool(url).max_size(2).build() as pool:
        await pool.drop_table(MyRow)
        await pool.create_table(MyRow)
        rows = [MyRow(name=f"p{i}") for i in range(10)]
        await pool.insert(rows)
        assert all(isinstance(r.id, int) for r in rows)
        assert await pool.select(func.count()).select_from(MyRow).scalars().collect() == [10]
        assert await pool.select(MyRow).filter(MyRow.name.like("p%")).count() == 10


class MyQuoted(Model, table="my_specific_quoted"):
    id: int = primary(auto=True)
    text: str


# Strings built to break out of a literal under either escaping rule.
HOSTILE = [
    "' OR 1=1 -- ",
    "\\' OR 1=1 -- ",
    "\\\\'); DROP TABLE my_specific_quoted; -- ",
    "quote ' and \" and \\ and \x1a and \n and \r end",
    "\\",
    "''",
]


@pytest.mark.parametrize("sql_mode", ["", "NO_BACKSLASH_ESCAPES"])
async def test_values_cannot_escape_their_literal(db: Connection, sql_mode: str) -> None:
    """The text protocol has no bind parameters: values are escaped client-side, by the
    session's live escaping mode (switched here mid-session by raw SQL)."""
    await fresh_tables(db, MyQuoted)
    await db.exec_non_query(f"SET SESSION sql_mode = CONCAT(@@sql_mode, ',{sql_mode}')")
    await db.insert([MyQuoted(text=t) for t in HOSTILE])
    rows = await db.select(MyQuoted).order_by(MyQuoted.id).collect()
    assert [r.text for r in rows] == HOSTILE
    for t in HOSTILE:
        assert [r.text for r in await db.select(MyQuoted).filter(MyQuoted.text == t).collect()] == [
            t
        ]
    q = db.dialect.quote("my_specific_quoted")
    raw = await db.exec_rows(
        f"SELECT COUNT(*) FROM {q} WHERE text = {db.dialect.placeholder(1)}", [HOSTILE[1]]
    )
    assert raw == [(1,)]


@pytest.mark.parametrize("min_size", [0, 1])
async def test_a_pool_compiles_for_the_server_from_the_start(url: str, min_size: int) -> None:
    """The pool learns MariaDB-or-MySQL when built: ``pool.dialect`` and a connection's
    agree before anything compiles (RETURNING support, for one)."""
    async with await Database.create_pool(url).min_size(min_size).max_size(2).build() as pool:
        compiled_first = pool.select(MyTyped).filter(MyTyped.id == 1).sql()
        assert pool.stats().size == min_size  # a probe is not a pool member
        async with pool.get() as conn:
            assert type(pool.dialect) is type(conn.dialect)
            assert pool.dialect.supports_returning is conn.dialect.supports_returning
            assert conn.select(MyTyped).filter(MyTyped.id == 1).sql() == compiled_first

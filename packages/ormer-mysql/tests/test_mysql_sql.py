"""The SQL the MySQL dialect renders (no server needed)."""

from __future__ import annotations

import datetime

import pytest

from ormer import Model, NotSupportedError, index, primary, unique
from ormer.compiler import SQLCompiler, compile_statement
from ormer.locks import RowLock
from ormer.model import table_of
from ormer.statements import CompoundStmt, InsertStmt, SelectStmt
from ormer.types import ColumnType, Kind
from ormer_mysql.dialect import (
    MariaDBBefore103Dialect,
    MariaDBDialect,
    MariaDBLastInsertIdDialect,
    MySQLBefore8031Dialect,
    MySQLCompiler,
    MySQLDialect,
    _version_numbers,
)

pytestmark = pytest.mark.mysql


class SqlItem(Model, table="my_sql_item"):
    id: int = primary(auto=True)
    code: str = unique()
    city: str = index(max_length=40)
    note: str = ""


def compiler(dialect: MySQLDialect) -> SQLCompiler:
    return dialect.compiler(dialect)


def test_server_versions_choose_the_variant() -> None:
    base = MySQLDialect()
    assert _version_numbers("5.5.5-10.11.19-MariaDB-0+deb12u1") == (10, 11, 19)
    assert _version_numbers("8.0.36") == (8, 0, 36)
    maria = base.for_server("5.5.5-10.11.19-MariaDB-0+deb12u1")
    assert type(maria) is MariaDBDialect
    assert maria.supports_returning
    assert base.for_server("10.6.1-MariaDB") is maria  # shared per variant
    assert maria.for_server("10.6.1-MariaDB") is maria  # asked through a variant too
    old = base.for_server("10.4.30-MariaDB")
    assert type(old) is MariaDBLastInsertIdDialect
    assert base.for_server("10.11.2-MariaDB", returning=False) is old
    assert base.for_server("8.0.36") is base
    assert not base.supports_returning
    assert base.lastrowid_is_first


def test_servers_without_intersect_and_except() -> None:
    """MariaDB before 10.3 and MySQL before 8.0.31 have no INTERSECT/EXCEPT: their
    variants say so, and compiling one raises NotSupportedError (UNION still works)."""
    base = MySQLDialect()
    assert base.for_server("8.0.31") is base
    assert base.supports_intersect_except
    assert base.for_server("10.3.0-MariaDB").supports_intersect_except
    for version in ("8.0.30", "5.5.5-10.2.44-MariaDB"):
        old = base.for_server(version)
        assert old is not base and not old.supports_intersect_except
        assert base.for_server(version) is old  # shared per variant
        assert old.supports_recursive_cte
        left = SelectStmt((SqlItem.code,), table_of(SqlItem))
        right = SelectStmt((SqlItem.code,), table_of(SqlItem))
        union = compile_statement(old, CompoundStmt("UNION", left, right))[0].sql
        member = "SELECT `my_sql_item`.`code` FROM `my_sql_item`"
        assert union == f"{member} UNION {member}"
        for op in ("INTERSECT", "EXCEPT"):
            with pytest.raises(NotSupportedError, match=op):
                compile_statement(old, CompoundStmt(op, left, right))
    assert type(base.for_server("5.5.5-10.2.44-MariaDB")) is MariaDBBefore103Dialect
    assert type(base.for_server("8.0.20")) is MySQLBefore8031Dialect


def test_type_names() -> None:
    d = MySQLDialect()
    assert d.type_name(ColumnType(Kind.STR, str), indexed=True) == "VARCHAR(255)"
    assert d.type_name(ColumnType(Kind.STR, str), indexed=False) == "LONGTEXT"
    assert d.type_name(ColumnType(Kind.STR, str, max_length=20), indexed=False) == "VARCHAR(20)"
    assert d.type_name(ColumnType(Kind.BYTES, bytes), indexed=False) == "LONGBLOB"
    assert d.type_name(ColumnType(Kind.BYTES, bytes), indexed=True) == "VARBINARY(255)"
    assert d.type_name(ColumnType(Kind.BOOL, bool), indexed=False) == "TINYINT(1)"
    assert d.type_name(ColumnType(Kind.FLOAT, float), indexed=False) == "DOUBLE"
    aware = ColumnType(Kind.DATETIME, datetime.datetime, timezone=True)
    assert d.type_name(aware, indexed=False) == "DATETIME(6)"
    assert d.type_name(ColumnType(Kind.TIME, datetime.time), indexed=False) == "TIME(6)"


def test_create_table_per_server() -> None:
    info = table_of(SqlItem)
    maria = compiler(MariaDBDialect()).create_table_sql(info, True)
    assert maria[0].startswith("CREATE TABLE IF NOT EXISTS `my_sql_item`")
    assert "`id` BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY" in maria[0]
    assert "`code` VARCHAR(255) NOT NULL" in maria[0]
    assert maria[0].endswith("DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin")
    assert maria[1].startswith("CREATE INDEX IF NOT EXISTS")
    mysql = compiler(MySQLDialect()).create_table_sql(info, True)
    assert len(mysql) == 1  # MySQL has no CREATE INDEX IF NOT EXISTS: declared inline
    assert "INDEX `" in mysql[0]
    assert mysql[0].endswith("COLLATE=utf8mb4_0900_bin")


def test_drop_table() -> None:
    info = table_of(SqlItem)
    assert compiler(MariaDBDialect()).drop_table_sql(info, True) == (
        "SET STATEMENT foreign_key_checks = 0 FOR DROP TABLE IF EXISTS `my_sql_item`"
    )
    assert compiler(MySQLDialect()).drop_table_sql(info, False) == "DROP TABLE `my_sql_item`"


def test_upsert_clause() -> None:
    info = table_of(SqlItem)
    columns = tuple(f for f in info.fields if f is not info.auto)
    conflict = (info.fields[1],)
    returning = InsertStmt(info, columns, 1, (info.auto,), True, conflict)
    sql = compiler(MariaDBDialect()).insert_sql(returning)
    assert "ON DUPLICATE KEY UPDATE `city` = VALUES(`city`), `note` = VALUES(`note`)" in sql
    assert sql.endswith("RETURNING `id`")
    plain = InsertStmt(info, columns, 1, (), True, conflict)
    sql = compiler(MySQLDialect()).insert_sql(plain)
    assert sql.endswith("`id` = LAST_INSERT_ID(`id`)")
    assert "%s, %s, %s" in sql


def test_string_literals_escape_backslash_quote_and_percent() -> None:
    c = MySQLCompiler(MySQLDialect())
    assert c.string_literal("\\") == "'\\\\'"
    assert c.string_literal("'") == "''''"
    assert c.string_literal("%") == "'%%'"
    assert c.limit_clause(None, "%s") == "LIMIT 18446744073709551615 OFFSET %s"


def locked_sql(dialect: MySQLDialect, lock: RowLock) -> str:
    item = table_of(SqlItem)
    stmt = SelectStmt((item,), item)
    stmt.lock = lock
    return compile_statement(dialect, stmt)[0].sql


def test_row_lock_clauses_per_server() -> None:
    mysql, maria = MySQLDialect(), MariaDBDialect()
    item = table_of(SqlItem)
    for d in (mysql, maria):
        assert locked_sql(d, RowLock(False, False, False, ())).endswith(" FOR UPDATE")
        assert locked_sql(d, RowLock(False, True, False, ())).endswith(" FOR UPDATE SKIP LOCKED")
        assert locked_sql(d, RowLock(False, False, True, ())).endswith(" FOR UPDATE NOWAIT")
    # FOR SHARE and OF are MySQL 8's; MariaDB has LOCK IN SHARE MODE and no OF
    assert locked_sql(mysql, RowLock(True, True, False, ())).endswith(" FOR SHARE SKIP LOCKED")
    assert locked_sql(maria, RowLock(True, False, True, ())).endswith(" LOCK IN SHARE MODE NOWAIT")
    assert locked_sql(mysql, RowLock(False, False, False, (item,))).endswith(
        " FOR UPDATE OF `my_sql_item`"
    )
    with pytest.raises(NotSupportedError, match="of="):
        locked_sql(maria, RowLock(False, False, False, (item,)))

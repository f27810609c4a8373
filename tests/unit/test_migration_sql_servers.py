"""Migration SQL of the server dialects, without a server: the exact statements each
operation renders on PostgreSQL and MySQL/MariaDB, the catalog spellings of types
and defaults they normalize, and MySQL's type widenings."""

from __future__ import annotations

import decimal

import pytest

from ormer.migrations import (
    AddColumn,
    AddForeignKey,
    AlterColumn,
    ColumnSchema,
    CreateIndex,
    DropColumn,
    DropForeignKey,
    DropIndex,
    ForeignKeySchema,
    IndexSchema,
    LiveColumn,
    LiveTable,
    TableSchema,
)
from ormer_mysql import migrate as my
from ormer_mysql.dialect import MariaDBDialect, MySQLDialect
from ormer_postgres import migrate as pg
from ormer_postgres.dialect import PostgresDialect

PG = PostgresDialect()
MYSQL = MySQLDialect()
MARIADB = MariaDBDialect()

NAME = ColumnSchema("name", "str", max_length=50)
FK = ForeignKeySchema("fk_post_team_id", ("team_id",), "team", ("id",), "cascade")
LIVE = LiveTable(
    "post",
    (
        LiveColumn("id", "BIGINT", False, primary=True, auto=True),
        LiveColumn("team_id", "BIGINT", True),
        LiveColumn("name", "VARCHAR(20)", False, "'x'"),
    ),
    primary_key=("id",),
    indexes=(IndexSchema("ix_post_team_id", ("team_id",)),),
    foreign_keys=(FK,),
)


def sql(
    dialect: PostgresDialect | MySQLDialect, op: object, live: LiveTable | None = LIVE
) -> list[str] | None:
    compiler = dialect.compiler(dialect)
    return compiler.migration_sql(op, live)  # type: ignore[arg-type]


# -- PostgreSQL --------------------------------------------------------------------------------
def test_postgres_add_and_drop_column() -> None:
    column = ColumnSchema("score", "int", default=0)
    assert sql(PG, AddColumn("post", column)) == [
        'ALTER TABLE "post" ADD COLUMN "score" BIGINT DEFAULT 0 NOT NULL'
    ]
    assert sql(PG, DropColumn("post", column)) == ['ALTER TABLE "post" DROP COLUMN "score"']


def test_postgres_alter_column_type_default_and_null_in_one_statement() -> None:
    op = AlterColumn("post", LIVE.columns[2], ColumnSchema("name", "str", nullable=True))
    assert sql(PG, op) == [
        'ALTER TABLE "post" ALTER COLUMN "name" DROP DEFAULT, '
        'ALTER COLUMN "name" TYPE TEXT USING "name"::TEXT, '
        'ALTER COLUMN "name" DROP NOT NULL'
    ]
    op = AlterColumn("post", LIVE.columns[1], ColumnSchema("team_id", "int", default=1))
    assert sql(PG, op) == [
        'ALTER TABLE "post" ALTER COLUMN "team_id" SET DEFAULT 1, '
        'ALTER COLUMN "team_id" SET NOT NULL'
    ]
    op = AlterColumn("post", LIVE.columns[2], ColumnSchema("name", "str", max_length=20))
    assert sql(PG, op) == ['ALTER TABLE "post" ALTER COLUMN "name" DROP DEFAULT']


def test_postgres_indexes_and_unique_constraints() -> None:
    unique = IndexSchema("uq_post_name", ("name",), unique=True)
    plain = IndexSchema("ix_post_ab", ("a", "b"))
    assert sql(PG, CreateIndex("post", unique)) == [
        'ALTER TABLE "post" ADD CONSTRAINT "uq_post_name" UNIQUE ("name")'
    ]
    assert sql(PG, CreateIndex("post", plain)) == ['CREATE INDEX "ix_post_ab" ON "post" ("a", "b")']
    assert sql(PG, DropIndex("post", plain)) == ['DROP INDEX "ix_post_ab"']
    assert sql(PG, DropIndex("post", unique)) == [
        'ALTER TABLE "post" DROP CONSTRAINT IF EXISTS "uq_post_name"',
        'DROP INDEX IF EXISTS "uq_post_name"',
    ]


def test_postgres_foreign_keys() -> None:
    assert sql(PG, AddForeignKey("post", FK)) == [
        'ALTER TABLE "post" ADD CONSTRAINT "fk_post_team_id" FOREIGN KEY ("team_id") '
        'REFERENCES "team" ("id") ON DELETE CASCADE'
    ]
    assert sql(PG, DropForeignKey("post", FK)) == [
        'ALTER TABLE "post" DROP CONSTRAINT "fk_post_team_id"'
    ]


@pytest.mark.parametrize(
    ("catalog", "rendered"),
    [
        ("character varying(50)", "VARCHAR(50)"),
        ("numeric(12,3)", "NUMERIC(12, 3)"),
        ("timestamp with time zone", "TIMESTAMPTZ"),
        ("timestamp without time zone", "TIMESTAMP"),
        ("time without time zone", "TIME"),
        ("double precision", "DOUBLE PRECISION"),
        ("bigint", "BIGINT"),
        ("jsonb", "JSONB"),
    ],
)
def test_postgres_catalog_types_match_type_name(catalog: str, rendered: str) -> None:
    assert pg.normalize_type(catalog) == pg.normalize_type(rendered)


@pytest.mark.parametrize(
    ("catalog", "value"),
    [
        ("'abc'::text", "abc"),
        ("'x''y'::character varying", "x'y"),
        ("'-3'::integer", -3),
        ("(3)::bigint", 3),
        ("'100000000000000000000'::numeric", 1e20),
        ("1.50", decimal.Decimal("1.5")),
        ("true", True),
        ("'3'::text", "3"),
    ],
)
def test_postgres_catalog_defaults_match_default_sql(catalog: str, value: object) -> None:
    kind = {str: "str", int: "int", float: "float", bool: "bool"}.get(type(value), "decimal")
    rendered = PG.default_sql(ColumnSchema("c", kind, default=value))
    assert PG.normalize_default(catalog) == PG.normalize_default(rendered)


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        ("JSONB", "TEXT", "widen"),
        ("TEXT", "JSONB", "narrow"),
        ("BOOLEAN", "BIGINT", "widen"),
        ("BIGINT", "BOOLEAN", "narrow"),
        ("VARCHAR(20)", "TEXT", "widen"),
        ("NUMERIC(10,2)", "NUMERIC(12,2)", "widen"),
        ("TIMESTAMP", "TIMESTAMPTZ", "narrow"),
    ],
)
def test_postgres_type_change(old: str, new: str, verdict: str) -> None:
    assert PG.type_change(old, new) == verdict


def test_postgres_using_casts_booleans_through_integer() -> None:
    assert pg.using_sql('"f"', "BOOLEAN", "BIGINT") == '"f"::INTEGER::BIGINT'
    assert pg.using_sql('"f"', "BIGINT", "BOOLEAN") == '"f" <> 0'
    assert pg.using_sql('"f"', "TEXT", "JSONB") == '"f"::JSONB'


def test_postgres_default_string_and_number_stay_apart() -> None:
    assert PG.normalize_default("'3'::text") == "'3'"
    assert PG.normalize_default("3") == "3"


# -- MySQL / MariaDB ---------------------------------------------------------------------------
def test_mysql_add_drop_and_modify_column() -> None:
    column = ColumnSchema("score", "int", default=0)
    assert sql(MARIADB, AddColumn("post", column)) == [
        "ALTER TABLE `post` ADD COLUMN `score` BIGINT NOT NULL DEFAULT 0"
    ]
    assert sql(MARIADB, DropColumn("post", column)) == ["ALTER TABLE `post` DROP COLUMN `score`"]
    op = AlterColumn("post", LIVE.columns[2], ColumnSchema("name", "str", nullable=True))
    assert sql(MARIADB, op) == ["ALTER TABLE `post` MODIFY COLUMN `name` LONGTEXT NULL"]
    op = AlterColumn("post", LIVE.columns[2], ColumnSchema("name", "str", default="a\\'b"))
    assert sql(MARIADB, op) == [
        "ALTER TABLE `post` MODIFY COLUMN `name` LONGTEXT NOT NULL DEFAULT 'a\\\\''b'"
    ]


def test_mysql_gives_text_columns_no_literal_default_but_mariadb_does() -> None:
    text = ColumnSchema("body", "str", default="x")
    short = ColumnSchema("code", "str", max_length=5, default="x")
    assert sql(MYSQL, AddColumn("post", text)) == [
        "ALTER TABLE `post` ADD COLUMN `body` LONGTEXT NOT NULL"
    ]
    assert sql(MYSQL, AddColumn("post", short)) == [
        "ALTER TABLE `post` ADD COLUMN `code` VARCHAR(5) NOT NULL DEFAULT 'x'"
    ]
    assert sql(MARIADB, AddColumn("post", text)) == [
        "ALTER TABLE `post` ADD COLUMN `body` LONGTEXT NOT NULL DEFAULT 'x'"
    ]


def test_mysql_types_an_indexed_string_as_varchar() -> None:
    target = TableSchema(
        "post", (ColumnSchema("tag", "str"),), indexes=(IndexSchema("ix_post_tag", ("tag",)),)
    )
    compiler = MARIADB.compiler(MARIADB)
    assert compiler.migration_sql(AddColumn("post", target.columns[0]), LIVE, target) == [
        "ALTER TABLE `post` ADD COLUMN `tag` VARCHAR(255) NOT NULL"
    ]


def test_mysql_indexes_and_unique_constraints() -> None:
    unique = IndexSchema("uq_post_name", ("name",), unique=True)
    plain = IndexSchema("ix_post_ab", ("a", "b"))
    assert sql(MARIADB, CreateIndex("post", unique)) == [
        "ALTER TABLE `post` ADD CONSTRAINT `uq_post_name` UNIQUE (`name`)"
    ]
    assert sql(MARIADB, CreateIndex("post", plain)) == [
        "ALTER TABLE `post` ADD INDEX `ix_post_ab` (`a`, `b`)"
    ]
    assert sql(MARIADB, DropIndex("post", unique)) == [
        "ALTER TABLE `post` DROP INDEX `uq_post_name`"
    ]


def test_mysql_dropping_the_index_a_foreign_key_needs_adds_its_own() -> None:
    op = DropIndex("post", LIVE.indexes[0])
    assert sql(MARIADB, op) == [
        "ALTER TABLE `post` DROP INDEX `ix_post_team_id`, ADD INDEX `team_id` (`team_id`)"
    ]
    without_fk = LiveTable("post", LIVE.columns, LIVE.primary_key, LIVE.indexes)
    assert sql(MARIADB, op, without_fk) == ["ALTER TABLE `post` DROP INDEX `ix_post_team_id`"]


def test_mysql_an_index_serving_a_foreign_key_replaces_the_one_innodb_made() -> None:
    live = my.MySQLLiveTable(
        "post",
        LIVE.columns,
        LIVE.primary_key,
        foreign_keys=(FK,),
        foreign_key_indexes=(IndexSchema("team_id", ("team_id",)),),
    )
    ix = IndexSchema("ix_post_team_id", ("team_id",))
    assert sql(MARIADB, CreateIndex("post", ix), live) == [
        "ALTER TABLE `post` ADD INDEX `ix_post_team_id` (`team_id`), DROP INDEX `team_id`"
    ]
    # ... and dropping a model index while InnoDB's still serves the key needs no other
    with_ix = my.MySQLLiveTable(
        "post",
        LIVE.columns,
        LIVE.primary_key,
        indexes=(ix,),
        foreign_keys=(FK,),
        foreign_key_indexes=(IndexSchema("team_id", ("team_id",)),),
    )
    assert sql(MARIADB, DropIndex("post", ix), with_ix) == [
        "ALTER TABLE `post` DROP INDEX `ix_post_team_id`"
    ]


def test_mysql_foreign_keys_and_the_index_innodb_made() -> None:
    assert sql(MARIADB, AddForeignKey("post", FK)) == [
        "ALTER TABLE `post` ADD CONSTRAINT `fk_post_team_id` FOREIGN KEY (`team_id`) "
        "REFERENCES `team` (`id`) ON DELETE CASCADE"
    ]
    assert sql(MARIADB, DropForeignKey("post", FK)) == [
        "ALTER TABLE `post` DROP FOREIGN KEY `fk_post_team_id`"
    ]
    live = my.MySQLLiveTable(
        "post",
        LIVE.columns,
        LIVE.primary_key,
        foreign_keys=(FK,),
        foreign_key_indexes=(IndexSchema("fk_post_team_id", ("team_id",)),),
    )
    assert sql(MARIADB, DropForeignKey("post", FK), live) == [
        "ALTER TABLE `post` DROP FOREIGN KEY `fk_post_team_id`",
        "ALTER TABLE `post` DROP INDEX `fk_post_team_id`",
    ]


def test_mysql_ddl_is_not_transactional() -> None:
    assert not MARIADB.transactional_ddl and not MYSQL.transactional_ddl
    assert PG.transactional_ddl


@pytest.mark.parametrize(
    ("catalog", "normalized"),
    [
        ("bigint(20)", "BIGINT"),
        ("bigint", "BIGINT"),
        ("tinyint(1)", "TINYINT(1)"),
        ("decimal(12,3)", "DECIMAL(12,3)"),
        ("varchar(255)", "VARCHAR(255)"),
        ("datetime(6)", "DATETIME(6)"),
        ("int(11)", "INT"),
    ],
)
def test_mysql_catalog_types(catalog: str, normalized: str) -> None:
    assert my.normalize_type(catalog) == normalized


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("int", {}),
        ("str", {}),
        ("str", {"max_length": 40}),
        ("float", {}),
        ("bool", {}),
        ("bytes", {}),
        ("bytes", {"max_length": 16}),
        ("decimal", {"max_digits": 12, "decimal_places": 3}),
        ("date", {}),
        ("time", {}),
        ("datetime", {}),
        ("datetime", {"timezone": True}),
        ("uuid", {}),
        ("json", {}),
    ],
)
@pytest.mark.parametrize("indexed", [False, True])
def test_normalize_type_is_idempotent_on_every_kind(
    kind: str, params: dict[str, object], indexed: bool
) -> None:
    """What type_name renders, normalized, is already in normalized form (what the
    catalog readers produce) on every dialect variant."""
    ct = ColumnSchema("c", kind, **params).column_type()  # type: ignore[arg-type]
    for dialect in (PG, MYSQL, MARIADB):
        once = dialect.normalize_type(dialect.type_name(ct, indexed))
        assert dialect.normalize_type(once) == once


@pytest.mark.parametrize(
    ("raw", "data_type", "mariadb", "expected"),
    [
        ("'abc'", "longtext", True, "'abc'"),
        ("abc", "longtext", False, "'abc'"),  # MySQL 8: unquoted
        ("it's", "varchar", False, "'it''s'"),
        ("'it\\'s'", "varchar", True, "'it''s'"),
        ("NULL", "varchar", True, None),  # MariaDB: a nullable column without default
        ("'NULL'", "varchar", True, "'NULL'"),  # ... and the string 'NULL'
        ("NULL", "varchar", False, "'NULL'"),  # MySQL: the string (no default is SQL NULL)
        (None, "bigint", False, None),
        ("0.000", "decimal", True, "0"),
        ("1e20", "double", True, "100000000000000000000"),
        ("1", "tinyint", False, "1"),
    ],
)
def test_mysql_and_mariadb_catalog_defaults(
    raw: str | None, data_type: str, mariadb: bool, expected: str | None
) -> None:
    dialect = MARIADB if mariadb else MYSQL
    assert my._live_default(dialect, raw, data_type, "") == expected


def test_mysql_default_sql_escapes_backslashes_and_matches_the_catalog() -> None:
    column = ColumnSchema("c", "str", max_length=9, default="a\\b'c")
    assert MARIADB.default_sql(column) == "'a\\\\b''c'"
    assert MARIADB.normalize_default("'a\\\\b\\'c'") == MARIADB.normalize_default(
        MARIADB.default_sql(column)
    )
    assert MARIADB.normalize_default("TRUE") == MARIADB.normalize_default("1") == "1"


@pytest.mark.parametrize(
    ("old", "new", "verdict"),
    [
        ("TINYTEXT", "TEXT", "widen"),
        ("LONGTEXT", "MEDIUMTEXT", "narrow"),
        ("VARCHAR(50)", "TEXT", "widen"),
        ("VARCHAR(20000)", "TEXT", "narrow"),  # 80,000 bytes of utf8mb4
        ("VARCHAR(63)", "TINYTEXT", "widen"),
        ("VARCHAR(64)", "TINYTEXT", "narrow"),
        ("VARCHAR(16383)", "LONGTEXT", "widen"),
        ("LONGTEXT", "VARCHAR(255)", "narrow"),
        ("VARBINARY(16)", "LONGBLOB", "widen"),
        ("VARBINARY(16)", "VARBINARY(32)", "widen"),
        ("CHAR(36)", "VARCHAR(40)", "widen"),
        ("INT", "BIGINT", "widen"),
        ("BIGINT", "INT", "narrow"),
        ("DECIMAL(10,2)", "DECIMAL(12,2)", "widen"),
        ("DECIMAL(10,2)", "DECIMAL(10,3)", "narrow"),
        ("DATETIME(0)", "DATETIME(6)", "widen"),
        ("DOUBLE", "DOUBLE", "same"),
        ("BIGINT", "LONGTEXT", "narrow"),
        ("TINYINT(1)", "BIGINT", "widen"),
        ("BIGINT", "TINYINT(1)", "narrow"),
        ("JSON", "LONGTEXT", "widen"),
        ("LONGTEXT", "JSON", "narrow"),
    ],
)
def test_mysql_type_change(old: str, new: str, verdict: str) -> None:
    assert MARIADB.type_change(old, new) == verdict

"""Model declarations, instances and value validation (docs/models.md), without a database.

No ``from __future__ import annotations`` here: several models are declared
inside test functions with locally defined types.
"""

import datetime
import decimal
import enum
import math
import uuid
from typing import Any, ClassVar

import pytest

import ormer
from ormer import (
    Column,
    ConfigurationError,
    Expr,
    Model,
    ValidationError,
    aliased,
    field,
    foreign_key,
    index,
    primary,
    table_of,
    unique,
)
from ormer.identifiers import snake_case
from ormer.types import ColumnType, Kind, column_type_for, make_validator


class Status(enum.Enum):
    ACTIVE = "active"
    GONE = "gone"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Team(Model, table="teams"):
    id: int = primary(auto=True)
    name: str = unique(max_length=40)


class User(Model, table="users"):
    id: int = primary(auto=True)
    name: str = unique()
    age: int = index(default=0)
    email: str | None = None
    team_id: int | None = foreign_key("teams.id", on_delete="cascade")


class TeamMember(Model):
    team_id: int = primary()
    user_id: int = primary()


_factory_calls: list[int] = []


def _make_tags() -> list[str]:
    _factory_calls.append(1)
    return ["new"]


class Post(Model, table="posts"):
    id: int = primary(auto=True)
    title: str
    tags: list[str] = field(default_factory=_make_tags)
    meta: dict[str, Any] = field(default_factory=dict)
    status: Status = Status.ACTIVE
    body_text: str = field(column="body", default="")
    counter: ClassVar[int] = 0  # not a field


# --- bad declarations ----------------------------------------------------------------------
def declare(**annotations_and_values: Any) -> type[Model]:
    """Declare ``class Bad(Model)`` with the given (annotation, value) pairs."""
    namespace: dict[str, Any] = {"__annotations__": {}}
    for attr, spec in annotations_and_values.items():
        annotation, *value = spec
        namespace["__annotations__"][attr] = annotation
        if value:
            namespace[attr] = value[0]
    return type("Bad", (Model,), namespace)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: declare(a=(int, primary(auto=True)), b=(int, primary(auto=True))),
            "single-column primary key",
        ),
        (
            lambda: declare(a=(int, primary(auto=True)), b=(int, primary())),
            "single-column primary key",
        ),
        (lambda: declare(code=(str, primary(auto=True))), "needs an int field"),
        (lambda: declare(tags=(set[int],)), "unsupported annotation"),
        (lambda: declare(x=(int | str,)), "unsupported annotation"),
        (lambda: declare(x=(int | str | None,)), "one type"),
        (lambda: declare(x=(object,)), "unsupported annotation"),
        (lambda: declare(x=(complex,)), "unsupported annotation"),
        (lambda: declare(_secret=(int,)), "may not start with '_'"),
        (lambda: declare(x=(int, field(column="bad name"))), "invalid column name"),
        (lambda: declare(x=(int, field(column="1st"))), "invalid column name"),
        (lambda: declare(x=(int, field(column='x"; DROP'))), "invalid column name"),
        (lambda: declare(x=(int, field(column="c" * 64))), "longer than 63"),
        (lambda: declare(x=(int, field(max_length=5))), "max_length"),
        (lambda: declare(x=(str, field(max_length=0))), "max_length"),
        (lambda: declare(x=(str, field(max_digits=5))), "Decimal fields only"),
        (
            lambda: declare(x=(decimal.Decimal, field(max_digits=2, decimal_places=3))),
            "invalid Decimal precision",
        ),
        (lambda: declare(x=(str, field(timezone=True))), "datetime fields only"),
        (lambda: declare(x=(int, field(default=1, default_factory=int))), "not both"),
        (lambda: declare(x=(list[int], [])), "mutable default"),
        (lambda: declare(x=(dict[str, int], {})), "default_factory"),
        (lambda: declare(x=(int, foreign_key("teams.id", on_delete="explode"))), "on_delete"),
        (lambda: declare(x=(int, foreign_key("teams"))), "table.column"),
        (lambda: declare(x=(int, foreign_key("a.b.c"))), "table.column"),
        (lambda: declare(x=(int, foreign_key(42))), "table.column"),
        (lambda: declare(x=(int, foreign_key("te ams.id"))), "invalid table name"),
        (lambda: declare(), "declares no fields"),
        (lambda: declare(a=(int,), b=(int, field(column="a"))), "two fields use the column"),
        (lambda: declare(a=(int, unique(group="bad group"))), "invalid"),
    ],
)
def test_bad_declarations(make: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


@pytest.mark.parametrize("name", ["bad name", "1users", "users;drop", "", "t" * 64, "ü"])
def test_invalid_table_names(name: str) -> None:
    with pytest.raises(ConfigurationError, match="table name"):

        class Bad(Model, table=name):
            id: int = primary()


def test_unresolvable_annotation_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot resolve"):

        class Bad(Model):
            x: "NoSuchType"  # type: ignore[name-defined]  # noqa: F821


def test_model_itself_cannot_be_instantiated() -> None:
    with pytest.raises(TypeError):
        Model()


# --- table names and metadata ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("class_name", "table"),
    [
        ("TeamMember", "team_member"),
        ("User", "user"),
        ("HTTPServer", "http_server"),
        ("OrderLine2", "order_line2"),
        ("myThing", "my_thing"),
    ],
)
def test_snake_case(class_name: str, table: str) -> None:
    assert snake_case(class_name) == table


def test_default_and_explicit_table_names() -> None:
    assert table_of(TeamMember).name == "team_member"
    assert table_of(User).name == "users"
    assert table_of(Post).name == "posts"


def test_table_metadata() -> None:
    info = table_of(User)
    assert [f.attr for f in info.fields] == ["id", "name", "age", "email", "team_id"]
    assert [f.attr for f in info.primary_key] == ["id"]
    assert info.auto is info.field("id")
    assert info.field("email").nullable
    assert not info.field("name").nullable
    assert info.field("team_id").spec.foreign_key == "teams.id"
    assert info.field("team_id").spec.on_delete == "cascade"
    assert [(n, [f.attr for f in g]) for n, g in info.unique_groups] == [
        ("uq_users_name", ["name"])
    ]
    assert [(n, [f.attr for f in g]) for n, g in info.index_groups] == [("ix_users_age", ["age"])]
    composite = table_of(TeamMember)
    assert [f.attr for f in composite.primary_key] == ["team_id", "user_id"]
    assert composite.auto is None
    with pytest.raises(ConfigurationError, match="no field"):
        info.field("nope")
    with pytest.raises(ConfigurationError, match="not an ormer model"):
        table_of(int)


def test_groups_and_foreign_key_to_a_column() -> None:
    class Booking(Model):
        id: int = primary()
        room: int = unique(group="slot")
        day: datetime.date = unique(group="slot")
        a: int = index(group="ab")
        b: int = index(group="ab")
        team: int = foreign_key(Team.id, on_delete="SET NULL")

    info = table_of(Booking)
    assert [(n, [f.attr for f in g]) for n, g in info.unique_groups] == [
        ("uq_booking_slot", ["room", "day"])
    ]
    assert [(n, [f.attr for f in g]) for n, g in info.index_groups] == [
        ("ix_booking_ab", ["a", "b"])
    ]
    assert info.field("team").spec.foreign_key == "teams.id"
    assert info.field("team").spec.on_delete == "set null"


def test_column_option_and_classvar() -> None:
    info = table_of(Post)
    assert info.field("body_text").column == "body"
    assert Post.body_text.name == "body"  # type: ignore[attr-defined]
    assert "counter" not in [f.attr for f in info.fields]
    assert Post.counter == 0


def test_field_types() -> None:
    info = table_of(Post)
    assert info.field("tags").type.kind is Kind.JSON
    assert info.field("status").type == ColumnType(Kind.ENUM, Status)
    assert info.field("id").type == ColumnType(Kind.INT, int)
    assert table_of(User).field("email").type == ColumnType(Kind.STR, str, nullable=True)
    assert table_of(Team).field("name").type.max_length == 40


def test_primary_zero_is_not_auto() -> None:
    class Code(Model):
        id: int = primary()
        label: str

    assert table_of(Code).auto is None
    assert Code(id=0, label="zero").id == 0
    with pytest.raises(TypeError):
        Code(label="needs an id")  # type: ignore[call-arg]


def test_inheritance_keeps_parent_fields() -> None:
    class Base(Model, table="base_things"):
        id: int = primary(auto=True)
        created: datetime.date | None = None

    class Child(Base, table="child_things"):
        name: str = ""

    assert [f.attr for f in table_of(Child).fields] == ["id", "created", "name"]
    assert table_of(Child).name == "child_things"
    assert Child(name="x") == Child(id=None, created=None, name="x")


# --- instances --------------------------------------------------------------------------------
def test_keyword_only_constructor() -> None:
    with pytest.raises(TypeError):
        User("ann")  # type: ignore[misc]
    with pytest.raises(TypeError, match="name"):
        User()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="bogus"):
        User(name="ann", bogus=1)  # type: ignore[call-arg]
    u = User(name="ann")
    assert (u.id, u.name, u.age, u.email, u.team_id) == (None, "ann", 0, None, None)


def test_fields_named_like_init_locals() -> None:
    class Odd(Model):
        d: int = primary()
        self: str = "s"

    o = Odd(d=1, self="x")
    assert (o.d, o.self) == (1, "x")


def test_defaults_and_default_factory() -> None:
    before = len(_factory_calls)
    a, b = Post(title="a"), Post(title="b")
    assert len(_factory_calls) == before + 2  # called per instance
    assert a.tags == ["new"]
    assert a.tags is not b.tags
    assert a.meta == {}
    assert a.meta is not b.meta
    a.tags.append("x")
    assert b.tags == ["new"]
    given = Post(title="c", tags=["mine"])
    assert given.tags == ["mine"]
    assert len(_factory_calls) == before + 2  # not called when a value is given
    assert a.status is Status.ACTIVE
    assert a.body_text == ""


def test_repr() -> None:
    u = User(name="ann", age=3, email="a@x")
    assert repr(u) == "User(id=None, name='ann', age=3, email='a@x', team_id=None)"
    assert repr(TeamMember(team_id=1, user_id=2)) == "TeamMember(team_id=1, user_id=2)"


def test_equality_by_field_values() -> None:
    assert User(name="ann") == User(name="ann")
    assert User(name="ann") != User(name="bob")
    assert User(name="ann", id=1) != User(name="ann", id=2)
    assert TeamMember(team_id=1, user_id=2) != (1, 2)
    assert User(name="ann") != Team(name="ann")

    class Twin(Model, table="users"):
        id: int = primary(auto=True)
        name: str

    assert Team(id=None, name="x") != Twin(id=None, name="x")  # another class


def test_instances_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(User(name="ann"))
    with pytest.raises(TypeError):
        _ = {User(name="ann")}


def test_instance_attributes_are_plain_values() -> None:
    u = User(name="ann")
    u.age = 40
    assert u.age == 40
    assert "age" in vars(u)
    assert isinstance(User.age, Column)  # the class attribute is unaffected


# --- columns as expressions -----------------------------------------------------------------------
def test_class_attributes_are_column_expressions() -> None:
    col = User.age
    assert isinstance(col, Column)
    assert isinstance(col, Expr)
    assert col.name == "age"
    assert col.attr == "age"
    assert col.table.name == "users"
    assert col.type == ColumnType(Kind.INT, int)
    assert repr(col) == "Column(users.age)"
    assert User.email.type.nullable  # type: ignore[attr-defined]
    assert isinstance(User.age == 1, Expr)
    assert isinstance(User.age + 1, Expr)


def test_expressions_have_no_truth_value() -> None:
    with pytest.raises(TypeError, match="&"):  # noqa: PT012 - the `if` is what is tested
        if User.age == 1:
            pass
    with pytest.raises(TypeError):
        _ = not (User.age > 1)
    with pytest.raises(TypeError):
        _ = User.age in [User.name]  # list membership asks __eq__ for a bool


def test_asdict() -> None:
    p = Post(title="t", tags=["a"])
    assert ormer.asdict(p) == {
        "id": None,
        "title": "t",
        "tags": ["a"],
        "meta": {},
        "status": Status.ACTIVE,
        "body_text": "",
    }
    with pytest.raises(ConfigurationError):
        ormer.asdict(object())  # type: ignore[arg-type]


def test_col() -> None:
    assert ormer.col(User.name) is User.name
    with pytest.raises(TypeError, match="col"):
        ormer.col("name")


def test_aliased() -> None:
    boss = aliased(User, "boss")
    assert isinstance(boss.name, Column)
    assert boss.name is not User.name
    assert boss.name.table.ref_name == "boss"
    assert boss.name.field is User.name.field  # type: ignore[attr-defined]
    info = table_of(boss)
    assert info.name == "users"
    assert info.model is User
    assert info.ref.alias == "boss"
    assert repr(boss) == "aliased(User, 'boss')"
    a, b = aliased(User), aliased(User)
    assert table_of(a).ref.alias != table_of(b).ref.alias
    assert table_of(a).ref.alias.startswith("users_")
    with pytest.raises(ConfigurationError, match="alias"):
        aliased(User, "not valid")


# --- validators -------------------------------------------------------------------------------
def check(annotation: Any, value: Any, **options: Any) -> None:
    make_validator(column_type_for(annotation, **options), "M.f")(value)


UTC = datetime.UTC
NAIVE = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456)
AWARE = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

VALID = [
    (int, 0),
    (int, -(2**63)),
    (int, 2**63 - 1),
    (str, ""),
    (str, "héllo 🚀"),
    (float, 1.5),
    (float, 3),  # an int is a fine float
    (float, -0.0),
    (bool, True),
    (bool, False),
    (bytes, b"\x00\xff"),
    (bytes, bytearray(b"ab")),
    (decimal.Decimal, decimal.Decimal("123.45")),
    (decimal.Decimal, 7),
    (datetime.datetime, NAIVE),
    (datetime.date, datetime.date(2024, 2, 29)),
    (datetime.time, datetime.time(23, 59, 59, 999999)),
    (uuid.UUID, uuid.uuid4()),
    (Status, Status.GONE),
    (Level, Level.HIGH),
    (dict, {"a": [1, None]}),
    (list, [1, "two"]),
    (dict[str, int], {}),
    (int | None, None),
    (str | None, "x"),
]


@pytest.mark.parametrize(("annotation", "value"), VALID)
def test_valid_values(annotation: Any, value: Any) -> None:
    check(annotation, value)


INVALID = [
    (int, True, "expected int"),
    (int, False, "expected int"),
    (int, 1.0, "expected int"),
    (int, "1", "expected int"),
    (int, 2**63, "64-bit"),
    (int, -(2**63) - 1, "64-bit"),
    (int, None, "not nullable"),
    (str, b"bytes", "expected str"),
    (str, 1, "expected str"),
    (str, "a\x00b", "NUL"),
    (float, math.nan, "finite"),
    (float, math.inf, "finite"),
    (float, -math.inf, "finite"),
    (float, True, "expected float"),
    (float, "1.5", "expected float"),
    (float, decimal.Decimal("1.5"), "expected float"),
    (bool, 1, "expected bool"),
    (bool, 0, "expected bool"),
    (bool, "true", "expected bool"),
    (bytes, "text", "expected bytes"),
    (decimal.Decimal, 1.5, "expected Decimal"),
    (decimal.Decimal, True, "expected Decimal"),
    (decimal.Decimal, decimal.Decimal("NaN"), "not finite"),
    (decimal.Decimal, decimal.Decimal("Infinity"), "not finite"),
    (datetime.datetime, datetime.date(2024, 1, 1), "expected datetime"),
    (datetime.datetime, "2024-01-01 00:00:00", "expected datetime"),
    (datetime.datetime, AWARE, "naive datetime"),
    (datetime.date, NAIVE, "expected date"),
    (datetime.date, "2024-01-01", "expected date"),
    (datetime.time, NAIVE, "expected time"),
    (datetime.time, datetime.time(1, 2, tzinfo=UTC), "naive time"),
    (uuid.UUID, str(uuid.uuid4()), "uuid"),
    (Status, "active", "member of Status"),
    (Status, Level.LOW, "member of Status"),
    (Level, 1, "member of Level"),
    (dict, "{}", "dict or list"),
    (list, (1, 2), "dict or list"),
    (dict, {1, 2}, "dict or list"),
]


@pytest.mark.parametrize(("annotation", "value", "message"), INVALID)
def test_invalid_values(annotation: Any, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        check(annotation, value)
    assert str(info.value).startswith("M.f")


def test_aware_datetimes_need_timezone_true() -> None:
    check(datetime.datetime, AWARE, timezone=True)
    offset = datetime.timezone(datetime.timedelta(hours=-5))
    check(datetime.datetime, NAIVE.replace(tzinfo=offset), timezone=True)
    with pytest.raises(ValidationError, match="aware datetime"):
        check(datetime.datetime, NAIVE, timezone=True)


def test_max_length() -> None:
    check(str, "abcde", max_length=5)
    check(str, "ééééé", max_length=5)  # characters, not bytes
    with pytest.raises(ValidationError, match="max_length"):
        check(str, "abcdef", max_length=5)
    check(bytes, b"12", max_length=2)
    with pytest.raises(ValidationError, match="max_length"):
        check(bytes, b"123", max_length=2)


@pytest.mark.parametrize(
    "value",
    ["999.99", "-999.99", "0", "0.00", "0.01", "1.50", "1.500000", "12", "1E+2"],
)
def test_decimal_fits(value: str) -> None:
    check(decimal.Decimal, decimal.Decimal(value), max_digits=5, decimal_places=2)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.234", "3 decimal places"),
        ("0.001", "3 decimal places"),
        ("1000", "4 integer digits"),
        ("1000.0", "4 integer digits"),
        ("-1234.5", "4 integer digits"),
        ("1E+3", "4 integer digits"),
    ],
)
def test_decimal_does_not_fit(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        check(decimal.Decimal, decimal.Decimal(value), max_digits=5, decimal_places=2)


def test_decimal_trailing_zeros_are_not_places() -> None:
    # 21.8900 is 21.89 exactly: it fits decimal_places=2 (e.g. the result of price * 1.10)
    check(decimal.Decimal, decimal.Decimal("21.8900"), max_digits=4, decimal_places=2)
    check(decimal.Decimal, decimal.Decimal("1.50"), max_digits=2, decimal_places=1)
    check(decimal.Decimal, decimal.Decimal("0.000"), max_digits=1, decimal_places=1)
    with pytest.raises(ValidationError, match="3 decimal places"):
        check(decimal.Decimal, decimal.Decimal("21.8950"), max_digits=4, decimal_places=2)


def test_decimal_default_precision() -> None:
    ct = column_type_for(decimal.Decimal)
    assert (ct.max_digits, ct.decimal_places) == (18, 6)
    check(decimal.Decimal, decimal.Decimal("999999999999.999999"))
    with pytest.raises(ValidationError):
        check(decimal.Decimal, decimal.Decimal("1000000000000"))
    with pytest.raises(ValidationError):
        check(decimal.Decimal, decimal.Decimal("0.0000001"))


def test_model_fields_carry_validators() -> None:
    info = table_of(User)
    info.field("age").validate(3)
    with pytest.raises(ValidationError, match=r"User\.age"):
        info.field("age").validate("3")
    with pytest.raises(ValidationError, match=r"User\.name is not nullable"):
        info.field("name").validate(None)
    info.field("email").validate(None)


@pytest.mark.parametrize(
    "spec", [primary(auto=True), field(default=1), unique(), index(), foreign_key("teams.id")]
)
def test_a_field_spec_without_annotation_is_refused(spec: Any) -> None:
    with pytest.raises(ConfigurationError, match=r"Bad\.id .*no type annotation.*`id: int = "):
        type("Bad", (Model,), {"__annotations__": {"name": str}, "id": spec})


def test_an_unannotated_field_spec_next_to_annotated_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"Bad\.id is declared with a field specifier"):

        class Bad(Model):
            id = primary(auto=True)
            name: str

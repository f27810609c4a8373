"""Pydantic interop (``Model.__get_pydantic_core_schema__``, ormer.pydantic_schema), no database.

Every field type ormer supports, plain and ``| None``, round-trips through
``TypeAdapter(Model)`` in JSON and Python modes and inside a ``BaseModel``.
"""

import base64
import datetime
import decimal
import enum
import json
import subprocess
import sys
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from ormer import Model, field, primary, table_of
from ormer.validation import validate_object


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def _tags() -> list[Any]:
    return ["new"]


class Every(Model, table="every"):
    """One field of every type."""

    id: int = primary(auto=True)
    i: int
    s: str = field(max_length=8)
    f: float
    b: bool
    raw: bytes
    dec: decimal.Decimal = field(max_digits=30, decimal_places=10)
    naive: datetime.datetime
    aware: datetime.datetime = field(timezone=True)
    day: datetime.date
    clock: datetime.time
    uid: uuid.UUID
    color: Color
    level: Level
    doc: dict[str, Any]
    items: list[Any]
    i_n: int | None
    s_n: str | None
    f_n: float | None
    b_n: bool | None
    raw_n: bytes | None
    dec_n: decimal.Decimal | None
    naive_n: datetime.datetime | None
    aware_n: datetime.datetime | None = field(timezone=True)
    day_n: datetime.date | None
    clock_n: datetime.time | None
    uid_n: uuid.UUID | None
    color_n: Color | None
    level_n: Level | None
    doc_n: dict[str, Any] | None
    items_n: list[Any] | None


class User(Model, table="users"):
    id: int = primary(auto=True)
    name: str = field(max_length=20)
    age: int = 0
    email: str | None
    tags: list[Any] = field(default_factory=_tags)
    color: Color = Color.RED


PLUS_2 = datetime.timezone(datetime.timedelta(hours=2))
NOT_UTF8 = b"\xff\xfe\x00\x80ormer\xc3"


def every(**overrides: Any) -> Every:
    values: dict[str, Any] = {
        "id": 7,
        "i": -(2**63),
        "s": "héllo✓",
        "f": 0.1,
        "b": True,
        "raw": NOT_UTF8,
        "dec": decimal.Decimal("12345678901234567890.0123456789"),
        "naive": datetime.datetime(2024, 2, 29, 23, 59, 58, 123456),
        "aware": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=PLUS_2),
        "day": datetime.date(1999, 12, 31),
        "clock": datetime.time(13, 45, 30, 654321),
        "uid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "color": Color.GREEN,
        "level": Level.HIGH,
        "doc": {"a": [1, 2.5, None, {"b": "c"}], "t": True},
        "items": ["x", 1, None],
        "i_n": 2**63 - 1,
        "s_n": "",
        "f_n": -1e300,
        "b_n": False,
        "raw_n": b"",
        "dec_n": decimal.Decimal("-1E+2"),
        "naive_n": datetime.datetime(1970, 1, 1),
        "aware_n": datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC),
        "day_n": datetime.date(2000, 2, 29),
        "clock_n": datetime.time(0, 0),
        "uid_n": uuid.UUID(int=0),
        "color_n": Color.RED,
        "level_n": Level.LOW,
        "doc_n": {},
        "items_n": [],
    }
    values.update(overrides)
    return Every(**values)


NULLABLE = [f.attr for f in table_of(Every).fields if f.nullable]
SAMPLES = {
    "values": every(),
    "nulls": every(**dict.fromkeys(NULLABLE, None)),
    "unsaved": every(id=None),
}

EVERY = TypeAdapter(Every)
USER = TypeAdapter(User)


def assert_same(got: Every, want: Every) -> None:
    """Equal field by field, with the same types and datetime awareness."""
    assert type(got) is Every
    for f in table_of(Every).fields:
        a, b = getattr(got, f.attr), getattr(want, f.attr)
        assert a == b, f.attr
        assert type(a) is type(b), f.attr
        if isinstance(b, datetime.datetime):
            assert (a.tzinfo is None) == (b.tzinfo is None), f.attr
            assert a.utcoffset() == b.utcoffset(), f.attr
    assert got == want


@pytest.mark.parametrize("name", SAMPLES)
def test_json_round_trip(name: str) -> None:
    obj = SAMPLES[name]
    text = EVERY.dump_json(obj)
    assert_same(EVERY.validate_json(text), obj)


@pytest.mark.parametrize("name", SAMPLES)
def test_python_round_trip(name: str) -> None:
    obj = SAMPLES[name]
    dumped = EVERY.dump_python(obj)
    assert dumped == {f.attr: getattr(obj, f.attr) for f in table_of(Every).fields}
    assert_same(EVERY.validate_python(dumped), obj)


@pytest.mark.parametrize("name", SAMPLES)
def test_python_validation_of_the_json_form(name: str) -> None:
    # FastAPI parses the body with json.loads and validates the result in Python mode.
    obj = SAMPLES[name]
    assert_same(EVERY.validate_python(json.loads(EVERY.dump_json(obj))), obj)
    assert_same(EVERY.validate_python(EVERY.dump_python(obj, mode="json")), obj)


def test_json_forms() -> None:
    data = json.loads(EVERY.dump_json(every()))
    assert set(data) == {f.attr for f in table_of(Every).fields}  # every field
    assert data["id"] == 7
    assert data["i"] == -(2**63)
    assert data["i_n"] == 2**63 - 1
    assert data["dec"] == "12345678901234567890.0123456789"  # a string, every digit
    assert data["dec_n"] == "-100"  # positional, not -1E+2
    assert data["raw"] == base64.b64encode(NOT_UTF8).decode()
    assert base64.b64decode(data["raw"]) == NOT_UTF8
    assert data["raw_n"] == ""
    assert data["naive"] == "2024-02-29T23:59:58.123456"
    assert data["aware"] == "2024-05-01T12:30:00+02:00"
    assert data["day"] == "1999-12-31"
    assert data["clock"] == "13:45:30.654321"
    assert data["uid"] == "12345678-1234-5678-1234-567812345678"
    assert data["color"] == "green"
    assert data["level"] == 2
    assert data["doc"] == {"a": [1, 2.5, None, {"b": "c"}], "t": True}
    nulls = json.loads(EVERY.dump_json(SAMPLES["nulls"]))
    assert all(nulls[a] is None for a in NULLABLE)
    assert json.loads(EVERY.dump_json(SAMPLES["unsaved"]))["id"] is None


def test_decimal_stays_exact() -> None:
    obj = EVERY.validate_json(EVERY.dump_json(every(dec=decimal.Decimal("0.1000000001"))))
    assert obj.dec == decimal.Decimal("0.1000000001")
    assert isinstance(obj.dec, decimal.Decimal)
    data = json.loads(EVERY.dump_json(every()))
    data["dec"] = 5  # an integer is exact too
    assert EVERY.validate_python(data).dec == decimal.Decimal(5)


@pytest.mark.parametrize("mode", ["python", "json"])
def test_decimal_refuses_floats(mode: str) -> None:
    error = bad(EVERY, json_every(dec=0.1), mode)
    assert error["loc"] == ("dec",)
    assert error["type"] == "decimal_inexact"


def test_an_instance_passes_through() -> None:
    obj = every()
    assert EVERY.validate_python(obj) is obj


def test_a_dict_fills_defaults_and_builds_the_model() -> None:
    user = USER.validate_python({"name": "Ann"})
    assert type(user) is User
    assert user == User(name="Ann", age=0, email=None, tags=["new"], color=Color.RED)
    assert user.id is None  # the auto key, set by the insert
    other = USER.validate_json('{"name": "Bob", "id": 3, "age": "41", "color": "green"}')
    assert (other.id, other.age, other.color, other.email) == (3, 41, Color.GREEN, None)
    assert other.tags == ["new"] and other.tags is not user.tags  # the factory, per object
    extra = USER.validate_python({"name": "Cid", "unknown": 1})  # unknown keys are ignored
    assert "unknown" not in extra.__dict__


def test_a_validated_object_is_one_insert_accepts() -> None:
    for obj in [
        USER.validate_python({"name": "Ann"}),
        EVERY.validate_json(EVERY.dump_json(every())),
    ]:
        assert validate_object(obj, table_of(type(obj))) is None


def test_missing_required_fields() -> None:
    with pytest.raises(PydanticValidationError) as info:
        USER.validate_python({"age": 3})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("name",), "missing")]
    with pytest.raises(PydanticValidationError) as info:
        EVERY.validate_json("{}")
    missing = {e["loc"][0] for e in info.value.errors() if e["type"] == "missing"}
    assert missing == {f.attr for f in table_of(Every).fields if not (f.nullable or f.auto)}


def validate(adapter: TypeAdapter[Any], data: dict[str, Any], mode: str) -> Any:
    if mode == "json":
        return adapter.validate_json(json.dumps(data))
    return adapter.validate_python(data)


def bad(adapter: TypeAdapter[Any], data: dict[str, Any], mode: str = "python") -> dict[str, Any]:
    """The one error validating ``data`` raises."""
    with pytest.raises(PydanticValidationError) as info:
        validate(adapter, data, mode)
    [error] = info.value.errors()
    return dict(error)


def json_every(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EVERY.dump_json(every()))
    data.update(overrides)
    return data


@pytest.mark.parametrize("mode", ["python", "json"])
@pytest.mark.parametrize(
    ("attr", "value", "error_type"),
    [
        ("s", "123456789", "string_too_long"),  # max_length=8
        ("s", "a\x00b", "ormer_validation"),  # NUL: no backend stores it
        ("i", 2**63, "ormer_validation"),  # beyond int64
        ("dec", "1.00000000001", "ormer_validation"),  # 11 decimal places, 10 allowed
        ("dec", "NaN", "ormer_validation"),
        ("dec", "one", "decimal_parsing"),
        ("raw", "not base64!", "bytes_base64"),
        ("naive", "2024-01-01T00:00:00+01:00", "timezone_naive"),
        ("aware", "2024-01-01T00:00:00", "timezone_aware"),
        ("clock", "10:00:00+01:00", "timezone_naive"),
        ("color", "blue", "enum"),
        ("level", 3, "enum"),
        ("f", "inf", "finite_number"),
        ("doc", [1], "dict_type"),
        ("items", {"a": 1}, "list_type"),
        ("i", None, "int_type"),
    ],
)
def test_bad_values_are_pydantic_errors(mode: str, attr: str, value: Any, error_type: str) -> None:
    error = bad(EVERY, json_every(**{attr: value}), mode)
    assert error["loc"] == (attr,)
    assert error["type"] == error_type


def test_ormer_errors_keep_their_message() -> None:
    error = bad(EVERY, json_every(dec="1.00000000001"))
    assert "Every.dec" in error["msg"] and "decimal_places" in error["msg"]


def test_json_schema() -> None:
    schema = EVERY.json_schema()
    assert schema["title"] == "Every"
    assert schema["description"] == "One field of every type."
    assert schema["type"] == "object"
    required = {f.attr for f in table_of(Every).fields if not (f.nullable or f.auto)}
    assert set(schema["required"]) == required
    props = schema["properties"]
    assert list(props) == [f.attr for f in table_of(Every).fields]
    assert props["i"] == {"type": "integer", "format": "int64", "title": "I"}
    assert props["s"] == {"type": "string", "maxLength": 8, "title": "S"}
    assert props["dec"] == {"type": "string", "format": "decimal", "title": "Dec"}
    assert props["raw"] == {"type": "string", "contentEncoding": "base64", "title": "Raw"}
    assert props["aware"]["format"] == "date-time"
    assert props["uid"]["format"] == "uuid"
    assert props["color"] == {"$ref": "#/$defs/Color"}
    assert schema["$defs"]["Color"]["enum"] == ["red", "green"]
    assert schema["$defs"]["Level"]["enum"] == [1, 2]
    assert props["s_n"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["s_n"]["default"] is None
    assert props["id"]["anyOf"][1] == {"type": "null"}
    # One component serves requests and responses (FastAPI names it "Every").
    assert EVERY.json_schema(mode="serialization") == schema


def test_json_schema_of_defaults() -> None:
    schema = USER.json_schema()
    assert schema["required"] == ["name"]
    assert schema["properties"]["age"]["default"] == 0
    assert "default" not in schema["properties"]["tags"]  # a factory has no fixed value


class Page(BaseModel):
    user: User
    users: list[User]
    best: Every | None = None


def test_inside_a_base_model() -> None:
    ann, bob = User(id=1, name="Ann"), User(id=2, name="Bob", email="b@x.org", age=40)
    page = Page(user=ann, users=[ann, bob], best=every())
    assert page.user is ann
    text = page.model_dump_json()
    back = Page.model_validate_json(text)
    assert back.user == ann and back.users == [ann, bob]
    assert back.best is not None
    assert_same(back.best, every())
    dumped = page.model_dump()
    assert dumped["users"][1] == {
        "id": 2,
        "name": "Bob",
        "age": 40,
        "email": "b@x.org",
        "tags": ["new"],
        "color": Color.RED,
    }
    assert Page.model_validate(page.model_dump(mode="json")) == page
    from_dicts = Page.model_validate({"user": {"name": "Cid"}, "users": [{"name": "Dee"}]})
    assert isinstance(from_dicts.user, User) and from_dicts.users[0].name == "Dee"
    with pytest.raises(PydanticValidationError) as info:
        Page.model_validate({"user": {"name": "Cid"}, "users": [{"age": 1}]})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [
        (("users", 0, "name"), "missing")
    ]


def test_inside_a_base_model_json_schema() -> None:
    schema = Page.model_json_schema()
    assert schema["properties"]["user"] == {"$ref": "#/$defs/User"}
    assert schema["properties"]["users"]["items"] == {"$ref": "#/$defs/User"}
    assert schema["$defs"]["User"]["title"] == "User"
    assert schema["$defs"]["Every"]["title"] == "Every"
    assert set(schema["$defs"]) == {"User", "Every", "Color", "Level"}


def test_model_itself_has_no_schema() -> None:
    with pytest.raises(TypeError, match="Model subclass"):
        TypeAdapter(Model)


def test_import_ormer_does_not_import_pydantic() -> None:
    code = (
        "import sys, ormer, ormer.model\n"
        "assert 'pydantic' not in sys.modules and 'pydantic_core' not in sys.modules\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "ok"), done.stderr

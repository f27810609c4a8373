"""Pydantic interop: the core schema behind ``Model.__get_pydantic_core_schema__``.

ormer does not depend on pydantic: this module is imported only when pydantic
builds a schema for a model class (``TypeAdapter(User)``, a ``BaseModel``
field, a FastAPI route), so ``import ormer`` never imports pydantic.

The schema of a model:

- **validates** a model instance by passing it through unchanged, and a
  mapping (a dict, a JSON object) by validating each field and calling the
  model's constructor. A field is optional when the constructor has a default
  for it: a declared default or factory, an auto primary key, a nullable
  field. Values are checked by pydantic (types, ``max_length``, datetime
  awareness) and then by the field's own ormer validator, so a validated
  instance is one ``insert`` accepts; ormer's errors surface as pydantic
  errors of type ``ormer_validation``.
- **serializes** an instance as an object with every field.
- **JSON forms**: a ``Decimal`` is a string (exact; a float is refused as
  inexact), ``bytes`` are standard base64 text, datetimes are ISO 8601 (an
  aware one keeps its offset), enums are their values. Python-mode
  validation accepts these forms too (FastAPI validates the parsed JSON body
  in Python mode): a ``str`` for a ``bytes`` field is base64, not UTF-8.
- Its **JSON schema** is an object titled by the model's class name (an
  OpenAPI component of that name); validation and serialization share it.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic_core import PydanticCustomError
from pydantic_core import core_schema as cs

from .errors import ValidationError
from .model import FieldInfo, Model, table_of
from .types import Kind

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
    from pydantic.json_schema import JsonSchemaValue

__all__ = ["model_core_schema"]


def model_core_schema(cls: type[Model], handler: GetCoreSchemaHandler) -> cs.CoreSchema:
    """The pydantic core schema of the model class ``cls`` (see the module docstring)."""
    if cls is Model:
        raise TypeError("pydantic needs a Model subclass (a table), not Model itself")
    info = table_of(cls)
    fields = {
        f.attr: cs.typed_dict_field(_field_schema(f, handler), required=_required(f))
        for f in info.fields
    }
    body = cs.typed_dict_schema(
        fields,
        extra_behavior="ignore",
        total=True,
        metadata={"pydantic_js_functions": [_titled(cls)]},
    )
    attrs = tuple(f.attr for f in info.fields)

    def build(values: dict[str, Any]) -> Model:
        return cls(**values)

    def pass_instances(value: Any, validate: cs.ValidatorFunctionWrapHandler) -> Any:
        if isinstance(value, cls):
            return value
        return validate(value)

    # pydantic titles errors by the outermost validator: "... for function-wrap[User()]".
    pass_instances.__name__ = pass_instances.__qualname__ = cls.__name__

    def dump(obj: Any) -> Any:
        if not isinstance(obj, cls):
            return obj  # the typed dict's serializer warns about the unexpected value
        d = obj.__dict__
        return {a: d.get(a) for a in attrs}

    return cs.no_info_wrap_validator_function(
        pass_instances,
        cs.no_info_after_validator_function(build, body),
        # The serializer emits the same field schemas, so JSON schemas of both modes agree.
        serialization=cs.plain_serializer_function_ser_schema(dump, return_schema=body),
        # pydantic's own reference format (module.qualname:id): the JSON schema
        # component is named after the class, and one class makes one definition.
        ref=f"{cls.__module__}.{cls.__qualname__}:{id(cls)}",
    )


def _titled(
    cls: type[Model],
) -> Callable[[cs.CoreSchema, GetJsonSchemaHandler], JsonSchemaValue]:
    """Title the object schema by the class name; its docstring is the description."""

    def generate(schema: cs.CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["title"] = cls.__name__
        if cls.__doc__:
            json_schema["description"] = inspect.cleandoc(cls.__doc__)
        return json_schema

    return generate


def _required(f: FieldInfo) -> bool:
    return not (f.has_default or f.auto or f.nullable)


def _field_schema(f: FieldInfo, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
    """One field's schema: the value's, then the ormer validator, then None and the default."""
    schema: cs.CoreSchema = cs.no_info_after_validator_function(
        _ormer_check(f), _value_schema(f, handler)
    )
    if f.nullable or f.auto:  # an auto key is None until the insert
        schema = cs.nullable_schema(schema)
    spec = f.spec
    if spec.default_factory is not None:
        return cs.with_default_schema(schema, default_factory=spec.default_factory)
    if f.has_default:
        return cs.with_default_schema(schema, default=spec.default)
    if f.auto or f.nullable:
        return cs.with_default_schema(schema, default=None)
    return schema


def _ormer_check(f: FieldInfo) -> Callable[[Any], Any]:
    validate = f.validate

    def check(value: Any) -> Any:
        try:
            validate(value)
        except ValidationError as exc:
            raise PydanticCustomError(
                "ormer_validation", "{reason}", {"reason": str(exc)}
            ) from None
        return value

    return check


def _value_schema(f: FieldInfo, handler: GetCoreSchemaHandler) -> cs.CoreSchema:
    ct = f.type
    kind = ct.kind
    if kind is Kind.INT:
        # The range is the ormer check's; "int64" is how OpenAPI says it.
        return cs.int_schema(metadata=_json_schema({"type": "integer", "format": "int64"}))
    if kind is Kind.STR:
        return cs.str_schema(max_length=ct.max_length)
    if kind is Kind.FLOAT:
        return cs.float_schema(allow_inf_nan=False)
    if kind is Kind.BOOL:
        return cs.bool_schema()
    if kind is Kind.BYTES:
        return _bytes_schema()
    if kind is Kind.DECIMAL:
        return _decimal_schema()
    if kind is Kind.DATETIME:
        return cs.datetime_schema(tz_constraint="aware" if ct.timezone else "naive")
    if kind is Kind.DATE:
        return cs.date_schema()
    if kind is Kind.TIME:
        return cs.time_schema(tz_constraint="naive")
    if kind is Kind.UUID:
        return cs.uuid_schema()
    if kind is Kind.ENUM:
        return handler.generate_schema(ct.py_type)  # pydantic's enum schema: by value
    if kind is Kind.JSON:
        return cs.dict_schema() if issubclass(ct.py_type, dict) else cs.list_schema()
    raise AssertionError(f"unhandled column kind {kind}")  # pragma: no cover


def _json_schema(json_schema: JsonSchemaValue) -> dict[str, Any]:
    """Core schema metadata giving a fixed JSON schema (pydantic's ``pydantic_js_functions``)."""

    def generate(_schema: cs.CoreSchema, _handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return dict(json_schema)

    return {"pydantic_js_functions": [generate]}


# --- bytes: raw bytes in Python, standard base64 text in JSON ------------------


def _to_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):  # the JSON form, also from a dict FastAPI parsed
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise PydanticCustomError(
                "bytes_base64", "Input should be standard base64 text (the JSON form of bytes)"
            ) from None
    raise PydanticCustomError("bytes_type", "Input should be bytes or base64 text")


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _bytes_schema() -> cs.CoreSchema:
    return cs.no_info_plain_validator_function(
        _to_bytes,
        serialization=cs.plain_serializer_function_ser_schema(_b64encode, when_used="json"),
        metadata=_json_schema({"type": "string", "contentEncoding": "base64"}),
    )


# --- Decimal: exact; a string in JSON ---------------------------------------------


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return decimal.Decimal(value)
    if isinstance(value, str):
        try:
            return decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            raise PydanticCustomError(
                "decimal_parsing", "Input should be a valid decimal string"
            ) from None
    if isinstance(value, float):
        raise PydanticCustomError(
            "decimal_inexact",
            'a float is inexact: send a Decimal as a string ("9.99") or an integer',
        )
    raise PydanticCustomError("decimal_type", "Input should be a Decimal, an integer or a string")


def _decimal_text(value: decimal.Decimal) -> str:
    return format(value, "f")  # positional notation: 100, not 1E+2


def _decimal_schema() -> cs.CoreSchema:
    return cs.no_info_plain_validator_function(
        _to_decimal,
        serialization=cs.plain_serializer_function_ser_schema(_decimal_text, when_used="json"),
        metadata=_json_schema({"type": "string", "format": "decimal"}),
    )

"""The driver kit: what most backends' driver adapters need, written once.

* Connect options: :class:`Option` declares one (its type, default, aliases),
  :class:`OptionSet` parses a URL's query and the keyword options together,
  validates them and names the valid ones when an option is unknown.
* :func:`connect_within`: a connect bounded by a timeout, failing with an ormer
  ``ConnectionError`` that names the figure.
* Error translation as data: :class:`ErrorRule` rows (a SQLSTATE or error number,
  a code prefix, a message pattern, an exception type) in an :class:`ErrorRules`
  table, applied by one function. Translation has no side effects; a rule whose
  error is ``ConnectionLostError`` is the signal that the connection is dead.
* Dumpers several backends share: :func:`dump_bytes`, :func:`json_text`,
  :func:`typed`.

See docs/plugins.md for a backend written with it.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .errors import (
    ConfigurationError,
    ConnectionError,
    ConnectionLostError,
    DatabaseError,
    OrmerError,
)

__all__ = [
    "ErrorRule",
    "ErrorRules",
    "Option",
    "OptionSet",
    "ParsedOptions",
    "as_bool",
    "as_float",
    "as_int",
    "as_seconds",
    "codes",
    "connect_within",
    "dump_bytes",
    "json_text",
    "typed",
]

T = TypeVar("T")

# -- connect options --------------------------------------------------------------------------
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def as_bool(value: Any) -> bool:
    """``True``/``False``, or their text forms (1/0, true/false, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("expected true or false")


def as_int(value: Any) -> int:
    """A whole number (text from a URL included)."""
    if isinstance(value, bool):
        raise ValueError("expected a whole number")
    return int(value)


def as_float(value: Any) -> float:
    """A number (text from a URL included)."""
    if isinstance(value, bool):
        raise ValueError("expected a number")
    return float(value)


def as_seconds(value: Any) -> float:
    """A positive number of seconds."""
    seconds = as_float(value)
    if not seconds > 0:
        raise ValueError("expected a positive number of seconds")
    return seconds


_ABSENT: Any = object()


@dataclass(frozen=True, slots=True)
class Option:
    """One connect option a backend reads itself.

    ``parse`` turns the given value (text when it comes from a URL) into the
    option's type and raises ValueError/TypeError for a bad one; ``default`` is
    used when the option is absent (leave it out: the option is then absent
    from the result too); ``aliases`` are other names accepted for it.
    """

    name: str
    parse: Callable[[Any], Any] = str
    default: Any = _ABSENT
    aliases: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True, slots=True)
class ParsedOptions:
    """The result of :meth:`OptionSet.parse`.

    ``values``: the declared options, parsed, defaults filled in.
    ``library``: keyword options passed through to the driver library as given.
    ``query``: URL query parameters the backend keeps for the library (only with
    ``OptionSet(url_passthrough=True)``: e.g. settings a DSN carries).
    """

    values: dict[str, Any]
    library: dict[str, Any] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)


class OptionSet:
    """A backend's connect options: the ones it reads, the ones it passes through.

    ``passthrough``: the keyword names the driver library accepts (pass
    ``inspect.signature(library.connect).parameters``, say); an option that is
    neither declared nor passed through raises ConfigurationError naming the
    valid ones. ``url_passthrough``: unknown URL query parameters are kept for
    the library instead (:attr:`ParsedOptions.query`).
    """

    def __init__(
        self,
        backend: str,
        options: Iterable[Option],
        passthrough: Collection[str] = (),
        *,
        url_passthrough: bool = False,
    ) -> None:
        self.backend = backend
        self.options = tuple(options)
        self.passthrough = frozenset(passthrough)
        self.url_passthrough = url_passthrough
        self._by_name: dict[str, Option] = {}
        for option in self.options:
            for name in (option.name, *option.aliases):
                self._by_name[name] = option

    def valid_names(self) -> list[str]:
        """Every option name accepted, sorted."""
        return sorted(set(self._by_name) | self.passthrough)

    def parse(
        self, query: Mapping[str, str] | None = None, keywords: Mapping[str, Any] | None = None
    ) -> ParsedOptions:
        """Merge a URL's query and keyword options (keywords win) and validate them."""
        values: dict[str, Any] = {}
        library: dict[str, Any] = {}
        kept: dict[str, str] = {}
        for source, given in (("url", query or {}), ("keyword", keywords or {})):
            for name, raw in given.items():
                option = self._by_name.get(name)
                if option is not None:
                    values[option.name] = self._parse_one(option, name, raw)
                elif source == "url" and self.url_passthrough:
                    kept[name] = raw
                elif name in self.passthrough:
                    library[name] = raw
                else:
                    raise ConfigurationError(
                        f"unknown {self.backend} connect option {name!r}; "
                        f"valid options: {', '.join(self.valid_names())}"
                    )
        for option in self.options:
            if option.name not in values and option.default is not _ABSENT:
                values[option.name] = option.default
        return ParsedOptions(values, library, kept)

    def _parse_one(self, option: Option, name: str, raw: Any) -> Any:
        try:
            return option.parse(raw)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(
                f"{self.backend} connect option {name}={raw!r}: {exc}"
            ) from None


async def connect_within(timeout: float, connect: Callable[[], Awaitable[T]], *, where: str) -> T:
    """Run ``connect()`` for at most ``timeout`` seconds.

    On timeout raise ormer ``ConnectionError("cannot connect to {where}: timed out,
    no answer within {timeout}s")``. ``connect`` is cancelled then: it must close what it
    opened when cancelled (``try: ... except BaseException: close; raise``).
    """
    try:
        async with asyncio.timeout(timeout):
            return await connect()
    except TimeoutError as exc:
        raise ConnectionError(
            f"cannot connect to {where}: timed out, no answer within {timeout:g}s"
        ) from exc


# -- errors as data ----------------------------------------------------------------------------
Predicate = Callable[[BaseException], bool]


@dataclass(frozen=True, slots=True)
class ErrorRule:
    """One row of an error table: when it matches, the error class to raise.

    A rule matches an exception when ALL the criteria it sets hold: ``types``
    (the exception is an instance of one; a string names a class anywhere in its
    MRO, for libraries whose classes are not importable together); and ANY of
    ``codes`` (the exact code), ``prefixes`` (the code starts with one: a
    SQLSTATE class such as ``"23"``), ``pattern`` (a regex searched in the
    message, case-insensitive); and ``when`` (a predicate). A rule with no
    criteria matches everything (a final catch-all).

    ``template`` formats the message from ``{message}``, ``{kind}`` (the
    exception's class name) and ``{code}``; ``sqlstate`` overrides the code the
    error carries. A rule to ``ConnectionLostError`` marks the connection dead.
    """

    error: type[OrmerError]
    codes: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    pattern: str | None = None
    types: tuple[type[BaseException] | str, ...] = ()
    when: Predicate | None = None
    template: str = "{message}"
    sqlstate: str | None = None
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.pattern is not None:
            object.__setattr__(self, "_regex", re.compile(self.pattern, re.IGNORECASE))

    def matches(self, exc: BaseException, code: str | None, message: str) -> bool:
        """Whether this rule applies to ``exc`` (its ``code`` and ``message`` given)."""
        if self.types and not _is_instance(exc, self.types):
            return False
        if self.codes or self.prefixes or self._regex is not None:
            hit = code is not None and (code in self.codes or code.startswith(self.prefixes))
            if not hit and not (self._regex is not None and self._regex.search(message)):
                return False
        return self.when is None or self.when(exc)


def _is_instance(exc: BaseException, types: tuple[type[BaseException] | str, ...]) -> bool:
    for t in types:
        if isinstance(t, str):
            if any(c.__name__ == t for c in type(exc).__mro__):
                return True
        elif isinstance(exc, t):
            return True
    return False


def codes(*values: int | str) -> frozenset[str]:
    """A code set for :attr:`ErrorRule.codes` (error numbers given as ints become text)."""
    return frozenset(str(v) for v in values)


def _default_code(exc: BaseException) -> str | None:
    code = getattr(exc, "sqlstate", None)
    return code if isinstance(code, str) else None


def _default_message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class ErrorRules:
    """A table of :class:`ErrorRule` applied in order by :meth:`translate`.

    ``code`` reads an exception's code (SQLSTATE, error number as text, extended
    result code; default: its ``sqlstate`` attribute); ``message`` its text.
    An exception no rule matches becomes a ``DatabaseError("{kind}: {message}")``.
    """

    def __init__(
        self,
        rules: Sequence[ErrorRule],
        *,
        code: Callable[[BaseException], str | None] = _default_code,
        message: Callable[[BaseException], str] = _default_message,
    ) -> None:
        self.rules = tuple(rules)
        self.code = code
        self.message = message

    def translate(self, exc: BaseException) -> OrmerError:
        """The ormer error for a driver exception (pure: no side effects)."""
        code = self.code(exc)
        message = self.message(exc)
        for rule in self.rules:
            if rule.matches(exc, code, message):
                return _build(rule.error, rule.template, exc, code, message, rule.sqlstate)
        return _build(DatabaseError, "{kind}: {message}", exc, code, message, None)

    def connection_lost(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection is dead (it translates to ConnectionLostError)."""
        return isinstance(self.translate(exc), ConnectionLostError)


def _build(
    cls: type[OrmerError],
    template: str,
    exc: BaseException,
    code: str | None,
    message: str,
    sqlstate: str | None,
) -> OrmerError:
    text = template.format(message=message, kind=type(exc).__name__, code=code or "")
    if issubclass(cls, DatabaseError):
        return cls(text, sqlstate=sqlstate or code)
    return cls(text)


# -- dumpers -----------------------------------------------------------------------------------
def typed(fn: Callable[[Any], Any], types: type | tuple[type, ...]) -> Callable[[Any], Any]:
    """A dumper applying ``fn`` to values of ``types`` and passing others through."""

    def dump(value: Any) -> Any:
        return fn(value) if isinstance(value, types) else value

    return dump


def dump_bytes(value: Any) -> Any:
    """bytearray and memoryview as bytes (what drivers bind as a binary value)."""
    return bytes(value) if isinstance(value, (bytearray, memoryview)) else value


def json_text(value: Any) -> str:
    """A value as compact JSON text (UTF-8 kept as is)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

"""How statement parameters appear in ``ormer.sql`` log records: truncated or redacted.

``ormer.sql`` logs each statement at DEBUG with its parameters. A parameter
list can be huge (a batch insert binds thousands of values, a bulk copy
carries every row) or secret, so the parameters are shown

* truncated (the default): each value's text cut at ``max_length``
  characters, at most ``max_params`` values, at most ``max_total`` characters
  in all, each cut marked (``... (N chars)``, ``... (N more)``);
* or redacted: ``params=False``, or the environment variable
  ``ORMER_LOG_PARAMS=0`` (read when ormer is imported), shows only how many
  there were.

Settings are process-wide: :func:`configure_logging` changes them. Nothing is
formatted unless a record is actually emitted: the connection checks
``isEnabledFor(DEBUG)`` once per statement, and the record holds a
:class:`LoggedParams` that renders the text only when a handler formats it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .errors import ConfigurationError

__all__ = ["LogSettings", "LoggedParams", "configure_logging", "format_params", "log_settings"]

#: the environment variable that redacts parameters when set to 0 / false / no / off
ENV_LOG_PARAMS = "ORMER_LOG_PARAMS"


@dataclass(frozen=True)
class LogSettings:
    """How parameters are shown in ``ormer.sql`` records (see :func:`configure_logging`)."""

    params: bool = True
    """False: show only the number of parameters, never their values."""
    max_length: int = 100
    """Characters shown of each value's ``repr`` before ``... (N chars)``."""
    max_params: int = 20
    """Values shown before ``... (N more)``."""
    max_total: int = 1000
    """Characters of parameter text per record, at most (markers aside)."""


def _from_environment() -> LogSettings:
    value = os.environ.get(ENV_LOG_PARAMS, "").strip().lower()
    return LogSettings(params=value not in ("0", "false", "no", "off"))


class _State:
    settings = _from_environment()


def log_settings() -> LogSettings:
    """The settings in force."""
    return _State.settings


def configure_logging(
    *,
    params: bool | None = None,
    max_length: int | None = None,
    max_params: int | None = None,
    max_total: int | None = None,
) -> LogSettings:
    """Change how ``ormer.sql`` records show statement parameters; returns the new settings.

    Arguments left out (None) keep their current value. ``params=False``
    redacts the values; the limits are positive numbers of characters (or of
    values, for ``max_params``). This does not turn logging on: configure the
    ``ormer.sql`` logger with :mod:`logging` for that.
    """
    changes: dict[str, Any] = {}
    if params is not None:
        if not isinstance(params, bool):
            raise ConfigurationError(f"params must be True or False, got {params!r}")
        changes["params"] = params
    for name, limit in (
        ("max_length", max_length),
        ("max_params", max_params),
        ("max_total", max_total),
    ):
        if limit is None:
            continue
        if type(limit) is not int or limit < 1:
            raise ConfigurationError(f"{name} must be a positive int, got {limit!r}")
        changes[name] = limit
    _State.settings = replace(_State.settings, **changes)
    return _State.settings


def _value_text(value: Any, max_length: int) -> str:
    """``repr(value)`` cut at ``max_length`` characters; long text is sliced before repr."""
    if isinstance(value, (str, bytes, bytearray)) and len(value) > max_length:
        return f"{value[:max_length]!r}... ({len(value)} {_unit(value)})"
    text = repr(value)
    if len(text) > max_length:
        return f"{text[:max_length]}... ({len(text)} chars)"
    return text


def _unit(value: str | bytes | bytearray) -> str:
    return "chars" if isinstance(value, str) else "bytes"


def format_params(params: Any, settings: LogSettings | None = None) -> str:
    """The text a log record shows for a statement's parameters."""
    s = settings or _State.settings
    if not isinstance(params, Sequence) or isinstance(params, (str, bytes, bytearray)):
        return _value_text(params, s.max_length) if s.params else "<parameters hidden>"
    count = len(params)
    if not s.params:
        return f"<{count} parameter{'' if count == 1 else 's'} hidden>"
    parts: list[str] = []
    total = 0
    for value in params[: s.max_params]:
        text = _value_text(value, s.max_length)
        if parts and total + len(text) > s.max_total:
            break
        parts.append(text)
        total += len(text) + 2
    if len(parts) < count:
        parts.append(f"... ({count - len(parts)} more)")
    opening, closing = ("(", ")") if isinstance(params, tuple) else ("[", "]")
    return opening + ", ".join(parts) + closing


class LoggedParams:
    """A statement's parameters in a log record, formatted only when the record is."""

    __slots__ = ("params",)

    def __init__(self, params: Any) -> None:
        self.params = params

    def __str__(self) -> str:
        return format_params(self.params)

    __repr__ = __str__

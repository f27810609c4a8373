"""Identifier validation: table, column, label and savepoint names.

Identifiers are validated when declared and always quoted by the dialect when
rendered, so a name can never carry SQL.
"""

from __future__ import annotations

import re

from .errors import ConfigurationError

__all__ = ["MAX_IDENTIFIER_LENGTH", "check_identifier", "snake_case"]

MAX_IDENTIFIER_LENGTH = 63  # PostgreSQL's limit, the smallest of the supported servers
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def check_identifier(name: str, what: str) -> str:
    """Return ``name`` if it is a portable SQL identifier, else raise ConfigurationError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ConfigurationError(
            f"invalid {what} name {name!r}: use letters, digits and underscores, "
            "starting with a letter or underscore"
        )
    if len(name) > MAX_IDENTIFIER_LENGTH:
        raise ConfigurationError(
            f"{what} name {name!r} is longer than {MAX_IDENTIFIER_LENGTH} characters"
        )
    return name


def snake_case(name: str) -> str:
    """``TeamMember`` → ``team_member`` (the default table name of a model class)."""
    return _CAMEL_BOUNDARY.sub("_", name).lower()

"""The warning for write statements that were built but never executed.

``db.insert(user)`` without ``await`` builds a statement and drops it: nothing is
written and nothing fails. Write builders remember where user code created them
(one frame walk, no stack capture) and, when garbage-collected unexecuted, emit a
``RuntimeWarning`` pointing at that line, as asyncio does for a coroutine that was
never awaited.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

__all__ = ["Site", "creation_site", "warn_unexecuted"]

Site = tuple[str, int]

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
_TESTING = _PACKAGE + "testing" + os.sep


def creation_site(depth: int) -> Site:
    """File and line of the nearest caller outside ormer's own modules.

    ``depth`` is how many frames above the caller user code usually is: fetching
    that frame directly materialises one frame object instead of one per level.
    """
    frame: FrameType | None = sys._getframe(depth + 1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(_PACKAGE) or name.startswith(_TESTING):
            return name, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0


def warn_unexecuted(what: str, site: Site) -> None:
    """Warn that the statement ``what`` created at ``site`` was never executed."""
    warnings.warn_explicit(
        f"{what} was never executed: did you forget `await` (or .execute())?",
        RuntimeWarning,
        site[0],
        site[1],
    )

"""ormer-sqlite: the SQLite dialect for ormer, on aiosqlite.

Installed, it is found through the ``ormer.plugins`` entry point ``sqlite``;
nothing here needs importing by hand.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"

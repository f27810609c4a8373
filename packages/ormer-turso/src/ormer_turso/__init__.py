"""ormer-turso: the Turso dialect for ormer, on pyturso.

Installed, it is found through the ``ormer.plugins`` entry point ``turso``;
nothing here needs importing by hand.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"

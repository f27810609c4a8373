"""ormer-mysql: the MySQL/MariaDB dialect for ormer, on aiomysql (or asyncmy).

Installed, it is found through the ``ormer.plugins`` entry point ``mysql``;
nothing here needs importing by hand.
"""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"

"""``python -m ormer``: the ``ormer`` command (see :mod:`ormer.cli`)."""

from .cli import main

raise SystemExit(main())

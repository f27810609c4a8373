"""Workspace-wide pytest set-up, loaded before any test module imports ormer.

Installing ormer-otel (``make install`` installs every package editable) makes its
``otel`` entry point active in every process, so every statement of every test
would run its hooks, and the tests that check that no plugin listens would
fail. Blocking it here keeps the test processes as they were; the ormer-otel
tests register the plugin by hand (packages/ormer-otel/tests/conftest.py).
"""

from __future__ import annotations

import os

_blocked = [n.strip() for n in os.environ.get("ORMER_DISABLE_PLUGINS", "").split(",") if n.strip()]
if "otel" not in _blocked:
    os.environ["ORMER_DISABLE_PLUGINS"] = ",".join([*_blocked, "otel"])

"""The ``ormer`` command (also ``python -m ormer``): ``ormer migrations ...``.

``make -m MESSAGE`` · ``upgrade [REV] [--sql]`` · ``downgrade REV|base`` ·
``history`` · ``check``; options ``--url`` (or ``ORMER_URL``), ``--models MODULE``,
``--dir`` (default ``migrations``). Exit codes: 0 success, 1 ``check`` found
differences, 2 an error (one line on stderr, no traceback). See docs/migrations.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigurationError, OrmerError

if TYPE_CHECKING:
    from .connection import Connection
    from .migrations.files import Step
    from .model import Model

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="database URL (default: the ORMER_URL environment variable)",
    )
    common.add_argument(
        "--models",
        default=argparse.SUPPRESS,
        help="importable module defining the models (make, check)",
    )
    common.add_argument(
        "--dir", default=argparse.SUPPRESS, help="migrations folder (default: migrations)"
    )
    parser = argparse.ArgumentParser(prog="ormer", parents=[common])
    top = parser.add_subparsers(dest="group", required=True)
    mig = top.add_parser("migrations", help="versioned schema migrations", parents=[common])
    sub = mig.add_subparsers(dest="command", required=True)
    make = sub.add_parser(
        "make", help="write a migration for the models' changes", parents=[common]
    )
    make.add_argument("-m", "--message", required=True)
    make.add_argument("--revision", help="the new revision's id (default: random hex)")
    up = sub.add_parser("upgrade", help="apply pending revisions (up to REV)", parents=[common])
    up.add_argument("revision", nargs="?", default=None)
    up.add_argument("--sql", action="store_true", help="print the SQL instead of running it")
    down = sub.add_parser(
        "downgrade", help="revert the revisions after REV ('base': all)", parents=[common]
    )
    down.add_argument("revision")
    sub.add_parser("history", help="applied and pending revisions", parents=[common])
    sub.add_parser(
        "check", help="exit 1 when the models differ from the migrations", parents=[common]
    )
    return parser


def _url(args: argparse.Namespace) -> str:
    url: str | None = getattr(args, "url", None) or os.environ.get("ORMER_URL")
    if not url:
        raise ConfigurationError("no database URL: pass --url or set ORMER_URL")
    return url


def _models(args: argparse.Namespace) -> list[type[Model]]:
    from .migrations.autogen import import_models

    name: str | None = getattr(args, "models", None)
    if not name:
        raise ConfigurationError("--models MODULE is required (the module defining the models)")
    if os.getcwd() not in sys.path:  # as `python -m` does: the project's modules import
        sys.path.insert(0, os.getcwd())
    models = import_models(name)
    if not models:
        raise ConfigurationError(f"module {name!r} defines no Model subclass")
    return models


async def _connect(args: argparse.Namespace) -> Connection:
    from .database import Database

    return await Database.connect(_url(args))


def _say(verb: str) -> Callable[[Step], None]:
    def say(step: Step) -> None:
        print(f"{verb} {step.revision.revision} {step.revision.message}", flush=True)

    return say


async def _with_db(args: argparse.Namespace, directory: Path) -> int:
    from .migrations import runner

    conn = await _connect(args)
    try:
        if args.command == "upgrade" and args.sql:
            for line in await runner.upgrade_sql(conn, directory, args.revision):
                print(line if line.startswith("--") else line.rstrip().rstrip(";") + ";")
        elif args.command == "upgrade":
            done = await runner.upgrade(conn, directory, args.revision, _say("applied"))
            if not done:
                print("up to date: no pending revision")
        elif args.command == "downgrade":
            done = await runner.downgrade(conn, directory, args.revision, _say("reverted"))
            if not done:
                print("nothing to revert")
        else:
            for status in await runner.history(conn, directory):
                rev = status.step.revision
                if status.record is not None:
                    when = f"applied {status.record.applied_at:%Y-%m-%d %H:%M:%S}"
                else:
                    when = "pending" + " " * 20
                print(f"{rev.revision}  {when}  {rev.message}")
    finally:
        await conn.close()
    return 0


def _run(args: argparse.Namespace) -> int:
    from .migrations import runner

    directory = Path(getattr(args, "dir", None) or "migrations")
    if args.command == "make":
        path = runner.make(directory, args.message, _models(args), args.revision)
        print(f"created {path}" if path is not None else "no changes")
        return 0
    if args.command == "check":
        ops = runner.check(directory, _models(args))
        if not ops:
            print("the models match the migrations")
            return 0
        print("the models differ from the migrations (run `ormer migrations make`):")
        for op in ops:
            print(f"  {op.table}: {op.describe()}")
        return 1
    return asyncio.run(_with_db(args, directory))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ormer`` command; return its exit code."""
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except OrmerError as error:
        print(f"ormer: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

"""Counting the statements a block of code runs, through the ``ormer_after_execute`` hook.

The relation tests assert how many statements a preload costs (one per relation
argument)::

    with count_statements() as counter:
        await db.select(Author).preload(Author.posts).collect()
    assert counter.n == 2, counter.statements

The plugin is registered only inside the ``with`` block. It counts every
statement that finished in the process, so the block should run nothing else
concurrently.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

from .. import plugins
from ..hookspecs import hookimpl

__all__ = ["StatementCounter", "count_statements"]

_names = itertools.count()


class StatementCounter:
    """A plugin recording the SQL of each statement that finished, and pool checkouts."""

    __slots__ = ("checkouts", "statements")

    def __init__(self) -> None:
        #: the SQL of every statement, in the order they finished
        self.statements: list[str] = []
        #: connections borrowed from a pool
        self.checkouts = 0

    @property
    def n(self) -> int:
        """How many statements finished."""
        return len(self.statements)

    @hookimpl
    def ormer_after_execute(
        self,
        sql: str,
        params: Any,
        dialect: Any,
        elapsed: float,
        rowcount: int,
        error: BaseException | None,
    ) -> None:
        """Record one statement."""
        self.statements.append(sql)

    @hookimpl
    def ormer_connection_checkout(self, conn: Any) -> None:
        """Record one pool checkout."""
        self.checkouts += 1


@contextlib.contextmanager
def count_statements() -> Iterator[StatementCounter]:
    """A :class:`StatementCounter` registered as a plugin for the block's duration."""
    counter = StatementCounter()
    name = plugins.register(counter, name=f"ormer-testing-statement-counter-{next(_names)}")
    try:
        yield counter
    finally:
        plugins.unregister(name)

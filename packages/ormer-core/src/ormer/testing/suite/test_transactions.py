# Model attributes are typed as their values for type checkers (PEP 681), so column
# methods (User.age.in_(...)) and operators on them are unknown to mypy here; see ormer.col().
"""Compliance suite: transactions (docs/transactions.md), every outcome read back."""

from __future__ import annotations

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    IntegrityError,
    Model,
    NotSupportedError,
    UniqueViolationError,
    field,
    primary,
    unique,
)
from ormer.dialect import ISOLATION_LEVELS
from ormer.testing.base import SuiteBase, fresh_tables
from ormer.testing.capabilities import requires

__all__ = ["TestTransactions"]

#: transaction modes some dialect knows; the suite expects NotSupportedError for the others
KNOWN_MODES = ("deferred", "immediate", "exclusive", "concurrent")


class TAccount(Model, table="suite_transactions_account"):
    id: int = primary(auto=True)
    name: str = unique(max_length=50)
    balance: int = 0


class TItem(Model, table="suite_transactions_item"):
    id: int = primary()
    label: str = field(max_length=50)


class Boom(Exception):
    """An application error raised inside a transaction block."""


async def account_names(db: Connection) -> list[str]:
    return list(await db.select(TAccount.name).order_by(TAccount.name).scalars().collect())


class TestTransactions(SuiteBase):
    """docs/transactions.md: commit, rollback, savepoints, begin(), isolation, modes, batches."""

    async def test_commit_on_success(self, db: Connection, ormer_url: str) -> None:
        await fresh_tables(db, TAccount)
        async with db.transaction() as tx:
            assert db.in_transaction
            assert tx.is_active
            await db.insert([TAccount(name="a", balance=1), TAccount(name="b", balance=2)])
            # the transaction sees its own writes
            assert await account_names(db) == ["a", "b"]
        assert not db.in_transaction
        assert not tx.is_active
        assert await account_names(db) == ["a", "b"]
        # committed: another connection sees the rows
        async with await Database.connect(ormer_url) as other:
            rows = (
                await other.select(TAccount.name, TAccount.balance)
                .order_by(TAccount.name)
                .collect()
            )
            assert rows == [("a", 1), ("b", 2)]

    async def test_rollback_on_exception(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        await db.insert(TAccount(name="kept"))
        error = Boom("application failure")
        with pytest.raises(Boom) as info:  # noqa: PT012
            async with db.transaction():
                await db.insert(TAccount(name="gone"))
                await (
                    db.update(TAccount)
                    .filter(TAccount.name == "kept")
                    .set(TAccount.balance, 99)
                    .execute()
                )
                assert await account_names(db) == ["gone", "kept"]
                raise error
        assert info.value is error  # the block's own exception propagates unchanged
        assert not db.in_transaction
        assert await account_names(db) == ["kept"]
        assert await db.select(TAccount.balance).scalars().collect() == [0]

    async def test_rollback_on_database_error(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        await db.insert(TAccount(name="kept"))
        with pytest.raises(UniqueViolationError):  # noqa: PT012
            async with db.transaction():
                await db.insert(TAccount(name="gone"))
                await db.insert(TAccount(name="kept"))  # duplicate
        assert not db.in_transaction
        assert await account_names(db) == ["kept"]
        # the connection is usable afterwards
        async with db.transaction():
            await db.insert(TAccount(name="after"))
        assert await account_names(db) == ["after", "kept"]

    @requires("savepoints")
    async def test_nested_blocks_are_savepoints(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        async with db.transaction():
            await db.insert(TAccount(name="outer-1"))
            with pytest.raises(Boom):  # noqa: PT012
                async with db.transaction():
                    await db.insert(TAccount(name="inner-failed"))
                    assert await account_names(db) == ["inner-failed", "outer-1"]
                    raise Boom
            assert db.in_transaction
            assert await account_names(db) == ["outer-1"]
            async with db.transaction():
                await db.insert(TAccount(name="inner-ok"))
            await db.insert(TAccount(name="outer-2"))
        assert not db.in_transaction
        assert await account_names(db) == ["inner-ok", "outer-1", "outer-2"]

    @requires("savepoints")
    async def test_savepoint_failure_after_database_error(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        async with db.transaction():
            await db.insert(TAccount(name="a"))
            with pytest.raises(IntegrityError):  # noqa: PT012
                async with db.transaction():
                    await db.insert(TAccount(name="b"))
                    await db.insert(TAccount(name="a"))  # duplicate: only this block rolls back
            # the outer transaction goes on after the failed savepoint
            await db.insert(TAccount(name="c"))
        assert await account_names(db) == ["a", "c"]

    @requires("savepoints")
    async def test_outer_failure_discards_committed_savepoints(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        with pytest.raises(Boom):  # noqa: PT012
            async with db.transaction():
                await db.insert(TAccount(name="outer"))
                async with db.transaction():
                    await db.insert(TAccount(name="inner"))
                    async with db.transaction():
                        await db.insert(TAccount(name="innermost"))
                assert await account_names(db) == ["inner", "innermost", "outer"]
                raise Boom
        assert await account_names(db) == []

    @requires("savepoints")
    async def test_deeply_nested_partial_rollback(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        async with db.transaction():
            await db.insert(TAccount(name="l1"))
            async with db.transaction():
                await db.insert(TAccount(name="l2"))
                with pytest.raises(Boom):  # noqa: PT012
                    async with db.transaction():
                        await db.insert(TAccount(name="l3"))
                        raise Boom
                await db.insert(TAccount(name="l2b"))
        assert await account_names(db) == ["l1", "l2", "l2b"]

    async def test_begin_commit(self, db: Connection, ormer_url: str) -> None:
        await fresh_tables(db, TAccount)
        tx = await db.begin()
        assert tx.is_active
        assert db.in_transaction
        await db.insert(TAccount(name="by-hand"))
        await tx.commit()
        assert not tx.is_active
        assert not db.in_transaction
        assert await account_names(db) == ["by-hand"]
        async with await Database.connect(ormer_url) as other:
            assert await other.select(TAccount.name).scalars().collect() == ["by-hand"]

    async def test_begin_rollback(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        await db.insert(TAccount(name="before"))
        tx = await db.begin()
        await db.insert(TAccount(name="undone"))
        await db.delete(TAccount).filter(TAccount.name == "before").execute()
        assert await account_names(db) == ["undone"]
        await tx.rollback()
        assert not tx.is_active
        assert not db.in_transaction
        assert await account_names(db) == ["before"]

    @requires("savepoints")
    async def test_begin_nested(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        outer = await db.begin()
        await db.insert(TAccount(name="o1"))
        inner = await db.begin()
        await db.insert(TAccount(name="i1"))
        await inner.rollback()
        inner2 = await db.begin()
        await db.insert(TAccount(name="i2"))
        await inner2.commit()
        assert outer.is_active
        await outer.commit()
        assert await account_names(db) == ["i2", "o1"]

    async def test_misuse_raises_configuration_error(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        tx = await db.begin()
        await db.insert(TAccount(name="once"))
        await tx.commit()
        with pytest.raises(ConfigurationError):
            await tx.commit()
        with pytest.raises(ConfigurationError):
            await tx.rollback()
        assert await account_names(db) == ["once"]
        rolled = await db.begin()
        await rolled.rollback()
        with pytest.raises(ConfigurationError):
            await rolled.commit()
        # ending the outer transaction while an inner one is open is refused
        outer = await db.begin()
        inner = await db.begin()
        await db.insert(TAccount(name="pending"))
        with pytest.raises(ConfigurationError):
            await outer.commit()
        await inner.rollback()
        await outer.rollback()
        assert not db.in_transaction
        assert await account_names(db) == ["once"]
        # a transaction object starts once
        started = await db.begin()
        with pytest.raises(ConfigurationError):
            await started.start()
        await started.rollback()

    async def test_isolation_levels(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        levels = sorted(db.dialect.isolation_levels)
        assert levels, "a dialect supports at least one isolation level"
        for level in levels:
            async with db.transaction(isolation=level):
                await db.insert(TAccount(name=f"iso {level}"))
                assert f"iso {level}" in await account_names(db)
            tx = await db.begin(isolation=level.upper())
            await db.insert(TAccount(name=f"begin {level}"))
            await tx.commit()
        assert await account_names(db) == sorted(
            [f"iso {lv}" for lv in levels] + [f"begin {lv}" for lv in levels]
        )

    async def test_unsupported_isolation_level_raises(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        with pytest.raises(ConfigurationError):
            async with db.transaction(isolation="chaotic"):
                await db.insert(TAccount(name="never"))
        assert not db.in_transaction
        unsupported = [lv for lv in ISOLATION_LEVELS if lv not in db.dialect.isolation_levels]
        for level in unsupported:
            with pytest.raises(NotSupportedError):
                async with db.transaction(isolation=level):
                    await db.insert(TAccount(name="never"))
            with pytest.raises(NotSupportedError):
                await db.begin(isolation=level)
            assert not db.in_transaction
        assert await account_names(db) == []
        # the connection is not left inside a transaction
        async with db.transaction():
            await db.insert(TAccount(name="fine"))
        assert await account_names(db) == ["fine"]

    async def test_transaction_modes(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        modes = sorted(db.dialect.transaction_modes)
        for mode in modes:
            async with db.transaction(mode=mode):
                await db.insert(TAccount(name=f"mode {mode}"))
            tx = await db.begin(mode=mode)
            await db.insert(TAccount(name=f"rolled back {mode}"))
            await tx.rollback()
        assert await account_names(db) == sorted(f"mode {m}" for m in modes)

    async def test_unsupported_mode_raises_not_supported(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        unsupported = [m for m in KNOWN_MODES if m not in db.dialect.transaction_modes]
        for mode in [*unsupported, "no-such-mode"]:
            with pytest.raises(NotSupportedError):
                async with db.transaction(mode=mode):
                    await db.insert(TAccount(name=f"never {mode}"))
            with pytest.raises(NotSupportedError):
                await db.begin(mode=mode)
            assert not db.in_transaction
        assert await account_names(db) == []
        await db.insert(TAccount(name="fine"))
        assert await account_names(db) == ["fine"]

    async def test_nested_transaction_rejects_isolation_and_mode(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        level = sorted(db.dialect.isolation_levels)[0]
        async with db.transaction():
            await db.insert(TAccount(name="outer"))
            with pytest.raises(ConfigurationError):
                async with db.transaction(isolation=level):
                    await db.insert(TAccount(name="never"))
            for mode in sorted(db.dialect.transaction_modes):
                with pytest.raises(ConfigurationError):
                    await db.begin(mode=mode)
            assert db.in_transaction
        assert await account_names(db) == ["outer"]

    async def test_failed_batch_insert_leaves_no_partial_rows(self, db: Connection) -> None:
        await fresh_tables(db, TItem)
        items = [TItem(id=i, label=f"item {i}") for i in range(3000)]
        items[1500] = TItem(id=10, label="duplicate of item 10")
        with pytest.raises(UniqueViolationError):
            await db.insert(items)
        assert not db.in_transaction
        assert await db.select(TItem).count() == 0
        # a clean batch of the same size goes in whole
        items[1500] = TItem(id=1500, label="item 1500")
        assert await db.insert(items) == 3000
        assert await db.select(TItem).count() == 3000
        assert await db.select(TItem).max(TItem.id) == 2999

    async def test_failed_batch_insert_with_auto_keys_leaves_no_rows(self, db: Connection) -> None:
        await fresh_tables(db, TAccount)
        await db.insert(TAccount(name="existing"))
        accounts = [TAccount(name=f"acct {i}", balance=i) for i in range(3000)]
        accounts[2500] = TAccount(name="acct 7")  # duplicate unique name late in the batch
        with pytest.raises(UniqueViolationError):
            await db.insert(accounts)
        assert not db.in_transaction
        assert await account_names(db) == ["existing"]

    async def test_failed_batch_inside_transaction_rolls_back_only_the_batch(
        self, db: Connection
    ) -> None:
        await fresh_tables(db, TItem)
        async with db.transaction():
            await db.insert(TItem(id=-1, label="before the batch"))
            items = [TItem(id=i, label=f"item {i}") for i in range(3000)]
            items[1500] = TItem(id=3, label="duplicate")
            with pytest.raises(UniqueViolationError):
                await db.insert(items)
            await db.insert(TItem(id=-2, label="after the batch"))
        labels = await db.select(TItem.label).order_by(TItem.id).scalars().collect()
        assert labels == ["after the batch", "before the batch"]

"""Compliance suite: first-hour safety and instance writes.

A mistake a new user makes must fail loudly before any SQL and lose nothing:
conditions that are not ormer expressions (``user.id == 1`` is the Python value
``True``), write statements never executed, columns of models the query does not
name, parameters of the wrong type. Instance writes (``update(obj)``,
``delete(obj)``, ``refresh(obj)``) change exactly the object's row. Every check
reads the rows back from the database.
"""

from __future__ import annotations

import datetime
import enum
import uuid
import warnings
from typing import Any

import pytest

from ormer import (
    ConfigurationError,
    Connection,
    Database,
    Model,
    NotFoundError,
    ValidationError,
    col,
    exists,
    field,
    foreign_key,
    func,
    primary,
)
from ormer.testing.base import SuiteBase, fresh_tables

__all__ = ["TestSafety"]


class Tier(enum.Enum):
    FREE = "free"
    PAID = "paid"


class SafeUser(Model, table="suite_safe_user"):
    id: int = primary(auto=True)
    name: str = field(max_length=40)
    age: int = 0
    email: str | None = field(default=None, max_length=80)
    tier: Tier = Tier.FREE
    token: uuid.UUID | None = None
    seen: datetime.datetime | None = None


class SafePost(Model, table="suite_safe_post"):
    id: int = primary(auto=True)
    user_id: int = foreign_key("suite_safe_user.id", on_delete="cascade")
    title: str = field(max_length=40)


class SafePair(Model, table="suite_safe_pair"):
    a: int = primary()
    b: str = primary(max_length=10)
    note: str = field(max_length=20)


class SafeLog(Model, table="suite_safe_log"):
    message: str = field(max_length=40)


async def _users(db: Connection) -> list[SafeUser]:
    await fresh_tables(db, SafeUser, SafePost)
    users = [
        SafeUser(name="Ann", age=31, email="ann@example.com", token=uuid.UUID(int=1)),
        SafeUser(name="Bob", age=17, tier=Tier.PAID, seen=datetime.datetime(2024, 5, 1, 12)),
        SafeUser(name="Cid", age=45),
    ]
    await db.insert(users)
    return users


async def _names(db: Connection) -> list[str]:
    return sorted(u.name for u in await db.select(SafeUser).collect())


def _mistakes(user: SafeUser) -> list[Any]:
    """Conditions a user writes by mistake; each is a Python value, not an expression."""
    return [
        user.id == 1,  # an instance where the class was meant: the bool False/True
        user.id == user.id,  # True
        SafeUser.email is None,  # Python identity: False
        SafeUser.email is not None,  # True
        None,
        1,
        0,
        "name = 'Ann'",
    ]


class TestSafety(SuiteBase):
    """Mistakes fail before SQL; instance writes touch exactly their row."""

    # -- conditions ------------------------------------------------------------------
    async def test_a_python_value_as_condition_deletes_nothing(self, db: Connection) -> None:
        users = await _users(db)
        for mistake in _mistakes(users[0]):
            with pytest.raises(TypeError, match=r"filter\(\) takes ormer expressions"):
                await db.delete(SafeUser).filter(mistake).execute()
            with pytest.raises(TypeError, match=r"filter\(\) takes ormer expressions"):
                await db.update(SafeUser).filter(mistake).set(SafeUser.age, 0).execute()
            with pytest.raises(TypeError, match=r"filter\(\) takes ormer expressions"):
                await db.select(SafeUser).filter(mistake).collect()
        assert await _names(db) == ["Ann", "Bob", "Cid"]
        assert sorted(u.age for u in await db.select(SafeUser).collect()) == [17, 31, 45]

    async def test_the_message_says_what_probably_happened(self, db: Connection) -> None:
        users = await _users(db)
        with pytest.raises(TypeError, match=r"instance.*\(user\.id == 1\).*class was meant"):
            db.select(SafeUser).filter(users[0].id == 1)
        with pytest.raises(TypeError, match=r"is_null\(\)"):
            db.select(SafeUser).filter(None)
        with pytest.raises(TypeError, match=r"raw SQL does not go in filter\(\).*exec_rows"):
            db.select(SafeUser).filter("name = 'Ann'")
        with pytest.raises(TypeError, match=r"exists\(\.\.\.\)"):
            db.select(SafeUser).filter(db.select(SafePost))

    async def test_every_condition_position_is_checked(self, db: Connection) -> None:
        await _users(db)
        with pytest.raises(TypeError, match=r"having\(\)"):
            db.select(SafeUser.age, func.count()).group_by(SafeUser.age).having(True)
        with pytest.raises(TypeError, match=r"join\(\)"):
            db.select(SafeUser).join(SafePost, True)
        with pytest.raises(TypeError, match=r"left_join\(\)"):
            db.select(SafeUser).left_join(SafePost, 1)
        with pytest.raises(TypeError, match="&"):
            (SafeUser.age > 1) & True
        with pytest.raises(TypeError, match=r"\|"):
            False | (SafeUser.age > 1)
        with pytest.raises(TypeError, match=r"case\(\)"):
            func.case((True, 1), else_=0)
        # an expression that is not a condition (an int column) is refused too
        with pytest.raises(TypeError, match=r"needs a condition.*SafeUser\.age"):
            db.delete(SafeUser).filter(SafeUser.age)
        assert await _names(db) == ["Ann", "Bob", "Cid"]
        # real conditions still work
        assert await db.delete(SafeUser).filter(SafeUser.age < 18).execute() == 1
        assert await _names(db) == ["Ann", "Cid"]

    # -- writes never executed ----------------------------------------------------------
    async def test_unexecuted_writes_warn_and_write_nothing(self, db: Connection) -> None:
        users = await _users(db)
        with pytest.warns(RuntimeWarning, match=r"insert\(SafeUser object\) was never executed"):
            db.insert(SafeUser(name="Dan"))
        with pytest.warns(RuntimeWarning, match=r"insert\(2 SafeUser objects\) was never"):
            db.insert([SafeUser(name="Eve"), SafeUser(name="Fay")])
        with pytest.warns(RuntimeWarning, match=r"insert_or_update\(SafeUser object\) was never"):
            db.insert_or_update(SafeUser(id=users[0].id, name="Changed"))
        with pytest.warns(RuntimeWarning, match=r"update\(SafeUser\) was never executed"):
            db.update(SafeUser).filter(SafeUser.name == "Ann").set(SafeUser.age, 1)
        with pytest.warns(RuntimeWarning, match=r"delete\(SafeUser\) was never executed"):
            db.delete(SafeUser).filter(SafeUser.name == "Bob")
        users[0].age = 99
        with pytest.warns(RuntimeWarning, match=r"update\(SafeUser object\) was never executed"):
            db.update(users[0])
        with pytest.warns(RuntimeWarning, match=r"delete\(SafeUser object\) was never executed"):
            db.delete(users[1])
        assert await _names(db) == ["Ann", "Bob", "Cid"]
        assert sorted(u.age for u in await db.select(SafeUser).collect()) == [17, 31, 45]

    async def test_the_warning_points_at_the_users_line(self, db: Connection) -> None:
        await _users(db)
        with pytest.warns(RuntimeWarning) as record:
            db.delete(SafeUser).filter(SafeUser.age > 100)
        assert record[0].filename == __file__
        assert "was never executed: did you forget `await`" in str(record[0].message)

    async def test_executed_or_failed_writes_do_not_warn(self, db: Connection) -> None:
        users = await _users(db)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            await db.insert(SafeUser(name="Dan"))
            await db.insert(SafeUser(name="Eve")).execute()
            assert await db.update(SafeUser).filter(SafeUser.name == "Dan").set("age", 5) == 1
            await db.delete(SafeUser).filter(SafeUser.name == "Eve").execute()
            # asking for the SQL is using the statement
            sql, params = db.delete(SafeUser).filter(SafeUser.id == 1).sql()
            assert "DELETE" in sql.upper() and params == [1]
            # a builder that failed already raised: no second complaint
            with pytest.raises(ConfigurationError):
                db.update(SafeUser).set("no_such_field", 1)
            with pytest.raises(ValidationError):
                db.update(SafeUser).filter(SafeUser.id == 1).set(SafeUser.age, "old")
            with pytest.raises(TypeError):
                db.delete(SafeUser).filter(True)
            with pytest.raises(ConfigurationError, match=r"\.all\(\)"):
                await db.delete(SafeUser)
            users[2].age = 46
            await db.update(users[2])
        assert await _names(db) == ["Ann", "Bob", "Cid", "Dan"]

    # -- instance writes ---------------------------------------------------------------
    async def test_update_object_writes_its_row_only(self, db: Connection) -> None:
        ann, bob, cid = await _users(db)
        ann.age = 32
        ann.email = None
        ann.tier = Tier.PAID
        assert await db.update(ann) == 1
        bob.name = "Robert"
        assert await db.update(bob).execute() == 1
        rows = {u.id: u for u in await db.select(SafeUser).collect()}
        assert rows[ann.id] == ann
        assert (rows[ann.id].age, rows[ann.id].email, rows[ann.id].tier) == (32, None, Tier.PAID)
        assert rows[bob.id].name == "Robert"
        assert rows[cid.id] == cid  # untouched
        # writing back values that did not change still finds the row (MySQL counts
        # matched rows, not changed ones)
        assert await db.update(cid) == 1

    async def test_update_object_validates_before_sql(self, db: Connection) -> None:
        ann, _, _ = await _users(db)
        ann.name = None  # type: ignore[assignment]
        with pytest.raises(ValidationError, match=r"SafeUser\.name is not nullable"):
            await db.update(ann)
        ann.name = "x" * 41
        with pytest.raises(ValidationError, match="max_length"):
            await db.update(ann)
        assert await _names(db) == ["Ann", "Bob", "Cid"]

    async def test_delete_object(self, db: Connection) -> None:
        ann, bob, _ = await _users(db)
        assert await db.delete(bob) == 1
        assert await _names(db) == ["Ann", "Cid"]
        assert await db.delete(bob).execute() == 0  # already gone: idempotent
        assert await _names(db) == ["Ann", "Cid"]
        assert await db.find(SafeUser, ann.id) == ann

    async def test_refresh_object(self, db: Connection) -> None:
        ann, _, _ = await _users(db)
        await db.update(SafeUser).filter(SafeUser.id == ann.id).set(SafeUser.age, 50).execute()
        ann.name = "unsaved"
        same = await db.refresh(ann)
        assert same is ann
        assert (ann.name, ann.age) == ("Ann", 50)

    async def test_a_row_that_is_gone(self, db: Connection) -> None:
        ann, bob, _ = await _users(db)
        await db.delete(SafeUser).filter(SafeUser.id == ann.id).execute()
        ann.age = 1
        with pytest.raises(NotFoundError, match=rf"update\(SafeUser object\).*id={ann.id}"):
            await db.update(ann)
        with pytest.raises(NotFoundError, match=rf"refresh\(SafeUser object\).*id={ann.id}"):
            await db.refresh(ann)
        assert await _names(db) == ["Bob", "Cid"]
        assert (await db.find(SafeUser, bob.id)) == bob

    async def test_composite_key_objects(self, db: Connection) -> None:
        await fresh_tables(db, SafePair)
        one, two = SafePair(a=1, b="x", note="one"), SafePair(a=1, b="y", note="two")
        await db.insert([one, two])
        one.note = "uno"
        assert await db.update(one) == 1
        assert await db.delete(two) == 1
        assert await db.select(SafePair).collect() == [SafePair(a=1, b="x", note="uno")]
        stale = SafePair(a=1, b="x", note="old")
        assert (await db.refresh(stale)).note == "uno"

    async def test_objects_without_a_key(self, db: Connection) -> None:
        await fresh_tables(db, SafeLog, SafeUser, SafePost)
        log = SafeLog(message="hi")
        await db.insert(log)
        with pytest.raises(ConfigurationError, match="declares none"):
            db.update(log)
        with pytest.raises(ConfigurationError, match="declares none"):
            db.delete(log)
        with pytest.raises(ConfigurationError, match="declares none"):
            await db.refresh(log)
        never_inserted = SafeUser(name="Zed")
        with pytest.raises(ConfigurationError, match="insert the object first"):
            db.update(never_inserted)
        with pytest.raises(ConfigurationError, match="insert the object first"):
            db.delete(never_inserted)
        with pytest.raises(ConfigurationError, match="model class"):
            db.update([never_inserted])  # type: ignore[call-overload]
        assert [m.message for m in await db.select(SafeLog).collect()] == ["hi"]

    async def test_instance_writes_through_a_pool(self, db: Connection, ormer_url: str) -> None:
        ann, _, _ = await _users(db)
        async with await Database.create_pool(ormer_url).max_size(2).build() as pool:
            ann.age = 70
            assert await pool.update(ann) == 1
            await pool.update(SafeUser).filter(SafeUser.id == ann.id).set(SafeUser.name, "Anne")
            assert (await pool.refresh(ann)).name == "Anne"
            assert await pool.delete(ann) == 1
        assert await _names(db) == ["Bob", "Cid"]

    # -- columns outside the query ------------------------------------------------------
    async def test_a_column_of_a_model_not_in_the_query(self, db: Connection) -> None:
        ann, _, _ = await _users(db)
        await db.insert(SafePost(user_id=ann.id, title="hello"))
        with pytest.raises(ConfigurationError, match=r"SafePost\.title.*join\(SafePost"):
            await db.select(SafeUser).filter(SafePost.title == "hello").collect()
        with pytest.raises(ConfigurationError, match=r"SafePost\.title.*join\(SafePost"):
            await db.select(SafeUser.name).order_by(SafePost.title).collect()
        with pytest.raises(ConfigurationError, match=r"SafePost.*subquery"):
            await db.delete(SafeUser).filter(SafePost.title == "hello").execute()
        assert await _names(db) == ["Ann", "Bob", "Cid"]
        # joined, selected, or correlated from a subquery, the same column is fine
        joined = (
            await db.select(SafeUser.name)
            .join(SafePost, SafePost.user_id == SafeUser.id)
            .filter(SafePost.title == "hello")
            .collect()
        )
        assert joined == [("Ann",)]
        correlated = (
            await db.select(SafeUser.name)
            .filter(exists(db.select(SafePost).filter(SafePost.user_id == SafeUser.id)))
            .collect()
        )
        assert correlated == [("Ann",)]
        posted = db.select(SafePost.user_id).filter(SafePost.title == "hello")
        assert await db.delete(SafeUser).filter(SafeUser.id.in_(posted)).execute() == 1
        assert await _names(db) == ["Bob", "Cid"]

    # -- parameters against column types ----------------------------------------------------
    async def test_parameters_of_the_wrong_type(self, db: Connection) -> None:
        ann, _, _ = await _users(db)
        cases = [
            lambda: SafeUser.id == "1",
            lambda: SafeUser.id == "abc",
            lambda: SafeUser.age > "17",
            lambda: SafeUser.age == True,  # noqa: E712
            lambda: SafeUser.name == 5,
            lambda: SafeUser.id.in_([1, "2"]),
            lambda: SafeUser.age.between(1, "9"),
            lambda: col(SafeUser.name).like(5),
            lambda: SafeUser.token == "not-a-uuid",
            lambda: SafeUser.tier == "gold",
            lambda: SafeUser.seen > 5,
            lambda: SafeUser.age + "1",
        ]
        for case in cases:
            with pytest.raises(ValidationError, match=r"SafeUser\.\w+: expected"):
                case()
        with pytest.raises(ValidationError, match=r"SafeUser\.id: expected an int"):
            await db.find(SafeUser, "1")
        assert await db.find(SafeUser, ann.id) == ann

    async def test_parameters_converted_losslessly(self, db: Connection) -> None:
        _, bob, _ = await _users(db)

        async def names(*conditions: Any) -> list[str]:
            rows = await db.select(SafeUser.name).filter(*conditions).collect()
            return sorted(r[0] for r in rows)

        assert await names(SafeUser.token == str(uuid.UUID(int=1))) == ["Ann"]
        assert await names(SafeUser.tier == "paid") == ["Bob"]
        assert await names(SafeUser.tier.in_(["free"])) == ["Ann", "Cid"]
        assert await names(SafeUser.seen >= datetime.date(2024, 5, 1)) == ["Bob"]
        assert await names(SafeUser.seen < datetime.date(2024, 5, 1)) == []
        # numbers meet numbers
        assert await names(SafeUser.age > 30.5) == ["Ann", "Cid"]
        assert await names(SafeUser.age < 18, SafeUser.id == bob.id) == ["Bob"]

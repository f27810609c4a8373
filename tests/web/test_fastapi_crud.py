"""A FastAPI CRUD service on ormer models (docs/fastapi.md), on SQLite, PostgreSQL and MariaDB.

The model is the request body and the response model; the pool opens in the
app's lifespan. Each run uses its own table (dropped afterwards), and the rows
are read back through the API and then through a separate connection.

No ``from __future__ import annotations``: the model and routes are declared in
a function (for a table name per run) and FastAPI reads their annotations.
"""

import asyncio
import base64
import datetime
import decimal
import enum
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Body, Depends, FastAPI, HTTPException, Request, Response
from fastapi.testclient import TestClient

from ormer import Database, Model, Pool, field, primary, table_of
from ormer.testing.servers import server_url


class Kind(enum.Enum):
    TOOL = "tool"
    PART = "part"


def make_model(table: str) -> Any:
    class Item(Model, table=table):
        id: int = primary(auto=True)
        name: str = field(max_length=40)
        price: decimal.Decimal = field(max_digits=15, decimal_places=2)  # SQLite: 15 at most
        qty: int = 0
        active: bool = True
        kind: Kind = Kind.TOOL
        blob: bytes | None = None
        made: datetime.datetime = field(timezone=True)
        day: datetime.date | None = None
        ref: uuid.UUID | None = None
        meta: dict[str, Any] = field(default_factory=dict)
        note: str | None = None

    return Item


def make_app(url: str, Item: Any) -> FastAPI:
    """The service: create, list, get, replace, delete."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with await Database.create_pool(url).max_size(4).build() as pool:
            await pool.create_table(Item)
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=lifespan)

    def get_pool(request: Request) -> Pool:
        pool: Pool = request.app.state.pool
        return pool

    Db = Annotated[Pool, Depends(get_pool)]

    async def found(pool: Pool, item_id: int) -> Any:
        item = await pool.find(Item, item_id)
        if item is None:
            raise HTTPException(status_code=404, detail=f"no item {item_id}")
        return item

    @app.post("/items", status_code=201)
    async def create_item(item: Annotated[Item, Body()], pool: Db) -> Item:
        await pool.insert(item)  # sets item.id
        return item

    @app.get("/items")
    async def list_items(pool: Db) -> list[Item]:
        return await pool.select(Item).order_by(Item.id).collect()

    @app.get("/items/{item_id}")
    async def get_item(item_id: int, pool: Db) -> Item:
        return await found(pool, item_id)

    @app.put("/items/{item_id}")
    async def replace_item(item_id: int, item: Annotated[Item, Body()], pool: Db) -> Item:
        update = pool.update(Item).filter(Item.id == item_id)
        for f in table_of(Item).fields:
            if not f.primary:
                update = update.set(f.attr, getattr(item, f.attr))
        if await update.execute() == 0:
            raise HTTPException(status_code=404, detail=f"no item {item_id}")
        return await found(pool, item_id)

    @app.delete("/items/{item_id}", status_code=204)
    async def delete_item(item_id: int, pool: Db) -> Response:
        if await pool.delete(Item).filter(Item.id == item_id).execute() == 0:
            raise HTTPException(status_code=404, detail=f"no item {item_id}")
        return Response(status_code=204)

    return app


def backend_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'api.db'}"
    return server_url(backend)  # skips (with the reason) when the server is unreachable


async def read_rows(url: str, Item: Any) -> list[Any]:
    async with await Database.connect(url) as db:
        rows: list[Any] = await db.select(Item).order_by(Item.id).collect()
        return rows


async def drop(url: str, Item: Any) -> None:
    async with await Database.connect(url) as db:
        await db.drop_table(Item)


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    """(database URL, model on a table of this run); the table is dropped afterwards."""
    url = backend_url(request.param, tmp_path)
    Item = make_model(f"api_items_{secrets.token_hex(4)}")
    try:
        yield url, Item
    finally:
        asyncio.run(drop(url, Item))


BLOB = b"\x00\xff\xfe\x80 not utf-8 \xc3"
MADE = datetime.datetime(
    2024, 5, 1, 12, 30, 15, 250000, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
)


def instant(text: str) -> datetime.datetime:
    value = datetime.datetime.fromisoformat(text)
    assert value.tzinfo is not None, text  # aware in, aware out
    return value


def test_crud(service: tuple[str, Any]) -> None:
    url, Item = service
    full = {
        "name": "hammer",
        "price": "9876543210987.1",
        "qty": 3,
        "active": False,
        "kind": "part",
        "blob": base64.b64encode(BLOB).decode(),
        "made": MADE.isoformat(),
        "day": "2024-02-29",
        "ref": "12345678-1234-5678-1234-567812345678",
        "meta": {"tags": ["a", "b"], "weight": 1.5, "ok": True},
        "note": "first",
    }
    with TestClient(make_app(url, Item)) as client:
        # One OpenAPI component, named after the model, for requests and responses.
        openapi = client.get("/openapi.json").json()
        component = openapi["components"]["schemas"][Item.__name__]
        assert component["title"] == "Item"
        assert set(component["required"]) == {"name", "price", "made"}
        assert component["properties"]["name"]["maxLength"] == 40
        post = openapi["paths"]["/items"]["post"]
        ref = "#/components/schemas/Item"
        assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"] == ref
        assert post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"] == ref

        # create
        r = client.post("/items", json=full)
        assert r.status_code == 201, r.text
        created = r.json()
        first_id = created["id"]
        assert isinstance(first_id, int)
        r = client.post("/items", json={"name": "nail", "price": "0.05", "made": MADE.isoformat()})
        assert r.status_code == 201, r.text
        second_id = r.json()["id"]
        assert second_id != first_id

        # bad input: 422 with the field's error, and no row written
        r = client.post("/items", json={**full, "name": "x" * 41, "price": 9.99})
        assert r.status_code == 422
        errors = {tuple(e["loc"]): e["type"] for e in r.json()["detail"]}
        assert errors == {("body", "name"): "string_too_long", ("body", "price"): "decimal_inexact"}
        r = client.post("/items", json={**full, "price": "0.001"})  # 3 places, 2 allowed
        assert r.status_code == 422
        assert r.json()["detail"][0]["type"] == "ormer_validation"
        r = client.post("/items", json={"price": "1", "made": MADE.isoformat()})
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "name"]

        # list: the rows read back from the database
        r = client.get("/items")
        assert r.status_code == 200
        first, second = r.json()
        assert first["id"] == first_id and second["id"] == second_id
        assert first["name"] == "hammer"
        assert first["price"] == "9876543210987.10"  # a string, exact to the column's scale
        assert (first["qty"], first["active"], first["kind"]) == (3, False, "part")
        assert base64.b64decode(first["blob"]) == BLOB
        assert instant(first["made"]) == MADE
        assert (first["day"], first["ref"]) == ("2024-02-29", full["ref"])
        assert first["meta"] == full["meta"]
        assert first["note"] == "first"
        assert second == {
            "id": second_id,
            "name": "nail",
            "price": second["price"],
            "qty": 0,
            "active": True,
            "kind": "tool",
            "blob": None,
            "made": second["made"],
            "day": None,
            "ref": None,
            "meta": {},
            "note": None,
        }
        assert decimal.Decimal(second["price"]) == decimal.Decimal("0.05")
        assert instant(second["made"]) == MADE

        # get
        r = client.get(f"/items/{first_id}")
        assert r.status_code == 200
        assert r.json() == first
        assert client.get(f"/items/{second_id + 1000}").status_code == 404

        # replace
        new_blob = bytes(range(256))
        replacement = {
            **full,
            "name": "mallet",
            "price": "-7.5",
            "blob": base64.b64encode(new_blob).decode(),
            "note": None,
            "kind": "tool",
        }
        r = client.put(f"/items/{first_id}", json=replacement)
        assert r.status_code == 200, r.text
        r = client.get(f"/items/{first_id}")
        got = r.json()
        assert (got["name"], got["note"], got["kind"]) == ("mallet", None, "tool")
        assert decimal.Decimal(got["price"]) == decimal.Decimal("-7.50")
        assert base64.b64decode(got["blob"]) == new_blob
        assert client.put(f"/items/{second_id + 1000}", json=replacement).status_code == 404

        # delete
        assert client.delete(f"/items/{second_id}").status_code == 204
        assert client.get(f"/items/{second_id}").status_code == 404
        assert client.delete(f"/items/{second_id}").status_code == 404
        assert [item["id"] for item in client.get("/items").json()] == [first_id]

    # The pool closed with the app; a separate connection sees the same rows.
    [row] = asyncio.run(read_rows(url, Item))
    assert (row.id, row.name, row.price, row.blob) == (
        first_id,
        "mallet",
        decimal.Decimal("-7.50"),
        new_blob,
    )
    assert row.made == MADE and row.made.tzinfo is not None
    assert row.kind is Kind.TOOL
    assert row.ref == uuid.UUID(full["ref"])

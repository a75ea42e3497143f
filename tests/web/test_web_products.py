"""/products: each product's SKU, name, stock per location, and available-to-sell per channel with the rule
that produced it; one product's page with each source's numbers and every step of the computation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from fenicia.catalog.schemas import StockRuleSet
from fenicia.catalog.stock import set_connection_rule
from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.connectors.base import NormalizedLine
from fenicia.db.engine import Database
from fenicia.inventory import ats
from fenicia.web.routes.products import MINUS
from inventory.inv_world import InvWorld
from web.inv_pages import add_products, text_of

Login = Callable[..., Response]
STOCK = "SKU,Qty,Warehouse\nMUG-RED,10,MAIN\nMUG-RED,4,STORE\nMUG-BLUE,3,MAIN\n"


@dataclass
class Catalog:
    products: dict[str, int]
    plain_shop: int  # a connection with the default rule
    buffered_shop: int  # a connection holding back 10 % and 1 unit


@pytest.fixture
def catalog(tenant_a: Any, db: Database, ctx: SyncContext, make_order: Callable[..., int]) -> Catalog:
    world = InvWorld(ctx, tenant_a.id, token="")
    products = world.products(["MUG-RED", "MUG-BLUE", "LAMP"])
    source_id = world.source(name="Main stock file")
    world.upload(source_id, STOCK)
    world.sync(source_id)
    plain, _ = world.listing(products["MUG-RED"])
    buffered, _ = world.listing(products["MUG-RED"])
    world.listing(products["LAMP"])
    with db.session() as s:
        ats.recompute(s, tenant_a.id, set(products.values()), "test set-up")
        set_connection_rule(s, tenant_a.id, buffered, StockRuleSet(buffer_percent=10, buffer_fixed=1))
    line = NormalizedLine(external_id="9001-1", sku="MUG-RED", title="Red mug", quantity=2, unit_price=Decimal("9"))
    make_order(tenant_a, "9001", lines=[line])  # received after the file's snapshot: not in it yet
    return Catalog(products, plain, buffered)


def _names(db: Database, *connection_ids: int) -> list[str]:
    with db.read_session() as s:
        names = {c.id: c.name for c in s.scalars(select(ChannelConnection))}
    return [names[c] for c in connection_ids]


def test_the_list_shows_stock_per_location_and_what_each_channel_is_sent_with_its_rule(
    client: TestClient, signed_in: str, db: Database, catalog: Catalog
) -> None:
    plain, buffered = _names(db, catalog.plain_shop, catalog.buffered_shop)
    page = text_of(client.get("/products").text)
    assert "3 products." in page
    assert "MUG-RED MUG-RED MAIN: 10 STORE: 4" in page
    assert f"12 on {plain} Default rule: nothing held back, every location" in page  # 14 less 2 ordered
    assert f"9 on {buffered} The channel's rule: holds back 10 %, holds back 1 unit, every location" in page
    assert "LAMP LAMP No source reports it" in page and "Not tracked: " in page
    assert "MUG-BLUE MUG-BLUE MAIN: 3 Not listed on any channel" in page


def test_a_products_page_shows_each_sources_numbers_and_every_step_of_the_computation(
    client: TestClient, signed_in: str, db: Database, catalog: Catalog
) -> None:
    plain, buffered = _names(db, catalog.plain_shop, catalog.buffered_shop)
    page = text_of(client.get(f"/products/{catalog.products['MUG-RED']}").text)
    assert "MAIN MAIN 10 Main stock file : 10 available, as of" in page
    assert "STORE STORE 4 Main stock file : 4 available, as of" in page
    ordered = (
        f"14 in stock at the sources feeding this channel {MINUS} 2 ordered since the sources' snapshot (not yet in it)"
    )
    assert f"{plain} Shopify" in page and f"{ordered} = 12 available to sell Not yet" in page
    buffers = (
        f"{MINUS} 2 held back by the percentage buffer {MINUS} 1 held back by the fixed buffer = 9 available to sell"
    )
    assert f"{buffered} Shopify" in page and f"{ordered} {buffers}" in page
    assert "The channel's rule: holds back 10 %, holds back 1 unit, every location" in page


def test_search_and_pages(client: TestClient, signed_in: str, tenant_a: Any, db: Database) -> None:
    add_products(db, tenant_a.id, *(f"BULK-{n:03d}" for n in range(55)), "LAMP-BLUE")
    first = text_of(client.get("/products").text)
    assert "56 products." in first and "Page 1 of 2" in first and "BULK-049" in first and "BULK-050" not in first
    second = text_of(client.get("/products?page=2").text)
    assert "BULK-050" in second and "LAMP-BLUE" in second and "Page 2 of 2" in second
    found = text_of(client.get("/products?q=lamp").text)
    assert "1 product matching “lamp”" in found and "LAMP-BLUE" in found and "BULK-001" not in found
    assert "No product matches “nothing-like-this”" in text_of(client.get("/products?q=nothing-like-this").text)
    assert client.get("/products?page=zzz").status_code == 200


@pytest.fixture
def client_b(app: FastAPI, tenant_b: Any, login: Login) -> Iterator[TestClient]:
    with TestClient(app) as other:
        assert login(other, tenant_b.email).status_code == 303
        yield other


def test_another_workspaces_user_sees_none_of_the_products(client_b: TestClient, catalog: Catalog) -> None:
    assert "No products yet" in client_b.get("/products").text
    assert "No product matches “MUG”" in text_of(client_b.get("/products?q=MUG").text)
    response = client_b.get(f"/products/{catalog.products['MUG-RED']}")
    assert response.status_code == 404 and "does not exist in this workspace" in response.text
    assert "MUG-RED" not in response.text


def test_the_products_pages_need_a_session(client: TestClient) -> None:
    response = client.get("/products", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")

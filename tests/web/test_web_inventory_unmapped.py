"""The Unmapped SKUs report (a source's panel, and the workspace's page with order lines' SKUs too) and its two
resolutions, "Map to existing product" and "Create product", each applying the code's last quantity at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from doubles import RecordingDispatcher
from fenicia.catalog.models import Product
from fenicia.channels.context import SyncContext
from fenicia.channels.models import Listing
from fenicia.db.engine import Database
from fenicia.inventory.models import SkuOverride
from web.inv_pages import (
    BASE,
    add_products,
    created_id,
    levels,
    mapping_form,
    run_dispatched,
    text_of,
    unmapped,
    upload_source,
)

CSV_WITH_NAMES = "SKU,Qty,Warehouse,Name\nACME-MUG-RED,5,MAIN,Red mug\nACME-TEE-XL,7,MAIN,T-shirt XL\n"


@pytest.fixture
def source_id(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, ctx: SyncContext, dispatcher: RecordingDispatcher
) -> int:
    """A saved upload source (prefix rule "ACME-"): MUG-RED is a product, ACME-TEE-XL is not."""
    add_products(db, tenant_a.id, "MUG-RED", "TEE-LARGE")
    found = created_id(upload_source(client, signed_in, content=CSV_WITH_NAMES))
    client.post(f"{BASE}/{found}/setup/mapping", data=mapping_form(signed_in, strip_prefix="ACME-"))
    run_dispatched(ctx, dispatcher)
    client.post(f"{BASE}/{found}/setup/finish", data={"csrf_token": signed_in})
    run_dispatched(ctx, dispatcher)
    return found


def _listing(db: Database, workspace_id: int, connection_id: int, sku: str) -> int:
    with db.session() as s:
        listing = Listing(workspace_id=workspace_id, connection_id=connection_id, external_id=f"L-{sku}", sku=sku)
        listing.inventory_ref = "1"
        s.add(listing)
        s.flush()
        return listing.id


def test_the_report_shows_sources_codes_and_order_lines_skus_with_where_they_came_from(
    client: TestClient, tenant_a: Any, source_id: int, make_order: Callable[..., int]
) -> None:
    make_order(tenant_a, "7001")  # its line's SKU, SKU-1, is no product
    page = text_of(client.get(f"{BASE}/unmapped").text)
    assert "ACME-TEE-XL T-shirt XL Stock source Warehouse file" in page and " 1 7 " in page
    assert "SKU-1 — Order lines from Alpha Shopify" in page
    panel = text_of(client.get(f"{BASE}/{source_id}").text)
    assert "ACME-TEE-XL" in panel and "Order lines from" not in panel  # the panel shows its own codes only
    html = client.get(f"{BASE}/{source_id}").text
    assert 'name="sku" value="TEE-XL"' in html and 'name="name" value="T-shirt XL"' in html  # by the source's rules


def test_mapping_a_code_to_an_existing_product_applies_its_last_quantity_at_once(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, source_id: int, dispatcher: RecordingDispatcher
) -> None:
    row = unmapped(db, tenant_a.id)["ACME-TEE-XL"]
    form = {"csrf_token": signed_in, "product_sku": "TEE-LARGE", "back": str(source_id)}
    response = client.post(f"{BASE}/unmapped/{row.id}/map", data=form)
    assert response.url.path == f"{BASE}/{source_id}" and "its last quantity was applied" in response.text
    assert levels(db, source_id)["TEE-LARGE"] == 7
    assert unmapped(db, tenant_a.id)["ACME-TEE-XL"].resolved_at is not None
    with db.read_session() as s:
        assert s.scalars(select(SkuOverride.external_code)).all() == ["ACME-TEE-XL"]
    page = text_of(response.text)
    assert "Every code this source gave matches a product." in page and "TEE-LARGE ACME-TEE-XL MAIN 7" in page


def test_creating_the_product_from_a_code_uses_the_sources_rules_and_name(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, source_id: int
) -> None:
    row = unmapped(db, tenant_a.id)["ACME-TEE-XL"]
    form = {"csrf_token": signed_in, "sku": "TEE-XL", "name": "T-shirt XL", "back": "report"}
    response = client.post(f"{BASE}/unmapped/{row.id}/create-product", data=form)
    assert response.url.path == f"{BASE}/unmapped" and "Product created from the code" in response.text
    with db.read_session() as s:
        product = s.scalar(select(Product).where(Product.sku == "TEE-XL"))
        assert product is not None and product.name == "T-shirt XL" and product.workspace_id == tenant_a.id
        assert s.scalars(select(SkuOverride.id)).all() == []  # the rules find it: no override needed
    assert levels(db, source_id)["TEE-XL"] == 7
    assert "TEE-XL T-shirt XL MAIN: 7" in text_of(client.get("/products?q=TEE-XL").text)


def test_mapping_an_order_lines_sku_links_the_channels_listings_and_kicks_their_stock_push(
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    db: Database,
    source_id: int,
    dispatcher: RecordingDispatcher,
    make_order: Callable[..., int],
) -> None:
    make_order(tenant_a, "7002")
    listing_id = _listing(db, tenant_a.id, tenant_a.connection_id, "SKU-1")
    row = unmapped(db, tenant_a.id)["SKU-1"]
    form = {"csrf_token": signed_in, "product_sku": "MUG-RED", "back": "report"}
    response = client.post(f"{BASE}/unmapped/{row.id}/map", data=form)
    assert response.status_code == 200 and "SKU-1" not in text_of(response.text).split("Unmapped SKUs", 2)[-1]
    with db.read_session() as s:
        listing = s.get(Listing, listing_id)
        assert listing is not None and listing.product_id is not None and listing.ats_quantity is not None
    assert (tenant_a.connection_id,) in dispatcher.of("push_stock")

"""The products and stock API: products and bundles, CSV import, listings import, rules, the push log,
recompute now, and tenant isolation."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from doubles import RecordingDispatcher
from fenicia.catalog.models import Product
from fenicia.inventory.rules import connection_scope
from shopify_sim import SimHandle
from stock.stock_world import StockWorld

GOOD_CSV = "\ufeffSKU;Name;Price;Barcode\nTEE-1;Red tee;12,50;0012345\nTEE-2;Blue tee;;\n".encode()


def _products(world: StockWorld) -> int:
    with world.db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(Product).where(Product.workspace_id == world.ws)) or 0)


def test_create_product_and_bundle_with_stock_and_listing_ats(world: StockWorld, api: TestClient) -> None:
    h = world.headers
    cup = api.post("/api/v1/products", json={"sku": "CUP", "name": "Cup", "price": "4.50"}, headers=h)
    assert cup.status_code == 201, cup.text
    saucer = api.post("/api/v1/products", json={"sku": "SAUCER", "name": "Saucer"}, headers=h).json()
    kit_body = {
        "sku": "KIT",
        "name": "Cup and saucer",
        "components": [{"component_id": cup.json()["id"], "quantity": 1}, {"component_id": saucer["id"]}],
    }
    kit = api.post("/api/v1/products", json=kit_body, headers=h).json()
    assert [c["sku"] for c in kit["components"]] == ["CUP", "SAUCER"]
    assert api.post("/api/v1/products", json={"sku": "CUP", "name": "again"}, headers=h).status_code == 409

    conn = world.connection()
    listing = world.listing(conn, kit["id"], sku="KIT")
    world.level(cup.json()["id"], 4)
    world.level(saucer["id"], 3, location=0)
    world.level(saucer["id"], 9, location=1)
    assert api.post("/api/v1/stock/recompute", json={}, headers=h).status_code == 200
    shown = api.get(f"/api/v1/products/{kit['id']}", headers=h).json()
    [row] = shown["listings"]
    assert row["listing_id"] == listing and row["ats_quantity"] == min(4, 3)  # MAIN only: STORE has no cups
    assert row["rule_scope"] == "default" and row["explanation"]["kind"] == "bundle"
    saucer_view = api.get(f"/api/v1/products/{saucer['id']}", headers=h).json()
    assert [loc["available"] for loc in saucer_view["stock"]] == [3, 9]
    assert Decimal(api.get(f"/api/v1/products/{cup.json()['id']}", headers=h).json()["price"]) == Decimal("4.50")
    nested = api.put(
        f"/api/v1/products/{cup.json()['id']}/bundle", json={"components": [{"component_id": kit["id"]}]}, headers=h
    )
    assert nested.status_code == 422


def test_csv_import_creates_and_updates(world: StockWorld, api: TestClient) -> None:
    h = world.headers
    first = api.post("/api/v1/products/import", content=GOOD_CSV, headers={**h, "Content-Type": "text/csv"})
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0}
    again = b"sku,name,price\nTEE-1,Red tee,12.50\nTEE-2,Navy tee,9\n"
    files = {"file": ("products.csv", again, "text/csv")}
    second = api.post("/api/v1/products/import", files=files, headers=h)
    assert second.json() == {"rows": 2, "created": 0, "updated": 1, "unchanged": 1}
    listed = api.get("/api/v1/products", params={"q": "tee"}, headers=h).json()
    by_sku = {p["sku"]: p for p in listed["items"]}
    assert by_sku["TEE-1"]["barcode"] == "0012345"  # read as text: the leading zeros stay
    assert Decimal(by_sku["TEE-1"]["price"]) == Decimal("12.50") and by_sku["TEE-2"]["name"] == "Navy tee"


def test_csv_with_bad_rows_names_them_and_applies_nothing(world: StockWorld, api: TestClient) -> None:
    h = {**world.headers, "Content-Type": "text/csv"}
    bad = b"sku,name,price\nOK-1,Fine,1.00\nBAD-1,,2.00\nBAD-2,Priced,abc\nOK-1,Twice,3\n"
    answer = api.post("/api/v1/products/import", content=bad, headers=h)
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "line 3: name is empty" in message and "line 4: price 'abc'" in message
    assert "line 5: SKU 'OK-1' already on line 2" in message and "line 2:" not in message
    assert _products(world) == 0

    missing = api.post("/api/v1/products/import", content=b"sku,price\nA,1\n", headers=h)
    assert missing.status_code == 422 and "name" in missing.json()["error"]["message"]
    latin1 = api.post("/api/v1/products/import", content="sku,name\nA,Caf\xe9\n".encode("latin-1"), headers=h)
    assert latin1.status_code == 422 and "UTF-8" in latin1.json()["error"]["message"]
    assert _products(world) == 0


def test_listings_import_links_by_sku(world: StockWorld, api: TestClient, shop_b: SimHandle) -> None:
    h = world.headers
    conn = world.connection(shop_b.url)
    known_sku = next(iter(shop_b.sim.store.variants_by_sku))
    known = api.post("/api/v1/products", json={"sku": known_sku, "name": "Known"}, headers=h).json()
    path = f"/api/v1/connections/{conn}/listings/import"
    first = api.post(path, json={}, headers=h).json()
    total = len(shop_b.sim.store.variants_by_sku)
    assert first["listings_created"] == total and first["linked"] == 1 and first["products_created"] == 0
    assert known_sku not in first["unlinked_skus"] and len(first["unlinked_skus"]) == total - 1
    linked = api.get("/api/v1/listings", params={"product_id": known["id"]}, headers=h).json()
    assert [row["sku"] for row in linked] == [known_sku] and linked[0]["inventory_ref"]

    second = api.post(path, json={"create_missing_products": True}, headers=h).json()
    assert second["listings_created"] == 0 and second["listings_updated"] == total
    assert second["products_created"] == total - 1 and second["linked"] == total - 1
    assert _products(world) == total


def test_rules_api_and_push_log(world: StockWorld, api: TestClient, dispatcher: RecordingDispatcher) -> None:
    h = world.headers
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 30)
    default = api.get(f"/api/v1/connections/{conn}/stock-rule", headers=h).json()
    assert default["id"] is None and default["scope"] == "default"

    rule = {"buffer_fixed": 2, "buffer_percent": 10, "location_ids": [world.locations[0]]}
    saved = api.put(f"/api/v1/connections/{conn}/stock-rule", json=rule, headers=h)
    assert saved.status_code == 200 and saved.json()["scope"] == connection_scope(conn)
    assert world.ats(listing) == (30 * 90) // 100 - 2
    assert dispatcher.of("push_stock") == [(conn,)]  # the changed value goes out after the commit
    inherited = api.get(f"/api/v1/listings/{listing}/stock-rule", headers=h).json()
    assert inherited["scope"] == connection_scope(conn)

    own = api.put(f"/api/v1/listings/{listing}/stock-rule", json={"max_quantity": 5}, headers=h)
    assert own.status_code == 200 and world.ats(listing) == 5
    bad = api.put(f"/api/v1/listings/{listing}/stock-rule", json={"location_ids": [987654]}, headers=h)
    assert bad.status_code == 422 and world.ats(listing) == 5
    assert api.delete(f"/api/v1/listings/{listing}/stock-rule", headers=h).status_code == 204
    assert world.ats(listing) == (30 * 90) // 100 - 2

    log = api.get("/api/v1/stock/pushes", headers=h).json()
    assert [row["status"] for row in log["items"]] == ["pending", "superseded", "superseded"]
    pending = api.get("/api/v1/stock/pushes", params={"status": "pending"}, headers=h).json()
    assert pending["total"] == 1 and pending["items"][0]["quantity"] == world.ats(listing)
    assert api.get("/api/v1/stock/pushes", params={"status": "lost"}, headers=h).status_code == 422


def test_tenant_isolation(world: StockWorld, other_world: StockWorld, api: TestClient) -> None:
    p = world.product("MINE")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 8)
    world.recompute(p)
    theirs = other_world.headers
    assert api.get(f"/api/v1/products/{p}", headers=theirs).status_code == 404
    assert api.get("/api/v1/products", headers=theirs).json()["total"] == 0
    assert api.get(f"/api/v1/connections/{conn}/stock-rule", headers=theirs).status_code == 404
    assert api.put(f"/api/v1/listings/{listing}/stock-rule", json={}, headers=theirs).status_code == 404
    assert api.post(f"/api/v1/connections/{conn}/listings/import", json={}, headers=theirs).status_code == 404
    assert api.get("/api/v1/stock/pushes", headers=theirs).json()["total"] == 0
    assert api.post("/api/v1/stock/recompute", json={"product_ids": [p]}, headers=theirs).json()["products"] == 0
    kit = {"sku": "KIT", "name": "Kit", "components": [{"component_id": p}]}
    assert api.post("/api/v1/products", json=kit, headers=theirs).status_code == 404
    assert api.get("/api/v1/products", headers=world.headers).json()["total"] == 1

"""The Walmart simulator over raw HTTP: what a client sees (auth, headers, paging, errors, limits, faults)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fenicia.connectors.walmart.sim_config import WalmartSimConfig
from fenicia.connectors.walmart.sim_models import StatusEntry
from fenicia.connectors.walmart.simulator import WalmartSimulator, build_standalone_app
from walmart_sim import CLIENT_ID, CLIENT_SECRET, WalmartHandle

BASIC = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
DAY_MS = 86_400_000


def wm_headers(token: str | None = None) -> dict[str, str]:
    headers = {"WM_SVC.NAME": "Tests", "WM_QOS.CORRELATION_ID": str(uuid.uuid4()), "Accept": "application/json"}
    if token:
        headers["WM_SEC.ACCESS_TOKEN"] = token
    return headers


@pytest.fixture
def api(wm: WalmartHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=wm.url, timeout=10) as client:
        yield client


def token(api: httpx.Client) -> str:
    answer = api.post(
        "/v3/token", data={"grant_type": "client_credentials"}, headers={**wm_headers(), "Authorization": BASIC}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    return str(body["access_token"])


def codes(answer: httpx.Response) -> list[str]:
    return [e["code"] for e in answer.json()["errors"]["error"]]


def test_token_api(api: httpx.Client, wm: WalmartHandle) -> None:
    token(api)
    bad = "Basic " + base64.b64encode(b"wm-sandbox-client:nope").decode()
    refused = api.post(
        "/v3/token", data={"grant_type": "client_credentials"}, headers={**wm_headers(), "Authorization": bad}
    )
    assert refused.status_code == 401 and codes(refused) == ["UNAUTHORIZED.GMP_GATEWAY_API"]
    grant = api.post("/v3/token", data={"grant_type": "password"}, headers={**wm_headers(), "Authorization": BASIC})
    assert grant.status_code == 400
    assert wm.grants() == 1


def test_required_headers_and_token(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    missing = api.get("/v3/orders", headers={"WM_SEC.ACCESS_TOKEN": value, "WM_SVC.NAME": "x"})
    assert missing.status_code == 400 and codes(missing) == ["MISSING_REQUEST_HEADER.GMP_GATEWAY_API"]
    assert api.get("/v3/orders", headers=wm_headers()).status_code == 401
    assert api.get("/v3/orders", headers=wm_headers("forged")).status_code == 401
    xml = api.get("/v3/orders", headers={**wm_headers(value), "Accept": "application/xml"})
    assert xml.status_code == 406
    detail = api.get("/v3/token/detail", headers=wm_headers(value)).json()
    assert detail["is_valid"] is True and detail["scopes"]["orders"] == "full_access"


def test_token_expires_with_the_clock(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    wm.control("POST", "clock", {"advance_s": 901})
    answer = api.get("/v3/token/detail", headers=wm_headers(value))
    assert answer.status_code == 401 and codes(answer) == ["UNAUTHORIZED.GMP_GATEWAY_API"]


def test_orders_list_shape_paging_and_filters(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    for _ in range(5):
        wm.sim.create_order()
    old = wm.sim.create_order(order_date_ms=wm.sim.clock.now_ms() - 10 * DAY_MS)
    first = api.get("/v3/orders", params={"limit": 2}, headers=wm_headers(value)).json()["list"]
    assert first["meta"]["totalCount"] == 5  # createdStartDate defaults to 7 days ago
    cursor = first["meta"]["nextCursor"]
    assert cursor.startswith("?") and "hasMoreElements=true" in cursor and "poIndex=2" in cursor
    seen = [o["purchaseOrderId"] for o in first["elements"]["order"]]
    while cursor:
        page = api.get(f"/v3/orders{cursor}", headers=wm_headers(value)).json()["list"]
        seen += [o["purchaseOrderId"] for o in page["elements"]["order"]]
        cursor = page["meta"].get("nextCursor")
    assert len(seen) == len(set(seen)) == 5 and old["purchaseOrderId"] not in seen
    wide = api.get("/v3/orders", params={"createdStartDate": "2000-01-01"}, headers=wm_headers(value)).json()
    assert wide["list"]["meta"]["totalCount"] == 6  # clamped to 180 days, which still holds it
    one = api.get(
        "/v3/orders",
        params={"purchaseOrderId": old["purchaseOrderId"], "createdStartDate": "2000-01-01"},
        headers=wm_headers(value),
    )
    assert [o["purchaseOrderId"] for o in one.json()["list"]["elements"]["order"]] == [old["purchaseOrderId"]]


def test_orders_list_errors(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    empty = api.get("/v3/orders", headers=wm_headers(value))
    assert empty.status_code == 404 and codes(empty) == ["CONTENT_NOT_FOUND.GMP_ORDER_API"]
    assert api.get("/v3/orders", params={"limit": 201}, headers=wm_headers(value)).status_code == 400
    bad_date = api.get("/v3/orders", params={"lastModifiedStartDate": "soon"}, headers=wm_headers(value))
    assert bad_date.status_code == 400 and bad_date.json()["errors"]["error"][0]["field"] == "lastModifiedStartDate"
    wm.control("POST", "config", {"max_orders_per_query": 2, "error_shape": "list"})
    for _ in range(3):
        wm.sim.create_order()
    too_many = api.get("/v3/orders", headers=wm_headers(value))
    assert too_many.status_code == 400 and "narrow" in too_many.json()["errors"][0]["description"]


def test_order_line_status_shape(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    po = wm.sim.create_order(lines=[{"sku": "WM-0001", "quantity": 2}])["purchaseOrderId"]
    order = api.get(f"/v3/orders/{po}", headers=wm_headers(value)).json()["order"]
    line = order["orderLines"]["orderLine"][0]
    assert line["orderLineQuantity"] == {"unitOfMeasurement": "EACH", "amount": "2"}
    assert line["orderLineStatuses"]["orderLineStatus"][0]["status"] == "Created"
    assert isinstance(order["orderDate"], int) and isinstance(line["statusDate"], int)
    assert api.get("/v3/orders/404", headers=wm_headers(value)).status_code == 404
    assert (
        api.get("/v3/nothing", headers=wm_headers(value))
        .json()["errors"]["error"][0]["code"]
        .startswith("URI_NOT_FOUND")
    )


def shipment(number: str, quantity: int = 2, **info: Any) -> dict[str, Any]:
    tracking = {
        "shipDateTime": 1,
        "carrierName": {"carrier": "UPS"},
        "methodCode": "Standard",
        "trackingNumber": number,
    }
    status = {"status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(quantity)}}
    line = {"lineNumber": "1", "orderLineStatuses": {"orderLineStatus": [status | {"trackingInfo": tracking | info}]}}
    return {"orderShipment": {"orderLines": {"orderLine": [line]}}}


def test_shipping_rules(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    po = wm.sim.create_order(lines=[{"sku": "WM-0001", "quantity": 2}])["purchaseOrderId"]
    path = f"/v3/orders/{po}/shipping"
    unacked = api.post(path, json=shipment("A1"), headers=wm_headers(value))
    assert unacked.status_code == 400 and "not acknowledged" in unacked.text
    assert api.post(f"/v3/orders/{po}/acknowledge", headers=wm_headers(value)).status_code == 200
    unknown = api.post(path, json=shipment("A1", carrierName={"carrier": "Pigeon"}), headers=wm_headers(value))
    assert unknown.status_code == 400
    no_url = api.post(path, json=shipment("A1", carrierName={"otherCarrier": "Pigeon"}), headers=wm_headers(value))
    assert no_url.status_code == 400 and "trackingURL" in no_url.text
    assert api.post(path, json=shipment("A1", methodCode="Warp"), headers=wm_headers(value)).status_code == 400
    assert api.post(path, json=shipment("A1", quantity=3), headers=wm_headers(value)).status_code == 400
    assert api.post(path, json=shipment("A1"), headers=wm_headers(value)).status_code == 200
    again = api.post(path, json=shipment("A1"), headers=wm_headers(value))
    assert again.status_code == 400 and "already shipped" in again.text
    retrack = shipment("B2")
    retrack["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0][
        "currentTrackingInfo"
    ] = {"trackingNumber": "A1"}
    updated = api.post(path, json=retrack, headers=wm_headers(value)).json()["order"]
    assert "B2" in json.dumps(updated) and "A1" not in json.dumps(updated)
    assert api.post(path, json=retrack, headers=wm_headers(value)).status_code == 400  # A1 no longer exists


def test_intent_to_cancel_needs_an_override(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    po = wm.sim.create_order(lines=[{"sku": "WM-0001", "quantity": 2}])["purchaseOrderId"]
    api.post(f"/v3/orders/{po}/acknowledge", headers=wm_headers(value))
    wm.control("POST", f"orders/{po}/intent_to_cancel", {})
    refused = api.post(f"/v3/orders/{po}/shipping", json=shipment("C3"), headers=wm_headers(value))
    assert refused.status_code == 400 and "intentToCancelOverride" in refused.text
    body = shipment("C3")
    body["orderShipment"]["orderLines"]["orderLine"][0]["intentToCancelOverride"] = True
    assert api.post(f"/v3/orders/{po}/shipping", json=body, headers=wm_headers(value)).status_code == 200


def cancellation(reason: str, quantity: int = 1) -> dict[str, Any]:
    status = {"status": "Cancelled", "cancellationReason": reason}
    status["statusQuantity"] = {"unitOfMeasurement": "EA", "amount": str(quantity)}  # type: ignore[assignment]
    line = {"lineNumber": "1", "orderLineStatuses": {"orderLineStatus": [status]}}
    return {"orderCancellation": {"orderLines": {"orderLine": [line]}}}


def test_cancel_rules(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    po = wm.sim.create_order(lines=[{"sku": "WM-0001", "quantity": 2}])["purchaseOrderId"]
    path = f"/v3/orders/{po}/cancel"
    assert api.post(path, json=cancellation("BECAUSE"), headers=wm_headers(value)).status_code == 400
    customer = api.post(path, json=cancellation("CUSTOMER_REQUESTED_SELLER_TO_CANCEL"), headers=wm_headers(value))
    assert customer.status_code == 400
    done = api.post(path, json=cancellation("SELLER_CANCEL_OUT_OF_STOCK"), headers=wm_headers(value)).json()["order"]
    statuses = done["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"]
    assert {(s["status"], s["statusQuantity"]["amount"]) for s in statuses} == {("Created", "1"), ("Cancelled", "1")}
    assert (
        api.post(path, json=cancellation("SELLER_CANCEL_OUT_OF_STOCK", 2), headers=wm_headers(value)).status_code == 400
    )
    assert api.post(path, json={"orderCancellation": {}}, headers=wm_headers(value)).status_code == 400
    assert api.post(path, content=b"{not json", headers=wm_headers(value)).status_code == 400


def test_unshipped_lines_are_auto_cancelled_after_ship_by_plus_four_days(wm: WalmartHandle) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    before = wm.sim.get_order(po)
    answer = wm.control("POST", "clock", {"advance_s": 7 * 86400})
    assert answer["auto_cancelled"] == 1
    after = wm.sim.get_order(po)
    assert {
        s["status"] for ln in after["orderLines"]["orderLine"] for s in ln["orderLineStatuses"]["orderLineStatus"]
    } == {"Cancelled"}
    assert after["orderLines"]["orderLine"][0]["statusDate"] > before["orderLines"]["orderLine"][0]["statusDate"]


def test_rate_limit_answers_and_usage_headers(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    po = wm.sim.create_order()["purchaseOrderId"]
    wm.control("POST", "config", {"rate_limit_enabled": True, "allowances": {"order_get": [0.5, 2]}})
    answers = [api.get(f"/v3/orders/{po}", headers=wm_headers(value)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-current-token-count"] for a in answers] == ["1", "0", "0"]
    assert int(answers[2].headers["x-next-replenishment-time"]) > time.time() * 1000
    assert codes(answers[2]) == ["REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"]
    assert "Retry-After" not in answers[2].headers
    wm.control("POST", "config", {"retry_after_header": True})
    assert float(api.get(f"/v3/orders/{po}", headers=wm_headers(value)).headers["Retry-After"]) > 0


def test_faults(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    po = wm.sim.create_order()["purchaseOrderId"]
    wm.fault("http_503", count=1)
    bare = api.get(f"/v3/orders/{po}", headers=wm_headers(value))
    assert bare.status_code == 503 and bare.content == b""
    wm.fault("expire_token", count=1)
    assert api.get(f"/v3/orders/{po}", headers=wm_headers(value)).status_code == 401
    assert api.get(f"/v3/orders/{po}", headers=wm_headers(value)).status_code == 401  # that token is dead now
    rule = wm.control("POST", "faults", {"kind": "http_500"})["fault"]
    assert wm.control("GET", "faults")["faults"][0]["kind"] == "http_500"
    wm.control("DELETE", f"faults/{rule['id']}")
    assert wm.control("GET", "faults")["faults"] == []
    with pytest.raises(httpx.HTTPStatusError):
        wm.control("POST", "faults", {"kind": "meteor"})
    log = wm.requests("GET", f"/v3/orders/{po}")
    assert [r["fault"] for r in log] == ["http_503", "expire_token", None]


def test_feed_lifecycle_and_bad_files(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    wm.control("POST", "config", {"feed_processing_s": 0.2})
    feed = {
        "InventoryHeader": {"version": "1.4"},
        "Inventory": [{"sku": "WM-0003", "quantity": {"unit": "EACH", "amount": 7}}],
    }
    files = {"file": ("f.json", json.dumps(feed).encode(), "application/json")}
    feed_id = api.post("/v3/feeds", params={"feedType": "inventory"}, files=files, headers=wm_headers(value)).json()[
        "feedId"
    ]
    first = api.get(f"/v3/feeds/{feed_id}", headers=wm_headers(value)).json()
    assert first["feedStatus"] == "RECEIVED" and first["itemsProcessing"] == 1
    wm.control("POST", "clock", {"advance_s": 1})
    done = api.get(f"/v3/feeds/{feed_id}", params={"includeDetails": "true"}, headers=wm_headers(value)).json()
    assert done["feedStatus"] == "PROCESSED" and done["itemsSucceeded"] == 1
    assert done["itemDetails"]["itemIngestionStatus"][0]["ingestionStatus"] == "SUCCESS"
    assert wm.control("GET", "inventory")["inventory"]["WM-0003"] == 7
    broken = {"file": ("f.json", b"not json", "application/json")}
    bad_id = api.post("/v3/feeds", params={"feedType": "inventory"}, files=broken, headers=wm_headers(value)).json()[
        "feedId"
    ]
    wm.control("POST", "clock", {"advance_s": 1})
    assert api.get(f"/v3/feeds/{bad_id}", headers=wm_headers(value)).json()["feedStatus"] == "ERROR"
    raw = api.post("/v3/feeds", params={"feedType": "inventory"}, json=feed, headers=wm_headers(value))
    assert raw.status_code == 415
    wm.control("POST", "config", {"feed_max_bytes": 10})
    assert (
        api.post("/v3/feeds", params={"feedType": "inventory"}, files=files, headers=wm_headers(value)).status_code
        == 413
    )
    assert (
        api.post("/v3/feeds", params={"feedType": "price"}, files=files, headers=wm_headers(value)).status_code == 400
    )
    assert len(wm.control("GET", "feeds")["feeds"]) == 2


def test_inventory_api(api: httpx.Client, wm: WalmartHandle) -> None:
    value = token(api)
    put = api.put(
        "/v3/inventory",
        params={"sku": "WM-0001"},
        json={"sku": "WM-0001", "quantity": {"unit": "EACH", "amount": 9}},
        headers=wm_headers(value),
    )
    assert put.json() == {"sku": "WM-0001", "quantity": {"unit": "EACH", "amount": 9}}
    assert (
        api.get("/v3/inventory", params={"sku": "WM-0001"}, headers=wm_headers(value)).json()["quantity"]["amount"] == 9
    )
    assert api.get("/v3/inventory", params={"sku": "NOPE"}, headers=wm_headers(value)).status_code == 404
    assert api.get("/v3/inventory", headers=wm_headers(value)).status_code == 400
    negative = {"sku": "WM-0001", "quantity": {"unit": "EACH", "amount": -1}}
    assert (
        api.put("/v3/inventory", params={"sku": "WM-0001"}, json=negative, headers=wm_headers(value)).status_code == 400
    )


def test_control_api(wm: WalmartHandle) -> None:
    assert wm.control("POST", "orders/bulk", {"count": 25})["orders"] == 25
    state = wm.control("GET", "state")
    assert state["orders"] == 25 and state["token_grants"] == 0
    po = wm.control("POST", "orders", {"sku": "WM-0002", "quantity": 3, "name": "Ana Silva"})["order"][
        "purchaseOrderId"
    ]
    edited = wm.control("POST", f"orders/{po}/edit", {"address": {"city": "Reno"}})["order"]
    assert edited["shippingInfo"]["postalAddress"]["city"] == "Reno"
    assert edited["shippingInfo"]["postalAddress"]["name"] == "Ana Silva"
    wm.control("DELETE", f"orders/{po}")
    with pytest.raises(httpx.HTTPStatusError):
        wm.control("GET", f"orders/{po}")
    with pytest.raises(httpx.HTTPStatusError):
        wm.control("POST", "config", {"list_order": "random"})
    with pytest.raises(httpx.HTTPStatusError):
        wm.control("POST", "orders/bulk", {"count": 0})
    assert {wm.control("POST", "generator/step", {})["did"] for _ in range(8)} >= {"create"}
    wm.control("DELETE", "requests")
    assert wm.control("GET", "requests")["requests"] == []


def test_delivery_and_standalone_app() -> None:
    sim = WalmartSimulator(WalmartSimConfig(seed=3))
    po = sim.create_order()["purchaseOrderId"]
    for line in sim.store.get(po).lines:
        line.take_open(line.quantity, prefer=("Created",))
        line.add(StatusEntry("Shipped", line.quantity, {"trackingNumber": "Z"}))
    delivered = sim.store.deliver(po)
    assert {e.status for ln in delivered.lines for e in ln.statuses} == {"Delivered"}
    assert build_standalone_app() is not None

"""The Shopify simulator over real loopback HTTP: uvicorn serves it, webhooks go to a real server."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from fenicia.connectors.shopify.simulator import ShopifySimConfig, ShopifySimulator

TOKEN = "shpat_sandbox"
SECRET = "shpss_sandbox"
API = "/admin/api/2024-04"
FIXTURE = Path(__file__).parents[3] / "src/fenicia/connectors/shopify/fixtures/order.json"


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app with uvicorn on a free loopback port, in this event loop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class Receiver:
    """A merchant's webhook endpoint: records every call, answers with scripted statuses."""

    url: str = ""
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    scripted: list[int] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body()))
        return Response(status_code=self.scripted.pop(0) if self.scripted else 200)

    def topics(self) -> list[str]:
        return [headers["x-shopify-topic"] for headers, _ in self.calls]


@dataclass
class Harness:
    sim: ShopifySimulator
    api: httpx.AsyncClient  # authenticated REST client
    control: httpx.AsyncClient  # /_sandbox client
    receiver: Receiver
    base_url: str


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def make_config(**overrides: Any) -> ShopifySimConfig:
    base: dict[str, Any] = {"webhook_retry_delays_s": [0.05, 0.05], "webhook_timeout_s": 2.0}
    return ShopifySimConfig(**{**base, **overrides})


@contextlib.asynccontextmanager
async def harness(config: ShopifySimConfig) -> AsyncIterator[Harness]:
    sim = ShopifySimulator(config)
    receiver = Receiver()
    hook_app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    async with serve(hook_app) as hook_url, serve(sim.app) as base_url:
        receiver.url = f"{hook_url}/hook"
        headers = {"X-Shopify-Access-Token": TOKEN}
        async with (
            httpx.AsyncClient(base_url=base_url + API, headers=headers) as api,
            httpx.AsyncClient(base_url=base_url + "/_sandbox") as control,
        ):
            yield Harness(sim, api, control, receiver, base_url)


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with harness(make_config()) as running:
        yield running


async def subscribe(h: Harness, *topics: str) -> None:
    response = await h.control.post("/webhooks", json={"address": h.receiver.url, "topics": list(topics)})
    assert response.status_code == 201


async def add_fault(h: Harness, kind: str, **spec: Any) -> None:
    response = await h.control.post("/faults", json={"kind": kind, **spec})
    assert response.status_code == 201, response.text


def next_link(response: httpx.Response, rel: str = "next") -> str | None:
    header: str = response.headers.get("link", "")
    for part in header.split(", "):
        if part.endswith(f'rel="{rel}"'):
            return part[1 : part.index(">")]
    return None


def expected_hmac(body: bytes) -> str:
    return base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()


# -- auth, rate limit ------------------------------------------------------------------------


async def test_missing_wrong_and_revoked_tokens_get_shopify_401(h: Harness) -> None:
    expected = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
    async with httpx.AsyncClient(base_url=h.base_url + API) as anonymous:
        missing = await anonymous.get("/orders.json")
        wrong = await anonymous.get("/orders.json", headers={"X-Shopify-Access-Token": "shpat_nope"})
    await add_fault(h, "revoke_token")
    revoked = await h.api.get("/orders.json")
    for response in (missing, wrong, revoked):
        assert response.status_code == 401
        assert response.json() == expected
        assert response.headers["www-authenticate"] == 'Basic Realm="Shopify API Authentication"'
    assert (await h.control.delete("/faults")).status_code == 200
    assert (await h.api.get("/orders.json")).status_code == 200


async def test_leaky_bucket_throttles_with_retry_after_and_call_limit_header() -> None:
    async with harness(make_config(bucket_size=4, leak_rate_per_s=0.5)) as h:
        responses = [await h.api.get("/locations.json") for _ in range(6)]
        statuses = [r.status_code for r in responses]
        assert statuses == [200, 200, 200, 200, 429, 429]
        assert [r.headers["x-shopify-shop-api-call-limit"] for r in responses[:4]] == ["1/4", "2/4", "3/4", "4/4"]
        throttled = responses[4]
        assert throttled.headers["retry-after"] == "2.0"
        assert throttled.headers["x-shopify-shop-api-call-limit"] == "4/4"
        message = "Exceeded 0.5 calls per second for api client. Reduce request rates to resume uninterrupted service."
        assert throttled.json() == {"errors": message}
        changed = await h.control.post("/config", json={"rate_limit_enabled": False})
        assert changed.json()["changed"] == ["rate_limit_enabled"]
        response = await h.api.get("/locations.json")
        assert response.status_code == 200
        assert response.headers["x-shopify-shop-api-call-limit"] == "4/4"


async def test_with_limits_off_calls_are_not_counted_so_clients_never_slow_down() -> None:
    async with harness(make_config(bucket_size=4, leak_rate_per_s=0.5, rate_limit_enabled=False)) as h:
        responses = [await h.api.get("/locations.json") for _ in range(10)]
        assert {r.status_code for r in responses} == {200}
        assert {r.headers["x-shopify-shop-api-call-limit"] for r in responses} == {"0/4"}


async def test_bucket_leaks_over_time() -> None:
    async with harness(make_config(bucket_size=2, leak_rate_per_s=20.0)) as h:
        assert [(await h.api.get("/locations.json")).status_code for _ in range(2)] == [200, 200]
        await asyncio.sleep(0.1)  # 20/s leaks both calls in 0.1 s
        response = await h.api.get("/locations.json")
        assert response.status_code == 200
        assert response.headers["x-shopify-shop-api-call-limit"] == "1/2"


# -- listing, pagination, filters ------------------------------------------------------------


async def walk(h: Harness, first: httpx.Response) -> tuple[list[int], list[httpx.Response]]:
    pages, response = [first], first
    while (url := next_link(response)) is not None:
        response = await h.api.get(url)
        assert response.status_code == 200
        pages.append(response)
    return [o["id"] for page in pages for o in page.json()["orders"]], pages


async def test_pagination_walks_every_order_exactly_once(h: Harness) -> None:
    h.sim.bulk_create_orders(120)
    first = await h.api.get("/orders.json", params={"limit": 50, "status": "any", "fields": "id,created_at"})
    ids, pages = await walk(h, first)
    assert [len(p.json()["orders"]) for p in pages] == [50, 50, 20]
    assert sorted(ids) == sorted(h.sim.store.orders) and len(set(ids)) == 120
    assert next_link(pages[0], "previous") is None and next_link(pages[-1]) is None
    link = next_link(pages[0])
    assert link is not None and link.startswith(f"{h.base_url}{API}/orders.json?limit=50&page_info=")
    assert set(pages[1].json()["orders"][0]) == {"id", "created_at"}  # fields kept across pages
    created = [o["created_at"] for p in pages for o in p.json()["orders"]]
    assert created == sorted(created, reverse=True)  # default order: created_at desc
    previous = next_link(pages[1], "previous")
    assert previous is not None
    back = await h.api.get(previous)
    assert [o["id"] for o in back.json()["orders"]] == ids[:50]


async def test_page_info_refuses_other_filters_and_limit_is_capped(h: Harness) -> None:
    h.sim.bulk_create_orders(3)
    first = await h.api.get("/orders.json", params={"limit": 1, "status": "any"})
    url = next_link(first)
    assert url is not None
    mixed = await h.api.get(url + "&status=any")
    assert mixed.status_code == 400
    assert "page_info" in mixed.json()["errors"]
    assert (await h.api.get("/orders.json", params={"page_info": "garbage"})).status_code == 400
    too_many = await h.api.get("/orders.json", params={"limit": 251})
    assert too_many.status_code == 400
    assert "errors" in too_many.json()


async def test_pagination_is_stable_while_orders_are_created(h: Harness) -> None:
    h.sim.bulk_create_orders(30)
    original = set(h.sim.store.orders)
    response = await h.api.get("/orders.json", params={"limit": 10, "status": "any"})
    seen = [o["id"] for o in response.json()["orders"]]
    while (url := next_link(response)) is not None:
        h.sim.create_order()  # newer orders sort before the cursor in created_at desc
        response = await h.api.get(url)
        seen += [o["id"] for o in response.json()["orders"]]
    assert sorted(seen) == sorted(original)


async def test_updated_at_min_and_updated_at_ascending_order(h: Harness) -> None:
    h.sim.bulk_create_orders(40)
    target = sorted(h.sim.store.orders)[5]
    edited = h.sim.customer_edit(target, {"shipping_address": {"city": "Lisbon"}})
    response = await h.api.get(
        "/orders.json", params={"updated_at_min": edited["updated_at"], "order": "updated_at asc", "status": "any"}
    )
    assert [o["id"] for o in response.json()["orders"]] == [target]
    everything = await h.api.get("/orders.json", params={"order": "updated_at asc", "limit": 250})
    stamps = [o["updated_at"] for o in everything.json()["orders"]]
    assert len(stamps) == 40 and stamps == sorted(stamps) and stamps[-1] == edited["updated_at"]
    count = await h.api.get("/orders/count.json", params={"updated_at_min": edited["updated_at"]})
    assert count.json() == {"count": 1}


async def test_updated_at_strictly_increases_on_every_mutation(h: Harness) -> None:
    order = h.sim.create_order(sku="IPOD2008RED", quantity=3)
    stamps = [order["updated_at"]]
    for quantity in (4, 5, 6):
        line = order["line_items"][0]["id"]
        stamps.append(
            h.sim.customer_edit(order["id"], {"line_items": [{"line_item_id": line, "quantity": quantity}]})[
                "updated_at"
            ]
        )
    assert stamps == sorted(set(stamps))


async def test_status_filter_and_unknown_order(h: Harness) -> None:
    kept, cancelled = h.sim.create_order(), h.sim.create_order()
    h.sim.customer_cancel(cancelled["id"])
    open_ids = [o["id"] for o in (await h.api.get("/orders.json")).json()["orders"]]
    cancelled_ids = [o["id"] for o in (await h.api.get("/orders.json?status=cancelled")).json()["orders"]]
    assert open_ids == [kept["id"]] and cancelled_ids == [cancelled["id"]]
    missing = await h.api.get("/orders/1.json")
    assert missing.status_code == 404 and missing.json() == {"errors": "Not Found"}
    assert (await h.control.delete(f"/orders/{kept['id']}")).status_code == 200
    assert (await h.api.get(f"/orders/{kept['id']}.json")).status_code == 404


# -- shape, determinism -----------------------------------------------------------------------


async def test_order_has_every_field_of_shopifys_reference_payload(h: Harness) -> None:
    reference = json.loads(FIXTURE.read_text())
    order = h.sim.create_order(sku="IPOD2008GREEN", quantity=1)
    order = h.sim.get_order(order["id"])
    assert set(reference) <= set(order)
    assert set(reference["line_items"][0]) <= set(order["line_items"][0])
    assert set(reference["customer"]) <= set(order["customer"])
    assert set(reference["shipping_address"]) <= set(order["shipping_address"])
    assert order["name"] == "#1001" and order["order_number"] == 1001
    assert isinstance(order["id"], int) and isinstance(order["total_price"], str)
    assert order["created_at"].endswith("-05:00") and order["fulfillment_status"] is None


async def test_same_seed_gives_same_shop() -> None:
    def snapshot(sim: ShopifySimulator) -> list[tuple[int, str, str, list[str]]]:
        sim.bulk_create_orders(5)
        orders = [sim.get_order(i) for i in sorted(sim.store.orders)]
        return [(o["id"], o["email"], o["total_price"], [li["sku"] for li in o["line_items"]]) for o in orders]

    assert snapshot(ShopifySimulator(make_config(seed=7))) == snapshot(ShopifySimulator(make_config(seed=7)))
    assert snapshot(ShopifySimulator(make_config(seed=7))) != snapshot(ShopifySimulator(make_config(seed=8)))


# -- fulfillment, cancel ------------------------------------------------------------------------


async def fulfillment_order(h: Harness, order_id: int) -> dict[str, Any]:
    response = await h.api.get(f"/orders/{order_id}/fulfillment_orders.json")
    assert response.status_code == 200
    fulfillment_orders: list[dict[str, Any]] = response.json()["fulfillment_orders"]
    assert len(fulfillment_orders) == 1
    return fulfillment_orders[0]


async def fulfil(h: Harness, fo: dict[str, Any], lines: list[dict[str, int]] | None) -> httpx.Response:
    group: dict[str, Any] = {"fulfillment_order_id": fo["id"]}
    if lines is not None:
        group["fulfillment_order_line_items"] = lines
    body = {
        "fulfillment": {
            "notify_customer": False,
            "tracking_info": {"number": "1Z001985YW99744790", "company": "UPS", "url": "https://ups.example/1Z"},
            "line_items_by_fulfillment_order": [group],
        }
    }
    return await h.api.post("/fulfillments.json", json=body)


async def test_fulfillment_flow_partial_then_full_then_over_fulfil(h: Harness) -> None:
    await subscribe(h, "orders/partially_fulfilled", "orders/fulfilled", "orders/updated")
    order = h.sim.create_order(
        line_items=[{"sku": "IPOD2008GREEN", "quantity": 2}, {"sku": "IPOD2008RED", "quantity": 1}]
    )
    fo = await fulfillment_order(h, order["id"])
    assert fo["status"] == "open" and fo["order_id"] == order["id"]
    first_line = fo["line_items"][0]
    assert (first_line["quantity"], first_line["fulfillable_quantity"]) == (2, 2)

    partial = await fulfil(h, fo, [{"id": first_line["id"], "quantity": 1}])
    assert partial.status_code == 201
    shipped = partial.json()["fulfillment"]
    assert shipped["status"] == "success" and shipped["name"] == "#1001.1"
    assert shipped["tracking_company"] == "UPS" and shipped["tracking_numbers"] == ["1Z001985YW99744790"]
    assert shipped["tracking_url"] == "https://ups.example/1Z" and shipped["shipment_status"] is None
    assert [(li["id"], li["quantity"]) for li in shipped["line_items"]] == [(first_line["line_item_id"], 1)]
    after = (await h.api.get(f"/orders/{order['id']}.json")).json()["order"]
    assert after["fulfillment_status"] == "partial"
    assert [li["fulfillable_quantity"] for li in after["line_items"]] == [1, 1]
    assert (await fulfillment_order(h, order["id"]))["status"] == "in_progress"

    over = await fulfil(h, fo, [{"id": first_line["id"], "quantity": 5}])
    assert over.status_code == 422 and isinstance(over.json()["errors"], list)

    rest = await fulfil(h, fo, None)  # no line items: the whole remaining fulfillment order
    assert rest.status_code == 201 and rest.json()["fulfillment"]["name"] == "#1001.2"
    done = (await h.api.get(f"/orders/{order['id']}.json")).json()["order"]
    assert done["fulfillment_status"] == "fulfilled" and done["closed_at"] is not None
    assert len(done["fulfillments"]) == 2
    assert (await fulfillment_order(h, order["id"]))["status"] == "closed"
    assert (await fulfil(h, fo, None)).status_code == 422
    await h.sim.flush_webhooks()
    assert h.receiver.topics() == [
        "orders/partially_fulfilled",
        "orders/updated",
        "orders/fulfilled",
        "orders/updated",
    ]
    posts = (await h.control.get("/requests", params={"method": "POST", "path_contains": "fulfillments.json"})).json()
    assert [r["status"] for r in posts["requests"]] == [201, 422, 201, 422]


async def test_update_tracking_and_cancel_fulfillment(h: Harness) -> None:
    order = h.sim.create_order(sku="IPOD2008BLACK", quantity=1)
    fulfillment = (await fulfil(h, await fulfillment_order(h, order["id"]), None)).json()["fulfillment"]
    tracking = {"fulfillment": {"notify_customer": True, "tracking_info": {"company": "USPS", "number": "9400"}}}
    updated = await h.api.post(f"/fulfillments/{fulfillment['id']}/update_tracking.json", json=tracking)
    assert updated.status_code == 200
    assert updated.json()["fulfillment"]["tracking_number"] == "9400"
    assert updated.json()["fulfillment"]["tracking_company"] == "USPS"
    cancelled = await h.api.post(f"/fulfillments/{fulfillment['id']}/cancel.json")
    assert cancelled.status_code == 200 and cancelled.json()["fulfillment"]["status"] == "cancelled"
    reopened = h.sim.get_order(order["id"])
    assert reopened["fulfillment_status"] is None and reopened["closed_at"] is None
    assert reopened["line_items"][0]["fulfillable_quantity"] == 1
    assert (await h.api.post(f"/fulfillments/{fulfillment['id']}/cancel.json")).status_code == 422


async def test_cancel_order_then_cancel_again_and_cancel_fulfilled(h: Harness) -> None:
    await subscribe(h, "orders/cancelled", "orders/updated")
    order = h.sim.create_order()
    response = await h.api.post(f"/orders/{order['id']}/cancel.json", json={"reason": "inventory", "restock": True})
    assert response.status_code == 200
    cancelled = response.json()["order"]
    assert cancelled["cancel_reason"] == "inventory"
    assert cancelled["cancelled_at"] is not None and cancelled["closed_at"] is not None
    assert cancelled["updated_at"] > order["updated_at"]
    again = await h.api.post(f"/orders/{order['id']}/cancel.json")
    assert again.status_code == 422 and again.json()["errors"]
    shipped = h.sim.create_order()
    await fulfil(h, await fulfillment_order(h, shipped["id"]), None)
    assert (await h.api.post(f"/orders/{shipped['id']}/cancel.json")).status_code == 422
    await h.sim.flush_webhooks()
    assert h.receiver.topics() == ["orders/cancelled", "orders/updated", "orders/updated"]


# -- catalog, inventory ---------------------------------------------------------------------------


async def test_products_locations_and_inventory_set(h: Harness) -> None:
    products = (await h.api.get("/products.json", params={"limit": 250})).json()["products"]
    variant = next(v for p in products for v in p["variants"] if v["sku"] == "IPOD2008GREEN")
    assert variant["inventory_item_id"] == 808950810
    first = await h.api.get("/products.json", params={"limit": 3})
    assert len(first.json()["products"]) == 3 and next_link(first) is not None
    locations = (await h.api.get("/locations.json")).json()["locations"]
    location_id = locations[0]["id"]
    body = {"location_id": location_id, "inventory_item_id": 808950810, "available": 42}
    response = await h.api.post("/inventory_levels/set.json", json=body)
    assert response.status_code == 200
    level = response.json()["inventory_level"]
    assert (level["inventory_item_id"], level["location_id"], level["available"]) == (808950810, location_id, 42)
    assert level["admin_graphql_api_id"] == f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id=808950810"
    listed = await h.api.get(
        "/inventory_levels.json", params={"inventory_item_ids": "808950810", "location_ids": str(location_id)}
    )
    assert [lvl["available"] for lvl in listed.json()["inventory_levels"]] == [42]
    h.sim.create_order(sku="IPOD2008GREEN", quantity=2)  # an order takes stock at the assigned location
    listed = await h.api.get("/inventory_levels.json", params={"inventory_item_ids": "808950810"})
    assert sorted(lvl["available"] for lvl in listed.json()["inventory_levels"]) == [0, 40]
    missing = await h.api.post("/inventory_levels/set.json", json={"location_id": location_id})
    assert missing.status_code == 400


# -- faults ---------------------------------------------------------------------------------------


async def test_http_fault_kinds_answer_like_shopify(h: Harness) -> None:
    await add_fault(h, "http_429", count=1)
    throttled = await h.api.get("/orders.json")
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2.0"
    for kind, status in (("http_500", 500), ("http_503", 503)):
        await add_fault(h, kind, count=1)
        assert (await h.api.get("/orders.json")).status_code == status
    await add_fault(h, "missing_scope", count=1, method="POST")
    assert (await h.api.get("/orders.json")).status_code == 200  # method filter
    forbidden = await h.api.post("/fulfillments.json", json={})
    assert forbidden.status_code == 403
    assert forbidden.json() == {"errors": "[API] This action requires merchant approval for write_orders scope."}
    assert (await h.api.get("/orders.json")).status_code == 200  # counts are consumed
    log = (await h.control.get("/requests")).json()["requests"]
    assert [r["fault"] for r in log] == ["http_429", "http_500", "http_503", None, "missing_scope", None]


async def test_latency_timeout_and_path_filter(h: Harness) -> None:
    await add_fault(h, "latency", seconds=0.2, path_contains="locations")
    started = time.monotonic()
    assert (await h.api.get("/locations.json")).status_code == 200
    assert time.monotonic() - started >= 0.2
    assert (await h.api.get("/orders.json")).status_code == 200
    [rule] = (await h.control.get("/faults")).json()["faults"]  # count null: until cleared
    assert rule["hits"] == 1  # the locations call only: the path filter kept orders.json out of it
    await h.control.delete("/faults")
    await add_fault(h, "timeout", seconds=0.1, count=1)
    assert (await h.api.get("/orders.json")).status_code == 504
    await add_fault(h, "timeout", seconds=0.6, count=1)
    with pytest.raises(httpx.ReadTimeout):
        await h.api.get("/orders.json", timeout=0.2)
    bad = await h.control.post("/faults", json={"kind": "meteor"})
    assert bad.status_code == 400


# -- webhooks -------------------------------------------------------------------------------------


async def test_webhook_registered_through_rest_is_signed_and_complete(h: Harness) -> None:
    created = await h.api.post(
        "/webhooks.json", json={"webhook": {"topic": "orders/create", "address": h.receiver.url, "format": "json"}}
    )
    assert created.status_code == 201
    webhook = created.json()["webhook"]
    duplicate = await h.api.post(
        "/webhooks.json", json={"webhook": {"topic": "orders/create", "address": h.receiver.url}}
    )
    assert duplicate.status_code == 422
    listed = (await h.api.get("/webhooks.json")).json()["webhooks"]
    assert [(w["topic"], w["address"], w["format"]) for w in listed] == [("orders/create", h.receiver.url, "json")]
    order = h.sim.create_order(sku="IPOD2008GREEN", quantity=1)
    await wait_until(lambda: len(h.receiver.calls) == 1)
    headers, body = h.receiver.calls[0]
    assert hmac.compare_digest(headers["x-shopify-hmac-sha256"], expected_hmac(body))
    assert headers["x-shopify-topic"] == "orders/create"
    assert headers["x-shopify-shop-domain"] == "demo-store.myshopify.com"
    assert headers["x-shopify-api-version"] == "2024-04"
    assert headers["content-type"] == "application/json"
    assert len(headers["x-shopify-webhook-id"]) == 36 and headers["x-shopify-triggered-at"].endswith("Z")
    assert json.loads(body) == order
    assert (await h.api.delete(f"/webhooks/{webhook['id']}.json")).status_code == 200
    h.sim.create_order()
    await h.sim.flush_webhooks()
    assert len(h.receiver.calls) == 1


async def test_failed_delivery_is_retried_with_the_same_webhook_id(h: Harness) -> None:
    await subscribe(h, "orders/create")
    h.receiver.scripted = [500, 503]
    h.sim.create_order()
    await wait_until(lambda: len(h.receiver.calls) == 3)
    assert len({headers["x-shopify-webhook-id"] for headers, _ in h.receiver.calls}) == 1
    assert len({body for _, body in h.receiver.calls}) == 1
    await wait_until(lambda: h.sim.webhooks.counts()["delivered"] == 1)
    delivery = (await h.control.get("/webhooks/deliveries")).json()["deliveries"][0]
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 503, 200]
    assert delivery["status"] == "delivered" and delivery["answered_2xx"]


async def test_delivery_gives_up_after_the_retry_schedule(h: Harness) -> None:
    await subscribe(h, "orders/create")
    h.receiver.scripted = [500, 500, 500, 500]
    h.sim.create_order()
    await wait_until(lambda: h.sim.webhooks.counts()["failed"] == 1)
    assert len(h.receiver.calls) == 3  # first attempt + 2 retries (two delays configured)
    state = (await h.control.get("/state")).json()
    assert state["webhooks"]["failed"] == 1 and state["webhooks"]["pending"] == 0


async def test_unreachable_address_is_retried_and_recorded() -> None:
    async with harness(make_config(webhook_retry_delays_s=[0.01])) as h:
        await h.control.post("/webhooks", json={"address": "http://127.0.0.1:9/hook", "topics": ["orders/create"]})
        h.sim.create_order()
        await wait_until(lambda: h.sim.webhooks.counts()["failed"] == 1)
        attempts = h.sim.webhooks.deliveries[0].attempts
        assert len(attempts) == 2 and all(a.status_code is None and a.error for a in attempts)


async def test_drop_duplicate_and_reorder_webhook_faults(h: Harness) -> None:
    await subscribe(h, "orders/create")
    await add_fault(h, "drop_webhooks", count=1)
    dropped = h.sim.create_order()
    await add_fault(h, "duplicate_webhooks", count=1)
    doubled = h.sim.create_order()
    await h.sim.flush_webhooks()
    ids = [json.loads(body)["id"] for _, body in h.receiver.calls]
    assert ids == [doubled["id"], doubled["id"]]
    assert h.receiver.calls[0][0]["x-shopify-webhook-id"] == h.receiver.calls[1][0]["x-shopify-webhook-id"]
    statuses = {d["order_id"]: d["status"] for d in (await h.control.get("/webhooks/deliveries")).json()["deliveries"]}
    assert statuses == {dropped["id"]: "dropped", doubled["id"]: "delivered"}

    h.receiver.calls.clear()
    await add_fault(h, "reorder_webhooks", count=3)
    batch = [h.sim.create_order()["id"] for _ in range(3)]
    await h.sim.flush_webhooks()
    assert [json.loads(body)["id"] for _, body in h.receiver.calls] == batch[::-1]


async def test_reorder_until_cleared_holds_deliveries(h: Harness) -> None:
    await subscribe(h, "orders/create")
    await add_fault(h, "reorder_webhooks")
    batch = [h.sim.create_order()["id"] for _ in range(2)]
    await asyncio.sleep(0.05)
    assert h.receiver.calls == [] and h.sim.webhooks.counts()["held"] == 2
    await h.control.delete("/faults")
    await h.control.post("/webhooks/flush")
    assert [json.loads(body)["id"] for _, body in h.receiver.calls] == batch[::-1]


# -- customer activity and control API -------------------------------------------------------------


async def test_customer_edit_and_cancel_through_the_control_api(h: Harness) -> None:
    await subscribe(h, "orders/edited", "orders/updated", "orders/cancelled", "orders/create")
    created = await h.control.post(
        "/orders", json={"line_items": [{"sku": "NEW-SKU-1", "quantity": 2, "price": "5.00"}]}
    )
    assert created.status_code == 201
    order = created.json()["order"]
    assert order["line_items"][0]["sku"] == "NEW-SKU-1" and order["total_line_items_price"] == "10.00"
    line_id = order["line_items"][0]["id"]
    edit = {"line_items": [{"line_item_id": line_id, "quantity": 1}], "add_line_items": [{"sku": "IPOD2008RED"}]}
    edited = (await h.control.post(f"/orders/{order['id']}/edit", json=edit)).json()["order"]
    assert [li["current_quantity"] for li in edited["line_items"]] == [1, 1]
    assert edited["updated_at"] > order["updated_at"]
    cancelled = (await h.control.post(f"/orders/{order['id']}/cancel", json={})).json()["order"]
    assert cancelled["cancel_reason"] == "customer"
    await h.control.post("/webhooks/flush")
    assert h.receiver.topics() == [
        "orders/create",
        "orders/edited",
        "orders/updated",
        "orders/cancelled",
        "orders/updated",
    ]
    edit_payload = json.loads(h.receiver.calls[1][1])["order_edit"]
    assert edit_payload["order_id"] == order["id"]
    assert edit_payload["line_items"]["removals"] == [{"id": line_id, "delta": 1}]
    bulk = await h.control.post("/orders/bulk", json={"count": 25})
    assert bulk.json()["orders"] == 26
    assert (await h.control.get("/state")).json()["orders"] == 26


async def test_background_generator_creates_orders(h: Harness) -> None:
    await h.control.post("/config", json={"generator_interval_s": 0.01})
    await wait_until(lambda: len(h.sim.store.orders) >= 3)
    assert (await h.control.get("/state")).json()["generator_running"] is True
    await h.control.post("/config", json={"generator_interval_s": None})
    assert (await h.control.get("/state")).json()["generator_running"] is False
    rejected = await h.control.post("/config", json={"bucket_size": "big"})
    assert rejected.status_code == 400


async def test_bulk_seeding_creates_twenty_thousand_orders(h: Harness) -> None:
    """How fast it seeds is the bulk-sync benchmark's business (tests assert no timings)."""
    h.sim.bulk_create_orders(20_000)
    count = await h.api.get("/orders/count.json")
    assert count.json() == {"count": 20_000}
    page = await h.api.get("/orders.json", params={"limit": 250, "order": "updated_at asc"})
    stamps = [o["updated_at"] for o in page.json()["orders"]]
    assert len(stamps) == 250 and stamps == sorted(stamps)
    assert h.sim.webhooks.deliveries == []


async def test_links_carry_the_mount_prefix() -> None:
    sim = ShopifySimulator(make_config())
    sim.bulk_create_orders(3)
    app = Starlette(routes=[Mount("/_sim/shopify/demo-store", app=sim.app)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        url = "/_sim/shopify/demo-store/admin/api/2024-07/orders.json?limit=1"
        response = await client.get(url, headers={"X-Shopify-Access-Token": TOKEN})
        link = next_link(response)
        assert link is not None
        assert link.startswith(
            "http://hub.test/_sim/shopify/demo-store/admin/api/2024-07/orders.json?limit=1&page_info="
        )
        assert (await client.get(link, headers={"X-Shopify-Access-Token": TOKEN})).status_code == 200
        log = (await client.get("/_sim/shopify/demo-store/_sandbox/requests")).json()["requests"]
        assert log[0]["path"] == "/admin/api/2024-07/orders.json" and log[0]["api_version"] == "2024-07"

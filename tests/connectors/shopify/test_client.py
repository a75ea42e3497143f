"""The Shopify connector against the simulator, over real HTTP on loopback (uvicorn)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import structlog.testing
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from channel_testkit import closing_connectors
from fenicia.connectors.base import (
    ChannelConnector,
    NormalizedOrder,
    OrderCursor,
    ShipRequest,
    StockUpdate,
    TrackingRequest,
    WebhookEvent,
)
from fenicia.connectors.shopify import SPEC, build
from fenicia.connectors.shopify.client import next_page_info, parse_call_limit
from fenicia.connectors.shopify.connector import ShopifyConnector
from fenicia.connectors.shopify.settings import ShopifyCredentials, ShopifySettings
from fenicia.connectors.shopify.simulator import ShopifySimConfig, ShopifySimulator
from fenicia.core.errors import (
    AuthError,
    ConflictError,
    FeniciaError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
)
from fenicia.orders.models import OrderStatus

TOKEN = "shpat_sandbox"
SECRET = "shpss_sandbox"
FAST: dict[str, Any] = {"retry_base_wait_seconds": 0.01, "retry_wait_cap_seconds": 1.0, "timeout_seconds": 2.0}
Factory = Callable[..., ShopifyConnector]


@dataclass
class Running:
    sim: ShopifySimulator
    url: str
    control: httpx.AsyncClient


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    """Serve an ASGI app on 127.0.0.1 and a free port, in this event loop."""
    # proto IPPROTO_TCP, else asyncio skips TCP_NODELAY on accepted sockets (40 ms delayed-ACK stalls)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    return server, task, f"http://127.0.0.1:{port}"


async def shutdown(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    await task


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    sim = ShopifySimulator(ShopifySimConfig(seed=7, retry_after_s=0.1))
    await sim.start()
    server, task, url = await serve(sim.app)
    async with httpx.AsyncClient(base_url=url) as control:
        yield Running(sim, url, control)
    await shutdown(server, task)
    await sim.stop()


@pytest.fixture
async def make(running: Running) -> AsyncIterator[Factory]:
    def connector(token: str = TOKEN, **overrides: Any) -> ShopifyConnector:
        settings = ShopifySettings(shop_url=running.url, **{**FAST, **overrides})
        return ShopifyConnector(settings, ShopifyCredentials(access_token=token, client_secret=SECRET))

    async with closing_connectors(connector) as factory:
        yield factory


@pytest.fixture
def shopify(make: Factory) -> ShopifyConnector:
    return make()


async def add_fault(running: Running, kind: str, **spec: Any) -> None:
    answer = await running.control.post("/_sandbox/faults", json={"kind": kind, **spec})
    assert answer.status_code < 300, answer.text


async def logged(running: Running, method: str | None = None, path: str | None = None) -> list[dict[str, Any]]:
    params = {key: value for key, value in {"method": method, "path_contains": path}.items() if value}
    answer = await running.control.get("/_sandbox/requests", params=params)
    records: list[dict[str, Any]] = answer.json()["requests"]
    return records


async def walk(connector: ShopifyConnector, cursor: OrderCursor) -> list[list[NormalizedOrder]]:
    return [page.orders async for page in connector.fetch_orders(cursor)]


def new_order(running: Running, *quantities: int, **overrides: Any) -> str:
    skus = list(running.sim.store.variants_by_sku)
    lines = [{"sku": skus[index], "quantity": qty} for index, qty in enumerate(quantities or (1,))]
    return str(running.sim.create_order(line_items=lines, **overrides)["id"])


def ship(key: str, tracking: str | None = "1Z999", lines: dict[str, int] | None = None) -> ShipRequest:
    return ShipRequest(idempotency_key=key, carrier="UPS", tracking_number=tracking, lines=lines)


# -- connection, spec, settings -----------------------------------------------------------------


async def test_connection_and_protocol(shopify: ShopifyConnector) -> None:
    assert isinstance(shopify, ChannelConnector)
    assert await shopify.test_connection()


def test_spec_and_build() -> None:
    assert SPEC.key == "shopify" and SPEC.display_name == "Shopify"
    assert SPEC.default_poll_interval_seconds == 900
    assert SPEC.capabilities == {"ship", "cancel", "tracking", "stock", "webhooks"}
    assert "orders/edited" in SPEC.webhook_topics and len(SPEC.webhook_topics) == 6
    connector = SPEC.build(
        ShopifySettings(shop_url="demo.myshopify.com"), ShopifyCredentials(access_token="t", client_secret="s")
    )
    assert connector.settings.api_base_url == "https://demo.myshopify.com/admin/api/2024-04/"
    with pytest.raises(FeniciaError):
        build(
            ShopifyCredentials(access_token="t", client_secret="s"),
            ShopifyCredentials(access_token="t", client_secret="s"),
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("demo.myshopify.com", "https://demo.myshopify.com"),
        ("http://demo.myshopify.com/admin/", "https://demo.myshopify.com"),
        ("http://127.0.0.1:8000/_sim/shopify/demo-store/", "http://127.0.0.1:8000/_sim/shopify/demo-store"),
    ],
)
def test_shop_url_is_normalized(value: str, expected: str) -> None:
    assert ShopifySettings(shop_url=value).shop_url == expected


@pytest.mark.parametrize(
    "fields",
    [
        {"shop_url": "ftp://demo.myshopify.com"},
        {"shop_url": "https://"},
        {"shop_url": "https://demo.myshopify.com", "api_version": "April"},
        {"shop_url": "https://demo.myshopify.com", "page_size": 251},
        {"shop_url": "https://demo.myshopify.com", "order_sort": "newest"},
        {"shop_url": "https://demo.myshopify.com", "unknown": 1},
    ],
)
def test_bad_settings_are_refused_clearly(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        ShopifySettings(**fields)
    assert next(iter(fields.keys() - {"shop_url"}), "shop_url") in str(caught.value)


def test_credentials_hide_secrets_and_refuse_blanks() -> None:
    creds = ShopifyCredentials(access_token="shpat_secret", client_secret="shpss_secret")
    assert "shpat_secret" not in repr(creds)
    with pytest.raises(ValidationError):
        ShopifyCredentials(access_token=" ", client_secret="x")


def test_link_and_call_limit_parsing() -> None:
    link = (
        '<https://s.myshopify.com/admin/api/2024-04/orders.json?limit=5&page_info=abc>; rel="previous", '
        '<https://s.myshopify.com/admin/api/2024-04/orders.json?limit=5&page_info=xyz>; rel="next"'
    )
    assert next_page_info(link) == "xyz"
    assert next_page_info(link.split(", ")[0]) is None
    assert next_page_info(None) is None
    assert parse_call_limit("32/40") == (32, 40)
    assert parse_call_limit("junk") is None


# -- polling ------------------------------------------------------------------------------------


async def test_pagination_walks_every_order_once(running: Running, make: Factory) -> None:
    running.sim.bulk_create_orders(23)
    pages = await walk(make(page_size=5), OrderCursor(updated_after=None))
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    ids = [order.external_id for page in pages for order in page]
    assert sorted(ids) == sorted(str(i) for i in running.sim.store.orders)
    assert len(set(ids)) == 23
    stamps = [order.updated_at for page in pages for order in page]
    assert stamps == sorted(stamps)  # updated_at asc
    firsts = await logged(running, "GET", "orders.json")
    assert "status=any" in firsts[0]["query"] and "page_info" not in firsts[0]["query"]
    assert all(set(parse_qs(r["query"])) == {"limit", "page_info"} for r in firsts[1:])


async def test_updated_at_window(running: Running, make: Factory) -> None:
    running.sim.bulk_create_orders(30)
    everything = [o for page in await walk(make(), OrderCursor(updated_after=None)) for o in page]
    low, high = everything[8].updated_at, everything[20].updated_at
    window = await walk(make(page_size=4), OrderCursor(updated_after=low, updated_before=high))
    expected = {o.external_id for o in everything if low <= o.updated_at <= high}
    assert {o.external_id for page in window for o in page} == expected
    assert len(expected) >= 13


async def test_resume_token_continues_after_the_last_committed_page(running: Running, make: Factory) -> None:
    running.sim.bulk_create_orders(14)
    connector = make(page_size=4)
    full = [page async for page in connector.fetch_orders(OrderCursor(updated_after=None))]
    assert full[0].next_token is not None and full[-1].next_token is None
    resumed = await walk(connector, OrderCursor(updated_after=None, resume_token=full[1].next_token))
    assert resumed == [page.orders for page in full[2:]]


async def test_malformed_order_is_skipped_not_fatal(running: Running, make: Factory) -> None:
    good = new_order(running, 1)
    bad = running.sim.create_order(line_items=[{"quantity": 1}], total_price="not money")
    pages = await walk(make(), OrderCursor(updated_after=None))
    ids = {o.external_id for page in pages for o in page}
    assert good in ids and str(bad["id"]) not in ids


async def test_get_order(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running, 2, 1, financial_status="authorized")
    order = await shopify.get_order(order_id)
    assert order.external_id == order_id
    assert order.status == OrderStatus.PENDING
    assert [line.quantity for line in order.lines] == [2, 1]
    assert order.placed_at.tzinfo is not None


# -- errors ---------------------------------------------------------------------------------------


async def test_wrong_token_is_auth_error(running: Running, make: Factory) -> None:
    connector = make(token="shpat_wrong_token")
    with pytest.raises(AuthError) as caught:
        await connector.get_order(new_order(running))
    assert caught.value.message == "Shopify rejected the access token"
    assert "shpat_wrong_token" not in str(caught.value) and "shpat_wrong_token" not in caught.value.resolution


async def test_revoked_token_is_auth_error(running: Running, shopify: ShopifyConnector) -> None:
    await add_fault(running, "revoke_token")
    with pytest.raises(AuthError):
        await shopify.test_connection()
    assert len(await logged(running)) == 1  # never retried


async def test_missing_scope_is_auth_error_naming_it(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running)
    await add_fault(running, "missing_scope", path_contains="/orders/")
    with pytest.raises(AuthError) as caught:
        await shopify.get_order(order_id)
    assert "read_orders" in caught.value.message


async def test_unknown_order_is_remote_not_found(shopify: ShopifyConnector) -> None:
    with pytest.raises(RemoteNotFound):
        await shopify.get_order("999999999")


async def test_429_with_retry_after_is_retried_then_succeeds(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running)
    await add_fault(running, "http_429", count=2)
    with structlog.testing.capture_logs() as logs:
        assert (await shopify.get_order(order_id)).external_id == order_id
    assert [r["status"] for r in await logged(running)] == [429, 429, 200]
    assert [entry["event"] for entry in logs] == ["shopify.retry", "shopify.retry"]
    assert TOKEN not in repr(logs)


async def test_429_beyond_the_cap_goes_to_the_engine(running: Running, make: Factory) -> None:
    order_id = new_order(running)
    await add_fault(running, "http_429", count=1)
    with pytest.raises(RateLimitedError) as caught:
        await make(retry_wait_cap_seconds=0.01).get_order(order_id)
    assert caught.value.retry_after == pytest.approx(0.1)
    assert len(await logged(running)) == 1


async def test_5xx_is_retried_then_transient(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running)
    await add_fault(running, "http_500")
    with pytest.raises(TransientError) as caught:
        await shopify.get_order(order_id)
    assert type(caught.value) is TransientError
    assert [r["status"] for r in await logged(running)] == [500, 500, 500]  # 1 + max_retries_in_call


async def test_503_once_is_retried_transparently(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running)
    await add_fault(running, "http_503", count=1)
    assert (await shopify.get_order(order_id)).external_id == order_id


async def test_timeout_is_transient(running: Running, make: Factory) -> None:
    order_id = new_order(running)
    await add_fault(running, "timeout", seconds=0.6)
    with pytest.raises(TransientError) as caught:
        await make(timeout_seconds=0.15, max_retries_in_call=1).get_order(order_id)
    assert "did not answer in time" in caught.value.message


async def test_pacing_keeps_below_the_bucket(running: Running, make: Factory) -> None:
    running.sim.config.bucket_size, running.sim.config.leak_rate_per_s = 4, 20.0
    connector = make(leak_rate_per_s=20.0, pacing_headroom_calls=1, max_retries_in_call=0)
    for _ in range(8):
        await connector.test_connection()  # shop.json, then locations.json: 16 calls
    assert 429 not in {r["status"] for r in await logged(running)}
    assert connector.client.last_call_limit is not None


# -- write-backs ----------------------------------------------------------------------------------


async def test_mark_shipped_is_idempotent(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running, 2, 1)
    first = await shopify.mark_shipped(order_id, ship("action-1"))
    second = await shopify.mark_shipped(order_id, ship("action-1"))
    assert first.remote_id is not None and first.remote_id == second.remote_id
    assert len(await logged(running, "POST", "fulfillments.json")) == 1
    order = await shopify.get_order(order_id)
    assert order.status == OrderStatus.SHIPPED
    [shipment] = order.shipments
    assert (shipment.external_id, shipment.carrier, shipment.tracking_number) == (first.remote_id, "UPS", "1Z999")
    [post] = await logged(running, "POST", "fulfillments.json")
    assert post["body"]["fulfillment"]["message"] == "fenicia:action-1"


async def test_mark_shipped_post_is_not_resent_after_a_500(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running, 1)
    await add_fault(running, "http_500", count=1, path_contains="fulfillments.json", method="POST")
    with pytest.raises(TransientError):
        await shopify.mark_shipped(order_id, ship("action-2"))
    retried = await shopify.mark_shipped(order_id, ship("action-2"))  # the engine's retry
    assert retried.remote_id is not None
    assert len((await shopify.get_order(order_id)).shipments) == 1


async def test_partial_then_complete_shipment(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running, 3, 1)
    first_line = (await shopify.get_order(order_id)).lines[0].external_id
    await shopify.mark_shipped(order_id, ship("a", "1ZAAA", lines={first_line: 2}))
    partial = await shopify.get_order(order_id)
    assert partial.status == OrderStatus.PARTIALLY_SHIPPED
    assert [line.shipped_quantity for line in partial.lines] == [2, 0]
    await shopify.mark_shipped(order_id, ship("b", "1ZBBB"))
    done = await shopify.get_order(order_id)
    assert done.status == OrderStatus.SHIPPED
    assert [line.shipped_quantity for line in done.lines] == [3, 1]
    with pytest.raises(ConflictError):
        await shopify.mark_shipped(order_id, ship("c", "1ZCCC"))


async def test_mark_shipped_refuses_too_many_units_and_cancelled_orders(
    running: Running, shopify: ShopifyConnector
) -> None:
    order_id = new_order(running, 1)
    line_id = (await shopify.get_order(order_id)).lines[0].external_id
    with pytest.raises(ConflictError):
        await shopify.mark_shipped(order_id, ship("x", lines={line_id: 5}))
    await shopify.cancel_order(order_id, None, False)
    with pytest.raises(ConflictError):
        await shopify.mark_shipped(order_id, ship("y"))
    assert await logged(running, "POST", "fulfillments.json") == []


async def test_cancel_order(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running, 1)
    result = await shopify.cancel_order(order_id, "Customer", notify_customer=False)
    assert result.order is not None and result.order.status == OrderStatus.CANCELLED
    assert result.order.channel_status.endswith("cancelled=customer")
    with pytest.raises(ConflictError):
        await shopify.cancel_order(order_id, "customer", notify_customer=False)


async def test_update_tracking(running: Running, shopify: ShopifyConnector) -> None:
    order_id = new_order(running, 2)
    line_id = (await shopify.get_order(order_id)).lines[0].external_id
    older = await shopify.mark_shipped(order_id, ship("a", "1ZOLD", lines={line_id: 1}))
    newer = await shopify.mark_shipped(order_id, ship("b", "1ZNEW", lines={line_id: 1}))
    request = TrackingRequest("t1", shipment_external_id=None, carrier="DHL", tracking_number="JD0001")
    result = await shopify.update_tracking(order_id, request)
    assert result.remote_id == newer.remote_id
    explicit = TrackingRequest("t2", shipment_external_id=older.remote_id, carrier=None, tracking_number="JD0002")
    await shopify.update_tracking(order_id, explicit)
    by_id = {s.external_id: s for s in (await shopify.get_order(order_id)).shipments}
    assert (by_id[str(newer.remote_id)].carrier, by_id[str(newer.remote_id)].tracking_number) == ("DHL", "JD0001")
    assert (by_id[str(older.remote_id)].carrier, by_id[str(older.remote_id)].tracking_number) == ("UPS", "JD0002")


async def test_update_tracking_without_shipments_is_conflict(running: Running, shopify: ShopifyConnector) -> None:
    request = TrackingRequest("t", shipment_external_id=None, carrier=None, tracking_number="X1")
    with pytest.raises(ConflictError):
        await shopify.update_tracking(new_order(running), request)


# -- catalog and stock ----------------------------------------------------------------------------


async def test_list_listings(running: Running, make: Factory) -> None:
    pages = [page async for page in make(page_size=3).list_listings()]
    listings = [listing for page in pages for listing in page]
    variants = [v for p in running.sim.store.products.values() for v in p.variants]
    assert len(pages) > 1
    assert {item.external_id for item in listings} == {str(v.id) for v in variants}
    by_id = {str(v.id): v for v in variants}
    for item in listings:
        assert item.sku == by_id[item.external_id].sku
        assert item.inventory_ref == str(by_id[item.external_id].inventory_item_id)
        assert isinstance(item.quantity, int)


async def test_set_stock(running: Running, make: Factory) -> None:
    connector = make()
    listings = [item async for page in connector.list_listings() for item in page]
    first, second = listings[0], listings[1]
    results = await connector.set_stock(
        [
            StockUpdate(first.external_id, first.inventory_ref, 7),
            StockUpdate(second.external_id, second.inventory_ref, 0),
            StockUpdate("no-ref", None, 3),
            StockUpdate("ghost", "424242", 3),
        ]
    )
    assert [(r.external_id, r.ok) for r in results] == [
        (first.external_id, True),
        (second.external_id, True),
        ("no-ref", False),
        ("ghost", False),
    ]
    assert results[3].error and "Inventory item does not exist" in results[3].error
    store = running.sim.store
    primary = store.primary_location.id
    assert store.levels[(int(str(first.inventory_ref)), primary)].available == 7
    assert store.levels[(int(str(second.inventory_ref)), primary)].available == 0


async def test_set_stock_at_configured_location(running: Running, make: Factory) -> None:
    other = running.sim.store.locations[1].id
    connector = make(location_id=other)
    [listing, *_] = [item async for page in connector.list_listings() for item in page]
    [result] = await connector.set_stock([StockUpdate(listing.external_id, listing.inventory_ref, 11)])
    assert result.ok
    assert running.sim.store.levels[(int(str(listing.inventory_ref)), other)].available == 11
    assert await logged(running, "GET", "locations.json") == []


# -- webhooks -------------------------------------------------------------------------------------


async def test_ensure_webhooks_is_idempotent(running: Running, shopify: ShopifyConnector) -> None:
    address = "https://fenicia.example/webhooks/shopify/1"
    await shopify.ensure_webhooks(address, list(SPEC.webhook_topics))
    await shopify.ensure_webhooks(address, list(SPEC.webhook_topics))
    subs = [s for s in running.sim.webhooks.subscriptions.values() if s.address == address]
    assert sorted(s.topic for s in subs) == sorted(SPEC.webhook_topics)
    assert len(await logged(running, "POST", "webhooks.json")) == 6


@dataclass
class Inbox:
    events: list[WebhookEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def receiver(connector: ShopifyConnector, inbox: Inbox) -> Starlette:
    async def receive(request: Request) -> Response:
        body = await request.body()
        try:
            connector.verify_webhook(request.headers, body)
            inbox.events.append(connector.parse_webhook(request.headers, body))
        except FeniciaError as exc:
            inbox.rejected.append(exc.message)
            return PlainTextResponse("no", status_code=401)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/hook", receive, methods=["POST"])])


async def test_simulator_webhooks_verify_and_parse(running: Running, shopify: ShopifyConnector) -> None:
    inbox = Inbox()
    server, task, url = await serve(receiver(shopify, inbox))
    try:
        await shopify.ensure_webhooks(f"{url}/hook", ["orders/create", "orders/edited"])
        order_id = new_order(running, 2)
        line_id = int((await shopify.get_order(order_id)).lines[0].external_id)
        running.sim.customer_edit(int(order_id), {"line_items": [{"line_item_id": line_id, "quantity": 1}]})
        await running.sim.flush_webhooks()
    finally:
        await shutdown(server, task)
    assert inbox.rejected == []
    by_topic = {event.topic: event for event in inbox.events}
    assert by_topic["orders/create"].order is not None
    assert by_topic["orders/create"].order_ref == order_id
    assert isinstance(by_topic["orders/create"].triggered_at, datetime)
    assert by_topic["orders/edited"].order_ref == order_id

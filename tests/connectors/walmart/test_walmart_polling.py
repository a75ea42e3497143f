"""Polling GET /v3/orders: windows by last-modified time, nextCursor paging, oldest first, resume tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog.testing
from starlette.types import Receive, Scope, Send

import servers
from fenicia.connectors.base import NormalizedOrder, OrderCursor, OrderPage
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.polling import cursor_path, decode_token, encode_token, iso_ms
from fenicia.core.clock import utcnow
from walmart_sim import Factory, WalmartHandle

LONG_AGO = OrderCursor(updated_after=datetime.now(UTC) - timedelta(days=60))


async def collect(connector: WalmartConnector, cursor: OrderCursor = LONG_AGO) -> list[OrderPage]:
    return [page async for page in connector.fetch_orders(cursor)]


def flat(pages: list[OrderPage]) -> list[NormalizedOrder]:
    return [order for page in pages for order in page.orders]


def assert_oldest_first(orders: list[NormalizedOrder]) -> None:
    stamps = [o.updated_at for o in orders]
    assert stamps == sorted(stamps)


async def test_every_order_once_oldest_first(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.sim.bulk_create_orders(450)
    pages = await collect(walmart)
    orders = flat(pages)
    assert len(orders) == 450 and len({o.external_id for o in orders}) == 450
    assert_oldest_first(orders)
    assert [len(p.orders) for p in pages] == [200, 200, 50]
    assert pages[-1].next_token is None and all(p.next_token for p in pages[:-1])
    cursor_requests = [r for r in wm.requests("GET", "/v3/orders") if "hasMoreElements" in r["query"]]
    assert len(cursor_requests) == 2  # the first page plus two nextCursor pages


async def test_a_big_window_is_split_and_nothing_is_lost(wm: WalmartHandle, make: Factory) -> None:
    wm.sim.bulk_create_orders(700)
    connector = make(max_orders_per_window=300)
    orders = flat(await collect(connector))
    assert len({o.external_id for o in orders}) == 700 == len(orders)
    assert_oldest_first(orders)


async def test_walmart_refusing_too_many_orders_splits_the_window(wm: WalmartHandle, make: Factory) -> None:
    wm.sim.bulk_create_orders(300)
    wm.control("POST", "config", {"max_orders_per_query": 120})
    orders = flat(await collect(make(max_orders_per_window=20000)))
    assert len({o.external_id for o in orders}) == 300
    assert any(r["status"] == 400 for r in wm.requests("GET", "/v3/orders"))


@pytest.mark.parametrize(
    "config",
    [{"list_order": "orderDate asc"}, {"list_order": "lastModified asc"}, {"escape_next_cursor": True}],
)
async def test_any_walmart_order_and_escaped_cursors(wm: WalmartHandle, make: Factory, config: dict[str, Any]) -> None:
    wm.sim.bulk_create_orders(260)
    wm.control("POST", "config", config)
    orders = flat(await collect(make(page_size=100)))
    assert len({o.external_id for o in orders}) == 260
    assert_oldest_first(orders)


async def test_only_the_window_is_read(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.sim.bulk_create_orders(50)
    fresh = [wm.sim.create_order()["purchaseOrderId"] for _ in range(3)]
    start = utcnow() - timedelta(seconds=30)
    expected = {po for po, o in wm.sim.store.orders.items() if o.modified_ms >= start.timestamp() * 1000}
    found = {o.external_id for o in flat(await collect(walmart, OrderCursor(updated_after=start)))}
    assert found == expected and set(fresh) <= found and len(found) < 53
    [first] = [r for r in wm.requests("GET", "/v3/orders")][-1:]
    assert "lastModifiedStartDate" in first["query"] and "createdStartDate" in first["query"]


async def test_old_orders_modified_recently_are_found(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    """createdStartDate defaults to 7 days ago: the poller must reach back to Walmart's 180 days."""
    placed, ship_by = utcnow() - timedelta(days=20), utcnow() + timedelta(days=1)
    old = wm.sim.create_order(
        order_date_ms=int(placed.timestamp() * 1000), estimated_ship_ms=int(ship_by.timestamp() * 1000)
    )
    wm.control("POST", f"orders/{old['purchaseOrderId']}/intent_to_cancel", {})
    since = OrderCursor(updated_after=utcnow() - timedelta(minutes=1))
    [order] = flat(await collect(walmart, since))
    assert order.external_id == old["purchaseOrderId"] and "intentToCancel" in order.channel_status


async def test_no_orders_is_an_empty_result_not_an_error(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    assert await collect(walmart) == []
    assert [r["status"] for r in wm.requests("GET", "/v3/orders")] == [404]


async def test_resume_token_continues_where_a_run_stopped(wm: WalmartHandle, make: Factory) -> None:
    wm.sim.bulk_create_orders(500)
    connector = make(max_orders_per_window=200)
    pages = await collect(connector)
    everything = {o.external_id for o in flat(pages)}
    stop = next(
        i
        for i, p in enumerate(pages)
        if p.next_token and decode_token(p.next_token) != decode_token(pages[0].next_token)
    )
    token = pages[stop].next_token
    resumed = flat(await collect(connector, OrderCursor(updated_after=None, resume_token=token)))
    before = {o.external_id for p in pages[: stop + 1] for o in p.orders}
    assert everything == before | {o.external_id for o in resumed}
    window = decode_token(token)
    assert window is not None and window.end_ms == decode_token(pages[0].next_token).end_ms  # type: ignore[union-attr]


async def test_an_order_leaving_the_window_while_paging_triggers_a_reread(wm: WalmartHandle, make: Factory) -> None:
    """Walmart pages by offset: an order modified mid-read shifts the rest; the poller reads again."""
    wm.sim.bulk_create_orders(300)
    wm.control("POST", "config", {"list_order": "lastModified asc"})
    victim = min(wm.sim.store.orders.values(), key=lambda o: o.modified_ms).po

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        paging = scope["type"] == "http" and b"hasMoreElements" in scope.get("query_string", b"")
        if paging and any(line.open for line in wm.sim.store.orders[victim].lines):
            wm.sim.store.customer_cancel(victim)  # moves it past the window's end
        await wm.sim.app(scope, receive, send)

    with servers.serve(app) as url, structlog.testing.capture_logs() as logs:
        connector = make(api_base_url=url, page_size=100)
        since = OrderCursor(updated_after=utcnow() - timedelta(days=60), updated_before=utcnow())
        orders = flat(await collect(connector, since))
    found = {o.external_id for o in orders}
    assert len(found - {victim}) == 299  # every order still in the window was read
    assert any(entry["event"] == "walmart.window_reread" for entry in logs)


def test_token_and_cursor_helpers() -> None:
    assert decode_token(encode_token(5, 9)) is not None and decode_token("garbage") is None
    assert cursor_path("?limit=10&amp;hasMoreElements=true") == "/v3/orders?limit=10&hasMoreElements=true"
    assert cursor_path("limit=10") == "/v3/orders?limit=10"
    assert iso_ms(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"


async def test_malformed_order_is_skipped(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    good = wm.sim.create_order()["purchaseOrderId"]
    bad = wm.sim.create_order()["purchaseOrderId"]
    wm.sim.store.orders[bad].lines[0].statuses.clear()  # no orderLineStatus at all
    assert [o.external_id for o in flat(await collect(walmart))] == [good]

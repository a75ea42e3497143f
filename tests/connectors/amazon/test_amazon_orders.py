"""Order intake against the simulator: getOrders paging by NextToken, the cursor window, getOrderItems."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from amazon_sim import Factory, SimHandle
from fenicia.connectors.amazon.connector import AmazonConnector
from fenicia.connectors.amazon.polling import with_items
from fenicia.connectors.base import NormalizedOrder, OrderCursor
from fenicia.core.clock import parse_iso, utcnow
from fenicia.core.errors import RemoteNotFound, ValidationFailed
from fenicia.orders.models import OrderStatus


async def walk(connector: AmazonConnector, cursor: OrderCursor) -> list[list[NormalizedOrder]]:
    return [page.orders async for page in connector.fetch_orders(cursor)]


def queries(amazon: SimHandle, operation: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r["query"]) for r in amazon.requests(operation=operation)]


async def test_pages_follow_next_token_with_only_token_and_marketplace(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "orders/bulk", {"count": 23})
    pages = await walk(make(page_size=5), OrderCursor(updated_after=None))
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    ids = [order.external_id for page in pages for order in page]
    assert sorted(ids) == sorted(amazon.sim.store.orders) and len(set(ids)) == 23
    stamps = [order.updated_at for page in pages for order in page]
    assert stamps == sorted(stamps), "ascending by LastUpdateDate"
    first, *rest = queries(amazon, "getOrders")
    assert {"MarketplaceIds", "LastUpdatedAfter", "MaxResultsPerPage"} <= set(first) and "NextToken" not in first
    assert all(set(query) == {"NextToken", "MarketplaceIds"} for query in rest) and len(rest) == 4


async def test_every_order_gets_its_items(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "orders/bulk", {"count": 6})
    orders = [o for page in await walk(make(), OrderCursor(updated_after=None)) for o in page]
    assert len(orders) == 6 and all(order.lines for order in orders)
    assert len(amazon.requests(operation="getOrderItems")) == 6
    for order in orders:
        held = amazon.sim.store.orders[order.external_id]
        assert sorted((ln.sku, ln.quantity) for ln in order.lines) == sorted((i.sku, i.quantity) for i in held.items)


async def test_items_follow_their_own_next_token(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "config", {"items_page_size": 2})
    skus = [{"sku": f"AMZ-{n:04d}", "quantity": 1} for n in range(1, 6)]
    order_id = amazon.new_order(items=skus)["AmazonOrderId"]
    order = await make().get_order(order_id)
    assert [line.sku for line in order.lines] == [s["sku"] for s in skus]
    item_queries = queries(amazon, "getOrderItems")
    assert len(item_queries) == 3 and "NextToken" not in item_queries[0] and "NextToken" in item_queries[2]


async def test_window_selects_by_last_update(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "orders/bulk", {"count": 30})
    everything = [o for page in await walk(make(), OrderCursor(updated_after=None)) for o in page]
    low, high = everything[8].updated_at, everything[20].updated_at
    window = await walk(make(page_size=4), OrderCursor(updated_after=low, updated_before=high))
    expected = {o.external_id for o in everything if low <= o.updated_at <= high}
    assert {o.external_id for page in window for o in page} == expected and len(expected) >= 13
    first = queries(amazon, "getOrders")[-len(window)]
    assert "LastUpdatedBefore" in first


async def test_an_end_too_close_to_now_is_pulled_back(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "config", {"updated_before_lag_s": 120.0})
    amazon.control("POST", "orders/bulk", {"count": 3})
    cursor = OrderCursor(updated_after=utcnow() - timedelta(days=40), updated_before=utcnow())
    orders = [o for page in await walk(make(updated_before_lag_seconds=130), cursor) for o in page]
    assert len(orders) == 3
    sent = parse_iso(queries(amazon, "getOrders")[0]["LastUpdatedBefore"][0])
    assert sent <= utcnow() - timedelta(seconds=120)


async def test_recent_orders_appear_only_after_amazons_two_minute_lag(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "config", {"updated_before_lag_s": 120.0})
    amazon.new_order()
    cursor = OrderCursor(updated_after=utcnow() - timedelta(hours=1))
    assert [o for page in await walk(make(), cursor) for o in page] == []
    amazon.control("POST", "clock", {"advance_s": 121})
    assert len([o for page in await walk(make(), cursor) for o in page]) == 1


async def test_resume_token_continues_after_the_last_committed_page(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "orders/bulk", {"count": 14})
    connector = make(page_size=4)
    full = [page async for page in connector.fetch_orders(OrderCursor(updated_after=None))]
    assert full[0].next_token is not None and full[-1].next_token is None
    resumed = await walk(connector, OrderCursor(updated_after=None, resume_token=full[1].next_token))
    assert [[o.external_id for o in page] for page in resumed] == [[o.external_id for o in p.orders] for p in full[2:]]


async def test_a_refused_resume_token_restarts_the_window(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "orders/bulk", {"count": 5})
    orders = [o for page in await walk(make(), OrderCursor(updated_after=None, resume_token="expired")) for o in page]
    assert len(orders) == 5
    assert [r["status"] for r in amazon.requests(operation="getOrders")] == [400, 200]


async def test_strict_next_token_mode_is_satisfied(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "config", {"strict_next_token": True})
    amazon.control("POST", "orders/bulk", {"count": 9})
    pages = await walk(make(page_size=4), OrderCursor(updated_after=None))
    assert sum(len(page) for page in pages) == 9
    assert all(r["status"] == 200 for r in amazon.requests(operation="getOrders"))


async def test_a_malformed_order_is_skipped_not_fatal(amazon: SimHandle, make: Factory) -> None:
    good = amazon.new_order()["AmazonOrderId"]
    bad = amazon.new_order(items=[{"sku": "AMZ-0001", "quantity": 1}])["AmazonOrderId"]
    amazon.sim.store.orders[bad].items[0].quantity = -1  # the simulator serves a broken QuantityOrdered
    ids = {o.external_id for page in await walk(make(), OrderCursor(updated_after=None)) for o in page}
    assert ids == {good}


async def test_an_order_deleted_between_list_and_items_is_skipped(amazon: SimHandle, make: Factory) -> None:
    kept = amazon.new_order()
    gone = amazon.new_order()
    amazon.sim.store.delete(gone["AmazonOrderId"])  # listed by getOrders a moment ago, 404 for its items now
    orders = await with_items(make().client, [kept, gone])
    assert [o.external_id for o in orders] == [kept["AmazonOrderId"]]
    assert [r["status"] for r in amazon.requests(operation="getOrderItems")] == [200, 404]


async def test_get_order_reads_one_order_and_maps_404(amazon: SimHandle, make: Factory) -> None:
    created = amazon.new_order(status="Pending")
    order = await make().get_order(created["AmazonOrderId"])
    assert order.status == OrderStatus.PENDING and order.lines[0].unit_price is None
    with pytest.raises(RemoteNotFound):
        await make().get_order("111-0000000-0000000")
    with pytest.raises(ValidationFailed):
        await make().get_order("../listings")


async def test_cancel_and_cancel_request_show_up_when_polled(amazon: SimHandle, make: Factory) -> None:
    first = amazon.new_order()["AmazonOrderId"]
    second = amazon.new_order()["AmazonOrderId"]
    amazon.control("POST", f"orders/{first}/cancel", {})
    amazon.control("POST", f"orders/{second}/request_cancel", {"reason": "Ordered by mistake"})
    orders = {o.external_id: o for page in await walk(make(), OrderCursor(updated_after=None)) for o in page}
    assert orders[first].status == OrderStatus.CANCELLED and orders[first].cancelled_at is not None
    assert orders[second].status == OrderStatus.UNSHIPPED
    assert orders[second].channel_status == "Unshipped; buyer requested cancellation"
    assert {line.channel_status for line in orders[second].lines} == {"cancel_requested"}


async def test_restricted_buyer_data_is_absent_unless_granted(amazon: SimHandle, make: Factory) -> None:
    order_id = amazon.new_order()["AmazonOrderId"]
    plain = await make().get_order(order_id)
    assert plain.customer_email is None and plain.customer_name is None
    assert plain.shipping_address is not None and set(plain.shipping_address) == {
        "City",
        "StateOrRegion",
        "PostalCode",
        "CountryCode",
    }
    amazon.control("POST", "config", {"include_pii": True})
    full = await make().get_order(order_id)
    assert full.customer_email and full.customer_name and full.shipping_address
    assert full.shipping_address["Name"] == full.customer_name

"""Polling /orders/search against the simulator: pages, the narrowing window, resume tokens, shipments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import pytest

from fenicia.connectors.base import NormalizedOrder, OrderCursor, OrderPage
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.connectors.mercadolibre.polling import SearchWindow, ml_time, next_window
from fenicia.core.errors import InvalidRecord, RemoteNotFound
from fenicia.orders.models import OrderStatus
from mercadolibre_sim import MLHandle

Factory = Callable[..., MercadoLibreConnector]
LONG_AGO = datetime.now(UTC) - timedelta(days=90)


async def pages_of(connector: MercadoLibreConnector, cursor: OrderCursor) -> list[OrderPage]:
    return [page async for page in connector.fetch_orders(cursor)]


def order_ids(pages: list[OrderPage]) -> list[str]:
    return [order.external_id for page in pages for order in page.orders]


def search_queries(ml: MLHandle) -> list[dict[str, list[str]]]:
    return [parse_qs(r["query"]) for r in ml.requests("GET", "/orders/search")]


async def test_pages_cover_every_order_once_oldest_change_first(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    ml.sim.bulk_create_orders(120)
    pages = await pages_of(meli, OrderCursor(updated_after=LONG_AGO))
    assert [len(page.orders) for page in pages] == [50, 50, 20]
    assert [page.next_token is None for page in pages] == [False, False, True]
    ids = order_ids(pages)
    assert len(ids) == len(set(ids)) == 120
    stamps = [ml.sim.store.orders[int(i)].last_updated for i in ids]
    assert stamps == sorted(stamps)
    statuses = {order.status for page in pages for order in page.orders}
    assert statuses <= {OrderStatus.UNSHIPPED, OrderStatus.SHIPPED, OrderStatus.DELIVERED}


async def test_each_page_narrows_the_window_instead_of_growing_the_offset(
    ml: MLHandle, meli: MercadoLibreConnector
) -> None:
    ml.sim.bulk_create_orders(120)
    pages = await pages_of(meli, OrderCursor(updated_after=LONG_AGO))
    queries = search_queries(ml)
    assert [q["offset"] for q in queries] == [["0"], ["1"], ["1"]]  # one order seen at the new `from` instant
    froms = [q["order.date_last_updated.from"][0] for q in queries]
    assert froms[0] == ml_time(LONG_AGO) and froms == sorted(froms) and len(set(froms)) == 3
    assert all(q["seller"] == [str(ml.sim.config.seller_id)] and q["sort"] == ["date_asc"] for q in queries)
    assert len(order_ids(pages)) == 120


async def test_an_order_changed_while_paging_hides_no_other(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    """Plain offset paging would skip one order here: the changed one jumps to the end and the rest shift."""
    ml.sim.bulk_create_orders(100)
    cursor = OrderCursor(updated_after=LONG_AGO)
    seen: list[NormalizedOrder] = []
    async for page in meli.fetch_orders(cursor):
        if not seen:
            ml.control("POST", f"orders/{page.orders[3].external_id}/cancel", {})
        seen.extend(page.orders)
    ids = [order.external_id for order in seen]
    assert len(set(ids)) == 100
    cancelled = [o for o in seen if o.status == OrderStatus.CANCELLED]
    assert len(cancelled) == 1 and ids.count(cancelled[0].external_id) == 2  # seen before and after


async def test_resume_token_continues_where_the_page_ended(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    ml.sim.bulk_create_orders(120)
    first = await anext(aiter(meli.fetch_orders(OrderCursor(updated_after=LONG_AGO))))
    rest = await pages_of(meli, OrderCursor(updated_after=LONG_AGO, resume_token=first.next_token))
    ids = order_ids([first, *rest])
    assert len(ids) == len(set(ids)) == 120


async def test_window_end_and_incremental_window(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    ml.sim.bulk_create_orders(30)
    middle = datetime.now(UTC) - timedelta(days=15)
    early = order_ids(await pages_of(meli, OrderCursor(updated_after=LONG_AGO, updated_before=middle)))
    late = order_ids(await pages_of(meli, OrderCursor(updated_after=middle)))
    assert early and late and not set(early) & set(late)
    assert len(early) + len(late) == 30
    new = str(ml.new_order()["order"]["id"])
    recent = order_ids(await pages_of(meli, OrderCursor(updated_after=datetime.now(UTC) - timedelta(minutes=5))))
    assert recent == [new]


async def test_each_order_comes_with_its_shipment_in_the_new_format(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    for mode in ("me2", "me1", "custom", "none"):
        ml.new_order(mode=mode)
    pages = await pages_of(meli, OrderCursor(updated_after=LONG_AGO))
    by_mode = {}
    for order in (o for page in pages for o in page.orders):
        shipment = order.raw["shipment"]
        by_mode[shipment["logistic"]["mode"] if shipment else "none"] = order
    assert set(by_mode) == {"me2", "me1", "custom", "none"}
    assert all("x-format" not in key for key in by_mode["me1"].raw)  # the shipment is under "shipment" only
    assert by_mode["me1"].shipping_address is not None and by_mode["none"].shipping_address is None
    assert len(ml.requests("GET", "/shipments/")) == 3


async def test_a_missing_shipment_does_not_lose_the_order(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    bundle = ml.new_order(mode="me1")
    del ml.sim.store.shipments[bundle["shipment"]["id"]]
    [page] = await pages_of(meli, OrderCursor(updated_after=LONG_AGO))
    [order] = page.orders
    assert order.raw["shipment"] is None and order.status == OrderStatus.UNSHIPPED


async def test_get_order_by_shipment_reference(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    ml.new_order()
    bundle = ml.new_order(mode="me1")
    order = await meli.get_order(f"shipment:{bundle['shipment']['id']}")
    assert order.external_id == str(bundle["order"]["id"])
    assert ml.requests("GET", f"/shipments/{bundle['shipment']['id']}/items")  # x-format-new names no order_id


async def test_get_order_of_unknown_order_is_remote_not_found(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    with pytest.raises(RemoteNotFound):
        await meli.get_order("2000000000000001")
    with pytest.raises(RemoteNotFound):
        await meli.get_order("shipment:1")


# -- the window arithmetic, without a server -----------------------------------------------------------


def _orders_at(*stamps: str) -> list[dict[str, str]]:
    return [{"id": str(i), "last_updated": stamp} for i, stamp in enumerate(stamps)]


def test_next_window_moves_from_to_the_newest_change() -> None:
    window = SearchWindow(since="2024-01-01T00:00:00.000-00:00")
    page = _orders_at("2024-01-01T00:00:01.000Z", "2024-01-01T00:00:02.000Z", "2024-01-01T00:00:02.000Z")
    assert next_window(window, page, 10_000, 3) == SearchWindow("2024-01-01T00:00:02.000-00:00", 2)


def test_next_window_grows_the_offset_when_a_page_shares_one_instant() -> None:
    since = "2024-01-01T00:00:02.000-00:00"
    page = _orders_at(*["2024-01-01T00:00:02.000Z"] * 3)
    assert next_window(SearchWindow(since, 2), page, 10_000, 3) == SearchWindow(since, 5)


def test_next_window_steps_past_an_instant_at_the_offset_cap() -> None:
    since = "2024-01-01T00:00:02.000-00:00"
    page = _orders_at(*["2024-01-01T00:00:02.000Z"] * 50)
    assert next_window(SearchWindow(since, 9_910), page, 10_000, 50) == SearchWindow("2024-01-01T00:00:02.001-00:00", 0)


def test_unreadable_resume_token_is_refused() -> None:
    with pytest.raises(InvalidRecord):
        SearchWindow.parse("page-2")

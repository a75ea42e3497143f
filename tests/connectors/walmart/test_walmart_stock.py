"""Stock writes (one PUT per SKU, or the bulk inventory feed) and listings against the simulator."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from fenicia.connectors.base import StockUpdate
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.sim_models import SimItem
from fenicia.connectors.walmart.stock import feed_body
from walmart_sim import Factory, WalmartHandle


def updates(count: int, start: int = 1) -> list[StockUpdate]:
    return [StockUpdate(f"WM-{n:04d}", f"WM-{n:04d}", n * 3) for n in range(start, start + count)]


def inventory(wm: WalmartHandle) -> dict[str, int]:
    return dict(wm.control("GET", "inventory")["inventory"])


async def test_few_skus_go_one_put_each(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    results = await walmart.set_stock(updates(3))
    assert [r.ok for r in results] == [True, True, True]
    assert [inventory(wm)[f"WM-{n:04d}"] for n in (1, 2, 3)] == [3, 6, 9]
    puts = wm.requests("PUT", "/v3/inventory")
    assert [r["query"] for r in puts] == ["sku=WM-0001", "sku=WM-0002", "sku=WM-0003"]
    assert puts[0]["body"] == {"sku": "WM-0001", "quantity": {"unit": "EACH", "amount": 3}}
    assert wm.requests("POST", "/v3/feeds") == []


async def test_unknown_sku_and_missing_sku_fail_alone(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    items = [StockUpdate("WM-0001", "WM-0001", 4), StockUpdate("x", "NOPE", 1), StockUpdate("", None, 2)]
    results = await walmart.set_stock(items)
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].error is not None and "NOPE" in results[1].error
    assert results[2].error == "No Walmart SKU for this listing"
    assert inventory(wm)["WM-0001"] == 4


async def test_many_skus_go_in_one_feed(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    items = [*updates(12), StockUpdate("bad", "NOT-A-SKU", 5)]
    results = await walmart.set_stock(items)
    assert [r.ok for r in results] == [True] * 12 + [False]
    assert results[-1].error is not None and "DATA_ERROR" in results[-1].error
    assert all(inventory(wm)[f"WM-{n:04d}"] == n * 3 for n in range(1, 13))
    [feed] = wm.requests("POST", "/v3/feeds")
    assert feed["query"] == "feedType=inventory" and feed["body"]["bytes"] > 0
    assert wm.requests("PUT", "/v3/inventory") == []
    statuses = wm.requests("GET", "/v3/feeds/")
    assert statuses and "%40" not in statuses[0]["path"] and "@" in statuses[0]["path"]


async def test_clean_feed_needs_no_detail_pages(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    assert all(r.ok for r in await walmart.set_stock(updates(15)))
    assert not any("includeDetails" in r["query"] for r in wm.requests("GET", "/v3/feeds/"))


async def test_feed_not_finished_in_time_is_reported_not_done(wm: WalmartHandle, make: Factory) -> None:
    wm.control("POST", "config", {"feed_processing_s": 60.0})
    results = await make(feed_wait_seconds=0.05).set_stock(updates(10))
    assert not any(r.ok for r in results)
    assert all(r.error is not None and "has not finished" in r.error for r in results)
    assert inventory(wm)["WM-0001"] == 100


async def test_multi_node_feed(wm: WalmartHandle, make: Factory) -> None:
    connector = make(feed_type="MP_INVENTORY", ship_node="10000003527", stock_bulk_threshold=2)
    assert all(r.ok for r in await connector.set_stock(updates(2)))
    assert inventory(wm)["WM-0002"] == 6
    assert wm.requests("POST", "/v3/feeds")[0]["query"] == "feedType=MP_INVENTORY"


async def test_single_put_with_ship_node(wm: WalmartHandle, make: Factory) -> None:
    await make(ship_node="10000003527").set_stock(updates(1))
    assert wm.requests("PUT", "/v3/inventory")[0]["query"] == "sku=WM-0001&shipNode=10000003527"


def test_feed_file_shapes() -> None:
    v14: dict[str, Any] = feed_body([("A", 1), ("B", -2)], "inventory", None)
    assert v14 == {
        "InventoryHeader": {"version": "1.4"},
        "Inventory": [
            {"sku": "A", "quantity": {"unit": "EACH", "amount": 1}},
            {"sku": "B", "quantity": {"unit": "EACH", "amount": 0}},
        ],
    }
    v15 = feed_body([("A", 3)], "MP_INVENTORY", "N1")
    assert json.dumps(v15) == json.dumps(
        {
            "inventoryHeader": {"version": "1.5"},
            "inventory": [{"sku": "A", "shipNodes": [{"shipNode": "N1", "quantity": {"unit": "EACH", "amount": 3}}]}],
        }
    )


async def test_listings_are_paged(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    for n in range(21, 451):  # 450 items in all
        sku = f"WM-{n:04d}"
        wm.sim.store.items[sku] = SimItem(sku, f"Thing {n}", Decimal("9.99"), 1, f"WP{n}", "123456789012")
    batches = [batch async for batch in walmart.list_listings()]
    skus = [listing.sku for batch in batches for listing in batch]
    assert len(skus) == len(set(skus)) == 450
    assert [len(b) for b in batches] == [200, 200, 50]
    first = batches[0][0]
    assert first.external_id == first.inventory_ref == first.sku == "WM-0001" and first.title == "Quartz Metronome #1"

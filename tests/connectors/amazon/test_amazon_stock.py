"""Listings and stock writes against the simulator: patchListingsItem for a few SKUs, JSON_LISTINGS_FEED for many."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from amazon_sim import Factory, SimHandle, running_amazon
from fenicia.connectors.amazon.stock import feed_results
from fenicia.connectors.base import StockUpdate


@pytest.fixture
def amazon() -> Iterator[SimHandle]:
    with running_amazon(catalog_size=25) as handle:
        yield handle


def quantities(amazon: SimHandle) -> dict[str, int]:
    return {sku: listing.quantity for sku, listing in amazon.sim.store.listings.items()}


async def test_list_listings_pages_through_every_sku(amazon: SimHandle, make: Factory) -> None:
    pages = [page async for page in make().list_listings()]
    assert [len(page) for page in pages] == [20, 5]
    listings = {info.sku: info for page in pages for info in page}
    assert set(listings) == set(amazon.sim.store.listings)
    for sku, held in amazon.sim.store.listings.items():
        info = listings[sku]
        assert (info.external_id, info.inventory_ref, info.quantity) == (sku, held.product_type, held.quantity)
    first, second = (r["query"] for r in amazon.requests(operation="searchListingsItems"))
    assert "includedData=summaries%2CfulfillmentAvailability" in first and "pageToken" in second


async def test_a_few_skus_are_patched_one_by_one(amazon: SimHandle, make: Factory) -> None:
    updates = [StockUpdate("AMZ-0001", "PRODUCT", 7), StockUpdate("AMZ-0002", None, 0)]
    results = await make().set_stock(updates)
    assert [(r.external_id, r.ok) for r in results] == [("AMZ-0001", True), ("AMZ-0002", True)]
    assert quantities(amazon)["AMZ-0001"] == 7 and quantities(amazon)["AMZ-0002"] == 0
    patches = amazon.requests("PATCH", "/listings/2021-08-01/items/")
    assert len(patches) == 2 and amazon.requests(operation="createFeed") == []
    body = patches[0]["body"]
    assert body["productType"] == "PRODUCT"
    assert body["patches"] == [
        {
            "op": "merge",
            "path": "/attributes/fulfillment_availability",
            "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 7}],
        }
    ]


async def test_a_listing_s_own_product_type_is_sent(amazon: SimHandle, make: Factory) -> None:
    held = amazon.sim.store.listings["AMZ-0003"]
    [result] = await make(stock_patch_op="replace").set_stock([StockUpdate("AMZ-0003", held.product_type, 4)])
    assert result.ok
    [patch] = amazon.requests("PATCH", "/listings/")
    assert patch["body"]["productType"] == held.product_type and patch["body"]["patches"][0]["op"] == "replace"


async def test_per_sku_refusals_do_not_stop_the_batch(amazon: SimHandle, make: Factory) -> None:
    updates = [StockUpdate("NO-SUCH-SKU", None, 3), StockUpdate("AMZ-0004", None, -2), StockUpdate("AMZ-0005", None, 9)]
    results = await make().set_stock(updates)
    assert [(r.external_id, r.ok) for r in results] == [("NO-SUCH-SKU", False), ("AMZ-0004", False), ("AMZ-0005", True)]
    assert results[0].error is not None and "NO-SUCH-SKU" in results[0].error
    assert results[1].error == "Quantity cannot be negative"
    assert len(amazon.requests("PATCH", "/listings/")) == 2  # the negative one never left


async def test_many_skus_go_as_one_json_listings_feed(amazon: SimHandle, make: Factory) -> None:
    skus = sorted(amazon.sim.store.listings)[:12]
    updates = [StockUpdate(sku, None, n) for n, sku in enumerate(skus)] + [StockUpdate("GHOST", None, 1)]
    results = await make(feed_threshold_skus=10).set_stock(updates)
    assert [r.ok for r in results] == [True] * 12 + [False]
    assert results[-1].error is not None and "GHOST" in results[-1].error
    assert all(quantities(amazon)[sku] == n for n, sku in enumerate(skus))
    assert amazon.requests("PATCH", "/listings/") == []
    [document] = amazon.requests(operation="createFeedDocument")
    assert document["body"] == {"contentType": "application/json; charset=UTF-8"}
    [feed] = amazon.requests(operation="createFeed")
    assert feed["body"]["feedType"] == "JSON_LISTINGS_FEED"
    uploaded = amazon.sim.listings.documents[feed["body"]["inputFeedDocumentId"]].content
    assert uploaded is not None
    sent = json.loads(uploaded)
    assert sent["header"] == {"sellerId": amazon.sim.config.seller_id, "version": "2.0", "issueLocale": "en_US"}
    assert [m["messageId"] for m in sent["messages"]] == list(range(1, 14))
    assert {m["operationType"] for m in sent["messages"]} == {"PATCH"}
    assert len(amazon.requests(operation="getFeedDocument")) == 1


async def test_a_fatal_feed_fails_every_sku_with_amazons_reason(amazon: SimHandle, make: Factory) -> None:
    items = [StockUpdate("AMZ-0001", None, 1), StockUpdate("AMZ-0002", None, 2)]
    results = await feed_results(make().client, amazon.fatal_feed(), items)
    assert [r.ok for r in results] == [False, False]
    assert all(r.error is not None and "never uploaded" in r.error for r in results)


async def test_feed_still_processing_after_the_wait_counts_as_accepted(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "config", {"feed_processing_s": 60.0})
    results = await make(feed_threshold_skus=2, feed_wait_seconds=0.1).set_stock(
        [StockUpdate("AMZ-0001", None, 1), StockUpdate("AMZ-0002", None, 2)]
    )
    assert all(r.ok for r in results)
    assert amazon.requests(operation="getFeedDocument") == []

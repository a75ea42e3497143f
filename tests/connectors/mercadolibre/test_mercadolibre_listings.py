"""Listings (scan + multiget) and stock writes (one PUT per item, all variations in it) against the simulator."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import pytest

from fenicia.connectors.base import ListingInfo, StockUpdate
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.core.errors import RateLimitedError
from mercadolibre_sim import MLHandle, running_ml

Factory = Callable[..., MercadoLibreConnector]


async def all_listings(connector: MercadoLibreConnector) -> list[ListingInfo]:
    return [listing async for batch in connector.list_listings() for listing in batch]


async def test_listings_are_items_and_variations_with_their_sku(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    listings = await all_listings(meli)
    store = ml.sim.store
    expected = sum(len(item.variations) or 1 for item in store.items.values())
    assert len(listings) == expected == 14  # 3 items x 3 variations + 5 plain items
    by_id = {listing.external_id: listing for listing in listings}
    varied = next(item for item in store.items.values() if item.variations)
    variation = varied.variations[0]
    listing = by_id[f"{varied.id}:{variation.id}"]
    assert (listing.sku, listing.inventory_ref, listing.quantity) == (variation.sku, listing.external_id, 500)
    assert listing.title.startswith(varied.title + " - ")
    plain = next(item for item in store.items.values() if not item.variations)
    assert by_id[plain.id].sku == plain.sku


async def test_a_large_catalog_is_scanned_and_read_twenty_at_a_time() -> None:
    with running_ml(catalog_size=130, variation_items=0) as handle:
        connector = handle.connector()
        try:
            listings = await all_listings(connector)
        finally:
            await connector.aclose()
        assert len({listing.external_id for listing in listings}) == 130
        scans = [parse_qs(r["query"]) for r in handle.requests("GET", "/items/search")]
        assert [q.get("scroll_id") for q in scans] == [None, ["scan-100"], ["scan-200"]]
        multigets = [parse_qs(r["query"])["ids"][0].split(",") for r in handle.requests("GET") if r["path"] == "/items"]
        assert max(len(ids) for ids in multigets) == 20 and sum(len(ids) for ids in multigets) == 130


async def test_plain_items_get_one_put_each(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    plain = [item for item in ml.sim.store.items.values() if not item.variations][:2]
    updates = [StockUpdate(item.id, item.id, 7 + n) for n, item in enumerate(plain)]
    results = await meli.set_stock(updates)
    assert [(r.external_id, r.ok) for r in results] == [(item.id, True) for item in plain]
    puts = ml.requests("PUT", "/items/")
    assert [(p["path"], p["body"]) for p in puts] == [
        (f"/items/{plain[0].id}", {"available_quantity": 7}),
        (f"/items/{plain[1].id}", {"available_quantity": 8}),
    ]
    assert [item.available_quantity for item in plain] == [7, 8]


async def test_variations_of_one_item_go_in_one_put_that_keeps_the_others(
    ml: MLHandle, meli: MercadoLibreConnector
) -> None:
    item = next(i for i in ml.sim.store.items.values() if i.variations)
    first, second, third = item.variations
    updates = [
        StockUpdate(f"{item.id}:{first.id}", f"{item.id}:{first.id}", 3),
        StockUpdate(f"{item.id}:{second.id}", f"{item.id}:{second.id}", 0),
    ]
    results = await meli.set_stock(updates)
    assert all(r.ok for r in results)
    [put] = ml.requests("PUT", f"/items/{item.id}")
    assert put["body"] == {
        "variations": [
            {"id": first.id, "available_quantity": 3},
            {"id": second.id, "available_quantity": 0},
            {"id": third.id},  # unchanged, but listed: ML drops variations missing from the list
        ]
    }
    assert [v.available_quantity for v in item.variations] == [3, 0, 500]
    assert len(item.variations) == 3


async def test_per_listing_failures_do_not_stop_the_batch(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    items = [i for i in ml.sim.store.items.values() if not i.variations]
    closed, fine = items[0], items[1]
    closed.status = "closed"
    varied = next(i for i in ml.sim.store.items.values() if i.variations)
    updates = [
        StockUpdate(closed.id, closed.id, 5),
        StockUpdate("MLB404", "MLB404", 5),
        StockUpdate(f"{varied.id}:1", f"{varied.id}:1", 5),
        StockUpdate(fine.id, fine.id, -1),
        StockUpdate("weird ref", "not/a ref", 5),
        StockUpdate(fine.id, fine.id, 9),
    ]
    results = await meli.set_stock(updates)
    assert [r.ok for r in results] == [False, False, False, False, False, True]
    assert "closed" in (results[0].error or "") and "no variation 1" in (results[2].error or "")
    assert fine.available_quantity == 9


async def test_rate_limit_stops_the_batch_for_the_engine(ml: MLHandle, make: Factory) -> None:
    connector = make(retry_wait_cap_seconds=0.0)
    item = next(i for i in ml.sim.store.items.values() if not i.variations)
    await connector.test_connection()
    ml.fault("http_429", count=None, path_contains="/items/")
    with pytest.raises(RateLimitedError):
        await connector.set_stock([StockUpdate(item.id, item.id, 1)])

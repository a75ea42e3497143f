"""A SKU gone from Walmart comes back ``skipped`` with Walmart's words (404 ``CONTENT_NOT_FOUND`` for the
SKU itself); other refusals stay errors. Both forms: ``PUT /v3/inventory`` per SKU and the bulk feed."""

from __future__ import annotations

import pytest

from fenicia.connectors.base import StockResult, StockUpdate
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.stock import content_not_found, gone_result
from fenicia.core.errors import AuthError, RemoteNotFound
from walmart_sim import Factory, WalmartHandle

NODE = "10000003527"


def update(sku: str, quantity: int = 5) -> StockUpdate:
    return StockUpdate(sku, sku, quantity)


def deleted_on_walmart(wm: WalmartHandle, sku: str) -> None:
    """The seller retired the item in Seller Center after Fenicia imported it."""
    del wm.sim.store.items[sku]


def inventory(wm: WalmartHandle) -> dict[str, int]:
    return dict(wm.control("GET", "inventory")["inventory"])


def lookups(wm: WalmartHandle) -> list[str]:
    return [r["query"] for r in wm.requests("GET", "/v3/inventory")]


def assert_gone(result: StockResult, sku: str) -> None:
    assert (result.ok, result.skipped) == (False, True)
    assert result.error is not None and "CONTENT_NOT_FOUND" in result.error and sku in result.error


def assert_plain_error(result: StockResult) -> None:
    assert (result.ok, result.skipped) == (False, False)
    assert result.error


async def test_put_of_a_gone_sku_is_skipped_and_the_rest_go(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    deleted_on_walmart(wm, "WM-0002")
    items = [update("WM-0001", 4), update("WM-0002"), update("NEVER-LISTED"), StockUpdate("", None, 2)]
    items.append(update("WM-0003", 7))
    results = await walmart.set_stock(items)
    assert [r.ok for r in results] == [True, False, False, False, True]
    assert_gone(results[1], "WM-0002")
    assert_gone(results[2], "NEVER-LISTED")
    assert_plain_error(results[3])
    assert results[3].error == "No Walmart SKU for this listing"
    assert inventory(wm)["WM-0001"] == 4 and inventory(wm)["WM-0003"] == 7
    assert lookups(wm) == []  # the PUT named nothing but the SKU: its 404 is the SKU's


async def test_with_a_ship_node_the_sku_is_checked_without_it(wm: WalmartHandle, make: Factory) -> None:
    deleted_on_walmart(wm, "WM-0002")
    results = await make(ship_node=NODE).set_stock([update("WM-0002"), update("WM-0001", 8)])
    assert_gone(results[0], "WM-0002")
    assert results[1].ok and inventory(wm)["WM-0001"] == 8
    assert lookups(wm) == ["sku=WM-0002"]  # no shipNode: a 404 now is about the SKU, not the node


async def test_a_failed_lookup_keeps_the_refusal_an_error(wm: WalmartHandle, make: Factory) -> None:
    deleted_on_walmart(wm, "WM-0002")
    wm.fault("http_500", count=None, method="GET", path_contains="/v3/inventory")
    results = await make(ship_node=NODE).set_stock([update("WM-0002"), update("WM-0001", 8)])
    assert_plain_error(results[0])
    assert "CONTENT_NOT_FOUND" in (results[0].error or "")
    assert results[1].ok


async def test_feed_items_gone_from_walmart_are_skipped(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    deleted_on_walmart(wm, "WM-0005")
    items = [update(f"WM-{n:04d}", n) for n in range(1, 13) if n != 5]
    items += [update("WM-0005"), update("NEVER-LISTED")]
    results = await walmart.set_stock(items)
    assert [r.ok for r in results] == [True] * 11 + [False, False]
    for result, sku in zip(results[11:], ("WM-0005", "NEVER-LISTED"), strict=True):
        assert_gone(result, sku)
        assert "DATA_ERROR" in (result.error or "")  # the feed's own words come first
    assert all(inventory(wm)[f"WM-{n:04d}"] == n for n in range(1, 13) if n != 5)
    assert len(wm.requests("POST", "/v3/feeds")) == 1 and wm.requests("PUT", "/v3/inventory") == []
    assert sorted(lookups(wm)) == ["sku=NEVER-LISTED", "sku=WM-0005"]


async def test_feed_lookup_failure_keeps_the_items_errors(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.fault("http_500", count=None, method="GET", path_contains="/v3/inventory")
    results = await walmart.set_stock([update(f"WM-{n:04d}", n) for n in range(1, 11)] + [update("NEVER-LISTED")])
    assert [r.ok for r in results] == [True] * 10 + [False]
    assert_plain_error(results[-1])
    assert "DATA_ERROR" in (results[-1].error or "")


async def test_refused_access_stops_the_batch_not_skipped(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.fault("forbidden", count=None, method="PUT", path_contains="/v3/inventory")
    with pytest.raises(AuthError):
        await walmart.set_stock([update("WM-0001")])


def test_only_content_not_found_says_the_record_is_missing() -> None:
    assert content_not_found(RemoteNotFound("x", codes=["CONTENT_NOT_FOUND.GMP_INVENTORY_API"]))
    assert content_not_found(RemoteNotFound("x", codes=["CONTENT_NOT_FOUND"]))
    assert not content_not_found(RemoteNotFound("Walmart has no such record (Not Found)"))  # a bare 404
    assert not content_not_found(RemoteNotFound("x", codes=["SOMETHING_ELSE"]))
    kept = gone_result(update("A"), "Walmart refused the quantity (DATA_ERROR): bad", None)
    assert (kept.ok, kept.skipped, kept.error) == (False, False, "Walmart refused the quantity (DATA_ERROR): bad")

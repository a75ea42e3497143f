"""A SKU gone from the TikTok shop comes back ``skipped`` with TikTok's words once inventory search
confirms it is not listed under its product any more; other refusals stay errors. Both forms: a refused
SKU inside a product's request, and a product's whole request refused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from fenicia.connectors.base import StockResult, StockUpdate
from fenicia.connectors.tiktok.connector import TikTokConnector
from fenicia.connectors.tiktok.sim_models import Product, Sku
from tiktok_sim import TikTokHandle, running_tiktok


@pytest.fixture
def tt() -> Iterator[TikTokHandle]:
    with running_tiktok() as handle:
        yield handle


@pytest.fixture
async def connector(tt: TikTokHandle) -> AsyncIterator[TikTokConnector]:
    made = tt.connector()
    yield made
    await made.aclose()


def multi_sku_products(tt: TikTokHandle) -> list[Product]:
    return [p for p in tt.sim.store.products.values() if len(p.skus) > 1 and p.status == "ACTIVATE"]


def remove_sku(tt: TikTokHandle, product: Product, sku: Sku) -> None:
    """The seller deleted one SKU of the product in Seller Center after Fenicia imported it."""
    product.skus.remove(sku)
    del tt.sim.store.skus[sku.id]


def remove_product(tt: TikTokHandle, product: Product) -> None:
    for sku in list(product.skus):
        remove_sku(tt, product, sku)
    del tt.sim.store.products[product.id]


def searched(tt: TikTokHandle) -> list[list[str]]:
    return [r["body"]["sku_ids"] for r in tt.requests("POST", "/inventory/search")]


def assert_gone(result: StockResult, sku_id: str) -> None:
    assert (result.ok, result.skipped) == (False, True)
    assert result.error is not None and f"no longer lists SKU {sku_id}" in result.error


def assert_plain_error(result: StockResult) -> None:
    assert (result.ok, result.skipped) == (False, False)
    assert result.error


async def test_a_sku_removed_from_its_product_is_skipped_and_its_siblings_go(
    tt: TikTokHandle, connector: TikTokConnector
) -> None:
    product = multi_sku_products(tt)[0]
    kept, removed = product.skus[0], product.skus[1]
    remove_sku(tt, product, removed)
    results = await connector.set_stock([StockUpdate(kept.id, product.id, 4), StockUpdate(removed.id, product.id, 6)])
    assert results[0].ok and kept.quantity == 4
    assert_gone(results[1], removed.id)
    assert f"SKU {removed.id} is not part of product {product.id}" in (results[1].error or "")  # TikTok's words
    assert searched(tt) == [[removed.id]]


async def test_every_sku_of_a_deleted_product_is_skipped(tt: TikTokHandle, connector: TikTokConnector) -> None:
    deleted, fine = multi_sku_products(tt)[:2]
    gone_ids = [sku.id for sku in deleted.skus]
    remove_product(tt, deleted)
    items = [StockUpdate(sku_id, deleted.id, 3) for sku_id in gone_ids]
    items.append(StockUpdate(fine.skus[0].id, fine.id, 8))
    results = await connector.set_stock(items)
    assert [r.ok for r in results] == [False] * len(gone_ids) + [True]
    for result, sku_id in zip(results, gone_ids, strict=False):
        assert_gone(result, sku_id)
        assert f"Product {deleted.id} does not exist" in (result.error or "")
    assert fine.skus[0].quantity == 8
    assert searched(tt) == [gone_ids]


async def test_refusals_of_skus_that_are_there_stay_errors(tt: TikTokHandle) -> None:
    product = multi_sku_products(tt)[0]
    wrong_warehouse = tt.connector(warehouse_id="999")
    try:
        results = await wrong_warehouse.set_stock([StockUpdate(s.id, product.id, 5) for s in product.skus])
    finally:
        await wrong_warehouse.aclose()
    for result in results:
        assert_plain_error(result)
        assert "warehouse" in (result.error or "")
    assert searched(tt) == [[s.id for s in product.skus]]  # looked up, and found


async def test_out_of_range_and_not_live_skus_stay_errors(tt: TikTokHandle, connector: TikTokConnector) -> None:
    live, paused = multi_sku_products(tt)[:2]
    paused.status = "SELLER_DEACTIVATED"
    items = [StockUpdate(live.skus[0].id, live.id, 100_000), StockUpdate(paused.skus[0].id, paused.id, 2)]
    items.append(StockUpdate(live.skus[1].id, live.id, 1))
    results = await connector.set_stock(items)
    assert [r.ok for r in results] == [False, False, True]
    assert_plain_error(results[0])
    assert "99999" in (results[0].error or "")
    assert_plain_error(results[1])
    assert "live" in (results[1].error or "")
    assert searched(tt) == [[paused.skus[0].id]]  # the out-of-range one never left Fenicia


async def test_a_failed_inventory_search_keeps_the_refusals_errors(
    tt: TikTokHandle, connector: TikTokConnector
) -> None:
    product = multi_sku_products(tt)[0]
    removed = product.skus[1]
    remove_sku(tt, product, removed)
    tt.fault("http_500", count=None, path_contains="/inventory/search")
    [result] = await connector.set_stock([StockUpdate(removed.id, product.id, 6)])
    assert_plain_error(result)
    assert "not part of product" in (result.error or "")

"""WooCommerce source: reading stock_quantity of products and variations (paging, delta, retries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fenicia.connectors.base import LevelsCursor
from sourcekit import read_levels, read_pages, rows
from woocommerce_sim import running_woocommerce


async def test_full_read_imports_stock_quantity_of_managed_products_and_variations() -> None:
    with running_woocommerce() as shop:
        connector = shop.connector()
        levels = await read_levels(connector)
        await connector.aclose()
    assert connector.full_snapshot is True
    assert rows(levels) == {
        ("WOO-HOODIE", None, 12, None, None),
        ("007", None, 5, None, None),  # leading zeros kept
        ("POSTER", None, 0, None, None),  # -2 on backorder: nothing to sell
        ("WOO-SHIRT", None, 30, None, None),  # the parent's own stock, shared by WOO-SHIRT-XL
        ("WOO-SHIRT-S", None, 4, None, None),
        ("WOO-SHIRT-L", None, 0, None, None),
    }
    names = {lv.code: lv.name for lv in levels}
    assert names["WOO-SHIRT-S"] == "Shirt - Small"
    assert names["007"] == "Pin (leading zeros)"


async def test_variations_can_be_skipped() -> None:
    with running_woocommerce() as shop:
        connector = shop.connector(read_variations=False)
        levels = await read_levels(connector)
        await connector.aclose()
        calls = shop.requests("/variations")
    assert "WOO-SHIRT-S" not in {lv.code for lv in levels}
    assert calls == []


async def test_paging_follows_total_pages_to_the_end() -> None:
    with running_woocommerce() as shop:
        shop.control("POST", "products/bulk", {"count": 233, "prefix": "0", "width": 6, "stock_quantity": 2})
        shop.control("DELETE", "requests")
        connector = shop.connector(page_size=50)
        pages = await read_pages(connector)
        await connector.aclose()
        product_calls = [r for r in shop.requests("/wc/v3/products") if "/variations" not in r["path"]]
    codes = [lv.code for page in pages for lv in page.levels]
    assert len(codes) == len(set(codes)) == 239
    assert {f"{n:07d}" for n in range(1, 234)} <= set(codes)
    assert len(product_calls) == 5  # 238 products at 50 a page
    assert pages[-1].next_token is None
    assert all(p.next_token for p in pages[:-1])


async def test_delta_reads_products_and_variations_modified_since() -> None:
    with running_woocommerce() as shop:
        for item in [*shop.sim.store.products.values(), *shop.sim.store.variations.values()]:
            item["date_modified_gmt"] -= timedelta(hours=3)
        since = datetime.now(UTC) - timedelta(minutes=10)
        shop.control("POST", "stock", {"sku": "007", "stock_quantity": 2})
        shop.control("POST", "stock", {"sku": "WOO-SHIRT-L", "stock_quantity": 9})  # the parent stays old
        connector = shop.connector()
        levels = await read_levels(connector, LevelsCursor(updated_after=since))
        await connector.aclose()
        queries = [r["query"] for r in shop.requests("/wc/v3/products")]
    assert connector.full_snapshot is False
    assert rows(levels) == {("007", None, 2, None, None), ("WOO-SHIRT-L", None, 9, None, None)}
    assert any("dates_are_gmt=true" in q and "modified_after=" in q for q in queries)

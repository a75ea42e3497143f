"""Shopify inventory levels as a source, against the Shopify channel's simulator over loopback HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fenicia.connectors import shopify_stock
from fenicia.connectors.base import InventorySourceConnector, LevelsCursor
from fenicia.connectors.shopify_stock import (
    ShopifyStockConnector,
    ShopifyStockCredentials,
    ShopifyStockSettings,
)
from fenicia.connectors.shopify_stock.client import graphql_error
from fenicia.connectors.shopify_stock.stock import item_ids, to_levels
from fenicia.connectors.source_registry import source_spec
from fenicia.core import netguard
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
)
from shopify_sim import SimHandle, running_shop
from sourcekit import FAST, Row, connect, connection_error, read_levels, read_pages, rows


def connector(shop: SimHandle, token: str | None = None, **overrides: Any) -> ShopifyStockConnector:
    settings = ShopifyStockSettings(**{"shop_url": shop.url, **FAST, **overrides})
    built = ShopifyStockConnector(settings, ShopifyStockCredentials(access_token=token or shop.sim.config.access_token))
    netguard.apply_policy(built, allow_private=True)  # the simulator listens on loopback: the operator's allowance
    return built


def expected_rows(shop: SimHandle) -> set[Row]:
    """What the simulated store holds per variant and location: (sku, location id, available clamped at 0,
    on hand, committed)."""
    store = shop.sim.store
    return {
        (store.variants_by_item[item].sku, str(location), max(level.available, 0), level.on_hand, level.committed)
        for (item, location), level in store.levels.items()
    }


def graphql_calls(shop: SimHandle) -> list[dict[str, Any]]:
    return shop.requests("POST", "graphql.json")


async def test_connection_names_the_store_and_its_locations() -> None:
    with running_shop() as shop:
        message = await connect(connector(shop))
    assert message.startswith("Connected to Shopify store ")
    assert "2 locations, inventory can be read" in message


async def test_bad_token_asks_to_update_the_source() -> None:
    with running_shop() as shop:
        error = await connection_error(connector(shop, token="shpat_wrong"), AuthError)
    assert "Shopify rejected the access token" in error.message
    assert "source" in error.resolution
    assert "channel" not in error.resolution


@pytest.mark.parametrize("path", ["inventory_levels", "graphql"])
async def test_missing_inventory_scope_is_named(path: str) -> None:
    with running_shop() as shop:
        shop.fault("missing_scope", path_contains=path)
        error = await connection_error(connector(shop), AuthError)
    assert "lacks the read_inventory permission" in error.message
    assert "update the source" in error.resolution


async def test_url_that_is_not_a_shopify_store() -> None:
    with running_shop() as shop, pytest.raises(ConfigError, match=r"No Shopify Admin API at .*/nowhere"):
        await connect(connector(shop, shop_url=f"{shop.url}/nowhere"))


async def test_full_read_gives_available_on_hand_and_committed_per_variant_and_location() -> None:
    with running_shop() as shop:
        store = shop.sim.store
        variant = next(iter(store.variants_by_sku.values()))
        main, second = store.locations[0].id, store.locations[1].id
        store.set_inventory(variant.inventory_item_id, second, 7)
        store.set_inventory(variant.inventory_item_id, main, 1)
        shop.sim.create_order(sku=variant.sku, quantity=4)  # commits 4 at the main location: oversold by 3
        source = connector(shop)
        levels = await read_levels(source)
        await source.aclose()
        expected = expected_rows(shop)
    assert source.full_snapshot is True
    assert rows(levels) == expected
    assert (variant.sku, str(second), 7, 7, 0) in expected
    assert (variant.sku, str(main), 0, 1, 4) in expected  # available -3 imported as 0; on hand 1
    assert all(lv.name and "Default Title" not in lv.name for lv in levels)


async def test_committed_units_go_back_to_available_when_an_order_is_cancelled() -> None:
    with running_shop() as shop:
        store = shop.sim.store
        variant = next(iter(store.variants_by_sku.values()))
        main = store.locations[0].id
        store.set_inventory(variant.inventory_item_id, main, 10)
        order = shop.sim.create_order(sku=variant.sku, quantity=3)
        source = connector(shop, location_ids=[main])
        open_order = {lv.code: lv for lv in await read_levels(source)}[variant.sku]
        shop.sim.customer_cancel(order["id"])
        cancelled = {lv.code: lv for lv in await read_levels(source)}[variant.sku]
        await source.aclose()
    assert (open_order.available, open_order.on_hand, open_order.reserved) == (7, 10, 3)
    assert (cancelled.available, cancelled.on_hand, cancelled.reserved) == (10, 10, 0)


async def test_location_names_filter_and_leading_zero_skus() -> None:
    with running_shop() as shop:
        store = shop.sim.store
        variant = next(iter(store.variants_by_sku.values()))
        variant.sku = "000123"  # the merchant's SKU has leading zeros
        second = store.locations[1]
        source = connector(shop, location_key="name", location_ids=[second.id])
        levels = await read_levels(source)
        await source.aclose()
    assert {lv.location for lv in levels} == {second.name}
    assert "000123" in {lv.code for lv in levels}


async def test_paging_walks_every_inventory_item_with_graphql() -> None:
    with running_shop(catalog_size=40) as shop:
        source = connector(shop, page_size=10)
        pages = await read_pages(source)
        await source.aclose()
        calls = graphql_calls(shop)
        expected = expected_rows(shop)
        items = len(shop.sim.store.variants_by_item)
        product_calls = shop.requests("GET", "products.json")
    assert rows([lv for page in pages for lv in page.levels]) == expected
    assert len(calls) == -(-items // 10)  # 10 inventory items a page, to the last
    assert product_calls == []  # SKUs come with the inventory items
    assert len(pages) == len(calls)
    assert [p.next_token is None for p in pages] == [False] * (len(pages) - 1) + [True]


async def test_delta_reads_the_items_whose_levels_changed_since_the_cursor() -> None:
    with running_shop() as shop:
        store = shop.sim.store
        shop.control("POST", "clock", {"advance_s": 3600})  # what follows happens an hour from now
        changed = list(store.variants_by_item.values())[:3]
        second = store.locations[1].id
        for variant in changed:
            store.set_inventory(variant.inventory_item_id, second, 5)
        source = connector(shop, page_size=2, items_per_call=2)
        since = datetime.now(UTC) + timedelta(minutes=30)
        levels = await read_levels(source, LevelsCursor(updated_after=since))
        await source.aclose()
        level_queries = [r["query"] for r in shop.requests("GET", "inventory_levels.json")]
        lookups = graphql_calls(shop)
        skus = {v.sku for v in changed}
        expected = {row for row in expected_rows(shop) if row[0] in skus}
    assert source.full_snapshot is False
    assert rows(levels) == expected  # the changed items at both locations: complete rows
    assert len(expected) == 6
    assert {row[2] for row in expected if row[1] == str(second)} == {5}
    assert len(level_queries) == 2  # three changed levels, two a page: the Link header leads to the second
    assert "updated_at_min=" in level_queries[0]
    assert "page_info=" in level_queries[1]
    assert len(lookups) == 2  # two items per lookup by id


async def test_429_is_honoured_then_the_read_goes_on() -> None:
    with running_shop(retry_after_s=0.05) as shop:
        shop.fault("http_429", count=1, path_contains="graphql")
        source = connector(shop)
        levels = await read_levels(source)
        await source.aclose()
        statuses = [r["status"] for r in graphql_calls(shop)]
    assert rows(levels) == expected_rows(shop)
    assert statuses == [429, 200]


async def test_a_long_retry_after_goes_back_to_the_engine() -> None:
    with running_shop(retry_after_s=30) as shop:
        shop.fault("http_429", count=1, path_contains="graphql")
        source = connector(shop)
        with pytest.raises(RateLimitedError) as caught:
            await read_levels(source)
        await source.aclose()
    assert caught.value.retry_after == 30


async def test_5xx_is_retried_then_becomes_transient() -> None:
    with running_shop() as shop:
        shop.fault("http_503", count=1, path_contains="graphql")
        source = connector(shop)
        assert await read_levels(source)
        shop.fault("http_500", path_contains="graphql")
        with pytest.raises(TransientError, match="500"):
            await read_levels(source)
        await source.aclose()


def test_untracked_items_and_default_titles() -> None:
    def node(sku: str, tracked: bool, display: str) -> dict[str, Any]:
        level = {"location": {"id": "gid://shopify/Location/1"}, "quantities": [{"name": "available", "quantity": 2}]}
        return {
            "sku": sku,
            "tracked": tracked,
            "variant": {"displayName": display},
            "inventoryLevels": {"nodes": [level]},
        }

    locations = {1: "1"}
    assert [
        (lv.code, lv.name, lv.on_hand) for lv in to_levels(node("P-1", True, "Poster - Default Title"), locations)
    ] == [("P-1", "Poster", None)]
    assert to_levels(node("P-2", False, "Poster - Big"), locations) == []  # Shopify does not count it
    assert to_levels(node("", True, "Poster - Small"), locations) == []  # nothing names it
    assert to_levels(node("P-3", True, "Poster - Big"), {2: "2"}) == []  # not a chosen location


GRAPHQL_ERRORS: list[tuple[str, type[FeniciaError]]] = [
    ("THROTTLED", RateLimitedError),
    ("MAX_COST_EXCEEDED", RateLimitedError),
    ("ACCESS_DENIED", AuthError),
    ("undefinedField", ConfigError),
    ("INTERNAL_SERVER_ERROR", TransientError),
    ("argumentLiteralsIncompatible", ConnectorError),
]


@pytest.mark.parametrize(("code", "expected"), GRAPHQL_ERRORS)
def test_graphql_errors_map_to_errors(code: str, expected: type[FeniciaError]) -> None:
    error = graphql_error([{"message": "nope", "extensions": {"code": code}}])
    assert type(error) is expected
    assert "nope" in error.message
    assert error.resolution


def test_settings_validation_and_registry() -> None:
    assert ShopifyStockSettings(shop_url="demo.myshopify.com/admin").shop_url == "https://demo.myshopify.com"
    with pytest.raises(ValidationError, match="api_version"):
        ShopifyStockSettings(shop_url="demo.myshopify.com", api_version="latest")
    with pytest.raises(ValidationError, match="must not be empty"):
        ShopifyStockCredentials(access_token=" ")
    spec = source_spec("shopify_stock")
    assert (spec.key, spec.kind, spec.supports_delta) == ("shopify_stock", "shop", True)
    built = spec.build(ShopifyStockSettings(shop_url="demo.myshopify.com"), ShopifyStockCredentials(access_token="t"))
    assert isinstance(built, InventorySourceConnector)


def test_fixture_inventory_items_normalize() -> None:
    fixtures = Path(shopify_stock.__file__).parent / "fixtures"
    answer = json.loads((fixtures / "inventory_items_graphql.json").read_text())["response"]["data"]
    locations = {655441491: "655441491", 487838322: "Outlet"}
    levels = [lv for item in answer["inventoryItems"]["nodes"] for lv in to_levels(item, locations)]
    assert [(lv.code, lv.location, lv.available, lv.on_hand, lv.reserved, lv.name) for lv in levels] == [
        ("IPOD2008PINK", "655441491", 10, 14, 3, "IPod Nano - 8GB - Pink"),
        ("IPOD2008PINK", "Outlet", 0, 0, 2, "IPod Nano - 8GB - Pink"),  # oversold: -2 imported as 0
    ]  # 0042 is not tracked by Shopify: no rows
    changed = json.loads((fixtures / "inventory_levels.json").read_text())["response"]["inventory_levels"]
    assert item_ids(changed) == {808950810, 39072856}  # what a delta then looks up by id

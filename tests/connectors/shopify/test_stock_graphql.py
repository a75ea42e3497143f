"""The Shopify connector's stock push in Shopify's bulk form (GraphQL ``inventorySetQuantities``) against the
simulator over real loopback HTTP: batching, per-item errors, the cost limit and its pacing, auth errors,
the API-version forms, and the REST option."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from channel_testkit import closing_connectors
from fenicia.connectors.base import StockResult, StockUpdate
from fenicia.connectors.shopify.client import graphql_error
from fenicia.connectors.shopify.connector import ShopifyConnector
from fenicia.connectors.shopify.settings import ShopifyCredentials, ShopifySettings
from fenicia.core.errors import AuthError, ConfigError, FeniciaError, RateLimitedError
from shopify_sim import SimHandle, running_shop

TOKEN = "shpat_sandbox"
FAST: dict[str, Any] = {"retry_base_wait_seconds": 0.01, "retry_wait_cap_seconds": 1.0, "timeout_seconds": 5.0}
Factory = Callable[..., ShopifyConnector]
GONE_ITEM = "999999999"


@pytest.fixture
def shop() -> Iterator[SimHandle]:
    with running_shop(seed=3) as handle:
        yield handle


def connector_for(shop: SimHandle, **overrides: Any) -> ShopifyConnector:
    settings = ShopifySettings(shop_url=shop.url, **{**FAST, **overrides})
    return ShopifyConnector(settings, ShopifyCredentials(access_token=TOKEN, client_secret="shpss_sandbox"))


@pytest.fixture
async def connectors(shop: SimHandle) -> AsyncIterator[Factory]:
    async with closing_connectors(lambda **o: connector_for(shop, **o)) as factory:
        yield factory


def refs(shop: SimHandle) -> list[int]:
    return sorted(shop.sim.store.variants_by_item)


def available(shop: SimHandle, ref: int | str, location: int | None = None) -> int:
    store = shop.sim.store
    return store.levels[(int(ref), location or store.primary_location.id)].available


def mutations(shop: SimHandle) -> list[dict[str, Any]]:
    return shop.requests("POST", "graphql.json")


def sent_quantities(record: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = record["body"]["variables"]["input"]["quantities"]
    return rows


def by_id(results: list[StockResult]) -> dict[str, StockResult]:
    return {r.external_id: r for r in results}


# -- batching -------------------------------------------------------------------------------------


async def test_a_big_push_goes_out_in_calls_of_250_and_every_quantity_lands() -> None:
    with running_shop(seed=3, catalog_size=250) as big:
        async with closing_connectors(lambda **o: connector_for(big, **o)) as factory:
            items = [StockUpdate(f"v{ref}", str(ref), (i * 7) % 500) for i, ref in enumerate(refs(big))]
            assert len(items) > 500
            big.control("DELETE", "requests")
            results = await factory().set_stock(items)
        assert [r.external_id for r in results] == [item.external_id for item in items]
        assert all(r.ok and not r.skipped for r in results)
        calls = mutations(big)
        assert len(calls) == math.ceil(len(items) / 250)
        assert [len(sent_quantities(c)) for c in calls] == [250, 250, len(items) - 500]
        assert all(available(big, item.inventory_ref or "") == item.quantity for item in items)
        assert big.requests("POST", "inventory_levels") == []


async def test_the_batch_size_is_a_setting(shop: SimHandle, connectors: Factory) -> None:
    items = [StockUpdate(f"v{ref}", str(ref), 5) for ref in refs(shop)[:7]]
    shop.control("DELETE", "requests")
    assert all(r.ok for r in await connectors(stock_batch_size=3).set_stock(items))
    assert [len(sent_quantities(c)) for c in mutations(shop)] == [3, 3, 1]


async def test_the_mutation_sets_absolute_available_quantities(shop: SimHandle, connectors: Factory) -> None:
    ref = refs(shop)[0]
    shop.control("DELETE", "requests")
    assert (await connectors().set_stock([StockUpdate("a", str(ref), 42)]))[0].ok
    [call] = mutations(shop)
    body = call["body"]
    assert "inventorySetQuantities" in body["query"] and "@idempotent" not in body["query"]
    given = body["variables"]["input"]
    assert (given["name"], given["reason"], given["ignoreCompareQuantity"]) == ("available", "correction", True)
    location = shop.sim.store.primary_location.id
    assert given["quantities"] == [
        {"inventoryItemId": f"gid://shopify/InventoryItem/{ref}", "locationId": f"gid://shopify/Location/{location}",
         "quantity": 42},
    ]  # fmt: skip
    assert available(shop, ref) == 42


# -- per-item results -----------------------------------------------------------------------------


@pytest.mark.parametrize("atomic", [True, False])
async def test_item_errors_come_back_on_their_items(shop: SimHandle, connectors: Factory, atomic: bool) -> None:
    shop.control("POST", "config", {"graphql_set_atomic": atomic})
    store = shop.sim.store
    first, second, third, unstocked = refs(shop)[:4]
    del store.levels[(unstocked, store.primary_location.id)]  # no longer stocked at the location
    items = [
        StockUpdate("first", str(first), 11),
        StockUpdate("gone", GONE_ITEM, 3),
        StockUpdate("second", str(second), 12),
        StockUpdate("no-ref", None, 3),
        StockUpdate("unstocked", str(unstocked), 4),
        StockUpdate("too-many", str(third), 2_000_000_000),
        StockUpdate("odd-ref", "variant-9", 3),
    ]
    shop.control("DELETE", "requests")
    results = await connectors().set_stock(items)

    assert [r.external_id for r in results] == [item.external_id for item in items]
    got = by_id(results)
    assert got["first"].ok and got["second"].ok
    assert (available(shop, first), available(shop, second)) == (11, 12)
    gone = got["gone"]
    assert (gone.ok, gone.skipped) == (False, True)
    assert gone.error and "does not exist" in gone.error and "could not be found" in gone.error
    assert (got["unstocked"].ok, got["unstocked"].skipped) == (False, True)
    assert got["unstocked"].error and "not stocked" in got["unstocked"].error
    assert (got["too-many"].ok, got["too-many"].skipped) == (False, False)
    assert got["too-many"].error and "quantity" in got["too-many"].error
    assert available(shop, third) != 2_000_000_000
    for name in ("no-ref", "odd-ref"):
        assert (got[name].ok, got[name].skipped) == (False, False)
        assert got[name].error == "No Shopify inventory item id for this listing"

    calls = mutations(shop)
    assert len(sent_quantities(calls[0])) == 5  # the two items without an inventory item id never go out
    # all or nothing: the refused items are taken out and the rest sent again; else one call did it
    assert [len(sent_quantities(c)) for c in calls] == ([5, 2] if atomic else [5])


async def test_the_same_inventory_item_twice_goes_once_with_the_last_quantity(
    shop: SimHandle, connectors: Factory
) -> None:
    ref = refs(shop)[0]
    shop.control("DELETE", "requests")
    results = await connectors().set_stock([StockUpdate("a", str(ref), 1), StockUpdate("b", str(ref), 2)])
    assert [r.ok for r in results] == [True, True]
    assert [len(sent_quantities(c)) for c in mutations(shop)] == [1]
    assert available(shop, ref) == 2


async def test_a_stock_location_gone_fails_the_whole_call(shop: SimHandle, connectors: Factory) -> None:
    store = shop.sim.store
    second = store.locations[1].id
    connector = connectors(location_id=second)
    assert (await connector.set_stock([StockUpdate("a", str(refs(shop)[0]), 5)]))[0].ok
    store.locations.remove(store.locations[1])
    with pytest.raises(ConfigError) as caught:
        await connector.set_stock([StockUpdate("a", str(refs(shop)[0]), 6)])
    assert str(second) in caught.value.message


async def test_a_refused_reason_fails_the_whole_call(shop: SimHandle, connectors: Factory) -> None:
    with pytest.raises(ConfigError) as caught:
        await connectors(stock_reason="because").set_stock([StockUpdate("a", str(refs(shop)[0]), 5)])
    assert "reason" in caught.value.message


async def test_a_batch_over_shopifys_input_limit_is_a_settings_error(shop: SimHandle, connectors: Factory) -> None:
    shop.control("POST", "config", {"graphql_max_input_size": 3})
    items = [StockUpdate(f"v{ref}", str(ref), 5) for ref in refs(shop)[:4]]
    with pytest.raises(ConfigError) as caught:
        await connectors(stock_batch_size=4).set_stock(items)
    assert "stock_batch_size" in caught.value.resolution
    assert all(r.ok for r in await connectors(stock_batch_size=3).set_stock(items))


# -- the cost limit -------------------------------------------------------------------------------


def cost_limited(shop: SimHandle, **config: Any) -> None:
    shop.control("POST", "config", {"graphql_rate_limit_enabled": True, **config})


@pytest.mark.parametrize("status", [200, 429])
async def test_throttled_is_rate_limited_with_the_wait_the_bucket_needs(
    shop: SimHandle, connectors: Factory, status: int
) -> None:
    cost_limited(shop, graphql_bucket_size=15, graphql_restore_rate_per_s=0.5, graphql_throttled_status=status)
    item = [StockUpdate("a", str(refs(shop)[0]), 5)]
    assert (await connectors(location_id=shop.sim.store.primary_location.id).set_stock(item))[0].ok  # 15 -> 5
    fresh = connectors(location_id=shop.sim.store.primary_location.id)  # knows nothing of the bucket yet
    with pytest.raises(RateLimitedError) as caught:
        await fresh.set_stock(item)
    wait = caught.value.retry_after
    assert wait is not None and 5.0 < wait <= 10.0  # (10 needed - 5 left) / 0.5 a second
    assert shop.sim.cost_bucket.throttled == 1
    assert [r["status"] for r in mutations(shop)] == [200, status]


async def test_a_short_throttle_is_waited_out_inside_the_call(shop: SimHandle, connectors: Factory) -> None:
    cost_limited(shop, graphql_bucket_size=15, graphql_restore_rate_per_s=10.0)  # 0.5 s short: waited out
    location = shop.sim.store.primary_location.id
    ref = refs(shop)[0]
    assert (await connectors(location_id=location).set_stock([StockUpdate("a", str(ref), 5)]))[0].ok
    assert (await connectors(location_id=location).set_stock([StockUpdate("a", str(ref), 6)]))[0].ok
    assert shop.sim.cost_bucket.throttled == 1 and available(shop, ref) == 6


async def test_pacing_on_the_cost_bucket_means_no_throttled_answer(shop: SimHandle, connectors: Factory) -> None:
    cost_limited(shop, graphql_bucket_size=30, graphql_restore_rate_per_s=200.0, graphql_throttled_status=429)
    items = [StockUpdate(f"v{ref}", str(ref), i) for i, ref in enumerate(refs(shop)[:20])]
    assert len(items) == 20
    shop.control("DELETE", "requests")
    connector = connectors(stock_batch_size=2)
    results = await connector.set_stock(items)  # 10 calls of 10 points through a 30-point bucket
    assert all(r.ok for r in results)
    assert all(available(shop, item.inventory_ref or "") == item.quantity for item in items)
    assert len(mutations(shop)) == 10
    assert shop.sim.cost_bucket.throttled == 0
    assert {r["status"] for r in mutations(shop)} == {200}
    assert connector.client.cost_status is not None and connector.client.cost_status.maximum == 30


async def test_the_rest_bucket_is_not_spent_by_graphql(shop: SimHandle, connectors: Factory) -> None:
    shop.control("POST", "config", {"rate_limit_enabled": True, "bucket_size": 2})
    location = shop.sim.store.primary_location.id
    items = [StockUpdate(f"v{ref}", str(ref), 3) for ref in refs(shop)[:6]]
    assert all(r.ok for r in await connectors(location_id=location, stock_batch_size=1).set_stock(items))
    assert shop.sim.bucket.used == 0


async def test_a_query_is_refunded_what_it_did_not_return(shop: SimHandle) -> None:
    cost_limited(shop)
    query = "{ inventoryItems(first: 100) { nodes { id inventoryLevels(first: 2) { nodes { id } } } } }"
    async with httpx.AsyncClient(base_url=shop.url, headers={"X-Shopify-Access-Token": TOKEN}) as http:
        answer = (await http.post("/admin/api/2024-04/graphql.json", json={"query": query})).json()
    items = len(answer["data"]["inventoryItems"]["nodes"])
    cost = answer["extensions"]["cost"]
    assert (cost["requestedQueryCost"], cost["actualQueryCost"]) == (400, items * 4)
    assert 1000 - items * 4 <= cost["throttleStatus"]["currentlyAvailable"] <= 1000


# -- whole-call failures --------------------------------------------------------------------------


async def _failure(make: Callable[[], ShopifyConnector], item: StockUpdate) -> FeniciaError:
    with pytest.raises(FeniciaError) as caught:
        await make().set_stock([item])
    return caught.value


@pytest.mark.parametrize("kind", ["revoke_token", "missing_scope"])
async def test_auth_failures_are_the_errors_rest_gives(shop: SimHandle, connectors: Factory, kind: str) -> None:
    location = shop.sim.store.primary_location.id
    item = StockUpdate("a", str(refs(shop)[0]), 5)
    shop.fault(kind, path_contains="graphql")
    graphql = await _failure(lambda: connectors(location_id=location), item)
    shop.fault(kind, path_contains="inventory_levels")
    rest = await _failure(lambda: connectors(location_id=location, stock_api="rest"), item)
    assert type(graphql) is type(rest) is AuthError
    assert graphql.details["status"] == rest.details["status"] == (401 if kind == "revoke_token" else 403)
    assert graphql.resolution and rest.resolution
    if kind == "missing_scope":
        assert graphql.details["scope"] and rest.details["scope"]


def test_graphql_access_denied_is_an_auth_error_naming_the_scope() -> None:
    settings = ShopifySettings(shop_url="https://demo.myshopify.com")
    message = "Access denied for inventorySetQuantities field. Required access: `write_inventory` access scope."
    error = graphql_error([{"message": message, "extensions": {"code": "ACCESS_DENIED"}}], {}, 10, settings)
    assert isinstance(error, AuthError) and error.details["scope"] == "write_inventory"


async def test_a_5xx_is_retried_inside_the_call(shop: SimHandle, connectors: Factory) -> None:
    ref = refs(shop)[0]
    shop.fault("http_500", count=1, path_contains="graphql")
    assert (await connectors().set_stock([StockUpdate("a", str(ref), 9)]))[0].ok
    assert [r["status"] for r in mutations(shop)] == [500, 200]
    assert available(shop, ref) == 9


# -- API versions and the REST option -------------------------------------------------------------


async def test_2026_04_sends_change_from_quantity_and_an_idempotency_key(shop: SimHandle, connectors: Factory) -> None:
    ref = refs(shop)[0]
    shop.control("DELETE", "requests")
    assert (await connectors(api_version="2026-04").set_stock([StockUpdate("a", str(ref), 8)]))[0].ok
    [call] = mutations(shop)
    assert "/2026-04/" in call["path"] and "@idempotent(key: $key)" in call["body"]["query"]
    given = call["body"]["variables"]
    assert given["key"] and "ignoreCompareQuantity" not in given["input"]
    assert [row["changeFromQuantity"] for row in given["input"]["quantities"]] == [None]
    assert available(shop, ref) == 8


async def test_the_simulator_holds_each_version_to_its_own_input(shop: SimHandle) -> None:
    ref, location = refs(shop)[0], shop.sim.store.primary_location.id
    row = {"inventoryItemId": f"gid://shopify/InventoryItem/{ref}", "locationId": f"gid://shopify/Location/{location}"}
    common = {"name": "available", "reason": "correction"}
    old = common | {"ignoreCompareQuantity": True, "quantities": [row | {"quantity": 1}]}
    new = common | {"quantities": [row | {"quantity": 2, "changeFromQuantity": None}]}
    document = (
        "mutation S($input: InventorySetQuantitiesInput!) {"
        " inventorySetQuantities(input: $input) { userErrors { code } } }"
    )
    keyed = document.replace("(input: $input)", '(input: $input) @idempotent(key: "k-1")')
    async with httpx.AsyncClient(base_url=shop.url, headers={"X-Shopify-Access-Token": TOKEN}) as http:

        async def call(version: str, query: str, given: dict[str, Any]) -> dict[str, Any]:
            path = f"/admin/api/{version}/graphql.json"
            answer = await http.post(path, json={"query": query, "variables": {"input": given}})
            body: dict[str, Any] = answer.json()
            return body

        assert (await call("2026-04", keyed, old))["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
        assert (await call("2026-04", document, new))["errors"]  # no idempotency key
        assert (await call("2024-04", document, new))["errors"]  # changeFromQuantity is not known yet
        assert (await call("2024-04", document, old))["data"]["inventorySetQuantities"]["userErrors"] == []
        assert available(shop, ref) == 1
        assert (await call("2026-04", keyed, new))["data"]["inventorySetQuantities"]["userErrors"] == []
        shop.sim.store.levels[(ref, location)].available = 50
        replay = await call("2026-04", keyed, new)  # the same key: answered as before, not set again
        assert replay["data"]["inventorySetQuantities"]["userErrors"] == [] and available(shop, ref) == 50
        assert replay["extensions"]["cost"]["requestedQueryCost"] == 10


async def test_rest_mode_still_sends_one_call_per_item(shop: SimHandle, connectors: Factory) -> None:
    chosen = refs(shop)[:3]
    items = [StockUpdate(f"v{ref}", str(ref), 30 + i) for i, ref in enumerate(chosen)]
    items.append(StockUpdate("g", GONE_ITEM, 1))
    shop.control("DELETE", "requests")
    results = await connectors(stock_api="rest").set_stock(items)
    assert [(r.ok, r.skipped) for r in results] == [(True, False)] * 3 + [(False, True)]
    assert [available(shop, ref) for ref in chosen] == [30, 31, 32]
    assert len(shop.requests("POST", "inventory_levels/set.json")) == 4
    assert mutations(shop) == []


def test_stock_settings_are_checked() -> None:
    with pytest.raises(ValueError):
        ShopifySettings(shop_url="https://demo.myshopify.com", stock_api="soap")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ShopifySettings(shop_url="https://demo.myshopify.com", stock_batch_size=0)
    defaults = ShopifySettings(shop_url="https://demo.myshopify.com")
    assert (defaults.stock_api, defaults.stock_batch_size) == ("graphql", 250)

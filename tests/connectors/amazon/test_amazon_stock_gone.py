"""A listing deleted from Amazon comes back ``skipped`` (getListingsItem answers 404 for it); other
refusals stay errors. Both forms: patchListingsItem for a few SKUs, JSON_LISTINGS_FEED for many."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amazon_sim import Factory, SimHandle, running_amazon
from fenicia.connectors.amazon.stock import feed_results
from fenicia.connectors.base import StockResult, StockUpdate


@pytest.fixture
def amazon() -> Iterator[SimHandle]:
    with running_amazon(catalog_size=20) as handle:
        yield handle


def deleted_on_amazon(amazon: SimHandle, sku: str) -> None:
    """The seller deleted the listing in Seller Central after Fenicia imported it."""
    del amazon.sim.store.listings[sku]


def looked_up(amazon: SimHandle) -> list[str]:
    return [r["path"].rsplit("/", 1)[-1] for r in amazon.requests(operation="getListingsItem")]


def assert_gone(result: StockResult, sku: str) -> None:
    assert (result.ok, result.skipped) == (False, True)
    assert result.error is not None
    assert f"SKU '{sku}' has no listing in this marketplace" in result.error  # the refusal, in Amazon's words
    assert "does not exist" in result.error  # and getListingsItem's 404


def assert_plain_error(result: StockResult) -> None:
    assert (result.ok, result.skipped) == (False, False)
    assert result.error


async def test_patched_skus_gone_from_amazon_are_skipped_and_the_rest_go(amazon: SimHandle, make: Factory) -> None:
    deleted_on_amazon(amazon, "AMZ-0002")
    wrong_type = amazon.sim.store.listings["AMZ-0004"]
    updates = [
        StockUpdate("AMZ-0001", None, 5),
        StockUpdate("AMZ-0002", None, 6),  # deleted after the import
        StockUpdate("NEVER-LISTED", None, 7),
        StockUpdate("AMZ-0003", None, -1),  # refused before anything is sent
        StockUpdate("AMZ-0004", "NOT_ITS_TYPE", 8),  # Amazon refuses it, but the listing is there
        StockUpdate("AMZ-0005", None, 9),
    ]
    results = await make().set_stock(updates)
    assert [r.external_id for r in results] == [u.external_id for u in updates]
    assert [r.ok for r in results] == [True, False, False, False, False, True]
    assert_gone(results[1], "AMZ-0002")
    assert_gone(results[2], "NEVER-LISTED")
    assert_plain_error(results[3])
    assert results[3].error == "Quantity cannot be negative"
    assert_plain_error(results[4])
    assert "does not match" in (results[4].error or "") and wrong_type.quantity != 8
    assert amazon.sim.store.listings["AMZ-0001"].quantity == 5
    assert amazon.sim.store.listings["AMZ-0005"].quantity == 9
    assert sorted(looked_up(amazon)) == ["AMZ-0002", "AMZ-0004", "NEVER-LISTED"]  # refused ones only


async def test_feed_messages_for_gone_listings_are_skipped(amazon: SimHandle, make: Factory) -> None:
    deleted_on_amazon(amazon, "AMZ-0007")
    *skus, wrong_type = sorted(amazon.sim.store.listings)[:12]
    updates = [StockUpdate(sku, None, n) for n, sku in enumerate(skus)]
    updates += [StockUpdate("AMZ-0007", None, 3), StockUpdate(wrong_type, "NOT_ITS_TYPE", 4)]
    results = await make(feed_threshold_skus=10).set_stock(updates)
    assert [r.ok for r in results[:11]] == [True] * 11
    assert_gone(results[11], "AMZ-0007")
    assert_plain_error(results[12])
    assert "does not match" in (results[12].error or "")
    assert amazon.requests("PATCH", "/listings/") == [] and len(amazon.requests(operation="createFeed")) == 1
    assert all(amazon.sim.store.listings[sku].quantity == n for n, sku in enumerate(skus))
    assert sorted(looked_up(amazon)) == sorted(["AMZ-0007", wrong_type])


async def test_a_failed_lookup_keeps_the_refusal_an_error(amazon: SimHandle, make: Factory) -> None:
    deleted_on_amazon(amazon, "AMZ-0002")
    amazon.fault("http_500", count=None, method="GET", path_contains="/AMZ-0002")
    results = await make().set_stock([StockUpdate("AMZ-0002", None, 1), StockUpdate("AMZ-0003", None, 2)])
    assert_plain_error(results[0])
    assert "has no listing" in (results[0].error or "")
    assert results[1].ok
    assert looked_up(amazon) == ["AMZ-0002", "AMZ-0002"]  # one in-call retry, then Fenicia cannot tell


async def test_a_fatal_feed_looks_nothing_up(amazon: SimHandle, make: Factory) -> None:
    """A refusal of the whole feed says nothing about any one listing."""
    deleted_on_amazon(amazon, "AMZ-0002")
    items = [StockUpdate("AMZ-0001", None, 1), StockUpdate("AMZ-0002", None, 2)]
    results = await feed_results(make().client, amazon.fatal_feed(), items)
    assert all(not r.ok and not r.skipped for r in results)
    assert looked_up(amazon) == []

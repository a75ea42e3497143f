"""Contract: Amazon's own example payloads (official SP-API model sandbox examples) through our readers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fenicia.connectors.amazon as amazon_pkg
from fenicia.connectors.amazon.orders import RAW_ITEMS_KEY, normalize_order
from fenicia.connectors.amazon.settings import AmazonSettings
from fenicia.connectors.amazon.stock import listing_info, results_from_report, submission_result
from fenicia.connectors.base import NormalizedOrder, StockUpdate
from fenicia.orders.models import OrderStatus

REFERENCE = Path("/work/shared/reference/models")
VENDORED = Path(amazon_pkg.__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((VENDORED / name).read_text())


@pytest.fixture
def orders() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = load("getOrders-example.json")["payload"]["Orders"]
    return data


@pytest.fixture
def items() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = load("getOrderItems-example.json")["payload"]["OrderItems"]
    return data


@pytest.fixture
def normalized(orders: list[dict[str, Any]], items: list[dict[str, Any]]) -> NormalizedOrder:
    return normalize_order(orders[0], items)


@pytest.mark.parametrize(
    ("vendored", "reference"),
    [
        ("getOrders-example.json", "amazon-getOrders-example.json"),
        ("getOrderItems-example.json", "amazon-getOrderItems-example.json"),
    ],
)
def test_vendored_fixtures_are_the_reference_payloads(vendored: str, reference: str) -> None:
    if not (REFERENCE / reference).exists():
        pytest.skip("the shared reference models are not present (clean clone)")
    assert load(vendored) == json.loads((REFERENCE / reference).read_text())


def test_identity_status_and_times(normalized: NormalizedOrder) -> None:
    assert normalized.external_id == normalized.number == "902-1845936-5435065"
    assert normalized.status == OrderStatus.UNSHIPPED
    assert normalized.channel_status == "Unshipped; buyer requested cancellation"
    assert normalized.financial_status == "authorized" and normalized.cancelled_at is None
    assert normalized.placed_at == datetime(1970, 1, 19, 3, 58, 30, tzinfo=UTC)
    assert normalized.updated_at == datetime(1970, 1, 19, 3, 58, 32, tzinfo=UTC)


def test_money_and_restricted_buyer_data(normalized: NormalizedOrder) -> None:
    assert normalized.currency == "USD" and normalized.total == Decimal("11.01")
    assert normalized.customer_name is None and normalized.customer_email is None  # no RDT: none given
    assert normalized.shipping_address is None
    assert normalized.shipments == []


def test_the_example_item_becomes_one_line(normalized: NormalizedOrder) -> None:
    [line] = normalized.lines
    assert line.external_id == "05015851154158" and line.sku == "NABetaASINB00551Q3CS"
    assert line.title == "B00551Q3CS [Card Book]"
    assert (line.quantity, line.shipped_quantity, line.cancelled_quantity) == (1, 0, 0)
    assert line.unit_price == Decimal("10.00")
    assert line.channel_status == "cancel_requested"  # IsBuyerRequestedCancel is the string "true"


def test_every_example_order_normalizes(orders: list[dict[str, Any]]) -> None:
    normalized = [normalize_order(order, []) for order in orders]
    assert [o.external_id for o in normalized] == ["902-1845936-5435065", "902-8745147-1934268"]
    assert {o.status for o in normalized} == {OrderStatus.UNSHIPPED}


def test_raw_keeps_the_order_and_its_items(
    orders: list[dict[str, Any]], items: list[dict[str, Any]], normalized: NormalizedOrder
) -> None:
    assert normalized.raw == orders[0] | {RAW_ITEMS_KEY: items}
    assert normalize_order(normalized.raw) == normalized  # a stored raw normalizes to the same order


def test_listings_search_example_gives_sku_product_type_and_quantity() -> None:
    example = load("searchListingsItems-example.json")
    [info] = [listing_info(item, AmazonSettings(seller_id="A2EUQ1WTGCTBG2")) for item in example["items"]]
    assert (info.external_id, info.sku) == ("GM-ZDPI-9B4E", "GM-ZDPI-9B4E")
    assert info.title == "Hardside Carry-On Spinner Suitcase Luggage"
    assert (info.inventory_ref, info.quantity) == ("LUGGAGE", 100)


def test_patch_examples_read_as_submission_results() -> None:
    accepted, valid, invalid = load("patchListingsItem-examples.json")
    assert submission_result("GM-ZDPI-9B4E", accepted).ok
    assert submission_result("VALIDATION_VALID", valid).ok
    refused = submission_result("VALIDATION_INVALID", invalid)
    assert not refused.ok and refused.error is not None and "The attributes are invalid." in refused.error


def test_feed_example_status_is_understood() -> None:
    feed = load("getFeed-example.json")
    [result] = results_from_report([StockUpdate("SKU-1", None, 3)], {}, feed["processingStatus"])
    assert not result.ok and result.error is not None and "CANCELLED" in result.error

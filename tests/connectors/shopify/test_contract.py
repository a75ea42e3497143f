"""Contract: Shopify's own example order (API 2024-04 test payload) through the normalizer."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fenicia.connectors.shopify as shopify_pkg
from fenicia.connectors.base import NormalizedOrder
from fenicia.connectors.shopify.orders import normalize_order
from fenicia.orders.models import OrderStatus

REFERENCE = Path("/work/shared/reference/models/shopify-order-example.json")
# The same payload, vendored in the package so the test runs where /work/shared does not exist.
VENDORED = Path(shopify_pkg.__file__).parent / "fixtures" / "order.json"


@pytest.fixture
def example() -> dict[str, Any]:
    path = REFERENCE if REFERENCE.exists() else VENDORED
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.fixture
def normalized(example: dict[str, Any]) -> NormalizedOrder:
    return normalize_order(example)


def test_vendored_fixture_is_the_reference_payload() -> None:
    if not REFERENCE.exists() or not VENDORED.exists():
        pytest.skip("reference or vendored fixture not present")
    assert json.loads(VENDORED.read_text()) == json.loads(REFERENCE.read_text())


def test_identity_and_status(normalized: NormalizedOrder) -> None:
    assert normalized.external_id == "450789469"
    assert normalized.number == "#1001"
    assert normalized.status == OrderStatus.UNSHIPPED  # partially_refunded, nothing fulfilled
    assert normalized.channel_status == "financial=partially_refunded fulfillment=unfulfilled"
    assert normalized.financial_status == "partially_refunded"
    assert normalized.cancelled_at is None


def test_times_are_aware_utc(normalized: NormalizedOrder) -> None:
    expected = datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # 11:00 at -05:00
    assert normalized.placed_at == expected
    assert normalized.updated_at == expected
    assert normalized.placed_at.utcoffset() is not None


def test_customer_money_and_address(normalized: NormalizedOrder) -> None:
    assert normalized.customer_name == "Bob Norman"
    assert normalized.customer_email == "bob.norman@mail.example.com"
    assert normalized.currency == "USD"
    assert normalized.total == Decimal("598.94")
    assert isinstance(normalized.total, Decimal)
    assert normalized.shipping_address is not None
    assert normalized.shipping_address["city"] == "Louisville"
    assert normalized.shipping_address["country_code"] == "US"


def test_lines(normalized: NormalizedOrder) -> None:
    lines = {line.external_id: line for line in normalized.lines}
    assert set(lines) == {"466157049", "518995019", "703073504"}
    green, red, black = lines["466157049"], lines["518995019"], lines["703073504"]
    assert green.sku == "IPOD2008GREEN"
    assert green.title == "IPod Nano - 8gb - green"
    assert green.quantity == 1
    assert green.unit_price == Decimal("199.00")
    # its only fulfillment has status "failure": nothing shipped; refunded, so current_quantity 0
    assert (green.shipped_quantity, green.cancelled_quantity) == (0, 1)
    assert (red.shipped_quantity, red.cancelled_quantity) == (0, 0)
    assert (black.shipped_quantity, black.cancelled_quantity) == (0, 1)
    assert all(line.channel_status is None for line in normalized.lines)


def test_failed_fulfillment_is_not_a_shipment(normalized: NormalizedOrder) -> None:
    assert normalized.shipments == []


def test_successful_fulfillment_becomes_shipment(example: dict[str, Any]) -> None:
    payload = copy.deepcopy(example)
    payload["fulfillments"][0]["status"] = "success"
    order = normalize_order(payload)
    [shipment] = order.shipments
    assert shipment.external_id == "255858046"
    assert shipment.carrier == "USPS"
    assert shipment.tracking_number == "1Z2345"
    assert shipment.tracking_url is not None and shipment.tracking_url.endswith("1Z2345")
    assert shipment.status is None
    green = next(line for line in order.lines if line.external_id == "466157049")
    assert (green.shipped_quantity, green.cancelled_quantity) == (1, 0)


def test_raw_is_kept(example: dict[str, Any], normalized: NormalizedOrder) -> None:
    assert normalized.raw == example

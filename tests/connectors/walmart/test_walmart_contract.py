"""Contract: Walmart's own example payloads (orders model, US Marketplace) through the normalizer."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fenicia.connectors.walmart as walmart_pkg
from fenicia.connectors.walmart.orders import normalize_order
from fenicia.orders.models import OrderStatus

REFERENCE = Path("/work/shared/reference/models")
FIXTURES = Path(walmart_pkg.__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def reference_example(path: str, method: str) -> Any:
    model = json.loads((REFERENCE / "walmart-orders.json").read_text())
    content = model["paths"][path][method]["responses"]["200"]["content"]["application/json"]
    return content.get("example") or content.get("examples")


def test_vendored_fixtures_are_the_reference_payloads() -> None:
    if not REFERENCE.exists():
        pytest.skip("reference models not present (clean clone)")
    assert fixture("get_orders.json") == json.loads((REFERENCE / "walmart-getOrders-example.json").read_text())
    assert fixture("get_order_examples.json") == reference_example("/v3/orders/{purchaseOrderId}", "get")
    assert fixture("shipping_response.json") == reference_example("/v3/orders/{purchaseOrderId}/shipping", "post")
    assert fixture("cancel_response.json") == reference_example("/v3/orders/{purchaseOrderId}/cancel", "post")
    assert fixture("acknowledge_response.json") == reference_example("/v3/orders/{purchaseOrderId}/acknowledge", "post")


def test_every_order_of_the_list_example_normalizes() -> None:
    raw = fixture("get_orders.json")["list"]["elements"]["order"]
    orders = [normalize_order(order) for order in raw]
    assert len(orders) == len(raw) == 10
    by_status = {o.external_id: o.status for o in orders}
    assert by_status["1796277083022"] == OrderStatus.UNSHIPPED  # Created
    assert by_status["3796235970012"] == OrderStatus.CANCELLED
    assert by_status["3796050123784"] == OrderStatus.SHIPPED
    assert {o.status for o in orders} == {OrderStatus.UNSHIPPED, OrderStatus.CANCELLED, OrderStatus.SHIPPED}
    for order, source in zip(orders, raw, strict=True):
        assert order.placed_at == ms(source["orderDate"])
        assert order.updated_at == max(
            ms(source["orderDate"]), *(ms(ln["statusDate"]) for ln in source["orderLines"]["orderLine"])
        )
        assert order.customer_email == source["customerEmailId"]


def test_list_example_first_order_in_detail() -> None:
    order = normalize_order(fixture("get_orders.json")["list"]["elements"]["order"][0])
    assert order.external_id == order.number == "1796277083022"
    assert order.channel_status == "Created"
    assert order.placed_at == datetime(2019, 9, 14, 13, 9, 31, tzinfo=UTC)
    assert order.updated_at == ms(1568466647000)
    assert order.customer_name == "Kathryn Cole"
    assert order.shipping_address is not None
    assert order.shipping_address["city"] == "Warners" and order.shipping_address["phone"] == "3155598681"
    assert order.currency == "USD" and order.total == Decimal("10.8")  # no orderSummary: charges + tax
    [line] = order.lines
    assert (line.external_id, line.sku, line.quantity) == ("4", "test1", 1)
    assert line.title == "Beba Bean Pee-pee Teepee Airplane - Blue - Laundry Bag"
    assert line.unit_price == Decimal("10") and line.shipped_quantity == 0 and line.cancelled_quantity == 0
    assert order.shipments == [] and order.cancelled_at is None and order.financial_status is None


def test_shipped_order_of_the_list_example_has_its_package() -> None:
    raw = next(
        o for o in fixture("get_orders.json")["list"]["elements"]["order"] if o["purchaseOrderId"] == "3796050123784"
    )
    order = normalize_order(raw)
    info = raw["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]
    [shipment] = order.shipments
    assert shipment.external_id == str(info["shipDateTime"])
    assert shipment.tracking_number == info["trackingNumber"] and shipment.status == "shipped"
    assert order.lines[0].shipped_quantity == 1


def test_cancelled_order_records_when() -> None:
    raw = fixture("get_orders.json")["list"]["elements"]["order"][1]
    order = normalize_order(raw)
    assert order.status == OrderStatus.CANCELLED and order.cancelled_at == ms(1568527247000)
    assert order.lines[0].cancelled_quantity == 1 and order.lines[0].channel_status == "Cancelled"


def test_get_order_example_shipped_with_usps() -> None:
    order = normalize_order(fixture("get_order_examples.json")["ORDER"]["value"]["order"])
    assert order.status == OrderStatus.SHIPPED
    [shipment] = order.shipments
    assert shipment.carrier == "USPS" and shipment.tracking_number == "435678956435467"
    assert shipment.tracking_url is not None and shipment.tracking_url.startswith("https://www.walmart.com/tracking")
    assert order.updated_at == ms(1623835855623)


def test_get_order_attributes_example_created_line_with_tracking_is_not_a_shipment() -> None:
    order = normalize_order(fixture("get_order_examples.json")["ATTRIBUTES"]["value"]["order"])
    assert order.status == OrderStatus.UNSHIPPED
    assert order.shipments == []  # the sample's trackingInfo sits on a Created entry: not shipped
    assert order.raw["orderType"] == "REPLACEMENT"


def test_action_answers_normalize() -> None:
    shipped = normalize_order(fixture("shipping_response.json")["order"])
    assert shipped.status == OrderStatus.SHIPPED and shipped.shipments[0].carrier == "FedEx"
    cancelled = normalize_order(fixture("cancel_response.json")["order"])
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.total == Decimal("0")
    acknowledged = normalize_order(fixture("acknowledge_response.json")["order"])
    assert acknowledged.status == OrderStatus.UNSHIPPED and acknowledged.channel_status == "Acknowledged"

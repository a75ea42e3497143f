"""Contract and mapping: ML's documented order and shipment examples through the normalizer; the status table."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fenicia.connectors.mercadolibre as mercadolibre_pkg
from fenicia.connectors.mercadolibre.orders import (
    ORDER_STATUSES,
    SHIPMENT_STATUSES,
    normalize_order,
    shipping_address,
)
from fenicia.connectors.mercadolibre.shipping import order_blockers
from fenicia.connectors.mercadolibre.webhooks import parse_webhook
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus

FIXTURES = Path(mercadolibre_pkg.__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data


@pytest.fixture
def order() -> dict[str, Any]:
    return fixture("order.json")


@pytest.fixture
def shipment() -> dict[str, Any]:
    return fixture("shipment.json")


# -- the documented examples --------------------------------------------------------------------------


def test_documented_order_alone(order: dict[str, Any]) -> None:
    normalized = normalize_order(order)
    assert (normalized.external_id, normalized.number) == ("768570754", "768570754")
    assert normalized.status == OrderStatus.UNSHIPPED  # paid; "not_delivered" only means not delivered yet
    assert normalized.channel_status == "order=paid"
    assert normalized.financial_status == "paid"
    assert normalized.placed_at == datetime(2013, 5, 27, 14, 1, 50, tzinfo=UTC)  # 10:01:50 at -04:00
    assert normalized.updated_at == normalized.placed_at  # the example has no last_updated
    assert (normalized.currency, normalized.total) == ("BRL", Decimal("499"))
    assert normalized.customer_name == "Comprador de testes da Silva"
    assert normalized.customer_email == "b@b.com"
    assert normalized.shipping_address is None and normalized.shipments == []
    [line] = normalized.lines
    assert (line.external_id, line.title, line.quantity, line.unit_price) == (
        "MLB12345678",
        "Samsung Galaxy",
        1,
        Decimal("499"),
    )
    assert line.sku is None and (line.shipped_quantity, line.cancelled_quantity) == (0, 0)
    assert normalized.raw == order


def test_documented_order_with_its_documented_shipment(order: dict[str, Any], shipment: dict[str, Any]) -> None:
    normalized = normalize_order(order | {"shipment": shipment})
    assert normalized.status == OrderStatus.UNSHIPPED  # ready_to_ship / printed: the label exists
    assert normalized.channel_status == "order=paid shipment=ready_to_ship/printed mode=me2"
    assert normalized.updated_at == datetime(2021, 4, 26, 22, 24, 6, tzinfo=UTC)  # the shipment's last_updated
    assert normalized.customer_name == "Comprador de testes"  # the receiver, from the shipment
    assert normalized.shipping_address == {
        "name": "Comprador de testes",
        "address1": "Rua Teste 123",
        "address2": "Apto 4",
        "neighborhood": "Bela Vista",
        "city": "São Paulo",
        "province": "São Paulo",
        "zip": "01310-100",
        "country_code": "BR",
    }
    [shipped] = normalized.shipments  # a tracking number exists, so it is a shipment in our sense
    assert (shipped.external_id, shipped.tracking_number, shipped.carrier, shipped.status) == (
        "40531399184",
        "MMXQP014735497E",
        "CBT MA",
        "ready_to_ship",
    )
    assert order_blockers(normalized.raw)["ship"].startswith("MercadoLibre handles shipping")


def test_legacy_shipment_format_is_read_too(order: dict[str, Any]) -> None:
    legacy = {
        "id": 20676482441,
        "mode": "me1",
        "status": "shipped",
        "substatus": None,
        "order_id": 768570754,
        "last_updated": "2013-05-30T09:00:00.000-04:00",
        "tracking_number": "OP123456789BR",
        "receiver_address": {
            "address_line": "Rua Legada 9",
            "zip_code": "01000-000",
            "city": {"name": "São Paulo"},
            "state": {"name": "São Paulo"},
            "country": {"id": "BR"},
            "receiver_name": "Maria",
            "receiver_phone": "11 5555-0000",
        },
    }
    normalized = normalize_order(order | {"shipment": legacy})
    assert normalized.status == OrderStatus.SHIPPED
    assert "mode=me1" in normalized.channel_status
    assert normalized.shipping_address is not None and normalized.shipping_address["phone"] == "11 5555-0000"
    assert normalized.lines[0].shipped_quantity == 1
    assert order_blockers(normalized.raw) == {}


def test_notification_example_is_a_pointer() -> None:
    event = parse_webhook((FIXTURES / "notification.json").read_bytes())
    assert (event.delivery_id, event.topic, event.order_ref) == (
        "f9f08571-1f65-4c46-9e0a-c0f43faas1557e",
        "orders_v2",
        "2000003508419013",
    )
    assert event.order is None and event.triggered_at == datetime(2024, 1, 15, 10, 30, 1, tzinfo=UTC)


# -- the status table ---------------------------------------------------------------------------------

EXPECTED_WITHOUT_SHIPMENT = {
    "confirmed": OrderStatus.PENDING,
    "payment_required": OrderStatus.PENDING,
    "payment_in_process": OrderStatus.PENDING,
    "partially_paid": OrderStatus.PENDING,
    "pending_cancel": OrderStatus.PENDING,
    "paid": OrderStatus.UNSHIPPED,
    "partially_refunded": OrderStatus.UNSHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "invalid": OrderStatus.CANCELLED,
}
SHIPMENT_DECIDES = {
    "cancelled": OrderStatus.CANCELLED,
    "delivered": OrderStatus.DELIVERED,
    "shipped": OrderStatus.SHIPPED,
    "not_delivered": OrderStatus.SHIPPED,  # left the seller; returning to sender
}


def test_the_table_covers_every_documented_status() -> None:
    assert set(EXPECTED_WITHOUT_SHIPMENT) == ORDER_STATUSES
    assert set(SHIPMENT_DECIDES) | {"pending", "handling", "ready_to_ship"} == SHIPMENT_STATUSES


@pytest.mark.parametrize("order_status", sorted(ORDER_STATUSES))
@pytest.mark.parametrize("shipment_status", [None, *sorted(SHIPMENT_STATUSES)])
def test_status_mapping(order: dict[str, Any], order_status: str, shipment_status: str | None) -> None:
    raw: dict[str, Any] = order | {"status": order_status}
    if shipment_status is not None:
        raw["shipment"] = {"id": 1, "status": shipment_status, "logistic": {"mode": "me1"}}
    expected = EXPECTED_WITHOUT_SHIPMENT[order_status]
    if expected != OrderStatus.CANCELLED and shipment_status in SHIPMENT_DECIDES:
        expected = SHIPMENT_DECIDES[shipment_status]
    assert normalize_order(raw).status == expected


def test_unknown_order_status_is_pending_and_kept(order: dict[str, Any]) -> None:
    normalized = normalize_order(order | {"status": "some_new_status"})
    assert normalized.status == OrderStatus.PENDING
    assert normalized.channel_status == "order=some_new_status"


def test_delivered_tag_stands_in_for_a_missing_shipment(order: dict[str, Any]) -> None:
    assert normalize_order(order | {"tags": ["paid", "delivered"]}).status == OrderStatus.DELIVERED


def test_cancellation_fills_the_cancelled_fields(order: dict[str, Any]) -> None:
    raw = order | {
        "status": "cancelled",
        "cancel_detail": {"group": "buyer", "code": "BUYER_REGRETS", "date": "2013-05-28T09:00:00.000-04:00"},
        "order_items": [copy.deepcopy(order["order_items"][0]) | {"quantity": 2}],
    }
    normalized = normalize_order(raw)
    assert normalized.cancelled_at == datetime(2013, 5, 28, 13, 0, tzinfo=UTC)
    assert normalized.lines[0].cancelled_quantity == 2


# -- lines and malformed orders ------------------------------------------------------------------------


def test_variation_lines_carry_the_variation_and_seller_sku(order: dict[str, Any]) -> None:
    line = copy.deepcopy(order["order_items"][0])
    line["item"] |= {"variation_id": 17, "seller_sku": "SKU-BLUE"}
    plain = copy.deepcopy(order["order_items"][0])
    plain["item"] |= {"id": "MLB99", "seller_custom_field": "LEGACY-SKU"}
    normalized = normalize_order(order | {"order_items": [line, plain]})
    assert [(ln.external_id, ln.sku) for ln in normalized.lines] == [
        ("MLB12345678:17", "SKU-BLUE"),
        ("MLB99", "LEGACY-SKU"),
    ]


def test_updated_at_is_the_later_of_order_and_shipment(order: dict[str, Any]) -> None:
    raw = order | {
        "last_updated": "2013-06-01T10:00:00.000-04:00",
        "shipment": {"id": 1, "status": "shipped", "last_updated": "2013-05-31T10:00:00.000-04:00"},
    }
    assert normalize_order(raw).updated_at == datetime(2013, 6, 1, 14, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"date_created": "yesterday"}, "date_created"),
        ({"order_items": None}, "order_items"),
        ({"order_items": [{"item": {}, "quantity": 1}]}, "order_items.item.id"),
        ({"order_items": [{"item": {"id": "MLB1"}, "quantity": "two"}]}, "order_items.quantity"),
        ({"total_amount": "lots"}, "total_amount"),
    ],
)
def test_malformed_orders_name_the_field(order: dict[str, Any], change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        normalize_order(order | change)
    assert caught.value.details["field"] == field


def test_address_needs_a_shipment() -> None:
    assert shipping_address(None) is None
    assert shipping_address({"id": 1, "destination": {}}) is None

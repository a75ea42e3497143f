"""The REST order normalizer and webhook verification/parsing (no server needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from fenicia.connectors.base import OrderCursor
from fenicia.connectors.shopify.orders import map_status, normalize_order, order_query
from fenicia.connectors.shopify.webhooks import ORDER_TOPICS, parse_webhook, signature, verify_webhook
from fenicia.core.errors import AuthError, InvalidRecord
from fenicia.orders.models import OrderStatus

SECRET = "shpss_test_secret"


def line(line_id: int = 11, quantity: int = 2, **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": line_id,
        "sku": f"SKU-{line_id}",
        "title": "Mug",
        "name": "Mug - blue",
        "quantity": quantity,
        "current_quantity": quantity,
        "fulfillable_quantity": quantity,
        "price": "12.50",
        "fulfillment_status": None,
    }
    item.update(extra)
    return item


def fulfillment(fid: int, units: dict[int, int], **extra: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": fid,
        "status": "success",
        "created_at": "2024-04-02T08:59:11-05:00",
        "shipment_status": None,
        "tracking_company": "UPS",
        "tracking_number": f"1Z{fid}",
        "tracking_numbers": [f"1Z{fid}"],
        "tracking_url": None,
        "tracking_urls": [],
        "line_items": [{"id": lid, "quantity": qty} for lid, qty in units.items()],
    }
    item.update(extra)
    return item


def order(**overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": 1001,
        "name": "#1001",
        "order_number": 1001,
        "email": "ann@example.com",
        "created_at": "2024-04-02T10:00:00+02:00",
        "processed_at": "2024-04-02T10:00:00+02:00",
        "updated_at": "2024-04-03T10:00:00+02:00",
        "cancelled_at": None,
        "cancel_reason": None,
        "currency": "EUR",
        "financial_status": "paid",
        "fulfillment_status": None,
        "total_price": "25.00",
        "line_items": [line()],
        "fulfillments": [],
        "shipping_address": {"name": "Ann Lee", "city": "Lyon"},
    }
    raw.update(overrides)
    return raw


# -- status mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, OrderStatus.UNSHIPPED),
        ({"financial_status": "partially_paid"}, OrderStatus.UNSHIPPED),
        ({"financial_status": "refunded"}, OrderStatus.UNSHIPPED),
        ({"financial_status": "pending"}, OrderStatus.PENDING),
        ({"financial_status": "authorized"}, OrderStatus.PENDING),
        ({"fulfillment_status": "partial"}, OrderStatus.PARTIALLY_SHIPPED),
        ({"fulfillment_status": "partial", "financial_status": "authorized"}, OrderStatus.PARTIALLY_SHIPPED),
        ({"fulfillment_status": "fulfilled"}, OrderStatus.SHIPPED),
        ({"cancelled_at": "2024-04-04T00:00:00Z"}, OrderStatus.CANCELLED),
        ({"cancelled_at": "2024-04-04T00:00:00Z", "fulfillment_status": "fulfilled"}, OrderStatus.CANCELLED),
    ],
)
def test_status_table(overrides: dict[str, Any], expected: str) -> None:
    assert map_status(order(**overrides)) == expected


def test_delivered_only_when_every_live_fulfillment_is_delivered() -> None:
    shipped = [fulfillment(1, {11: 1}, shipment_status="delivered"), fulfillment(2, {11: 1})]
    assert map_status(order(fulfillment_status="fulfilled", fulfillments=shipped)) == OrderStatus.SHIPPED
    shipped[1]["shipment_status"] = "delivered"
    assert map_status(order(fulfillment_status="fulfilled", fulfillments=shipped)) == OrderStatus.DELIVERED
    shipped.append(fulfillment(3, {11: 1}, status="cancelled", shipment_status="in_transit"))
    assert map_status(order(fulfillment_status="fulfilled", fulfillments=shipped)) == OrderStatus.DELIVERED


def test_channel_status_text() -> None:
    assert normalize_order(order(fulfillment_status="partial")).channel_status == "financial=paid fulfillment=partial"
    cancelled = order(cancelled_at="2024-04-04T00:00:00Z", cancel_reason="fraud", financial_status="voided")
    assert normalize_order(cancelled).channel_status == "financial=voided fulfillment=unfulfilled cancelled=fraud"


# -- fields -------------------------------------------------------------------------------------


def test_fields_money_and_times() -> None:
    result = normalize_order(order(cancelled_at="2024-04-04T12:00:00-05:00"))
    assert result.external_id == "1001"
    assert result.number == "#1001"
    assert result.placed_at == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    assert result.updated_at == datetime(2024, 4, 3, 8, 0, tzinfo=UTC)
    assert result.cancelled_at == datetime(2024, 4, 4, 17, 0, tzinfo=UTC)
    assert result.total == Decimal("25.00")
    assert result.lines[0].unit_price == Decimal("12.50")
    assert result.customer_name == "Ann Lee"
    assert result.customer_email == "ann@example.com"
    assert result.currency == "EUR"


def test_placed_at_falls_back_to_created_at_and_name_to_order_number() -> None:
    result = normalize_order(order(processed_at=None, name=None))
    assert result.placed_at == datetime(2024, 4, 2, 8, 0, tzinfo=UTC)
    assert result.number == "1001"


def test_customer_name_from_customer_when_no_shipping_address() -> None:
    raw = order(shipping_address=None, customer={"first_name": "Bo", "last_name": "Ek", "email": "bo@x.io"}, email=None)
    result = normalize_order(raw)
    assert (result.customer_name, result.customer_email, result.shipping_address) == ("Bo Ek", "bo@x.io", None)


def test_shipped_quantities_from_live_fulfillments() -> None:
    raw = order(
        fulfillment_status="partial",
        line_items=[line(11, 3, fulfillment_status="partial"), line(12, 1)],
        fulfillments=[fulfillment(1, {11: 1}), fulfillment(2, {11: 1}), fulfillment(3, {12: 1}, status="cancelled")],
    )
    result = normalize_order(raw)
    shipped = {item.external_id: item.shipped_quantity for item in result.lines}
    assert shipped == {"11": 2, "12": 0}
    assert [s.external_id for s in result.shipments] == ["1", "2"]
    assert result.shipments[0].carrier == "UPS"
    assert result.shipments[0].tracking_number == "1Z1"
    assert result.lines[0].channel_status == "partial"


def test_shipped_quantities_fall_back_to_fulfillable_quantity() -> None:
    raw = order(line_items=[line(11, 3, current_quantity=2, fulfillable_quantity=1)])
    del raw["fulfillments"]
    [item] = normalize_order(raw).lines
    assert (item.quantity, item.shipped_quantity, item.cancelled_quantity) == (3, 1, 1)


def test_removed_units_are_cancelled_but_never_more_than_unshipped() -> None:
    raw = order(
        line_items=[line(11, 2, current_quantity=0, fulfillable_quantity=0)],
        fulfillments=[fulfillment(1, {11: 2})],
    )
    [item] = normalize_order(raw).lines
    assert (item.shipped_quantity, item.cancelled_quantity) == (2, 0)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"id": None}, "id"),
        ({"updated_at": None}, "updated_at"),
        ({"updated_at": "yesterday"}, "updated_at"),
        ({"created_at": None, "processed_at": None}, "processed_at"),
        ({"name": None, "order_number": None}, "name"),
        ({"line_items": None}, "line_items"),
        ({"total_price": "12,5"}, "total_price"),
        ({"line_items": [line(quantity="2")]}, "line_items.quantity"),  # type: ignore[arg-type]
        ({"line_items": [{"quantity": 1}]}, "line_items.id"),
        ({"line_items": [line(price="abc")]}, "line_items.price"),
    ],
)
def test_malformed_order_names_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        normalize_order(order(**overrides))
    assert caught.value.details["field"] == field
    assert field in caught.value.message


def test_not_an_object_is_invalid() -> None:
    with pytest.raises(InvalidRecord):
        normalize_order(["not", "an", "order"])  # type: ignore[arg-type]


def test_order_query_window() -> None:
    after = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)
    params = order_query(OrderCursor(updated_after=after, updated_before=None), 50, "updated_at asc")
    assert params == {
        "status": "any",
        "limit": 50,
        "order": "updated_at asc",
        "updated_at_min": "2024-04-01T12:00:00+00:00",
    }
    naive_before = datetime(2024, 4, 2)
    params = order_query(OrderCursor(updated_after=None, updated_before=naive_before), 250, "updated_at asc")
    assert params["updated_at_max"] == "2024-04-02T00:00:00+00:00"
    assert "updated_at_min" not in params


# -- webhooks -----------------------------------------------------------------------------------


def signed(body: bytes, topic: str = "orders/create", **extra: str) -> dict[str, str]:
    headers = {
        "X-Shopify-Hmac-Sha256": signature(body, SECRET),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Triggered-At": "2024-04-03T08:00:00.123456789Z",
    }
    headers.update(extra)
    return headers


def test_verify_accepts_valid_signature_with_any_header_case() -> None:
    body = json.dumps(order()).encode()
    headers = {key.lower(): value for key, value in signed(body).items()}
    verify_webhook(headers, body, SECRET)
    verify_webhook({key.upper(): value for key, value in headers.items()}, body, SECRET)


@pytest.mark.parametrize(
    ("headers", "body", "words"),
    [
        ({}, b'{"id": 1}', "header is missing"),
        ({"X-Shopify-Hmac-Sha256": signature(b"", SECRET)}, b"", "body is empty"),
        ({"X-Shopify-Hmac-Sha256": signature(b'{"id": 1}', "other")}, b'{"id": 1}', "does not match"),
        ({"X-Shopify-Hmac-Sha256": signature(b'{"id": 1}', SECRET)}, b'{"id": 2}', "does not match"),
        ({"X-Shopify-Hmac-Sha256": "not base64 at all"}, b'{"id": 1}', "does not match"),
    ],
)
def test_verify_rejects(headers: dict[str, str], body: bytes, words: str) -> None:
    with pytest.raises(AuthError) as caught:
        verify_webhook(headers, body, SECRET)
    assert words in caught.value.message
    assert SECRET not in caught.value.message


def test_parse_order_webhook() -> None:
    body = json.dumps(order(fulfillment_status="partial")).encode()
    event = parse_webhook(signed(body, "orders/partially_fulfilled"), body)
    assert event.delivery_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert event.topic == "orders/partially_fulfilled"
    assert event.triggered_at == datetime(2024, 4, 3, 8, 0, 0, 123456, tzinfo=UTC)
    assert event.order is not None and event.order.status == OrderStatus.PARTIALLY_SHIPPED
    assert event.order_ref == "1001"


def test_parse_orders_edited_envelope_is_a_pointer() -> None:
    body = json.dumps({"order_edit": {"id": 9, "order_id": 1001, "line_items": {}}}).encode()
    event = parse_webhook(signed(body, "orders/edited"), body)
    assert (event.order, event.order_ref, event.topic) == (None, "1001", "orders/edited")


def test_parse_orders_edited_full_order() -> None:
    body = json.dumps(order()).encode()
    event = parse_webhook(signed(body, "orders/edited"), body)
    assert event.order is not None and event.order_ref == "1001"


@pytest.mark.parametrize("topic", ORDER_TOPICS)
def test_every_subscribed_topic_parses(topic: str) -> None:
    body = json.dumps(order()).encode()
    assert parse_webhook(signed(body, topic), body).topic == topic


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (signed(b"{}", "products/create"), b"{}"),
        ({"X-Shopify-Webhook-Id": "1"}, b"{}"),
        (signed(b"{", "orders/create"), b"{not json"),
        (signed(b"[]", "orders/create"), b"[1, 2]"),
        ({"X-Shopify-Topic": "orders/create"}, json.dumps(order()).encode()),
        (signed(b"", "orders/edited"), b'{"order_edit": {"id": 3}}'),
        (signed(b"", "orders/create"), b'{"id": 5}'),
    ],
)
def test_parse_rejects_bad_deliveries(headers: dict[str, str], body: bytes) -> None:
    with pytest.raises(InvalidRecord):
        parse_webhook(headers, body)


def test_unreadable_triggered_at_is_ignored() -> None:
    body = json.dumps(order()).encode()
    event = parse_webhook(signed(body, **{"X-Shopify-Triggered-At": "soon"}), body)
    assert event.triggered_at is None

"""Contract tests: TikTok Shop's example payloads (fixtures/) through the normalizer and webhook parser,
plus the status table and the one-line-per-unit grouping."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fenicia.connectors.base import OrderCursor
from fenicia.connectors.tiktok.auth import token_from_grant
from fenicia.connectors.tiktok.orders import (
    LINE_ID_MAX_CHARS,
    STATUS_MAP,
    decode_resume,
    encode_resume,
    line_external_id,
    map_status,
    normalize_order,
    normalize_page,
    window_of,
)
from fenicia.connectors.tiktok.webhooks import parse_webhook, verify_webhook
from fenicia.core.errors import AuthError, InvalidRecord, ValidationFailed
from fenicia.orders.models import OrderStatus

FIXTURES = Path(__file__).parents[3] / "src/fenicia/connectors/tiktok/fixtures"
DOCUMENTED_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def detail_order() -> dict[str, Any]:
    order: dict[str, Any] = fixture("order_detail.json")["data"]["orders"][0]
    return order


def unit(unit_id: str, sku_id: str = "1729767803962038562", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = copy.deepcopy(detail_order()["line_items"][0])
    base.update({"id": unit_id, "sku_id": sku_id, **fields})
    return base


def test_order_detail_example_normalizes() -> None:
    order = normalize_order(detail_order())
    assert (order.external_id, order.number, order.status) == ("576859029223086481",) * 2 + (OrderStatus.UNSHIPPED,)
    assert order.channel_status == "AWAITING_SHIPMENT shipping=seller"
    assert order.placed_at == datetime.fromtimestamp(1771253403, UTC)
    assert order.updated_at == datetime.fromtimestamp(1771264476, UTC)
    assert (order.currency, order.total, order.financial_status) == ("EUR", Decimal("35.97"), "paid")
    assert order.customer_email == "v4bE3USDHPXBRNN2JTJECRMJ43K3U@scs3.tiktok.com"
    assert order.customer_name == "Camille Martin" and order.shipping_address is not None
    assert order.shipping_address["postal_code"] == "75002" and order.cancelled_at is None
    [line] = order.lines
    assert (line.external_id, line.sku, line.quantity, line.shipped_quantity, line.cancelled_quantity) == (
        "576859029223217553",
        "Matcha_box",
        1,
        0,
        0,
    )
    assert line.title == "ORIGEENS Kit Matcha Complet" and line.unit_price == Decimal("35.97")
    assert line.channel_status == "AWAITING_SHIPMENT" and order.shipments == []


def test_cancelled_live_capture_normalizes() -> None:
    [order] = normalize_page(fixture("order_search_cancelled.json")["data"]["orders"])
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at == datetime.fromtimestamp(1771264476, UTC)
    assert order.channel_status == "CANCELLED cancelled_by=buyer shipping=seller"
    [line] = order.lines
    assert (line.quantity, line.cancelled_quantity, line.shipped_quantity) == (1, 1, 0)
    assert line.title.startswith("ORIGEENS Kit Matcha Complet - Conditionné") and order.shipping_address is None


@pytest.mark.parametrize("status", DOCUMENTED_STATUSES)
def test_every_documented_status_maps_to_one_of_ours(status: str) -> None:
    raw = detail_order() | {"status": status}
    assert normalize_order(raw).status in OrderStatus.ALL
    assert map_status(status) == STATUS_MAP[status]


def test_status_table() -> None:
    assert {s: map_status(s) for s in DOCUMENTED_STATUSES} == {
        "UNPAID": OrderStatus.PENDING,
        "ON_HOLD": OrderStatus.PENDING,
        "AWAITING_SHIPMENT": OrderStatus.UNSHIPPED,
        "PARTIALLY_SHIPPING": OrderStatus.PARTIALLY_SHIPPED,
        "AWAITING_COLLECTION": OrderStatus.SHIPPED,
        "IN_TRANSIT": OrderStatus.SHIPPED,
        "DELIVERED": OrderStatus.DELIVERED,
        "COMPLETED": OrderStatus.DELIVERED,
        "CANCELLED": OrderStatus.CANCELLED,
    }
    assert map_status("SOMETHING_NEW") == OrderStatus.PENDING  # never shipped blindly


def test_units_of_one_sku_become_one_line_with_rolled_up_states() -> None:
    shipped = {"display_status": "IN_TRANSIT", "package_id": "9001", "package_status": "FULFILLING"}
    raw = detail_order() | {
        "status": "PARTIALLY_SHIPPING",
        "line_items": [
            unit("576859029223217555", **shipped, tracking_number="RM1GB", shipping_provider_name="Royal Mail"),
            unit("576859029223217553", display_status="CANCELLED", package_status="CANCELLED"),
            unit("576859029223217554", package_id="9002"),
            unit("576859029223217556", sku_id="1729767803962038999", seller_sku="Whisk", product_name="Whisk"),
            unit("576859029223217557", is_gift=True, sale_price="0"),
        ],
    }
    order = normalize_order(raw)
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    matcha, whisk, gift = order.lines
    assert matcha.external_id == "576859029223217553,576859029223217554,576859029223217555"
    assert (matcha.quantity, matcha.shipped_quantity, matcha.cancelled_quantity) == (3, 1, 1)
    assert matcha.channel_status == "AWAITING_SHIPMENT x1, CANCELLED x1, IN_TRANSIT x1"
    assert (whisk.external_id, whisk.sku, whisk.quantity) == ("576859029223217556", "Whisk", 1)
    assert (gift.external_id, gift.quantity, gift.unit_price) == ("576859029223217557", 1, Decimal("0.00"))
    [shipment] = order.shipments
    assert (shipment.external_id, shipment.tracking_number, shipment.carrier) == ("9001", "RM1GB", "Royal Mail")
    # the same units in another order give the same ids: stable across payloads
    reordered = raw | {"line_items": list(reversed(raw["line_items"]))}
    assert [line.external_id for line in normalize_order(reordered).lines] == [
        "576859029223217557",
        "576859029223217556",
        "576859029223217553,576859029223217554,576859029223217555",
    ]


def test_long_unit_lists_keep_a_deterministic_id_within_the_column() -> None:
    ids = [str(576859029223217553 + n) for n in range(12)]
    external = line_external_id(ids)
    assert len(external) <= LINE_ID_MAX_CHARS
    assert external == f"{ids[0]}..{ids[-1]}#12" and line_external_id(list(ids)) == external


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id": None}, "id"),
        ({"status": ""}, "status"),
        ({"update_time": None}, "update_time"),
        ({"create_time": "soon"}, "create_time"),
        ({"line_items": None}, "line_items"),
        ({"payment": {"total_amount": "lots"}}, "payment.total_amount"),
    ],
)
def test_malformed_orders_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidRecord) as caught:
        normalize_order(detail_order() | change)
    assert caught.value.details.get("field") == field


def test_a_bad_order_in_a_page_is_skipped() -> None:
    good = detail_order()
    assert [o.external_id for o in normalize_page([{"id": "1"}, good, "junk"])] == [good["id"]]


def test_webhook_example_verifies_and_parses_to_a_pointer() -> None:
    body = (FIXTURES / "webhook_order_status_change.json").read_bytes()
    signature = hmac.new(b"fake_app_secret", b"fake_app_key" + body, hashlib.sha256).hexdigest()
    verify_webhook({"Authorization": signature}, body, "fake_app_key", "fake_app_secret")
    with pytest.raises(AuthError):
        verify_webhook({"Authorization": signature}, body.replace(b"AWAITING", b"AWAITINg"), "fake_app_key", "x")
    event = parse_webhook(body)
    assert (event.topic, event.order_ref, event.order) == ("ORDER_STATUS_CHANGE", "576684019603311365", None)
    assert event.triggered_at == datetime.fromtimestamp(1664095733, UTC)
    assert event.delivery_id.startswith("h-") and parse_webhook(body).delivery_id == event.delivery_id
    moved = json.loads(body)
    moved["data"]["order_status"] = "IN_TRANSIT"
    assert parse_webhook(json.dumps(moved).encode()).delivery_id != event.delivery_id


def test_token_example_reads_absolute_expiry() -> None:
    token = token_from_grant(fixture("token_refresh.json")["data"], "old-refresh", None)
    assert token.expires_at == datetime.fromtimestamp(1722342011, UTC)
    assert token.refresh_token == "GCP_Jj2vGQAAAABgUiH3FljxYmbFWS_wmUjc"
    assert token.extra["seller_base_region"] == "GB"


def test_search_window_and_resume_token_round_trip() -> None:
    after = datetime(2026, 11, 1, 12, 0, 0, 500_000, tzinfo=UTC)
    before = datetime(2026, 11, 1, 13, 0, 0, 250_000, tzinfo=UTC)
    window = window_of(OrderCursor(updated_after=after, updated_before=before))
    assert (window.update_time_ge, window.update_time_lt) == (int(after.timestamp()), int(before.timestamp()) + 1)
    assert decode_resume(encode_resume(window, "tok")) == (window, "tok")
    with pytest.raises(ValidationFailed):
        decode_resume("not-a-token")

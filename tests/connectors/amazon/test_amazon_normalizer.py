"""The Amazon normalizer: the status table (total over the documented statuses), lines, money, bad input."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import fenicia.connectors.amazon as amazon_pkg
from fenicia.connectors.amazon.orders import DOCUMENTED_STATUSES, map_status, normalize_order
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus

FIXTURES = Path(amazon_pkg.__file__).parent / "fixtures"
ORDER: dict[str, Any] = json.loads((FIXTURES / "getOrders-example.json").read_text())["payload"]["Orders"][0]
ITEM: dict[str, Any] = json.loads((FIXTURES / "getOrderItems-example.json").read_text())["payload"]["OrderItems"][0]

STATUS_TABLE = [
    ("PendingAvailability", OrderStatus.PENDING),
    ("Pending", OrderStatus.PENDING),
    ("Unshipped", OrderStatus.UNSHIPPED),
    ("PartiallyShipped", OrderStatus.PARTIALLY_SHIPPED),
    ("Shipped", OrderStatus.SHIPPED),
    ("InvoiceUnconfirmed", OrderStatus.SHIPPED),
    ("Canceled", OrderStatus.CANCELLED),
    ("Unfulfillable", OrderStatus.CANCELLED),
]


def order(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(ORDER) | changes


def item(**changes: Any) -> dict[str, Any]:
    return copy.deepcopy(ITEM) | changes


@pytest.mark.parametrize(("amazon", "ours"), STATUS_TABLE)
def test_status_table(amazon: str, ours: str) -> None:
    assert map_status(order(OrderStatus=amazon)) == ours
    assert normalize_order(order(OrderStatus=amazon), [item()]).status == ours


def test_the_table_covers_every_documented_status() -> None:
    assert {amazon for amazon, _ in STATUS_TABLE} == set(DOCUMENTED_STATUSES)
    assert {ours for _, ours in STATUS_TABLE} | {OrderStatus.DELIVERED} == set(OrderStatus.ALL)


@pytest.mark.parametrize("amazon", ["Shipped", "InvoiceUnconfirmed"])
def test_easy_ship_delivery_is_delivered(amazon: str) -> None:
    delivered = normalize_order(order(OrderStatus=amazon, EasyShipShipmentStatus="Delivered"), [item()])
    assert delivered.status == OrderStatus.DELIVERED
    assert delivered.channel_status == f"{amazon} (Easy Ship: Delivered)"
    waiting = order(OrderStatus="Unshipped", EasyShipShipmentStatus="Delivered")
    assert map_status(waiting) == OrderStatus.UNSHIPPED  # only a shipped order can be delivered


def test_an_unknown_future_status_is_kept_and_never_shippable() -> None:
    unknown = normalize_order(order(OrderStatus="OnHoldForReview"), [item()])
    assert unknown.status == OrderStatus.PENDING and unknown.channel_status.startswith("OnHoldForReview")


def test_cancelled_orders_cancel_their_unshipped_units() -> None:
    cancelled = normalize_order(order(OrderStatus="Canceled"), [item(QuantityOrdered=3, QuantityShipped=1)])
    [line] = cancelled.lines
    assert (line.quantity, line.shipped_quantity, line.cancelled_quantity) == (3, 1, 2)
    assert cancelled.cancelled_at == cancelled.updated_at and cancelled.financial_status is None
    assert cancelled.channel_status == "Canceled"  # a cancel request on a cancelled order says nothing more


def test_pending_orders_have_no_prices_yet() -> None:
    pending = {k: v for k, v in item().items() if k not in ("ItemPrice", "ItemTax", "PromotionDiscount")}
    normalized = normalize_order(
        {k: v for k, v in order(OrderStatus="Pending").items() if k != "OrderTotal"}, [pending]
    )
    assert normalized.total is None and normalized.currency is None
    assert normalized.lines[0].unit_price is None and normalized.financial_status == "pending"


def test_item_price_is_the_line_total() -> None:
    price = {"CurrencyCode": "JPY", "Amount": "1000"}
    [line] = normalize_order(order(), [item(QuantityOrdered=3, ItemPrice=price)]).lines
    assert line.unit_price == Decimal("333")
    [cents] = normalize_order(
        order(), [item(QuantityOrdered=4, ItemPrice={"CurrencyCode": "USD", "Amount": "10.00"})]
    ).lines
    assert cents.unit_price == Decimal("2.50")


def test_granted_buyer_data_is_used() -> None:
    address = {"Name": "Ana Silva", "AddressLine1": "2201 WESTLAKE AVE", "City": "SEATTLE", "CountryCode": "US"}
    rich = normalize_order(order(ShippingAddress=address, BuyerInfo={"BuyerEmail": "x@marketplace.amazon.com"}), [])
    assert rich.customer_name == "Ana Silva" and rich.customer_email == "x@marketplace.amazon.com"
    assert rich.shipping_address == address
    named = normalize_order(order(BuyerInfo={"BuyerName": "Ben Okafor"}), [])
    assert named.customer_name == "Ben Okafor" and named.customer_email is None


def test_buyer_cancel_flag_accepts_both_spellings() -> None:
    for flag in ("true", True, "TRUE"):
        request = {"IsBuyerRequestedCancel": flag, "BuyerCancelReason": "late"}
        assert (
            normalize_order(order(), [item(BuyerRequestedCancel=request)]).lines[0].channel_status == "cancel_requested"
        )
    quiet = item(BuyerRequestedCancel={"IsBuyerRequestedCancel": "false"})
    assert normalize_order(order(), [quiet]).channel_status == "Unshipped"


@pytest.mark.parametrize(
    ("where", "changes", "field"),
    [
        ("order", {"AmazonOrderId": None}, "AmazonOrderId"),
        ("order", {"OrderStatus": ""}, "OrderStatus"),
        ("order", {"LastUpdateDate": "yesterday"}, "LastUpdateDate"),
        ("order", {"PurchaseDate": None}, "PurchaseDate"),
        ("order", {"OrderTotal": {"CurrencyCode": "USD", "Amount": "lots"}}, "OrderTotal"),
        ("item", {"QuantityOrdered": "1"}, "QuantityOrdered"),
        ("item", {"QuantityShipped": -1}, "QuantityShipped"),
        ("item", {"OrderItemId": ""}, "OrderItemId"),
        ("item", {"ItemPrice": "10.00"}, "ItemPrice"),
    ],
)
def test_malformed_records_name_the_field(where: str, changes: dict[str, Any], field: str) -> None:
    raw_order, raw_item = (order(**changes), item()) if where == "order" else (order(), item(**changes))
    with pytest.raises(InvalidRecord) as caught:
        normalize_order(raw_order, [raw_item])
    assert caught.value.details.get("field") == field


def test_non_objects_are_invalid_records() -> None:
    with pytest.raises(InvalidRecord):
        normalize_order(["not", "an", "order"])  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord):
        normalize_order(order(), ["not an item"])
    with pytest.raises(InvalidRecord):
        normalize_order(order(OrderItems="nope"))

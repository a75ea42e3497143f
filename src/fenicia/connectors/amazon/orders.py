"""Amazon orders (``Order`` of getOrders/getOrder plus its ``OrderItem`` list) → :class:`NormalizedOrder`.

Status policy (channels.md §2.3), first match wins:

==============================================  ===================
Amazon ``OrderStatus``                          Fenicia
==============================================  ===================
``Canceled``, ``Unfulfillable``                 cancelled
``Shipped``/``InvoiceUnconfirmed`` and
``EasyShipShipmentStatus`` = ``Delivered``      delivered
``Shipped``, ``InvoiceUnconfirmed``             shipped
``PartiallyShipped``                            partially_shipped
``Unshipped``                                   unshipped
``Pending``, ``PendingAvailability``            pending (payment not authorized: do not ship)
anything else (a status Amazon adds later)      pending, logged: never ship on a guess
==============================================  ===================

A buyer's cancellation request (``BuyerRequestedCancel`` on an item) does not change Amazon's status;
it shows in ``channel_status`` ("Unshipped; buyer requested cancellation") and on the line.
Buyer data is restricted (RDT): ``BuyerInfo`` and most of ``ShippingAddress`` are usually absent, so
every personal field is optional. The getOrderItems list rides along in ``raw["OrderItems"]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog

from fenicia.connectors.base import NormalizedLine, NormalizedOrder
from fenicia.core.clock import parse_iso
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus

log = structlog.get_logger(__name__)

JSON = dict[str, Any]
RAW_ITEMS_KEY = "OrderItems"
STATUS_MAP: dict[str, str] = {
    "PendingAvailability": OrderStatus.PENDING,
    "Pending": OrderStatus.PENDING,
    "Unshipped": OrderStatus.UNSHIPPED,
    "PartiallyShipped": OrderStatus.PARTIALLY_SHIPPED,
    "Shipped": OrderStatus.SHIPPED,
    "InvoiceUnconfirmed": OrderStatus.SHIPPED,
    "Canceled": OrderStatus.CANCELLED,
    "Unfulfillable": OrderStatus.CANCELLED,
}
DOCUMENTED_STATUSES = tuple(STATUS_MAP)
SHIPPED_STATUSES = frozenset({"Shipped", "InvoiceUnconfirmed"})
CANCELLED_STATUSES = frozenset({"Canceled", "Unfulfillable"})
PAYMENT_PENDING_STATUSES = frozenset({"Pending", "PendingAvailability"})
OPEN_STATUSES = PAYMENT_PENDING_STATUSES | {"Unshipped", "PartiallyShipped"}
ADDRESS_FIELDS = (
    "Name",
    "CompanyName",
    "AddressLine1",
    "AddressLine2",
    "AddressLine3",
    "City",
    "County",
    "District",
    "StateOrRegion",
    "Municipality",
    "PostalCode",
    "CountryCode",
    "Phone",
    "AddressType",
)


def normalize_order(order: Mapping[str, Any], items: list[Any] | None = None) -> NormalizedOrder:
    """One Amazon order with its items in the common model; InvalidRecord names a malformed field.

    ``items`` is the getOrderItems list; when None, ``order["OrderItems"]`` is read (stored ``raw``).
    """
    if not isinstance(order, Mapping):
        raise InvalidRecord("Amazon order is not a JSON object")
    order_id = _required_str(order, "AmazonOrderId")
    if items is None:
        items = _items_of(order)
    amazon_status = _required_str(order, "OrderStatus")
    lines = [_normalize_line(item, amazon_status) for item in items]
    total, currency = _money(order, "OrderTotal")
    return NormalizedOrder(
        external_id=order_id,
        number=order_id,
        status=map_status(order),
        channel_status=channel_status_text(order, items),
        placed_at=_time(order, "PurchaseDate"),
        updated_at=_time(order, "LastUpdateDate"),
        financial_status=_financial_status(amazon_status),
        cancelled_at=_time(order, "LastUpdateDate") if amazon_status in CANCELLED_STATUSES else None,
        customer_name=_customer_name(order),
        customer_email=_customer_email(order),
        shipping_address=_address(order),
        currency=currency or _items_currency(items),
        total=total,
        lines=lines,
        shipments=[],  # the Orders API v0 does not list shipments or tracking
        raw={**dict(order), RAW_ITEMS_KEY: list(items)},
    )


def map_status(order: Mapping[str, Any]) -> str:
    """Our one status from Amazon's ``OrderStatus`` (see the module docstring)."""
    amazon = str(order.get("OrderStatus") or "")
    status = STATUS_MAP.get(amazon)
    if status is None:
        log.warning("amazon.unknown_order_status", order_id=order.get("AmazonOrderId"), status=amazon)
        return OrderStatus.PENDING
    if amazon in SHIPPED_STATUSES and order.get("EasyShipShipmentStatus") == "Delivered":
        return OrderStatus.DELIVERED
    return status


def channel_status_text(order: Mapping[str, Any], items: list[Any]) -> str:
    """Amazon's own words: the status, plus Easy Ship progress, and a buyer's cancel request while
    something is still to ship."""
    text = str(order.get("OrderStatus") or "unknown")
    easy_ship = order.get("EasyShipShipmentStatus")
    if easy_ship and text in SHIPPED_STATUSES:
        text += f" (Easy Ship: {easy_ship})"
    if text in OPEN_STATUSES and any(_cancel_requested(item) for item in items):
        text += "; buyer requested cancellation"
    return text


def _financial_status(amazon_status: str) -> str | None:
    if amazon_status in PAYMENT_PENDING_STATUSES:
        return "pending"
    return None if amazon_status in CANCELLED_STATUSES else "authorized"


def _items_of(order: Mapping[str, Any]) -> list[Any]:
    items = order.get(RAW_ITEMS_KEY)
    if items is None:
        return []
    if not isinstance(items, list):
        raise InvalidRecord("Amazon order's OrderItems is not a list", field=RAW_ITEMS_KEY)
    return items


def _normalize_line(item: Any, amazon_status: str) -> NormalizedLine:
    if not isinstance(item, Mapping):
        raise InvalidRecord("Amazon order has an OrderItems entry that is not an object")
    quantity = _int(item, "QuantityOrdered", required=True)
    shipped = min(_int(item, "QuantityShipped", required=False), quantity)
    price, _ = _money(item, "ItemPrice")
    return NormalizedLine(
        external_id=_required_str(item, "OrderItemId"),
        sku=_optional_str(item.get("SellerSKU")),
        title=str(item.get("Title") or item.get("ASIN") or ""),
        quantity=quantity,
        unit_price=_unit_price(price, quantity),
        shipped_quantity=shipped,
        cancelled_quantity=quantity - shipped if amazon_status in CANCELLED_STATUSES else 0,
        channel_status="cancel_requested" if _cancel_requested(item) else None,
    )


def _unit_price(line_total: Decimal | None, quantity: int) -> Decimal | None:
    """``ItemPrice`` is the line's total (price times quantity); absent on Pending orders."""
    if line_total is None or quantity <= 0:
        return None
    exponent = line_total.as_tuple().exponent
    unit = line_total / quantity
    return unit.quantize(Decimal(1).scaleb(exponent)) if isinstance(exponent, int) else unit


def _cancel_requested(item: Any) -> bool:
    request = item.get("BuyerRequestedCancel") if isinstance(item, Mapping) else None
    flag = request.get("IsBuyerRequestedCancel") if isinstance(request, Mapping) else None
    return flag is True or str(flag).lower() == "true"


def _customer_name(order: Mapping[str, Any]) -> str | None:
    address, buyer = order.get("ShippingAddress"), order.get("BuyerInfo")
    name = address.get("Name") if isinstance(address, Mapping) else None
    if not name and isinstance(buyer, Mapping):
        name = buyer.get("BuyerName")
    return _optional_str(name)


def _customer_email(order: Mapping[str, Any]) -> str | None:
    buyer = order.get("BuyerInfo")
    return _optional_str(buyer.get("BuyerEmail") if isinstance(buyer, Mapping) else None)


def _address(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """What Amazon let us see of the shipping address (often only city, region, postcode, country)."""
    address = order.get("ShippingAddress")
    if not isinstance(address, Mapping):
        return None
    kept = {key: str(address[key]) for key in ADDRESS_FIELDS if address.get(key) not in (None, "")}
    return kept or None


def _items_currency(items: list[Any]) -> str | None:
    for item in items:
        price = item.get("ItemPrice") if isinstance(item, Mapping) else None
        if isinstance(price, Mapping) and price.get("CurrencyCode"):
            return str(price["CurrencyCode"])
    return None


def _money(raw: Mapping[str, Any], field: str) -> tuple[Decimal | None, str | None]:
    """Amazon ``Money`` is ``{"CurrencyCode", "Amount"}`` with the amount as a string."""
    value = raw.get(field)
    if value is None:
        return None, None
    amount = value.get("Amount") if isinstance(value, Mapping) else None
    if not isinstance(value, Mapping) or amount in (None, ""):
        raise InvalidRecord(f"Amazon field '{field}' is not a Money object: {value!r}", field=field)
    try:
        number = Decimal(str(amount))
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise InvalidRecord(f"Amazon field '{field}.Amount' is not an amount: {amount!r}", field=field)
    return number, _optional_str(value.get("CurrencyCode"))


def _time(raw: Mapping[str, Any], field: str) -> datetime:
    value = raw.get(field)
    if not isinstance(value, str) or not value:
        raise InvalidRecord(f"Amazon order is missing '{field}'", field=field)
    try:
        return parse_iso(value)
    except ValueError:
        raise InvalidRecord(f"Amazon order field '{field}' is not an ISO timestamp: {value!r}", field=field) from None


def _int(raw: Mapping[str, Any], field: str, *, required: bool) -> int:
    value = raw.get(field)
    if value is None and not required:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecord(f"Amazon order item field '{field}' is not a count: {value!r}", field=field)
    return value


def _required_str(raw: Mapping[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise InvalidRecord(f"Amazon record is missing '{field}'", field=field)
    return str(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)

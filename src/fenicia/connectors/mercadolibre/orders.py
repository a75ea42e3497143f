"""MercadoLibre orders (with their shipment) → :class:`NormalizedOrder`.

ML keeps the sale's state on the order (payment) and the delivery's state on the shipment, a separate
resource. The connector fetches both and hands them here as one dict: the order JSON with the shipment
JSON under ``"shipment"`` (our addition; ``None`` when the order has no shipment). That dict is also
what ``NormalizedOrder.raw`` keeps.

Status policy (channels.md §3.3), first match wins:

=========================================================  =================
MercadoLibre                                               Fenicia
=========================================================  =================
order ``cancelled`` / ``invalid``, or shipment
``cancelled``                                              cancelled
shipment ``delivered``                                     delivered
shipment ``shipped`` / ``not_delivered`` (returning)       shipped
order ``confirmed``, ``payment_required``,
``payment_in_process``, ``partially_paid``,
``pending_cancel``, or any status we do not know           pending (not payable/shippable yet)
order ``paid`` / ``partially_refunded`` with shipment
``pending``, ``handling``, ``ready_to_ship`` or none       unshipped
=========================================================  =================

Without shipment data the order's ``delivered`` tag stands in for it (ML tags every undelivered sale
``not_delivered``, so that tag says nothing). An ML order has one shipment (a pack shares one), so
``partially_shipped`` does not occur. ``updated_at`` is the later of the order's and the shipment's
``last_updated``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from fenicia.connectors.base import NormalizedLine, NormalizedOrder, NormalizedShipment
from fenicia.connectors.fields import amount
from fenicia.core.clock import as_utc
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus

JSON = dict[str, Any]

CANCELLED_ORDER_STATUSES = frozenset({"cancelled", "invalid"})
PAID_ORDER_STATUSES = frozenset({"paid", "partially_refunded"})
PENDING_ORDER_STATUSES = frozenset(
    {"confirmed", "payment_required", "payment_in_process", "partially_paid", "pending_cancel"}
)
ORDER_STATUSES = CANCELLED_ORDER_STATUSES | PAID_ORDER_STATUSES | PENDING_ORDER_STATUSES
FINANCIAL_STATUSES = PAID_ORDER_STATUSES | {"partially_paid", "payment_required", "payment_in_process"}
SHIPPED_SHIPMENT_STATUSES = frozenset({"shipped", "not_delivered"})
OPEN_SHIPMENT_STATUSES = frozenset({"pending", "handling", "ready_to_ship"})
SHIPMENT_STATUSES = OPEN_SHIPMENT_STATUSES | SHIPPED_SHIPMENT_STATUSES | {"delivered", "cancelled"}
MANAGED_MODE = "me2"  # Mercado Envíos: ML prints the label and reports the tracking itself


def normalize_order(raw: Mapping[str, Any]) -> NormalizedOrder:
    """One ML order (``/orders/{id}`` or a search result) plus its shipment, in the common model.

    Raises :class:`InvalidRecord` naming the field when the order is malformed.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRecord("MercadoLibre order is not a JSON object")
    order_id = _required_id(raw, "id")
    shipment = shipment_of(raw)
    status = map_status(raw, shipment)
    lines = [_normalize_line(item, status, shipment) for item in _list_field(raw, "order_items")]
    placed = _time(raw, "date_created")
    if placed is None:
        raise InvalidRecord("MercadoLibre order is missing 'date_created'", field="date_created")
    return NormalizedOrder(
        external_id=order_id,
        number=order_id,
        status=status,
        channel_status=channel_status_text(raw, shipment),
        placed_at=placed,
        updated_at=updated_at(raw, shipment, placed),
        financial_status=_financial_status(raw),
        cancelled_at=_cancelled_at(raw, status),
        customer_name=_customer_name(raw, shipment),
        customer_email=_optional_str(_mapping(raw.get("buyer")).get("email")),
        shipping_address=shipping_address(shipment),
        currency=_optional_str(raw.get("currency_id")),
        total=_money(raw, "total_amount"),
        lines=lines,
        shipments=_shipments(shipment),
        raw=dict(raw),
    )


def shipment_of(raw: Mapping[str, Any]) -> JSON | None:
    shipment = raw.get("shipment")
    return dict(shipment) if isinstance(shipment, Mapping) else None


def map_status(raw: Mapping[str, Any], shipment: Mapping[str, Any] | None) -> str:
    """Our one status from the order's and the shipment's statuses (see the module docstring)."""
    order_status = str(raw.get("status") or "")
    ship_status = shipment_status(raw, shipment)
    if order_status in CANCELLED_ORDER_STATUSES or ship_status == "cancelled":
        return OrderStatus.CANCELLED
    if ship_status == "delivered":
        return OrderStatus.DELIVERED
    if ship_status in SHIPPED_SHIPMENT_STATUSES:
        return OrderStatus.SHIPPED
    if order_status in PAID_ORDER_STATUSES:
        return OrderStatus.UNSHIPPED
    return OrderStatus.PENDING


def shipment_status(raw: Mapping[str, Any], shipment: Mapping[str, Any] | None) -> str | None:
    """The shipment's status, or the one the order's tags imply when we have no shipment."""
    if shipment is not None and shipment.get("status"):
        return str(shipment["status"])
    tags = {str(tag) for tag in raw.get("tags") or []}
    return "delivered" if "delivered" in tags else None


def shipping_mode(raw: Mapping[str, Any], shipment: Mapping[str, Any] | None = None) -> str | None:
    """``me2``, ``me1``, ``custom`` (or ``not_specified``): new shipment format, legacy one, or the order."""
    for source in (_mapping((shipment or {}).get("logistic")), shipment or {}, _mapping(raw.get("shipping"))):
        mode = source.get("mode")
        if mode:
            return str(mode)
    return None


def channel_status_text(raw: Mapping[str, Any], shipment: Mapping[str, Any] | None) -> str:
    """ML's own words, e.g. ``order=paid shipment=ready_to_ship/printed mode=me2``."""
    parts = [f"order={raw.get('status') or 'unknown'}"]
    detail = raw.get("status_detail")
    if isinstance(detail, Mapping) and detail.get("code"):
        parts[0] += f"/{detail['code']}"
    elif isinstance(detail, str) and detail:
        parts[0] += f"/{detail}"
    if shipment is not None:
        status = str(shipment.get("status") or "unknown")
        sub = shipment.get("substatus")
        parts.append(f"shipment={status}/{sub}" if sub else f"shipment={status}")
    mode = shipping_mode(raw, shipment)
    if mode:
        parts.append(f"mode={mode}")
    return " ".join(parts)[:200]


def updated_at(raw: Mapping[str, Any], shipment: Mapping[str, Any] | None, fallback: datetime) -> datetime:
    """The later of the order's and the shipment's last change."""
    moments = [_time(raw, "last_updated") or _time(raw, "date_last_updated")]
    if shipment is not None:
        moments.append(_time(shipment, "last_updated"))
    known = [moment for moment in moments if moment is not None]
    return max(known) if known else fallback


def order_last_updated(raw: Mapping[str, Any]) -> datetime | None:
    """The order's own last change: what ``order.date_last_updated`` searches and sorts by."""
    return _time(raw, "last_updated") or _time(raw, "date_last_updated")


def shipping_address(shipment: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The delivery address, flat: new format ``destination.shipping_address`` or legacy ``receiver_address``."""
    if shipment is None:
        return None
    destination = _mapping(shipment.get("destination"))
    address = _mapping(destination.get("shipping_address")) or _mapping(shipment.get("receiver_address"))
    if not address:
        return None
    flat = {
        "name": destination.get("receiver_name") or address.get("receiver_name"),
        "address1": address.get("address_line") or _street(address),
        "address2": address.get("comment"),
        "neighborhood": _named(address.get("neighborhood")),
        "city": _named(address.get("city")),
        "province": _named(address.get("state")),
        "zip": address.get("zip_code"),
        "country_code": _mapping(address.get("country")).get("id"),
        "phone": destination.get("receiver_phone") or address.get("receiver_phone"),
    }
    return {key: str(value) for key, value in flat.items() if value not in (None, "")}


def _street(address: Mapping[str, Any]) -> str | None:
    parts = [str(address[key]) for key in ("street_name", "street_number") if address.get(key) not in (None, "")]
    return " ".join(parts) or None


def _named(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return _optional_str(value.get("name"))
    return _optional_str(value)


def _normalize_line(item: Any, status: str, shipment: Mapping[str, Any] | None) -> NormalizedLine:
    if not isinstance(item, Mapping):
        raise InvalidRecord("MercadoLibre order has an order_items entry that is not an object")
    listing = _mapping(item.get("item"))
    item_id = _required_id(listing, "id", where="order_items.item")
    variation = listing.get("variation_id")
    quantity = _int(item.get("quantity"), "order_items.quantity")
    shipped = quantity if status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED) else 0
    cancelled = quantity - shipped if status == OrderStatus.CANCELLED else 0
    return NormalizedLine(
        external_id=line_id(item_id, variation),
        sku=_optional_str(listing.get("seller_sku") or listing.get("seller_custom_field")),
        title=str(listing.get("title") or ""),
        quantity=quantity,
        unit_price=_money(item, "unit_price", where="order_items"),
        shipped_quantity=shipped,
        cancelled_quantity=cancelled,
        channel_status=_optional_str((shipment or {}).get("status")),
    )


def line_id(item_id: str, variation_id: Any) -> str:
    """ML order items have no id of their own: the listing (and variation) is unique within an order."""
    if variation_id in (None, "", 0):
        return item_id
    return f"{item_id}:{variation_id}"


def _shipments(shipment: Mapping[str, Any] | None) -> list[NormalizedShipment]:
    if shipment is None or shipment.get("id") in (None, ""):
        return []
    status = str(shipment.get("status") or "")
    if status not in SHIPPED_SHIPMENT_STATUSES | {"delivered"} and not shipment.get("tracking_number"):
        return []  # nothing left the seller yet: no shipment in our sense
    return [
        NormalizedShipment(
            external_id=str(shipment["id"]),
            carrier=_optional_str(shipment.get("tracking_method") or _mapping(shipment.get("logistic")).get("type")),
            tracking_number=_optional_str(shipment.get("tracking_number")),
            tracking_url=_optional_str(shipment.get("tracking_url")),
            status=status or None,
        )
    ]


def _financial_status(raw: Mapping[str, Any]) -> str | None:
    status = str(raw.get("status") or "")
    if status in FINANCIAL_STATUSES:
        return status
    payments = [p for p in raw.get("payments") or [] if isinstance(p, Mapping)]
    return _optional_str(payments[-1].get("status")) if payments else None


def _cancelled_at(raw: Mapping[str, Any], status: str) -> datetime | None:
    if status != OrderStatus.CANCELLED:
        return None
    detail = _mapping(raw.get("cancel_detail"))
    return _time(detail, "date") or order_last_updated(raw) or _time(raw, "date_closed")


def _customer_name(raw: Mapping[str, Any], shipment: Mapping[str, Any] | None) -> str | None:
    destination = _mapping((shipment or {}).get("destination"))
    if destination.get("receiver_name"):
        return str(destination["receiver_name"])
    buyer = _mapping(raw.get("buyer"))
    name = " ".join(str(part) for part in (buyer.get("first_name"), buyer.get("last_name")) if part)
    return name or _optional_str(buyer.get("nickname"))


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _required_id(raw: Mapping[str, Any], field: str, where: str = "") -> str:
    value = raw.get(field)
    label = f"{where}.{field}" if where else field
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise InvalidRecord(f"MercadoLibre record is missing '{label}'", field=label)
    return str(value)


def _int(value: Any, label: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRecord(f"MercadoLibre order field '{label}' is not a whole number: {value!r}", field=label)
    return value


def _money(raw: Mapping[str, Any], field: str, where: str = "") -> Decimal | None:
    return amount(raw.get(field), f"{where}.{field}" if where else field, "MercadoLibre")


def _time(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = raw.get(field)
    if value is None or value == "":
        return None
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        raise InvalidRecord(f"MercadoLibre field '{field}' is not a timestamp: {value!r}", field=field) from None


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _list_field(raw: Mapping[str, Any], field: str) -> list[Any]:
    value = raw.get(field)
    if not isinstance(value, list):
        raise InvalidRecord(f"MercadoLibre order field '{field}' is missing or not a list", field=field)
    return value

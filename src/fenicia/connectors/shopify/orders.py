"""Shopify REST orders → :class:`NormalizedOrder`, and the polling of ``orders.json``.

Status policy (channels.md §1.3), first match wins:

====================================================  =====================
Shopify                                               Fenicia
====================================================  =====================
``cancelled_at`` set                                  cancelled
``fulfillment_status`` fulfilled, every live
fulfillment's ``shipment_status`` delivered           delivered
``fulfillment_status`` fulfilled                      shipped
``fulfillment_status`` partial                        partially_shipped
``financial_status`` pending/authorized               pending  (policy: not payable yet, so not
                                                      ready to ship; authorized is money on hold)
anything else (paid, partially_paid, refunded, ...)   unshipped
====================================================  =====================

Fulfillments whose ``status`` is cancelled/error/failure never happened: they count neither as
shipments nor as shipped units.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog

from fenicia.connectors.base import NormalizedLine, NormalizedOrder, NormalizedShipment, OrderCursor, OrderPage
from fenicia.connectors.fields import amount
from fenicia.connectors.shopify.client import JSON, ShopifyClient
from fenicia.core.clock import as_utc
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus

log = structlog.get_logger(__name__)

DEAD_FULFILLMENT_STATUSES = frozenset({"cancelled", "error", "failure"})
PENDING_FINANCIAL_STATUSES = frozenset({"pending", "authorized"})


def normalize_order(raw: Mapping[str, Any]) -> NormalizedOrder:
    """One REST order (as in ``orders.json`` or an ``orders/*`` webhook) in the common model.

    Raises :class:`InvalidRecord` naming the field when the order is malformed.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRecord("Shopify order is not a JSON object")
    order_id = _required_id(raw, "id")
    shipped = _shipped_by_line(raw)
    lines = [_normalize_line(line, shipped) for line in _list_field(raw, "line_items", required=True)]
    return NormalizedOrder(
        external_id=order_id,
        number=_order_number(raw),
        status=map_status(raw),
        channel_status=channel_status_text(raw),
        placed_at=_time_field(raw, "processed_at", fallback="created_at"),
        updated_at=_time_field(raw, "updated_at"),
        financial_status=_optional_str(raw.get("financial_status")),
        cancelled_at=_optional_time(raw, "cancelled_at"),
        customer_name=_customer_name(raw),
        customer_email=_customer_email(raw),
        shipping_address=_address(raw),
        currency=_optional_str(raw.get("currency")),
        total=_money(raw, "total_price"),
        lines=lines,
        shipments=[_normalize_shipment(f) for f in live_fulfillments(raw)],
        raw=dict(raw),
    )


def map_status(raw: Mapping[str, Any]) -> str:
    """Our one status from Shopify's two fields (see the module docstring)."""
    fulfillment = raw.get("fulfillment_status")
    if raw.get("cancelled_at"):
        return OrderStatus.CANCELLED
    if fulfillment == "fulfilled":
        return OrderStatus.DELIVERED if _all_delivered(raw) else OrderStatus.SHIPPED
    if fulfillment == "partial":
        return OrderStatus.PARTIALLY_SHIPPED
    if raw.get("financial_status") in PENDING_FINANCIAL_STATUSES:
        return OrderStatus.PENDING
    return OrderStatus.UNSHIPPED


def channel_status_text(raw: Mapping[str, Any]) -> str:
    """Shopify's own words, e.g. ``financial=paid fulfillment=partial`` (+ ``cancelled=fraud``)."""
    parts = [
        f"financial={raw.get('financial_status') or 'unknown'}",
        f"fulfillment={raw.get('fulfillment_status') or 'unfulfilled'}",
    ]
    if raw.get("cancelled_at"):
        parts.append(f"cancelled={raw.get('cancel_reason') or 'yes'}")
    return " ".join(parts)


def live_fulfillments(raw: Mapping[str, Any]) -> list[JSON]:
    """Fulfillments that happened (not cancelled, failed or errored)."""
    items = _list_field(raw, "fulfillments", required=False)
    return [f for f in items if isinstance(f, dict) and f.get("status") not in DEAD_FULFILLMENT_STATUSES]


def _all_delivered(raw: Mapping[str, Any]) -> bool:
    live = live_fulfillments(raw)
    return bool(live) and all(f.get("shipment_status") == "delivered" for f in live)


def _shipped_by_line(raw: Mapping[str, Any]) -> dict[str, int] | None:
    """Units per line id in live fulfillments; None when the payload has no ``fulfillments`` key."""
    if "fulfillments" not in raw:
        return None
    shipped: dict[str, int] = {}
    for fulfillment in live_fulfillments(raw):
        for item in fulfillment.get("line_items") or []:
            key = str(item.get("id"))
            shipped[key] = shipped.get(key, 0) + _int(item.get("quantity"), "fulfillments.line_items.quantity")
    return shipped


def _normalize_line(line: Any, by_line: dict[str, int] | None) -> NormalizedLine:
    if not isinstance(line, Mapping):
        raise InvalidRecord("Shopify order has a line_items entry that is not an object")
    line_id = _required_id(line, "id", where="line_items")
    quantity = _int(line.get("quantity"), "line_items.quantity")
    current = _int(line.get("current_quantity", quantity), "line_items.current_quantity")
    if by_line is not None:
        shipped = by_line.get(line_id, 0)
    else:  # trimmed payload: what is neither fulfillable nor removed was shipped
        fulfillable = _int(line.get("fulfillable_quantity", current), "line_items.fulfillable_quantity")
        shipped = max(current - fulfillable, 0)
    shipped = min(shipped, quantity)
    return NormalizedLine(
        external_id=line_id,
        sku=_optional_str(line.get("sku")),
        title=str(line.get("name") or line.get("title") or ""),
        quantity=quantity,
        unit_price=_money(line, "price", where="line_items"),
        shipped_quantity=shipped,
        cancelled_quantity=min(max(quantity - current, 0), quantity - shipped),
        channel_status=_optional_str(line.get("fulfillment_status")),
    )


def _normalize_shipment(fulfillment: Mapping[str, Any]) -> NormalizedShipment:
    numbers = fulfillment.get("tracking_numbers") or []
    urls = fulfillment.get("tracking_urls") or []
    return NormalizedShipment(
        external_id=_required_id(fulfillment, "id", where="fulfillments"),
        carrier=_optional_str(fulfillment.get("tracking_company")),
        tracking_number=_optional_str(fulfillment.get("tracking_number") or (numbers[0] if numbers else None)),
        tracking_url=_optional_str(fulfillment.get("tracking_url") or (urls[0] if urls else None)),
        status=_optional_str(fulfillment.get("shipment_status")),
    )


def _order_number(raw: Mapping[str, Any]) -> str:
    number = raw.get("name") or raw.get("order_number")
    if number in (None, ""):
        raise InvalidRecord("Shopify order has neither 'name' nor 'order_number'", field="name")
    return str(number)


def _customer_name(raw: Mapping[str, Any]) -> str | None:
    for source in (raw.get("shipping_address"), raw.get("customer"), raw.get("billing_address")):
        if isinstance(source, Mapping):
            name = source.get("name") or " ".join(
                str(part) for part in (source.get("first_name"), source.get("last_name")) if part
            )
            if name:
                return str(name)
    return None


def _customer_email(raw: Mapping[str, Any]) -> str | None:
    customer = raw.get("customer")
    nested = customer.get("email") if isinstance(customer, Mapping) else None
    return _optional_str(raw.get("email") or raw.get("contact_email") or nested)


def _address(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    address = raw.get("shipping_address")
    return dict(address) if isinstance(address, Mapping) else None


def _required_id(raw: Mapping[str, Any], field: str, where: str = "") -> str:
    value = raw.get(field)
    label = f"{where}.{field}" if where else field
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise InvalidRecord(f"Shopify record is missing '{label}'", field=label)
    return str(value)


def _int(value: Any, label: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRecord(f"Shopify order field '{label}' is not a whole number: {value!r}", field=label)
    return value


def _money(raw: Mapping[str, Any], field: str, where: str = "") -> Decimal | None:
    return amount(raw.get(field), f"{where}.{field}" if where else field, "Shopify")


def _time_field(raw: Mapping[str, Any], field: str, fallback: str | None = None) -> datetime:
    moment = _optional_time(raw, field)
    if moment is None and fallback is not None:
        moment = _optional_time(raw, fallback)
    if moment is None:
        raise InvalidRecord(f"Shopify order is missing '{field}'", field=field)
    return moment


def _optional_time(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = raw.get(field)
    if value is None or value == "":
        return None
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00")))
    except ValueError:
        raise InvalidRecord(f"Shopify order field '{field}' is not a timestamp: {value!r}", field=field) from None


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _list_field(raw: Mapping[str, Any], field: str, *, required: bool) -> list[Any]:
    value = raw.get(field)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        raise InvalidRecord(f"Shopify order field '{field}' is missing or not a list", field=field)
    return value


def order_query(cursor: OrderCursor, page_size: int, order_sort: str, fields: str | None = None) -> dict[str, Any]:
    """The first page's filters: every status, oldest change first, inside the cursor's window."""
    params: dict[str, Any] = {"status": "any", "limit": page_size, "order": order_sort}
    if fields:
        params["fields"] = fields
    if cursor.updated_after is not None:
        params["updated_at_min"] = _iso(cursor.updated_after)
    if cursor.updated_before is not None:
        params["updated_at_max"] = _iso(cursor.updated_before)
    return params


def _iso(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).isoformat()


async def fetch_orders(client: ShopifyClient, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
    """Pages of orders changed in the cursor's window; ``next_token`` is the next page's ``page_info``.

    A malformed order is skipped (and logged with its id) so one bad record never stops the run.
    """
    settings = client.settings
    params = order_query(cursor, settings.page_size, settings.order_sort, settings.order_fields)
    async for items, next_token in client.pages("orders.json", "orders", params, cursor.resume_token):
        yield OrderPage(orders=_normalize_page(items), next_token=next_token)


def _normalize_page(items: list[JSON]) -> list[NormalizedOrder]:
    orders: list[NormalizedOrder] = []
    for item in items:
        try:
            orders.append(normalize_order(item))
        except InvalidRecord as exc:
            order_id = item.get("id") if isinstance(item, dict) else None
            log.warning("shopify.order_skipped", order_id=order_id, reason=exc.message)
    return orders

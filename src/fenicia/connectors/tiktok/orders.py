"""TikTok Shop orders → :class:`NormalizedOrder`, and the polling of ``POST /order/202309/orders/search``.

Status policy (channels.md §5.3):

========================================  =====================
TikTok ``status``                         Fenicia
========================================  =====================
``UNPAID``, ``ON_HOLD``                   pending (TikTok forbids fulfilling them)
``AWAITING_SHIPMENT``                     unshipped
``PARTIALLY_SHIPPING``                    partially_shipped
``AWAITING_COLLECTION``, ``IN_TRANSIT``   shipped (policy: a label created counts as shipped)
``DELIVERED``, ``COMPLETED``              delivered
``CANCELLED``                             cancelled
anything else                             pending (never ship what we do not understand; logged)
========================================  =====================

TikTok sends ONE line item per unit and no quantity (§5.2). Units of the same SKU (and gift flag) are
grouped into one of our lines: quantity = units, shipped/cancelled = units in those states, the line's
``channel_status`` rolls the units' ``display_status`` up, and its external id is derived from the
sorted unit ids, so it is stable for the life of the order. Write-backs re-read the order and map a
line back to its unit ids with :func:`unit_groups`.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import structlog

from fenicia.connectors.base import NormalizedLine, NormalizedOrder, NormalizedShipment, OrderCursor, OrderPage
from fenicia.connectors.fields import amount
from fenicia.connectors.tiktok.client import JSON, TikTokClient
from fenicia.core.errors import InvalidRecord, ValidationFailed
from fenicia.orders.models import OrderStatus

log = structlog.get_logger(__name__)

SEARCH_PATH = "/order/202309/orders/search"
DETAIL_PATH = "/order/202309/orders"
STATUS_MAP: dict[str, str] = {
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
SHIPPED_UNIT_STATUSES = frozenset({"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"})
SHIPPED_PACKAGE_STATUSES = frozenset({"PROCESSING", "FULFILLING", "COMPLETED"})
LINE_ID_MAX_CHARS = 100  # our order_lines.external_id column
ADDRESS_FIELDS = (
    "name",
    "phone_number",
    "full_address",
    "address_line1",
    "address_line2",
    "address_line3",
    "address_line4",
    "address_detail",
    "postal_code",
    "region_code",
    "district_info",
)
DEFAULT_SKU_NAMES = frozenset({"", "default", "par défaut", "default title"})


def map_status(status: str) -> str:
    """Our status for TikTok's order ``status``; unknown words map to pending (never shipped blindly)."""
    mapped = STATUS_MAP.get(status)
    if mapped is None:
        log.warning("tiktok.unknown_status", status=status)
        return OrderStatus.PENDING
    return mapped


def normalize_order(raw: Mapping[str, Any]) -> NormalizedOrder:
    """One order as Get Order Detail / Get Order List return it. Raises InvalidRecord naming the field."""
    if not isinstance(raw, Mapping):
        raise InvalidRecord("TikTok Shop order is not a JSON object")
    order_id = _required_str(raw, "id")
    status = _required_str(raw, "status")
    units = _units(raw)
    payment: Mapping[str, Any] = raw.get("payment") or {}
    if not isinstance(payment, Mapping):
        raise InvalidRecord("TikTok Shop order field 'payment' is not an object", field="payment")
    address = raw.get("recipient_address")
    return NormalizedOrder(
        external_id=order_id,
        number=order_id,
        status=map_status(status),
        channel_status=channel_status_text(raw),
        placed_at=_epoch(raw, "create_time"),
        updated_at=_epoch(raw, "update_time"),
        financial_status="unpaid" if status == "UNPAID" or not raw.get("paid_time") else "paid",
        cancelled_at=_optional_epoch(raw, "cancel_time") if status == "CANCELLED" else None,
        customer_name=_optional_str(address.get("name")) if isinstance(address, Mapping) else None,
        customer_email=_optional_str(raw.get("buyer_email")),
        shipping_address=_address(address),
        currency=_optional_str(payment.get("currency")),
        total=_money(payment.get("total_amount"), "payment.total_amount"),
        lines=[_line(group) for group in unit_groups(units)],
        shipments=_shipments(units),
        raw=dict(raw),
    )


def channel_status_text(raw: Mapping[str, Any]) -> str:
    """TikTok's words, e.g. ``AWAITING_SHIPMENT buyer_requested_cancel``."""
    parts = [str(raw.get("status"))]
    if raw.get("is_buyer_request_cancel"):
        parts.append("buyer_requested_cancel")
    if raw.get("status") == "CANCELLED" and raw.get("cancellation_initiator"):
        parts.append(f"cancelled_by={str(raw['cancellation_initiator']).lower()}")
    if raw.get("shipping_type"):
        parts.append(f"shipping={str(raw['shipping_type']).lower()}")
    return " ".join(parts)[:200]


@dataclass
class UnitGroup:
    """The units of one SKU in one order: what becomes one of our lines."""

    key: tuple[str, bool]
    units: list[JSON]

    @property
    def unit_ids(self) -> list[str]:
        return sorted((str(u["id"]) for u in self.units), key=lambda v: (len(v), v))

    @property
    def external_id(self) -> str:
        return line_external_id(self.unit_ids)

    def open_unit_ids(self) -> list[str]:
        """Units still waiting to be shipped (not cancelled, not in a shipped package)."""
        return [str(u["id"]) for u in sorted(self.units, key=_unit_sort_key) if unit_state(u) == "open"]


def line_external_id(unit_ids: list[str]) -> str:
    """``id1,id2,...`` (sorted) when it fits our column, else ``first..last#count`` (still deterministic)."""
    joined = ",".join(unit_ids)
    if len(joined) <= LINE_ID_MAX_CHARS:
        return joined
    return f"{unit_ids[0]}..{unit_ids[-1]}#{len(unit_ids)}"


def unit_groups(units: list[JSON]) -> list[UnitGroup]:
    """Units grouped by (SKU, gift flag), in the order the SKUs first appear."""
    groups: dict[tuple[str, bool], UnitGroup] = {}
    for unit in units:
        sku_key = str(unit.get("sku_id") or f"{unit.get('product_id')}:{unit.get('seller_sku')}")
        key = (sku_key, bool(unit.get("is_gift")))
        groups.setdefault(key, UnitGroup(key, [])).units.append(unit)
    return list(groups.values())


def unit_state(unit: Mapping[str, Any]) -> str:
    """``cancelled``, ``shipped`` or ``open`` for one unit (line item)."""
    if unit.get("display_status") == "CANCELLED" or unit.get("package_status") == "CANCELLED":
        return "cancelled"
    if unit.get("display_status") in SHIPPED_UNIT_STATUSES or unit.get("package_status") in SHIPPED_PACKAGE_STATUSES:
        return "shipped"
    return "open"


def order_units(raw: Mapping[str, Any]) -> list[JSON]:
    return _units(raw)


def _units(raw: Mapping[str, Any]) -> list[JSON]:
    items = raw.get("line_items")
    if not isinstance(items, list):
        raise InvalidRecord("TikTok Shop order field 'line_items' is missing or not a list", field="line_items")
    for item in items:
        if not isinstance(item, dict):
            raise InvalidRecord("TikTok Shop order has a line_items entry that is not an object")
        _required_str(item, "id", where="line_items")
    return items


def _line(group: UnitGroup) -> NormalizedLine:
    first = group.units[0]
    states = Counter(unit_state(u) for u in group.units)
    prices = [_money(u.get("sale_price"), "line_items.sale_price") for u in group.units]
    known = [p for p in prices if p is not None]
    return NormalizedLine(
        external_id=group.external_id,
        sku=_optional_str(first.get("seller_sku")),
        title=_title(first),
        quantity=len(group.units),
        unit_price=(sum(known, Decimal(0)) / len(known)).quantize(Decimal("0.01")) if known else None,
        shipped_quantity=states["shipped"],
        cancelled_quantity=states["cancelled"],
        channel_status=_rolled_up_status(group.units),
    )


def _rolled_up_status(units: list[JSON]) -> str | None:
    counts = Counter(str(u.get("display_status") or "UNKNOWN") for u in units)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{status} x{n}" for status, n in sorted(counts.items()))[:100]


def _title(unit: Mapping[str, Any]) -> str:
    name = str(unit.get("product_name") or "")
    variant = str(unit.get("sku_name") or "")
    if variant and variant.strip().lower() not in DEFAULT_SKU_NAMES:
        return f"{name} - {variant}"[:500]
    return name[:500]


def _shipments(units: list[JSON]) -> list[NormalizedShipment]:
    """One shipment per package that left (or is about to leave) the seller."""
    packages: dict[str, NormalizedShipment] = {}
    for unit in sorted(units, key=_unit_sort_key):
        package_id = unit.get("package_id")
        if not package_id or unit_state(unit) != "shipped" or str(package_id) in packages:
            continue
        packages[str(package_id)] = NormalizedShipment(
            external_id=str(package_id),
            carrier=_optional_str(unit.get("shipping_provider_name")),
            tracking_number=_optional_str(unit.get("tracking_number")),
            status=_optional_str(unit.get("package_status") or unit.get("display_status")),
        )
    return list(packages.values())


def _unit_sort_key(unit: Mapping[str, Any]) -> tuple[int, str]:
    text = str(unit.get("id"))
    return len(text), text


def _address(address: Any) -> dict[str, Any] | None:
    if not isinstance(address, Mapping):
        return None  # not available while UNPAID or ON_HOLD
    kept = {key: address[key] for key in ADDRESS_FIELDS if address.get(key) not in (None, "")}
    return kept or None


def _required_str(raw: Mapping[str, Any], field: str, where: str = "") -> str:
    value = raw.get(field)
    label = f"{where}.{field}" if where else field
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise InvalidRecord(f"TikTok Shop order is missing '{label}'", field=label)
    return str(value)


def _epoch(raw: Mapping[str, Any], field: str) -> datetime:
    moment = _optional_epoch(raw, field)
    if moment is None:
        raise InvalidRecord(f"TikTok Shop order is missing '{field}'", field=field)
    return moment


def _optional_epoch(raw: Mapping[str, Any], field: str) -> datetime | None:
    value = raw.get(field)
    if value in (None, "", 0):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidRecord(f"TikTok Shop order field '{field}' is not a Unix time: {value!r}", field=field)
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        raise InvalidRecord(f"TikTok Shop order field '{field}' is not a Unix time: {value!r}", field=field) from None


def _money(value: Any, label: str) -> Decimal | None:
    return amount(value, label, "TikTok Shop")


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


# --- polling -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchWindow:
    """The filter of one paged search; kept inside our resume token so a resumed run asks the same."""

    update_time_ge: int | None
    update_time_lt: int | None

    def body(self) -> JSON:
        body: JSON = {}
        if self.update_time_ge is not None:
            body["update_time_ge"] = self.update_time_ge
        if self.update_time_lt is not None:
            body["update_time_lt"] = self.update_time_lt
        return body


def window_of(cursor: OrderCursor) -> SearchWindow:
    """Epoch seconds; the lower bound rounds down and the upper bound up, so no second is lost."""
    after = cursor.updated_after
    before = cursor.updated_before
    ge = int(after.timestamp()) if after is not None else None
    lt = None
    if before is not None:
        stamp = before.timestamp()
        lt = int(stamp) if stamp == int(stamp) else int(stamp) + 1
    return SearchWindow(ge, lt)


def encode_resume(window: SearchWindow, page_token: str) -> str:
    data = {"ge": window.update_time_ge, "lt": window.update_time_lt, "t": page_token}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_resume(token: str) -> tuple[SearchWindow, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        window = SearchWindow(_opt_int(data["ge"]), _opt_int(data["lt"]))
        page_token = str(data["t"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed("The saved TikTok Shop page position cannot be read") from exc
    return window, page_token


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("not an int")
    return value


async def fetch_orders(client: TikTokClient, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
    """Pages of orders changed in the cursor's window, oldest change first; ``next_token`` resumes."""
    settings = client.settings
    if cursor.resume_token:
        window, page_token = decode_resume(cursor.resume_token)
    else:
        window, page_token = window_of(cursor), ""
    while True:
        query: dict[str, Any] = {
            "page_size": settings.page_size,
            "sort_field": settings.order_sort_field,
            "sort_order": settings.order_sort_order,
        }
        if page_token:
            query["page_token"] = page_token
        data = await client.post(SEARCH_PATH, window.body(), query, idempotent=True)
        orders, page_token = _search_page(data)
        yield OrderPage(normalize_page(orders), encode_resume(window, page_token) if page_token else None)
        if not page_token:
            return


def _search_page(data: Any) -> tuple[list[Any], str]:
    orders = data.get("orders") if isinstance(data, dict) else None
    if orders is None and isinstance(data, dict):
        orders = []  # TikTok leaves the list out when nothing matched [U]
    if not isinstance(orders, list):
        raise InvalidRecord("TikTok Shop's order search answer has no 'orders' list")
    return orders, str(data.get("next_page_token") or "") if isinstance(data, dict) else ""


def normalize_page(items: list[Any]) -> list[NormalizedOrder]:
    """A malformed order is skipped (and logged with its id) so one bad record never stops the run."""
    orders: list[NormalizedOrder] = []
    for item in items:
        try:
            orders.append(normalize_order(item))
        except InvalidRecord as exc:
            order_id = item.get("id") if isinstance(item, dict) else None
            log.warning("tiktok.order_skipped", order_id=order_id, reason=exc.message)
    return orders

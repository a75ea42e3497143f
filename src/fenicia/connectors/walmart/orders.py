"""Walmart purchase orders → :class:`NormalizedOrder`.

Walmart keeps status per order line, as a list of ``{status, statusQuantity}`` entries (one line of
3 units can be 1 Shipped + 2 Acknowledged). Quantities are strings, dates epoch milliseconds.
Units per line: open = Created + Acknowledged; shipped = Shipped + Delivered + Refund (Refund is a
post-shipment state); cancelled = Cancelled. The order's status comes from all its units, first
match wins (reference §4.3):

==========================================================  ===================
Units of all lines                                          Fenicia
==========================================================  ===================
every unit Cancelled                                        cancelled
nothing open, shipped units all Delivered/Refund, some      delivered
Delivered
nothing open (the rest Cancelled)                           shipped
some open, some Shipped/Delivered/Refund                    partially_shipped
otherwise (Created/Acknowledged, maybe some Cancelled)      unshipped  (Walmart orders are paid)
==========================================================  ===================

There is no pending state: Walmart only releases paid orders. An unknown status word counts as open
(never silently shipped) and is kept in ``channel_status``. A line the buyer asked to cancel carries
``intentToCancel``; it shows in ``channel_status`` so the merchant sees it before shipping.

Walmart orders carry no "last modified" field: ``updated_at`` is the latest of ``orderDate`` and the
lines' ``statusDate``. Shipments are the Shipped/Delivered/Refund entries grouped by ship time and
tracking number (see :func:`shipment_groups`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fenicia.connectors.base import NormalizedLine, NormalizedOrder, NormalizedShipment
from fenicia.connectors.fields import amount as parse_amount
from fenicia.core.errors import InvalidRecord
from fenicia.orders.models import OrderStatus

JSON = dict[str, Any]
OPEN_STATUSES = ("Created", "Acknowledged")
SHIPPED_STATUSES = ("Shipped", "Delivered", "Refund")
KNOWN_STATUSES = ("Created", "Acknowledged", "Shipped", "Delivered", "Cancelled", "Refund")
INTENT_TO_CANCEL = "intentToCancel"


@dataclass
class LineUnits:
    """Units of one line per Walmart status."""

    quantity: int
    by_status: dict[str, int] = field(default_factory=dict)

    def count(self, *statuses: str) -> int:
        return sum(self.by_status.get(s, 0) for s in statuses)

    @property
    def open(self) -> int:
        unknown = sum(n for s, n in self.by_status.items() if s not in KNOWN_STATUSES)
        return self.count(*OPEN_STATUSES) + unknown

    @property
    def shipped(self) -> int:
        return min(self.count(*SHIPPED_STATUSES), self.quantity)

    @property
    def cancelled(self) -> int:
        return min(self.count("Cancelled"), self.quantity - self.shipped)


def normalize_order(raw: Mapping[str, Any], *, charge_is_unit_price: bool = True) -> NormalizedOrder:
    """One purchase order (as in ``GET /v3/orders`` or ``/v3/orders/{id}``) in the common model.

    Raises :class:`InvalidRecord` naming the field when the order is malformed.
    """
    if not isinstance(raw, Mapping):
        raise InvalidRecord("Walmart order is not a JSON object")
    po = _required_str(raw, "purchaseOrderId")
    raw_lines = order_lines(raw)
    units = [line_units(line) for line in raw_lines]
    status = status_from_units(units)
    updated = updated_at(raw)
    return NormalizedOrder(
        external_id=po,
        number=po,
        status=status,
        channel_status=channel_status_text(raw_lines, units)[:200],
        placed_at=epoch_ms(raw.get("orderDate"), "orderDate"),
        updated_at=updated,
        financial_status=_financial_status(units),
        cancelled_at=updated if status == OrderStatus.CANCELLED else None,
        customer_name=_customer_name(raw),
        customer_email=_optional_str(raw.get("customerEmailId")),
        shipping_address=_address(raw),
        currency=_currency(raw, raw_lines),
        total=_total(raw, raw_lines, charge_is_unit_price),
        lines=[_line(line, u, charge_is_unit_price) for line, u in zip(raw_lines, units, strict=True)],
        shipments=[_shipment(group) for group in shipment_groups(raw_lines)],
        raw=dict(raw),
    )


def order_lines(raw: Mapping[str, Any]) -> list[JSON]:
    holder = raw.get("orderLines")
    lines = holder.get("orderLine") if isinstance(holder, Mapping) else None
    if not isinstance(lines, list) or not lines:
        raise InvalidRecord("Walmart order has no orderLines.orderLine list", field="orderLines")
    for line in lines:
        if not isinstance(line, Mapping):
            raise InvalidRecord("Walmart order has an orderLine that is not an object", field="orderLines")
    return lines


def line_statuses(line: Mapping[str, Any]) -> list[JSON]:
    holder = line.get("orderLineStatuses")
    entries = holder.get("orderLineStatus") if isinstance(holder, Mapping) else None
    if isinstance(entries, Mapping):
        entries = [entries]
    if not isinstance(entries, list) or not entries:
        raise InvalidRecord("Walmart order line has no orderLineStatuses", field="orderLineStatuses")
    return [e for e in entries if isinstance(e, dict)]


def line_units(line: Mapping[str, Any]) -> LineUnits:
    units = LineUnits(quantity=quantity_of(line.get("orderLineQuantity"), "orderLineQuantity.amount"))
    for entry in line_statuses(line):
        word = str(entry.get("status") or "Unknown")
        amount = quantity_of(entry.get("statusQuantity"), "statusQuantity.amount")
        units.by_status[word] = units.by_status.get(word, 0) + amount
    accounted = sum(units.by_status.values())
    if accounted < units.quantity:  # units no status entry mentions are still to be shipped
        units.by_status["Created"] = units.by_status.get("Created", 0) + units.quantity - accounted
    return units


def status_from_units(units: list[LineUnits]) -> str:
    """Our one status from every line's units (see the module docstring's table)."""
    total = sum(u.quantity for u in units)
    cancelled = sum(u.cancelled for u in units)
    open_units = sum(u.open for u in units)
    shipped = sum(u.shipped for u in units)
    if total > 0 and cancelled >= total:
        return OrderStatus.CANCELLED
    if open_units == 0 and shipped > 0:
        in_transit = sum(u.count("Shipped") for u in units)
        delivered = sum(u.count("Delivered") for u in units)
        return OrderStatus.DELIVERED if in_transit == 0 and delivered > 0 else OrderStatus.SHIPPED
    if open_units > 0 and shipped > 0:
        return OrderStatus.PARTIALLY_SHIPPED
    return OrderStatus.UNSHIPPED


def map_status(raw: Mapping[str, Any]) -> str:
    return status_from_units([line_units(line) for line in order_lines(raw)])


def channel_status_text(lines: list[JSON], units: list[LineUnits]) -> str:
    """Walmart's own words: ``Shipped`` when every unit agrees, else ``Acknowledged:2 Shipped:1``."""
    totals: dict[str, int] = {}
    for u in units:
        for word, amount in u.by_status.items():
            totals[word] = totals.get(word, 0) + amount
    text = _units_text(totals)
    if any(line.get(INTENT_TO_CANCEL) not in (None, "", False, "false", "NO", "No") for line in lines):
        text += f" {INTENT_TO_CANCEL}"
    return text


def _units_text(totals: dict[str, int]) -> str:
    words = [w for w in (*KNOWN_STATUSES, *sorted(set(totals) - set(KNOWN_STATUSES))) if totals.get(w)]
    if len(words) == 1:
        return words[0]
    return " ".join(f"{w}:{totals[w]}" for w in words) or "Unknown"


def updated_at(raw: Mapping[str, Any]) -> datetime:
    """The latest of orderDate and the lines' statusDate: Walmart's order has no modified time."""
    moments = [epoch_ms(raw.get("orderDate"), "orderDate")]
    for line in order_lines(raw):
        if line.get("statusDate") is not None:
            moments.append(epoch_ms(line.get("statusDate"), "orderLine.statusDate"))
    return max(moments)


def shipment_groups(lines: list[JSON]) -> list[dict[str, Any]]:
    """Shipped/Delivered/Refund entries grouped into packages: same ship time and tracking number.

    The id is the ship time in ms (what Fenicia sends when shipping, unique per order), with the
    tracking number appended only when two packages share a ship time. It survives a tracking update.
    """
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        for entry in line_statuses(line):
            info = entry.get("trackingInfo")
            if entry.get("status") not in SHIPPED_STATUSES or not isinstance(info, Mapping):
                continue
            key = (str(info.get("shipDateTime") or ""), str(info.get("trackingNumber") or ""))
            group = groups.setdefault(key, {"tracking": dict(info), "lines": [], "statuses": set()})
            group["lines"].append(str(line.get("lineNumber")))
            group["statuses"].add(str(entry.get("status")))
    times = [key[0] for key in groups]
    for (ship_time, number), group in groups.items():
        group["id"] = ship_time if times.count(ship_time) == 1 and ship_time else f"{ship_time}-{number}"
    return list(groups.values())


def _shipment(group: Mapping[str, Any]) -> NormalizedShipment:
    info = group["tracking"]
    statuses = group["statuses"]
    return NormalizedShipment(
        external_id=str(group["id"]),
        carrier=carrier_name(info),
        tracking_number=_optional_str(info.get("trackingNumber")),
        tracking_url=_optional_str(info.get("trackingURL")),
        status="delivered" if statuses == {"Delivered"} else "shipped",
    )


def carrier_name(info: Mapping[str, Any]) -> str | None:
    carrier = info.get("carrierName")
    if isinstance(carrier, Mapping):
        return _optional_str(carrier.get("carrier") or carrier.get("otherCarrier"))
    return _optional_str(carrier)


def _line(line: Mapping[str, Any], units: LineUnits, unit_prices: bool) -> NormalizedLine:
    item = line.get("item") if isinstance(line.get("item"), Mapping) else {}
    assert isinstance(item, Mapping)
    price = _product_charge(line)
    if price is not None and not unit_prices and units.quantity:
        price = price / units.quantity
    return NormalizedLine(
        external_id=_required_str(line, "lineNumber", where="orderLine"),
        sku=_optional_str(item.get("sku")),
        title=str(item.get("productName") or ""),
        quantity=units.quantity,
        unit_price=price,
        shipped_quantity=units.shipped,
        cancelled_quantity=units.cancelled,
        channel_status=channel_status_text([dict(line)], [units])[:100],
    )


def _charges(line: Mapping[str, Any]) -> list[JSON]:
    holder = line.get("charges")
    charges = holder.get("charge") if isinstance(holder, Mapping) else None
    return [c for c in charges if isinstance(c, dict)] if isinstance(charges, list) else []


def _product_charge(line: Mapping[str, Any]) -> Decimal | None:
    for charge in _charges(line):
        if charge.get("chargeType") == "PRODUCT":
            return money(charge.get("chargeAmount"), "chargeAmount.amount")
    return None


def _total(raw: Mapping[str, Any], lines: list[JSON], unit_prices: bool) -> Decimal | None:
    summary = raw.get("orderSummary")
    stated = summary.get("totalAmount") if isinstance(summary, Mapping) else None
    if isinstance(stated, Mapping) and stated.get("currencyAmount") is not None:
        return parse_amount(stated.get("currencyAmount"), "orderSummary.totalAmount.currencyAmount", "Walmart")
    total = Decimal(0)
    for line in lines:
        multiplier = quantity_of(line.get("orderLineQuantity"), "orderLineQuantity.amount") if unit_prices else 1
        for charge in _charges(line):
            value = money(charge.get("chargeAmount"), "chargeAmount.amount") or Decimal(0)
            tax = charge.get("tax")
            if isinstance(tax, Mapping):
                value += money(tax.get("taxAmount"), "taxAmount.amount") or Decimal(0)
            total += value * (multiplier if charge.get("chargeType") == "PRODUCT" else 1)
    return total


def _currency(raw: Mapping[str, Any], lines: list[JSON]) -> str | None:
    summary = raw.get("orderSummary")
    amount = summary.get("totalAmount") if isinstance(summary, Mapping) else None
    if isinstance(amount, Mapping) and amount.get("currencyUnit"):
        return str(amount["currencyUnit"])
    for line in lines:
        for charge in _charges(line):
            value = charge.get("chargeAmount")
            if isinstance(value, Mapping) and value.get("currency"):
                return str(value["currency"])
    return None


def _financial_status(units: list[LineUnits]) -> str | None:
    refunded = sum(u.count("Refund") for u in units)
    if not refunded:
        return None
    kept = sum(u.quantity - u.cancelled for u in units)
    return "refunded" if refunded >= kept else "partially_refunded"


def _shipping_info(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    info = raw.get("shippingInfo")
    return info if isinstance(info, Mapping) else {}


def _customer_name(raw: Mapping[str, Any]) -> str | None:
    address = _shipping_info(raw).get("postalAddress")
    return _optional_str(address.get("name")) if isinstance(address, Mapping) else None


def _address(raw: Mapping[str, Any]) -> dict[str, Any] | None:
    info = _shipping_info(raw)
    address = info.get("postalAddress")
    if not isinstance(address, Mapping):
        return None
    result = dict(address)
    if info.get("phone"):
        result["phone"] = info["phone"]
    return result


def quantity_of(value: Any, label: str) -> int:
    """Walmart quantities are ``{"unitOfMeasurement": "EACH", "amount": "2"}`` with a string amount."""
    amount = value.get("amount") if isinstance(value, Mapping) else None
    text = str(amount).strip() if amount is not None and not isinstance(amount, bool) else ""
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise InvalidRecord(f"Walmart order field '{label}' is not a quantity: {amount!r}", field=label) from None
    if not number.is_finite() or number < 0 or number != number.to_integral_value():
        raise InvalidRecord(f"Walmart order field '{label}' is not a whole quantity: {amount!r}", field=label)
    return int(number)


def money(value: Any, label: str) -> Decimal | None:
    return parse_amount(value.get("amount") if isinstance(value, Mapping) else None, label, "Walmart")


def epoch_ms(value: Any, label: str) -> datetime:
    """Walmart's epoch-millisecond dates (an ISO string is accepted too: one model declares it so)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000.0, tz=UTC)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit():
            return datetime.fromtimestamp(int(text) / 1000.0, tz=UTC)
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise InvalidRecord(f"Walmart order field '{label}' is not a date: {value!r}", field=label)


def to_epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _required_str(raw: Mapping[str, Any], field: str, where: str = "") -> str:
    value = raw.get(field)
    label = f"{where}.{field}" if where else field
    if isinstance(value, bool) or not isinstance(value, int | str) or str(value).strip() == "":
        raise InvalidRecord(f"Walmart record is missing '{label}'", field=label)
    return str(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)

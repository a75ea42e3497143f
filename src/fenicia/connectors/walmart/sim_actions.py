"""Seller actions on a simulated purchase order: acknowledge, ship (and re-track), cancel lines.

Each action validates the whole body first and changes nothing when any part is refused (400 in
Walmart's error shape), then applies every line at once. Rules follow the orders model: shipping
needs acknowledged units [C], complete ``trackingInfo`` with a known carrier or ``otherCarrier`` plus
``trackingURL``, ``intentToCancelOverride`` on lines the buyer asked to cancel; a tracking update names
the number it replaces in ``currentTrackingInfo``; cancellation reasons come from the enum and
CUSTOMER_REQUESTED_SELLER_TO_CANCEL is only for intent-to-cancel lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fenicia.connectors.walmart.settings import CANCEL_REASONS, METHOD_CODES
from fenicia.connectors.walmart.sim_models import OPEN, ApiError, SimLine, SimOrder, StatusEntry, bad_request
from fenicia.connectors.walmart.sim_store import WalmartStore
from fenicia.connectors.walmart.writeback import CARRIERS

TRACKING_FIELDS = ("shipDateTime", "carrierName", "methodCode", "trackingNumber")
SHIPPED = ("Shipped", "Delivered")


@dataclass
class Change:
    line: SimLine
    quantity: int
    tracking: dict[str, Any]
    current: str | None  # the tracking number being replaced (tracking update), else None
    override: bool = False


def acknowledge(store: WalmartStore, po: str) -> SimOrder:
    order = store.get(po)
    if not any(line.open for line in order.lines):
        raise bad_request("INVALID_REQUEST_CONTENT", f"Purchase order {po} has no line left to acknowledge")
    created = [line for line in order.lines if line.units("Created")]
    for line in created:
        units = line.units("Created")
        line.take_open(units, prefer=("Created",))
        line.add(StatusEntry("Acknowledged", units))
    if created:  # acknowledging twice changes nothing
        store.touch(order, *created)
    return order


def ship(store: WalmartStore, po: str, body: Any) -> SimOrder:
    order = store.get(po)
    changes = [change for entry in _lines(body, "orderShipment") for change in _ship_changes(store, order, entry)]
    _check_quantities(store, changes)
    for change in changes:
        if change.current is not None:
            _retrack(change)
        else:
            change.line.take_open(change.quantity, prefer=_shippable(store))
            change.line.add(StatusEntry("Shipped", change.quantity, dict(change.tracking)))
            change.line.intent_to_cancel = False
    store.touch(order, *{id(c.line): c.line for c in changes}.values())
    return order


def cancel(store: WalmartStore, po: str, body: Any) -> SimOrder:
    order = store.get(po)
    planned: list[tuple[SimLine, int, str]] = []
    for entry in _lines(body, "orderCancellation"):
        line = _line(order, entry)
        for status in _statuses(entry):
            if status.get("status") != "Cancelled":
                raise bad_request("INVALID_REQUEST_CONTENT", "orderLineStatus.status must be 'Cancelled'", "status")
            reason = _reason(store, line, status.get("cancellationReason"))
            planned.append((line, _units(status), reason))
    for line in {id(p[0]): p[0] for p in planned}.values():
        wanted = sum(q for ln, q, _ in planned if ln is line)
        if wanted > line.open:
            raise bad_request(
                "INVALID_REQUEST_CONTENT",
                f"Line {line.number}: cannot cancel {wanted} unit(s), {line.open} open (already shipped or cancelled)",
                "statusQuantity",
            )
    for line, units, reason in planned:
        line.take_open(units)
        line.add(StatusEntry("Cancelled", units, reason=reason))
        line.intent_to_cancel = False
    store.touch(order, *{id(p[0]): p[0] for p in planned}.values())
    return order


def _lines(body: Any, root: str) -> list[Mapping[str, Any]]:
    holder = body.get(root) if isinstance(body, Mapping) else None
    lines = holder.get("orderLines") if isinstance(holder, Mapping) else None
    entries = lines.get("orderLine") if isinstance(lines, Mapping) else None
    if not isinstance(entries, list) or not entries or not all(isinstance(e, Mapping) for e in entries):
        raise bad_request("MALFORMED_REQUEST_CONTENT", f"{root}.orderLines.orderLine must be a non-empty list", root)
    return entries


def _line(order: SimOrder, entry: Mapping[str, Any]) -> SimLine:
    number = str(entry.get("lineNumber") or "")
    for line in order.lines:
        if line.number == number:
            return line
    raise bad_request("INVALID_REQUEST_CONTENT", f"Purchase order {order.po} has no line '{number}'", "lineNumber")


def _statuses(entry: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    holder = entry.get("orderLineStatuses")
    statuses = holder.get("orderLineStatus") if isinstance(holder, Mapping) else None
    if not isinstance(statuses, list) or not statuses or not all(isinstance(s, Mapping) for s in statuses):
        raise bad_request("MALFORMED_REQUEST_CONTENT", "orderLineStatuses.orderLineStatus must be a list", "status")
    return statuses


def _units(status: Mapping[str, Any]) -> int:
    quantity = status.get("statusQuantity")
    amount = quantity.get("amount") if isinstance(quantity, Mapping) else None
    text = str(amount) if isinstance(amount, str | int) and not isinstance(amount, bool) else ""
    if not text.isdigit() or int(text) < 1:
        raise bad_request("INVALID_REQUEST_CONTENT", f"Invalid statusQuantity.amount: {amount!r}", "statusQuantity")
    return int(text)


def _ship_changes(store: WalmartStore, order: SimOrder, entry: Mapping[str, Any]) -> list[Change]:
    line = _line(order, entry)
    changes = []
    for status in _statuses(entry):
        if status.get("status") != "Shipped":
            raise bad_request("INVALID_REQUEST_CONTENT", "orderLineStatus.status must be 'Shipped'", "status")
        current = status.get("currentTrackingInfo")
        number = current.get("trackingNumber") if isinstance(current, Mapping) else None
        changes.append(
            Change(
                line,
                _units(status),
                _tracking(status.get("trackingInfo")),
                str(number) if number else None,
                bool(entry.get("intentToCancelOverride")),
            )
        )
    return changes


def _tracking(info: Any) -> dict[str, Any]:
    if not isinstance(info, Mapping):
        raise bad_request("INVALID_REQUEST_CONTENT", "trackingInfo is required to ship", "trackingInfo")
    missing = [name for name in TRACKING_FIELDS if info.get(name) in (None, "")]
    if missing:
        raise bad_request("INVALID_REQUEST_CONTENT", f"trackingInfo lacks {', '.join(missing)}", missing[0])
    carrier = info.get("carrierName")
    known = carrier.get("carrier") if isinstance(carrier, Mapping) else None
    other = carrier.get("otherCarrier") if isinstance(carrier, Mapping) else None
    if known is not None and known not in CARRIERS:
        raise bad_request("INVALID_REQUEST_CONTENT", f"Unknown carrier '{known}'; use otherCarrier", "carrier")
    if known is None and not other:
        raise bad_request("INVALID_REQUEST_CONTENT", "carrierName needs carrier or otherCarrier", "carrierName")
    if other and known is None and not info.get("trackingURL"):
        raise bad_request("INVALID_REQUEST_CONTENT", "trackingURL is mandatory with otherCarrier", "trackingURL")
    if info.get("methodCode") not in METHOD_CODES:
        raise bad_request("INVALID_REQUEST_CONTENT", f"Invalid methodCode {info.get('methodCode')!r}", "methodCode")
    if not isinstance(info.get("shipDateTime"), int) or isinstance(info.get("shipDateTime"), bool):
        raise bad_request("INVALID_REQUEST_CONTENT", "shipDateTime must be epoch milliseconds", "shipDateTime")
    return dict(info)


def _shippable(store: WalmartStore) -> tuple[str, ...]:
    return ("Acknowledged",) if store.config.require_acknowledge_before_ship else ("Acknowledged", "Created")


def _check_quantities(store: WalmartStore, changes: list[Change]) -> None:
    for line in {id(c.line): c.line for c in changes}.values():
        new = [c for c in changes if c.line is line and c.current is None]
        wanted = sum(c.quantity for c in new)
        allowed = line.units(*_shippable(store))
        if new and line.intent_to_cancel and not all(c.override for c in new):
            raise bad_request(
                "INVALID_REQUEST_CONTENT",
                f"Line {line.number}: the customer asked to cancel; send intentToCancelOverride=true to ship",
                "intentToCancelOverride",
            )
        if wanted > allowed:
            hint = " (not acknowledged)" if line.units("Created") and not line.units("Acknowledged") else ""
            raise bad_request(
                "INVALID_REQUEST_CONTENT",
                f"Line {line.number}: quantity {wanted} exceeds the quantity available to ship ({allowed}){hint}; "
                "the units are already shipped, cancelled or not acknowledged",
                "statusQuantity",
            )
        for change in [c for c in changes if c.line is line and c.current is not None]:
            if _shipped_with(line, change.current) < change.quantity:
                raise bad_request(
                    "INVALID_REQUEST_CONTENT",
                    f"Line {line.number}: no shipped units carry tracking number {change.current}",
                    "currentTrackingInfo",
                )


def _shipped_with(line: SimLine, number: str | None) -> int:
    return sum(
        e.quantity for e in line.statuses if e.status in SHIPPED and (e.tracking or {}).get("trackingNumber") == number
    )


def _retrack(change: Change) -> None:
    left = change.quantity
    for entry in change.line.statuses:
        if left and entry.status in SHIPPED and (entry.tracking or {}).get("trackingNumber") == change.current:
            entry.tracking = dict(change.tracking)
            left -= entry.quantity


def _reason(store: WalmartStore, line: SimLine, reason: Any) -> str:
    if reason not in CANCEL_REASONS:
        raise bad_request("INVALID_REQUEST_CONTENT", f"Invalid cancellationReason {reason!r}", "cancellationReason")
    strict = store.config.strict_customer_cancel_reason
    if strict and reason == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL" and not line.intent_to_cancel:
        raise bad_request(
            "INVALID_REQUEST_CONTENT",
            f"Line {line.number}: CUSTOMER_REQUESTED_SELLER_TO_CANCEL is only for lines the customer asked to cancel",
            "cancellationReason",
        )
    return str(reason)


__all__ = ["OPEN", "ApiError", "acknowledge", "cancel", "ship"]

"""Bodies and plans for Walmart's order write-backs: acknowledge, ship (per line), tracking update, cancel.

Pure functions over the order JSON; the connector does the calls. Shapes follow the orders model
(reference §4.4): ``orderShipment.orderLines.orderLine[].orderLineStatuses.orderLineStatus[]`` with
``trackingInfo`` {shipDateTime, carrierName {carrier | otherCarrier}, methodCode, trackingNumber,
trackingURL}; a tracking change re-posts the shipped lines with ``currentTrackingInfo`` naming the
number being replaced; a cancel lists lines with ``cancellationReason`` from Walmart's enum.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fenicia.connectors.walmart.orders import (
    INTENT_TO_CANCEL,
    JSON,
    line_statuses,
    line_units,
    order_lines,
    quantity_of,
    shipment_groups,
)
from fenicia.connectors.walmart.settings import CANCEL_REASONS, METHOD_CODES
from fenicia.core.errors import ConflictError, ValidationFailed

# Walmart's carrier enum (orders model, CarrierNameType.carrier); anything else goes as otherCarrier.
CARRIERS = (
    "UPS", "USPS", "FedEx", "Airborne", "OnTrac", "DHL Ecommerce - US", "DHL", "LS", "UDS", "UPSMI", "FDX", "PILOT",
    "ESTES", "SAIA", "FDS Express", "Seko Worldwide", "HIT Delivery", "FEDEXSP", "RL Carriers",
    "Metropolitan Warehouse & Delivery", "China Post", "YunExpress", "Yellow Freight Sys", "AIT Worldwide Logistics",
    "Chukou1", "Sendle", "Landmark Global", "Sunyou", "Yanwen", "4PX", "GLS", "OSM Worldwide", "FIRST MILE",
    "AM Trucking", "CEVA", "India Post", "SF Express", "CNE", "TForce Freight", "AxleHire", "LSO", "Royal Mail",
    "ABF Freight System", "WanB", "Roadrunner Freight", "Meyer Distribution", "AAA Cooper", "Canada Post",
    "Southeastern Freight Lines", "Japan Post", "Correos de Mexico", "XPO Logistics", "JD Logistics", "YDH", "JCEX",
    "Flyt", "Deutsche Post",
)  # fmt: skip
CARRIER_ALIASES = {
    **{name.lower(): name for name in CARRIERS},
    "fed ex": "FedEx",
    "federal express": "FedEx",
    "fedex smartpost": "FEDEXSP",
    "lasership": "LS",
    "ups mail innovations": "UPSMI",
    "dhl ecommerce": "DHL Ecommerce - US",
    "usps.com": "USPS",
}
# Fenicia's cancel reasons (CancelActionCreate) → Walmart's enum; None: the connection's default.
REASON_MAP: dict[str, str | None] = {
    "inventory": "SELLER_CANCEL_OUT_OF_STOCK",
    "fraud": "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
    "customer": None,  # only valid when the buyer asked Walmart to cancel (intentToCancel), see cancel_reason
    "declined": None,
    "other": None,
}
SELLER_ORDER_ID_MAX = 30


@dataclass
class LinePlan:
    line_number: str
    quantity: int


def carrier_field(carrier: str | None, tracking_url: str | None) -> dict[str, str]:
    """``{"carrier": "UPS"}`` for a carrier Walmart knows, else ``{"otherCarrier": ...}`` (needs a URL)."""
    name = (carrier or "").strip()
    if not name:
        raise ValidationFailed("Walmart needs the carrier's name to mark an order shipped.")
    known = CARRIER_ALIASES.get(name.lower())
    if known:
        return {"carrier": known}
    if not tracking_url:
        raise ValidationFailed(
            f"Walmart does not list the carrier '{name}': it then needs a tracking URL.",
            resolution="Add the tracking URL, or use one of Walmart's carriers (UPS, USPS, FedEx, DHL, ...).",
        )
    return {"otherCarrier": name}


def method_code(order: Mapping[str, Any], default: str) -> str:
    info = order.get("shippingInfo")
    code = info.get("methodCode") if isinstance(info, Mapping) else None
    return code if code in METHOD_CODES else default


def tracking_info(number: str, carrier: str | None, url: str | None, ship_ms: int, method: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "shipDateTime": ship_ms,
        "carrierName": carrier_field(carrier, url),
        "methodCode": method,
        "trackingNumber": number,
    }
    if url:
        info["trackingURL"] = url
    return info


def open_units(order: Mapping[str, Any]) -> dict[str, int]:
    """Units still to ship (Created + Acknowledged) per line number."""
    return {str(line.get("lineNumber")): line_units(line).open for line in order_lines(order)}


def created_units(order: Mapping[str, Any], lines: list[LinePlan]) -> int:
    planned = {plan.line_number for plan in lines}
    return sum(
        line_units(line).count("Created") for line in order_lines(order) if str(line.get("lineNumber")) in planned
    )


def plan_lines(order: Mapping[str, Any], wanted: dict[str, int] | None) -> list[LinePlan]:
    """What to ship or cancel: every open unit, or the given ``{line number: units}``.

    Raises ConflictError when a line asks for more units than are open, ValidationFailed for bad input.
    """
    available = open_units(order)
    if wanted is None:
        return [LinePlan(number, units) for number, units in available.items() if units > 0]
    plans = []
    for number, units in wanted.items():
        if number not in available:
            raise ValidationFailed(f"Walmart order has no line {number}")
        if units < 0:
            raise ValidationFailed(f"Quantity for line {number} cannot be negative")
        if units > available[number]:
            raise ConflictError(f"Walmart line {number} has {available[number]} unit(s) open, {units} requested")
        if units:
            plans.append(LinePlan(number, units))
    return plans


def intent_lines(order: Mapping[str, Any]) -> set[str]:
    """Lines the buyer asked Walmart to cancel."""
    return {
        str(line.get("lineNumber"))
        for line in order_lines(order)
        if line.get(INTENT_TO_CANCEL) not in (None, "", False, "false", "NO", "No")
    }


def _quantity(units: int) -> dict[str, str]:
    return {"unitOfMeasurement": "EACH", "amount": str(units)}


def seller_order_id(order: Mapping[str, Any]) -> str:
    return str(order.get("purchaseOrderId") or "")[:SELLER_ORDER_ID_MAX]


def shipping_body(order: Mapping[str, Any], plans: list[LinePlan], tracking: dict[str, Any]) -> JSON:
    """``POST /v3/orders/{id}/shipping``: the planned units Shipped with one tracking number."""
    intents = intent_lines(order)
    lines = [
        {
            "lineNumber": plan.line_number,
            "intentToCancelOverride": plan.line_number in intents,
            "sellerOrderId": seller_order_id(order),
            "orderLineStatuses": {
                "orderLineStatus": [
                    {"status": "Shipped", "statusQuantity": _quantity(plan.quantity), "trackingInfo": tracking}
                ]
            },
        }
        for plan in plans
    ]
    return {"orderShipment": {"orderLines": {"orderLine": lines}}}


def find_group(order: Mapping[str, Any], *, group_id: str | None = None, number: str | None = None) -> JSON | None:
    """A package (see ``orders.shipment_groups``) by id or tracking number; the latest when neither."""
    groups = shipment_groups(order_lines(order))
    for group in groups:
        if group_id is not None and group["id"] == group_id:
            return group
        if number is not None and group["tracking"].get("trackingNumber") == number:
            return group
    if group_id is None and number is None and groups:
        return max(groups, key=lambda g: _int(g["tracking"].get("shipDateTime")))
    return None


def unique_ship_time(order: Mapping[str, Any], now_ms: int) -> int:
    """Now, moved past any earlier package's ship time: the ship time is the package's id."""
    taken = {_int(g["tracking"].get("shipDateTime")) for g in shipment_groups(order_lines(order))}
    while now_ms in taken:
        now_ms += 1
    return now_ms


def tracking_update_body(order: Mapping[str, Any], group: Mapping[str, Any], new: dict[str, Any]) -> JSON:
    """Re-post the package's shipped units with new tracking; ``currentTrackingInfo`` names the old number."""
    old = group["tracking"].get("trackingNumber")
    lines = []
    for line in order_lines(order):
        units = _shipped_units_in(line, group)
        if units:
            lines.append(
                {
                    "lineNumber": str(line.get("lineNumber")),
                    "sellerOrderId": seller_order_id(order),
                    "orderLineStatuses": {
                        "orderLineStatus": [
                            {
                                "status": "Shipped",
                                "statusQuantity": _quantity(units),
                                "trackingInfo": new,
                                "currentTrackingInfo": {"trackingNumber": old},
                            }
                        ]
                    },
                }
            )
    return {"orderShipment": {"orderLines": {"orderLine": lines}}}


def _package_key(info: Mapping[str, Any]) -> tuple[str, str]:
    return str(info.get("shipDateTime") or ""), str(info.get("trackingNumber") or "")


def _shipped_units_in(line: Mapping[str, Any], group: Mapping[str, Any]) -> int:
    wanted = _package_key(group["tracking"])
    units = 0
    for entry in line_statuses(line):
        info = entry.get("trackingInfo")
        if isinstance(info, Mapping) and _package_key(info) == wanted:
            units += quantity_of(entry.get("statusQuantity"), "statusQuantity.amount")
    return units


def cancel_reason(reason: str | None, buyer_asked: bool, default: str) -> str:
    """Walmart's reason: the buyer's request when there is one; else Fenicia's reason mapped, else the default.

    Walmart accepts CUSTOMER_REQUESTED_SELLER_TO_CANCEL only for lines the buyer asked to cancel.
    """
    if buyer_asked:
        return "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
    word = (reason or "").strip()
    if word in CANCEL_REASONS and word != "CUSTOMER_REQUESTED_SELLER_TO_CANCEL":
        return word
    return REASON_MAP.get(word.lower()) or default


def cancel_body(plans: list[LinePlan], reason: str) -> JSON:
    lines = [
        {
            "lineNumber": plan.line_number,
            "orderLineStatuses": {
                "orderLineStatus": [
                    {"status": "Cancelled", "cancellationReason": reason, "statusQuantity": _quantity(plan.quantity)}
                ]
            },
        }
        for plan in plans
    ]
    return {"orderCancellation": {"orderLines": {"orderLine": lines}}}


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

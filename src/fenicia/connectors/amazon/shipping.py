"""Mark shipped: ``confirmShipment`` (``POST /orders/v0/orders/{orderId}/shipmentConfirmation``).

Amazon takes no idempotency key, so a retry must look before it acts: the order is read first
(getOrder + getOrderItems) and only the units Amazon still counts as unshipped are confirmed. When
nothing is left (our earlier attempt got through, or the seller shipped in Seller Central), the action
is done without a second confirmation. The package's ``packageReferenceId`` (a positive number unique
within the order) is derived from the action's idempotency key, so every attempt of one action uses
the same reference.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fenicia.connectors.amazon.client import JSON, AmazonClient
from fenicia.connectors.amazon.orders import CANCELLED_STATUSES, PAYMENT_PENDING_STATUSES, normalize_order
from fenicia.connectors.amazon.polling import order_items, order_json, order_path
from fenicia.connectors.base import RemoteResult, ShipRequest
from fenicia.core.errors import ConflictError, ValidationFailed

DIGITS = re.compile(r"\d+")
# [S] Amazon carrier codes (Seller Central's list is long; unlisted carriers go as "Other" + carrierName).
CARRIER_CODES = {
    code.lower(): code
    for code in (
        "USPS",
        "UPS",
        "UPS Mail Innovations",
        "FedEx",
        "FedEx SmartPost",
        "DHL",
        "DHL eCommerce",
        "OnTrac",
        "Amazon Shipping",
        "Royal Mail",
        "Parcelforce",
        "Canada Post",
        "Deutsche Post",
        "DPD",
        "Hermes",
        "GLS",
        "La Poste",
        "Colissimo",
        "Chronopost",
        "Poste Italiane",
        "SEUR",
        "Correos",
        "Japan Post",
        "Yamato Transport",
        "Sagawa Express",
        "Australia Post",
        "India Post",
        "Blue Dart",
    )
}


def package_reference(idempotency_key: str) -> str:
    """A positive numeric packageReferenceId, the same for every attempt of one action."""
    digits = "".join(DIGITS.findall(idempotency_key)).lstrip("0")
    if digits and len(digits) <= 18:
        return digits
    return str(int(hashlib.sha256(idempotency_key.encode()).hexdigest()[:15], 16) + 1)


def carrier_fields(carrier: str | None) -> dict[str, str]:
    name = (carrier or "").strip()
    code = CARRIER_CODES.get(name.lower())
    if code is not None:
        return {"carrierCode": code}
    if not name:
        raise ValidationFailed("Amazon needs the carrier to confirm a shipment")
    return {"carrierCode": "Other", "carrierName": name}


def units_to_ship(items: list[Any], wanted: dict[str, int] | None) -> list[JSON]:
    """``orderItems`` of the confirmation: what is still unshipped, limited to ``wanted`` if given.

    Raises ConflictError when a line asks for more units than Amazon has left unshipped, unless
    nothing at all is left of the asked lines (the earlier attempt of this action shipped them).
    """
    remaining = {str(i.get("OrderItemId")): _left(i) for i in items if isinstance(i, Mapping)}
    if wanted is None:
        return [{"orderItemId": key, "quantity": left} for key, left in remaining.items() if left > 0]
    for key, quantity in wanted.items():
        if quantity < 0 or key not in remaining:
            raise ValidationFailed(f"Line {key} is not an item of this Amazon order (or its quantity is negative)")
    if all(remaining[key] == 0 for key in wanted):
        return []
    too_many = {key: qty for key, qty in wanted.items() if qty > remaining[key]}
    if too_many:
        detail = ", ".join(f"line {key}: {qty} asked, {remaining[key]} left" for key, qty in too_many.items())
        raise ConflictError(
            f"Amazon has fewer units left to ship than requested ({detail})",
            resolution="Ship only the units Amazon still lists as unshipped.",
        )
    return [{"orderItemId": key, "quantity": qty} for key, qty in wanted.items() if qty > 0]


def _left(item: Mapping[str, Any]) -> int:
    ordered, shipped = item.get("QuantityOrdered"), item.get("QuantityShipped") or 0
    if not isinstance(ordered, int) or not isinstance(shipped, int):
        return 0
    return max(ordered - shipped, 0)


def refuse_unshippable(order: Mapping[str, Any]) -> None:
    order_id, status = order.get("AmazonOrderId"), order.get("OrderStatus")
    if status in CANCELLED_STATUSES:
        raise ConflictError(
            f"Amazon order {order_id} is {status} and cannot be shipped",
            resolution="Nothing to ship: the order was cancelled on Amazon.",
        )
    if status in PAYMENT_PENDING_STATUSES:
        raise ConflictError(
            f"Amazon has not authorized the payment of order {order_id} yet ({status})",
            resolution="Wait until Amazon shows the order as Unshipped, then ship it.",
        )
    if order.get("FulfillmentChannel") == "AFN":
        raise ConflictError(
            f"Amazon order {order_id} is fulfilled by Amazon (FBA): Amazon ships it",
            resolution="Nothing to do: Amazon ships FBA orders itself.",
        )


def confirmation_body(
    order: Mapping[str, Any], request: ShipRequest, lines: list[JSON], marketplace: str, supply_source: str | None
) -> JSON:
    if not request.tracking_number:
        raise ValidationFailed("Amazon needs a tracking number to confirm a shipment")
    package: JSON = {
        "packageReferenceId": package_reference(request.idempotency_key),
        **carrier_fields(request.carrier),
        "trackingNumber": request.tracking_number,
        "shipDate": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "orderItems": lines,
    }
    if supply_source:
        package["shipFromSupplySourceId"] = supply_source
    return {"marketplaceId": str(order.get("MarketplaceId") or marketplace), "packageDetail": package}


async def confirm_shipment(client: AmazonClient, order_id: str, request: ShipRequest) -> RemoteResult:
    """Confirms what is left to ship of the order; a repeated request confirms nothing twice."""
    order = await order_json(client, order_id)
    items = await order_items(client, order_id)
    if not items:
        raise ConflictError(
            f"Amazon lists no items for order {order_id}; there is nothing to ship",
            resolution="Check the order in Seller Central.",
        )
    reference = package_reference(request.idempotency_key)
    lines = units_to_ship(items, request.lines)
    if not lines and order.get("OrderStatus") not in CANCELLED_STATUSES:
        return RemoteResult(
            remote_id=reference,
            order=normalize_order(order, items),
            message="Already shipped on Amazon; no second shipment confirmation was sent",
        )
    refuse_unshippable(order)
    settings = client.settings
    body = confirmation_body(order, request, lines, settings.marketplace_ids[0], settings.ship_from_supply_source_id)
    await client.call(
        "confirmShipment", "POST", order_path(order_id, "/shipmentConfirmation"), json=body, idempotent=False
    )
    return RemoteResult(remote_id=reference, message=f"Shipment confirmed on Amazon (package {reference})")

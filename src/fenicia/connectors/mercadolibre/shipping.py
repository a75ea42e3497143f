"""Write-backs to MercadoLibre: mark shipped, tracking and cancel, each depending on the order's shipping mode.

* ME1 and custom shipping (the seller ships): tracking with ``PUT /shipments/{id}`` ``{tracking_number,
  service_id}``, then ``POST /shipments/{id}/seller_notifications`` with ``status: shipped`` (channels.md
  §3.4; custom shipping through the same endpoints is [U]).
* me2 (Mercado Envíos): ML prints the label and reports shipping and tracking itself; marking shipped or
  writing tracking is refused with :class:`UnsupportedOperation` naming the mode.
* Cancel: ML has no order-cancel call; the seller's route is sale feedback ``fulfilled: false`` with a
  reason (``POST /orders/{id}/feedback``). Whether me2 sales may be cancelled that way is [U]
  (``cancel_me2_via_feedback``).

Never twice: each write first reads the order and its shipment; a shipment already shipped (an earlier
attempt whose answer was lost) or an order already cancelled is reported as done instead of sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fenicia.connectors.base import RemoteResult, ShipRequest, TrackingRequest
from fenicia.connectors.mercadolibre.client import JSON, NEW_SHIPMENT_FORMAT, MercadoLibreClient
from fenicia.connectors.mercadolibre.orders import (
    CANCELLED_ORDER_STATUSES,
    MANAGED_MODE,
    SHIPPED_SHIPMENT_STATUSES,
    normalize_order,
    shipment_of,
    shipping_mode,
)
from fenicia.connectors.mercadolibre.settings import MercadoLibreSettings
from fenicia.core.clock import utcnow
from fenicia.core.errors import ConflictError, TransientError, UnsupportedOperation, ValidationFailed

DONE_SHIPMENT_STATUSES = SHIPPED_SHIPMENT_STATUSES | {"delivered"}
CANCEL_REASONS = {
    "customer": "BUYER_REGRETS",
    "inventory": "OUT_OF_STOCK",
    "fraud": "DUBIOUS_BUYER",
    "declined": "BUYER_NOT_ENOUGH_MONEY",
    "other": "OTHER_MY_RESPONSIBILITY",
}
FEEDBACK_MESSAGE_MAX = 159
ME2_REASON = (
    "MercadoLibre handles shipping for Mercado Envíos (me2) orders: it prints the label and reports the "
    "shipment and its tracking itself. Ship it with ML's label; Fenicia picks up the status."
)
NO_SHIPMENT_REASON = (
    "This MercadoLibre order has no shipment (delivery agreed with the buyer), so there is nothing to mark "
    "or track in MercadoLibre."
)
ACTION_WORDS = {"ship": "Marking as shipped", "tracking": "Adding tracking", "cancel": "Cancelling"}


def order_blockers(raw: Mapping[str, Any], cancel_me2: bool = True) -> dict[str, str]:
    """Per-order reasons an action cannot be done, from the stored raw order (for the dashboard and API)."""
    shipment = shipment_of(raw)
    mode = shipping_mode(raw, shipment)
    blockers: dict[str, str] = {}
    if mode == MANAGED_MODE:
        blockers["ship"] = blockers["tracking"] = ME2_REASON
        if not cancel_me2:
            blockers["cancel"] = "Cancel Mercado Envíos (me2) sales in MercadoLibre's seller center."
    elif shipment is None:
        blockers["ship"] = blockers["tracking"] = NO_SHIPMENT_REASON
    return blockers


async def fetch_bundle(client: MercadoLibreClient, order_id: str) -> JSON:
    """``/orders/{id}`` with its shipment under ``"shipment"`` (None when it has none)."""
    order = await client.get(f"/orders/{numeric_id(order_id, 'order')}")
    if not isinstance(order, dict):
        raise TransientError("MercadoLibre's order answer is not an object")
    shipping = order.get("shipping")
    shipment_id = shipping.get("id") if isinstance(shipping, Mapping) else None
    shipment = None
    if shipment_id not in (None, "", 0):
        shipment = await client.get(f"/shipments/{shipment_id}", headers=NEW_SHIPMENT_FORMAT)
    return {**order, "shipment": shipment if isinstance(shipment, dict) else None}


def self_managed_shipment(raw: Mapping[str, Any], kind: str) -> JSON:
    """The shipment the seller manages (ME1/custom), or UnsupportedOperation with the mode's reason."""
    reason = order_blockers(raw).get(kind)
    if reason is not None:
        raise UnsupportedOperation(f"{ACTION_WORDS[kind]} is not available for this order: {reason}")
    shipment = shipment_of(raw)
    assert shipment is not None  # order_blockers refuses orders without one
    return shipment


async def mark_shipped(
    client: MercadoLibreClient, settings: MercadoLibreSettings, order_id: str, request: ShipRequest
) -> RemoteResult:
    raw = await fetch_bundle(client, order_id)
    shipment = self_managed_shipment(raw, "ship")
    shipment_id = str(shipment.get("id"))
    status = str(shipment.get("status") or "")
    if status in DONE_SHIPMENT_STATUSES:  # an earlier attempt got through
        return RemoteResult(
            remote_id=shipment_id,
            order=normalize_order(raw),
            message=f"Already {status} in MercadoLibre; nothing new was sent",
        )
    _refuse_closed(raw, status, "shipped")
    tracking = request.tracking_number or _optional(shipment.get("tracking_number"))
    if not tracking:
        raise ValidationFailed("MercadoLibre needs a tracking number before an ME1 shipment is marked shipped")
    if tracking != shipment.get("tracking_number"):
        await client.put(f"/shipments/{shipment_id}", _tracking_body(settings, tracking))
    body = {
        "payload": {**_service(settings), "comment": f"fenicia:{request.idempotency_key}", "date": _now_ml()},
        "tracking_number": tracking,
        "tracking_url": request.tracking_url,
        "status": "shipped",
        "substatus": None,
    }
    await client.post(f"/shipments/{shipment_id}/seller_notifications", body)
    return RemoteResult(
        remote_id=shipment_id, message=f"Marked shipped in MercadoLibre ({shipping_mode(raw, shipment)})"
    )


async def update_tracking(
    client: MercadoLibreClient, settings: MercadoLibreSettings, order_id: str, request: TrackingRequest
) -> RemoteResult:
    raw = await fetch_bundle(client, order_id)
    shipment = self_managed_shipment(raw, "tracking")
    shipment_id = str(shipment.get("id"))
    _refuse_closed(raw, str(shipment.get("status") or ""), "tracked")
    if shipment.get("tracking_number") != request.tracking_number:
        await client.put(f"/shipments/{shipment_id}", _tracking_body(settings, request.tracking_number))
    return RemoteResult(remote_id=shipment_id, message="Tracking updated in MercadoLibre")


async def cancel_order(
    client: MercadoLibreClient, settings: MercadoLibreSettings, order_id: str, reason: str | None
) -> RemoteResult:
    raw = await fetch_bundle(client, order_id)
    if str(raw.get("status")) in CANCELLED_ORDER_STATUSES:
        return RemoteResult(remote_id=order_id, order=normalize_order(raw), message="Already cancelled in MercadoLibre")
    blocked = order_blockers(raw, settings.cancel_me2_via_feedback).get("cancel")
    if blocked is not None:
        raise UnsupportedOperation(f"Cancelling is not available for this order: {blocked}")
    shipment = shipment_of(raw) or {}
    if str(shipment.get("status") or "") in DONE_SHIPMENT_STATUSES:
        raise ConflictError("The MercadoLibre order has shipped already and cannot be cancelled")
    code = CANCEL_REASONS.get((reason or "").strip().lower(), CANCEL_REASONS["other"])
    body = {
        "fulfilled": False,
        "rating": "neutral",
        "message": f"Sale cancelled by the seller ({code.replace('_', ' ').lower()})."[:FEEDBACK_MESSAGE_MAX],
        "reason": code,
        "restock_item": settings.cancel_restock_items,
    }
    await client.post(f"/orders/{raw.get('id')}/feedback", body)
    return RemoteResult(remote_id=order_id, message=f"Cancelled in MercadoLibre through sale feedback ({code})")


def _refuse_closed(raw: Mapping[str, Any], shipment_status: str, what: str) -> None:
    if str(raw.get("status")) in CANCELLED_ORDER_STATUSES or shipment_status == "cancelled":
        raise ConflictError(f"The MercadoLibre order is cancelled and cannot be {what}")
    if shipment_status == "pending":
        raise ConflictError(f"The MercadoLibre order is not paid yet, so it cannot be {what}")


def _tracking_body(settings: MercadoLibreSettings, tracking: str) -> JSON:
    return {**_service(settings), "tracking_number": tracking}


def _service(settings: MercadoLibreSettings) -> JSON:
    return {} if settings.me1_service_id is None else {"service_id": settings.me1_service_id}


def _now_ml() -> str:
    """Now as ML writes dates: milliseconds and an offset."""
    now = utcnow()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00"


def _optional(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def numeric_id(value: str, kind: str) -> str:
    """ML order and shipment ids are integers; anything else is refused before it reaches a URL path."""
    if not value.isdigit():
        raise ValidationFailed(f"{value!r} is not a MercadoLibre {kind} id")
    return value

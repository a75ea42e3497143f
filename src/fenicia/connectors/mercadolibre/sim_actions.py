"""What sellers and buyers do to orders, shipments and items in the simulator, with ML's rules.

Seller side (API): tracking (``PUT /shipments/{id}``), shipped/delivered notices
(``POST /shipments/{id}/seller_notifications``), sale feedback (``POST /orders/{id}/feedback``, which
cancels with ``fulfilled: false``) and stock (``PUT /items/{id}``). Buyer and platform side (control
API and generator): pay, cancel, change the delivery address, and me2 logistics moving on.
"""

from __future__ import annotations

from typing import Any

from fenicia.connectors.mercadolibre.sim_models import ApiError, Item, Order, Shipment, bad_request
from fenicia.connectors.mercadolibre.sim_seed import new_address
from fenicia.connectors.mercadolibre.sim_store import PAID_STATUSES, MercadoLibreStore, refresh_item_status

FEEDBACK_REASONS = frozenset(
    {
        "OUT_OF_STOCK",
        "BUYER_NOT_ENOUGH_MONEY",
        "BUYER_REGRETS",
        "SELLER_REGRETS",
        "BUYER_DID_NOT_ANSWER",
        "THEY_NOT_HONORING_POLICIES",
        "OTHER_MY_RESPONSIBILITY",
        "OTHER_THEIR_RESPONSIBILITY",
        "DUBIOUS_BUYER",
        "HIGH_ML_COMISSION",
        "HIGH_TAXES",
        "SELLER_HOLIDAY",
        "UNFRIENDLY_SHIPMENT_POLICY",
    }
)
SHIPPED_STATUSES = frozenset({"shipped", "delivered", "not_delivered"})
SHIPMENT_STATUSES = frozenset(
    {"pending", "handling", "ready_to_ship", "shipped", "delivered", "not_delivered", "cancelled"}
)


def _not_in_status(shipment: Shipment) -> ApiError:
    return bad_request(f"Shipment {shipment.id}: operation not allowed in status {shipment.status}", "bad_request")


def _seller_managed(store: MercadoLibreStore, shipment: Shipment) -> None:
    if shipment.mode == "me2" or (shipment.mode == "custom" and not store.config.custom_accepts_me1_endpoints):
        raise bad_request(
            f"Shipment {shipment.id} is shipped by Mercado Envíos ({shipment.mode}): the seller cannot change it",
            "invalid_shipping_mode",
        )


def set_tracking(store: MercadoLibreStore, shipment_id: int, body: Any) -> Shipment:
    """``PUT /shipments/{id}`` ``{"tracking_number", "service_id"?}`` (ME1/custom)."""
    shipment = store.shipment(shipment_id)
    _seller_managed(store, shipment)
    if not isinstance(body, dict) or not isinstance(body.get("tracking_number"), str) or not body["tracking_number"]:
        raise bad_request("tracking_number is required", cause=[{"code": "tracking_number.required"}])
    editable = {"handling", "ready_to_ship"} | (
        SHIPPED_STATUSES if store.config.tracking_editable_after_shipped else set()
    )
    if shipment.status not in editable:
        raise _not_in_status(shipment)
    shipment.tracking_number = body["tracking_number"]
    if isinstance(body.get("service_id"), int):
        shipment.service_id = body["service_id"]
    store.touch_shipment(shipment)
    return shipment


def seller_notification(store: MercadoLibreStore, shipment_id: int, body: Any) -> Shipment:
    """``POST /shipments/{id}/seller_notifications``: the seller reports shipped, delivered or not delivered."""
    shipment = store.shipment(shipment_id)
    _seller_managed(store, shipment)
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    status = body.get("status")
    tracking = body.get("tracking_number") or shipment.tracking_number
    if status == "shipped":
        if shipment.status in SHIPPED_STATUSES:
            raise bad_request(f"Shipment {shipment.id} is already {shipment.status}")
        if shipment.status not in ("handling", "ready_to_ship"):
            raise _not_in_status(shipment)
        if not tracking:
            raise bad_request("The tracking number must be informed before the shipment is shipped")
        shipment.tracking_number = str(tracking)
        store.touch_shipment(shipment, "shipped", None)
    elif status in ("delivered", "not_delivered"):
        if shipment.status != "shipped":
            raise _not_in_status(shipment)
        substatus = None if status == "delivered" else "returning_to_sender"
        store.touch_shipment(shipment, str(status), substatus)
    else:
        raise bad_request("status must be shipped, delivered or not_delivered")
    return shipment


def sale_feedback(store: MercadoLibreStore, order_id: int, body: Any) -> dict[str, Any]:
    """``POST /orders/{id}/feedback``: ``fulfilled: false`` cancels the sale; ``true`` + positive closes it."""
    order = store.order(order_id)
    if not isinstance(body, dict) or not isinstance(body.get("fulfilled"), bool):
        raise bad_request("fulfilled is required", cause=[{"code": "fulfilled.required"}])
    if order.feedback_sale is not None:
        raise bad_request(f"Feedback already exists for order {order.id}")
    message = body.get("message") or ""
    if not isinstance(message, str) or len(message) >= 160:
        raise bad_request("message must be text of fewer than 160 characters")
    shipment = store.shipment_of(order)
    if body["fulfilled"]:
        _fulfilled(store, order, shipment, body)
    else:
        _not_fulfilled(store, order, shipment, body)
    order.feedback_sale = {
        "id": store.ids.next("payment"),
        "fulfilled": body["fulfilled"],
        "rating": body.get("rating"),
        "reason": body.get("reason"),
        "message": message,
        "date_created": store.clock.iso(store.clock.now()),
    }
    store.touch_order(order)
    return dict(order.feedback_sale)


def _fulfilled(store: MercadoLibreStore, order: Order, shipment: Shipment | None, body: dict[str, Any]) -> None:
    if body.get("rating") != "positive":
        raise bad_request("rating must be positive when fulfilled is true")
    if shipment is not None:
        _seller_managed(store, shipment)
        if shipment.status != "shipped":
            raise _not_in_status(shipment)
        store.touch_shipment(shipment, "delivered", None)


def _not_fulfilled(store: MercadoLibreStore, order: Order, shipment: Shipment | None, body: dict[str, Any]) -> None:
    if body.get("rating") not in ("negative", "neutral"):
        raise bad_request("rating must be negative or neutral when fulfilled is false")
    if body.get("reason") not in FEEDBACK_REASONS:
        raise bad_request("reason is required when fulfilled is false", cause=[{"code": "reason.invalid"}])
    if order.status in ("cancelled", "invalid"):
        raise bad_request(f"Order {order.id} is already cancelled")
    if shipment is not None and shipment.status in SHIPPED_STATUSES:
        raise bad_request(f"Order {order.id} cannot be cancelled: it was already {shipment.status}")
    if shipment is not None and shipment.mode == "me2" and not store.config.feedback_cancel_me2_allowed:
        raise bad_request(f"Order {order.id} ships with Mercado Envíos: cancel it from the seller center")
    cancel(store, order, "seller", str(body["reason"]), restock=bool(body.get("restock_item")))


def cancel(store: MercadoLibreStore, order: Order, by: str, code: str, *, restock: bool = True) -> None:
    """The sale is cancelled (by the buyer, the seller or ML): order, shipment and stock follow."""
    order.status = "cancelled"
    order.cancel_detail = {
        "group": by,
        "code": code,
        "description": f"Cancelled by the {by}",
        "requested_by": by,
        "date": store.clock.iso(store.clock.now()),
        "application_id": None,
    }
    if restock:
        store.return_stock(order)
    shipment = store.shipment_of(order)
    if shipment is not None and shipment.status != "cancelled":
        store.touch_shipment(shipment, "cancelled", None)
    store.touch_order(order)


def buyer_cancel(store: MercadoLibreStore, order_id: int, reason: str = "BUYER_REGRETS") -> Order:
    order = store.order(order_id)
    if order.status in ("cancelled", "invalid"):
        raise bad_request(f"Order {order.id} is already cancelled")
    shipment = store.shipment_of(order)
    if shipment is not None and shipment.status in SHIPPED_STATUSES:
        raise bad_request(f"Order {order.id} was already {shipment.status}")
    cancel(store, order, "buyer", reason)
    return order


def buyer_edit(store: MercadoLibreStore, order_id: int, changes: dict[str, Any]) -> Order:
    """The buyer changes the delivery address (``address`` fields, or a new random one)."""
    order = store.order(order_id)
    shipment = store.shipment_of(order)
    if shipment is None or shipment.status in SHIPPED_STATUSES | {"cancelled"}:
        raise bad_request(f"Order {order.id} has no open shipment whose address could change")
    address = new_address(store.rng)
    for key, value in dict(changes.get("address") or {}).items():
        if hasattr(address, key):
            setattr(address, key, str(value))
    shipment.address = address
    if changes.get("receiver_name"):
        shipment.receiver_name = str(changes["receiver_name"])
    store.touch_shipment(shipment)
    return order


def pay(store: MercadoLibreStore, order_id: int) -> Order:
    order = store.order(order_id)
    if order.status in PAID_STATUSES or order.status in ("cancelled", "invalid"):
        raise bad_request(f"Order {order.id} cannot be paid in status {order.status}")
    order.status, order.date_closed = "paid", store.clock.now()
    order.tags.append("paid")
    shipment = store.shipment_of(order)
    if shipment is not None and shipment.status == "pending":
        store.touch_shipment(shipment, "ready_to_ship", "ready_to_print" if shipment.mode == "me2" else None)
    store.touch_order(order)
    return order


def logistics(store: MercadoLibreStore, shipment_id: int, status: str, substatus: str | None = None) -> Shipment:
    """ML's side moves a shipment on (any mode: this is the platform, not the seller's API)."""
    if status not in SHIPMENT_STATUSES:
        raise bad_request(f"status must be one of {sorted(SHIPMENT_STATUSES)}")
    shipment = store.shipment(shipment_id)
    if status in ("shipped", "delivered") and not shipment.tracking_number:
        shipment.tracking_number = f"BR{store.ids.next('tracking')}ML"
    store.touch_shipment(shipment, status, substatus)
    return shipment


def put_item(store: MercadoLibreStore, item_id: str, body: Any) -> Item:
    """``PUT /items/{id}``: ``available_quantity`` of a plain item, or ``variations`` of one that has them."""
    item = store.item(item_id)
    if not isinstance(body, dict):
        raise bad_request("body must be a JSON object")
    if item.status == "closed":
        raise bad_request(f"Item {item.id} cannot be modified in status closed", "validation_error")
    if "variations" in body:
        _put_variations(store, item, body["variations"])
    elif "available_quantity" in body:
        if item.variations:
            raise bad_request(
                f"Item {item.id} has variations: set each variation's available_quantity", "validation_error"
            )
        item.available_quantity = _quantity(body["available_quantity"])
    refresh_item_status(item)
    item.last_updated = store.clock.tick()
    store.sink("items", f"/items/{item.id}")
    return item


def _put_variations(store: MercadoLibreStore, item: Item, entries: Any) -> None:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise bad_request("variations must be a list of objects", "validation_error")
    by_id = {v.id: v for v in item.variations}
    for entry in entries:
        if entry.get("id") not in by_id:
            raise bad_request(f"Item {item.id} has no variation {entry.get('id')}", "validation_error")
    for entry in entries:
        if "available_quantity" in entry:
            by_id[entry["id"]].available_quantity = _quantity(entry["available_quantity"])
    if store.config.variations_put_replaces:
        listed = {entry["id"] for entry in entries}
        item.variations = [v for v in item.variations if v.id in listed]
    item.available_quantity = item.total_quantity()


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_request(f"available_quantity must be a whole number >= 0, got {value!r}", "validation_error")
    return value

"""What sellers, buyers and carriers do to orders in the simulated shop, with TikTok's rules (§5.4).

Seller calls: ship a package, mark units shipped as a new package, update a package's tracking, cancel.
Buyer and carrier events (from the control API or the generator): cancel or request to cancel, change
the address, pay / release a hold, collection, delivery, completion. Each change moves ``update_time``
and is announced (ORDER_STATUS_CHANGE, CANCELLATION_STATUS_CHANGE, RECIPIENT_ADDRESS_UPDATE, PACKAGE_UPDATE).
"""

from __future__ import annotations

from typing import Any

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok.sim_config import SELLER_REASONS_PAID, SELLER_REASONS_UNPAID
from fenicia.connectors.tiktok.sim_models import JSON, Cancellation, Order, SimError, Unit, bad_parameter
from fenicia.connectors.tiktok.sim_render import render_package
from fenicia.connectors.tiktok.sim_seed import DELIVERY_OPTIONS
from fenicia.connectors.tiktok.sim_store import (
    CANCELLATION_STATUS_CHANGE,
    PACKAGE_UPDATE,
    RECIPIENT_ADDRESS_UPDATE,
    ShopStore,
)

SHIPPABLE_ORDER_STATUSES = frozenset({"AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"})
CANCELLABLE_ORDER_STATUSES = frozenset({"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"})
SHIPPED_PACKAGE_STATUSES = frozenset({"PROCESSING", "FULFILLING", "COMPLETED"})
CARRIER_STEPS = {"IN_TRANSIT": "FULFILLING", "DELIVERED": "COMPLETED", "COMPLETED": "COMPLETED"}


def providers_of(delivery_option_id: str) -> list[JSON]:
    option = DELIVERY_OPTIONS.get(delivery_option_id)
    if option is None:
        raise bad_parameter(f"delivery_option_id {delivery_option_id} is invalid")
    return [{"id": pid, "name": name} for pid, name in option[1]]


def _provider_name(order: Order, provider_id: Any) -> str:
    for provider in providers_of(order.delivery_option_id):
        if provider["id"] == str(provider_id):
            return str(provider["name"])
    raise SimError(codes.INVALID_SHIPPING_PROVIDER, f"shipping_provider_id {provider_id} is not valid for this order.")


def _require_shippable(order: Order) -> None:
    if order.status not in SHIPPABLE_ORDER_STATUSES:
        raise SimError(codes.ORDER_STATUS_FORBIDS, f"Order status {order.status} does not allow shipping.")


def _tracking(body: Any, where: str) -> tuple[str, str]:
    if not isinstance(body, dict) or not body.get("tracking_number") or not body.get("shipping_provider_id"):
        raise bad_parameter(f"{where}tracking_number and shipping_provider_id are required")
    return str(body["tracking_number"]), str(body["shipping_provider_id"])


def ship_package(store: ShopStore, package_id: str, body: Any) -> JSON:
    """POST /fulfillment/202309/packages/{package_id}/ship."""
    order = store.order_of_package(package_id)
    _require_shippable(order)
    units = [u for u in order.package_units(package_id) if u.display_status != "CANCELLED"]
    if not units or any(u.package_status != "TO_FULFILL" for u in units):
        raise SimError(codes.PACKAGE_ALREADY_SHIPPED, f"Package {package_id} has already been shipped.")
    if not isinstance(body, dict):
        raise bad_parameter("The request body must be a JSON object")
    if order.shipping_type == "SELLER":
        number, provider_id = _tracking(body.get("self_shipment"), "self_shipment.")
        name = _provider_name(order, provider_id)
    else:
        if body.get("handover_method") not in ("PICKUP", "DROP_OFF"):
            raise bad_parameter("handover_method must be PICKUP or DROP_OFF")
        option = DELIVERY_OPTIONS[order.delivery_option_id][1][0]
        number, provider_id, name = f"TT{package_id[-10:]}", option[0], option[1]
    _ship_units(store, order, units, package_id, number, (provider_id, name))
    return {}


def mark_package_shipped(store: ShopStore, order_id: str, body: Any) -> JSON:
    """POST /fulfillment/202309/orders/{order_id}/packages: the given units leave as a new package."""
    order = store.get(order_id)
    _require_shippable(order)
    if order.shipping_type != "SELLER":
        raise SimError(codes.ORDER_STATUS_FORBIDS, "Only seller-shipped orders can be marked as shipped.")
    number, provider_id = _tracking(body, "")
    name = _provider_name(order, provider_id)
    wanted = body.get("order_line_item_ids") or [u.id for u in order.units if u.open]
    if not isinstance(wanted, list) or not all(isinstance(i, str) for i in wanted):
        raise bad_parameter("order_line_item_ids must be a list of strings")
    units = [order.unit(unit_id) for unit_id in wanted]
    if not units or any(u is None or not u.open for u in units):
        raise SimError(codes.LINE_ITEMS_NOT_SHIPPABLE, "Some line items are cancelled, shipped or unknown.")
    package_id = store.ids.package.next()
    store.package_orders[package_id] = order.id
    chosen = [u for u in units if u is not None]
    _ship_units(store, order, chosen, package_id, number, (provider_id, name))
    return {"order_id": order.id, "order_line_item_ids": wanted, "package_id": package_id, "warning": {"message": ""}}


def _ship_units(
    store: ShopStore, order: Order, units: list[Unit], package_id: str, number: str, provider: tuple[str, str]
) -> None:
    now = store.clock.next_after(order.update_time)
    status = store.config.seller_shipped_status
    for unit in units:
        unit.package_id, unit.package_status, unit.display_status = package_id, "PROCESSING", status
        unit.tracking_number = number
        unit.shipping_provider_id, unit.shipping_provider_name = provider
        unit.rts_time = now
    order.rts_time = now
    left_open = any(u.open for u in order.units)
    store.touch(order, "PARTIALLY_SHIPPING" if left_open else status)
    store.sink.emit(PACKAGE_UPDATE, {"order_id": order.id, "package_id": package_id, "update_time": order.update_time})


def update_package_shipping_info(store: ShopStore, package_id: str, body: Any) -> JSON:
    """POST /fulfillment/202309/packages/{package_id}/shipping_info/update (seller-shipped, shipped)."""
    order = store.order_of_package(package_id)
    number, provider_id = _tracking(body, "")
    units = order.package_units(package_id)
    shipped = [u for u in units if u.package_status in SHIPPED_PACKAGE_STATUSES]
    if order.shipping_type != "SELLER" or not shipped:
        raise SimError(codes.TRACKING_NOT_UPDATABLE, "Only shipped, seller-shipped packages take new tracking.")
    name = _provider_name(order, provider_id)
    for unit in shipped:
        unit.tracking_number, unit.shipping_provider_id, unit.shipping_provider_name = number, provider_id, name
    store.touch(order)
    store.sink.emit(PACKAGE_UPDATE, {"order_id": order.id, "package_id": package_id, "update_time": order.update_time})
    return {}


def update_order_shipping_info(store: ShopStore, order_id: str, body: Any) -> JSON:
    """POST /fulfillment/202309/orders/{order_id}/shipping_info/update: the order's one shipped package."""
    order = store.get(order_id)
    shipped = {u.package_id for u in order.units if u.package_id and u.package_status in SHIPPED_PACKAGE_STATUSES}
    if len(shipped) != 1:
        raise SimError(codes.TRACKING_NOT_UPDATABLE, "The order must have exactly one shipped package.")
    return update_package_shipping_info(store, shipped.pop(), body)


def package_detail(store: ShopStore, package_id: str) -> JSON:
    return render_package(store.order_of_package(package_id), package_id)


def seller_cancel(store: ShopStore, body: Any) -> JSON:
    """POST /return_refund/202309/cancellations: the seller cancels the order, or some of its units."""
    if not isinstance(body, dict) or not body.get("order_id") or not body.get("cancel_reason"):
        raise bad_parameter("order_id and cancel_reason are required")
    order = store.get(str(body["order_id"]))
    if order.status not in CANCELLABLE_ORDER_STATUSES:
        raise SimError(codes.CANCEL_NOT_ALLOWED, f"Order status {order.status} does not allow a seller cancellation.")
    reasons = SELLER_REASONS_UNPAID if order.status == "UNPAID" else SELLER_REASONS_PAID
    if body["cancel_reason"] not in reasons:
        raise SimError(codes.INVALID_CANCEL_REASON, f"cancel_reason {body['cancel_reason']} is not valid here.")
    units = _units_to_cancel(store, order, body.get("order_line_item_ids"))
    cancellation = _cancel_units(store, order, units, "SELLER", str(body["cancel_reason"]))
    return {"cancel_id": cancellation.id, "cancel_status": cancellation.status}


def _units_to_cancel(store: ShopStore, order: Order, ids: Any) -> list[Unit]:
    if not ids:
        return order.live_units()
    if not store.config.partial_cancel_allowed:
        raise SimError(codes.CANCEL_NOT_ALLOWED, "Partial cancellation is not available in this market.")
    units = [order.unit(str(i)) for i in ids] if isinstance(ids, list) else [None]
    if any(u is None or not u.open for u in units):
        raise bad_parameter("order_line_item_ids must name open line items of the order")
    return [u for u in units if u is not None]


def _cancel_units(store: ShopStore, order: Order, units: list[Unit], role: str, reason: str) -> Cancellation:
    for unit in units:
        unit.display_status, unit.cancel_user, unit.cancel_reason = "CANCELLED", role, reason
        if unit.package_status == "TO_FULFILL":
            unit.package_status = "CANCELLED"
    cancellation = Cancellation(
        store.ids.cancel.next(), order.id, role, "CANCELLATION_REQUEST_COMPLETE", reason, store.clock.now()
    )
    cancellation.unit_ids = [u.id for u in units]
    store.cancellations[cancellation.id] = cancellation
    order.is_buyer_request_cancel = False
    if not order.live_units():
        order.cancel_time, order.cancel_reason, order.cancellation_initiator = store.clock.now(), reason, role
        store.touch(order, "CANCELLED")
    else:
        store.touch(order)
    _announce_cancellation(store, order, cancellation)
    return cancellation


def _announce_cancellation(store: ShopStore, order: Order, cancellation: Cancellation) -> None:
    data = {
        "order_id": order.id,
        "cancellations_role": cancellation.role,
        "cancel_status": cancellation.status,
        "cancel_id": cancellation.id,
        "update_time": order.update_time,
    }
    store.sink.emit(CANCELLATION_STATUS_CHANGE, data)


def buyer_cancel(store: ShopStore, order_id: str, reason: str, request_only: bool) -> Order:
    """The buyer cancels (before shipping), or only asks the seller to (``request_only``)."""
    order = store.get(order_id)
    if order.status not in CANCELLABLE_ORDER_STATUSES:
        raise SimError(codes.CANCEL_NOT_ALLOWED, f"Order status {order.status} cannot be cancelled by the buyer.")
    if not request_only:
        _cancel_units(store, order, order.live_units(), "BUYER", reason)
        return order
    order.is_buyer_request_cancel, order.request_cancel_time = True, store.clock.now()
    store.touch(order)
    pending = Cancellation(store.ids.cancel.next(), order.id, "BUYER", "CANCELLATION_REQUEST_PENDING", reason, 0)
    store.cancellations[pending.id] = pending
    _announce_cancellation(store, order, pending)
    return order


def buyer_edit(store: ShopStore, order_id: str, changes: Any) -> Order:
    """The buyer changes the recipient address (RECIPIENT_ADDRESS_UPDATE) or the note."""
    order = store.get(order_id)
    if not isinstance(changes, dict) or not changes:
        raise ValueError("changes must be a non-empty object (recipient_address, buyer_message)")
    if order.status not in CANCELLABLE_ORDER_STATUSES:
        raise SimError(codes.ORDER_STATUS_FORBIDS, f"Order status {order.status} no longer allows address changes.")
    address = changes.get("recipient_address")
    if address is not None:
        if not isinstance(address, dict):
            raise ValueError("recipient_address must be an object")
        order.address = {**order.address, **address}
    if "buyer_message" in changes:
        order.buyer_message = str(changes["buyer_message"])
    if store.config.address_update_bumps_update_time:
        store.touch(order)
    if address is not None:
        store.sink.emit(RECIPIENT_ADDRESS_UPDATE, {"order_id": order.id, "update_time": order.update_time})
    return order


def advance(store: ShopStore, order_id: str, to: str) -> Order:
    """Payment / hold release (→ AWAITING_SHIPMENT) or a carrier step (IN_TRANSIT, DELIVERED, COMPLETED)."""
    order = store.get(order_id)
    if to == "AWAITING_SHIPMENT":
        if order.status not in ("UNPAID", "ON_HOLD"):
            raise ValueError(f"order is {order.status}, not UNPAID or ON_HOLD")
        order.paid_time = order.paid_time or store.clock.now()
        for unit in order.live_units():
            unit.display_status = to
        store.touch(order, to)
        return order
    if to not in CARRIER_STEPS:
        raise ValueError("to must be AWAITING_SHIPMENT, IN_TRANSIT, DELIVERED or COMPLETED")
    shipped = [u for u in order.live_units() if u.package_status in SHIPPED_PACKAGE_STATUSES]
    if not shipped:
        raise ValueError("nothing of this order has been shipped")
    for unit in shipped:
        unit.display_status, unit.package_status = to, CARRIER_STEPS[to]
    if to == "IN_TRANSIT":
        order.collection_time = store.clock.now()
    elif to == "DELIVERED":
        order.delivery_time = store.clock.now()
    store.touch(order, to if not any(u.open for u in order.units) else "PARTIALLY_SHIPPING")
    return order

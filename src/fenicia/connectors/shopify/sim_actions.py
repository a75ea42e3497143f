"""Order actions: fulfil, update tracking, cancel a fulfillment, cancel an order, customer edits.

Each validates first (raising `ApiError` before changing anything), then mutates, bumps
`updated_at` and emits the webhooks Shopify would send, in Shopify's order.
"""

from __future__ import annotations

from typing import Any

from fenicia.connectors.shopify.sim_config import CANCEL_REASONS
from fenicia.connectors.shopify.sim_models import (
    ApiError,
    Fulfillment,
    LineItem,
    Order,
    fulfillment_order_status,
    missing_parameter,
    unprocessable,
)
from fenicia.connectors.shopify.sim_render import JSON, render_fulfillment
from fenicia.connectors.shopify.sim_store import ShopStore

PAID_STATES = frozenset({"paid", "partially_refunded", "refunded"})
# [U] what a cancellation does to the payment state when the caller sends no refund details.
CANCEL_FINANCIAL = {
    "pending": "voided",
    "authorized": "voided",
    "partially_paid": "refunded",
    "paid": "refunded",
}


def _root(payload: Any, key: str) -> dict[str, Any]:
    body = payload.get(key) if isinstance(payload, dict) else None
    if not isinstance(body, dict):
        raise missing_parameter(key)
    return body


def _tracking(info: Any) -> tuple[str | None, list[str], list[str]]:
    if not isinstance(info, dict):
        return None, [], []
    numbers = [str(n) for n in info.get("numbers") or ([info["number"]] if info.get("number") else [])]
    urls = [str(u) for u in info.get("urls") or ([info["url"]] if info.get("url") else [])]
    return info.get("company"), numbers, urls


# -- fulfil -----------------------------------------------------------------------------------


def _requested_units(store: ShopStore, groups: Any) -> tuple[Order, int, dict[int, int]]:
    """Validate `line_items_by_fulfillment_order`; returns (order, FO id, line id -> units)."""
    if not isinstance(groups, list) or not groups:
        raise unprocessable("line_items_by_fulfillment_order must contain at least one entry")
    order: Order | None = None
    units: dict[int, int] = {}
    for group in groups:
        fo_id = group.get("fulfillment_order_id") if isinstance(group, dict) else None
        if not isinstance(fo_id, int) or fo_id not in store.fulfillment_orders:
            raise ApiError(404, "Not Found")  # [U] status for an unknown fulfillment order
        owner = store.fulfillment_orders[fo_id]
        if order is not None and owner is not order:
            raise unprocessable("All fulfillment orders must belong to the same order.")
        order = owner
        status = fulfillment_order_status(owner)
        if status not in ("open", "in_progress"):
            raise unprocessable(f"Fulfillment order {fo_id} has an unfulfillable status= {status}.")
        _add_group_units(owner, fo_id, group.get("fulfillment_order_line_items"), units)
    assert order is not None
    return order, order.fulfillment_orders[0].id, units


def _add_group_units(order: Order, fo_id: int, lines: Any, units: dict[int, int]) -> None:
    fo = next(fo for fo in order.fulfillment_orders if fo.id == fo_id)
    by_fo_line = {fo_line: li_id for li_id, fo_line in fo.line_ids.items()}
    if not lines:  # omitted: the whole fulfillment order
        for li in order.line_items:
            if li.id in fo.line_ids and li.fulfillable(False) > 0:
                units[li.id] = units.get(li.id, 0) + li.fulfillable(False)
        return
    for item in lines:
        fo_line_id = item.get("id") if isinstance(item, dict) else None
        li_id = by_fo_line.get(fo_line_id) if isinstance(fo_line_id, int) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if li_id is None or not isinstance(quantity, int) or quantity < 1:
            raise unprocessable("Invalid fulfillment order line item id or quantity.")
        units[li_id] = units.get(li_id, 0) + quantity


def create_fulfillment(store: ShopStore, payload: Any) -> tuple[Order, Fulfillment]:
    body = _root(payload, "fulfillment")
    order, fo_id, units = _requested_units(store, body.get("line_items_by_fulfillment_order"))
    for li_id, quantity in units.items():
        line = order.line(li_id)
        if line is None or quantity > line.fulfillable(order.cancelled):
            raise unprocessable("Invalid fulfillment order line item quantity requested.")
    if not units:
        raise unprocessable("The fulfillment order has no fulfillable line items.")
    company, numbers, urls = _tracking(body.get("tracking_info"))
    now = store.touch(order)
    fulfillment = Fulfillment(
        store.ids.next("fulfillment"),
        order.id,
        fo_id,
        f"{order.name}.{len(order.fulfillments) + 1}",
        order.fulfillment_orders[0].location_id,
        now,
        now,
        units,
        company,
        numbers,
        urls,
        notify_customer=bool(body.get("notify_customer")),
    )
    _apply_units(store, order, units, +1)
    order.fulfillments.append(fulfillment)
    store.fulfillments[fulfillment.id] = order
    _after_fulfillment_change(store, order, now)
    store.emit_payload("fulfillments/create", render_fulfillment(fulfillment, order, store.clock.iso), order.id)
    topic = "orders/fulfilled" if order.fulfillment_status == "fulfilled" else "orders/partially_fulfilled"
    store.emit(topic, order)
    store.emit("orders/updated", order)
    return order, fulfillment


def _apply_units(store: ShopStore, order: Order, units: dict[int, int], sign: int) -> None:
    """Fulfil (sign +1) or un-fulfil (-1) units; when orders commit stock, fulfilled units leave it."""
    location_id = order.fulfillment_orders[0].location_id
    for li_id, quantity in units.items():
        line = order.line(li_id)
        if line is None:
            continue
        line.fulfilled = max(line.fulfilled + sign * quantity, 0)
        if store.config.decrement_inventory_on_order and line.inventory_item_id is not None:
            store.ship(line.inventory_item_id, location_id, sign * quantity)


def _after_fulfillment_change(store: ShopStore, order: Order, now: float) -> None:
    """Keep fulfillment order timestamps and the shop's auto-archive rule in step."""
    order.fulfillment_orders[0].updated_at = now
    archive = (
        store.config.archive_on_fulfill
        and order.fulfillment_status == "fulfilled"
        and order.financial_status in PAID_STATES
    )
    if archive and order.closed_at is None:
        order.closed_at = now
    elif not archive and not order.cancelled:
        order.closed_at = None


def update_tracking(store: ShopStore, fulfillment_id: int, payload: Any) -> tuple[Order, Fulfillment]:
    order, fulfillment = store.get_fulfillment(fulfillment_id)
    body = _root(payload, "fulfillment")
    if not isinstance(body.get("tracking_info"), dict):
        raise missing_parameter("tracking_info")
    if fulfillment.status != "success":
        raise unprocessable(f"Cannot update tracking of a {fulfillment.status} fulfillment.")
    company, numbers, urls = _tracking(body["tracking_info"])
    fulfillment.tracking_company = company or fulfillment.tracking_company
    fulfillment.tracking_numbers, fulfillment.tracking_urls = numbers, urls
    fulfillment.notify_customer = bool(body.get("notify_customer"))
    fulfillment.updated_at = store.touch(order)
    store.emit_payload("fulfillments/update", render_fulfillment(fulfillment, order, store.clock.iso), order.id)
    store.emit("orders/updated", order)
    return order, fulfillment


def cancel_fulfillment(store: ShopStore, fulfillment_id: int) -> tuple[Order, Fulfillment]:
    order, fulfillment = store.get_fulfillment(fulfillment_id)
    if fulfillment.status != "success":
        raise unprocessable("Fulfillment is already cancelled.")
    fulfillment.status = "cancelled"
    _apply_units(store, order, fulfillment.quantities, -1)
    now = store.touch(order)
    fulfillment.updated_at = now
    _after_fulfillment_change(store, order, now)
    store.emit_payload("fulfillments/update", render_fulfillment(fulfillment, order, store.clock.iso), order.id)
    store.emit("orders/updated", order)
    return order, fulfillment


# -- cancel -----------------------------------------------------------------------------------


def cancel_order(store: ShopStore, order_id: int, params: dict[str, Any]) -> Order:
    """POST orders/{id}/cancel.json: closes the order; 422 if cancelled or (partly) fulfilled."""
    order = store.get_order(order_id)
    if order.cancelled:
        raise unprocessable("Order has already been cancelled")  # [U] exact text
    if order.active_fulfillments() and not store.config.cancel_with_fulfillments_allowed:
        raise unprocessable("Cannot cancel an order that has fulfillments")  # [U] exact text
    reason = str(params.get("reason") or "other")
    if reason not in CANCEL_REASONS:
        raise ApiError(422, {"reason": ["is not included in the list"]})
    if params.get("restock"):
        store.move_stock(order, +1)
    elif store.config.decrement_inventory_on_order:
        store.release_stock(order)
    now = store.touch(order)
    order.cancelled_at, order.cancel_reason, order.closed_at = now, reason, now
    order.financial_status = CANCEL_FINANCIAL.get(order.financial_status, order.financial_status)
    order.fulfillment_orders[0].updated_at = now
    store.emit("orders/cancelled", order)
    store.emit("orders/updated", order)
    return order


# -- customer edits ---------------------------------------------------------------------------


def edit_order(store: ShopStore, order_id: int, changes: dict[str, Any]) -> Order:
    """A customer's edit: `line_items` [{line_item_id, quantity}], `add_line_items` [{sku,
    quantity, price?}], `shipping_address` {...}. Fires orders/edited then orders/updated."""
    order = store.get_order(order_id)
    if order.cancelled:
        raise unprocessable("A cancelled order cannot be edited")
    updates = _quantity_updates(order, changes.get("line_items") or [])
    additions = [store.new_line(dict(spec)) for spec in changes.get("add_line_items") or []]
    address = changes.get("shipping_address")
    if not updates and not additions and not isinstance(address, dict):
        raise unprocessable("Nothing to edit: give line_items, add_line_items or shipping_address")
    deltas = _apply_quantities(store, order, updates)
    for line in additions:
        order.line_items.append(line)
        store.add_line_to_fulfillment_order(order, line)
        deltas.append((line, line.quantity))
        if store.config.decrement_inventory_on_order:
            store.move_stock(order, -1, [line])
    if isinstance(address, dict):
        order.shipping_address = {**order.shipping_address, **address}
    now = store.touch(order)
    _after_fulfillment_change(store, order, now)
    store.emit_payload("orders/edited", _edited_payload(store, order, deltas, now), order.id)
    store.emit("orders/updated", order)
    return order


def _quantity_updates(order: Order, items: list[Any]) -> list[tuple[LineItem, int]]:
    updates = []
    for item in items:
        line_id = item.get("line_item_id") if isinstance(item, dict) else None
        line = order.line(line_id) if isinstance(line_id, int) else None
        quantity = item.get("quantity") if isinstance(item, dict) else None
        if line is None or not isinstance(quantity, int) or quantity < 0:
            raise unprocessable("line_items entries need a known line_item_id and quantity >= 0")
        if quantity < line.fulfilled:
            raise unprocessable(f"Line item {line.id} has {line.fulfilled} units fulfilled already")
        updates.append((line, quantity))
    return updates


def _apply_quantities(
    store: ShopStore, order: Order, updates: list[tuple[LineItem, int]]
) -> list[tuple[LineItem, int]]:
    deltas = []
    for line, quantity in updates:
        delta = quantity - line.current_quantity
        if delta == 0:
            continue
        if store.config.decrement_inventory_on_order and line.inventory_item_id is not None:
            store.commit(line.inventory_item_id, order.fulfillment_orders[0].location_id, delta)
        if delta > 0:
            line.quantity += delta
        else:
            line.removed -= delta
        deltas.append((line, delta))
    return deltas


def _edited_payload(store: ShopStore, order: Order, deltas: list[tuple[LineItem, int]], now: float) -> JSON:
    if store.config.orders_edited_payload == "order":
        return store.render(order)
    return {  # [U] the shape of Shopify's orders/edited payload
        "order_edit": {
            "id": store.ids.next("order_edit"),
            "app_id": None,
            "created_at": store.clock.iso(now),
            "committed_at": store.clock.iso(now),
            "notify_customer": False,
            "order_id": order.id,
            "staff_note": "",
            "user_id": None,
            "line_items": {
                "additions": [{"id": li.id, "delta": d} for li, d in deltas if d > 0],
                "removals": [{"id": li.id, "delta": -d} for li, d in deltas if d < 0],
            },
        }
    }

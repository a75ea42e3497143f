"""State of the simulated seller account: catalog, orders and shipments, and how they come to be.

Every change goes through ``touch_*`` (so ``last_updated`` only moves forward, at millisecond
precision) and ``changed`` (which tells the notifier: topic + resource, ML's pointer).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig
from fenicia.connectors.mercadolibre.sim_models import (
    ApiError,
    Item,
    Order,
    OrderItem,
    Shipment,
    SimClock,
    bad_request,
    not_found,
)
from fenicia.connectors.mercadolibre.sim_seed import (
    LOGISTIC_TYPES,
    Ids,
    build_catalog,
    new_address,
    new_buyer,
    pick_mode,
)

EventSink = Callable[[str, str], None]  # (topic, resource)
ORDER_STATUSES = frozenset(
    {
        "confirmed",
        "payment_required",
        "payment_in_process",
        "partially_paid",
        "paid",
        "partially_refunded",
        "pending_cancel",
        "cancelled",
        "invalid",
    }
)
SHIPPING_MODES = frozenset({"me2", "me1", "custom"})
PAID_STATUSES = frozenset({"paid", "partially_refunded"})
SORT_KEYS = {"last_updated", "date_created"}


class MercadoLibreStore:
    def __init__(self, config: MercadoLibreSimConfig, clock: SimClock, sink: EventSink) -> None:
        self.config = config
        self.clock = clock
        self.sink = sink
        self.ids = Ids(config.seed)
        self.rng = random.Random(f"{config.seed}:store")
        self.items: dict[str, Item] = build_catalog(config, self.ids, clock.tick())
        self.orders: dict[int, Order] = {}
        self.shipments: dict[int, Shipment] = {}

    # -- lookups ------------------------------------------------------------------------------------

    def order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found(f"Order {order_id}")
        return order

    def shipment(self, shipment_id: int) -> Shipment:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            raise not_found(f"Shipment {shipment_id}")
        return shipment

    def item(self, item_id: str) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise not_found(f"Item {item_id}")
        return item

    def order_of(self, shipment: Shipment) -> Order:
        return self.order(shipment.order_id)

    def shipment_of(self, order: Order) -> Shipment | None:
        return self.shipments.get(order.shipment_id) if order.shipment_id is not None else None

    def delivered(self, order: Order) -> bool:
        shipment = self.shipment_of(order)
        return shipment is not None and shipment.status == "delivered"

    def search(self, flt: dict[str, Any]) -> list[Order]:
        """Orders matching the search filters, sorted (``sort``: date_asc | date_desc; ties by id)."""
        key = self.config.search_sort_field if self.config.search_sort_field in SORT_KEYS else "last_updated"
        found = [order for order in self.orders.values() if _matches(order, flt)]
        found.sort(key=lambda o: (getattr(o, key), o.id), reverse=flt.get("sort") == "date_desc")
        return found

    # -- changes ------------------------------------------------------------------------------------

    def touch_order(self, order: Order) -> None:
        order.last_updated = self.clock.tick()
        self.sink("orders_v2", f"/orders/{order.id}")

    def touch_shipment(self, shipment: Shipment, status: str | None = None, substatus: str | None = None) -> None:
        """Moves the shipment (and, [U] by default, its order): both notifications go out."""
        stamp = self.clock.tick()
        if status is not None:
            shipment.status, shipment.substatus = status, substatus
            shipment.history.append((status, substatus, stamp))
        shipment.last_updated = stamp
        self.sink("shipments", f"/shipments/{shipment.id}")
        if self.config.shipment_touches_order:
            order = self.order_of(shipment)
            order.last_updated = stamp
            self.sink("orders_v2", f"/orders/{order.id}")

    def create_order(self, spec: dict[str, Any]) -> Order:
        """A buyer's purchase now. ``spec``: items [{item_id|sku, variation_id?, quantity?}] (or sku +
        quantity), status (default paid), mode (me2 | me1 | custom | none), buyer {first_name, last_name}."""
        status = str(spec.get("status", "paid"))
        if status not in ORDER_STATUSES:
            raise bad_request(f"status must be one of {sorted(ORDER_STATUSES)}")
        mode = str(spec.get("mode") or pick_mode(self.rng, self.config))
        if mode not in SHIPPING_MODES | {"none"}:
            raise bad_request("mode must be me2, me1, custom or none")
        lines = [self._line(entry) for entry in _line_specs(spec)] or [self._random_line()]
        order = self._new_order(status, lines, self.clock.tick(), spec.get("buyer"))
        if mode != "none":
            self._attach_shipment(order, mode)
        self._take_stock(order, -1)
        self.sink("orders_v2", f"/orders/{order.id}")
        if order.shipment_id is not None:
            self.sink("shipments", f"/shipments/{order.shipment_id}")
        return order

    def bulk_create(self, count: int) -> None:
        """``count`` past orders, spread over ``bulk_history_days``, quickly and without notifications."""
        span = self.config.bulk_history_days * 86_400
        start = self.clock.now() - span
        step = span / max(count, 1)
        for index in range(count):
            created = round(start + index * step, 3)
            order = self._new_order("paid", [self._random_line()], created, None)
            self._attach_shipment(order, pick_mode(self.rng, self.config), history=True)
            order.last_updated = max(order.last_updated, created)

    def _new_order(self, status: str, lines: list[OrderItem], created: float, buyer: Any) -> Order:
        person = new_buyer(self.rng, self.ids)
        if isinstance(buyer, dict):
            person.first_name = str(buyer.get("first_name", person.first_name))
            person.last_name = str(buyer.get("last_name", person.last_name))
        order = Order(
            id=self.ids.next("order"),
            status=status,
            date_created=created,
            last_updated=created,
            buyer=person,
            items=lines,
            payment_id=self.ids.next("payment"),
            date_closed=created if status in PAID_STATUSES else None,
            tags=["paid"] if status in PAID_STATUSES else [],  # + delivered / not_delivered when rendered
        )
        self.orders[order.id] = order
        return order

    def _attach_shipment(self, order: Order, mode: str, history: bool = False) -> None:
        paid = order.status in PAID_STATUSES
        status, substatus = (
            ("ready_to_ship", "ready_to_print" if mode == "me2" else None) if paid else ("pending", None)
        )
        shipment = Shipment(
            id=self.ids.next("shipment"),
            order_id=order.id,
            mode=mode,
            logistic_type=LOGISTIC_TYPES[mode],
            status=status,
            substatus=substatus,
            date_created=order.date_created,
            last_updated=order.date_created,
            receiver_name=f"{order.buyer.first_name} {order.buyer.last_name}",
            receiver_phone=f"11 9{self.rng.randint(1000, 9999)}-{self.rng.randint(1000, 9999)}",
            address=new_address(self.rng),
            history=[(status, substatus, order.date_created)],
        )
        if history and paid:
            self._age(shipment, order)
        self.shipments[shipment.id] = shipment
        order.shipment_id = shipment.id

    def _age(self, shipment: Shipment, order: Order) -> None:
        """Bulk history: older me2 orders have moved on (shipped, delivered), as they would have."""
        age_days = (self.clock.now() - order.date_created) / 86_400
        if shipment.mode != "me2" or age_days < 3:
            return
        at = round(order.date_created + 86_400 + self.rng.random(), 3)
        shipment.tracking_number = f"BR{self.ids.next('tracking')}ML"
        shipment.status, shipment.substatus = ("delivered", None) if age_days > 7 else ("shipped", None)
        shipment.history.append((shipment.status, None, at))
        shipment.last_updated = order.last_updated = at

    def _line(self, entry: dict[str, Any]) -> OrderItem:
        item = self._find_item(entry)
        variation_id = entry.get("variation_id")
        if variation_id is None and item.variations:
            variation_id = self.rng.choice(item.variations).id
        variation = item.variation(variation_id) if variation_id is not None else None
        if variation_id is not None and variation is None:
            raise bad_request(f"Item {item.id} has no variation {variation_id}")
        quantity = entry.get("quantity", 1)
        if not isinstance(quantity, int) or quantity < 1:
            raise bad_request("quantity must be a positive integer")
        return OrderItem(
            item_id=item.id,
            variation_id=variation.id if variation else None,
            title=item.title,
            sku=variation.sku if variation else item.sku,
            quantity=quantity,
            unit_price=Decimal(str(entry.get("unit_price", item.price))),
            category_id=item.category_id,
            variation_attributes=list(variation.attributes) if variation else [],
        )

    def _find_item(self, entry: dict[str, Any]) -> Item:
        if entry.get("item_id"):
            return self.item(str(entry["item_id"]))
        sku = entry.get("sku")
        for item in self.items.values():
            if item.sku == sku or any(v.sku == sku for v in item.variations):
                if item.variations and not entry.get("variation_id"):
                    match = next((v for v in item.variations if v.sku == sku), None)
                    entry["variation_id"] = match.id if match else None
                return item
        raise bad_request(f"No item with id or sku {sku!r}")

    def _random_line(self) -> OrderItem:
        item = self.rng.choice(list(self.items.values()))
        return self._line({"item_id": item.id, "quantity": self.rng.randint(1, 3)})

    def _take_stock(self, order: Order, sign: int) -> None:
        """Sold (sign -1) or returned (sign +1) units of each line."""
        for line in order.items:
            item = self.items.get(line.item_id)
            if item is None:
                continue
            variation = item.variation(line.variation_id)
            target: Any = variation if variation is not None else item
            target.available_quantity = max(target.available_quantity + sign * line.quantity, 0)
            target.sold_quantity = max(target.sold_quantity - sign * line.quantity, 0)
            item.available_quantity = item.total_quantity()
            refresh_item_status(item)
            item.last_updated = self.clock.tick()

    def return_stock(self, order: Order) -> None:
        self._take_stock(order, +1)

    def counts(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        for order in self.orders.values():
            by_status[order.status] = by_status.get(order.status, 0) + 1
        return {
            "orders": len(self.orders),
            "shipments": len(self.shipments),
            "items": len(self.items),
            "by_status": by_status,
        }

    def iter_orders(self) -> Iterator[Order]:
        return iter(self.orders.values())


def refresh_item_status(item: Item) -> None:
    """ML pauses an item that runs out of stock and reactivates it when stock comes back."""
    if item.status == "closed":
        return
    item.status = "active" if item.total_quantity() > 0 else "paused"


def _line_specs(spec: dict[str, Any]) -> list[dict[str, Any]]:
    entries = spec.get("items")
    if isinstance(entries, list):
        return [dict(entry) for entry in entries if isinstance(entry, dict)]
    if spec.get("sku") or spec.get("item_id"):
        return [{key: spec[key] for key in ("sku", "item_id", "variation_id", "quantity") if key in spec}]
    return []


def _matches(order: Order, flt: dict[str, Any]) -> bool:
    statuses = flt.get("status")
    if statuses and order.status not in statuses:
        return False
    for field_name, attr in (("updated", "last_updated"), ("created", "date_created")):
        low, high = flt.get(f"{field_name}_from"), flt.get(f"{field_name}_to")
        value = getattr(order, attr)
        if (low is not None and value < low - 1e-6) or (high is not None and value > high + 1e-6):
            return False
    return True


def check_status_word(value: str) -> None:
    if value not in ORDER_STATUSES:
        raise ApiError(400, f"Invalid order.status {value}", "bad_request")

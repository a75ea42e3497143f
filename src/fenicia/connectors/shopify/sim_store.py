"""The simulated shop's state: catalog, inventory, orders, and order creation/deletion.

Order actions (fulfil, cancel, edit, tracking) live in `sim_actions`. Every change that Shopify
would announce is passed to an `EventSink` (the webhook hub) as the REST payload of that moment.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from fenicia.connectors.shopify.sim_clock import SimClock, parse_timestamp
from fenicia.connectors.shopify.sim_config import FINANCIAL_STATUSES, ShopifySimConfig
from fenicia.connectors.shopify.sim_models import (
    ApiError,
    Customer,
    Fulfillment,
    FulfillmentOrder,
    InventoryLevel,
    LineItem,
    Location,
    Order,
    Product,
    Variant,
    not_found,
    unprocessable,
)
from fenicia.connectors.shopify.sim_render import JSON, render_order
from fenicia.connectors.shopify.sim_seed import (
    IdFactory,
    build_catalog,
    build_locations,
    custom_product,
    random_address,
    random_customer,
)

CUSTOMER_POOL_SIZE = 200
# Order fields computed by the simulator: overriding them would break its invariants.
RESERVED_FIELDS = frozenset(
    {
        "id",
        "name",
        "order_number",
        "number",
        "updated_at",
        "fulfillments",
        "fulfillment_status",
        "cancelled_at",
        "closed_at",
        "cancel_reason",
        "admin_graphql_api_id",
    }
)
SIMPLE_FIELDS = ("email", "phone", "note", "tags", "currency", "source_name")


class EventSink(Protocol):
    def wants(self, topic: str) -> bool: ...

    def emit(self, topic: str, payload: JSON, order_id: int | None) -> None: ...


class ShopStore:
    """All state of one shop. Not thread-safe: use it from the event loop that serves the app."""

    def __init__(self, config: ShopifySimConfig, clock: SimClock, sink: EventSink) -> None:
        self.config = config
        self.clock = clock
        self.sink = sink
        self.rng = random.Random(config.seed)
        self.ids = IdFactory(config.seed)
        now = clock.now()
        self.locations: list[Location] = build_locations(self.ids, config.locations, now)
        self.products: dict[int, Product] = {}
        self.variants_by_sku: dict[str, Variant] = {}
        self.variants_by_item: dict[int, Variant] = {}
        self.levels: dict[tuple[int, int], InventoryLevel] = {}
        self.orders: dict[int, Order] = {}
        self.version = 0  # bumped by every change to an order: list indexes are cached against it
        self.fulfillments: dict[int, Order] = {}  # fulfillment id -> its order
        self.fulfillment_orders: dict[int, Order] = {}  # fulfillment order id -> its order
        self.customers: dict[int, Customer] = {}  # pool slot -> customer
        self.next_number = 1001
        for product in build_catalog(self.rng, self.ids, config.catalog_size, now):
            self._add_product(product, stocked=True)

    # -- catalog and inventory -------------------------------------------------------------

    @property
    def primary_location(self) -> Location:
        return self.locations[0]

    def _add_product(self, product: Product, stocked: bool) -> None:
        self.products[product.id] = product
        for variant in product.variants:
            self.variants_by_sku[variant.sku] = variant
            self.variants_by_item[variant.inventory_item_id] = variant
            for index, location in enumerate(self.locations):
                stock = self.rng.randint(10, 100) if stocked and index == 0 else 0
                key = (variant.inventory_item_id, location.id)
                self.levels[key] = InventoryLevel(*key, stock, product.created_at)

    def location(self, location_id: int) -> Location | None:
        return next((loc for loc in self.locations if loc.id == location_id), None)

    def total_stock(self, inventory_item_id: int) -> int:
        return sum(
            self.levels[(inventory_item_id, loc.id)].available
            for loc in self.locations
            if (inventory_item_id, loc.id) in self.levels
        )

    def inventory_level(self, inventory_item_id: int, location_id: int) -> InventoryLevel:
        if inventory_item_id not in self.variants_by_item:
            raise unprocessable("Inventory item does not exist")  # [U] exact status and text
        if self.location(location_id) is None:
            raise unprocessable("Location does not exist")  # [U]
        key = (inventory_item_id, location_id)
        if key not in self.levels:
            self.levels[key] = InventoryLevel(*key, 0, self.clock.now())
        return self.levels[key]

    def set_inventory(self, inventory_item_id: int, location_id: int, available: int) -> InventoryLevel:
        level = self.inventory_level(inventory_item_id, location_id)
        level.available = available
        level.updated_at = self.clock.next_after(level.updated_at)
        return level

    def adjust_inventory(self, inventory_item_id: int, location_id: int, delta: int) -> InventoryLevel:
        level = self.inventory_level(inventory_item_id, location_id)
        return self.set_inventory(inventory_item_id, location_id, level.available + delta)

    def commit(self, inventory_item_id: int, location_id: int, units: int) -> None:
        """An order takes (``units`` > 0) or gives back (< 0) stock: it moves between available and committed."""
        level = self.inventory_level(inventory_item_id, location_id)
        level.committed = max(level.committed + units, 0)
        self.set_inventory(inventory_item_id, location_id, level.available - units)

    def ship(self, inventory_item_id: int, location_id: int, units: int) -> None:
        """Fulfilled units (or, negative, a cancelled fulfillment's) leave the shop: committed, and so on
        hand, drops; available does not change."""
        level = self.inventory_level(inventory_item_id, location_id)
        level.committed = max(level.committed - units, 0)
        level.updated_at = self.clock.next_after(level.updated_at)

    def _variant_for(self, spec: dict[str, Any]) -> Variant:
        if spec.get("variant_id") is not None:
            found = next(
                (v for p in self.products.values() for v in p.variants if v.id == spec["variant_id"]),
                None,
            )
            if found is None:
                raise unprocessable(f"Variant {spec['variant_id']} does not exist")
            return found
        sku = spec.get("sku")
        if sku is None:
            return self.rng.choice(list(self.variants_by_sku.values()))
        if sku not in self.variants_by_sku:
            price = _decimal(spec.get("price", "10.00"))
            title = str(spec.get("title") or sku)
            self._add_product(custom_product(self.ids, str(sku), title, price, self.clock.now()), False)
        return self.variants_by_sku[str(sku)]

    # -- orders --------------------------------------------------------------------------------

    def get_order(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found()
        return order

    def get_fulfillment(self, fulfillment_id: int) -> tuple[Order, Fulfillment]:
        order = self.fulfillments.get(fulfillment_id)
        if order is None or order.id not in self.orders:
            raise not_found()
        return order, next(f for f in order.fulfillments if f.id == fulfillment_id)

    def iter_orders(self) -> Iterator[Order]:
        return iter(self.orders.values())

    def render(self, order: Order) -> JSON:
        return render_order(order, self.clock.iso)

    def emit(self, topic: str, order: Order) -> None:
        if self.sink.wants(topic):
            self.sink.emit(topic, self.render(order), order.id)

    def emit_payload(self, topic: str, payload: JSON, order_id: int | None) -> None:
        if self.sink.wants(topic):
            self.sink.emit(topic, payload, order_id)

    def touch(self, order: Order) -> float:
        """Bump updated_at: strictly later than before, even within the same clock tick."""
        order.updated_at = self.clock.next_after(order.updated_at)
        self.version += 1
        return order.updated_at

    def new_line(self, spec: dict[str, Any]) -> LineItem:
        variant = self._variant_for(spec)
        quantity = int(spec.get("quantity", 1))
        if quantity < 1:
            raise unprocessable("Line item quantity must be greater than 0")
        product = self.products[variant.product_id]
        price = _decimal(spec["price"]) if "price" in spec else variant.price
        variant_title = None if variant.title == "Default Title" else variant.title
        return LineItem(
            self.ids.next("line_item"),
            variant.id,
            product.id,
            variant.inventory_item_id,
            variant.sku,
            str(spec.get("title") or product.title),
            variant_title,
            price,
            quantity,
            grams=variant.grams,
        )

    def _lines(self, spec: dict[str, Any]) -> list[LineItem]:
        given = spec.pop("line_items", None)
        if given is None and "sku" in spec:
            given = [{"sku": spec.pop("sku"), "quantity": spec.pop("quantity", 1)}]
        if given is None:
            count = self.rng.randint(1, 3)
            given = [{"quantity": self.rng.randint(1, 3)} for _ in range(count)]
        if not isinstance(given, list) or not given:
            raise unprocessable("line_items must be a non-empty list")
        return [self.new_line(dict(item)) for item in given]

    def _customer(self, given: dict[str, Any] | None) -> Customer:
        slot = self.rng.randrange(CUSTOMER_POOL_SIZE)
        if slot not in self.customers:
            self.customers[slot] = random_customer(self.rng, self.ids.next("customer"), self.clock.now())
        pooled = self.customers[slot]
        if not given:
            return pooled
        first = str(given.get("first_name", pooled.first_name))
        last = str(given.get("last_name", pooled.last_name))
        email = str(given.get("email", pooled.email))
        address = random_address(self.rng, first, last)
        return Customer(self.ids.next("customer"), first, last, email, address["phone"], self.clock.now(), address)

    def _new_order(self, spec: dict[str, Any], created_at: float) -> Order:
        lines = self._lines(spec)
        customer = self._customer(spec.pop("customer", None))
        financial = str(spec.pop("financial_status", "paid"))
        if financial not in FINANCIAL_STATUSES:
            raise unprocessable(f"financial_status {financial!r} is not valid")
        shipping = {**customer.address, **dict(spec.pop("shipping_address", None) or {})}
        billing = {**customer.address, **dict(spec.pop("billing_address", None) or {})}
        token = f"{self.rng.getrandbits(128):032x}"
        status_url = (
            f"https://{self.config.shop_domain}/{self.config.shop_id}/orders/{token}/authenticate?key={token[:16]}"
        )
        order = Order(
            self.ids.next("order"),
            self.next_number,
            token,
            customer.email,
            customer.phone,
            customer,
            shipping,
            billing,
            lines,
            created_at,
            created_at,
            financial,
            status_url,
        )
        self.next_number += 1
        for name in SIMPLE_FIELDS:
            if name in spec:
                setattr(order, name, spec.pop(name))
        self._add_fulfillment_order(order)
        return order

    def _add_fulfillment_order(self, order: Order) -> None:
        fo = FulfillmentOrder(
            self.ids.next("fulfillment_order"), order.id, self.primary_location.id, order.created_at, order.created_at
        )
        for li in order.line_items:
            fo.line_ids[li.id] = self.ids.next("fulfillment_order_line")
        order.fulfillment_orders.append(fo)
        self.fulfillment_orders[fo.id] = order

    def add_line_to_fulfillment_order(self, order: Order, line: LineItem) -> None:
        order.fulfillment_orders[0].line_ids[line.id] = self.ids.next("fulfillment_order_line")

    def create_order(self, overrides: dict[str, Any]) -> Order:
        """A new order as a customer checkout makes it; fires orders/create (and orders/paid)."""
        spec = dict(overrides)
        reserved = sorted(RESERVED_FIELDS & set(spec))
        if reserved:
            raise unprocessable(f"fields computed by the shop cannot be set: {', '.join(reserved)}")
        created = parse_timestamp(str(spec.pop("created_at"))) if "created_at" in spec else None
        order = self._new_order(spec, self.clock.next_after(None) if created is None else created)
        order.extra = spec
        self.orders[order.id] = order
        self.version += 1
        if self.config.decrement_inventory_on_order:
            self.move_stock(order, -1)
        self.emit("orders/create", order)
        if order.financial_status == "paid":
            self.emit("orders/paid", order)
        return order

    def move_stock(self, order: Order, sign: int, lines: list[LineItem] | None = None) -> None:
        """Take (sign -1) or give back (+1) the unfulfilled units at the assigned location: taken units
        are committed to the order until fulfilled."""
        location_id = order.fulfillment_orders[0].location_id
        for li in lines if lines is not None else order.line_items:
            units = li.current_quantity - li.fulfilled
            if li.inventory_item_id is not None and units > 0:
                self.commit(li.inventory_item_id, location_id, -sign * units)

    def release_stock(self, order: Order) -> None:
        """A cancelled order not restocked: its committed units leave the shop (on hand drops) [U]."""
        location_id = order.fulfillment_orders[0].location_id
        for li in order.line_items:
            units = li.current_quantity - li.fulfilled
            if li.inventory_item_id is not None and units > 0:
                self.ship(li.inventory_item_id, location_id, units)

    def bulk_create(self, count: int) -> None:
        """Seed `count` past orders fast: no webhooks, no stock moves, times spread over history."""
        now = self.clock.now()
        span = self.config.bulk_history_days * 86_400
        step = span / max(count, 1)
        for index in range(count):
            created = self.clock.truncate(now - span + index * step)
            order = self._new_order({}, created)
            order.updated_at = min(
                self.clock.truncate(created + self.rng.uniform(0, 3 * step)), now - self.clock.resolution_s
            )
            order.updated_at = max(order.updated_at, created)
            self.orders[order.id] = order
            self.version += 1

    def delete_order(self, order_id: int) -> None:
        """Deleted at the source: every later read answers 404. Fires orders/delete."""
        order = self.get_order(order_id)
        del self.orders[order_id]
        self.version += 1
        for f in order.fulfillments:
            self.fulfillments.pop(f.id, None)
        for fo in order.fulfillment_orders:
            self.fulfillment_orders.pop(fo.id, None)
        self.emit_payload("orders/delete", {"id": order_id}, order_id)

    def counts(self) -> dict[str, int]:
        orders = list(self.orders.values())
        return {
            "orders": len(orders),
            "orders_open": sum(1 for o in orders if o.closed_at is None and not o.cancelled),
            "orders_cancelled": sum(1 for o in orders if o.cancelled),
            "fulfillments": sum(len(o.active_fulfillments()) for o in orders),
            "products": len(self.products),
            "locations": len(self.locations),
        }


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ApiError(422, [f"invalid amount {value!r}"]) from exc

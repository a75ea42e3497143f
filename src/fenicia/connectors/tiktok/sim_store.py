"""The simulated shop's state: catalog, orders, packages, and order creation and search.

Order actions (ship, tracking, cancel, buyer activity) live in ``sim_actions``. Every change TikTok would
announce goes to an ``EventSink`` (the webhook hub) as ``(type, data)``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok.sim_config import TikTokSimConfig
from fenicia.connectors.tiktok.sim_models import (
    JSON,
    Cancellation,
    Order,
    Product,
    SimClock,
    SimError,
    Sku,
    Unit,
    order_not_found,
)
from fenicia.connectors.tiktok.sim_render import render_order
from fenicia.connectors.tiktok.sim_search import OrderIndex
from fenicia.connectors.tiktok.sim_seed import (
    DELIVERY_OPTIONS,
    PLATFORM_OPTION,
    SELLER_OPTION,
    IdFactory,
    build_catalog,
    random_buyer,
)

CREATABLE_STATUSES = frozenset({"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"})
ORDER_STATUS_CHANGE = 1
CANCELLATION_STATUS_CHANGE = 2
RECIPIENT_ADDRESS_UPDATE = 3
PACKAGE_UPDATE = 4


class EventSink(Protocol):
    def emit(self, event_type: int, data: JSON) -> None: ...


class ShopStore:
    """All state of one shop. Not thread-safe: use it from the event loop that serves the app."""

    def __init__(self, config: TikTokSimConfig, clock: SimClock, sink: EventSink) -> None:
        self.config = config
        self.clock = clock
        self.sink = sink
        self.rng = random.Random(config.seed)
        self.ids = IdFactory(config.seed)
        self.products: dict[str, Product] = {}
        self.skus: dict[str, tuple[Product, Sku]] = {}
        self.skus_by_seller_sku: dict[str, tuple[Product, Sku]] = {}
        self.orders: dict[str, Order] = {}
        self.package_orders: dict[str, str] = {}  # package id -> order id
        self.cancellations: dict[str, Cancellation] = {}
        self.version = 0  # bumped on every order change: search caches follow it
        self.index = OrderIndex(config, self.orders)
        for product in build_catalog(self.rng, self.ids, config.catalog_size, clock.now()):
            self.add_product(product)

    def add_product(self, product: Product) -> None:
        self.products[product.id] = product
        for sku in product.skus:
            self.skus[sku.id] = (product, sku)
            self.skus_by_seller_sku[sku.seller_sku] = (product, sku)

    # -- orders ------------------------------------------------------------------------------

    def get(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise order_not_found(order_id)
        return order

    def order_of_package(self, package_id: str) -> Order:
        order_id = self.package_orders.get(package_id)
        if order_id is None or order_id not in self.orders:
            raise SimError(codes.PACKAGE_NOT_FOUND, f"Package {package_id} does not exist.")
        return self.orders[order_id]

    def render(self, order: Order) -> JSON:
        config = self.config
        return render_order(order, config.currency, config.warehouse_id, config.packages_before_shipping)

    def create_order(self, spec: JSON, *, emit: bool = True) -> Order:
        """A new order. ``spec``: lines [{seller_sku|sku_id, quantity, price?}] (default: 1-2 random SKUs),
        status (UNPAID | ON_HOLD | AWAITING_SHIPMENT), shipping_type (SELLER | TIKTOK), create_time,
        buyer_email, recipient_address (merged), buyer_message."""
        status = str(spec.get("status") or "AWAITING_SHIPMENT")
        if status not in CREATABLE_STATUSES:
            raise ValueError(f"status must be one of {sorted(CREATABLE_STATUSES)}")
        shipping_type = str(spec.get("shipping_type") or self._random_shipping_type())
        if shipping_type not in ("SELLER", "TIKTOK"):
            raise ValueError("shipping_type must be SELLER or TIKTOK")
        now = self.clock.now()
        created = int(spec.get("create_time") or now)
        _name, email, address = random_buyer(self.rng)
        address.update(spec.get("recipient_address") or {})
        option = SELLER_OPTION if shipping_type == "SELLER" else PLATFORM_OPTION
        order = Order(
            id=self.ids.order.next(),
            status=status,
            create_time=created,
            update_time=max(created, now) if emit else created,
            units=[],
            buyer_email=str(spec.get("buyer_email") or email),
            user_id=self.ids.user.next(),
            address=address,
            shipping_type=shipping_type,
            delivery_option_id=option,
            delivery_option_name=DELIVERY_OPTIONS[option][0],
            paid_time=None if status == "UNPAID" else created,
            is_on_hold_order=status == "ON_HOLD",
            buyer_message=str(spec.get("buyer_message") or ""),
        )
        order.units = self._units(spec.get("lines"), order)
        self._index(order)
        if emit:
            self.announce_status(order)
        return order

    def _random_shipping_type(self) -> str:
        return "TIKTOK" if self.rng.random() < self.config.platform_shipping_share else "SELLER"

    def _units(self, lines: Any, order: Order) -> list[Unit]:
        if lines is None:
            picks = self.rng.sample(list(self.skus.values()), k=min(len(self.skus), self.rng.randint(1, 2)))
            lines = [{"sku_id": sku.id, "quantity": self.rng.randint(1, 3)} for _, sku in picks]
        if not isinstance(lines, list) or not lines:
            raise ValueError("lines must be a non-empty list")
        package_id = self.ids.package.next() if self.config.packages_before_shipping else None
        units: list[Unit] = []
        for line in lines:
            product, sku = self._sku_of(line)
            price = _price(line.get("price"), sku.price)
            for _ in range(_quantity(line.get("quantity", 1))):
                units.append(Unit(self.ids.unit.next(), sku, product, price, order.status))
        for unit in units:
            unit.package_id = package_id
            unit.package_status = "TO_FULFILL" if package_id else None
        return units

    def _sku_of(self, line: Any) -> tuple[Product, Sku]:
        if not isinstance(line, dict):
            raise ValueError("each line must be an object")
        if line.get("sku_id") is not None and str(line["sku_id"]) in self.skus:
            return self.skus[str(line["sku_id"])]
        seller_sku = line.get("seller_sku") or line.get("sku")
        if seller_sku is not None and str(seller_sku) in self.skus_by_seller_sku:
            return self.skus_by_seller_sku[str(seller_sku)]
        raise ValueError(f"no SKU matches {line!r}")

    def _index(self, order: Order) -> None:
        self.version += 1
        self.orders[order.id] = order
        for package_id in order.package_ids():
            self.package_orders[package_id] = order.id

    def bulk_create(self, count: int) -> None:
        """Seed ``count`` past orders quickly: no webhooks, update times spread over the past."""
        now = self.clock.now()
        span = int(self.config.bulk_history_days * 86400)
        for index in range(count):
            created = now - span + (span * index) // max(count, 1)
            order = self.create_order({"create_time": created}, emit=False)
            order.update_time = created + self.rng.randint(0, 600)
            self._age(order)
        self.version += 1

    def _age(self, order: Order) -> None:
        """Move some seeded orders on (shipped, delivered, cancelled) so history looks real."""
        roll = self.rng.random()
        if roll < 0.05:
            order.status = "CANCELLED"
            order.cancel_time, order.cancellation_initiator = order.update_time, "BUYER"
            for unit in order.units:
                unit.display_status, unit.cancel_user = "CANCELLED", "BUYER"
        elif roll < 0.2:
            status = "IN_TRANSIT" if roll < 0.12 else "DELIVERED"
            order.status = status
            for unit in order.units:
                unit.display_status, unit.package_status = (
                    status,
                    "FULFILLING" if status == "IN_TRANSIT" else "COMPLETED",
                )
                unit.tracking_number = f"RM{order.id[-9:]}GB"
                unit.shipping_provider_id, unit.shipping_provider_name = "6617675021119438597", "Royal Mail"
                unit.rts_time = order.create_time + 3600

    def touch(self, order: Order, status: str | None = None) -> None:
        """Record a change: new update time; a new status is announced with ORDER_STATUS_CHANGE."""
        order.update_time = self.clock.next_after(order.update_time)
        self.version += 1
        if status is not None and status != order.status:
            order.status = status
            self.announce_status(order)

    def announce_status(self, order: Order) -> None:
        data = {
            "order_id": order.id,
            "order_status": order.status,
            "is_on_hold_order": order.is_on_hold_order,
            "update_time": order.update_time,
        }
        self.sink.emit(ORDER_STATUS_CHANGE, data)

    def counts(self) -> JSON:
        by_status: dict[str, int] = {}
        for order in self.orders.values():
            by_status[order.status] = by_status.get(order.status, 0) + 1
        return {"orders": len(self.orders), "by_status": by_status, "products": len(self.products)}

    # -- search --------------------------------------------------------------------------------

    def search_orders(self, query: dict[str, str], body: JSON) -> JSON:
        """Get Order List (see ``sim_search``)."""
        return self.index.search(query, body, self.version, self.render)

    def iter_orders(self) -> Iterator[Order]:
        return iter(list(self.orders.values()))


def _price(value: Any, default: Decimal) -> Decimal:
    if value is None:
        return default
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"price {value!r} is not an amount") from exc


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 50:
        raise ValueError("quantity must be a whole number from 1 to 50")
    return value

"""The simulated seller's orders: creation (one, bulk), buyer and Amazon activity, shipment confirmation.

Every change moves the order's ``LastUpdateDate`` strictly forward, as Amazon's ``getOrders`` by
``LastUpdatedAfter`` relies on. Listings, feeds and documents live in ``sim_listings``.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

from fenicia.connectors.amazon.sim_config import ORDER_STATUSES, AmazonSimConfig
from fenicia.connectors.amazon.sim_models import (
    CANCELLED_STATUSES,
    PENDING_STATUSES,
    SHIPPED_STATUSES,
    ApiError,
    SimClock,
    SimItem,
    SimListing,
    SimOrder,
    SimPackage,
    invalid_input,
    not_found,
    parse_time,
)
from fenicia.connectors.amazon.sim_seed import Seeder

# packageReferenceId: a positive number, unique within the order ([C] ordersV0 PackageReferenceId).
SHIP_DATE_ERROR = ApiError(400, "Invalid Input", "Invalid Input")  # the exact sandbox answer for a bad shipDate


class OrderStore:
    """All orders of one seller account. Not thread-safe: use it from the loop that serves the app."""

    def __init__(self, config: AmazonSimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.seeder = Seeder(self.rng, config)
        self.orders: dict[str, SimOrder] = {}
        self.listings: dict[str, SimListing] = {lst.sku: lst for lst in self.seeder.catalog(clock.now())}
        self._seq = 0

    # -- creation ----------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def create_order(self, overrides: dict[str, Any]) -> SimOrder:
        """A new order now. Overrides: status, fulfillment_channel, items [{sku, quantity, price?}],
        address (merged), buyer_name, buyer_email, marketplace_id, is_prime, purchase_date (ISO)."""
        status = str(overrides.get("status", "Unshipped"))
        if status not in ORDER_STATUSES:
            raise ValueError(f"status must be one of {', '.join(ORDER_STATUSES)}")
        now = self.clock.now()
        placed = parse_time(str(overrides["purchase_date"])) if "purchase_date" in overrides else now
        order = self._new_order(placed, max(now, placed), status, overrides)
        self._decrement_stock(order)
        self.orders[order.order_id] = order
        return order

    def _new_order(self, placed: float, updated: float, status: str, overrides: dict[str, Any]) -> SimOrder:
        buyer = self.seeder.buyer()
        address = {**self.seeder.address(buyer), **dict(overrides.get("address") or {})}
        items = self._items(overrides.get("items"))
        order = SimOrder(
            order_id=self.seeder.order_id(self.orders),
            seq=self._next_seq(),
            marketplace_id=str(overrides.get("marketplace_id") or self.config.marketplace_ids[0]),
            purchase_date=placed,
            last_update=updated,
            status=status,
            items=items,
            address=address,
            buyer_name=str(overrides.get("buyer_name") or buyer[0]),
            buyer_email=str(overrides.get("buyer_email") or buyer[1]),
            fulfillment_channel=str(overrides.get("fulfillment_channel") or "MFN"),
            currency=self.config.currency,
            is_prime=bool(overrides.get("is_prime", False)),
        )
        if status in SHIPPED_STATUSES:
            for item in order.items:
                item.shipped = item.quantity
        elif status == "PartiallyShipped":  # one unit out, at least one left
            first = order.items[0]
            first.quantity = max(first.quantity, 2) if len(order.items) == 1 else first.quantity
            first.shipped = 1
        return order

    def _items(self, spec: Any) -> list[SimItem]:
        if spec is None:
            return self.seeder.random_items(self.listings)
        if not isinstance(spec, list) or not spec:
            raise ValueError("items must be a non-empty list of {sku, quantity, price?}")
        return [self._item(entry) for entry in spec]

    def _item(self, entry: Any) -> SimItem:
        if not isinstance(entry, dict) or not isinstance(entry.get("quantity", 1), int) or entry.get("quantity", 1) < 1:
            raise ValueError("each item needs a positive integer quantity")
        listing = self.listings.get(str(entry.get("sku")))
        if listing is None:
            listing = self.seeder.listing(str(entry.get("sku") or f"SKU-{self.rng.randint(1000, 9999)}"), 0.0)
            self.listings[listing.sku] = listing
        price = Decimal(str(entry.get("price", listing.price)))
        return self.seeder.item(listing, int(entry.get("quantity", 1)), price)

    def _decrement_stock(self, order: SimOrder) -> None:
        if order.fulfillment_channel != "MFN" or order.status in CANCELLED_STATUSES:
            return
        for item in order.items:
            listing = self.listings.get(item.sku)
            if listing is not None:
                listing.quantity = max(listing.quantity - item.quantity, 0)

    def bulk_create(self, count: int) -> None:
        """``count`` past orders, quickly: purchase and update times spread over the history window."""
        now = self.clock.now()
        span = self.config.bulk_history_days * 86_400
        stamps = sorted(now - 3600 - self.rng.random() * span for _ in range(count))
        for placed in stamps:
            status = self.seeder.past_status()
            updated = min(placed + self.rng.random() * 1800, now - 3600)
            order = self._new_order(float(int(placed)), float(int(updated)), status, {})
            self.orders[order.order_id] = order

    # -- reading -----------------------------------------------------------------------------

    def get(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise not_found(f"Order {order_id} was not found.")
        return order

    def touch(self, order: SimOrder) -> None:
        order.last_update = self.clock.next_after(order.last_update)

    # -- buyer and Amazon activity (control API) --------------------------------------------

    def cancel(self, order_id: str) -> SimOrder:
        """The buyer (before shipment) or Amazon cancels: OrderStatus becomes Canceled."""
        order = self.get(order_id)
        if order.status in SHIPPED_STATUSES or order.status == "PartiallyShipped":
            raise ValueError(f"order {order_id} has shipped units and cannot be cancelled")
        if order.status not in CANCELLED_STATUSES:
            order.status = "Canceled"
            self._restock(order)
            self.touch(order)
        return order

    def _restock(self, order: SimOrder) -> None:
        if order.fulfillment_channel != "MFN":
            return
        for item in order.items:
            listing = self.listings.get(item.sku)
            if listing is not None:
                listing.quantity += item.left

    def request_cancel(self, order_id: str, reason: str) -> SimOrder:
        """The buyer asks the seller to cancel: ``BuyerRequestedCancel`` on every unshipped item."""
        order = self.get(order_id)
        for item in order.items:
            if item.left > 0:
                item.cancel_reason = reason or "Buyer requested cancellation"
        if self.config.cancel_request_updates_order:
            self.touch(order)
        return order

    def authorize(self, order_id: str) -> SimOrder:
        """Payment authorized: Pending → Unshipped."""
        order = self.get(order_id)
        if order.status not in PENDING_STATUSES:
            raise ValueError(f"order {order_id} is {order.status}, not Pending")
        order.status = "Unshipped"
        self.touch(order)
        return order

    def edit_address(self, order_id: str, changes: dict[str, Any]) -> SimOrder:
        """[U] Amazon lets buyers change little after purchase; the sandbox allows an address change."""
        order = self.get(order_id)
        order.address.update({str(k): str(v) for k, v in changes.items()})
        self.touch(order)
        return order

    def deliver(self, order_id: str) -> SimOrder:
        """Easy Ship delivery: ``EasyShipShipmentStatus`` becomes Delivered (our only delivered signal)."""
        order = self.get(order_id)
        if order.status not in SHIPPED_STATUSES:
            raise ValueError(f"order {order_id} is {order.status}, not Shipped")
        order.easy_ship_status = "Delivered"
        self.touch(order)
        return order

    def delete(self, order_id: str) -> None:
        self.get(order_id)
        del self.orders[order_id]

    def counts(self) -> dict[str, Any]:
        statuses: dict[str, int] = {}
        for order in self.orders.values():
            statuses[order.status] = statuses.get(order.status, 0) + 1
        return {"orders": len(self.orders), "statuses": statuses, "listings": len(self.listings)}

    # -- confirmShipment ---------------------------------------------------------------------

    def confirm_shipment(self, order_id: str, body: Any) -> SimOrder:
        order = self.get(order_id)
        package, marketplace = _package_detail(body)
        if marketplace != order.marketplace_id:
            raise invalid_input(f"marketplaceId {marketplace} does not match the order's marketplace.")
        _check_shippable(order)
        reference = _reference(package)
        if self.config.reject_duplicate_package_reference and any(p.reference_id == reference for p in order.packages):
            raise invalid_input(f"packageReferenceId {reference} is already used by this order.")
        lines = _lines(order, package.get("orderItems"))
        for item_id, quantity in lines.items():
            item = order.item(item_id)
            assert item is not None
            item.shipped += quantity
        order.packages.append(_package(package, reference, lines, self.clock.now()))
        order.status = order.shipping_status()
        self.touch(order)
        return order


def _package_detail(body: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict):
        raise invalid_input("packageDetail is required.")
    marketplace = body.get("marketplaceId")
    if not isinstance(marketplace, str) or not marketplace:
        raise invalid_input("marketplaceId is required.")
    package: dict[str, Any] = body["packageDetail"]
    for name in ("carrierCode", "trackingNumber", "shipDate"):
        if not isinstance(package.get(name), str) or not package[name].strip():
            raise invalid_input(f"packageDetail.{name} is required.")
    if package["carrierCode"] == "Other" and not package.get("carrierName"):
        raise invalid_input("carrierName is required when carrierCode is Other.")
    try:
        parse_time(package["shipDate"])
    except ValueError:
        raise SHIP_DATE_ERROR from None
    return package, marketplace


def _check_shippable(order: SimOrder) -> None:
    if order.status in CANCELLED_STATUSES:
        raise invalid_input(f"Order {order.order_id} is {order.status}.")  # [U] exact answer
    if order.status in PENDING_STATUSES:
        raise invalid_input(f"Order {order.order_id} is {order.status}: payment is not authorized.")  # [U]
    if order.fulfillment_channel != "MFN":
        raise invalid_input(f"Order {order.order_id} is fulfilled by Amazon.")  # [U]
    if order.status in SHIPPED_STATUSES:
        raise invalid_input(f"Order {order.order_id} has already been shipped.")  # [U]


def _reference(package: dict[str, Any]) -> str:
    reference = package.get("packageReferenceId")
    if not isinstance(reference, str) or not reference.isdigit() or int(reference) < 1:
        raise invalid_input("packageReferenceId must be a positive numeric string.")
    return reference


def _lines(order: SimOrder, raw: Any) -> dict[str, int]:
    if not isinstance(raw, list) or not raw:
        raise invalid_input("packageDetail.orderItems is required.")
    lines: dict[str, int] = {}
    for entry in raw:
        item_id = entry.get("orderItemId") if isinstance(entry, dict) else None
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        item = order.item(str(item_id)) if item_id is not None else None
        if item is None or not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid_input(f"orderItems entry {entry!r} is not an unshipped item of the order.")
        lines[item.order_item_id] = lines.get(item.order_item_id, 0) + quantity
        if lines[item.order_item_id] > item.left:
            raise invalid_input(f"Quantity for item {item.order_item_id} exceeds the unshipped quantity.")
    return lines


def _package(package: dict[str, Any], reference: str, lines: dict[str, int], now: float) -> SimPackage:
    return SimPackage(
        reference_id=reference,
        carrier_code=str(package["carrierCode"]),
        carrier_name=str(package["carrierName"]) if package.get("carrierName") else None,
        tracking_number=str(package["trackingNumber"]),
        ship_date=str(package["shipDate"]),
        items=lines,
        confirmed_at=now,
    )

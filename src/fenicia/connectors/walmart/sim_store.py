"""The simulated seller account's state: purchase orders, catalog and stock, feeds; buyer activity.

Everything is in memory and reproducible from ``config.seed``. Time is wall time plus a skew the
control API can advance (token expiry, auto-cancellation and feed processing follow it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fenicia.connectors.walmart.sim_config import WalmartSimConfig
from fenicia.connectors.walmart.sim_models import (
    ApiError,
    SimItem,
    SimLine,
    SimOrder,
    StatusEntry,
    bad_request,
    not_found,
)

DAY_MS = 86_400_000
NAMES = ("Kathryn Cole", "Steffen Matt", "Dorothy Kelly", "Donald Ashley", "Jane Doe", "Ana Silva", "Chen Wang")
CITIES = (("Warners", "NY", "13164"), ("San Francisco", "CA", "94133"), ("Chicago", "IL", "60646"))
PRODUCTS = ("Quartz Metronome", "Laundry Bag", "Dome Tent", "Yard Cart Wagon", "Canister Filter", "Desk Lamp")
CARRIERS = ("UPS", "USPS", "FedEx")
AUTO_CANCEL_REASON = "SELLER_CANCEL_OUT_OF_STOCK"  # [U] reason Walmart records on an auto-cancelled line


class SimClock:
    def __init__(self) -> None:
        self.skew_s = 0.0

    def now_s(self) -> float:
        return time.time() + self.skew_s

    def now_ms(self) -> int:
        return int(self.now_s() * 1000)

    def advance(self, seconds: float) -> None:
        self.skew_s += seconds


def parse_date_ms(value: str, name: str) -> int:
    """``2020-03-16`` or ISO 8601 (``2020-03-16T10:30:15Z``, ms allowed) → epoch ms; 400 otherwise."""
    text = value.strip().replace(" ", "+")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise bad_request("INVALID_REQUEST_PARAM", f"Invalid date for '{name}': {value}", name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class WalmartStore:
    def __init__(self, config: WalmartSimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.rng = random.Random(config.seed)
        self.orders: dict[str, SimOrder] = {}
        self.items: dict[str, SimItem] = {}
        self._next_po = 1_796_277_083_022 + config.seed * 1_000_000
        self._seed_catalog()

    def _seed_catalog(self) -> None:
        for n in range(self.config.catalog_size):
            sku = f"WM-{n + 1:04d}"
            name = f"{PRODUCTS[n % len(PRODUCTS)]} #{n + 1}"
            price = Decimal(self.rng.randint(500, 9999)) / 100
            upc = f"{self.rng.randint(10**11, 10**12 - 1)}"
            self.items[sku] = SimItem(sku, name, price, 100, f"WP{n + 1:010d}", upc)

    # -- orders -------------------------------------------------------------------------------------

    def get(self, po: str) -> SimOrder:
        order = self.orders.get(po)
        if order is None:
            raise not_found(f"Purchase order {po}", "purchaseOrderId")
        return order

    def touch(self, order: SimOrder, *lines: SimLine) -> None:
        """A change: the order's modified time (and the changed lines' statusDate) move strictly forward."""
        stamp = max(self.clock.now_ms(), order.modified_ms + 1)
        order.modified_ms = stamp
        for line in lines:
            line.status_date_ms = stamp

    def create_order(self, overrides: Mapping[str, Any]) -> SimOrder:
        """A new order now (Created lines). Overrides: lines [{sku, quantity, price?}] or sku+quantity,
        name, email, address (merged), method_code, order_date_ms, estimated_ship_ms."""
        now = int(overrides.get("order_date_ms") or self.clock.now_ms())
        order = self._new_order(now, self._line_specs(overrides))
        if isinstance(overrides.get("address"), Mapping):
            order.address.update(overrides["address"])
        for key, attr in (("name", None), ("email", "email"), ("method_code", "method_code")):
            if overrides.get(key):
                if attr:
                    setattr(order, attr, str(overrides[key]))
                else:
                    order.address["name"] = str(overrides[key])
        if overrides.get("estimated_ship_ms"):
            order.estimated_ship_ms = int(overrides["estimated_ship_ms"])
        self.orders[order.po] = order
        return order

    def _line_specs(self, overrides: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        specs = overrides.get("lines")
        if specs is None and overrides.get("sku"):
            specs = [{"sku": overrides["sku"], "quantity": overrides.get("quantity", 1)}]
        if specs is None:
            skus = self.rng.sample(sorted(self.items), k=min(self.rng.randint(1, 3), len(self.items)))
            specs = [{"sku": sku, "quantity": self.rng.randint(1, 3)} for sku in skus]
        if not isinstance(specs, list) or not specs:
            raise ValueError("lines must be a non-empty list")
        return specs

    def _new_order(self, now_ms: int, specs: list[Mapping[str, Any]]) -> SimOrder:
        po = str(self._next_po)
        self._next_po += 1
        city, state, postal = self.rng.choice(CITIES)
        name = self.rng.choice(NAMES)
        order = SimOrder(
            po=po,
            customer_order_id=str(5_200_000_000_000 + int(po) % 10**12),
            email=f"{po[-8:]}{self.rng.randint(1000, 9999)}@relay.walmart.com",
            order_date_ms=now_ms,
            modified_ms=now_ms,
            estimated_ship_ms=now_ms + 2 * DAY_MS,
            estimated_delivery_ms=now_ms + 6 * DAY_MS,
            method_code="Standard",
            address={
                "name": name,
                "address1": f"{self.rng.randint(1, 9999)} Main St",
                "city": city,
                "state": state,
                "postalCode": postal,
                "country": "USA",
                "addressType": "RESIDENTIAL",
            },
            phone=f"{self.rng.randint(2_000_000_000, 9_999_999_999)}",
            lines=[self._new_line(n + 1, spec, now_ms) for n, spec in enumerate(specs)],
        )
        return order

    def _new_line(self, number: int, spec: Mapping[str, Any], now_ms: int) -> SimLine:
        sku = str(spec.get("sku") or "")
        item = self.items.get(sku)
        quantity = spec.get("quantity", 1)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise ValueError("quantity must be a positive integer")
        price = Decimal(str(spec["price"])) if spec.get("price") is not None else (item.price if item else Decimal(10))
        line = SimLine(
            number=str(number),
            sku=sku or "UNKNOWN",
            name=str(spec.get("title") or (item.name if item else sku)),
            quantity=quantity,
            unit_price=price,
            tax=(price * Decimal("0.08")).quantize(Decimal("0.01")),
            status_date_ms=now_ms,
        )
        line.add(StatusEntry("Created", quantity))
        return line

    def bulk_create(self, count: int) -> None:
        """``count`` past orders at once, spread over ``bulk_history_days``, in a mix of statuses."""
        now = self.clock.now_ms()
        span = int(self.config.bulk_history_days * DAY_MS)
        for _ in range(count):
            placed = now - self.rng.randint(60_000, max(span, 60_001))
            order = self._new_order(placed, self._line_specs({}))
            self._age(order, now)
            self.orders[order.po] = order

    def _age(self, order: SimOrder, now_ms: int) -> None:
        """Gives a seeded order a history: acknowledged, shipped, delivered or cancelled, sometimes."""
        roll = self.rng.random()
        changed = min(order.order_date_ms + self.rng.randint(60_000, DAY_MS), now_ms)
        if roll < 0.7:  # still open: keep it clear of auto-cancellation
            order.estimated_ship_ms = max(order.estimated_ship_ms, now_ms + DAY_MS)
        if roll < 0.55:
            return
        for line in order.lines:
            line.take_open(line.quantity)
            if roll < 0.7:
                line.add(StatusEntry("Acknowledged", line.quantity))
            elif roll < 0.9:
                word = "Shipped" if roll < 0.85 else "Delivered"
                line.add(StatusEntry(word, line.quantity, self._tracking(order, changed)))
            else:
                line.add(StatusEntry("Cancelled", line.quantity, reason="SELLER_CANCEL_OUT_OF_STOCK"))
            line.status_date_ms = changed
        order.modified_ms = max(order.modified_ms, changed)

    def _tracking(self, order: SimOrder, ship_ms: int) -> dict[str, Any]:
        carrier = self.rng.choice(CARRIERS)
        number = f"1Z{self.rng.randint(10**9, 10**10 - 1)}"
        return {
            "shipDateTime": ship_ms,
            "carrierName": {"carrier": carrier},
            "methodCode": order.method_code,
            "trackingNumber": number,
            "trackingURL": f"https://www.walmart.com/tracking?tracking_id={number}&order_id={order.po}",
        }

    def delete(self, po: str) -> None:
        self.get(po)
        del self.orders[po]

    # -- buyer and platform activity ------------------------------------------------------------

    def customer_cancel(self, po: str) -> SimOrder:
        """The buyer cancels before shipment: every open unit becomes Cancelled."""
        order = self.get(po)
        changed = [line for line in order.lines if line.open]
        if not changed:
            raise ApiError(400, "INVALID_REQUEST_CONTENT.GMP_ORDER_API", "Nothing left to cancel on this order")
        for line in changed:
            units = line.open
            line.take_open(units)
            line.add(StatusEntry("Cancelled", units, reason="CUSTOMER_CANCELLED"))
        self.touch(order, *changed)
        return order

    def intent_to_cancel(self, po: str) -> SimOrder:
        """The buyer asks Walmart to cancel: open lines are flagged for the seller to act on."""
        order = self.get(po)
        flagged = [line for line in order.lines if line.open]
        for line in flagged:
            line.intent_to_cancel = True
        self.touch(order)
        return order

    def edit(self, po: str, changes: Mapping[str, Any]) -> SimOrder:
        """Buyer changes to the shipping address or phone ([U] Walmart may not allow it once acknowledged)."""
        order = self.get(po)
        address = changes.get("address")
        if isinstance(address, Mapping):
            order.address.update({str(k): v for k, v in address.items()})
        if changes.get("phone"):
            order.phone = str(changes["phone"])
        self.touch(order)
        return order

    def deliver(self, po: str) -> SimOrder:
        """The carrier delivers every shipped unit."""
        order = self.get(po)
        changed = []
        for line in order.lines:
            for entry in [e for e in line.statuses if e.status == "Shipped"]:
                entry.status = "Delivered"
                changed.append(line)
        if changed:
            self.touch(order, *changed)
        return order

    def sweep(self) -> int:
        """Auto-cancels open lines past their estimated ship date + ``auto_cancel_days`` ([C] rule)."""
        now = self.clock.now_ms()
        limit = int(self.config.auto_cancel_days * DAY_MS)
        count = 0
        for order in self.orders.values():
            if now <= order.estimated_ship_ms + limit:
                continue
            late = [line for line in order.lines if line.open]
            for line in late:
                units = line.open
                line.take_open(units)
                line.add(StatusEntry("Cancelled", units, reason=AUTO_CANCEL_REASON))
            if late:
                self.touch(order, *late)
                count += 1
        return count

    def counts(self) -> dict[str, int]:
        statuses: dict[str, int] = {}
        for order in self.orders.values():
            for line in order.lines:
                for entry in line.statuses:
                    statuses[entry.status] = statuses.get(entry.status, 0) + entry.quantity
        return {"orders": len(self.orders), "items": len(self.items), **{f"units_{k}": v for k, v in statuses.items()}}

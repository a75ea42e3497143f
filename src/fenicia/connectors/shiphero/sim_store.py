"""The ShipHero simulator's state: warehouses, warehouse products, issued tokens and the credit bucket.

``available`` follows ShipHero's glossary: on hand - allocated - reserve - non-sellable + sell-ahead
[U for the reserve and non-sellable terms]; ``backorder`` is what is allocated beyond on hand. Times are
UTC. Credits: a bucket of ``credits_max`` refilled at ``credits_restore_per_s``; a query needs about
1 + ``first`` credits up front and is charged 1 + the nodes it returned [U].
"""

from __future__ import annotations

import base64
import itertools
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]
WAREHOUSE_PRODUCT_FIELDS = frozenset(
    {"id", "legacy_id", "account_id", "sku", "warehouse_id", "warehouse_identifier", "on_hand", "allocated"}
    | {"available", "backorder", "reserve_inventory", "non_sellable_quantity", "sell_ahead", "inventory_bin"}
    | {"active", "created_at", "updated_at", "product"}
)
KNOWN_FIELDS: dict[str, frozenset[str]] = {
    "warehouse_products": frozenset({"request_id", "complexity", "data"}),
    "warehouse_products.data": frozenset({"pageInfo", "edges"}),
    "warehouse_products.data.pageInfo": frozenset({"hasNextPage", "hasPreviousPage", "startCursor", "endCursor"}),
    "warehouse_products.data.edges": frozenset({"node", "cursor"}),
    "warehouse_products.data.edges.node": WAREHOUSE_PRODUCT_FIELDS,
    "warehouse_products.data.edges.node.product": frozenset({"id", "sku", "name"}),
    "account": frozenset({"request_id", "complexity", "data"}),
    "account.data": frozenset({"id", "legacy_id", "email", "username", "is_3pl", "status"}),
    "user_quota": frozenset({"credits_remaining", "max_available", "increment_rate", "is_expired", "time_remaining"}),
}


def relay_id(kind: str, number: int) -> str:
    return base64.b64encode(f"{kind}:{number}".encode()).decode()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@dataclass
class WarehouseProduct:
    number: int
    sku: str
    warehouse: JSON
    account_id: str
    on_hand: int = 0
    allocated: int = 0
    reserve_inventory: int = 0
    non_sellable_quantity: int = 0
    sell_ahead: int = 0
    active: bool = True
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def public(self, names: dict[str, str]) -> JSON:
        free = self.on_hand - self.allocated - self.reserve_inventory - self.non_sellable_quantity
        return {
            "id": relay_id("WarehouseProduct", self.number),
            "legacy_id": self.number,
            "account_id": self.account_id,
            "sku": self.sku,
            "warehouse_id": self.warehouse["id"],
            "warehouse_identifier": self.warehouse["identifier"],
            "on_hand": self.on_hand,
            "allocated": self.allocated,
            "available": free + self.sell_ahead,
            "backorder": max(self.allocated - self.on_hand, 0),
            "reserve_inventory": self.reserve_inventory,
            "non_sellable_quantity": self.non_sellable_quantity,
            "sell_ahead": self.sell_ahead,
            "inventory_bin": "A-01",
            "active": self.active,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "product": {"id": relay_id("Product", self.number), "sku": self.sku, "name": names.get(self.sku)},
        }


@dataclass
class Credits:
    maximum: float = 4004.0
    restore_per_s: float = 60.0
    remaining: float = 4004.0
    at: float = field(default_factory=time.monotonic)

    def refill(self) -> float:
        now = time.monotonic()
        self.remaining = min(self.maximum, self.remaining + (now - self.at) * self.restore_per_s)
        self.at = now
        return self.remaining

    def seconds_until(self, needed: float) -> float:
        """How long until ``needed`` credits are there, rounded up to 10 ms (0 when they are)."""
        missing = needed - self.refill()
        return max(math.ceil(missing / self.restore_per_s * 100) / 100, 0.01) if missing > 0 else 0.0


@dataclass
class ShipheroStore:
    account_id: str = relay_id("Account", 1)
    warehouses: list[JSON] = field(default_factory=list)
    products: dict[tuple[str, str], WarehouseProduct] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> monotonic expiry
    refresh_tokens: set[str] = field(default_factory=set)
    credits: Credits = field(default_factory=Credits)
    _numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_warehouse(self, number: int, identifier: str) -> JSON:
        warehouse = {"id": relay_id("Warehouse", number), "legacy_id": number, "identifier": identifier}
        self.warehouses.append(warehouse)
        return warehouse

    def warehouse(self, ref: Any) -> JSON:
        for warehouse in self.warehouses:
            if ref in (warehouse["id"], warehouse["identifier"], warehouse["legacy_id"]):
                return warehouse
        raise KeyError(f"no warehouse {ref!r}")

    def set_product(self, sku: str, warehouse: Any, account_id: str | None = None, **values: Any) -> WarehouseProduct:
        """Create or update the SKU in that warehouse; ``updated_at`` = now."""
        place = self.warehouse(warehouse)
        key = (sku, place["id"])
        product = self.products.get(key)
        if product is None:
            product = WarehouseProduct(next(self._numbers), sku, place, account_id or self.account_id)
            self.products[key] = product
        for name, value in values.items():
            if name == "name":
                self.names[sku] = str(value)
            elif name in ("on_hand", "allocated", "reserve_inventory", "non_sellable_quantity", "sell_ahead"):
                setattr(product, name, int(value))
            elif name == "active":
                product.active = bool(value)
            else:
                raise KeyError(f"unknown warehouse product field {name!r}")
        product.updated_at = datetime.now(UTC)
        return product

    def issue_access_token(self, lifetime_s: float) -> str:
        token = "eyJ" + secrets.token_urlsafe(24)
        self.access_tokens[token] = time.monotonic() + lifetime_s
        return token

    def issue_refresh_token(self) -> str:
        token = secrets.token_urlsafe(24)
        self.refresh_tokens.add(token)
        return token

    def expire_tokens(self) -> None:
        self.access_tokens = dict.fromkeys(self.access_tokens, 0.0)

    def select(self, args: JSON) -> list[WarehouseProduct]:
        rows = sorted(self.products.values(), key=lambda p: p.number)
        checks: dict[str, Callable[[WarehouseProduct, Any], bool]] = {
            "warehouse_id": lambda p, v: p.warehouse["id"] == v,
            "sku": lambda p, v: p.sku == v,
            "active": lambda p, v: p.active == v,
            "customer_account_id": lambda p, v: p.account_id == v,
            "updated_from": lambda p, v: p.updated_at >= parse_time(v),
            "updated_to": lambda p, v: p.updated_at <= parse_time(v),
            "created_from": lambda p, v: p.created_at >= parse_time(v),
        }
        for name, check in checks.items():
            if args.get(name) is not None:
                rows = [p for p in rows if check(p, args[name])]
        return rows


def parse_time(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

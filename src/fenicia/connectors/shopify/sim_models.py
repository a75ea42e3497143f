"""In-memory records of the simulated shop. Rendering to REST JSON lives in `sim_render`.

Records keep only what changes; the full REST shape (about 80 order fields) is built on demand so
that 20,000 seeded orders stay small in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass
class Location:
    id: int
    name: str
    address1: str
    city: str
    province: str
    province_code: str
    zip: str
    country_code: str = "US"
    created_at: float = 0.0


@dataclass
class Variant:
    id: int
    product_id: int
    sku: str
    title: str
    price: Decimal
    inventory_item_id: int
    position: int
    grams: int
    created_at: float
    updated_at: float


@dataclass
class Product:
    id: int
    title: str
    vendor: str
    product_type: str
    handle: str
    created_at: float
    updated_at: float
    variants: list[Variant] = field(default_factory=list)


@dataclass
class InventoryLevel:
    inventory_item_id: int
    location_id: int
    available: int
    updated_at: float
    committed: int = 0  # units of open orders not fulfilled yet; on hand = available + committed

    @property
    def on_hand(self) -> int:
        return self.available + self.committed


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    created_at: float
    address: dict[str, Any]


@dataclass
class LineItem:
    id: int
    variant_id: int | None
    product_id: int | None
    inventory_item_id: int | None
    sku: str
    title: str
    variant_title: str | None
    price: Decimal
    quantity: int  # ordered, including quantity added by edits [U: Shopify's exact edit accounting]
    grams: int = 200
    removed: int = 0  # removed by customer edits (current_quantity = quantity - removed)
    fulfilled: int = 0  # units in successful fulfillments

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.removed

    def fulfillable(self, cancelled: bool) -> int:
        return 0 if cancelled else max(self.current_quantity - self.fulfilled, 0)

    @property
    def fulfillment_status(self) -> str | None:
        if self.fulfilled == 0:
            return None
        return "fulfilled" if self.fulfilled >= self.current_quantity else "partial"


@dataclass
class Fulfillment:
    id: int
    order_id: int
    fulfillment_order_id: int
    name: str
    location_id: int
    created_at: float
    updated_at: float
    quantities: dict[int, int]  # line item id -> units shipped in this fulfillment
    tracking_company: str | None = None
    tracking_numbers: list[str] = field(default_factory=list)
    tracking_urls: list[str] = field(default_factory=list)
    status: str = "success"
    shipment_status: str | None = None
    notify_customer: bool = False


@dataclass
class FulfillmentOrder:
    id: int
    order_id: int
    location_id: int
    created_at: float
    updated_at: float
    line_ids: dict[int, int] = field(default_factory=dict)  # order line item id -> FO line id


@dataclass
class Order:
    id: int
    number: int
    token: str
    email: str
    phone: str | None
    customer: Customer
    shipping_address: dict[str, Any]
    billing_address: dict[str, Any]
    line_items: list[LineItem]
    created_at: float
    updated_at: float
    financial_status: str
    status_url: str
    currency: str = "USD"
    tax_rate: Decimal = Decimal("0.06")
    shipping_price: Decimal = Decimal("0.00")
    cancelled_at: float | None = None
    cancel_reason: str | None = None
    closed_at: float | None = None
    note: str | None = None
    tags: str = ""
    source_name: str = "web"
    fulfillments: list[Fulfillment] = field(default_factory=list)
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # top-level overrides rendered as given
    deleted: bool = False

    @property
    def name(self) -> str:
        return f"#{self.number}"

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def fulfillment_status(self) -> str | None:
        live = [li for li in self.line_items if li.current_quantity > 0]
        if not any(li.fulfilled for li in live):
            return None
        done = all(li.fulfilled >= li.current_quantity for li in live)
        return "fulfilled" if done else "partial"

    def line(self, line_item_id: int) -> LineItem | None:
        return next((li for li in self.line_items if li.id == line_item_id), None)

    def active_fulfillments(self) -> list[Fulfillment]:
        return [f for f in self.fulfillments if f.status == "success"]


def fulfillment_order_status(order: Order) -> str:
    """Derived: open, in_progress (partly fulfilled), closed (nothing left) or cancelled."""
    if order.cancelled:
        return "cancelled"
    remaining = sum(li.fulfillable(False) for li in order.line_items)
    shipped = sum(li.fulfilled for li in order.line_items)
    if remaining == 0:
        return "closed"
    return "in_progress" if shipped else "open"


class ApiError(Exception):
    """An error answer in Shopify's shape: `{"errors": ...}` with an HTTP status."""

    def __init__(self, status: int, errors: Any) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


def unprocessable(message: str) -> ApiError:
    return ApiError(422, [message])


def missing_parameter(root: str) -> ApiError:
    return ApiError(400, {root: "Required parameter missing or invalid"})


def not_found() -> ApiError:
    return ApiError(404, "Not Found")

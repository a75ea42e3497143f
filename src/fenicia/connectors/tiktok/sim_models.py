"""The TikTok Shop simulator's state records, its error type and its clock."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fenicia.connectors.tiktok import errors as codes

JSON = dict[str, Any]


class SimError(Exception):
    """An answer other than success: TikTok's envelope with this code, under ``status`` (None: the
    simulator's configured status for business errors)."""

    def __init__(self, code: int, message: str, status: int | None = None, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data


def order_not_found(order_id: str) -> SimError:
    return SimError(codes.ORDER_NOT_FOUND, f"Order {order_id} does not exist.")


def bad_parameter(message: str) -> SimError:
    return SimError(codes.INVALID_PARAMETER, message, 400)


class SimClock:
    """Wall time (so time-machine can drive it) plus a manual offset; whole seconds like TikTok."""

    def __init__(self) -> None:
        self.skew_s = 0.0

    def now(self) -> int:
        return int(time.time() + self.skew_s)

    def advance(self, seconds: float) -> None:
        self.skew_s += seconds

    def next_after(self, previous: int | None) -> int:
        """A time for a change: now, but always strictly later than the record's previous one."""
        stamp = self.now()
        return stamp if previous is None or stamp > previous else previous + 1


@dataclass
class Sku:
    id: str
    seller_sku: str
    name: str
    price: Decimal
    quantity: int
    status: str = "ACTIVATE"  # the product's status; only live SKUs take stock


@dataclass
class Product:
    id: str
    title: str
    skus: list[Sku]
    create_time: int
    update_time: int
    status: str = "ACTIVATE"


@dataclass
class Unit:
    """One line item = one unit of a SKU (TikTok has no quantity field)."""

    id: str
    sku: Sku
    product: Product
    sale_price: Decimal
    display_status: str
    package_id: str | None = None
    package_status: str | None = None
    tracking_number: str = ""
    shipping_provider_id: str | None = None
    shipping_provider_name: str | None = None
    rts_time: int | None = None
    cancel_user: str | None = None
    cancel_reason: str | None = None
    is_gift: bool = False

    @property
    def open(self) -> bool:
        return self.display_status not in ("CANCELLED",) and self.package_status in (None, "TO_FULFILL")


@dataclass
class Order:
    id: str
    status: str
    create_time: int
    update_time: int
    units: list[Unit]
    buyer_email: str
    user_id: str
    address: JSON
    shipping_type: str = "SELLER"
    delivery_option_id: str = ""
    delivery_option_name: str = "Shipped by seller"
    paid_time: int | None = None
    cancel_time: int | None = None
    cancel_reason: str | None = None
    cancellation_initiator: str | None = None
    is_buyer_request_cancel: bool = False
    request_cancel_time: int | None = None
    is_on_hold_order: bool = False
    buyer_message: str = ""
    collection_time: int | None = None
    delivery_time: int | None = None
    rts_time: int | None = None
    shipping_fee: Decimal = Decimal("0")

    def unit(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def live_units(self) -> list[Unit]:
        return [u for u in self.units if u.display_status != "CANCELLED"]

    def package_units(self, package_id: str) -> list[Unit]:
        return [u for u in self.units if u.package_id == package_id]

    def package_ids(self) -> list[str]:
        seen: list[str] = []
        for unit in self.units:
            if unit.package_id and unit.package_id not in seen:
                seen.append(unit.package_id)
        return seen


@dataclass
class Cancellation:
    id: str
    order_id: str
    role: str  # SELLER | BUYER
    status: str
    reason: str
    create_time: int
    unit_ids: list[str] = field(default_factory=list)

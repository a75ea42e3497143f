"""In-memory records of the simulated MercadoLibre account, its clock, and the API's error shape.

Records keep only what changes; the JSON shapes are built on demand (``sim_render``) so that tens of
thousands of seeded orders stay small in memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from fenicia.sandbox.simkit import parse_query_time


class ApiError(Exception):
    """An ML error answer: ``{"message", "error", "status", "cause"}``."""

    def __init__(self, status: int, message: str, error: str, cause: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error = error
        self.cause = cause or []

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "error": self.error, "status": self.status, "cause": self.cause}


def not_found(what: str) -> ApiError:
    return ApiError(404, f"{what} not found", "not_found")


def bad_request(message: str, error: str = "bad_request", cause: list[Any] | None = None) -> ApiError:
    return ApiError(400, message, error, cause)


class SimClock:
    """Wall time plus a manual offset, rendered as ML does: milliseconds and the site's UTC offset."""

    def __init__(self, offset_minutes: int) -> None:
        self.skew_s = 0.0
        self.tz = timezone(timedelta(minutes=offset_minutes))
        self._last = 0.0

    def now(self) -> float:
        return time.time() + self.skew_s

    def tick(self) -> float:
        """A timestamp for a change: now at millisecond precision, always later than the previous one."""
        stamp = max(round(self.now(), 3), round(self._last + 0.001, 3))
        self._last = stamp
        return stamp

    def advance(self, seconds: float) -> None:
        self.skew_s += seconds

    def iso(self, ts: float) -> str:
        """E.g. 2013-05-27T10:01:50.000-03:00."""
        return datetime.fromtimestamp(ts, self.tz).isoformat(timespec="milliseconds")

    @staticmethod
    def iso_utc(ts: float) -> str:
        """Notifications' ``sent``/``received``: UTC with a Z."""
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


parse_ml_time = parse_query_time  # query-string dates (ISO 8601 with an offset)


@dataclass
class Variation:
    id: int
    sku: str
    attributes: list[tuple[str, str, str]]  # (attribute id, name, value), e.g. ("COLOR", "Color", "Azul")
    available_quantity: int
    sold_quantity: int = 0


@dataclass
class Item:
    id: str
    title: str
    price: Decimal
    sku: str
    category_id: str
    available_quantity: int
    date_created: float
    last_updated: float
    status: str = "active"  # active | paused | closed
    sold_quantity: int = 0
    variations: list[Variation] = field(default_factory=list)

    def variation(self, variation_id: int | None) -> Variation | None:
        return next((v for v in self.variations if v.id == variation_id), None)

    def total_quantity(self) -> int:
        if self.variations:
            return sum(v.available_quantity for v in self.variations)
        return self.available_quantity


@dataclass
class Buyer:
    id: int
    nickname: str
    first_name: str
    last_name: str


@dataclass
class OrderItem:
    item_id: str
    variation_id: int | None
    title: str
    sku: str
    quantity: int
    unit_price: Decimal
    category_id: str
    variation_attributes: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class Address:
    street_name: str
    street_number: str
    zip_code: str
    city: str
    state_id: str
    state: str
    neighborhood: str
    comment: str | None = None
    country_id: str = "BR"
    country: str = "Brasil"


@dataclass
class Shipment:
    id: int
    order_id: int
    mode: str  # me2 | me1 | custom
    logistic_type: str
    status: str  # pending | handling | ready_to_ship | shipped | delivered | not_delivered | cancelled
    substatus: str | None
    date_created: float
    last_updated: float
    receiver_name: str
    receiver_phone: str
    address: Address
    tracking_number: str | None = None
    tracking_method: str | None = None
    service_id: int | None = None
    history: list[tuple[str, str | None, float]] = field(default_factory=list)


@dataclass
class Order:
    id: int
    status: str
    date_created: float
    last_updated: float
    buyer: Buyer
    items: list[OrderItem]
    payment_id: int
    date_closed: float | None = None
    status_detail: str | None = None
    shipment_id: int | None = None
    tags: list[str] = field(default_factory=list)
    feedback_sale: dict[str, Any] | None = None
    cancel_detail: dict[str, Any] | None = None
    pack_id: int | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.items), Decimal("0"))

"""The simulator's records (purchase orders, lines, status entries, items, feeds) and their JSON forms.

Rendered shapes follow Walmart's orders model (``GetOrderResponseRecord``): epoch-ms dates, string
quantities, number amounts, ``orderLines.orderLine[].orderLineStatuses.orderLineStatus[]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]
OPEN = ("Created", "Acknowledged")


class ApiError(Exception):
    """An answer in Walmart's error shape: HTTP status and one ``GatewayError``."""

    def __init__(
        self, status: int, code: str, description: str, *, field: str | None = None, category: str = "DATA"
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.field = field
        self.category = category

    def entry(self) -> JSON:
        entry: JSON = {
            "code": self.code,
            "description": self.description,
            "info": self.description,
            "severity": "ERROR" if self.status >= 400 else "INFO",
            "category": self.category,
            "causes": [],
            "errorIdentifiers": {},
        }
        if self.field:
            entry["field"] = self.field
        return entry


def bad_request(code: str, description: str, field: str | None = None) -> ApiError:
    return ApiError(400, f"{code}.GMP_ORDER_API", description, field=field, category="REQUEST")


def not_found(what: str, field: str | None = None) -> ApiError:
    return ApiError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", f"{what} could not be found", field=field, category="DATA")


@dataclass
class StatusEntry:
    status: str
    quantity: int
    tracking: JSON | None = None
    reason: str | None = None

    def render(self) -> JSON:
        entry: JSON = {"status": self.status, "statusQuantity": quantity_json(self.quantity)}
        if self.reason:
            entry["cancellationReason"] = self.reason
        if self.tracking:
            entry["trackingInfo"] = dict(self.tracking)
        return entry


@dataclass
class SimLine:
    number: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    tax: Decimal
    status_date_ms: int
    statuses: list[StatusEntry] = field(default_factory=list)
    intent_to_cancel: bool = False
    seller_order_id: str | None = None

    def units(self, *statuses: str) -> int:
        return sum(e.quantity for e in self.statuses if e.status in statuses)

    @property
    def open(self) -> int:
        return self.units(*OPEN)

    def take_open(self, quantity: int, prefer: tuple[str, ...] = ("Acknowledged", "Created")) -> None:
        """Removes ``quantity`` open units (Acknowledged first) from the status entries."""
        left = quantity
        for word in prefer:
            for entry in [e for e in self.statuses if e.status == word]:
                used = min(entry.quantity, left)
                entry.quantity -= used
                left -= used
        self.statuses = [e for e in self.statuses if e.quantity > 0]

    def add(self, entry: StatusEntry) -> None:
        for held in self.statuses:
            if (held.status, held.tracking, held.reason) == (entry.status, entry.tracking, entry.reason):
                held.quantity += entry.quantity
                return
        self.statuses.append(entry)

    def render(self, currency: str) -> JSON:
        line: JSON = {
            "lineNumber": self.number,
            "item": {"productName": self.name, "sku": self.sku},
            "charges": {"charge": [_product_charge(self.unit_price, self.tax, currency)]},
            "orderLineQuantity": quantity_json(self.quantity),
            "statusDate": self.status_date_ms,
            "orderLineStatuses": {"orderLineStatus": [e.render() for e in self.statuses]},
            "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": "STANDARD"},
        }
        if self.intent_to_cancel:
            line["intentToCancel"] = "Yes"
        if self.seller_order_id:
            line["sellerOrderId"] = self.seller_order_id
        return line


@dataclass
class SimOrder:
    po: str
    customer_order_id: str
    email: str
    order_date_ms: int
    modified_ms: int
    estimated_ship_ms: int
    estimated_delivery_ms: int
    method_code: str
    address: JSON
    phone: str
    lines: list[SimLine]
    currency: str = "USD"

    def total(self) -> Decimal:
        return sum(((ln.unit_price + ln.tax) * ln.quantity for ln in self.lines), Decimal(0))

    def render(self, ship_node_id: str) -> JSON:
        return {
            "purchaseOrderId": self.po,
            "customerOrderId": self.customer_order_id,
            "customerEmailId": self.email,
            "orderType": "REGULAR",
            "orderDate": self.order_date_ms,
            "shippingInfo": {
                "phone": self.phone,
                "estimatedDeliveryDate": self.estimated_delivery_ms,
                "estimatedShipDate": self.estimated_ship_ms,
                "methodCode": self.method_code,
                "postalAddress": dict(self.address),
            },
            "orderLines": {"orderLine": [line.render(self.currency) for line in self.lines]},
            "orderSummary": {"totalAmount": {"currencyAmount": float(self.total()), "currencyUnit": self.currency}},
            "shipNode": {"type": "SellerFulfilled", "name": "Sandbox warehouse", "id": ship_node_id},
        }


@dataclass
class SimItem:
    sku: str
    name: str
    price: Decimal
    quantity: int
    wpid: str
    upc: str

    def render(self) -> JSON:
        return {
            "mart": "WALMART_US",
            "sku": self.sku,
            "wpid": self.wpid,
            "upc": self.upc,
            "gtin": f"00{self.upc}",
            "productName": self.name,
            "shelf": '["Home Page"]',
            "productType": "Sandbox Goods",
            "price": {"currency": "USD", "amount": float(self.price)},
            "publishedStatus": "PUBLISHED",
            "lifecycleStatus": "ACTIVE",
        }


@dataclass
class FeedItem:
    sku: str
    amount: int | None
    error: str | None = None


@dataclass
class SimFeed:
    feed_id: str
    feed_type: str
    submitted_s: float
    items: list[FeedItem]
    error: str | None = None  # the whole file was refused
    applied: bool = False


def quantity_json(units: int) -> JSON:
    return {"unitOfMeasurement": "EACH", "amount": str(units)}


def _product_charge(price: Decimal, tax: Decimal, currency: str) -> JSON:
    return {
        "chargeType": "PRODUCT",
        "chargeName": "ItemPrice",
        "chargeAmount": {"currency": currency, "amount": float(price)},
        "tax": {"taxName": "Tax1", "taxAmount": {"currency": currency, "amount": float(tax)}},
    }

"""In-memory records of the simulated Amazon seller account, and their SP-API JSON shapes.

Records keep what changes; the JSON Amazon returns (``Order``, ``OrderItem``, listings items, feeds)
is built on demand from them, with the field names and value formats of the official models.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fenicia.sandbox.simkit import parse_query_time

JSON = dict[str, Any]
SHIPPED_STATUSES = ("Shipped", "InvoiceUnconfirmed")
PENDING_STATUSES = ("Pending", "PendingAvailability")
CANCELLED_STATUSES = ("Canceled", "Unfulfillable")
PII_ADDRESS_FIELDS = ("Name", "AddressLine1", "AddressLine2", "Phone", "AddressType")


class ApiError(Exception):
    """An SP-API error answer: ``{"errors": [{"code", "message", "details"}]}`` with ``status``."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> JSON:
        return {"errors": [{"code": self.code, "message": self.message, "details": self.details}]}


def invalid_input(details: str, message: str = "Invalid Input") -> ApiError:
    return ApiError(400, "InvalidInput", message, details)


def not_found(what: str) -> ApiError:
    return ApiError(404, "NotFound", "The requested resource does not exist.", what)


class SimClock:
    """Wall time (so time-machine can drive it) plus a manual offset, kept to the millisecond.

    Amazon renders whole seconds; the simulator orders and filters on the finer value, so two changes
    in one second stay in order without a timestamp ever running ahead of the clock.
    """

    def __init__(self) -> None:
        self.skew_s = 0.0

    def now(self) -> float:
        return math.floor((time.time() + self.skew_s) * 1000) / 1000

    def advance(self, seconds: float) -> None:
        self.skew_s += seconds

    def next_after(self, previous: float | None) -> float:
        """A timestamp for a change: now, but always strictly later than ``previous``."""
        stamp = self.now()
        return round(previous + 0.001, 3) if previous is not None and stamp <= previous else stamp


def iso(ts: float) -> str:
    """E.g. 2026-11-01T12:00:00Z (ISO 8601 UTC, as the Orders API renders dates)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


parse_time = parse_query_time


def money(amount: Decimal, currency: str) -> JSON:
    return {"CurrencyCode": currency, "Amount": f"{amount.quantize(Decimal('0.01'))}"}


@dataclass
class SimItem:
    order_item_id: str
    asin: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    tax_rate: Decimal = Decimal("0.08")
    shipped: int = 0
    cancel_reason: str | None = None  # set when the buyer asked to cancel

    @property
    def left(self) -> int:
        return self.quantity - self.shipped

    @property
    def price(self) -> Decimal:
        return self.unit_price * self.quantity

    @property
    def tax(self) -> Decimal:
        return (self.price * self.tax_rate).quantize(Decimal("0.01"))


@dataclass
class SimPackage:
    reference_id: str
    carrier_code: str
    carrier_name: str | None
    tracking_number: str
    ship_date: str
    items: dict[str, int]
    confirmed_at: float


@dataclass
class SimOrder:
    order_id: str
    seq: int
    marketplace_id: str
    purchase_date: float
    last_update: float
    status: str
    items: list[SimItem]
    address: dict[str, str]
    buyer_name: str
    buyer_email: str
    fulfillment_channel: str = "MFN"
    currency: str = "USD"
    is_prime: bool = False
    easy_ship_status: str | None = None
    packages: list[SimPackage] = field(default_factory=list)

    def item(self, order_item_id: str) -> SimItem | None:
        return next((i for i in self.items if i.order_item_id == order_item_id), None)

    def shipping_status(self) -> str:
        """Unshipped / PartiallyShipped / Shipped from the items' shipped counts."""
        shipped = sum(i.shipped for i in self.items)
        if shipped == 0:
            return "Unshipped"
        return "Shipped" if all(i.left == 0 for i in self.items) else "PartiallyShipped"


@dataclass
class SimListing:
    sku: str
    asin: str
    product_type: str
    title: str
    price: Decimal
    quantity: int
    created: float
    updated: float
    channel_code: str = "DEFAULT"


@dataclass
class SimDocument:
    document_id: str
    content_type: str
    created: float
    content: bytes | None = None


@dataclass
class SimFeed:
    feed_id: str
    feed_type: str
    marketplace_ids: list[str]
    input_document_id: str
    created: float
    status: str = "IN_QUEUE"
    started: float | None = None
    ended: float | None = None
    result_document_id: str | None = None


def render_order(order: SimOrder, include_pii: bool) -> JSON:
    """The ``Order`` object of getOrders/getOrder (restricted fields only with ``include_pii``)."""
    shipped = sum(i.shipped for i in order.items)
    data: JSON = {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": iso(order.purchase_date),
        "LastUpdateDate": iso(order.last_update),
        "OrderStatus": order.status,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": "Amazon.com",
        "ShipServiceLevel": "Std US D2D Dom",
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": sum(i.quantity for i in order.items) - shipped,
        "PaymentMethod": "Other",
        "PaymentMethodDetails": ["Standard"],
        "MarketplaceId": order.marketplace_id,
        "ShipmentServiceLevelCategory": "Standard",
        "OrderType": "StandardOrder",
        "EarliestShipDate": iso(order.purchase_date + 86_400),
        "LatestShipDate": iso(order.purchase_date + 3 * 86_400),
        "IsBusinessOrder": False,
        "IsPrime": order.is_prime,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "ShippingAddress": _address(order.address, include_pii),
    }
    if order.status not in PENDING_STATUSES:
        total = sum((i.price + i.tax for i in order.items), Decimal(0))
        data["OrderTotal"] = money(total, order.currency)
    if include_pii:
        data["BuyerInfo"] = {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
    if order.easy_ship_status:
        data["EasyShipShipmentStatus"] = order.easy_ship_status
    return data


def _address(address: dict[str, str], include_pii: bool) -> JSON:
    return {k: v for k, v in address.items() if include_pii or k not in PII_ADDRESS_FIELDS}


def render_item(item: SimItem, order: SimOrder) -> JSON:
    """An ``OrderItem``; pricing is absent while the order is Pending ([C] ordersV0 note)."""
    data: JSON = {
        "ASIN": item.asin,
        "OrderItemId": item.order_item_id,
        "SellerSKU": item.sku,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.shipped,
        "ProductInfo": {"NumberOfItems": "1"},
        "IsGift": "false",
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
        "IsTransparency": False,
        "SerialNumberRequired": False,
        "BuyerRequestedCancel": {
            "IsBuyerRequestedCancel": "true" if item.cancel_reason else "false",
            "BuyerCancelReason": item.cancel_reason or "",
        },
    }
    if order.status not in PENDING_STATUSES:
        data["ItemPrice"] = money(item.price, order.currency)
        data["ItemTax"] = money(item.tax, order.currency)
        data["PromotionDiscount"] = money(Decimal(0), order.currency)
    return data


def render_listing(listing: SimListing, marketplace_id: str, included: set[str]) -> JSON:
    data: JSON = {"sku": listing.sku}
    if "summaries" in included:
        data["summaries"] = [
            {
                "marketplaceId": marketplace_id,
                "asin": listing.asin,
                "productType": listing.product_type,
                "conditionType": "new_new",
                "status": ["BUYABLE", "DISCOVERABLE"] if listing.quantity > 0 else ["DISCOVERABLE"],
                "itemName": listing.title,
                "createdDate": iso(listing.created),
                "lastUpdatedDate": iso(listing.updated),
            }
        ]
    if "fulfillmentAvailability" in included:
        data["fulfillmentAvailability"] = [
            {"fulfillmentChannelCode": listing.channel_code, "quantity": listing.quantity}
        ]
    if "offers" in included:
        price = {"currencyCode": "USD", "amount": f"{listing.price:.2f}"}
        data["offers"] = [{"marketplaceId": marketplace_id, "offerType": "B2C", "price": price}]
    if "issues" in included:
        data["issues"] = []
    return data


def render_feed(feed: SimFeed) -> JSON:
    data: JSON = {
        "feedId": feed.feed_id,
        "feedType": feed.feed_type,
        "marketplaceIds": feed.marketplace_ids,
        "createdTime": iso(feed.created),
        "processingStatus": feed.status,
    }
    if feed.started is not None:
        data["processingStartTime"] = iso(feed.started)
    if feed.ended is not None:
        data["processingEndTime"] = iso(feed.ended)
    if feed.result_document_id:
        data["resultFeedDocumentId"] = feed.result_document_id
    return data

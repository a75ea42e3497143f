"""``ShopifyConnector``: one connected Shopify store, behind the ``ChannelConnector`` Protocol.

Order write-backs use the REST Admin API (channels.md §1.4); stock goes out in Shopify's bulk form, the
GraphQL ``inventorySetQuantities`` mutation, or per item over REST (``stock_api``; see ``stock.py``).
``mark_shipped`` is idempotent: every fulfillment we create carries ``fenicia:{idempotency_key}`` in its
message, and before creating one we look for an existing fulfillment with the same tracking number (or
marker) and return it.

The shop's address is typed by a merchant, so the client goes through the address guard
(``core.netguard``): a non-public address is refused unless the operator allows it (``allow_private_urls``,
handed over by ``netguard.apply_policy`` where the connector is built).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from fenicia.connectors.base import (
    Capability,
    ListingInfo,
    NormalizedOrder,
    OrderCursor,
    OrderPage,
    RemoteResult,
    ShipRequest,
    StockResult,
    StockUpdate,
    TrackingRequest,
    WebhookEvent,
    WebhookHeaders,
)
from fenicia.connectors.shopify import stock, webhooks
from fenicia.connectors.shopify.client import JSON, ShopifyClient
from fenicia.connectors.shopify.orders import fetch_orders, live_fulfillments, normalize_order
from fenicia.connectors.shopify.settings import ShopifyCredentials, ShopifySettings
from fenicia.core import netguard
from fenicia.core.errors import (
    ConfigError,
    ConflictError,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

CAPABILITIES = frozenset(
    {Capability.SHIP, Capability.CANCEL, Capability.TRACKING, Capability.STOCK, Capability.WEBHOOKS}
)
FULFILLABLE_FO_STATUSES = frozenset({"open", "in_progress"})
# REST `reason` values of orders/{id}/cancel.json; anything else is sent as "other".
CANCEL_REASONS = frozenset({"customer", "declined", "fraud", "inventory", "other", "staff"})


def idempotency_marker(key: str) -> str:
    return f"fenicia:{key}"


class ShopifyConnector:
    """One Shopify store. Methods raise ``fenicia.core.errors`` classes only."""

    capabilities: frozenset[str] = CAPABILITIES

    def __init__(self, settings: ShopifySettings, credentials: ShopifyCredentials) -> None:
        self.settings = settings
        self._client_secret = credentials.client_secret
        self.allow_private_urls = False  # the operator's choice arrives after building (netguard.apply_policy)
        guard = netguard.GuardedTransport(allow=lambda: self.allow_private_urls)
        self.client = ShopifyClient(settings, credentials, transport=guard)
        self._location_id: int | None = settings.location_id
        self._location_confirmed = False  # the stock location was seen active during this set_stock call

    async def test_connection(self) -> str:
        """The store's name, proving the token works."""
        try:
            shop = (await self.client.get("shop.json")).body.get("shop")
        except RemoteNotFound:  # a sandbox without shop.json: any authenticated read proves the token
            await self.client.get("locations.json")
            shop = None
        if isinstance(shop, dict) and shop.get("name"):
            return str(shop["name"])
        parts = urlsplit(self.settings.shop_url)
        return parts.path.rstrip("/").rpartition("/")[2] or parts.hostname or self.settings.shop_url

    def fetch_orders(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
        return fetch_orders(self.client, cursor)

    async def get_order(self, external_id: str) -> NormalizedOrder:
        return normalize_order(await self._order_json(external_id))

    def verify_webhook(self, headers: WebhookHeaders, body: bytes) -> None:
        webhooks.verify_webhook(headers, body, self._client_secret.get_secret_value())

    def parse_webhook(self, headers: WebhookHeaders, body: bytes) -> WebhookEvent:
        return webhooks.parse_webhook(headers, body)

    async def ensure_webhooks(self, address: str, topics: list[str]) -> None:
        """Subscribe ``address`` to each of ``topics`` it is not subscribed to yet."""
        existing: set[str] = set()
        params = {"limit": self.settings.page_size, "address": address}
        async for items, _ in self.client.pages("webhooks.json", "webhooks", params):
            existing.update(str(w.get("topic")) for w in items if w.get("address") == address)
        for topic in topics:
            if topic not in existing:
                await self._subscribe(address, topic)

    async def _subscribe(self, address: str, topic: str) -> None:
        body = {"webhook": {"topic": topic, "address": address, "format": "json"}}
        # "address for this topic has already been taken": a concurrent call subscribed it first
        with contextlib.suppress(ConflictError):
            await self.client.post("webhooks.json", body)

    async def mark_shipped(self, external_id: str, request: ShipRequest) -> RemoteResult:
        order = await self._order_json(external_id)
        existing = find_existing_fulfillment(order, request)
        if existing is not None:  # an earlier attempt of this action got through
            return RemoteResult(
                remote_id=str(existing.get("id")),
                order=normalize_order(order),
                message=f"Already fulfilled in Shopify as {existing.get('name')}; nothing new was created",
            )
        if order.get("cancelled_at"):
            raise ConflictError(f"Order {order.get('name')} is cancelled in Shopify and cannot be shipped")
        fulfillment_orders = await self._fulfillment_orders(external_id)
        groups = plan_fulfillment(fulfillment_orders, request.lines)
        if not groups:
            raise ConflictError(f"Nothing is left to fulfil on order {order.get('name')} in Shopify")
        created = (await self.client.post("fulfillments.json", fulfillment_body(request, groups))).body
        fulfillment = created.get("fulfillment") or {}
        if fulfillment.get("id") is None:
            raise TransientError("Shopify accepted the fulfillment but sent back no id")
        return RemoteResult(
            remote_id=str(fulfillment["id"]),
            message=f"Fulfilled in Shopify as {fulfillment.get('name')}",
        )

    async def update_tracking(self, external_id: str, request: TrackingRequest) -> RemoteResult:
        fulfillment_id = request.shipment_external_id
        if fulfillment_id is None:
            latest = latest_fulfillment(await self._order_json(external_id))
            if latest is None:
                raise ConflictError("The order has no shipment in Shopify whose tracking could be updated")
            fulfillment_id = str(latest.get("id"))
        body = {
            "fulfillment": {
                "notify_customer": request.notify_customer,
                "tracking_info": tracking_info(request.tracking_number, request.carrier, request.tracking_url),
            }
        }
        path = f"fulfillments/{numeric_id(fulfillment_id, 'fulfillment')}/update_tracking.json"
        await self.client.post(path, body, idempotent=True)
        return RemoteResult(remote_id=fulfillment_id, message="Tracking updated in Shopify")

    async def cancel_order(self, external_id: str, reason: str | None, notify_customer: bool) -> RemoteResult:
        body = {"reason": cancel_reason(reason), "email": notify_customer}
        path = f"orders/{numeric_id(external_id, 'order')}/cancel.json"
        answer = (await self.client.post(path, body)).body
        order = answer.get("order")
        return RemoteResult(
            remote_id=external_id,
            order=normalize_order(order) if isinstance(order, dict) else None,
            message="Cancelled in Shopify",
        )

    async def list_listings(self) -> AsyncIterator[list[ListingInfo]]:
        params = {"limit": self.settings.page_size}
        async for products, _ in self.client.pages("products.json", "products", params):
            yield [listing for product in products for listing in product_listings(product)]

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]:
        """Absolute ``available`` per inventory item at the configured (or first) location, in Shopify's bulk
        form (GraphQL ``inventorySetQuantities``, ``stock_batch_size`` items a call) unless ``stock_api`` is
        "rest". An item the store no longer has is ``skipped``; a location that is no longer active fails
        the whole call."""
        location_id = await self._stock_location()
        self._location_confirmed = False
        write = stock.set_stock_rest if self.settings.stock_api == "rest" else stock.set_stock_graphql
        return await write(self.client, items, location_id, self._require_active_location)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _require_active_location(self, location_id: int) -> None:
        """ConfigError unless the stock location is still an active location of the store (once a call)."""
        if self._location_confirmed:
            return
        locations = (await self.client.get("locations.json")).body.get("locations") or []
        if not any(
            isinstance(loc, dict) and loc.get("id") == location_id and loc.get("active", True) for loc in locations
        ):
            self._location_id = self.settings.location_id  # a location we picked is picked again next time
            raise ConfigError(
                f"The Shopify location {location_id} that receives stock is not an active location any more",
                resolution="Reactivate it in Shopify, or set another location_id in the connection's settings.",
            )
        self._location_confirmed = True

    async def _stock_location(self) -> int:
        if self._location_id is None:
            locations = (await self.client.get("locations.json")).body.get("locations") or []
            active = [loc for loc in locations if isinstance(loc, dict) and loc.get("active", True)]
            if not active:
                raise ConfigError("The Shopify store has no active location to hold stock")
            self._location_id = int(active[0]["id"])
        return self._location_id

    async def _order_json(self, external_id: str) -> JSON:
        body = (await self.client.get(f"orders/{numeric_id(external_id, 'order')}.json")).body
        order = body.get("order")
        if not isinstance(order, dict):
            raise TransientError("Shopify's order answer has no order")
        return order

    async def _fulfillment_orders(self, external_id: str) -> list[JSON]:
        path = f"orders/{numeric_id(external_id, 'order')}/fulfillment_orders.json"
        items = (await self.client.get(path)).body.get("fulfillment_orders")
        if not isinstance(items, list):
            raise TransientError("Shopify's fulfillment_orders answer has no list")
        return items


def numeric_id(value: str, kind: str) -> str:
    """Shopify REST ids are integers; anything else is refused before it reaches a URL path."""
    if not value.isdigit():
        raise ValidationFailed(f"{value!r} is not a Shopify {kind} id")
    return value


def cancel_reason(reason: str | None) -> str:
    word = (reason or "").strip().lower()
    return word if word in CANCEL_REASONS else "other"


def tracking_info(number: str | None, company: str | None, url: str | None) -> dict[str, str]:
    fields = {"number": number, "company": company, "url": url}
    return {key: value for key, value in fields.items() if value}


def fulfillment_body(request: ShipRequest, groups: list[JSON]) -> JSON:
    body: JSON = {
        "message": idempotency_marker(request.idempotency_key),
        "notify_customer": request.notify_customer,
        "line_items_by_fulfillment_order": groups,
    }
    info = tracking_info(request.tracking_number, request.carrier, request.tracking_url)
    if info:
        body["tracking_info"] = info
    return {"fulfillment": body}


def find_existing_fulfillment(order: Mapping[str, Any], request: ShipRequest) -> JSON | None:
    """A live fulfillment that is this request's earlier attempt: same marker or tracking number."""
    marker = idempotency_marker(request.idempotency_key)
    for fulfillment in live_fulfillments(order):
        numbers = {fulfillment.get("tracking_number"), *(fulfillment.get("tracking_numbers") or [])}
        if marker in str(fulfillment.get("message") or ""):
            return fulfillment
        if request.tracking_number and request.tracking_number in numbers:
            return fulfillment
    return None


def latest_fulfillment(order: Mapping[str, Any]) -> JSON | None:
    live = live_fulfillments(order)
    return max(live, key=_created_key) if live else None


def _created_key(fulfillment: Mapping[str, Any]) -> tuple[datetime, int]:
    try:
        created = datetime.fromisoformat(str(fulfillment.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        created = datetime.min.replace(tzinfo=UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    raw_id = fulfillment.get("id")
    return created, raw_id if isinstance(raw_id, int) else 0


def plan_fulfillment(fulfillment_orders: list[JSON], lines: dict[str, int] | None) -> list[JSON]:
    """``line_items_by_fulfillment_order`` for the request: every open unit, or the given lines.

    Raises ConflictError when a line asks for more units than Shopify has left to fulfil.
    """
    wanted = None if lines is None else {key: _wanted_quantity(key, qty) for key, qty in lines.items()}
    groups: list[JSON] = []
    for fo in fulfillment_orders:
        if fo.get("status") not in FULFILLABLE_FO_STATUSES:
            continue
        items = _take_lines(fo, wanted)
        if items:
            groups.append({"fulfillment_order_id": fo["id"], "fulfillment_order_line_items": items})
    leftover = {key: qty for key, qty in (wanted or {}).items() if qty > 0}
    if leftover:
        detail = ", ".join(f"line {key}: {qty}" for key, qty in leftover.items())
        raise ConflictError(f"Shopify has fewer units left to fulfil than requested ({detail} too many)")
    return groups


def _wanted_quantity(line_id: str, quantity: int) -> int:
    if quantity < 0:
        raise ValidationFailed(f"Quantity to ship for line {line_id} cannot be negative")
    return quantity


def _take_lines(fo: Mapping[str, Any], wanted: dict[str, int] | None) -> list[JSON]:
    """Fulfillment order lines to ship, decrementing ``wanted`` (None: everything fulfillable)."""
    items: list[JSON] = []
    for line in fo.get("line_items") or []:
        available = line.get("fulfillable_quantity") or 0
        key = str(line.get("line_item_id"))
        take = available if wanted is None else min(available, wanted.get(key, 0))
        if take > 0:
            items.append({"id": line["id"], "quantity": take})
            if wanted is not None:
                wanted[key] -= take
    return items


def product_listings(product: Mapping[str, Any]) -> list[ListingInfo]:
    """One listing per variant: its id, SKU and ``inventory_item_id`` (what stock writes address)."""
    listings = []
    for variant in product.get("variants") or []:
        title = str(product.get("title") or "")
        variant_title = variant.get("title")
        if variant_title and variant_title != "Default Title":
            title = f"{title} - {variant_title}"
        item = variant.get("inventory_item_id")
        quantity = variant.get("inventory_quantity")
        listings.append(
            ListingInfo(
                external_id=str(variant["id"]),
                sku=variant.get("sku") or None,
                title=title,
                inventory_ref=None if item is None else str(item),
                quantity=quantity if isinstance(quantity, int) else None,
            )
        )
    return listings

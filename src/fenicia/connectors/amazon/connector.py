"""``AmazonConnector``: one seller's Amazon account, behind the ``ChannelConnector`` Protocol.

What Amazon's APIs let us do (channels.md §2.4, §7), and so the capability matrix:

- orders in: polling ``getOrders`` + ``getOrderItems`` (no webhooks: SQS/EventBridge only);
- mark shipped: ``confirmShipment``, idempotent by reading the order first (:mod:`shipping`);
- stock: ``patchListingsItem`` or a ``JSON_LISTINGS_FEED`` (:mod:`stock`);
- not supported, refused before anything is queued (``UNSUPPORTED_REASONS``): seller cancellation
  (no seller cancel call in the official Orders API models; the documented ``cancelOrder`` has no
  confirmed version or path) and tracking changes after confirmation (no v0 call; the legacy XML
  fulfillment feed is unconfirmed). We do not guess at endpoints that could half-work.

The addresses (``endpoint``, ``lwa_token_url``) are typed by a merchant, so the client goes through the
address guard (``core.netguard``): a non-public address is refused unless the operator allows it
(``allow_private_urls``, handed over by ``netguard.apply_policy`` where the connector is built).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from fenicia.connectors.amazon import shipping, stock, webhooks
from fenicia.connectors.amazon.client import AmazonClient
from fenicia.connectors.amazon.polling import ORDERS_PATH, fetch_one, fetch_orders, iso
from fenicia.connectors.amazon.settings import AmazonCredentials, AmazonSettings
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
    TokenStore,
    TrackingRequest,
    WebhookEvent,
    WebhookHeaders,
)
from fenicia.core import netguard
from fenicia.core.clock import utcnow
from fenicia.core.errors import UnsupportedOperation

CAPABILITIES = frozenset({Capability.SHIP, Capability.STOCK})
UNSUPPORTED_REASONS: dict[str, str] = {
    Capability.CANCEL: (
        "Amazon's Orders API offers no seller cancellation Fenicia can call. Cancel the order in Seller Central "
        "(Orders > Manage Orders > Cancel order); Fenicia picks up the cancellation at its next sync."
    ),
    Capability.TRACKING: (
        "Amazon takes the tracking number once, when the shipment is confirmed, and its Orders API has no call "
        "to change it afterwards. Correct the tracking on the order in Seller Central."
    ),
    Capability.WEBHOOKS: (
        "Amazon sends order notifications only to Amazon SQS or EventBridge, not to web addresses; "
        "Fenicia polls Amazon every 15 minutes instead."
    ),
}


class AmazonConnector:
    """One Amazon seller account. Methods raise ``fenicia.core.errors`` classes only."""

    capabilities: frozenset[str] = CAPABILITIES

    def __init__(self, settings: AmazonSettings, credentials: AmazonCredentials, tokens: TokenStore) -> None:
        self.settings = settings
        self.allow_private_urls = False  # the operator's choice arrives after building (netguard.apply_policy)
        guard = netguard.GuardedTransport(allow=lambda: self.allow_private_urls)
        self.client = AmazonClient(settings, credentials, tokens, transport=guard)

    async def test_connection(self) -> str:
        """Proves the refresh token and the Orders role with one small getOrders call."""
        params = {
            "MarketplaceIds": ",".join(self.settings.marketplace_ids),
            "LastUpdatedAfter": iso(utcnow() - timedelta(days=1)),
            "MaxResultsPerPage": 1,
        }
        await self.client.get("getOrders", ORDERS_PATH, params)
        return f"Amazon seller {self.settings.seller_id} ({', '.join(self.settings.marketplace_ids)})"

    def fetch_orders(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
        return fetch_orders(self.client, cursor)

    async def get_order(self, external_id: str) -> NormalizedOrder:
        return await fetch_one(self.client, external_id)

    def verify_webhook(self, headers: WebhookHeaders, body: bytes) -> None:
        webhooks.verify_webhook(headers, body)

    def parse_webhook(self, headers: WebhookHeaders, body: bytes) -> WebhookEvent:
        return webhooks.parse_webhook(headers, body)

    async def ensure_webhooks(self, address: str, topics: list[str]) -> None:
        raise UnsupportedOperation(f"Webhooks are not available for Amazon: {UNSUPPORTED_REASONS[Capability.WEBHOOKS]}")

    async def mark_shipped(self, external_id: str, request: ShipRequest) -> RemoteResult:
        return await shipping.confirm_shipment(self.client, external_id, request)

    async def cancel_order(self, external_id: str, reason: str | None, notify_customer: bool) -> RemoteResult:
        raise UnsupportedOperation(f"Cancel is not available for Amazon: {UNSUPPORTED_REASONS[Capability.CANCEL]}")

    async def update_tracking(self, external_id: str, request: TrackingRequest) -> RemoteResult:
        raise UnsupportedOperation(
            f"Add tracking is not available for Amazon: {UNSUPPORTED_REASONS[Capability.TRACKING]}"
        )

    def list_listings(self) -> AsyncIterator[list[ListingInfo]]:
        return stock.list_listings(self.client)

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]:
        return await stock.set_stock(self.client, items)

    async def aclose(self) -> None:
        await self.client.aclose()

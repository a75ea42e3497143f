"""``MercadoLibreConnector``: one seller account, behind the ``ChannelConnector`` Protocol.

Orders come in by notifications (pointers verified against the connection's App ID and seller, then
``get_order``) and by ``/orders/search`` polling to verify. Capabilities are per channel, but ML's
write-backs depend on each order's shipping mode: mark shipped and tracking work for ME1/custom
shipping and are refused for Mercado Envíos (me2) with :class:`UnsupportedOperation` naming the mode
(``shipping.order_blockers`` gives the same reasons from a stored order, before anything is queued).

The addresses (``api_url``, ``token_url``) are typed by a merchant, so the client goes through the
address guard (``core.netguard``): a non-public address is refused unless the operator allows it
(``allow_private_urls``, handed over by ``netguard.apply_policy`` where the connector is built).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

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
from fenicia.connectors.mercadolibre import listings, polling, shipping, webhooks
from fenicia.connectors.mercadolibre.auth import TokenManager
from fenicia.connectors.mercadolibre.client import NEW_SHIPMENT_FORMAT, MercadoLibreClient
from fenicia.connectors.mercadolibre.orders import normalize_order
from fenicia.connectors.mercadolibre.settings import MercadoLibreCredentials, MercadoLibreSettings
from fenicia.core import netguard
from fenicia.core.errors import ConfigError, RemoteNotFound, TransientError

CAPABILITIES = frozenset(
    {Capability.SHIP, Capability.CANCEL, Capability.TRACKING, Capability.STOCK, Capability.WEBHOOKS}
)


class MercadoLibreConnector:
    """One MercadoLibre seller. Methods raise ``fenicia.core.errors`` classes only."""

    capabilities: frozenset[str] = CAPABILITIES

    def __init__(
        self, settings: MercadoLibreSettings, credentials: MercadoLibreCredentials, tokens: TokenStore
    ) -> None:
        self.settings = settings
        self.app_id = credentials.client_id
        self.allow_private_urls = False  # the operator's choice arrives after building (netguard.apply_policy)
        guard = netguard.GuardedTransport(allow=lambda: self.allow_private_urls)
        http = httpx.AsyncClient(
            transport=guard,  # API and token endpoint alike
            base_url=settings.api_url,
            headers={"Accept": "application/json"},
            timeout=settings.timeout_seconds,
        )
        self.auth = TokenManager(settings, credentials, tokens, http)
        self.client = MercadoLibreClient(settings, http, self.auth)

    async def test_connection(self) -> str:
        """The seller's nickname, proving the token works and belongs to the configured seller."""
        me = await self.client.get("/users/me")
        if not isinstance(me, dict):
            raise TransientError("MercadoLibre's /users/me answer is not an object")
        if str(me.get("id")) != str(self.settings.seller_id):
            raise ConfigError(
                f"The token belongs to MercadoLibre user {me.get('id')}, not seller {self.settings.seller_id}",
                resolution="Set the seller id of the authorized account, or authorize with the right account.",
            )
        return str(me.get("nickname") or me.get("id"))

    def fetch_orders(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
        return polling.fetch_orders(self.client, cursor)

    async def get_order(self, external_id: str) -> NormalizedOrder:
        """An order by id, or by ``shipment:<id>`` (a shipments notification) resolved to its order."""
        if external_id.startswith(webhooks.SHIPMENT_REF_PREFIX):
            external_id = await self._order_of_shipment(external_id.removeprefix(webhooks.SHIPMENT_REF_PREFIX))
        return normalize_order(await shipping.fetch_bundle(self.client, external_id))

    def verify_webhook(self, headers: WebhookHeaders, body: bytes) -> None:
        webhooks.verify_webhook(body, self.app_id, self.settings.seller_id)

    def parse_webhook(self, headers: WebhookHeaders, body: bytes) -> WebhookEvent:
        return webhooks.parse_webhook(body)

    async def ensure_webhooks(self, address: str, topics: list[str]) -> None:
        """ML sets the callback URL and topics per application, in its app manager: check, don't change."""
        app = await self.client.get(f"/applications/{self.app_id}")
        app = app if isinstance(app, dict) else {}
        callback = app.get("notifications_callback_url")
        subscribed = {str(topic) for topic in app.get("notifications_topics") or []}
        missing = [topic for topic in topics if topic not in subscribed]
        if callback != address or missing:
            raise ConfigError(
                "MercadoLibre notifications are not pointed at this connection",
                resolution=f"In MercadoLibre's application manager set the notifications callback URL to {address} "
                f"and select the topics {', '.join(topics)}.",
            )

    async def mark_shipped(self, external_id: str, request: ShipRequest) -> RemoteResult:
        return await shipping.mark_shipped(self.client, self.settings, external_id, request)

    async def cancel_order(self, external_id: str, reason: str | None, notify_customer: bool) -> RemoteResult:
        return await shipping.cancel_order(self.client, self.settings, external_id, reason)

    async def update_tracking(self, external_id: str, request: TrackingRequest) -> RemoteResult:
        return await shipping.update_tracking(self.client, self.settings, external_id, request)

    def list_listings(self) -> AsyncIterator[list[ListingInfo]]:
        return listings.list_listings(self.client)

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]:
        return await listings.set_stock(self.client, items)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _order_of_shipment(self, shipment_id: str) -> str:
        """The order a shipment belongs to: legacy ``order_id``, else the first of ``/shipments/{id}/items``."""
        path = f"/shipments/{shipping.numeric_id(shipment_id, 'shipment')}"
        shipment = await self.client.get(path, headers=NEW_SHIPMENT_FORMAT)
        order_id = shipment.get("order_id") if isinstance(shipment, dict) else None
        if order_id in (None, ""):
            items = await self.client.get(f"{path}/items")
            order_id = _first_order_id(items)
        if order_id in (None, ""):
            raise RemoteNotFound(f"MercadoLibre shipment {shipment_id} names no order")
        return str(order_id)


def _first_order_id(items: Any) -> Any:
    for entry in items if isinstance(items, list) else []:
        if isinstance(entry, Mapping) and entry.get("order_id") not in (None, ""):
            return entry["order_id"]
    return None

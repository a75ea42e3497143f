"""``TikTokConnector``: one authorized TikTok Shop, behind the ``ChannelConnector`` Protocol.

Orders come in by webhooks (pointers, fetched with Get Order Detail) and by ``orders/search`` polling
that reconciles them; write-backs work on packages (see :mod:`.fulfillment`); stock goes per product
(see :mod:`.stock`). Every call is signed and authenticated by :class:`.client.TikTokClient`.

The addresses (``api_base_url``, ``auth_base_url``) are typed by a merchant, so the client goes through the
address guard (``core.netguard``): a non-public address is refused unless the operator allows it
(``allow_private_urls``, handed over by ``netguard.apply_policy`` where the connector is built).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

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
from fenicia.connectors.tiktok import fulfillment, stock, webhooks
from fenicia.connectors.tiktok.client import JSON, TikTokClient
from fenicia.connectors.tiktok.orders import DETAIL_PATH, fetch_orders, normalize_order
from fenicia.connectors.tiktok.settings import TikTokCredentials, TikTokSettings
from fenicia.core import netguard
from fenicia.core.errors import ConflictError, RemoteNotFound, TransientError, ValidationFailed

CAPABILITIES = frozenset(
    {Capability.SHIP, Capability.CANCEL, Capability.TRACKING, Capability.STOCK, Capability.WEBHOOKS}
)
WEBHOOKS_PATH = "/event/202309/webhooks"
ID_CHARS = frozenset("0123456789")


class TikTokConnector:
    """One TikTok Shop. Methods raise ``fenicia.core.errors`` classes only."""

    capabilities: frozenset[str] = CAPABILITIES

    def __init__(self, settings: TikTokSettings, credentials: TikTokCredentials, tokens: TokenStore) -> None:
        self.settings = settings
        self._credentials = credentials
        self.allow_private_urls = False  # the operator's choice arrives after building (netguard.apply_policy)
        guard = netguard.GuardedTransport(allow=lambda: self.allow_private_urls)
        self.client = TikTokClient(settings, credentials, tokens, transport=guard)
        self._providers: dict[str, list[Any]] = {}  # delivery option id -> its shipping providers

    async def test_connection(self) -> str:
        """The shop's name, proving the authorization and the signature work."""
        data = await self.client.get("/authorization/202309/shops", shop_scoped=False)
        shops = data.get("shops") if isinstance(data, dict) else None
        names = [str(s.get("name")) for s in shops or [] if isinstance(s, dict) and s.get("name")]
        return names[0] if names else "TikTok Shop"

    def fetch_orders(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
        return fetch_orders(self.client, cursor)

    async def get_order(self, external_id: str) -> NormalizedOrder:
        return normalize_order(await self.order_json(external_id))

    def verify_webhook(self, headers: WebhookHeaders, body: bytes) -> None:
        webhooks.verify_webhook(
            headers, body, self._credentials.app_key, self._credentials.app_secret.get_secret_value()
        )

    def parse_webhook(self, headers: WebhookHeaders, body: bytes) -> WebhookEvent:
        return webhooks.parse_webhook(body, self.settings.shop_id)

    async def ensure_webhooks(self, address: str, topics: list[str]) -> None:
        """Point each event type at ``address`` (TikTok keeps one address per event type and shop)."""
        data = await self.client.get(WEBHOOKS_PATH)
        current = {
            str(hook.get("event_type")): hook.get("address")
            for hook in (data.get("webhooks") if isinstance(data, dict) else None) or []
            if isinstance(hook, dict)
        }
        for topic in topics:
            if current.get(topic) != address:
                await self.client.put(WEBHOOKS_PATH, {"address": address, "event_type": topic})

    async def mark_shipped(self, external_id: str, request: ShipRequest) -> RemoteResult:
        raw = await self.order_json(external_id)
        earlier = fulfillment.find_earlier_shipment(raw, request)
        if earlier is not None:  # an earlier attempt of this action got through
            return RemoteResult(
                remote_id=earlier,
                order=normalize_order(raw),
                message=f"Already shipped in TikTok Shop as package {earlier}; nothing new was sent",
            )
        fulfillment.refuse_unshippable(raw)
        plan = fulfillment.plan_shipment(raw, request.lines)
        if raw.get("shipping_type") == "TIKTOK":
            return await self._ship_platform(raw, plan)
        if not request.tracking_number:
            raise ValidationFailed("A tracking number is needed to ship a seller-shipped TikTok Shop order")
        provider_id = await self._provider_id(raw, request.carrier)
        if plan.package_id is not None:
            path = f"/fulfillment/202309/packages/{_id(plan.package_id, 'package')}/ship"
            await self.client.post(path, fulfillment.self_shipment_body(request.tracking_number, provider_id))
            package_id = plan.package_id
        else:
            path = f"/fulfillment/202309/orders/{_id(external_id, 'order')}/packages"
            body = fulfillment.mark_shipped_body(plan, request.tracking_number, provider_id)
            answer = await self.client.post(path, body)
            package_id = str(answer.get("package_id") or "") if isinstance(answer, dict) else ""
            if not package_id:
                raise TransientError("TikTok Shop accepted the shipment but sent back no package id")
        return RemoteResult(remote_id=package_id, message=f"Shipped in TikTok Shop as package {package_id}")

    async def _ship_platform(self, raw: JSON, plan: fulfillment.ShipPlan) -> RemoteResult:
        if plan.package_id is None:
            raise ConflictError(
                "This TikTok-shipped order can only be shipped whole, package by package",
                resolution="Ship it in TikTok Shop Seller Center.",
            )
        path = f"/fulfillment/202309/packages/{_id(plan.package_id, 'package')}/ship"
        await self.client.post(path, {"handover_method": self.settings.platform_handover_method})
        return RemoteResult(remote_id=plan.package_id, message="Handed over to TikTok Shop's carrier")

    async def update_tracking(self, external_id: str, request: TrackingRequest) -> RemoteResult:
        raw = await self.order_json(external_id)
        if raw.get("shipping_type") == "TIKTOK":
            raise ConflictError(
                "TikTok ships this order with its own carrier; its tracking cannot be changed",
                resolution="Nothing to do: TikTok Shop keeps the tracking of platform shipments.",
            )
        package_id = request.shipment_external_id or fulfillment.latest_shipped_package(raw)
        if package_id is None or package_id not in fulfillment.shipped_package_ids(raw):
            raise ConflictError("The order has no shipped package in TikTok Shop whose tracking could be updated")
        current = fulfillment.package_provider(raw, package_id)
        if request.carrier is None and current is not None:
            provider_id = current  # same carrier, new number
        else:
            provider_id = await self._provider_id(raw, request.carrier)
        body = {"tracking_number": request.tracking_number, "shipping_provider_id": provider_id}
        path = f"/fulfillment/202309/packages/{_id(package_id, 'package')}/shipping_info/update"
        await self.client.post(path, body, idempotent=True)
        return RemoteResult(remote_id=package_id, message="Tracking updated in TikTok Shop")

    async def cancel_order(self, external_id: str, reason: str | None, notify_customer: bool) -> RemoteResult:
        """Seller cancellation of the whole order; an order already cancelled counts as done."""
        raw = await self.order_json(external_id)
        if raw.get("status") == "CANCELLED":
            return RemoteResult(remote_id=None, order=normalize_order(raw), message="Already cancelled in TikTok Shop")
        fulfillment.refuse_uncancellable(raw)
        body = {
            "order_id": _id(external_id, "order"),
            "cancel_reason": fulfillment.cancel_reason_code(reason, str(raw.get("status")), self.settings),
        }
        answer = await self.client.post("/return_refund/202309/cancellations", body)
        cancel_id = answer.get("cancel_id") if isinstance(answer, dict) else None
        status = answer.get("cancel_status") if isinstance(answer, dict) else None
        return RemoteResult(
            remote_id=None if cancel_id is None else str(cancel_id),
            message=f"Cancellation sent to TikTok Shop ({status or 'accepted'})",
        )

    def list_listings(self) -> AsyncIterator[list[ListingInfo]]:
        return stock.list_listings(self.client)

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]:
        return await stock.set_stock(self.client, items)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def order_json(self, external_id: str) -> JSON:
        data = await self.client.get(DETAIL_PATH, {"ids": _id(external_id, "order")})
        orders = data.get("orders") if isinstance(data, dict) else None
        for order in orders or []:
            if isinstance(order, dict) and str(order.get("id")) == external_id:
                return order
        raise RemoteNotFound(f"TikTok Shop has no order {external_id}")

    async def _provider_id(self, raw: JSON, carrier: str | None) -> str:
        configured = fulfillment.configured_provider(self.settings, carrier)
        if configured is not None:
            return configured
        if carrier is None:
            raise ValidationFailed(
                "Name the carrier of this shipment: TikTok Shop needs its shipping provider",
                resolution="Enter the carrier, or set a default shipping provider id in the connection settings.",
            )
        providers = await self._providers_of(str(raw.get("delivery_option_id") or ""))
        found = fulfillment.match_provider(providers, carrier)
        if found is None:
            known = ", ".join(sorted(str(p.get("name")) for p in providers if isinstance(p, dict))) or "none"
            raise ValidationFailed(
                f"TikTok Shop has no shipping provider named {carrier!r} for this order (known: {known})",
                resolution="Use one of the listed carriers, or map the carrier name in the connection settings.",
            )
        return found

    async def _providers_of(self, delivery_option_id: str) -> list[Any]:
        if delivery_option_id not in self._providers:
            if not delivery_option_id:
                raise ValidationFailed("The TikTok Shop order names no delivery option to find its carriers")
            path = self.settings.shipping_providers_path.format(delivery_option_id=_id(delivery_option_id, "option"))
            data = await self.client.get(path)
            providers = data.get("shipping_providers") if isinstance(data, dict) else None
            self._providers[delivery_option_id] = [p for p in providers or [] if isinstance(p, dict)]
        return self._providers[delivery_option_id]


def _id(value: str, kind: str) -> str:
    """TikTok ids are digits; anything else is refused before it reaches a URL path or body."""
    if not value or not set(value) <= ID_CHARS:
        raise ValidationFailed(f"{value!r} is not a TikTok Shop {kind} id")
    return value

"""``WalmartConnector``: one Walmart Marketplace seller account, behind the ``ChannelConnector`` Protocol.

Orders are polled (``GET /v3/orders`` by last-modified time); write-backs follow reference §4.4.
Every write reads the order first, so a retry after a lost answer finds what the first attempt did:
``mark_shipped`` adopts a package that already carries the request's tracking number, ``cancel_order``
finds the lines already cancelled, ``update_tracking`` finds the new number already set. Created lines
are acknowledged as part of ``mark_shipped`` (Walmart requires it before shipping).

The addresses (``api_base_url``, and the token API below it) are typed by a merchant, so the client goes through the
address guard (``core.netguard``): a non-public address is refused unless the operator allows it
(``allow_private_urls``, handed over by ``netguard.apply_policy`` where the connector is built).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

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
from fenicia.connectors.walmart import writeback as wb
from fenicia.connectors.walmart.client import JSON, WalmartClient
from fenicia.connectors.walmart.orders import line_units as units_of
from fenicia.connectors.walmart.orders import normalize_order, status_from_units, to_epoch_ms
from fenicia.connectors.walmart.orders import order_lines as lines_of
from fenicia.connectors.walmart.polling import OrderPoller
from fenicia.connectors.walmart.settings import WalmartCredentials, WalmartSettings
from fenicia.connectors.walmart.stock import StockWriter
from fenicia.core import netguard
from fenicia.core.clock import utcnow
from fenicia.core.errors import ConflictError, TransientError, UnsupportedOperation, ValidationFailed
from fenicia.orders.models import OrderStatus

CAPABILITIES = frozenset({Capability.SHIP, Capability.CANCEL, Capability.TRACKING, Capability.STOCK})
NO_WEBHOOKS = "Walmart orders are polled every 15 minutes; Walmart's notifications API is not used by Fenicia."


class WalmartConnector:
    """One Walmart seller account. Methods raise ``fenicia.core.errors`` classes only."""

    capabilities: frozenset[str] = CAPABILITIES

    def __init__(self, settings: WalmartSettings, credentials: WalmartCredentials, tokens: TokenStore) -> None:
        self.settings = settings
        self.allow_private_urls = False  # the operator's choice arrives after building (netguard.apply_policy)
        guard = netguard.GuardedTransport(allow=lambda: self.allow_private_urls)
        self.client = WalmartClient(settings, credentials, tokens, transport=guard)
        self._stock = StockWriter(self.client)

    async def test_connection(self) -> str:
        """Proves the API key works (a token is granted) and names the account by its Client ID."""
        detail = (await self.client.get("/v3/token/detail")).body
        scopes = detail.get("scopes")
        if isinstance(scopes, dict) and scopes.get("orders") == "no_access":
            raise ValidationFailed(
                "The Walmart API key has no access to Orders.",
                resolution="Give the key Orders access in Seller Center, then reconnect.",
            )
        return f"Walmart seller ({self.client.tokens.client_id[:8]}…)"

    def fetch_orders(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
        return OrderPoller(self.client).pages(cursor)

    async def get_order(self, external_id: str) -> NormalizedOrder:
        return self._normalize(await self._order_json(external_id))

    def verify_webhook(self, headers: WebhookHeaders, body: bytes) -> None:
        raise UnsupportedOperation(f"Walmart webhooks are not accepted. {NO_WEBHOOKS}")

    def parse_webhook(self, headers: WebhookHeaders, body: bytes) -> WebhookEvent:
        raise UnsupportedOperation(f"Walmart webhooks are not accepted. {NO_WEBHOOKS}")

    async def ensure_webhooks(self, address: str, topics: list[str]) -> None:
        raise UnsupportedOperation(NO_WEBHOOKS)

    async def mark_shipped(self, external_id: str, request: ShipRequest) -> RemoteResult:
        number = (request.tracking_number or "").strip()
        if not number:
            raise ValidationFailed("Walmart needs a tracking number to mark an order shipped.")
        order = await self._order_json(external_id)
        earlier = wb.find_group(order, number=number)
        if earlier is not None:  # an earlier attempt of this action got through
            return RemoteResult(
                remote_id=str(earlier["id"]),
                order=self._normalize(order),
                message=f"Already shipped in Walmart with tracking {number}; nothing sent again",
            )
        plans = self._ship_plan(order, request)
        ship_ms = wb.unique_ship_time(order, to_epoch_ms(utcnow()))
        method = wb.method_code(order, self.settings.default_method_code)
        tracking = wb.tracking_info(number, request.carrier, request.tracking_url, ship_ms, method)
        if self.settings.acknowledge_before_ship and wb.created_units(order, plans):
            order = await self._acknowledge(external_id)
        shipped = await self._post_shipping(external_id, wb.shipping_body(order, plans, tracking), number)
        group = wb.find_group(shipped, number=number)
        return RemoteResult(
            remote_id=str(group["id"]) if group else str(ship_ms),
            order=self._normalize(shipped),
            message=f"Shipped in Walmart: {sum(p.quantity for p in plans)} unit(s), tracking {number}",
        )

    def _ship_plan(self, order: JSON, request: ShipRequest) -> list[wb.LinePlan]:
        status = self._status(order)
        if status == OrderStatus.CANCELLED:
            raise ConflictError(f"Walmart order {order.get('purchaseOrderId')} is cancelled and cannot be shipped")
        plans = wb.plan_lines(order, request.lines)
        if not plans:
            raise ConflictError(f"Nothing is left to ship on Walmart order {order.get('purchaseOrderId')}")
        return plans

    async def _acknowledge(self, external_id: str) -> JSON:
        body = (await self.client.post(f"{self._path(external_id)}/acknowledge", idempotent=True)).body
        return await self._order_from(body, external_id)

    async def _post_shipping(self, external_id: str, body: JSON, number: str) -> JSON:
        try:
            answer = (await self.client.post(f"{self._path(external_id)}/shipping", body)).body
        except ConflictError:  # "already shipped": a concurrent or lost attempt may have done it
            fresh = await self._order_json(external_id)
            if wb.find_group(fresh, number=number) is None:
                raise
            return fresh
        return await self._order_from(answer, external_id)

    async def update_tracking(self, external_id: str, request: TrackingRequest) -> RemoteResult:
        order = await self._order_json(external_id)
        group = wb.find_group(order, group_id=request.shipment_external_id)
        if group is None and request.shipment_external_id is not None:
            group = wb.find_group(order, number=request.shipment_external_id)
        if group is None:
            raise ConflictError("The order has no shipment in Walmart whose tracking could be updated")
        if group["tracking"].get("trackingNumber") == request.tracking_number:
            return RemoteResult(str(group["id"]), self._normalize(order), "Walmart already has this tracking number")
        info = group["tracking"]
        carrier = request.carrier or _carrier_text(info)  # the old package's carrier unless a new one is given
        url = request.tracking_url  # never the old URL: it names the old tracking number
        ship_ms = int(info.get("shipDateTime") or to_epoch_ms(utcnow()))
        method = info.get("methodCode") or wb.method_code(order, self.settings.default_method_code)
        new = wb.tracking_info(request.tracking_number, carrier, url, ship_ms, str(method))
        body = wb.tracking_update_body(order, group, new)
        updated = await self._post_shipping(external_id, body, request.tracking_number)
        return RemoteResult(str(group["id"]), self._normalize(updated), "Tracking updated in Walmart")

    async def cancel_order(self, external_id: str, reason: str | None, notify_customer: bool) -> RemoteResult:
        """Cancels every open unit; Walmart tells the buyer itself (``notify_customer`` has no effect)."""
        order = await self._order_json(external_id)
        status = self._status(order)
        if status == OrderStatus.CANCELLED:
            return RemoteResult(external_id, self._normalize(order), "Already cancelled in Walmart")
        if status != OrderStatus.UNSHIPPED:
            raise ConflictError(
                f"Walmart order {external_id} has shipped units and cannot be cancelled",
                resolution="Refund the shipped units in Walmart Seller Center instead.",
            )
        plans = wb.plan_lines(order, None)
        walmart_reason = wb.cancel_reason(reason, bool(wb.intent_lines(order)), self.settings.default_cancel_reason)
        try:
            path = f"{self._path(external_id)}/cancel"
            answer = (await self.client.post(path, wb.cancel_body(plans, walmart_reason))).body
        except ConflictError:
            fresh = await self._order_json(external_id)
            if self._status(fresh) != OrderStatus.CANCELLED:
                raise
            return RemoteResult(external_id, self._normalize(fresh), "Already cancelled in Walmart")
        cancelled = await self._order_from(answer, external_id)
        return RemoteResult(external_id, self._normalize(cancelled), f"Cancelled in Walmart ({walmart_reason})")

    async def list_listings(self) -> AsyncIterator[list[ListingInfo]]:
        async for batch in self._stock.listings():
            yield batch

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]:
        return await self._stock.set_stock(items)

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- helpers ------------------------------------------------------------------------------------

    def _normalize(self, order: JSON) -> NormalizedOrder:
        return normalize_order(order, charge_is_unit_price=self.settings.charge_is_unit_price)

    @staticmethod
    def _status(order: JSON) -> str:
        return status_from_units([units_of(line) for line in lines_of(order)])

    def _path(self, external_id: str) -> str:
        if not external_id.strip() or not external_id.isalnum():
            raise ValidationFailed(f"{external_id!r} is not a Walmart purchase order id")
        return f"/v3/orders/{external_id}"

    async def _order_json(self, external_id: str) -> JSON:
        body = (await self.client.get(self._path(external_id))).body
        return await self._order_from(body, external_id, fetch=False)

    async def _order_from(self, body: JSON, external_id: str, *, fetch: bool = True) -> JSON:
        """The ``order`` of an answer; when an action's answer lacks it, the order read afresh."""
        order = body.get("order")
        if isinstance(order, dict):
            return order
        if fetch:
            return await self._order_json(external_id)
        raise TransientError("Walmart's order answer has no order")


def _carrier_text(info: JSON) -> str | None:
    carrier = info.get("carrierName")
    if isinstance(carrier, dict):
        value = carrier.get("carrier") or carrier.get("otherCarrier")
        return str(value) if value else None
    return None

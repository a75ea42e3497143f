"""The conformance harness for TikTok Shop, over tests/tiktok_sim.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fenicia.connectors.base import NormalizedOrder
from fenicia.connectors.tiktok.orders import normalize_order
from fenicia.connectors.tiktok.signing import webhook_signature
from tiktok_sim import APP_KEY, APP_SECRET, CREDENTIALS, TikTokHandle, running_tiktok

FIXTURE = Path(__file__).parents[1] / "src/fenicia/connectors/tiktok/fixtures/order_detail.json"
DOCUMENTED_STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)


class TikTokHarness:
    channel = "tiktok"

    def __init__(self, handle: TikTokHandle) -> None:
        self.handle = handle
        self.url = handle.url
        self._notifications = 0

    def connection_settings(self) -> dict[str, Any]:
        return self.handle.settings()

    def connection_credentials(self) -> dict[str, Any]:
        return dict(CREDENTIALS)

    def seed_orders(self, count: int) -> list[str]:
        return [str(self.handle.control("POST", "orders", {})["order"]["id"]) for _ in range(count)]

    def customer_cancel(self, external_id: str) -> None:
        self.handle.control("POST", f"orders/{external_id}/cancel", {})

    def expire_tokens(self) -> None:
        self.handle.control("POST", "tokens/expire")

    def token_grants(self) -> int:
        return self.handle.grants()

    def fault(self, kind: str, **rule: Any) -> None:
        self.handle.fault(kind, **rule)

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        return self.handle.requests(method, path_contains)

    def signed_webhook(self, external_id: str) -> tuple[dict[str, str], bytes] | None:
        """An ORDER_STATUS_CHANGE notification for the order's current state, signed like TikTok does."""
        order = self.handle.sim.store.get(external_id)
        self._notifications += 1
        payload = {
            "type": 1,
            "tts_notification_id": f"harness-{external_id}-{self._notifications}",
            "shop_id": self.handle.sim.config.shop_id,
            "timestamp": order.update_time,
            "data": {"order_id": order.id, "order_status": order.status, "update_time": order.update_time},
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Authorization": webhook_signature(APP_KEY, body, APP_SECRET)}
        return headers, body

    def documented_statuses(self) -> list[dict[str, Any]]:
        """The Get Order Detail example with each documented order status."""
        base = json.loads(FIXTURE.read_text())["data"]["orders"][0]
        return [base | {"status": status} for status in DOCUMENTED_STATUSES]

    def normalize(self, raw: dict[str, Any]) -> NormalizedOrder:
        return normalize_order(raw)


@contextmanager
def running() -> Iterator[TikTokHarness]:
    with running_tiktok() as handle:
        yield TikTokHarness(handle)

"""The conformance harness for Shopify, over tests/shopify_sim.py."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fenicia.connectors.base import NormalizedOrder
from fenicia.connectors.shopify.orders import normalize_order
from fenicia.connectors.shopify.sim_webhooks import sign
from shopify_sim import FAST_CONNECTOR, SimHandle, running_shop

FIXTURE = Path(__file__).parents[1] / "src/fenicia/connectors/shopify/fixtures/order.json"


class ShopifyHarness:
    channel = "shopify"

    def __init__(self, handle: SimHandle) -> None:
        self.handle = handle
        self.url = handle.url

    def connection_settings(self) -> dict[str, Any]:
        return {"shop_url": self.url, **FAST_CONNECTOR}

    def connection_credentials(self) -> dict[str, Any]:
        return {"access_token": "shpat_sandbox", "client_secret": "shpss_sandbox"}

    def seed_orders(self, count: int) -> list[str]:
        return [str(self.handle.control("POST", "orders", {})["order"]["id"]) for _ in range(count)]

    def customer_cancel(self, external_id: str) -> None:
        self.handle.control("POST", f"orders/{external_id}/cancel", {})

    def expire_tokens(self) -> None:
        self.handle.fault("revoke_token")

    def token_grants(self) -> int:
        return 0  # offline access tokens are static: never granted at run time

    def fault(self, kind: str, **rule: Any) -> None:
        self.handle.fault(kind, **rule)

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        return self.handle.requests(method, path_contains)

    def signed_webhook(self, external_id: str) -> tuple[dict[str, str], bytes] | None:
        sim = self.handle.sim
        body = json.dumps(sim.store.render(sim.store.orders[int(external_id)])).encode()
        headers = {
            "X-Shopify-Topic": "orders/updated",
            "X-Shopify-Hmac-Sha256": sign(body, "shpss_sandbox"),
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Shop-Domain": "sandbox.myshopify.com",
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(),
            "Content-Type": "application/json",
        }
        return headers, body

    def documented_statuses(self) -> list[dict[str, Any]]:
        """The order example with every financial x fulfillment status combination, open and cancelled."""
        base = json.loads(FIXTURE.read_text())
        financial = ["pending", "authorized", "partially_paid", "paid", "partially_refunded", "refunded", "voided"]
        fulfillment = [None, "partial", "fulfilled", "restocked"]
        samples = []
        for fin in financial:
            for ful in fulfillment:
                for cancelled in (None, "2026-11-01T12:00:00-05:00"):
                    status = {"financial_status": fin, "fulfillment_status": ful, "cancelled_at": cancelled}
                    samples.append(base | status)
        return samples

    def normalize(self, raw: dict[str, Any]) -> NormalizedOrder:
        return normalize_order(raw)


@contextmanager
def running() -> Iterator[ShopifyHarness]:
    with running_shop() as handle:
        yield ShopifyHarness(handle)

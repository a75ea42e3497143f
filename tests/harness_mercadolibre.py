"""The conformance harness for MercadoLibre, over tests/mercadolibre_sim.py.

MercadoLibre notifications carry no signature: a "signed" webhook is one naming this connection's
application and seller. A tampered one (another ``user_id`` or ``application_id``, or an unreadable
body) is refused; a changed ``resource`` cannot be detected (it only makes us re-read our own order).

Seeded orders ship ME1 (the seller ships), so ship, tracking and cancel are all possible on them;
Mercado Envíos (me2) orders refuse ship and tracking per order (see docs/channels/mercadolibre.md).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import fenicia.connectors.mercadolibre as mercadolibre_pkg
from fenicia.connectors.base import NormalizedOrder
from fenicia.connectors.mercadolibre.orders import ORDER_STATUSES, SHIPMENT_STATUSES, normalize_order
from mercadolibre_sim import APP_ID, SELLER_ID, MLHandle, running_ml

FIXTURES = Path(mercadolibre_pkg.__file__).parent / "fixtures"


class MercadoLibreHarness:
    channel = "mercadolibre"

    def __init__(self, handle: MLHandle) -> None:
        self.handle = handle
        self.url = handle.url

    def connection_settings(self) -> dict[str, Any]:
        return self.handle.settings()

    def connection_credentials(self) -> dict[str, Any]:
        return self.handle.credentials()  # a fresh single-use refresh token per connection

    def seed_orders(self, count: int) -> list[str]:
        return [str(self.handle.new_order(mode="me1")["order"]["id"]) for _ in range(count)]

    def customer_cancel(self, external_id: str) -> None:
        self.handle.control("POST", f"orders/{external_id}/cancel", {})

    def expire_tokens(self) -> None:
        self.handle.control("POST", "tokens/expire")

    def token_grants(self) -> int:
        return int(self.handle.token_state()["grants"])

    def fault(self, kind: str, **rule: Any) -> None:
        self.handle.fault(kind, **rule)

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        return self.handle.requests(method, path_contains)

    def signed_webhook(self, external_id: str) -> tuple[dict[str, str], bytes] | None:
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body = {
            "_id": str(uuid.uuid4()),
            "resource": f"/orders/{external_id}",
            "user_id": SELLER_ID,
            "topic": "orders_v2",
            "application_id": int(APP_ID),
            "attempts": 1,
            "sent": now,
            "received": now,
        }
        return {"Content-Type": "application/json"}, json.dumps(body).encode()

    def tamper(self, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        """No signature to break: a forgery is a notification about another seller's account."""
        forged = json.loads(body) | {"user_id": SELLER_ID + 1}
        return headers, json.dumps(forged).encode()

    def documented_statuses(self) -> list[dict[str, Any]]:
        """The documented order example with every order status x every shipment status (and none)."""
        order = json.loads((FIXTURES / "order.json").read_text())
        shipment = json.loads((FIXTURES / "shipment.json").read_text())
        samples = []
        for status in sorted(ORDER_STATUSES):
            samples.append(order | {"status": status})
            for shipment_status in sorted(SHIPMENT_STATUSES):
                samples.append(order | {"status": status, "shipment": shipment | {"status": shipment_status}})
        return samples

    def normalize(self, raw: dict[str, Any]) -> NormalizedOrder:
        return normalize_order(raw)


@contextmanager
def running() -> Iterator[MercadoLibreHarness]:
    with running_ml() as handle:
        yield MercadoLibreHarness(handle)

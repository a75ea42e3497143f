"""The conformance harness for Walmart, over tests/walmart_sim.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fenicia.connectors.base import NormalizedOrder
from fenicia.connectors.walmart.orders import normalize_order
from walmart_sim import FAST_CONNECTOR, WalmartHandle, credentials, running_walmart

FIXTURES = Path(__file__).parents[1] / "src/fenicia/connectors/walmart/fixtures"
TRACKING = {
    "shipDateTime": 1623835855000,
    "carrierName": {"carrier": "USPS"},
    "methodCode": "Value",
    "trackingNumber": "435678956435467",
}


def example_order() -> dict[str, Any]:
    """Walmart's own ``GET /v3/orders/{id}`` example (the ORDER sample of the orders model)."""
    data = json.loads((FIXTURES / "get_order_examples.json").read_text())
    order: dict[str, Any] = data["ORDER"]["value"]["order"]
    return order


def with_statuses(base: dict[str, Any], *entries: tuple[str, int], quantity: int | None = None) -> dict[str, Any]:
    """The example order with its one line in the given (status, units) entries."""
    order = copy.deepcopy(base)
    line = order["orderLines"]["orderLine"][0]
    total = quantity if quantity is not None else sum(units for _, units in entries)
    line["orderLineQuantity"] = {"unitOfMeasurement": "EACH", "amount": str(total)}
    statuses = []
    for word, units in entries:
        entry: dict[str, Any] = {"status": word, "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(units)}}
        if word in ("Shipped", "Delivered", "Refund"):
            entry["trackingInfo"] = dict(TRACKING)
        if word == "Cancelled":
            entry["cancellationReason"] = "SELLER_CANCEL_OUT_OF_STOCK"
        statuses.append(entry)
    line["orderLineStatuses"] = {"orderLineStatus": statuses}
    return order


class WalmartHarness:
    channel = "walmart"

    def __init__(self, handle: WalmartHandle) -> None:
        self.handle = handle
        self.url = handle.url

    def connection_settings(self) -> dict[str, Any]:
        return {"api_base_url": self.url, **FAST_CONNECTOR}

    def connection_credentials(self) -> dict[str, Any]:
        return credentials()

    def seed_orders(self, count: int) -> list[str]:
        return [str(self.handle.control("POST", "orders", {})["order"]["purchaseOrderId"]) for _ in range(count)]

    def customer_cancel(self, external_id: str) -> None:
        self.handle.control("POST", f"orders/{external_id}/cancel", {})

    def expire_tokens(self) -> None:
        self.handle.control("POST", "tokens/expire", {})

    def token_grants(self) -> int:
        return self.handle.grants()

    def fault(self, kind: str, **rule: Any) -> None:
        self.handle.fault(kind, **rule)

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        return self.handle.requests(method, path_contains)

    def signed_webhook(self, external_id: str) -> tuple[dict[str, str], bytes] | None:
        return None  # Walmart orders are polled; its notifications are not received by Fenicia

    def documented_statuses(self) -> list[dict[str, Any]]:
        """One order per documented line status (Created, Acknowledged, Shipped, Delivered, Cancelled,
        Refund), plus the mixes Walmart produces (partly shipped, partly cancelled, delivered + refund)."""
        base = example_order()
        singles = [with_statuses(base, (word, 1)) for word in ("Created", "Acknowledged", "Shipped")]
        singles += [with_statuses(base, (word, 2)) for word in ("Delivered", "Cancelled", "Refund")]
        mixes = [
            with_statuses(base, ("Shipped", 1), ("Acknowledged", 1)),
            with_statuses(base, ("Cancelled", 1), ("Created", 2)),
            with_statuses(base, ("Cancelled", 1), ("Shipped", 1)),
            with_statuses(base, ("Delivered", 1), ("Refund", 1)),
        ]
        return singles + mixes

    def normalize(self, raw: dict[str, Any]) -> NormalizedOrder:
        return normalize_order(raw)


@contextmanager
def running() -> Iterator[WalmartHarness]:
    with running_walmart() as handle:
        yield WalmartHarness(handle)

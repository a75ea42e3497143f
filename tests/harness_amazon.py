"""The conformance harness for Amazon (SP-API), over tests/amazon_sim.py."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import fenicia.connectors.amazon as amazon_pkg
from amazon_sim import CREDENTIALS, SimHandle, running_amazon
from fenicia.connectors.amazon.orders import DOCUMENTED_STATUSES, RAW_ITEMS_KEY, normalize_order
from fenicia.connectors.base import NormalizedOrder

FIXTURES = Path(amazon_pkg.__file__).parent / "fixtures"


class AmazonHarness:
    channel = "amazon"

    def __init__(self, handle: SimHandle) -> None:
        self.handle = handle
        self.url = handle.url

    def connection_settings(self) -> dict[str, Any]:
        return self.handle.settings_dict()

    def connection_credentials(self) -> dict[str, Any]:
        return dict(CREDENTIALS)

    def seed_orders(self, count: int) -> list[str]:
        return [str(self.handle.new_order()["AmazonOrderId"]) for _ in range(count)]

    def customer_cancel(self, external_id: str) -> None:
        self.handle.control("POST", f"orders/{external_id}/cancel", {})

    def expire_tokens(self) -> None:
        self.handle.control("POST", "tokens/expire", {})

    def token_grants(self) -> int:
        return int(self.handle.state()["token_grants"])

    def fault(self, kind: str, **rule: Any) -> None:
        self.handle.fault(kind, **rule)

    def requests(self, method: str, path_contains: str) -> list[dict[str, Any]]:
        return self.handle.requests(method, path_contains)

    def signed_webhook(self, external_id: str) -> tuple[dict[str, str], bytes] | None:
        return None  # Amazon notifies through SQS/EventBridge only: no webhooks to receive

    def documented_statuses(self) -> list[dict[str, Any]]:
        """The official example order (with its items) in each documented OrderStatus, plus an Easy Ship
        delivered one; each as getOrder returns it, items under ``OrderItems``."""
        order = json.loads((FIXTURES / "getOrders-example.json").read_text())["payload"]["Orders"][0]
        items = json.loads((FIXTURES / "getOrderItems-example.json").read_text())["payload"]["OrderItems"]
        samples = []
        for status in DOCUMENTED_STATUSES:
            sample = copy.deepcopy(order) | {"OrderStatus": status, RAW_ITEMS_KEY: copy.deepcopy(items)}
            samples.append(sample)
        delivered = copy.deepcopy(order) | {"OrderStatus": "Shipped", "EasyShipShipmentStatus": "Delivered"}
        samples.append(delivered | {RAW_ITEMS_KEY: copy.deepcopy(items)})
        return samples

    def normalize(self, raw: dict[str, Any]) -> NormalizedOrder:
        return normalize_order(raw)


@contextmanager
def running() -> Iterator[AmazonHarness]:
    with running_amazon() as handle:
        yield AmazonHarness(handle)

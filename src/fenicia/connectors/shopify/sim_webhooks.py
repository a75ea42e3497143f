"""Webhook subscriptions and signed deliveries with Shopify's retry policy.

A delivery is one event for one subscription. Its id (X-Shopify-Webhook-Id), body and
X-Shopify-Triggered-At stay the same on every attempt. Sending, ordering, retries and the webhook
faults are `fenicia.sandbox.webhook_sender`'s; this module adds Shopify's subscriptions and headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from fenicia.connectors.shopify.sim_clock import SimClock
from fenicia.connectors.shopify.sim_config import WEBHOOK_TOPICS, ShopifySimConfig
from fenicia.connectors.shopify.sim_faults import FaultSet
from fenicia.connectors.shopify.sim_models import ApiError, not_found
from fenicia.connectors.shopify.sim_render import JSON
from fenicia.connectors.shopify.sim_seed import IdSequence
from fenicia.sandbox import webhook_sender


def sign(body: bytes, secret: str) -> str:
    """X-Shopify-Hmac-Sha256: base64 of HMAC-SHA256 over the raw body, keyed by the app secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


@dataclass
class Subscription:
    id: int
    topic: str
    address: str
    api_version: str
    created_at: str
    format: str = "json"

    def public(self) -> JSON:
        return {
            "id": self.id,
            "address": self.address,
            "topic": self.topic,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "format": self.format,
            "fields": [],
            "metafield_namespaces": [],
            "api_version": self.api_version,
            "private_metafield_namespaces": [],
        }


@dataclass
class Attempt:
    at: str
    status_code: int | None
    error: str | None
    duration_ms: float
    duplicate: bool = False


@dataclass
class Delivery(webhook_sender.Delivery):
    """One event for one subscription: its id, body and X-Shopify-Triggered-At stay the same on every attempt."""

    webhook_id: str
    order_id: int | None
    subscription_id: int
    api_version: str
    body: bytes
    triggered_at: str

    def headers(self, secret: str, shop_domain: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": sign(self.body, secret),
            "X-Shopify-Shop-Domain": shop_domain,
            "X-Shopify-API-Version": self.api_version,
            "X-Shopify-Webhook-Id": self.webhook_id,
            "X-Shopify-Triggered-At": self.triggered_at,
        }

    def public(self, with_payload: bool = False) -> JSON:
        data: JSON = {
            "webhook_id": self.webhook_id,
            "topic": self.topic,
            "order_id": self.order_id,
            "address": self.address,
            "subscription_id": self.subscription_id,
            "api_version": self.api_version,
            "triggered_at": self.triggered_at,
            "status": self.status,
            "held": self.held,
            "next_attempt_at": self.next_attempt_at,
            "answered_2xx": any(webhook_sender.is_2xx(a.status_code) for a in self.attempts),
            "attempts": [a.__dict__ for a in self.attempts],
        }
        if with_payload:
            data["payload"] = json.loads(self.body)
        return data


class WebhookHub(webhook_sender.WebhookSender[Delivery]):
    """Subscriptions, and their deliveries sent with Shopify's headers, signature and retry policy."""

    task_name = "shopify-sim-webhooks"

    def __init__(self, config: ShopifySimConfig, clock: SimClock, faults: FaultSet) -> None:
        super().__init__(faults)
        self.config = config
        self.clock = clock
        self.subscriptions: dict[int, Subscription] = {}
        self._ids = IdSequence(config.seed, "webhook")
        self._uuid_rng = random.Random(f"{config.seed}:webhook-uuid")

    # -- subscriptions -------------------------------------------------------------------------

    def subscribe(self, topic: str, address: str, api_version: str, fmt: str = "json") -> Subscription:
        self._validate(topic, address, fmt)
        sub = Subscription(self._ids.next(), topic, address, api_version, self.clock.iso(self.clock.now()), fmt)
        self.subscriptions[sub.id] = sub
        return sub

    def _validate(self, topic: str, address: str, fmt: str) -> None:
        if topic not in WEBHOOK_TOPICS:
            raise ApiError(422, {"topic": [f"Invalid topic specified: {topic}."]})
        scheme = urlsplit(address).scheme
        if scheme not in ("http", "https") or not urlsplit(address).netloc:
            raise ApiError(422, {"address": ["is invalid"]})
        if scheme != "https" and self.config.require_https_webhooks:
            raise ApiError(422, {"address": [f"protocol {scheme}:// is not supported"]})
        if fmt != "json":
            raise ApiError(422, {"format": ["only json is simulated"]})
        if any(s.topic == topic and s.address == address for s in self.subscriptions.values()):
            raise ApiError(422, {"address": ["for this topic has already been taken"]})

    def unsubscribe(self, subscription_id: int) -> None:
        if self.subscriptions.pop(subscription_id, None) is None:
            raise not_found()

    def get(self, subscription_id: int) -> Subscription:
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            raise not_found()
        return sub

    # -- events --------------------------------------------------------------------------------

    def wants(self, topic: str) -> bool:
        return any(s.topic == topic for s in self.subscriptions.values())

    def emit(self, topic: str, payload: JSON, order_id: int | None) -> None:
        """Queue one delivery per matching subscription (the EventSink of the store)."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        triggered = self.clock.iso_utc_now()
        for sub in [s for s in self.subscriptions.values() if s.topic == topic]:
            webhook_id = str(uuid.UUID(int=self._uuid_rng.getrandbits(128), version=4))
            self.submit(
                Delivery(
                    webhook_id, order_id, sub.id, sub.api_version, body, triggered, topic=topic, address=sub.address
                )
            )

    # -- sending -------------------------------------------------------------------------------

    def compose(self, delivery: Delivery, attempt: webhook_sender.SendAttempt) -> tuple[bytes, dict[str, str]]:
        return delivery.body, delivery.headers(self.config.client_secret, self.config.shop_domain)

    def record(self, delivery: Delivery, attempt: webhook_sender.SendAttempt) -> Attempt:
        at = self.clock.iso_utc_now()
        return Attempt(at, attempt.status_code, attempt.error, attempt.duration_ms, attempt.duplicate)

    def retry_delays(self) -> list[float]:
        return self.config.webhook_retry_delays_s

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.config.webhook_timeout_s, connect=self.config.webhook_connect_timeout_s)

    def counts(self) -> dict[str, int]:
        return {**super().counts(), "subscriptions": len(self.subscriptions)}

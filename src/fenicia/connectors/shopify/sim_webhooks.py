"""Webhook subscriptions and signed deliveries with Shopify's retry policy.

A delivery is one event for one subscription. Its id (X-Shopify-Webhook-Id), body and
X-Shopify-Triggered-At stay the same on every attempt. Deliveries go through an asyncio queue
served by one dispatcher task, so they leave in the order the events happened unless a
`reorder_webhooks` fault holds them back.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from fenicia.connectors.shopify.sim_clock import SimClock
from fenicia.connectors.shopify.sim_config import WEBHOOK_TOPICS, ShopifySimConfig
from fenicia.connectors.shopify.sim_faults import FaultSet
from fenicia.connectors.shopify.sim_models import ApiError, not_found
from fenicia.connectors.shopify.sim_render import JSON
from fenicia.connectors.shopify.sim_seed import IdSequence

MAX_KEPT_DELIVERIES = 100_000


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
class Delivery:
    webhook_id: str
    topic: str
    order_id: int | None
    address: str
    subscription_id: int
    api_version: str
    body: bytes
    triggered_at: str
    status: str = "pending"  # pending | delivered | failed | dropped
    held: bool = False
    retries_scheduled: int = 0
    next_attempt_at: float | None = None
    attempts: list[Attempt] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

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
            "answered_2xx": any(_is_2xx(a.status_code) for a in self.attempts),
            "attempts": [a.__dict__ for a in self.attempts],
        }
        if with_payload:
            data["payload"] = json.loads(self.body)
        return data


def _is_2xx(code: int | None) -> bool:
    return code is not None and 200 <= code < 300


class WebhookHub:
    """Subscriptions, the delivery log and the dispatcher task."""

    def __init__(self, config: ShopifySimConfig, clock: SimClock, faults: FaultSet) -> None:
        self.config = config
        self.clock = clock
        self.faults = faults
        self.subscriptions: dict[int, Subscription] = {}
        self.deliveries: list[Delivery] = []
        self._ids = IdSequence(config.seed, "webhook")
        self._uuid_rng = random.Random(f"{config.seed}:webhook-uuid")
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._held: list[Delivery] = []
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

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
            delivery = Delivery(webhook_id, topic, order_id, sub.address, sub.id, sub.api_version, body, triggered)
            self._remember(delivery)
            self._route(delivery)

    def _remember(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if len(self.deliveries) > MAX_KEPT_DELIVERIES:
            self.deliveries = [d for d in self.deliveries if d.status == "pending"] + [
                d for d in self.deliveries[-MAX_KEPT_DELIVERIES // 2 :] if d.status != "pending"
            ]

    def _route(self, delivery: Delivery) -> None:
        if self.faults.take_delivery_fault("drop_webhooks", delivery.topic, delivery.address):
            delivery.status = "dropped"
            return
        rule = self.faults.take_delivery_fault("reorder_webhooks", delivery.topic, delivery.address)
        if rule is None:
            self._enqueue(delivery)
            return
        delivery.held = True
        self._held.append(delivery)
        if rule.exhausted:
            self.release_held()

    def release_held(self) -> None:
        """Send the held batch, newest first (the reorder fault)."""
        batch, self._held = self._held, []
        for delivery in reversed(batch):
            delivery.held = False
            self._enqueue(delivery)

    def _enqueue(self, delivery: Delivery) -> None:
        loop = self._loop
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and running is not loop and loop.is_running():
            loop.call_soon_threadsafe(self._queue.put_nowait, delivery)  # called from another thread
        else:
            self._queue.put_nowait(delivery)

    # -- dispatch ------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._loop = asyncio.get_running_loop()
            self._task = asyncio.create_task(self._dispatch_forever(), name="shopify-sim-webhooks")
            for delivery in self._waiting_retry():  # re-arm retries left over from a stop()
                if delivery.timer is None and delivery.next_attempt_at is not None:
                    delay = max(delivery.next_attempt_at - time.time(), 0.0)
                    delivery.timer = self._loop.call_later(delay, self._retry_due, delivery)

    def _waiting_retry(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == "pending" and d.next_attempt_at is not None]

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for delivery in self.deliveries:
            self._cancel_timer(delivery)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def flush(self) -> None:
        """Send everything pending now (retry timers and held batches included) and wait."""
        for delivery in self._waiting_retry():
            self._cancel_timer(delivery)
            delivery.next_attempt_at = None
            self._queue.put_nowait(delivery)
        self.release_held()
        if self.running:
            await self._queue.join()
            return
        while not self._queue.empty():
            delivery = self._queue.get_nowait()
            try:
                await self._attempt(delivery)
            finally:
                self._queue.task_done()

    async def _dispatch_forever(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._attempt(delivery)
            finally:
                self._queue.task_done()

    async def _attempt(self, delivery: Delivery) -> None:
        if delivery.status != "pending":
            return
        duplicate = (
            not delivery.attempts
            and self.faults.take_delivery_fault("duplicate_webhooks", delivery.topic, delivery.address) is not None
        )
        ok = await self._send(delivery)
        if duplicate:
            ok = await self._send(delivery, duplicate=True) or ok
        if ok:
            delivery.status = "delivered"
        else:
            self._schedule_retry(delivery)

    async def _send(self, delivery: Delivery, duplicate: bool = False) -> bool:
        client = self._client or httpx.AsyncClient(follow_redirects=False)
        self._client = client
        timeout = httpx.Timeout(self.config.webhook_timeout_s, connect=self.config.webhook_connect_timeout_s)
        headers = delivery.headers(self.config.client_secret, self.config.shop_domain)
        started = time.monotonic()
        code: int | None = None
        error: str | None = None
        try:
            response = await client.post(delivery.address, content=delivery.body, headers=headers, timeout=timeout)
            code = response.status_code
        except httpx.TimeoutException:
            error = "timeout"
        except Exception as exc:  # connection refused, bad URL...: all count as a failed attempt
            error = f"{type(exc).__name__}: {exc}"
        elapsed_ms = round((time.monotonic() - started) * 1000, 1)
        delivery.attempts.append(Attempt(self.clock.iso_utc_now(), code, error, elapsed_ms, duplicate))
        return _is_2xx(code)

    def _schedule_retry(self, delivery: Delivery) -> None:
        delays = self.config.webhook_retry_delays_s
        if delivery.retries_scheduled >= len(delays):
            delivery.status = "failed"
            return
        delay = delays[delivery.retries_scheduled]
        delivery.retries_scheduled += 1
        delivery.next_attempt_at = time.time() + delay
        delivery.timer = asyncio.get_running_loop().call_later(delay, self._retry_due, delivery)

    def _retry_due(self, delivery: Delivery) -> None:
        delivery.timer = None
        delivery.next_attempt_at = None
        self._queue.put_nowait(delivery)

    @staticmethod
    def _cancel_timer(delivery: Delivery) -> None:
        if delivery.timer is not None:
            delivery.timer.cancel()
            delivery.timer = None

    def counts(self) -> dict[str, int]:
        counts = {"pending": 0, "delivered": 0, "failed": 0, "dropped": 0}
        for delivery in self.deliveries:
            counts[delivery.status] += 1
        counts["held"] = len(self._held)
        counts["subscriptions"] = len(self.subscriptions)
        return counts

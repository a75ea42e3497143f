"""Notifications as ML sends them: a JSON pointer POSTed to the application's callback URL, retried.

One notification per change and topic (``orders_v2``: ``/orders/{id}``; ``shipments``:
``/shipments/{id}``), only for the topics the application selected. Its ``_id`` and ``received`` stay the
same on every attempt; ``attempts`` counts up and ``sent`` is the attempt's time. Anything but a 2xx
within ``notification_timeout_s`` is retried after ``notification_retry_delays_s`` [U]; when those run
out the notification is ``failed``. Faults: ``drop_webhooks`` (never sent), ``duplicate_webhooks``
(the first attempt is sent twice), ``reorder_webhooks`` (held, then released newest first).
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig
from fenicia.connectors.mercadolibre.sim_models import SimClock
from fenicia.sandbox import webhook_sender
from fenicia.sandbox.simkit import FaultSet

HEADERS = {"Content-Type": "application/json", "User-Agent": "MercadoLibre Notifications (sandbox)"}


@dataclass
class Attempt:
    at: str
    status_code: int | None
    error: str | None
    duplicate: bool = False


@dataclass
class Notification(webhook_sender.Delivery):
    """One notification; ``topic``, ``address`` and the delivery state are :class:`webhook_sender.Delivery`'s."""

    id: str
    resource: str
    received: str

    def body(self, config: MercadoLibreSimConfig, sent: str) -> bytes:
        payload = {
            "_id": self.id,
            "resource": self.resource,
            "user_id": config.seller_id,
            "topic": self.topic,
            "application_id": config.app_id,
            "attempts": len(self.attempts) + 1,
            "sent": sent,
            "received": self.received,
        }
        return json.dumps(payload).encode()

    def public(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "topic": self.topic,
            "resource": self.resource,
            "address": self.address,
            "received": self.received,
            "status": self.status,
            "held": self.held,
            "next_attempt_at": self.next_attempt_at,
            "attempts": [a.__dict__ for a in self.attempts],
        }


class Notifier(webhook_sender.WebhookSender[Notification]):
    """The notifications log (:attr:`deliveries`) and the task that delivers them in order."""

    task_name = "mercadolibre-sim-notifications"
    settle_on_flush = True  # flush() ends when each notification is delivered or has failed for good

    def __init__(self, config: MercadoLibreSimConfig, clock: SimClock, faults: FaultSet) -> None:
        super().__init__(faults)
        self.config = config
        self.clock = clock
        self._rng = random.Random(f"{config.seed}:notifications")

    def emit(self, topic: str, resource: str) -> None:
        """One notification for this change, if the application wants the topic and has a callback URL."""
        address = self.config.notification_callback_url
        if not address or topic not in self.config.notification_topics:
            return
        note_id = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        received = self.clock.iso_utc(self.clock.now())
        self.submit(Notification(note_id, resource, received, topic=topic, address=address))

    def compose(self, delivery: Notification, attempt: webhook_sender.SendAttempt) -> tuple[bytes, dict[str, str]]:
        attempt.stamp = sent = self.clock.iso_utc(self.clock.now())
        return delivery.body(self.config, sent), HEADERS

    def record(self, delivery: Notification, attempt: webhook_sender.SendAttempt) -> Attempt:
        return Attempt(attempt.stamp, attempt.status_code, attempt.error, attempt.duplicate)

    def retry_delays(self) -> list[float]:
        return self.config.notification_retry_delays_s

    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.config.notification_timeout_s, connect=self.config.notification_connect_timeout_s)

"""Webhook subscriptions and signed deliveries of the simulated TikTok Shop.

TikTok keeps one address per event type and shop (``PUT /event/202309/webhooks``). A notification is
``{"type", "tts_notification_id", "shop_id", "timestamp", "data"}`` signed in ``Authorization`` with
hex HMAC-SHA256(app_secret, app_key + body). A delivery that does not get a 2xx is retried after
``webhook_retry_delays_s`` [U] with the same body and id. Faults: drop, duplicate, reorder (hold a
batch and send it newest first) and tamper (a wrong signature).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from fenicia.connectors.tiktok.signing import webhook_signature
from fenicia.connectors.tiktok.sim_config import TikTokSimConfig
from fenicia.connectors.tiktok.sim_models import JSON, SimClock, bad_parameter
from fenicia.connectors.tiktok.sim_seed import IdSequence
from fenicia.connectors.tiktok.webhooks import EVENT_TYPES
from fenicia.sandbox import webhook_sender
from fenicia.sandbox.simkit import FaultSet

TOPIC_CODES = {name: code for code, name in EVENT_TYPES.items()}


@dataclass
class Delivery(webhook_sender.Delivery):
    """One notification for the address subscribed to its event type; same body and id on every attempt."""

    number: int
    event_type: int
    order_id: str | None
    body: bytes

    def public(self, with_payload: bool = False) -> JSON:
        data: JSON = {
            "number": self.number,
            "type": self.event_type,
            "topic": self.topic,
            "order_id": self.order_id,
            "address": self.address,
            "status": self.status,
            "held": self.held,
            "next_attempt_at": self.next_attempt_at,
            "answered_2xx": any(webhook_sender.is_2xx(a.get("status_code")) for a in self.attempts),
            "attempts": list(self.attempts),
        }
        if with_payload:
            data["payload"] = json.loads(self.body)
        return data


class WebhookHub(webhook_sender.WebhookSender[Delivery]):
    """Subscriptions, and their deliveries signed as TikTok signs them (one dispatcher, event order)."""

    task_name = "tiktok-sim-webhooks"
    attempt_faults = ("tamper_webhooks",)

    def __init__(self, config: TikTokSimConfig, clock: SimClock, faults: FaultSet) -> None:
        super().__init__(faults)
        self.config = config
        self.clock = clock
        self.subscriptions: dict[str, JSON] = {}  # event type name -> {address, create_time}
        self._ids = IdSequence(config.seed, 7_327_112_393_000_000_000)

    # -- subscriptions ---------------------------------------------------------------------------

    def subscribe(self, event_type: str, address: str) -> JSON:
        if event_type not in TOPIC_CODES:
            raise bad_parameter(f"event_type {event_type!r} is not a webhook event type")
        parts = urlsplit(address)
        if parts.scheme not in ("http", "https") or not parts.netloc or len(address) > 255:
            raise bad_parameter("address must be an http(s) URL of at most 255 characters")
        self.subscriptions[event_type] = {"address": address, "create_time": self.clock.now()}
        return self.public_subscription(event_type)

    def unsubscribe(self, event_type: str) -> None:
        if self.subscriptions.pop(event_type, None) is None:
            raise bad_parameter(f"no webhook is set for {event_type}")

    def public_subscription(self, event_type: str) -> JSON:
        sub = self.subscriptions[event_type]
        return {"event_type": event_type, "address": sub["address"], "create_time": sub["create_time"]}

    # -- events ----------------------------------------------------------------------------------

    def emit(self, event_type: int, data: JSON) -> None:
        """One delivery for the subscribed address of this event type (the store's EventSink)."""
        topic = EVENT_TYPES.get(event_type, str(event_type))
        sub = self.subscriptions.get(topic)
        if sub is None:
            return
        payload: JSON = {
            "type": event_type,
            "shop_id": self.config.shop_id,
            "timestamp": self.clock.now(),
            "data": data,
        }
        if self.config.include_notification_id:
            payload = {"type": event_type, "tts_notification_id": self._ids.next(), **payload}
        body = json.dumps(payload, separators=(",", ":")).encode()
        number = len(self.deliveries) + 1
        order_id = data.get("order_id")
        self.submit(Delivery(number, event_type, order_id, body, topic=topic, address=str(sub["address"])))

    # -- sending ---------------------------------------------------------------------------------

    def compose(self, delivery: Delivery, attempt: webhook_sender.SendAttempt) -> tuple[bytes, dict[str, str]]:
        config = self.config
        signed = delivery.body + b" " if "tamper_webhooks" in attempt.faults else delivery.body  # a wrong signature
        signature = webhook_signature(config.app_key, signed, config.app_secret)
        return delivery.body, {"Content-Type": "application/json", "Authorization": signature}

    def record(self, delivery: Delivery, attempt: webhook_sender.SendAttempt) -> JSON:
        return {
            "at": attempt.started_at,
            "status_code": attempt.status_code,
            "error": attempt.error,
            "duplicate": attempt.duplicate,
            "tampered": "tamper_webhooks" in attempt.faults,
            "duration_ms": attempt.duration_ms,
        }

    def retry_delays(self) -> list[float]:
        return self.config.webhook_retry_delays_s

    def timeout(self) -> float:
        return self.config.webhook_timeout_s

    def counts(self) -> JSON:
        return {**super().counts(), "subscriptions": len(self.subscriptions)}

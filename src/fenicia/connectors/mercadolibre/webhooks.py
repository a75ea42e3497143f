"""MercadoLibre notifications: a JSON pointer, checked against the connection, parsed into a WebhookEvent.

ML POSTs ``{"_id", "resource": "/orders/2000003508419013", "user_id", "topic": "orders_v2",
"application_id", "attempts", "sent", "received"}`` to the application's one callback URL. There is no
signature: a delivery is accepted only when ``application_id`` is this connection's App ID and
``user_id`` its seller. A forged pointer can at worst make us re-read one of our own seller's orders
with our own token, which changes nothing.

Delivery id: ``_id``; when absent, ``sha256`` of topic, resource and ``sent`` (ML keeps ``_id`` across
retries as far as we know [U]; if it did not, a repeated delivery only re-reads the same order).
``order_ref``: the order id for ``orders_v2``; ``shipment:<id>`` for ``shipments``, which
``get_order`` resolves to the shipment's order.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fenicia.connectors.base import WebhookEvent
from fenicia.core.clock import parse_iso
from fenicia.core.errors import AuthError, InvalidRecord

ORDER_TOPIC = "orders_v2"
SHIPMENT_TOPIC = "shipments"
ORDER_TOPICS: tuple[str, ...] = (ORDER_TOPIC, SHIPMENT_TOPIC)
SHIPMENT_REF_PREFIX = "shipment:"
RESOURCE_PATTERNS = {
    ORDER_TOPIC: re.compile(r"^/orders/(\d+)/?$"),
    SHIPMENT_TOPIC: re.compile(r"^/shipments/(\d+)/?$"),
}
FOREIGN_RESOLUTION = "Point only this seller's MercadoLibre application at this connection's webhook address."


def verify_webhook(body: bytes, app_id: str, seller_id: int) -> None:
    """Raise :class:`AuthError` unless the notification names this connection's application and seller."""
    payload = _payload(body)
    if payload is None:
        raise AuthError("Notification rejected: the body is not a MercadoLibre notification", resolution="")
    application = payload.get("application_id")
    if _text(application) != str(app_id):
        raise AuthError(
            "Notification rejected: it is for another MercadoLibre application", resolution=FOREIGN_RESOLUTION
        )
    if _text(payload.get("user_id")) != str(seller_id):
        raise AuthError("Notification rejected: it is for another MercadoLibre seller", resolution=FOREIGN_RESOLUTION)


def parse_webhook(body: bytes) -> WebhookEvent:
    """A verified notification as a pointer-only event; unknown topics and resources raise InvalidRecord."""
    payload = _payload(body)
    if payload is None:
        raise InvalidRecord("Notification body is not a JSON object")
    topic = _text(payload.get("topic"))
    if topic not in RESOURCE_PATTERNS:
        raise InvalidRecord(f"Unsupported MercadoLibre notification topic {topic!r}", field="topic")
    resource = _text(payload.get("resource")) or ""
    match = RESOURCE_PATTERNS[topic].match(resource)
    if match is None:
        raise InvalidRecord(f"Unexpected resource {resource!r} for topic {topic}", field="resource")
    ref = match.group(1) if topic == ORDER_TOPIC else f"{SHIPMENT_REF_PREFIX}{match.group(1)}"
    return WebhookEvent(
        delivery_id=delivery_id(payload, topic, resource),
        topic=topic,
        triggered_at=_moment(payload.get("received") or payload.get("sent")),
        order_ref=ref,
    )


def delivery_id(payload: Mapping[str, Any], topic: str, resource: str) -> str:
    given = _text(payload.get("_id"))
    if given:
        return given
    digest = hashlib.sha256(f"{topic}|{resource}|{_text(payload.get('sent')) or ''}".encode()).hexdigest()
    return f"sha256:{digest[:40]}"


def _payload(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    text = str(value).strip()
    return text or None


def _moment(value: Any) -> datetime | None:
    """``received``/``sent`` in UTC; None when absent or unreadable (only a hint)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_iso(value.strip())
    except ValueError:
        return None

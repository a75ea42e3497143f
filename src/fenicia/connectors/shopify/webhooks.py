"""Shopify webhook deliveries: HMAC verification and parsing into :class:`WebhookEvent`.

The signature is ``base64(HMAC-SHA256(key=app client secret, msg=raw body))`` in
``X-Shopify-Hmac-Sha256``; it is checked on the raw bytes, before any JSON parsing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fenicia.connectors.base import WebhookEvent
from fenicia.connectors.shopify.orders import normalize_order
from fenicia.core.clock import parse_iso
from fenicia.core.errors import AuthError, InvalidRecord

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
ORDER_TOPICS: tuple[str, ...] = (
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/edited",
)
FRACTION_PATTERN = re.compile(r"\.\d{7,}")
BAD_SIGNATURE_RESOLUTION = "Check that the channel's client secret matches the Shopify app's."


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (works for plain dicts as well as Starlette/httpx headers)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def signature(body: bytes, client_secret: str) -> str:
    """The value Shopify puts in ``X-Shopify-Hmac-Sha256`` for ``body``."""
    digest = hmac.new(client_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_webhook(headers: Mapping[str, str], body: bytes, client_secret: str) -> None:
    """Raise :class:`AuthError` unless ``body`` carries a valid signature (constant-time compare)."""
    received = header(headers, HMAC_HEADER)
    if not received:
        raise AuthError(f"Webhook rejected: the {HMAC_HEADER} header is missing", resolution="")
    if not body:
        raise AuthError("Webhook rejected: the body is empty", resolution="")
    expected = signature(body, client_secret)
    if not hmac.compare_digest(expected.encode(), received.strip().encode()):
        raise AuthError("Webhook rejected: the signature does not match", resolution=BAD_SIGNATURE_RESOLUTION)


def parse_webhook(headers: Mapping[str, str], body: bytes) -> WebhookEvent:
    """A verified delivery as an event; unknown topics and unreadable bodies raise InvalidRecord."""
    topic = header(headers, TOPIC_HEADER)
    if topic not in ORDER_TOPICS:
        raise InvalidRecord(f"Unsupported Shopify webhook topic {topic!r}", field=TOPIC_HEADER)
    delivery_id = header(headers, WEBHOOK_ID_HEADER)
    if not delivery_id:
        raise InvalidRecord(f"Webhook has no {WEBHOOK_ID_HEADER} header", field=WEBHOOK_ID_HEADER)
    payload = _json_object(body)
    event = WebhookEvent(delivery_id=delivery_id, topic=topic, triggered_at=_triggered_at(headers))
    if topic == "orders/edited" and "order_edit" in payload:
        event.order_ref = _edited_order_id(payload["order_edit"])
        return event
    event.order = normalize_order(payload)
    event.order_ref = event.order.external_id
    return event


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRecord("Webhook body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRecord("Webhook body is not a JSON object")
    return payload


def _edited_order_id(order_edit: Any) -> str:
    order_id = order_edit.get("order_id") if isinstance(order_edit, dict) else None
    if isinstance(order_id, bool) or not isinstance(order_id, int | str) or not str(order_id):
        raise InvalidRecord("orders/edited payload has no order_edit.order_id", field="order_edit.order_id")
    return str(order_id)


def _triggered_at(headers: Mapping[str, str]) -> datetime | None:
    """``X-Shopify-Triggered-At`` in UTC; None when absent or unreadable (it is only a hint)."""
    value = header(headers, TRIGGERED_AT_HEADER)
    if not value:
        return None
    try:  # Shopify may send nanoseconds; Python reads at most microseconds
        return parse_iso(FRACTION_PATTERN.sub(lambda m: m.group(0)[:7], value.strip()))
    except ValueError:
        return None

"""TikTok Shop webhook deliveries: signature check and parsing into pointer-only :class:`WebhookEvent`.

A delivery is ``{"type": 1, "tts_notification_id": "...", "shop_id": "...", "timestamp": ...,
"data": {"order_id": "...", "order_status": "...", "update_time": ...}}`` with ``Authorization`` =
hex HMAC-SHA256(key=app secret, msg=app key + raw body) (§5.2). The payload only points at the order,
so the event carries ``order_ref`` and the inbox fetches the order (Get Order Detail) before applying it.

Delivery id: the notification's own ``tts_notification_id`` [S]; payloads without one get a stable hash
of (type, shop, order, status, update time), so a resent notification is recognised as the same one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fenicia.connectors.base import WebhookEvent
from fenicia.connectors.tiktok.signing import signatures_match, webhook_signature
from fenicia.core.errors import AuthError, InvalidRecord

SIGNATURE_HEADER = "Authorization"
# [C] numeric types (ecomphp-tts Webhook.php, tts-partner-api UpdateShopWebhook.ts); only order events are ours.
EVENT_TYPES: dict[int, str] = {
    1: "ORDER_STATUS_CHANGE",
    2: "CANCELLATION_STATUS_CHANGE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    12: "RETURN_STATUS_CHANGE",
}
ORDER_EVENT_TYPES = frozenset({1, 2, 3, 4, 12})
ORDER_TOPICS: tuple[str, ...] = (
    "ORDER_STATUS_CHANGE",
    "CANCELLATION_STATUS_CHANGE",
    "RECIPIENT_ADDRESS_UPDATE",
    "PACKAGE_UPDATE",
)
BAD_SIGNATURE_RESOLUTION = "Check that the channel's app key and app secret match the TikTok Shop app's."


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name (plain dicts as well as Starlette/httpx headers)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify_webhook(headers: Mapping[str, str], body: bytes, app_key: str, app_secret: str) -> None:
    """Raise :class:`AuthError` unless ``body`` carries TikTok's signature (constant-time compare)."""
    received = header(headers, SIGNATURE_HEADER)
    if not received:
        raise AuthError(f"Webhook rejected: the {SIGNATURE_HEADER} header is missing", resolution="")
    if not body:
        raise AuthError("Webhook rejected: the body is empty", resolution="")
    if not signatures_match(webhook_signature(app_key, body, app_secret), received):
        raise AuthError("Webhook rejected: the signature does not match", resolution=BAD_SIGNATURE_RESOLUTION)


def parse_webhook(body: bytes, shop_id: str | None = None) -> WebhookEvent:
    """A verified delivery as a pointer event; other shops' and non-order events raise InvalidRecord."""
    payload = _json_object(body)
    event_type = payload.get("type")
    if isinstance(event_type, bool) or not isinstance(event_type, int) or event_type not in ORDER_EVENT_TYPES:
        name = EVENT_TYPES.get(event_type) if isinstance(event_type, int) else None
        raise InvalidRecord(f"Unsupported TikTok Shop webhook type {event_type!r} ({name or 'unknown'})", field="type")
    if shop_id is not None and str(payload.get("shop_id")) != shop_id:
        raise InvalidRecord("TikTok Shop webhook is for another shop", field="shop_id")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise InvalidRecord("TikTok Shop webhook has no 'data' object", field="data")
    order_id = data.get("order_id")
    if isinstance(order_id, bool) or not isinstance(order_id, int | str) or not str(order_id).strip():
        raise InvalidRecord("TikTok Shop webhook has no data.order_id", field="data.order_id")
    return WebhookEvent(
        delivery_id=delivery_id(payload, event_type, str(order_id), data),
        topic=EVENT_TYPES[event_type],
        triggered_at=_epoch(payload.get("timestamp")),
        order=None,
        order_ref=str(order_id),
    )


def delivery_id(payload: Mapping[str, Any], event_type: int, order_id: str, data: Mapping[str, Any]) -> str:
    """The notification's own id, else a stable hash of what makes the event unique."""
    own = payload.get("tts_notification_id")
    if isinstance(own, int | str) and not isinstance(own, bool) and str(own).strip():
        return str(own)[:200]
    status = data.get("order_status") or data.get("cancel_status") or data.get("return_status") or ""
    changed = data.get("update_time") or payload.get("timestamp") or ""
    fingerprint = f"{event_type}|{payload.get('shop_id')}|{order_id}|{status}|{changed}"
    return "h-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:40]


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidRecord("Webhook body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise InvalidRecord("Webhook body is not a JSON object")
    return payload


def _epoch(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None

"""TikTok Shop's two signatures: the ``sign`` query parameter of API calls and the webhook ``Authorization``.

API calls (channels.md §5.1, [C] from ecomphp-tts ``Client::prepareSignature``): take the query parameters
except ``sign`` and ``access_token``, sort them by key, concatenate ``key + value`` (list values are
skipped), put the request path in front and, for a non-GET request that is not multipart, the raw body
behind; wrap the whole in the app secret on both sides; ``sign`` is the lowercase hex HMAC-SHA256 of it,
keyed by the app secret.

Webhooks (§5.2, [C] ``Webhook::verify``): ``Authorization`` is the lowercase hex HMAC-SHA256 of
``app_key + raw body``, keyed by the app secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

UNSIGNED_PARAMS = frozenset({"sign", "access_token", "x-tts-access-token"})


def signing_base(path: str, params: Mapping[str, Any], body: bytes | None) -> bytes:
    """The bytes that are signed, before the secret wraps them."""
    pairs = sorted(
        (key, value) for key, value in params.items() if key not in UNSIGNED_PARAMS and not isinstance(value, list)
    )
    text = path + "".join(f"{key}{value}" for key, value in pairs)
    return text.encode() + (body or b"")


def request_signature(path: str, params: Mapping[str, Any], body: bytes | None, app_secret: str) -> str:
    """The ``sign`` query parameter of a call to ``path`` with these query params and raw body.

    Pass ``body=None`` for GET and multipart requests, whose body is not signed.
    """
    secret = app_secret.encode()
    wrapped = secret + signing_base(path, params, body) + secret
    return hmac.new(secret, wrapped, hashlib.sha256).hexdigest()


def webhook_signature(app_key: str, body: bytes, app_secret: str) -> str:
    """The ``Authorization`` header TikTok Shop puts on a webhook delivery of ``body``."""
    return hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()


def signatures_match(expected: str, received: str) -> bool:
    """Constant-time comparison of two hex signatures (case-insensitive, surrounding spaces ignored)."""
    return hmac.compare_digest(expected.strip().lower().encode(), received.strip().lower().encode())

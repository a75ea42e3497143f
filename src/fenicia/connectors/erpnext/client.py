"""Transport to a Frappe/ERPNext site: token auth, retries, JSON-encoded list queries, error mapping.

Frappe answers errors with a JSON body ``{"exc_type", "exception", "_server_messages"}`` where
``_server_messages`` is a JSON list of JSON objects with a ``message`` (often with HTML tags). Every HTTP
status or transport failure becomes one of our errors in :func:`to_error`. The key and secret travel only
in the ``Authorization: token key:secret`` header. All calls are reads: any of them may be resent.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from fenicia.connectors.erpnext.settings import ErpnextCredentials, ErpnextSettings
from fenicia.connectors.httpkit import (
    AllowPrivate,
    SourceHttp,
    guarded_client,
    json_object,
    retry_after,
    transport_error,
)
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

JSON = dict[str, Any]
TAG = re.compile(r"<[^>]+>")
NEW_KEYS = "Generate new keys on the ERPNext user (Settings → API Access → Generate Keys) and update the source."
GRANT_BIN = "Give the ERPNext user a role that may read Bin and Item (e.g. Stock User), then test again."
CHECK_ADDRESS = "Check the source's URL (the site's address) and that the site is reachable from Fenicia."


def frappe_message(response: httpx.Response) -> str:
    """The human text of a Frappe error: ``_server_messages``, else ``exception``/``exc_type``."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if not isinstance(body, dict):
        return response.reason_phrase
    texts = [TAG.sub("", text) for text in server_messages(body.get("_server_messages"))]
    if texts:
        return "; ".join(texts)
    return str(body.get("exception") or body.get("exc_type") or body.get("message") or response.reason_phrase)


def server_messages(raw: Any) -> list[str]:
    try:
        items = json.loads(raw) if isinstance(raw, str) else []
        decoded = [json.loads(item) if isinstance(item, str) else item for item in items]
    except ValueError:
        return []
    return [str(item.get("message")) for item in decoded if isinstance(item, dict) and item.get("message")]


def retry_after_of(response: httpx.Response) -> float | None:
    """``Retry-After``, else Frappe's ``X-RateLimit-Reset`` (seconds until the window resets) [U]."""
    return retry_after(response, "Retry-After", "X-RateLimit-Reset")


def to_error(outcome: httpx.Response | Exception, url: str = "") -> FeniciaError:
    """The one mapping of Frappe answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return _error_for_exception(outcome, url)
    status, message = outcome.status_code, frappe_message(outcome)
    if status == 401:
        return AuthError(f"ERPNext rejected the API key and secret ({message})", resolution=NEW_KEYS, status=401)
    if status == 403:
        return AuthError(f"ERPNext refused access: {message}", resolution=GRANT_BIN, status=403)
    if status == 404:
        return ConfigError(
            f"ERPNext answered 404 Not Found at {outcome.request.url.path} ({message})",
            resolution=CHECK_ADDRESS,
            status=404,
        )
    if status == 429:
        return RateLimitedError("ERPNext's rate limit was reached (429)", retry_after=retry_after_of(outcome))
    if status >= 500:
        return TransientError(
            f"ERPNext answered {status}: {message}", retry_after=retry_after_of(outcome), status=status
        )
    if status in (400, 409, 417, 422):
        return ValidationFailed(f"ERPNext refused the request: {message}", status=status)
    return ConnectorError(f"ERPNext answered {status}: {message}", resolution=CHECK_ADDRESS, status=status)


def _error_for_exception(exc: Exception, url: str) -> FeniciaError:
    return transport_error(exc, url, system="ERPNext", place="ERPNext", resolution=CHECK_ADDRESS)


class ErpnextClient:
    """Authenticated, retrying reads of one Frappe site; ``allow_private`` as in ``guarded_client``."""

    def __init__(
        self, settings: ErpnextSettings, credentials: ErpnextCredentials, allow_private: AllowPrivate = None
    ) -> None:
        self.settings = settings
        token = f"{credentials.api_key.get_secret_value()}:{credentials.api_secret.get_secret_value()}"
        headers = {"Authorization": f"token {token}", "Accept": "application/json"}
        http = guarded_client(allow_private, base_url=settings.url, headers=headers, timeout=settings.timeout_seconds)
        self.http = SourceHttp(http, settings, to_error, name="erpnext")

    async def method(self, dotted: str, **params: Any) -> Any:
        """``GET /api/method/<dotted.path>``: the ``message`` of the answer."""
        body = await self.get(f"/api/method/{dotted}", params)
        return body.get("message")

    async def resource(
        self, doctype: str, *, fields: list[str], filters: list[Any], start: int, length: int, order_by: str
    ) -> list[JSON]:
        """``GET /api/resource/<DocType>`` with JSON-encoded ``fields``/``filters``: the ``data`` rows."""
        params = {
            "fields": json.dumps(fields),
            "filters": json.dumps(filters),
            "limit_start": start,
            "limit_page_length": length,
            "order_by": order_by,
        }
        rows = (await self.get(f"/api/resource/{doctype}", params)).get("data")
        if not isinstance(rows, list):
            raise TransientError(f"ERPNext's {doctype} list has no 'data' list")
        return [row for row in rows if isinstance(row, dict)]

    async def get(self, path: str, params: JSON | None = None) -> JSON:
        response = await self.http.request("GET", path, params=params)
        return json_object(response, path, system="ERPNext", looks_like="an ERPNext site", resolution=CHECK_ADDRESS)

    async def aclose(self) -> None:
        await self.http.aclose()

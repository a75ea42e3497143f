"""Transport to the Shopify Admin REST API: auth, pacing, retries, pagination and error mapping.

One ``ShopifyClient`` per connector holds one ``httpx.AsyncClient`` (connection pooling). Every HTTP
status or transport exception becomes one of our errors in exactly one place: :func:`to_error`.
The access token only ever travels in the ``X-Shopify-Access-Token`` header; it is never logged nor
put in an exception message.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import structlog

from fenicia.connectors import httpkit
from fenicia.connectors.httpkit import remote_error, retry_after, retry_or_raise
from fenicia.connectors.shopify.settings import ShopifyCredentials, ShopifySettings
from fenicia.core import jsonfast
from fenicia.core.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

JSON = dict[str, Any]
log = structlog.get_logger(__name__)

ACCESS_TOKEN_HEADER = "X-Shopify-Access-Token"
CALL_LIMIT_HEADER = "X-Shopify-Shop-Api-Call-Limit"
RECONNECT = "Reconnect the channel in Settings."
# Shopify's own REST client retries exactly these statuses (admin-api-client constants.ts).
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SCOPE_PATTERN = re.compile(r"\b((?:read|write|unauthenticated_read|unauthenticated_write)_[a-z_]+)\b")
# 422 texts that mean "clashes with the order's current state" rather than "bad input".
CONFLICT_PATTERN = re.compile(r"\balready\b|\bcannot (be )?cancel|\bis cancell?ed\b", re.IGNORECASE)
LINK_NEXT_PATTERN = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass
class ShopifyResponse:
    status: int
    body: JSON
    next_page_info: str | None


def to_error(outcome: httpx.Response | Exception) -> FeniciaError:
    """The one mapping of Shopify answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return remote_error(outcome, "Shopify")
    status, message = outcome.status_code, shopify_message(outcome)
    if status == 401:
        return AuthError("Shopify rejected the access token", resolution=RECONNECT, status=401)
    if status == 403:
        return _forbidden(message)
    if status in (404, 410):
        return RemoteNotFound(f"Shopify has no such record ({message or 'Not Found'})", status=status)
    if status == 409 or (status == 422 and CONFLICT_PATTERN.search(message)):
        return ConflictError(f"Shopify refused: {message}", status=status)
    if status in (400, 406, 422):
        return ValidationFailed(f"Shopify rejected the request: {message}", status=status)
    if status == 429:
        return RateLimitedError("Shopify rate limit reached", retry_after=retry_after(outcome))
    if status >= 500:
        return TransientError(f"Shopify answered {status}", retry_after=retry_after(outcome), status=status)
    return ConnectorError(
        f"Shopify answered {status}: {message}",
        resolution="Check the store's status in the Shopify admin.",
        status=status,
    )


def _forbidden(message: str) -> AuthError:
    scope = SCOPE_PATTERN.search(message)
    if scope:
        return AuthError(
            f"Shopify refused: the app lacks the {scope.group(1)} permission",
            resolution=f"Grant the app the {scope.group(1)} scope in Shopify, then reconnect the channel.",
            status=403,
            scope=scope.group(1),
        )
    detail = f": {message}" if message else ""
    return AuthError(f"Shopify refused access (missing permission){detail}", resolution=RECONNECT, status=403)


def shopify_message(response: httpx.Response) -> str:
    """Shopify's error text: ``errors`` as a string, a list or ``{field: [messages]}``, or ``error``."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    errors = body.get("errors", body.get("error")) if isinstance(body, dict) else body
    return _flatten_errors(errors) or response.reason_phrase


def _flatten_errors(errors: Any) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, list):
        return "; ".join(_flatten_errors(item) for item in errors)
    if isinstance(errors, dict):
        return "; ".join(f"{key} {_flatten_errors(value)}".strip() for key, value in errors.items())
    return "" if errors is None else str(errors)


def next_page_info(link_header: str | None) -> str | None:
    """The ``page_info`` of the ``rel="next"`` URL in a ``Link`` header, or None on the last page."""
    match = LINK_NEXT_PATTERN.search(link_header or "")
    if not match:
        return None
    values = parse_qs(urlsplit(match.group(1)).query).get("page_info")
    return values[0] if values else None


def parse_call_limit(value: str | None) -> tuple[int, int] | None:
    """``"32/40"`` → ``(32, 40)``: calls in the bucket and its size."""
    used, _, size = (value or "").partition("/")
    if not (used.strip().isdigit() and size.strip().isdigit()):
        return None
    return int(used), int(size)


def retry_wait(error: FeniciaError, attempt: int, settings: ShopifySettings) -> float | None:
    """Seconds to wait before retry number ``attempt + 1`` inside the call; None: give up now. A throttle
    without Retry-After waits for one call to leak out of the bucket."""
    return httpkit.retry_wait(error, attempt, settings, rate_limited_wait=1.0 / settings.leak_rate_per_s)


def may_resend(outcome: httpx.Response | Exception, idempotent: bool) -> bool:
    """A GET may always be resent; a POST only when Shopify surely did not act on it."""
    return httpkit.may_resend(outcome, idempotent, RETRIABLE_STATUSES)


class ShopifyClient:
    """Authenticated, paced, retrying access to ``{shop_url}/admin/api/{version}/``."""

    def __init__(self, settings: ShopifySettings, credentials: ShopifyCredentials) -> None:
        self.settings = settings
        self._http = httpx.AsyncClient(
            base_url=settings.api_base_url,
            headers={
                ACCESS_TOKEN_HEADER: credentials.access_token.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=settings.timeout_seconds,
        )
        self._not_before = 0.0  # monotonic time before which the next call must wait
        self.last_call_limit: tuple[int, int] | None = None

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> ShopifyResponse:
        return await self._request("GET", path, params=params, idempotent=True)

    async def post(self, path: str, body: JSON, *, idempotent: bool = False) -> ShopifyResponse:
        """``idempotent=True`` for writes that are safe to repeat (absolute stock set, tracking)."""
        return await self._request("POST", path, json=body, idempotent=idempotent)

    async def pages(
        self, path: str, key: str, params: Mapping[str, Any], page_info: str | None = None
    ) -> AsyncIterator[tuple[list[JSON], str | None]]:
        """Each page's ``body[key]`` and the next page's ``page_info``, following ``Link: rel=next``.

        With ``page_info`` only ``limit`` is sent: Shopify refuses other filters beside it.
        """
        while True:
            query = {"limit": self.settings.page_size, "page_info": page_info} if page_info else params
            response = await self.get(path, query)
            items = response.body.get(key)
            if not isinstance(items, list):
                raise TransientError(f"Shopify's {path} answer has no '{key}' list")
            yield items, response.next_page_info
            if response.next_page_info is None:
                return
            page_info = response.next_page_info

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON | None = None,
        idempotent: bool,
    ) -> ShopifyResponse:
        attempt = 0
        while True:
            outcome = await self._send(method, path, params, json)
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return _decode(outcome, path)
            error = to_error(outcome)
            wait = retry_wait(error, attempt, self.settings) if may_resend(outcome, idempotent) else None
            await retry_or_raise(error, wait, outcome, event="shopify.retry", method=method, path=path)
            attempt += 1

    async def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, json: JSON | None
    ) -> httpx.Response | Exception:
        await self._pace()
        try:
            response = await self._http.request(method, path, params=params, json=json)
        except httpx.HTTPError as exc:
            return exc
        self._note_call_limit(response)
        return response

    async def _pace(self) -> None:
        delay = self._not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    def _note_call_limit(self, response: httpx.Response) -> None:
        """When the leaky bucket is nearly full, let one call leak out before sending the next."""
        limit = parse_call_limit(response.headers.get(CALL_LIMIT_HEADER))
        if limit is None:
            return
        self.last_call_limit = limit
        used, size = limit
        if size - used <= self.settings.pacing_headroom_calls:
            self._not_before = time.monotonic() + 1.0 / self.settings.leak_rate_per_s


def _decode(response: httpx.Response, path: str) -> ShopifyResponse:
    body: Any = {}
    if response.content.strip():
        try:
            body = jsonfast.loads(response.content)
        except ValueError:
            raise TransientError(f"Shopify's answer to {path} is not JSON") from None
    if not isinstance(body, dict):
        raise TransientError(f"Shopify's answer to {path} is not a JSON object")
    return ShopifyResponse(response.status_code, body, next_page_info(response.headers.get("Link")))

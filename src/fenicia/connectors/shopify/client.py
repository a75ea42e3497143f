"""Transport to the Shopify Admin API (REST and GraphQL): auth, pacing, retries, pagination and errors.

One ``ShopifyClient`` per connector holds one ``httpx.AsyncClient`` (connection pooling). Every HTTP
status or transport exception becomes one of our errors in exactly one place: :func:`to_error`; the
errors of a GraphQL answer (HTTP 200 with ``errors``) in :func:`graphql_error`. REST calls are paced on
the call-limit header, GraphQL calls on the calculated-cost bucket of ``extensions.cost.throttleStatus``.
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
    ConfigError,
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
GRAPHQL_PATH = "graphql.json"
THROTTLE_KEYS = ("maximumAvailable", "currentlyAvailable", "restoreRate")
# GraphQL refusals of a request too big for one call: fewer items per call is the cure.
TOO_LARGE_CODES = frozenset({"MAX_COST_EXCEEDED", "MAX_INPUT_SIZE_EXCEEDED"})


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


@dataclass
class CostStatus:
    """The GraphQL cost bucket as Shopify last described it (``extensions.cost.throttleStatus``)."""

    maximum: float
    available: float
    restore_rate: float
    seen_at: float  # time.monotonic() of the answer

    def available_now(self) -> float:
        """Points in the bucket now: what it held then plus what it restored since."""
        return min(self.maximum, self.available + (time.monotonic() - self.seen_at) * self.restore_rate)


def _cost_extension(body: Any) -> JSON:
    extensions = body.get("extensions") if isinstance(body, dict) else None
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    return cost if isinstance(cost, dict) else {}


def cost_status(body: Any) -> CostStatus | None:
    """The ``throttleStatus`` of a GraphQL answer (throttled ones carry it too), or None."""
    throttle = _cost_extension(body).get("throttleStatus")
    if not isinstance(throttle, dict):
        return None
    try:
        maximum, available, rate = (float(throttle[k]) for k in THROTTLE_KEYS)
    except (KeyError, TypeError, ValueError):
        return None
    return CostStatus(maximum, available, rate, time.monotonic())


def requested_cost(body: Any) -> float | None:
    value = _cost_extension(body).get("requestedQueryCost")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def throttled_wait(body: Any, expected_cost: float, restore_rate: float) -> float:
    """Seconds until the bucket holds the call's cost again: (needed - available) / restore rate, at
    least one point's worth (the bucket Shopify saw may be emptier than the one it reported)."""
    needed = requested_cost(body) or expected_cost
    status = cost_status(body)
    if status is None:
        return needed / restore_rate
    rate = status.restore_rate if status.restore_rate > 0 else restore_rate
    return max(needed - status.available, 1.0) / rate


def graphql_error(errors: list[Any], body: Any, expected_cost: float, settings: ShopifySettings) -> FeniciaError:
    """The first error of a GraphQL answer (HTTP 200, or 429 when throttled [U]) as one of our errors."""
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = str(first.get("message") or "unknown GraphQL error")
    extensions = first.get("extensions")
    code = str(extensions.get("code") or "") if isinstance(extensions, dict) else ""
    if code == "THROTTLED":
        wait = throttled_wait(body, expected_cost, settings.graphql_restore_rate_per_s)
        return RateLimitedError("Shopify's GraphQL cost limit reached", retry_after=wait)
    if code == "ACCESS_DENIED":
        return _forbidden(message)
    if code == "INTERNAL_SERVER_ERROR":
        return TransientError(f"Shopify failed to answer the GraphQL request: {message}")
    if code in TOO_LARGE_CODES:
        return ConfigError(
            f"Shopify refused the request as too large: {message}",
            resolution="Lower stock_batch_size in the connection's settings.",
        )
    return ConnectorError(
        f"Shopify refused the GraphQL request: {message} ({code or 'no code'})",
        resolution="Check the connection's api_version: the request may not fit that version of the Admin API.",
    )


def _errors_of(body: Any) -> list[Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return []
    return errors if isinstance(errors, list) else [errors]


def _is_throttled(errors: list[Any]) -> bool:
    return any(
        isinstance(e, dict) and isinstance(e.get("extensions"), dict) and e["extensions"].get("code") == "THROTTLED"
        for e in errors
    )


class ShopifyClient:
    """Authenticated, paced, retrying access to ``{shop_url}/admin/api/{version}/``."""

    def __init__(
        self,
        settings: ShopifySettings,
        credentials: ShopifyCredentials,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: the address guard (``core.netguard``) of whoever holds the client, the channel's
        connector or the stock source: the store's address is typed by a merchant. None: httpx's own."""
        self.settings = settings
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=settings.api_base_url,
            headers={
                ACCESS_TOKEN_HEADER: credentials.access_token.get_secret_value(),
                "Accept": "application/json",
            },
            timeout=settings.timeout_seconds,
        )
        self._not_before = 0.0  # monotonic time before which the next call must wait
        self.last_call_limit: tuple[int, int] | None = None
        self.cost_status: CostStatus | None = None  # the GraphQL cost bucket, from the last answer
        self._learned_cost: dict[str, float] = {}  # document -> the requestedQueryCost Shopify reported

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> ShopifyResponse:
        return await self._request("GET", path, params=params, idempotent=True)

    async def post(self, path: str, body: JSON, *, idempotent: bool = False) -> ShopifyResponse:
        """``idempotent=True`` for writes that are safe to repeat (absolute stock set, tracking)."""
        return await self._request("POST", path, json=body, idempotent=idempotent)

    async def graphql(self, document: str, variables: JSON, *, cost: int) -> JSON:
        """The ``data`` of one GraphQL Admin API call, sent when the cost bucket holds ``cost`` points
        (or what Shopify said the document costs). Only for reads and writes safe to repeat (an absolute
        stock set): a throttled, 5xx or timed-out call is sent again inside the call as ``retry_wait``
        allows; a longer wait goes back to the caller as the ``RateLimitedError`` itself."""
        body = {"query": document, "variables": variables}
        attempt = 0
        while True:
            expected = self._learned_cost.get(document, float(cost))
            await self._pace_cost(expected)
            outcome = await self._send("POST", GRAPHQL_PATH, None, body)
            result = self._graphql_result(outcome, document, expected)
            if not isinstance(result, FeniciaError):
                return result
            wait = retry_wait(result, attempt, self.settings)
            await retry_or_raise(result, wait, outcome, event="shopify.retry", method="POST", path=GRAPHQL_PATH)
            attempt += 1

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

    def _graphql_result(
        self, outcome: httpx.Response | Exception, document: str, expected: float
    ) -> JSON | FeniciaError:
        """The answer's ``data``, or the error it amounts to; notes the cost bucket on the way."""
        if isinstance(outcome, Exception):
            return to_error(outcome)
        body = _json_or_empty(outcome)
        self._note_cost(body, document)
        errors = _errors_of(body)
        if outcome.status_code == 429 and _is_throttled(errors):
            error = graphql_error(errors, body, expected, self.settings)
            header = retry_after(outcome)
            if header is not None and isinstance(error, TransientError):
                error.retry_after = max(header, error.retry_after or 0.0)
            return error
        if not outcome.is_success:
            return to_error(outcome)
        if errors:
            return graphql_error(errors, body, expected, self.settings)
        data = body.get("data")
        if not isinstance(data, dict):
            return TransientError("Shopify's GraphQL answer has no data")
        return data

    def _note_cost(self, body: JSON, document: str) -> None:
        status = cost_status(body)
        if status is not None:
            self.cost_status = status
        cost = requested_cost(body)
        if cost is not None:
            self._learned_cost[document] = cost

    async def _pace_cost(self, cost: float) -> None:
        """Wait until the GraphQL bucket, as last reported and restored since, holds ``cost`` points."""
        status = self.cost_status
        if status is None:
            return
        short = cost - status.available_now()
        if short > 0:
            rate = status.restore_rate if status.restore_rate > 0 else self.settings.graphql_restore_rate_per_s
            await asyncio.sleep(short / rate)

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


def _json_or_empty(response: httpx.Response) -> JSON:
    try:
        body = jsonfast.loads(response.content) if response.content.strip() else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


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

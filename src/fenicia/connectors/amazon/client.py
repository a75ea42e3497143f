"""Transport to the Selling Partner API: LWA auth, per-operation pacing, retries and error mapping.

Every call names its SP-API operation (``getOrders``, ``confirmShipment``...): the operation keys the
client's model of Amazon's token bucket (:mod:`pacing`), which also adopts the rate Amazon reports in
``x-amzn-RateLimit-Limit``. A 403 is answered by refreshing the access token once and resending; a
second 403 is a real permission problem. Every HTTP status or transport failure becomes one of our
errors in exactly one place, :func:`to_error`. The access token only travels in ``x-amz-access-token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import structlog

from fenicia.connectors import httpkit
from fenicia.connectors.amazon.auth import RECONNECT, LwaTokens
from fenicia.connectors.amazon.pacing import Pacers
from fenicia.connectors.amazon.settings import AmazonCredentials, AmazonSettings
from fenicia.connectors.base import TokenStore
from fenicia.connectors.httpkit import remote_error, retry_after, retry_or_raise
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

ACCESS_TOKEN_HEADER = "x-amz-access-token"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
REQUEST_ID_HEADER = "x-amzn-RequestId"
RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class AmazonResponse:
    status: int
    body: JSON

    @property
    def payload(self) -> JSON:
        """The ``payload`` object of an Orders API answer (empty when absent)."""
        payload = self.body.get("payload")
        return payload if isinstance(payload, dict) else {}


def to_error(outcome: httpx.Response | Exception, operation: str = "") -> FeniciaError:
    """The one mapping of SP-API answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return remote_error(outcome, "Amazon")
    status, message = outcome.status_code, amazon_message(outcome)
    where = f" to {operation}" if operation else ""
    if status in (401, 403):
        return _denied(operation, status, message, error_codes(outcome))
    if status == 404:
        return RemoteNotFound(f"Amazon has no such record ({message or 'Not Found'})", status=status)
    if status == 409:
        return ConflictError(
            f"Amazon refused{where}: {message}",
            resolution="Check the order in Seller Central; Fenicia reads it again at the next sync.",
            status=status,
        )
    if status in (400, 413, 415, 422):
        return ValidationFailed(f"Amazon rejected the request{where}: {message}", status=status)
    if status == 429:
        return RateLimitedError(f"Amazon's rate limit for {operation or 'this operation'} was reached", status=429)
    if status >= 500:
        return TransientError(f"Amazon answered {status}{where}", status=status)
    return ConnectorError(
        f"Amazon answered {status}{where}: {message}",
        resolution="Check the account's status in Seller Central.",
        status=status,
    )


def _denied(operation: str, status: int, message: str, codes: list[str]) -> AuthError:
    """A 401/403 that survived one token refresh: the token is refused or the app lacks a role."""
    what = operation or "this request"
    code = codes[0] if codes else str(status)
    detail = f": {message}" if message else ""
    return AuthError(
        f"Amazon denied access to {what} ({code}{detail}). The seller may have revoked the app's authorization, "
        "or the app lacks the role this needs.",
        resolution=RECONNECT,
        status=status,
    )


def _errors_list(response: httpx.Response) -> list[JSON]:
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_codes(response: httpx.Response) -> list[str]:
    return [str(e.get("code")) for e in _errors_list(response) if e.get("code")]


def amazon_message(response: httpx.Response) -> str:
    """The text of an SP-API ``ErrorList`` (``{"errors": [{"code", "message", "details"}]}``)."""
    parts = []
    for error in _errors_list(response):
        text = " - ".join(str(error.get(k)) for k in ("message", "details") if error.get(k))
        parts.append(text or str(error.get("code") or ""))
    return "; ".join(p for p in parts if p) or response.reason_phrase


def rate_limit_of(response: httpx.Response) -> float | None:
    """The operation's rate (requests/s) from ``x-amzn-RateLimit-Limit``, when sent and sensible."""
    value = response.headers.get(RATE_LIMIT_HEADER)
    try:
        rate = float(value) if value is not None else None
    except ValueError:
        return None
    return rate if rate is not None and 0 < rate < 10_000 else None


retry_after_of = retry_after  # Amazon documents no Retry-After [U]; if one comes, it is honoured


def may_resend(outcome: httpx.Response | Exception, idempotent: bool) -> bool:
    """A read (or an absolute write) may be resent; a POST only when Amazon surely did not act on it."""
    return httpkit.may_resend(outcome, idempotent, RETRIABLE_STATUSES)


def amz_date() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class AmazonClient:
    """Authenticated, paced, retrying access to one seller's SP-API endpoint."""

    def __init__(
        self,
        settings: AmazonSettings,
        credentials: AmazonCredentials,
        store: TokenStore,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: the connector's address guard (``core.netguard``), for SP-API and LWA alike."""
        self.settings = settings
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=settings.endpoint,
            headers={"Accept": "application/json", "User-Agent": "Fenicia/0.1 (Language=Python)"},
            timeout=settings.timeout_seconds,
        )
        self.tokens = LwaTokens(settings, credentials, store, self._http)
        self.pacers = Pacers(settings.plan_overrides(), settings.pacing_safety)

    async def get(self, operation: str, path: str, params: Mapping[str, Any] | None = None) -> AmazonResponse:
        return await self.call(operation, "GET", path, params=params, idempotent=True)

    async def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON | None = None,
        idempotent: bool,
    ) -> AmazonResponse:
        """One SP-API operation, paced to its usage plan; refresh-once on 403, bounded retries."""
        token = await self.tokens.current()
        refreshed, attempt = False, 0
        while True:
            outcome = await self._send(operation, method, path, params, json, token)
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return _decode(outcome, operation)
            if isinstance(outcome, httpx.Response) and outcome.status_code == 403 and not refreshed:
                refreshed = True  # expired or revoked access token: Amazon answers 403, not 401
                token = await self.tokens.refresh(token)
                continue
            error = self._error(outcome, operation)
            wait = self._retry_wait(error, attempt) if may_resend(outcome, idempotent) else None
            await retry_or_raise(error, wait, outcome, event="amazon.retry", operation=operation)
            attempt += 1

    async def upload(self, url: str, content: bytes, content_type: str) -> None:
        """PUT a feed document to Amazon's presigned storage URL (no SP-API token: the URL is the grant)."""
        try:
            response = await self._http.put(url, content=content, headers={"Content-Type": content_type})
        except httpx.HTTPError as exc:
            raise to_error(exc) from exc
        if not response.is_success:
            raise TransientError(f"Uploading the feed document failed ({response.status_code})")

    async def download(self, url: str) -> bytes:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise to_error(exc) from exc
        if not response.is_success:
            raise TransientError(f"Downloading the feed report failed ({response.status_code})")
        return response.content

    async def aclose(self) -> None:
        await self._http.aclose()

    def _error(self, outcome: httpx.Response | Exception, operation: str) -> FeniciaError:
        error = to_error(outcome, operation)
        if isinstance(outcome, httpx.Response) and isinstance(error, RateLimitedError):
            error.retry_after = self.pacers[operation].throttled(retry_after_of(outcome))
        return error

    def _retry_wait(self, error: FeniciaError, attempt: int) -> float | None:
        """Seconds to sleep before resending inside the call; None: give the error to the caller."""
        if attempt >= self.settings.max_retries_in_call or not isinstance(error, TransientError):
            return None
        if isinstance(error, RateLimitedError):
            # no sleep here: the pacer now holds the resend until Amazon's bucket has a token again
            wait = error.retry_after or 0.0
            return 0.0 if wait <= self.settings.max_rate_limit_wait_seconds else None
        return min(self.settings.retry_base_wait_seconds * 2.0**attempt, self.settings.retry_wait_cap_seconds)

    async def _send(
        self,
        operation: str,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json: JSON | None,
        token: str,
    ) -> httpx.Response | Exception:
        pacer = self.pacers[operation]
        opener = await pacer.acquire()
        headers = {ACCESS_TOKEN_HEADER: token, "x-amz-date": amz_date()}
        try:
            response = await self._http.request(method, path, params=params, json=json, headers=headers)
        except httpx.HTTPError as exc:
            return exc
        finally:
            if opener:
                pacer.opened()
        rate = rate_limit_of(response)
        if rate is not None:
            self.pacers[operation].adopt_rate(rate)
        return response


def _decode(response: httpx.Response, operation: str) -> AmazonResponse:
    body: Any = {}
    if response.content.strip():
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"Amazon's answer to {operation} is not JSON") from None
    if not isinstance(body, dict):
        raise TransientError(f"Amazon's answer to {operation} is not a JSON object")
    return AmazonResponse(response.status_code, body)

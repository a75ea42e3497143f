"""Transport to the MercadoLibre API: bearer auth, pacing, retries and the mapping of answers to our errors.

One ``MercadoLibreClient`` per connector holds one ``httpx.AsyncClient`` (connection pooling). Every HTTP
status or transport exception becomes one of our errors in exactly one place: :func:`to_error`. The access
token only travels in the ``Authorization`` header (ML refuses ``?access_token=`` since 2021); it is
never logged nor put in an exception message.

An API call answered 401 gets one token refresh and one more try (:class:`TokenSource.rejected`); a
second 401 is an :class:`AuthError`. ML publishes no rate limits: calls are paced client-side at
``rate_limit_per_minute`` x ``pacing_fraction`` (settings, [U]), and a 429 makes every call of this
client wait ``Retry-After`` (or ``rate_limit_wait_seconds``) before the next one.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any, Protocol

import httpx
import structlog

from fenicia.connectors import httpkit
from fenicia.connectors.httpkit import remote_error, retry_after, retry_or_raise
from fenicia.connectors.mercadolibre.settings import MercadoLibreSettings
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

RECONNECT = "Reconnect the channel in Settings."
RETRIABLE_STATUSES = frozenset({423, 429, 500, 502, 503, 504})
# 400 texts that mean "clashes with the record's current state" rather than "bad input".
CONFLICT_PATTERN = re.compile(r"\balready\b|\bnot allowed in status\b|\binvalid status\b|\bcannot\b", re.IGNORECASE)
NEW_SHIPMENT_FORMAT = {"x-format-new": "true"}


class TokenSource(Protocol):
    """Hands out the current access token and renews it when the API refuses it."""

    async def access_token(self) -> str: ...

    async def rejected(self, value: str) -> None: ...


def to_error(outcome: httpx.Response | Exception) -> FeniciaError:
    """The one mapping of MercadoLibre answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return remote_error(outcome, "MercadoLibre")
    status, message = outcome.status_code, ml_message(outcome)
    if status == 401:
        return AuthError("MercadoLibre rejected the access token", resolution=RECONNECT, status=401)
    if status == 403:
        detail = f": {message}" if message else ""
        return AuthError(f"MercadoLibre refused access{detail}", resolution=RECONNECT, status=403)
    if status in (404, 410):
        return RemoteNotFound(f"MercadoLibre has no such record ({message or 'not found'})", status=status)
    if status == 409 or (status in (400, 422) and CONFLICT_PATTERN.search(message)):
        return ConflictError(
            f"MercadoLibre refused: {message}",
            resolution="Check the record in MercadoLibre: its current state does not allow this.",
            status=status,
        )
    if status in (400, 422):
        return ValidationFailed(f"MercadoLibre rejected the request: {message}", status=status)
    if status == 429:
        return RateLimitedError("MercadoLibre rate limit reached", retry_after=retry_after(outcome))
    if status == 423 or status >= 500:
        return TransientError(f"MercadoLibre answered {status}", retry_after=retry_after(outcome), status=status)
    return ConnectorError(
        f"MercadoLibre answered {status}: {message}",
        resolution="Check the seller account's status in MercadoLibre.",
        status=status,
    )


def ml_body(response: httpx.Response) -> JSON:
    """The error body ``{message, error, status, cause}`` (any JSON object), or {}."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def ml_message(response: httpx.Response) -> str:
    """ML's error text: ``message`` plus the ``cause`` entries' messages, else ``error``, else the reason."""
    body = ml_body(response)
    parts = [str(body.get("message") or body.get("error") or "")]
    for cause in body.get("cause") or []:
        text = cause.get("message") if isinstance(cause, dict) else cause
        if text:
            parts.append(str(text))
    message = "; ".join(part for part in parts if part)
    return message or response.reason_phrase


def retry_wait(error: FeniciaError, attempt: int, settings: MercadoLibreSettings) -> float | None:
    """Seconds to wait before retry number ``attempt + 1`` inside the call; None: give up now (also when
    the wait would pass ``retry_wait_cap_seconds``: the engine waits instead)."""
    return httpkit.retry_wait(error, attempt, settings, rate_limited_wait=settings.rate_limit_wait_seconds, clamp=False)


def may_resend(outcome: httpx.Response | Exception, idempotent: bool) -> bool:
    """A GET or an absolute PUT may always be resent; a POST only when ML surely did not act on it."""
    return httpkit.may_resend(outcome, idempotent, RETRIABLE_STATUSES)


class Pacer:
    """Spaces calls ``interval_s`` apart (shared by concurrent calls) and holds everyone after a 429."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._next_slot = 0.0

    async def wait_turn(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval_s
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Nobody calls again before ``seconds`` from now (the platform asked us to slow down)."""
        self._next_slot = max(self._next_slot, time.monotonic() + seconds)


class MercadoLibreClient:
    """Authenticated, paced, retrying access to ``{api_url}/...``."""

    def __init__(self, settings: MercadoLibreSettings, http: httpx.AsyncClient, tokens: TokenSource) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.pacer = Pacer(settings.pacing_interval_seconds)

    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, headers: Mapping[str, str] | None = None
    ) -> Any:
        return await self._request("GET", path, params=params, headers=headers, idempotent=True)

    async def put(self, path: str, body: JSON, *, idempotent: bool = True) -> Any:
        """PUTs we send are absolute (a quantity, a tracking number): safe to repeat."""
        return await self._request("PUT", path, json=body, idempotent=idempotent)

    async def post(self, path: str, body: JSON, *, idempotent: bool = False) -> Any:
        return await self._request("POST", path, json=body, idempotent=idempotent)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: JSON | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        attempt, renewed = 0, False
        while True:
            token = await self.tokens.access_token()
            outcome = await self._send(method, path, token, params, json, headers)
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return _decode(outcome, path)
            if isinstance(outcome, httpx.Response) and outcome.status_code == 401 and not renewed:
                await self.tokens.rejected(token)  # refresh once, then try the call once more
                renewed = True
                continue
            error = to_error(outcome)
            wait = retry_wait(error, attempt, self.settings) if may_resend(outcome, idempotent) else None
            if isinstance(error, RateLimitedError):
                self.pacer.hold(wait if wait is not None else self.settings.rate_limit_wait_seconds)
                if wait is None and error.retry_after is None:
                    error.retry_after = self.settings.rate_limit_wait_seconds
            await retry_or_raise(error, wait, outcome, event="mercadolibre.retry", method=method, path=path)
            attempt += 1

    async def _send(
        self,
        method: str,
        path: str,
        token: str,
        params: Mapping[str, Any] | None,
        json: JSON | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response | Exception:
        await self.pacer.wait_turn()
        sent_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        try:
            return await self.http.request(method, path, params=params, json=json, headers=sent_headers)
        except httpx.HTTPError as exc:
            return exc


def _decode(response: httpx.Response, path: str) -> Any:
    if not response.content.strip():
        return {}
    try:
        return response.json()
    except ValueError:
        raise TransientError(f"MercadoLibre's answer to {path} is not JSON") from None

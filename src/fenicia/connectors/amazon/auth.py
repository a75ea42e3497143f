"""Login with Amazon (LWA): the seller's refresh token buys a one-hour access token.

The access token is kept in the connection's ``TokenStore`` (shared by runs, pushes and processes)
and in memory; it is used until ``token_skew_seconds`` before it expires. A new one is asked for only
when none is usable, or once when Amazon says the one we sent is no longer good (403). One lock per
connector makes concurrent callers share a single refresh. Secrets never reach a log or an error.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import structlog

from fenicia.connectors.amazon.settings import AmazonCredentials, AmazonSettings
from fenicia.connectors.base import AccessToken, TokenStore
from fenicia.core.clock import utcnow
from fenicia.core.errors import AuthError, FeniciaError, RateLimitedError, TransientError

log = structlog.get_logger(__name__)

RECONNECT = "Reconnect the channel in Settings."
DEFAULT_LIFETIME_S = 3600  # [C] an LWA access token lives one hour
# LWA error codes that mean the seller's authorization or our app credentials are no good.
REFUSED_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"})


class LwaTokens:
    """The access token of one connection: cached, stored, refreshed once per expiry."""

    def __init__(
        self, settings: AmazonSettings, credentials: AmazonCredentials, store: TokenStore, http: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._store = store
        self._http = http
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.grants = 0  # tokens this connector obtained from LWA (tests and logs)

    def _usable(self, token: AccessToken | None) -> bool:
        margin = timedelta(seconds=self.settings.token_skew_seconds)
        return token is not None and token.expires_at - margin > utcnow()

    async def current(self) -> str:
        """A usable access token: from memory, else the store, else a new grant."""
        token = self._token
        if token is not None and self._usable(token):
            return token.value
        async with self._lock:
            if self._token is not None and self._usable(self._token):
                return self._token.value
            stored = await asyncio.to_thread(self._store.load)
            if stored is not None and self._usable(stored):
                self._token = stored
                return stored.value
            return await self._grant()

    async def refresh(self, rejected: str) -> str:
        """Amazon refused ``rejected``: a newer token (another task's or process's), else a new grant."""
        async with self._lock:
            if self._token is not None and self._token.value != rejected and self._usable(self._token):
                return self._token.value
            stored = await asyncio.to_thread(self._store.load)
            if stored is not None and stored.value != rejected and self._usable(stored):
                self._token = stored
                return stored.value
            return await self._grant()

    async def _grant(self) -> str:
        body = await self._post_refresh_grant()
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise TransientError("Login with Amazon answered without an access token")
        lifetime = body.get("expires_in")
        seconds = lifetime if isinstance(lifetime, int | float) and lifetime > 0 else DEFAULT_LIFETIME_S
        token = AccessToken(value=value, expires_at=utcnow() + timedelta(seconds=float(seconds)))
        await asyncio.to_thread(self._store.save, token)
        self._token = token
        self.grants += 1
        log.info("amazon.lwa_token_granted", expires_in_s=seconds)
        return value

    async def _post_refresh_grant(self) -> dict[str, Any]:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self._credentials.refresh_token.get_secret_value(),
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.get_secret_value(),
        }
        attempt = 0
        while True:
            try:
                response = await self._http.post(
                    self.settings.lwa_token_url, data=form, headers={"Accept": "application/json"}
                )
            except httpx.HTTPError as exc:
                error: FeniciaError = TransientError(f"Could not reach Login with Amazon ({type(exc).__name__})")
            else:
                if response.is_success:
                    return _json_object(response)
                error = lwa_error(response)
            if not isinstance(error, TransientError) or attempt >= self.settings.max_retries_in_call:
                raise error
            await asyncio.sleep(min(self.settings.retry_base_wait_seconds * 2.0**attempt, 5.0))
            attempt += 1


def lwa_error(response: httpx.Response) -> FeniciaError:
    """LWA answers ``{"error", "error_description"}`` with a non-200 status."""
    code, description = _lwa_error_fields(response)
    if code in REFUSED_GRANT_ERRORS or response.status_code in (400, 401, 403):
        detail = f": {description}" if description else ""
        return AuthError(
            f"Login with Amazon refused the connection's authorization ({code or response.status_code}{detail})",
            resolution=RECONNECT,
            status=response.status_code,
        )
    if response.status_code == 429:
        return RateLimitedError("Login with Amazon is throttling token requests", retry_after=1.0)
    return TransientError(f"Login with Amazon answered {response.status_code}", status=response.status_code)


def _lwa_error_fields(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("error") or ""), str(body.get("error_description") or "")


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise TransientError("Login with Amazon answered something that is not JSON") from None
    if not isinstance(body, dict):
        raise TransientError("Login with Amazon answered something that is not a JSON object")
    return body

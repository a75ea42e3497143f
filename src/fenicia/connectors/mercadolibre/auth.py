"""MercadoLibre OAuth: access tokens (6 h) obtained with single-use refresh tokens, shared through a TokenStore.

Every refresh answers a NEW refresh token and kills the one used, so the newest one is saved at once
(``AccessToken.refresh_token``) and used next time instead of the credentials' one. Another process
sharing the connection may rotate it first: our refresh then answers ``invalid_grant``, and we reload
the store (waiting up to ``rotation_wait_seconds`` for the other process to save), adopt its token or
retry once with its refresh token, and only then give up with :class:`AuthError` (reconnect).

Tokens are cached in memory until ``token_refresh_skew_seconds`` before they expire; the store is read
only when the cached one is missing, expiring or refused, never per request.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from fenicia.connectors.base import AccessToken, TokenStore
from fenicia.connectors.mercadolibre.client import JSON, ml_body, to_error
from fenicia.connectors.mercadolibre.settings import MercadoLibreCredentials, MercadoLibreSettings
from fenicia.core.clock import utcnow
from fenicia.core.errors import AuthError, FeniciaError, TransientError

log = structlog.get_logger(__name__)

RECONNECT = "Authorize the app again in MercadoLibre and reconnect the channel in Settings."
CLIENT_ERRORS = frozenset({"invalid_client", "unauthorized_client", "invalid_request", "unsupported_grant_type"})
ROTATION_POLL_SECONDS = 0.05


class InvalidGrant(Exception):
    """The refresh token (or code) was used already, expired or revoked."""


class TokenManager:
    """The access token of one connection: cached, refreshed once per lifetime, rotated safely."""

    def __init__(
        self,
        settings: MercadoLibreSettings,
        credentials: MercadoLibreCredentials,
        store: TokenStore,
        http: httpx.AsyncClient,
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.store = store
        self.http = http
        self.grants = 0  # tokens this manager obtained from ML
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def access_token(self) -> str:
        token = self._token
        if token is None or not self._fresh(token):
            token = await self._obtain(rejected=None)
        return token.value

    async def rejected(self, value: str) -> None:
        """The API refused ``value`` (401): find a newer token in the store, or refresh once."""
        await self._obtain(rejected=value)

    def _fresh(self, token: AccessToken, rejected: str | None = None) -> bool:
        skew = timedelta(seconds=self.settings.token_refresh_skew_seconds)
        return token.value != rejected and token.expires_at - skew > utcnow()

    async def _obtain(self, rejected: str | None) -> AccessToken:
        async with self._lock:  # one refresh per manager, whatever the number of calls waiting
            if self._token is not None and self._fresh(self._token, rejected):
                return self._token
            stored = await asyncio.to_thread(self.store.load)
            if stored is not None and self._fresh(stored, rejected):
                self._token = stored  # another run or process already renewed it
                return stored
            token = await self._renew(stored, rejected)
            self._token = token
            return token

    async def _renew(self, stored: AccessToken | None, rejected: str | None) -> AccessToken:
        used = stored.refresh_token if stored is not None and stored.refresh_token else None
        try:
            return await self._grant_with(used)
        except InvalidGrant:
            latest = await self._wait_for_rotation(used)
        if latest is not None and self._fresh(latest, rejected):
            log.info("mercadolibre.token_adopted", reason="renewed by another process")
            return latest
        retry_with = latest.refresh_token if latest is not None and latest.refresh_token else used
        try:
            return await self._grant_with(retry_with)  # once more, with whatever the store holds now
        except InvalidGrant:
            raise AuthError(
                "MercadoLibre refused the refresh token (used, expired or revoked)", resolution=RECONNECT
            ) from None

    async def _wait_for_rotation(self, used: str | None) -> AccessToken | None:
        """The store's token once it carries a refresh token other than ``used`` (another process saved
        its rotation), or whatever the store holds when ``rotation_wait_seconds`` have passed."""
        deadline = time.monotonic() + self.settings.rotation_wait_seconds
        while True:
            latest = await asyncio.to_thread(self.store.load)
            rotated = latest is not None and latest.refresh_token and latest.refresh_token != used
            if rotated or time.monotonic() >= deadline:
                return latest
            await asyncio.sleep(ROTATION_POLL_SECONDS)

    async def _grant_with(self, refresh_token: str | None) -> AccessToken:
        """A new token from ML: by ``refresh_token``, else the credentials' refresh token or code."""
        if refresh_token is not None:
            form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        elif self.credentials.refresh_token is not None:
            form = {"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token.get_secret_value()}
        else:
            form = self._code_form()
        answer = await self._post_token(form)
        token = self._token_from(answer, form.get("refresh_token"))
        await asyncio.to_thread(self.store.save, token)  # at once: the old refresh token is dead now
        self.grants += 1
        log.info("mercadolibre.token_granted", grant_type=form["grant_type"], expires_at=token.expires_at.isoformat())
        return token

    def _code_form(self) -> dict[str, str]:
        code = self.credentials.authorization_code
        if code is None or not self.settings.redirect_uri:
            raise AuthError(
                "No refresh token, and no authorization code with a redirect URI, to get a MercadoLibre token",
                resolution=RECONNECT,
            )
        return {
            "grant_type": "authorization_code",
            "code": code.get_secret_value(),
            "redirect_uri": self.settings.redirect_uri,
        }

    async def _post_token(self, form: dict[str, str]) -> JSON:
        data = {
            **form,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret.get_secret_value(),
        }
        headers = {"Accept": "application/json"}
        try:
            response = await self.http.post(self.settings.token_endpoint, data=data, headers=headers)
        except httpx.HTTPError as exc:
            raise to_error(exc) from exc
        if response.is_success:
            body = ml_body(response)
            if not body.get("access_token"):
                raise TransientError("MercadoLibre's token answer carries no access_token")
            return body
        raise _token_error(response)

    def _token_from(self, answer: JSON, used_refresh_token: str | None) -> AccessToken:
        user_id = answer.get("user_id")
        if user_id is not None and str(user_id) != str(self.settings.seller_id):
            raise AuthError(
                f"The MercadoLibre authorization belongs to user {user_id}, not to seller {self.settings.seller_id}",
                resolution="Authorize the app with the seller account named in the settings, then reconnect.",
            )
        lifetime = _seconds(answer.get("expires_in"), default=21_600.0)
        extra = {key: str(answer[key]) for key in ("user_id", "scope", "token_type") if answer.get(key) is not None}
        return AccessToken(
            value=str(answer["access_token"]),
            expires_at=_expiry(utcnow(), lifetime),
            refresh_token=str(answer.get("refresh_token") or used_refresh_token or "") or None,
            extra=extra,
        )


def _token_error(response: httpx.Response) -> Exception:
    """``invalid_grant`` is handled by the caller; a wrong app id/secret needs the merchant; the rest retries."""
    code = str(ml_body(response).get("error") or "")
    if code == "invalid_grant":
        return InvalidGrant()
    if code in CLIENT_ERRORS or response.status_code in (400, 401, 403):
        return AuthError(
            f"MercadoLibre refused the app credentials ({code or response.status_code})",
            resolution="Check the App ID and Secret Key in Settings, then reconnect the channel.",
        )
    error: FeniciaError = to_error(response)
    return error


def _seconds(value: Any, default: float) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    return default


def _expiry(now: datetime, lifetime_s: float) -> datetime:
    return now + timedelta(seconds=lifetime_s)

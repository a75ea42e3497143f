"""Access tokens for TikTok Shop: cached until shortly before their absolute expiry, refreshed once.

``GET {auth_base_url}/api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token``
answers ``{code, message, data: {access_token, access_token_expire_in, refresh_token, ...}}`` where
``*_expire_in`` are absolute Unix timestamps (§5.1). Every token obtained is saved in the connection's
token store with the refresh token that came with it, so the next refresh (in any process) uses the
newest one. Only one refresh runs at a time per connector; a caller that saw an expired token while
another caller refreshed gets the fresh token instead of refreshing again.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from fenicia.connectors.base import AccessToken, TokenStore
from fenicia.connectors.tiktok.errors import decode_answer, to_error
from fenicia.connectors.tiktok.settings import TikTokCredentials, TikTokSettings
from fenicia.core.clock import utcnow
from fenicia.core.errors import AuthError, TransientError

log = structlog.get_logger(__name__)
CIPHER_KEY = "shop_cipher"


class TokenManager:
    """The access token of one connection, shared through its ``TokenStore``."""

    def __init__(
        self, settings: TikTokSettings, credentials: TikTokCredentials, store: TokenStore, http: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.store = store
        self._http = http
        self._token: AccessToken | None = None
        self._loaded = False
        self._lock = asyncio.Lock()
        self.grants = 0  # refresh grants this manager obtained (tests, logs)

    async def current(self) -> AccessToken:
        """A token that is valid for at least the configured skew; refreshes (once) when needed."""
        if not self._loaded:
            self._token = await asyncio.to_thread(self.store.load)
            self._loaded = True
        token = self._token
        if token is not None and not self._expiring(token):
            return token
        return await self.refresh(stale=token)

    async def refresh(self, stale: AccessToken | None) -> AccessToken:
        """A fresh token instead of ``stale`` (the one TikTok refused or that is about to expire)."""
        async with self._lock:
            if self._token is not None and not self._same(self._token, stale) and not self._expiring(self._token):
                return self._token  # another caller refreshed while we waited
            stored = await asyncio.to_thread(self.store.load)
            if stored is not None and not self._same(stored, stale) and not self._expiring(stored):
                self._token = stored  # another process refreshed it: use theirs
                return stored
            token = await self._grant_with_newest(stored or stale)
            await asyncio.to_thread(self.store.save, token)
            self._token = token
            return token

    async def remember_cipher(self, cipher: str) -> None:
        """Keep the looked-up shop cipher beside the token so later runs skip the lookup."""
        token = self._token
        if token is None or token.extra.get(CIPHER_KEY) == cipher:
            return
        self._token = replace(token, extra={**token.extra, CIPHER_KEY: cipher})
        await asyncio.to_thread(self.store.save, self._token)

    def cached_cipher(self) -> str | None:
        return None if self._token is None else self._token.extra.get(CIPHER_KEY)

    def _expiring(self, token: AccessToken) -> bool:
        margin = timedelta(seconds=self.settings.token_refresh_skew_seconds)
        return token.expires_at - margin <= utcnow()

    @staticmethod
    def _same(a: AccessToken, b: AccessToken | None) -> bool:
        return b is not None and a.value == b.value

    async def _grant_with_newest(self, known: AccessToken | None) -> AccessToken:
        """Refresh with the newest refresh token we know; if TikTok refuses it, look in the store once more
        (another process may have rotated it) and retry with that one before giving up."""
        refresh_token = self._refresh_token_of(known)
        try:
            return await self._grant(refresh_token, known)
        except AuthError:
            again = await asyncio.to_thread(self.store.load)
            newer = self._refresh_token_of(again)
            if again is None or newer == refresh_token:
                raise
            if not self._expiring(again) and again.value != (known.value if known else None):
                return again
            return await self._grant(newer, again)

    def _refresh_token_of(self, token: AccessToken | None) -> str:
        if token is not None and token.refresh_token:
            return token.refresh_token
        return self.credentials.refresh_token.get_secret_value()

    async def _grant(self, refresh_token: str, previous: AccessToken | None) -> AccessToken:
        url = f"{self.settings.auth_base_url}{self.settings.token_refresh_path}"
        params = {
            "app_key": self.credentials.app_key,
            "app_secret": self.credentials.app_secret.get_secret_value(),
            "refresh_token": refresh_token,
            "grant_type": "refresh_token",
        }
        try:
            response = await self._http.get(url, params=params, timeout=self.settings.timeout_seconds)
        except httpx.HTTPError as exc:
            raise to_error(exc, self.settings) from None
        answer = decode_answer(response)
        if not answer.ok:
            error = to_error(answer, self.settings)
            if not isinstance(error, TransientError):  # any refusal of the grant itself means reconnect
                raise AuthError(f"TikTok Shop refused to refresh the access token ({error.message})") from None
            raise error
        self.grants += 1
        log.info("tiktok.token_refreshed", expires_in_s=_seconds_left(answer.data))
        return token_from_grant(answer.data, refresh_token, previous)


def token_from_grant(data: Any, used_refresh_token: str, previous: AccessToken | None) -> AccessToken:
    """The grant's ``data`` as an AccessToken; ``*_expire_in`` are absolute epoch seconds."""
    if not isinstance(data, dict) or not data.get("access_token"):
        raise TransientError("TikTok Shop's token answer has no access_token")
    expires = data.get("access_token_expire_in")
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        raise TransientError("TikTok Shop's token answer has no access_token_expire_in")
    extra = dict(previous.extra) if previous is not None else {}
    for key in ("open_id", "seller_name", "seller_base_region"):
        if data.get(key):
            extra[key] = str(data[key])
    return AccessToken(
        value=str(data["access_token"]),
        expires_at=datetime.fromtimestamp(float(expires), UTC),
        refresh_token=str(data.get("refresh_token") or used_refresh_token),
        extra=extra,
    )


def _seconds_left(data: Any) -> float | None:
    expires = data.get("access_token_expire_in") if isinstance(data, dict) else None
    if isinstance(expires, bool) or not isinstance(expires, int | float):
        return None
    return round(float(expires) - utcnow().timestamp(), 1)

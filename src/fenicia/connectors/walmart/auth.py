"""Walmart access tokens: client credentials → a 15-minute token, cached and shared through the TokenStore.

A token is asked for only when neither this process nor the store holds a fresh one (``expires_at``
minus a skew), and once more when Walmart answers 401 to a token we believed valid: ``refresh`` is
told which token failed, so a newer token another process saved meanwhile is used instead of
granting yet another. Concurrent callers share one grant (a lock).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from fenicia.connectors.base import AccessToken, TokenStore
from fenicia.connectors.walmart.settings import WalmartCredentials, WalmartSettings
from fenicia.core.clock import utcnow
from fenicia.core.errors import TransientError

Grant = Callable[[], Awaitable[dict[str, Any]]]
CLIENT_ID_KEY = "client_id"
DEFAULT_LIFETIME_SECONDS = 900  # [C] Walmart tokens live 15 minutes; used when expires_in is missing


def basic_auth(credentials: WalmartCredentials) -> str:
    pair = f"{credentials.client_id}:{credentials.client_secret.get_secret_value()}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


class TokenManager:
    """The access token of one connection. ``grant`` performs the token API call and returns its JSON."""

    def __init__(
        self, settings: WalmartSettings, credentials: WalmartCredentials, store: TokenStore, grant: Grant
    ) -> None:
        self.settings = settings
        self.client_id = credentials.client_id
        self.store = store
        self._grant = grant
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self.grants = 0

    async def current(self) -> str:
        """A token believed valid: ours, else the store's, else a new grant."""
        if self._token is not None and self._fresh(self._token):
            return self._token.value
        return await self.refresh(stale=None)

    async def refresh(self, stale: str | None) -> str:
        """A token other than ``stale`` (the one Walmart just refused), granting one only if needed."""
        async with self._lock:
            if self._usable(self._token, stale):
                assert self._token is not None
                return self._token.value
            stored = await asyncio.to_thread(self.store.load)
            if self._usable(stored, stale):
                assert stored is not None
                self._token = stored
                return stored.value
            token = self._parse(await self._grant())
            self.grants += 1
            await asyncio.to_thread(self.store.save, token)
            self._token = token
            return token.value

    def _usable(self, token: AccessToken | None, stale: str | None) -> bool:
        return (
            token is not None
            and token.value != stale
            and token.extra.get(CLIENT_ID_KEY, self.client_id) == self.client_id
            and self._fresh(token)
        )

    def _fresh(self, token: AccessToken) -> bool:
        return token.expires_at - timedelta(seconds=self.settings.token_expiry_skew_seconds) > utcnow()

    def _parse(self, body: dict[str, Any]) -> AccessToken:
        value = body.get("access_token")
        if not isinstance(value, str) or not value:
            raise TransientError("Walmart's token answer has no access_token")
        lifetime = body.get("expires_in", DEFAULT_LIFETIME_SECONDS)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float | str):
            lifetime = DEFAULT_LIFETIME_SECONDS
        try:
            seconds = float(lifetime)
        except ValueError:
            seconds = DEFAULT_LIFETIME_SECONDS
        return AccessToken(
            value=value, expires_at=utcnow() + timedelta(seconds=seconds), extra={CLIENT_ID_KEY: self.client_id}
        )

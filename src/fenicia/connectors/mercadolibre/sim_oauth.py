"""The simulator's OAuth server: authorization codes, single-use refresh tokens, 6-hour access tokens.

``POST /oauth/token`` (form-encoded) with ``grant_type=authorization_code`` (code + redirect_uri) or
``refresh_token``; both need the app's client_id and client_secret. Each refresh answers a new refresh
token and, with ``refresh_token_single_use`` (default), kills the one used: using it again answers
``400 invalid_grant``, as ML does. Token lifetimes run on the simulator's clock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig
from fenicia.connectors.mercadolibre.sim_models import ApiError, SimClock

SCOPE = "offline_access read write"
INVALID_GRANT = "Error validating grant. Your authorization code or refresh token may be expired or it was already used"


@dataclass
class Grant:
    user_id: int
    expires_at: float
    used: bool = False
    revoked: bool = False


class OAuthServer:
    def __init__(self, config: MercadoLibreSimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.refresh_tokens: dict[str, Grant] = {}
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.grants = 0  # access tokens issued by the token endpoint
        self.refused = 0  # token requests answered with an error
        self.refresh_tokens[config.initial_refresh_token] = Grant(
            config.seller_id, clock.now() + config.refresh_token_ttl_s
        )

    # -- control side -------------------------------------------------------------------------------

    def new_refresh_token(self) -> str:
        """A fresh authorization of the app by the seller (what the merchant pastes when connecting)."""
        token = f"TG-{secrets.token_hex(12)}-{self.config.seller_id}"
        self.refresh_tokens[token] = Grant(self.config.seller_id, self.clock.now() + self.config.refresh_token_ttl_s)
        return token

    def new_code(self) -> str:
        code = f"TG-{secrets.token_hex(12)}-{self.config.seller_id}"
        self.codes[code] = Grant(self.config.seller_id, self.clock.now() + self.config.authorization_code_ttl_s)
        return code

    def expire_access_tokens(self) -> int:
        """Every access token issued so far stops working now."""
        now = self.clock.now()
        for grant in self.access_tokens.values():
            grant.expires_at = min(grant.expires_at, now - 1)
        return len(self.access_tokens)

    def rotate_elsewhere(self) -> str | None:
        """Another client of the same seller refreshes first: the live refresh tokens die, a new one is born."""
        live = [token for token, grant in self.refresh_tokens.items() if self._usable(grant)]
        if not live:
            return None
        for token in live:
            self.refresh_tokens[token].used = True
        return self.new_refresh_token()

    def revoke_all(self) -> None:
        """The seller revoked the app: no refresh token works any more."""
        for grant in self.refresh_tokens.values():
            grant.revoked = True

    def state(self) -> dict[str, Any]:
        now = self.clock.now()
        return {
            "grants": self.grants,
            "refused": self.refused,
            "live_access_tokens": sum(1 for g in self.access_tokens.values() if g.expires_at > now),
            "live_refresh_tokens": sum(1 for g in self.refresh_tokens.values() if self._usable(g)),
        }

    # -- API side -----------------------------------------------------------------------------------

    def user_of(self, authorization: str | None) -> int:
        """The user an ``Authorization: Bearer`` header stands for; ApiError 401 when absent or expired."""
        scheme, _, value = (authorization or "").partition(" ")
        grant = self.access_tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if grant is None or grant.revoked or grant.expires_at <= self.clock.now():
            raise ApiError(401, "invalid access token", "unauthorized")
        return grant.user_id

    def token(self, form: dict[str, str]) -> dict[str, Any]:
        """The token endpoint's answer; ApiError 400 for a bad client or grant."""
        try:
            return self._token(form)
        except ApiError:
            self.refused += 1
            raise

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        if form.get("client_id") != str(self.config.app_id) or form.get("client_secret") != self.config.client_secret:
            raise ApiError(400, "invalid client_id or client_secret", "invalid_client")
        grant_type = form.get("grant_type")
        if grant_type == "refresh_token":
            grant = self._take(self.refresh_tokens, form.get("refresh_token"))
        elif grant_type == "authorization_code":
            if form.get("redirect_uri") != self.config.redirect_uri:
                raise ApiError(400, "redirect_uri does not match the application's", "invalid_grant")
            grant = self._take(self.codes, form.get("code"))
        else:
            raise ApiError(400, "grant_type must be authorization_code or refresh_token", "unsupported_grant_type")
        return self._issue(grant.user_id)

    def _take(self, pool: dict[str, Grant], value: str | None) -> Grant:
        grant = pool.get(value or "")
        if grant is None or not self._usable(grant):
            raise ApiError(400, INVALID_GRANT, "invalid_grant")
        if pool is self.codes or self.config.refresh_token_single_use:
            grant.used = True
        return grant

    def _usable(self, grant: Grant) -> bool:
        return not grant.used and not grant.revoked and grant.expires_at > self.clock.now()

    def _issue(self, user_id: int) -> dict[str, Any]:
        now = self.clock.now()
        stamp = datetime.fromtimestamp(now).strftime("%m%d%H")
        access = f"APP_USR-{self.config.app_id}-{stamp}-{secrets.token_hex(16)}-{user_id}"
        self.access_tokens[access] = Grant(user_id, now + self.config.access_token_ttl_s)
        refresh = self.new_refresh_token()
        self.grants += 1
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.config.access_token_ttl_s),
            "scope": SCOPE,
            "user_id": user_id,
            "refresh_token": refresh,
        }

"""Seller authorization and tokens of the simulated TikTok Shop (§5.1).

``GET /api/v2/token/get?app_key&app_secret&auth_code&grant_type=authorized_code`` and
``GET /api/v2/token/refresh?app_key&app_secret&refresh_token&grant_type=refresh_token`` answer
``{code, message, data: {access_token, access_token_expire_in, refresh_token, refresh_token_expire_in,
open_id, seller_name, seller_base_region, user_type, granted_scopes}, request_id}``; ``*_expire_in`` are
absolute Unix timestamps. Tokens can be expired at will through the control API.
"""

from __future__ import annotations

import secrets

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok.sim_config import TikTokSimConfig
from fenicia.connectors.tiktok.sim_models import JSON, SimClock, SimError

GRANTED_SCOPES = [
    "seller.authorization.info",
    "seller.order.info",
    "seller.fulfillment.basic",
    "seller.logistics",
    "seller.product.basic",
    "seller.return_refund.basic",
    "seller.shop.info",
]


class TokenRegistry:
    """Issued access and refresh tokens with their absolute expiry (simulated clock)."""

    def __init__(self, config: TikTokSimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.access: dict[str, int] = {}
        self.refresh: dict[str, int] = {config.refresh_token: clock.now() + int(config.refresh_token_ttl_s)}
        self.auth_codes: set[str] = set()
        self.grants = 0  # successful token grants (get + refresh)

    def check(self, token: str | None) -> str:
        """``ok``, ``expired`` or ``invalid`` for an ``x-tts-access-token`` value."""
        if not token or token not in self.access:
            return "invalid"
        return "ok" if self.access[token] > self.clock.now() else "expired"

    def expire_all(self) -> int:
        """Every access token issued so far expires now; returns how many there were."""
        past = self.clock.now() - 1
        for token in self.access:
            self.access[token] = past
        return len(self.access)

    def new_auth_code(self) -> str:
        code = f"ROW_{secrets.token_urlsafe(24)}"
        self.auth_codes.add(code)
        return code

    def grant(self, params: dict[str, str], kind: str) -> JSON:
        """The ``data`` of a successful grant, or a SimError with TikTok's code."""
        self._check_app(params)
        if kind == "refresh":
            if params.get("grant_type") != "refresh_token":
                raise SimError(codes.INVALID_PARAMETER, "grant_type must be refresh_token", 400)
            refresh_token = self._use_refresh_token(params.get("refresh_token"))
        else:
            if params.get("grant_type") != "authorized_code":
                raise SimError(codes.INVALID_PARAMETER, "grant_type must be authorized_code", 400)
            code = params.get("auth_code") or ""
            if code not in self.auth_codes:
                raise SimError(codes.INVALID_REFRESH_TOKEN, "auth_code is invalid or was already used.")
            self.auth_codes.discard(code)
            refresh_token = self._new_refresh_token()
        return self._issue(refresh_token)

    def _check_app(self, params: dict[str, str]) -> None:
        if params.get("app_key") != self.config.app_key or params.get("app_secret") != self.config.app_secret:
            raise SimError(codes.INVALID_PARAMETER, "Invalid credentials. Invalid app_key or app_secret.", 401)

    def _use_refresh_token(self, value: str | None) -> str:
        expires = self.refresh.get(value or "")
        if value is None or expires is None or expires <= self.clock.now():
            raise SimError(codes.INVALID_REFRESH_TOKEN, "refresh_token is invalid or expired.")
        if not self.config.rotate_refresh_token:
            return value
        del self.refresh[value]  # [U] rotation: the old refresh token dies when used
        return self._new_refresh_token()

    def _new_refresh_token(self) -> str:
        token = f"ROW_{secrets.token_urlsafe(32)}"
        self.refresh[token] = self.clock.now() + int(self.config.refresh_token_ttl_s)
        return token

    def _issue(self, refresh_token: str) -> JSON:
        access_token = f"ROW_{secrets.token_urlsafe(32)}"
        expires = self.clock.now() + int(self.config.access_token_ttl_s)
        self.access[access_token] = expires
        self.grants += 1
        return {
            "access_token": access_token,
            "access_token_expire_in": expires,
            "refresh_token": refresh_token,
            "refresh_token_expire_in": self.refresh[refresh_token],
            "open_id": f"open_{self.config.shop_id[-8:]}",
            "seller_name": self.config.shop_name,
            "seller_base_region": self.config.region,
            "user_type": 0,
            "granted_scopes": GRANTED_SCOPES,
        }

    def public(self) -> JSON:
        now = self.clock.now()
        return {
            "grants": self.grants,
            "access_tokens": len(self.access),
            "active_access_tokens": sum(1 for expires in self.access.values() if expires > now),
        }

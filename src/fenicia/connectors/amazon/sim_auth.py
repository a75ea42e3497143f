"""Login with Amazon for the simulator: the token endpoint, and the access tokens it has issued.

``POST /auth/o2/token`` (form-encoded) takes ``grant_type=refresh_token`` with the app's client id and
secret and the seller's refresh token, and answers ``{access_token, refresh_token, token_type,
expires_in}`` ([C] channels.md §2.1). Errors are ``{"error", "error_description"}``. SP-API calls with
a token that expired or was never issued get Amazon's 403 answers (never 401).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fenicia.connectors.amazon.sim_config import AmazonSimConfig
from fenicia.connectors.amazon.sim_models import ApiError, SimClock

DENIED = "Access to requested resource is denied."
EXPIRED_DETAILS = "The access token you provided has expired."  # [U] exact wording
INVALID_DETAILS = "The access token you provided is revoked, malformed or invalid."  # [S]


@dataclass
class IssuedToken:
    expires_at: float
    revoked: bool = False


class TokenRegistry:
    def __init__(self, config: AmazonSimConfig, clock: SimClock) -> None:
        self.config = config
        self.clock = clock
        self.tokens: dict[str, IssuedToken] = {}
        self.grants = 0
        self.refresh_revoked = False

    def issue(self) -> tuple[str, int]:
        value = "Atza|" + secrets.token_urlsafe(24)
        lifetime = int(self.config.token_lifetime_s)
        self.tokens[value] = IssuedToken(self.clock.now() + lifetime)
        self.grants += 1
        return value, lifetime

    def expire_all(self) -> int:
        """Every token issued so far stops working now (the next call gets 403 expired)."""
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, self.clock.now() - 1)
        return len(self.tokens)

    def check(self, value: str | None) -> None:
        """Raise Amazon's 403 for a missing, unknown or expired ``x-amz-access-token``."""
        if not value:
            raise ApiError(403, "MissingAuthenticationToken", DENIED, "The request has no x-amz-access-token header.")
        token = self.tokens.get(value)
        if token is None or token.revoked:
            raise ApiError(403, "Unauthorized", DENIED, INVALID_DETAILS)
        if token.expires_at <= self.clock.now():
            raise ApiError(403, "Unauthorized", DENIED, EXPIRED_DETAILS)


def lwa_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def token_endpoint(request: Request, registry: TokenRegistry) -> Response:
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
    config = registry.config
    if form.get("grant_type") != "refresh_token":
        return lwa_error(400, "unsupported_grant_type", "The sandbox grants refresh_token only.")
    if form.get("client_id") != config.client_id or form.get("client_secret") != config.client_secret:
        return lwa_error(401, "invalid_client", "Client authentication failed")
    if registry.refresh_revoked or form.get("refresh_token") != config.refresh_token:
        return lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : refresh_token")
    value, lifetime = registry.issue()
    body = {
        "access_token": value,
        "refresh_token": config.refresh_token,
        "token_type": "bearer",
        "expires_in": lifetime,
    }
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

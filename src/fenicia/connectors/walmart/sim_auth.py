"""The simulator's token API: client credentials (Basic clientId:clientSecret) → a 15-minute access token.

Tokens follow the simulator's clock, so advancing it expires them; the control API can also expire
every token at once. Every successful grant is counted (tests check a token is not fetched per call).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fenicia.connectors.walmart.sim_models import ApiError

if TYPE_CHECKING:
    from fenicia.connectors.walmart.simulator import WalmartSimulator


class TokenRegistry:
    def __init__(self, sim: WalmartSimulator) -> None:
        self.sim = sim
        self.expires: dict[str, float] = {}  # token -> simulated epoch seconds
        self.grants = 0

    def grant(self) -> tuple[str, int]:
        token = "eyJraWQiOi" + secrets.token_urlsafe(24)
        ttl = int(self.sim.config.token_ttl_s)
        self.expires[token] = self.sim.clock.now_s() + ttl
        self.grants += 1
        return token, ttl

    def check(self, token: str | None) -> None:
        if not token or self.expires.get(token, 0.0) <= self.sim.clock.now_s():
            raise self.unauthorized()

    def expire(self, token: str | None) -> None:
        if token in self.expires:
            self.expires[token] = 0.0

    def expire_all(self) -> int:
        live = [t for t, at in self.expires.items() if at > self.sim.clock.now_s()]
        for token in live:
            self.expires[token] = 0.0
        return len(live)

    def active(self) -> int:
        now = self.sim.clock.now_s()
        return sum(1 for at in self.expires.values() if at > now)

    @staticmethod
    def unauthorized() -> ApiError:
        return ApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized: the access token is invalid or expired")

    def credentials_ok(self, header: str | None) -> bool:
        scheme, _, encoded = (header or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            pair = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = pair.partition(":")
        config = self.sim.config
        return secrets.compare_digest(client_id, config.client_id) and secrets.compare_digest(
            secret, config.client_secret
        )


async def token_endpoint(request: Request, sim: WalmartSimulator) -> Response:
    """``POST /v3/token`` (form body ``grant_type=client_credentials``)."""
    form = await request.form()
    grant_type = form.get("grant_type")
    request.state.logged_body = {"grant_type": grant_type}
    if not sim.tokens.credentials_ok(request.headers.get("Authorization")):
        raise ApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Invalid client credentials", field="clientId")
    if grant_type != "client_credentials":
        raise ApiError(400, "INVALID_REQUEST_PARAM.GMP_GATEWAY_API", "Unsupported grant_type", field="grant_type")
    token, ttl = sim.tokens.grant()
    return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": ttl})


async def token_detail(request: Request, sim: WalmartSimulator) -> Response:
    """``GET /v3/token/detail``: the token's validity and the API key's scopes."""
    token = request.headers.get("WM_SEC.ACCESS_TOKEN", "")
    expires_ms = int(sim.tokens.expires.get(token, 0.0) * 1000)
    scopes = dict.fromkeys(
        ("reports", "item", "price", "lagtime", "feeds", "returns", "orders", "inventory"), "full_access"
    )
    return JSONResponse(
        {
            "expire_at": str(expires_ms),
            "issued_at": str(expires_ms - int(sim.config.token_ttl_s * 1000)),
            "is_valid": True,
            "scopes": scopes,
        }
    )

"""Transport to ShipHero's GraphQL API: tokens, throttling, retries and error mapping.

Tokens live in memory, one cache per client (the source Protocol has no token store): the first call
obtains an access token (``/auth/refresh`` with the refresh token, else ``/auth/token`` with email and
password, which also hands out a refresh token, kept for later); it is renewed before it expires, and a
401 from ``/graphql`` (expired or revoked) renews it once and resends the query. A new process starts
with a new token; ShipHero's tokens last weeks, so that costs one call per run at most.

GraphQL errors arrive with HTTP 200 in ``errors``: the throttle error (``code`` 30 [U], "not enough
credits ... in N seconds") becomes a rate-limit error with that wait; the others are mapped in
:func:`graphql_error`. HTTP statuses are mapped in :func:`to_error`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import SecretStr

from fenicia.connectors.httpkit import (
    AllowPrivate,
    SourceHttp,
    graphql_data,
    guarded_client,
    json_object,
    retry_after,
    retrying,
    transport_error,
)
from fenicia.connectors.shiphero.settings import ShipheroCredentials, ShipheroSettings
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    TransientError,
    ValidationFailed,
)

JSON = dict[str, Any]
THROTTLE_CODE = 30  # [U] ShipHero's code for "not enough credits"
SECONDS = re.compile(r"(\d+(?:\.\d+)?)\s*(?:seconds?|s\b)")
RELOGIN = "Create a new refresh token (My Account → Third-Party Developer) or check the email and password."
CHECK_ADDRESS = "Check the API address (https://public-api.shiphero.com) and that it is reachable from Fenicia."
PERMISSION = "Give the ShipHero user access to inventory (products and warehouses), then test again."


@dataclass
class CachedToken:
    value: str
    expires_at: float  # monotonic seconds


def shiphero_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or response.reason_phrase)
        for key in ("error_description", "message", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return response.reason_phrase


def to_error(outcome: httpx.Response | Exception, url: str = "") -> FeniciaError:
    """The one mapping of ShipHero HTTP answers and transport failures to the Fenicia error taxonomy."""
    if isinstance(outcome, Exception):
        return _error_for_exception(outcome, url)
    status, message = outcome.status_code, shiphero_message(outcome)
    path = outcome.request.url.path
    if status in (401, 403) and path.endswith("/auth/refresh"):
        return AuthError(f"ShipHero refused the refresh token ({message})", resolution=RELOGIN, status=status)
    if status in (401, 403) and path.endswith("/auth/token"):
        return AuthError(f"ShipHero refused the email or password ({message})", resolution=RELOGIN, status=status)
    if status == 401:
        return AuthError(f"ShipHero rejected the access token ({message})", resolution=RELOGIN, status=401)
    if status == 403:
        return AuthError(f"ShipHero refused access: {message}", resolution=PERMISSION, status=403)
    if status == 404:
        return ConfigError(f"ShipHero answered 404 Not Found at {path}", resolution=CHECK_ADDRESS, status=404)
    if status == 429:
        return RateLimitedError("ShipHero's request limit was reached (429)", retry_after=retry_after(outcome))
    if status >= 500:
        return TransientError(f"ShipHero answered {status}: {message}", retry_after=retry_after(outcome))
    if status in (400, 422):
        return ValidationFailed(f"ShipHero refused the request: {message}", status=status)
    return ConnectorError(f"ShipHero answered {status}: {message}", resolution=CHECK_ADDRESS, status=status)


def _error_for_exception(exc: Exception, url: str) -> FeniciaError:
    return transport_error(exc, url, system="ShipHero", place="ShipHero", resolution=CHECK_ADDRESS)


def graphql_error(errors: list[Any]) -> FeniciaError:
    """The first GraphQL error of an HTTP 200 answer as one of our errors."""
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = str(first.get("message") or "unknown GraphQL error")
    lowered = message.lower()
    if first.get("code") == THROTTLE_CODE or "credits" in lowered:
        wait = SECONDS.search(str(first.get("time_remaining") or "")) or SECONDS.search(message)
        return RateLimitedError(
            f"ShipHero throttled the query: {message}", retry_after=float(wait.group(1)) if wait else None
        )
    if "customer_account_id" in lowered:
        return ConfigError(
            f"ShipHero needs a customer account: {message}",
            resolution="This is a 3PL account: set 'customer_account_id' to the customer whose stock to read.",
        )
    if "permission" in lowered or "not allowed" in lowered or "access" in lowered:
        return AuthError(f"ShipHero refused access: {message}", resolution=PERMISSION)
    return ValidationFailed(f"ShipHero refused the query: {message}")


class ShipheroClient:
    """GraphQL queries with an in-memory access token, refreshed once on expiry; ``allow_private`` as in
    ``guarded_client``."""

    def __init__(
        self, settings: ShipheroSettings, credentials: ShipheroCredentials, allow_private: AllowPrivate = None
    ) -> None:
        self.settings = settings
        self._credentials = credentials
        self._refresh_token = credentials.refresh_token
        self._token: CachedToken | None = None
        headers = {"Accept": "application/json"}
        http = guarded_client(
            allow_private, base_url=settings.api_url, headers=headers, timeout=settings.timeout_seconds
        )
        self.http = SourceHttp(http, settings, to_error, name="shiphero")
        self.token_requests = 0

    async def query(self, document: str, variables: JSON) -> JSON:
        """The ``data`` of a GraphQL query; throttling is waited out inside the call when short."""

        async def attempt() -> JSON | FeniciaError:
            body = await self._authorized({"query": document, "variables": variables})
            return graphql_data(body, graphql_error, system="ShipHero")

        return await retrying(attempt, self.settings, event="shiphero.throttled")

    async def _authorized(self, payload: JSON) -> JSON:
        """POST /graphql with the token; a 401 renews the token once and resends."""
        token = await self.access_token()
        try:
            return await self._post("/graphql", payload, token)
        except AuthError as exc:
            if exc.details.get("status") != 401:
                raise
        self._token = None
        return await self._post("/graphql", payload, await self.access_token())

    async def access_token(self) -> str:
        now = time.monotonic()
        if self._token is None or self._token.expires_at - self.settings.token_refresh_margin_seconds <= now:
            self._token = await self._obtain_token()
        return self._token.value

    async def _obtain_token(self) -> CachedToken:
        self.token_requests += 1
        if self._refresh_token is not None:
            answer = await self._post("/auth/refresh", {"refresh_token": self._refresh_token.get_secret_value()})
        else:
            password = self._credentials.password.get_secret_value() if self._credentials.password else ""
            answer = await self._post("/auth/token", {"username": self._credentials.username, "password": password})
        value, lifetime = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(value, str) or not value:
            raise AuthError("ShipHero's token answer has no access token", resolution=RELOGIN)
        if isinstance(answer.get("refresh_token"), str) and answer["refresh_token"]:
            self._refresh_token = SecretStr(answer["refresh_token"])
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        return CachedToken(value, time.monotonic() + seconds)

    async def _post(self, path: str, payload: JSON, token: str | None = None) -> JSON:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        response = await self.http.request("POST", path, json=payload, headers=headers, clock=path == "/graphql")
        looks_like = "ShipHero's API"
        return json_object(response, path, system="ShipHero", looks_like=looks_like, resolution=CHECK_ADDRESS)

    async def aclose(self) -> None:
        await self.http.aclose()

"""Transport to the Walmart Marketplace API (US, /v3): auth headers, pacing, retries, error mapping.

One ``WalmartClient`` per connector holds one ``httpx.AsyncClient`` (connection pooling). Every call
carries ``WM_SEC.ACCESS_TOKEN``, a fresh ``WM_QOS.CORRELATION_ID`` (uuid4), ``WM_SVC.NAME`` and
``Accept: application/json``. A 401 refreshes the token once and repeats the call once. Statuses
become our errors in :func:`fenicia.connectors.walmart.errors.to_error`. Tokens and secrets are never
logged nor put in exception messages.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from fenicia.connectors import httpkit
from fenicia.connectors.base import TokenStore
from fenicia.connectors.httpkit import retry_or_raise
from fenicia.connectors.walmart.auth import TokenManager, basic_auth
from fenicia.connectors.walmart.errors import RECONNECT, to_error
from fenicia.connectors.walmart.limits import api_of
from fenicia.connectors.walmart.pacing import ApiPacer
from fenicia.connectors.walmart.settings import WalmartCredentials, WalmartSettings
from fenicia.core.errors import AuthError, FeniciaError, TransientError

JSON = dict[str, Any]
log = structlog.get_logger(__name__)

ACCESS_TOKEN_HEADER = "WM_SEC.ACCESS_TOKEN"
CORRELATION_HEADER = "WM_QOS.CORRELATION_ID"
SERVICE_NAME_HEADER = "WM_SVC.NAME"
RETRIABLE_STATUSES = frozenset({423, 429, 500, 502, 503, 504})


@dataclass
class WalmartResponse:
    status: int
    body: JSON


@dataclass
class Call:
    method: str
    path: str  # below the host, may carry a query string (Walmart's nextCursor)
    params: Mapping[str, Any] | None = None
    json: Any = None
    files: Mapping[str, tuple[str, bytes, str]] | None = None
    idempotent: bool = False

    @property
    def api(self) -> str:
        return api_of(self.method, self.path)


def retry_wait(error: FeniciaError, attempt: int, settings: WalmartSettings) -> float | None:
    """Seconds to wait before retry number ``attempt + 1`` inside the call; None: give up now."""
    return httpkit.retry_wait(error, attempt, settings, rate_limited_wait=settings.retry_base_wait_seconds)


def may_resend(outcome: httpx.Response | Exception, idempotent: bool) -> bool:
    """A read or an absolute write may always be resent; other writes only when Walmart surely did not act."""
    return httpkit.may_resend(outcome, idempotent, RETRIABLE_STATUSES)


class WalmartClient:
    """Authenticated, paced, retrying access to ``{api_base_url}/v3/...``."""

    def __init__(
        self,
        settings: WalmartSettings,
        credentials: WalmartCredentials,
        tokens: TokenStore,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: the connector's address guard (``core.netguard``), for the API and its token."""
        self.settings = settings
        self._credentials = credentials
        headers = {"Accept": "application/json", SERVICE_NAME_HEADER: settings.service_name}
        if settings.market:
            headers["WM_MARKET"] = settings.market
        if settings.channel_type:
            headers["WM_CONSUMER.CHANNEL.TYPE"] = settings.channel_type
        self._http = httpx.AsyncClient(
            transport=transport, base_url=settings.api_base_url, headers=headers, timeout=settings.timeout_seconds
        )
        self.pacer = ApiPacer(settings)
        self.tokens = TokenManager(settings, credentials, tokens, self._grant)

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> WalmartResponse:
        return await self.call(Call("GET", path, params=params, idempotent=True))

    async def post(self, path: str, body: Any = None, *, idempotent: bool = False) -> WalmartResponse:
        return await self.call(Call("POST", path, json=body, idempotent=idempotent))

    async def put(self, path: str, body: Any, params: Mapping[str, Any] | None = None) -> WalmartResponse:
        return await self.call(Call("PUT", path, params=params, json=body, idempotent=True))

    async def call(self, call: Call) -> WalmartResponse:
        """One API call: token, pacing, one token refresh on 401, in-call retries for 429/5xx."""
        attempt, refreshed = 0, False
        while True:
            token = await self.tokens.current()
            outcome = await self._send(call, {ACCESS_TOKEN_HEADER: token})
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return _decode(outcome, call.path)
            if isinstance(outcome, httpx.Response) and outcome.status_code == 401 and not refreshed:
                log.info("walmart.token_refused", path=call.path)  # expired or revoked: one fresh token, one retry
                await self.tokens.refresh(stale=token)
                refreshed = True
                continue
            error = to_error(outcome)
            wait = retry_wait(error, attempt, self.settings) if may_resend(outcome, call.idempotent) else None
            await retry_or_raise(error, wait, outcome, event="walmart.retry", method=call.method, path=call.path)
            attempt += 1

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _grant(self) -> JSON:
        """The token API: Basic client_id:client_secret, form body, client-credentials grant."""
        call = Call("POST", self.settings.token_path, idempotent=True)
        headers = {"Authorization": basic_auth(self._credentials)}
        attempt = 0
        while True:
            outcome = await self._send(call, headers, data={"grant_type": "client_credentials"})
            if isinstance(outcome, httpx.Response) and outcome.is_success:
                return _decode(outcome, call.path).body
            if isinstance(outcome, httpx.Response) and outcome.status_code in (400, 401, 403):
                raise AuthError(
                    "Walmart refused the API key (Client ID / Client Secret)",
                    resolution=f"Check the API key in Walmart Seller Center. {RECONNECT}",
                    status=outcome.status_code,
                )
            error = to_error(outcome)
            wait = retry_wait(error, attempt, self.settings) if may_resend(outcome, True) else None
            await retry_or_raise(error, wait, outcome, event="walmart.token_retry", path=call.path)
            attempt += 1

    async def _send(
        self, call: Call, headers: dict[str, str], data: Mapping[str, str] | None = None
    ) -> httpx.Response | Exception:
        await self.pacer.wait_turn(call.api)
        headers = {**headers, CORRELATION_HEADER: str(uuid.uuid4())}
        try:
            response = await self._http.request(
                call.method, call.path, params=call.params, json=call.json, files=call.files, data=data, headers=headers
            )
        except httpx.HTTPError as exc:
            return exc
        self.pacer.note(call.api, response)
        return response


def _decode(response: httpx.Response, path: str) -> WalmartResponse:
    body: Any = {}
    if response.content.strip():
        try:
            body = response.json()
        except ValueError:
            raise TransientError(f"Walmart's answer to {path} is not JSON") from None
    if not isinstance(body, dict):
        raise TransientError(f"Walmart's answer to {path} is not a JSON object")
    return WalmartResponse(response.status_code, body)

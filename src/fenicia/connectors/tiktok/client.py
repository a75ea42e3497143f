"""Transport to the TikTok Shop Open API: signing, access token, pacing, retries and error mapping.

Every call carries ``app_key``, ``timestamp``, ``shop_cipher`` (shop-scoped paths) and ``sign`` in the
query and ``x-tts-access-token`` in a header (§5.1). The JSON body is serialized once and the same bytes
are signed and sent. An expired-token answer makes the client refresh the token once and resend once;
throttle and 5xx answers are retried inside the call when the wait is short, otherwise they go back to
the engine (``RateLimitedError``/``TransientError`` with ``retry_after``). Answers are mapped to our
errors only by :func:`fenicia.connectors.tiktok.errors.to_error`. Secrets never reach a log line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from fenicia.connectors.base import TokenStore
from fenicia.connectors.httpkit import NOT_PROCESSED_STATUSES, NOT_SENT_EXCEPTIONS, retry_or_raise, retry_wait
from fenicia.connectors.tiktok.auth import TokenManager
from fenicia.connectors.tiktok.errors import TikTokAnswer, decode_answer, is_expired_token, to_error
from fenicia.connectors.tiktok.settings import TikTokCredentials, TikTokSettings
from fenicia.connectors.tiktok.signing import request_signature
from fenicia.core.errors import ConfigError, FeniciaError, RateLimitedError, TransientError

JSON = dict[str, Any]
log = structlog.get_logger(__name__)

ACCESS_TOKEN_HEADER = "x-tts-access-token"
SHOPS_PATH = "/authorization/202309/shops"


class Pacer:
    """Client-side pacing: at most ``rate`` calls per second on average, ``burst`` back to back.

    TikTok Shop's limits are not published [U]; pacing below the assumed limit keeps us clear of throttle
    answers. It is the generic cell rate algorithm: each call moves a theoretical arrival time on by one
    interval, computed from the previous one rather than from when we woke, so a late wake-up is caught
    up on the next call instead of lowering the rate. ``hold`` pushes every next call back after the
    platform asked us to wait.
    """

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.interval = 1.0 / rate_per_s
        self.tolerance = (burst - 1) * self.interval
        self._tat = 0.0  # theoretical arrival time of the next call (monotonic clock)
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            tat = max(self._tat, now)
            earliest = tat - self.tolerance
            if earliest > now:
                await asyncio.sleep(earliest - now)
            self._tat = tat + self.interval

    def hold(self, seconds: float) -> None:
        self._tat = max(self._tat, time.monotonic() + seconds + self.tolerance)


@dataclass
class Call:
    method: str
    path: str
    query: Mapping[str, Any]
    body: bytes | None
    shop_scoped: bool
    idempotent: bool


class TikTokClient:
    """Signed, paced, retrying access to ``{api_base_url}/{category}/{version}/{action}``."""

    def __init__(
        self,
        settings: TikTokSettings,
        credentials: TikTokCredentials,
        tokens: TokenStore,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport``: the connector's address guard (``core.netguard``), for the API and the token grant."""
        self.settings = settings
        self.credentials = credentials
        self._secret = credentials.app_secret
        self._http = httpx.AsyncClient(
            transport=transport,
            base_url=settings.api_base_url,
            timeout=settings.timeout_seconds,
            headers={"Accept": "application/json"},
        )
        self.tokens = TokenManager(settings, credentials, tokens, self._http)
        self.pacer = Pacer(settings.pacing_rate_per_second, settings.pacing_burst)
        self._cipher: str | None = settings.shop_cipher
        self.calls_sent = 0

    async def get(self, path: str, query: Mapping[str, Any] | None = None, *, shop_scoped: bool = True) -> Any:
        return await self.call(Call("GET", path, query or {}, None, shop_scoped, idempotent=True))

    async def post(
        self,
        path: str,
        body: JSON | None = None,
        query: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = False,
        shop_scoped: bool = True,
    ) -> Any:
        """``idempotent=True`` for reads sent as POST (searches) and absolute writes (stock, tracking)."""
        raw = json.dumps(body if body is not None else {}, separators=(",", ":"), ensure_ascii=False).encode()
        return await self.call(Call("POST", path, query or {}, raw, shop_scoped, idempotent))

    async def put(self, path: str, body: JSON, *, shop_scoped: bool = True) -> Any:
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return await self.call(Call("PUT", path, {}, raw, shop_scoped, idempotent=True))

    async def call(self, call: Call) -> Any:
        """The ``data`` of a successful answer; raises our errors otherwise."""
        attempt, refreshed = 0, False
        while True:
            token = await self.tokens.current()
            outcome = await self._send(call, token.value)
            if isinstance(outcome, TikTokAnswer) and outcome.ok:
                return outcome.data
            if isinstance(outcome, TikTokAnswer) and is_expired_token(outcome, self.settings) and not refreshed:
                log.info("tiktok.token_expired", path=call.path, code=outcome.code)
                await self.tokens.refresh(stale=token)
                refreshed = True  # one refresh and one resend per call, never more
                continue
            error = to_error(outcome, self.settings)
            wait = self._retry_wait(error, attempt) if _may_resend(outcome, call.idempotent, self.settings) else None
            if isinstance(error, RateLimitedError):
                self.pacer.hold(wait if wait is not None else self._throttle_wait(error))
            await retry_or_raise(error, wait, outcome, event="tiktok.retry", method=call.method, path=call.path)
            attempt += 1

    async def shop_cipher(self) -> str:
        """The shop's cipher: from settings, the token store, or ``GET /authorization/202309/shops`` once."""
        if self._cipher:
            return self._cipher
        await self.tokens.current()
        cached = self.tokens.cached_cipher()
        if cached:
            self._cipher = cached
            return cached
        data = await self.get(SHOPS_PATH, shop_scoped=False)
        self._cipher = pick_cipher(data, self.settings.shop_id)
        await self.tokens.remember_cipher(self._cipher)
        return self._cipher

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call, access_token: str) -> TikTokAnswer | Exception:
        params: dict[str, Any] = {k: v for k, v in call.query.items() if v is not None}
        params["app_key"] = self.credentials.app_key
        if call.shop_scoped:
            params["shop_cipher"] = await self.shop_cipher()
        await self.pacer.wait()
        params["timestamp"] = int(time.time())
        signed_body = call.body if call.method != "GET" else None
        params["sign"] = request_signature(call.path, params, signed_body, self._secret.get_secret_value())
        headers = {ACCESS_TOKEN_HEADER: access_token}
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        self.calls_sent += 1
        try:
            response = await self._http.request(
                call.method, call.path, params=params, content=call.body, headers=headers
            )
        except httpx.HTTPError as exc:
            return exc
        return decode_answer(response)

    def _retry_wait(self, error: FeniciaError, attempt: int) -> float | None:
        """Seconds to wait before resending inside this call; None: give the error to the engine."""
        settings = self.settings
        return retry_wait(error, attempt, settings, rate_limited_wait=settings.throttle_wait_seconds, clamp=False)

    def _throttle_wait(self, error: TransientError) -> float:
        return error.retry_after if error.retry_after is not None else self.settings.throttle_wait_seconds


def _may_resend(outcome: TikTokAnswer | Exception, idempotent: bool, settings: TikTokSettings) -> bool:
    """A read may always be resent; a write only when TikTok surely did not act on it."""
    if isinstance(outcome, TikTokAnswer):
        not_processed = outcome.code in settings.throttle_codes or outcome.status in NOT_PROCESSED_STATUSES
        return not_processed or idempotent
    if isinstance(outcome, NOT_SENT_EXCEPTIONS):
        return True
    return idempotent and isinstance(outcome, httpx.TransportError)


def pick_cipher(data: Any, shop_id: str | None) -> str:
    """The cipher of the configured shop (or of the only/first authorized shop)."""
    shops = data.get("shops") if isinstance(data, dict) else None
    if not isinstance(shops, list) or not shops:
        raise ConfigError("TikTok Shop lists no shop authorized for this app", resolution="Reconnect the channel.")
    chosen = [s for s in shops if isinstance(s, dict) and (shop_id is None or str(s.get("id")) == shop_id)]
    if not chosen or not chosen[0].get("cipher"):
        raise ConfigError(
            f"TikTok Shop shop {shop_id} is not among the shops this authorization covers",
            resolution="Check the shop id in the connection settings, or reconnect with that shop's seller account.",
        )
    return str(chosen[0]["cipher"])

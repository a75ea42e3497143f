"""Client-side pacing per Walmart API, so a sync stays under each API's token bucket without 429s.

Two sources, per API: Walmart's usage headers when it sends them (``x-current-token-count`` = calls
left, ``x-next-replenishment-time`` = when the next one arrives) and, until then or without them, a
local token bucket with the configured allowance [U]. Once an API has sent usage headers they win:
Walmart's own count is better than our guess of its limit. The local bucket runs a little below the
allowance (``local_pacing_margin``): without Walmart's count, network jitter could otherwise make a
call arrive a few milliseconds before Walmart's bucket has refilled.
"""

from __future__ import annotations

import asyncio
import time

import httpx

from fenicia.connectors.walmart.limits import (
    REPLENISHMENT_HEADER,
    TOKEN_COUNT_HEADER,
    parse_replenishment,
    parse_token_count,
)
from fenicia.connectors.walmart.settings import WalmartSettings
from fenicia.core.errors import RateLimitedError

REPLENISHMENT_PAD_S = 0.02  # how long after Walmart's next-token moment the next call goes


class _LocalBucket:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate_per_s)
        self.at = now

    def delay(self) -> float:
        self._refill()
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate_per_s

    def take(self) -> None:
        self._refill()
        self.tokens -= 1.0


class ApiPacer:
    """Waits before a call when its API has no call left; learns from every answer's headers."""

    def __init__(self, settings: WalmartSettings) -> None:
        self.settings = settings
        self._buckets: dict[str, _LocalBucket] = {}
        self._not_before: dict[str, float] = {}  # monotonic time, from the usage headers
        self._header_driven: set[str] = set()
        self.last_token_count: dict[str, int] = {}

    async def wait_turn(self, api: str) -> None:
        """Sleeps until ``api`` may be called, then counts the call.

        A wait longer than ``retry_wait_cap_seconds`` is not slept here: RateLimitedError hands it to
        the engine, which retries when the API has calls again (without spending a retry).
        """
        while (delay := self._delay(api)) > 0:
            if delay > self.settings.retry_wait_cap_seconds:
                raise RateLimitedError(
                    f"Walmart's {api} allowance is used up; next call possible in {delay:.0f} s", retry_after=delay
                )
            await asyncio.sleep(delay)
        bucket = self._bucket(api)
        if bucket is not None and api not in self._header_driven:
            bucket.take()

    def note(self, api: str, response: httpx.Response) -> None:
        """Reads the usage headers of an answer (429s included)."""
        if not self.settings.use_usage_headers:
            return
        count = parse_token_count(response.headers.get(TOKEN_COUNT_HEADER))
        if count is None:
            return
        self._header_driven.add(api)
        self.last_token_count[api] = count
        if count > self.settings.pacing_headroom_tokens and response.status_code != 429:
            self._not_before.pop(api, None)
            return
        moment = parse_replenishment(response.headers.get(REPLENISHMENT_HEADER))
        # the moment is in whole milliseconds and our clock is not Walmart's: arrive a little after it
        wait = 1.0 / self._rate(api) if moment is None else max(moment - time.time(), 0.0) + REPLENISHMENT_PAD_S
        self._not_before[api] = time.monotonic() + wait

    def wait_seconds(self, api: str) -> float:
        """How long a call to ``api`` would wait now (0: it may go at once)."""
        return self._delay(api)

    def _delay(self, api: str) -> float:
        delay = self._not_before.get(api, 0.0) - time.monotonic()
        bucket = self._bucket(api)
        if bucket is not None and api not in self._header_driven:
            delay = max(delay, bucket.delay())
        return max(delay, 0.0)

    def _bucket(self, api: str) -> _LocalBucket | None:
        if api not in self._buckets:
            allowance = self.settings.allowance(api)
            if allowance is None:
                return None
            margin = self.settings.local_pacing_margin
            self._buckets[api] = _LocalBucket(allowance.rate_per_s * margin, allowance.burst)
        return self._buckets[api]

    def _rate(self, api: str) -> float:
        allowance = self.settings.allowance(api)
        return allowance.rate_per_s if allowance is not None else 1.0

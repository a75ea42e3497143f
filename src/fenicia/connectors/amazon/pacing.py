"""Client-side pacing: a model of each SP-API operation's token bucket, so calls never outrun it.

Amazon refuses a call (429 ``QuotaExceeded``) when the operation's bucket is empty; a bucket refills
at ``rate`` tokens per second up to ``burst``. Each operation gets its own ``OperationPacer``: a call
reserves one token (the count may go below zero: that is the queue of callers) and sleeps until its
token exists. Concurrent callers reserve in turn, so any number of tasks together keep to the plan.

The model must never run ahead of Amazon's bucket. Two rules keep it behind:

- it refills at ``safety`` times the plan's rate;
- a full bucket starts refilling only at its first take, which happens somewhere between our send
  and Amazon's answer. So the call that opens a full bucket goes alone, and the refill is counted
  from its answer; the other callers wait for that answer (one round trip, only after idle periods).

Past that point arrival jitter cannot cause a 429: a request never reaches Amazon before it was sent.
"""

from __future__ import annotations

import asyncio
import math
import time

from fenicia.connectors.amazon.limits import UsagePlan, usage_plan


class OperationPacer:
    def __init__(self, plan: UsagePlan, safety: float) -> None:
        self.plan = plan
        self.safety = safety
        self._tokens = float(plan.burst)  # Amazon's bucket starts full
        self._at = time.monotonic()  # refill is counted from here; +inf while a full bucket is being opened
        self._opening: asyncio.Event | None = None

    @property
    def rate(self) -> float:
        return self.plan.rate_per_s * self.safety

    def _refill(self, now: float) -> None:
        if now > self._at:
            self._tokens = min(float(self.plan.burst), self._tokens + (now - self._at) * self.rate)
            self._at = now

    def _wait(self, now: float, needed: float) -> float:
        """Seconds until the model holds ``needed`` tokens."""
        if self._tokens >= needed:
            return 0.0
        return max(self._at - now, 0.0) + (needed - self._tokens) / self.rate

    def reserve(self) -> tuple[float, bool]:
        """Take one token: how long to wait before using it, and whether this call opens a full bucket."""
        now = time.monotonic()
        self._refill(now)
        opener = self._tokens >= self.plan.burst
        self._tokens -= 1.0
        if opener:
            self._at = math.inf  # no refill until Amazon has seen this call: see ``opened``
        return self._wait(now, 0.0), opener

    async def acquire(self) -> bool:
        """Wait for a token; True when the caller opened a full bucket and must call ``opened`` after."""
        while self._opening is not None:
            await self._opening.wait()
        wait, opener = self.reserve()
        if opener:
            self._opening = asyncio.Event()
        if wait > 0:
            await asyncio.sleep(wait)
        return opener

    def opened(self) -> None:
        """The opening call was answered (or failed): Amazon's refill began before now; count from now."""
        if self._at == math.inf:
            self._at = time.monotonic()
        event, self._opening = self._opening, None
        if event is not None:
            event.set()

    def throttled(self, retry_after: float | None = None) -> float:
        """Amazon said the bucket is empty: believe it (and a Retry-After, if one came).

        Returns how long the next call will be held."""
        now = time.monotonic()
        self._refill(now)
        floor = 1.0 - self.rate * retry_after if retry_after else 0.0
        self._tokens = min(self._tokens, 0.0, floor)
        return self.wait_seconds()

    def wait_seconds(self) -> float:
        """How long until one more call may go out (0 if one may go now)."""
        now = time.monotonic()
        self._refill(now)
        return self._wait(now, 1.0) if self._at != math.inf else 1.0 / self.rate

    def adopt_rate(self, rate_per_s: float) -> None:
        """The ``x-amzn-RateLimit-Limit`` header told the seller's real rate for this operation."""
        if rate_per_s > 0 and abs(rate_per_s - self.plan.rate_per_s) > 1e-9:
            self._refill(time.monotonic())
            self.plan = UsagePlan(rate_per_s, self.plan.burst)


class Pacers:
    """One pacer per operation name, created on first use from the usage-plan table."""

    def __init__(self, overrides: dict[str, UsagePlan], safety: float) -> None:
        self._overrides = overrides
        self._safety = safety
        self._pacers: dict[str, OperationPacer] = {}

    def __getitem__(self, operation: str) -> OperationPacer:
        pacer = self._pacers.get(operation)
        if pacer is None:
            pacer = OperationPacer(usage_plan(operation, self._overrides), self._safety)
            self._pacers[operation] = pacer
        return pacer

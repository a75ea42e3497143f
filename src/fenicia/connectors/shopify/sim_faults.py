"""Shopify's fault kinds, its REST leaky bucket and its GraphQL cost bucket; the shared parts live in
``fenicia.sandbox.simkit``."""

from __future__ import annotations

import math
import time

from fenicia.connectors.shopify.sim_config import ShopifySimConfig
from fenicia.sandbox.simkit import (
    COMMON_WEBHOOK_FAULTS,
    DEFAULT_TIMEOUT_HOLD_S,
    FaultRule,
    FaultSet,
    RequestLog,
    request_faults,
)

# Beyond the common faults: a revoked token (401) and a missing access scope (403).
SHOPIFY_FAULTS = request_faults("revoke_token", "missing_scope", webhook=COMMON_WEBHOOK_FAULTS)

__all__ = [
    "DEFAULT_TIMEOUT_HOLD_S",
    "SHOPIFY_FAULTS",
    "CostBucket",
    "FaultRule",
    "FaultSet",
    "LeakyBucket",
    "RequestLog",
]


class LeakyBucket:
    """Shopify REST limiting: each call adds 1, the bucket leaks `leak_rate_per_s` continuously,
    and a call that would overflow `bucket_size` is refused (429)."""

    def __init__(self, config: ShopifySimConfig) -> None:
        self.config = config
        self._level = 0.0
        self._at = time.monotonic()

    def _leak(self) -> None:
        now = time.monotonic()
        self._level = max(0.0, self._level - (now - self._at) * self.config.leak_rate_per_s)
        self._at = now

    def take(self) -> bool:
        """Count one call; False when it must be throttled. With limiting disabled nothing is counted, so
        the call-limit header stays empty and a well-behaved client never slows down for it."""
        self._leak()
        if not self.config.rate_limit_enabled:
            return True
        if self._level + 1 > self.config.bucket_size:
            return False
        self._level = min(self._level + 1, float(self.config.bucket_size))
        return True

    @property
    def used(self) -> int:
        self._leak()
        return min(math.ceil(self._level - 1e-9), self.config.bucket_size)

    def header(self) -> str:
        return f"{self.used}/{self.config.bucket_size}"

    def reset(self) -> None:
        self._level = 0.0


class CostBucket:
    """Shopify GraphQL limiting by calculated cost: a request takes its requested cost from a bucket of
    `graphql_bucket_size` points restored at `graphql_restore_rate_per_s`; one asking for more than the
    bucket holds is throttled. While limiting is off nothing is taken and the bucket reads full."""

    def __init__(self, config: ShopifySimConfig) -> None:
        self.config = config
        self._available = float(config.graphql_bucket_size)
        self._at = time.monotonic()
        self.throttled = 0  # requests refused so far

    def _restore(self) -> None:
        now = time.monotonic()
        size = float(self.config.graphql_bucket_size)
        self._available = min(size, self._available + (now - self._at) * self.config.graphql_restore_rate_per_s)
        self._at = now

    def take(self, cost: float) -> bool:
        """Take ``cost`` points; False when the request must be throttled."""
        self._restore()
        if not self.config.graphql_limited:
            self._available = float(self.config.graphql_bucket_size)
            return True
        if cost > self._available:
            self.throttled += 1
            return False
        self._available -= cost
        return True

    def refund(self, points: float) -> None:
        """Give back what a request was charged beyond its actual cost."""
        if points > 0 and self.config.graphql_limited:
            self._restore()
            self._available = min(float(self.config.graphql_bucket_size), self._available + points)

    def throttle_status(self) -> dict[str, float]:
        """``extensions.cost.throttleStatus`` as Shopify renders it."""
        self._restore()
        return {
            "maximumAvailable": float(self.config.graphql_bucket_size),
            "currentlyAvailable": float(math.floor(self._available)),
            "restoreRate": float(self.config.graphql_restore_rate_per_s),
        }

    def reset(self) -> None:
        self._available = float(self.config.graphql_bucket_size)
        self._at = time.monotonic()

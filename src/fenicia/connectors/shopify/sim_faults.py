"""Shopify's fault kinds and its REST leaky bucket; the shared parts live in ``fenicia.sandbox.simkit``."""

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

__all__ = ["DEFAULT_TIMEOUT_HOLD_S", "SHOPIFY_FAULTS", "FaultRule", "FaultSet", "LeakyBucket", "RequestLog"]


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

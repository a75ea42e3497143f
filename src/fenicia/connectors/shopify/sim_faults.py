"""Fault injection, the REST leaky bucket and the API request log."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

from fenicia.connectors.shopify.sim_config import ShopifySimConfig

# "lose_response": the shop acts on the request, then answers only after `seconds` — a client with a
# shorter timeout sees a timeout although the change was made (the case that must not double-ship).
REQUEST_FAULTS = frozenset(
    {"latency", "http_429", "http_500", "http_503", "timeout", "revoke_token", "missing_scope", "lose_response"}
)
DELAYING_FAULTS = frozenset({"latency", "lose_response"})
WEBHOOK_FAULTS = frozenset({"drop_webhooks", "duplicate_webhooks", "reorder_webhooks"})
FAULT_KINDS = REQUEST_FAULTS | WEBHOOK_FAULTS
DEFAULT_TIMEOUT_HOLD_S = 30.0
REQUEST_LOG_SIZE = 50_000


@dataclass
class FaultRule:
    """One injected fault. `count` None means until cleared; webhook faults match `path_contains`
    against the topic or the address of a delivery."""

    id: int
    kind: str
    count: int | None = None
    path_contains: str | None = None
    method: str | None = None
    seconds: float | None = None
    hits: int = 0

    def applies_to_request(self, method: str, path: str) -> bool:
        return (
            self.kind in REQUEST_FAULTS
            and (self.method is None or self.method.upper() == method.upper())
            and (self.path_contains is None or self.path_contains in path)
        )

    def applies_to_delivery(self, kind: str, topic: str, address: str) -> bool:
        return self.kind == kind and (
            self.path_contains is None or self.path_contains in topic or self.path_contains in address
        )

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data["remaining"] = None if self.count is None else self.count - self.hits
        return data


class FaultSet:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Validate and add a rule from the control API body; ValueError on bad input."""
        kind = spec.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"kind must be one of {sorted(FAULT_KINDS)}")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer or null")
        seconds = spec.get("seconds")
        if seconds is not None and (not isinstance(seconds, int | float) or seconds < 0):
            raise ValueError("seconds must be a non-negative number or null")
        rule = FaultRule(
            self._next_id,
            str(kind),
            count,
            spec.get("path_contains"),
            spec.get("method"),
            None if seconds is None else float(seconds),
        )
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def remove(self, rule_id: int) -> bool:
        before = len(self.rules)
        self.rules = [r for r in self.rules if r.id != rule_id]
        return len(self.rules) != before

    def clear(self) -> None:
        self.rules.clear()

    def _consume(self, rule: FaultRule) -> FaultRule:
        rule.hits += 1
        if rule.exhausted:
            self.rules.remove(rule)
        return rule

    def take_request_faults(self, method: str, path: str) -> list[FaultRule]:
        """Consume the rules that act on this request: every matching latency rule, then at
        most one answering rule (the oldest)."""
        matched = [r for r in self.rules if r.applies_to_request(method, path)]
        latency = [r for r in matched if r.kind in DELAYING_FAULTS]
        answering = [r for r in matched if r.kind not in DELAYING_FAULTS][:1]
        return [self._consume(r) for r in latency + answering]

    def take_delivery_fault(self, kind: str, topic: str, address: str) -> FaultRule | None:
        rule = next((r for r in self.rules if r.applies_to_delivery(kind, topic, address)), None)
        return None if rule is None else self._consume(rule)

    def has_active(self, kind: str) -> bool:
        return any(r.kind == kind for r in self.rules)


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
        """Count one call; False when it must be throttled (never when limiting is disabled)."""
        self._leak()
        if self.config.rate_limit_enabled and self._level + 1 > self.config.bucket_size:
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


@dataclass
class RequestRecord:
    id: int
    method: str
    path: str
    query: str
    api_version: str | None
    status: int
    time: str
    duration_ms: float
    body: Any
    fault: str | None


class RequestLog:
    def __init__(self) -> None:
        self.records: deque[RequestRecord] = deque(maxlen=REQUEST_LOG_SIZE)
        self._next_id = 1

    def add(self, **fields: Any) -> None:
        self.records.append(RequestRecord(id=self._next_id, **fields))
        self._next_id += 1

    def public(self) -> list[dict[str, Any]]:
        return [asdict(r) for r in self.records]

    def clear(self) -> None:
        self.records.clear()

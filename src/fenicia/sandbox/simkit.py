"""Parts every simulator shares: fault rules, the API request log, a token-bucket rate limiter, the
request guard that plays faults and limits around an API handler, and the ``/_sandbox/...`` control API
(in :mod:`fenicia.sandbox.simcontrol`, its names exported here too).

A simulator names its own fault kinds (``FaultKinds``); the rules, their matching and consumption, the
request log and the control routes for faults, requests, config, state and clock are the same
everywhere, so the control APIs of all simulators behave alike. A simulator adds its own routes (seeding,
customer activity) beside them with :func:`control_route`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from fenicia.sandbox.simcontrol import (
    MAX_BULK,
    ControlDialect,
    ControlHandler,
    ControlledConfig,
    SandboxControl,
    bulk_count,
    control_route,
    read_body,
)

JSON = dict[str, Any]
DEFAULT_TIMEOUT_HOLD_S = 30.0
DEFAULT_LATENCY_S = 1.0
REQUEST_LOG_SIZE = 50_000

# Faults every simulator understands. "lose_response": act on the request, then answer only after
# `seconds`, so a client with a shorter timeout sees a timeout although the change was made.
COMMON_REQUEST_FAULTS = frozenset({"latency", "http_429", "http_500", "http_503", "timeout", "lose_response"})
COMMON_DELAYING_FAULTS = frozenset({"latency", "lose_response"})
COMMON_WEBHOOK_FAULTS = frozenset({"drop_webhooks", "duplicate_webhooks", "reorder_webhooks"})


@dataclass(frozen=True)
class FaultKinds:
    """The fault kinds one simulator accepts: request faults (answering or delaying) and webhook faults."""

    request: frozenset[str] = COMMON_REQUEST_FAULTS
    delaying: frozenset[str] = COMMON_DELAYING_FAULTS
    webhook: frozenset[str] = COMMON_WEBHOOK_FAULTS

    @property
    def all(self) -> frozenset[str]:
        return self.request | self.webhook


def request_faults(*own: str, webhook: frozenset[str] = frozenset()) -> FaultKinds:
    """The fault kinds of a simulator: the common request faults and its ``own`` kinds, which its handlers
    play (e.g. ``revoke_key``); and the ``webhook`` kinds when it sends webhooks (e.g. COMMON_WEBHOOK_FAULTS)."""
    return FaultKinds(request=COMMON_REQUEST_FAULTS | set(own), delaying=COMMON_DELAYING_FAULTS, webhook=webhook)


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
    is_request: bool = field(default=True, repr=False)

    def applies_to_request(self, method: str, path: str) -> bool:
        return (
            self.is_request
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
        data.pop("is_request")
        data["remaining"] = None if self.count is None else self.count - self.hits
        return data


class FaultSet:
    def __init__(self, kinds: FaultKinds | None = None) -> None:
        self.kinds = kinds or FaultKinds()
        self.rules: list[FaultRule] = []
        self._next_id = 1

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Validate and add a rule from the control API body; ValueError on bad input."""
        kind = spec.get("kind")
        if kind not in self.kinds.all:
            raise ValueError(f"kind must be one of {sorted(self.kinds.all)}")
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
            is_request=kind in self.kinds.request,
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
        """Consume the rules that act on this request: every matching delaying rule, then at most
        one answering rule (the oldest)."""
        matched = [r for r in self.rules if r.applies_to_request(method, path)]
        delaying = [r for r in matched if r.kind in self.kinds.delaying]
        answering = [r for r in matched if r.kind not in self.kinds.delaying][:1]
        return [self._consume(r) for r in delaying + answering]

    def take_delivery_fault(self, kind: str, topic: str, address: str) -> FaultRule | None:
        rule = next((r for r in self.rules if r.applies_to_delivery(kind, topic, address)), None)
        return None if rule is None else self._consume(rule)

    def has_active(self, kind: str) -> bool:
        return any(r.kind == kind for r in self.rules)


class TokenBucket:
    """A token bucket: `rate_per_s` tokens are added continuously up to `burst`; a call takes one.

    Amazon SP-API documents its limits this way (rate and burst per operation); other platforms'
    per-window limits are modelled with it too. Disabled, it never refuses.
    """

    def __init__(self, rate_per_s: float, burst: int, *, enabled: bool = True) -> None:
        self.rate_per_s = rate_per_s
        self.burst = burst
        self.enabled = enabled
        self._tokens = float(burst)
        self._at = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate_per_s)
        self._at = now

    def take(self) -> bool:
        """Spend one token; False when the call must be refused (429)."""
        self._refill()
        if not self.enabled:
            return True
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True

    def take_if(self, enabled: bool) -> bool:
        """``take`` with limiting first switched on or off (a simulator's setting may change at runtime)."""
        self.enabled = enabled
        return self.take()

    def wait_seconds(self) -> float:
        """How long until one token is available (for Retry-After style answers)."""
        self._refill()
        if self._tokens >= 1.0 or self.rate_per_s <= 0:
            return 0.0
        return (1.0 - self._tokens) / self.rate_per_s

    @property
    def remaining(self) -> int:
        self._refill()
        return math.floor(self._tokens)

    def reset(self) -> None:
        self._tokens = float(self.burst)
        self._at = time.monotonic()


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
    """The last REQUEST_LOG_SIZE API requests a simulator answered, for tests and the control API."""

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


def route_path(request: Request) -> str:
    """The path of a request below the simulator's mount point (what a client signed, e.g. /v3/orders),
    whether the simulator is served on its own or mounted in a larger app."""
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def parse_query_time(value: str) -> float:
    """Epoch seconds of an ISO 8601 time from a query string: a '+' that a lax client let decode to a space
    is restored, ``Z`` is UTC, and a time without an offset is read as UTC [U]."""
    text = value.strip()
    if len(text) > 6 and text[-6] == " ":
        text = f"{text[:-6]}+{text[-5:]}"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def logged_body(raw: bytes, limit: int | None = None) -> Any:
    """A request body as the request log keeps it: its JSON, else its text (cut to ``limit`` characters),
    None when empty."""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")[:limit]


# -- a simulator's settings ----------------------------------------------------------------------


class SandboxConfig:
    """Base of a simulator's config dataclass: fields changed at runtime by ``POST /_sandbox/config``."""

    def update(self, changes: JSON) -> list[str]:
        """Set the named fields (a list given for a tuple field becomes a tuple); ValueError on an unknown
        name. Returns the names changed, sorted."""
        current = asdict(self)  # type: ignore[call-overload]  # subclasses are dataclasses
        unknown = sorted(set(changes) - set(current))
        if unknown:
            raise ValueError(f"unknown config fields: {', '.join(unknown)}")
        for name, value in changes.items():
            as_tuple = isinstance(getattr(self, name), tuple) and isinstance(value, list)
            setattr(self, name, tuple(value) if as_tuple else value)
        return sorted(changes)

    def public(self) -> JSON:
        public: JSON = asdict(self)  # type: ignore[call-overload]
        return public


@dataclass
class SandboxLimits(SandboxConfig):
    """Settings of a simulator whose system documents no rate limit of its own [U]: an optional token
    bucket (off by default) whose refusals, like ``http_429`` faults, say ``Retry-After: retry_after_s``."""

    rate_limit_enabled: bool = False
    rate_per_s: float = 10.0
    rate_burst: int = 20
    retry_after_s: float = 1.0

    def limiter(self) -> Callable[[], bool]:
        """A :class:`RequestGuard` ``admit``: the bucket as configured now, counting while enabled."""
        bucket = TokenBucket(self.rate_per_s, self.rate_burst, enabled=False)
        return lambda: bucket.take_if(self.rate_limit_enabled)


# -- the request guard ---------------------------------------------------------------------------

Handler = Callable[[Request, str | None], Awaitable[Response]]


@dataclass
class RequestGuard:
    """What every API request of a simulator goes through, in this order:

    1. request faults: ``latency`` sleeps, ``lose_response`` answers late (the change is made), ``http_429``,
       ``http_5xx`` and ``timeout`` (after its wait) answer with ``fault_answer(kind)``; a kind of the
       simulator's own (e.g. ``revoke_key``) is handed to the handler, which plays it;
    2. ``authorize`` (optional): a refusal answers before the rate limit counts the call;
    3. ``admit`` (optional): the rate limit; False answers ``fault_answer("http_429")``;
    4. the handler, with the fault kind it must play (or None).

    Every answer is logged without its body (bodies carry passwords and keys); ``hidden_params`` are
    left out of the logged query string for the same reason.
    """

    faults: FaultSet
    requests: RequestLog
    fault_answer: Callable[[str], Response]
    api_version: str | None = None
    authorize: Callable[[Request, str | None], Response | None] | None = None
    admit: Callable[[], bool] | None = None
    limit_label: str = "rate_limit"
    hidden_params: frozenset[str] = frozenset()

    async def run(self, request: Request, handler: Handler, *, api_version: str | None = None) -> Response:
        started = time.monotonic()
        response, fault, hold = await self._play_faults(request)
        if response is None:
            response, fault = await self._admitted(request, handler, fault)
        self.requests.add(
            method=request.method,
            path=request.url.path,
            query=self._logged_query(request),
            api_version=api_version or self.api_version,
            status=response.status_code,
            time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            body=None,
            fault=fault or ("lose_response" if hold else None),
        )
        if hold:
            await asyncio.sleep(hold)  # answered late: a client with a shorter timeout gives up first
        return response

    async def _play_faults(self, request: Request) -> tuple[Response | None, str | None, float]:
        """An answering fault's response, or None with a fault the handler must play; and a hold time."""
        hold = 0.0
        for rule in self.faults.take_request_faults(request.method, request.url.path):
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_LATENCY_S)
            elif rule.kind == "lose_response":
                hold += rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S
            elif rule.kind not in COMMON_REQUEST_FAULTS:
                return None, rule.kind, hold
            else:
                if rule.kind == "timeout":
                    await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S)
                return self.fault_answer(rule.kind), rule.kind, 0.0
        return None, None, hold

    async def _admitted(self, request: Request, handler: Handler, fault: str | None) -> tuple[Response, str | None]:
        refusal = self.authorize(request, fault) if self.authorize is not None else None
        if refusal is not None:
            return refusal, fault
        if self.admit is not None and not self.admit():
            return self.fault_answer("http_429"), self.limit_label
        return await handler(request, fault), fault

    def _logged_query(self, request: Request) -> str:
        parts = request.url.query.split("&") if request.url.query else []
        return "&".join(p for p in parts if p.partition("=")[0] not in self.hidden_params)


# -- running one simulator on its own port ------------------------------------------------------


def run_standalone(
    argv: list[str] | None,
    *,
    description: str,
    port: int,
    build: Callable[[argparse.Namespace], tuple[Any, str]],
    options: Callable[[argparse.ArgumentParser], None] | None = None,
    log_level: str | None = None,
) -> None:
    """``python -m <package>.simulator [--host H] [--port N] [options]``: serves the app ``build(args)``
    returns and prints the address with the second item (what to connect with)."""
    import uvicorn

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    if options is not None:
        options(parser)
    args = parser.parse_args(argv)
    app, connect_with = build(args)
    print(f"{description}: http://{args.host}:{args.port}  {connect_with}".rstrip(), flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=log_level)


__all__ = [
    "COMMON_DELAYING_FAULTS",
    "COMMON_REQUEST_FAULTS",
    "COMMON_WEBHOOK_FAULTS",
    "DEFAULT_TIMEOUT_HOLD_S",
    "JSON",
    "MAX_BULK",
    "ControlDialect",
    "ControlHandler",
    "ControlledConfig",
    "FaultKinds",
    "FaultRule",
    "FaultSet",
    "RequestGuard",
    "RequestLog",
    "SandboxConfig",
    "SandboxControl",
    "SandboxLimits",
    "TokenBucket",
    "bulk_count",
    "control_route",
    "logged_body",
    "parse_query_time",
    "read_body",
    "request_faults",
    "route_path",
    "run_standalone",
]

"""Prometheus metrics of the web process: request latency per route and the webhook inbox's outcomes.

They live in prometheus_client's default registry, so whatever else the process registers (the engine,
the Python runtime) shows on the same ``/metrics`` page.
"""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_LATENCY_BUCKETS_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "unmatched"  # unknown paths share one label, so scanners can't blow up cardinality

REQUEST_LATENCY = Histogram(
    "fenicia_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["method", "route", "status"],
    buckets=REQUEST_LATENCY_BUCKETS_SECONDS,
)
WEBHOOK_DELIVERIES = Counter(
    "fenicia_webhook_deliveries",
    "Webhook deliveries received: accepted (stored), duplicate (already stored) or rejected (why).",
    ["channel", "outcome", "reason"],
)


def count_webhook(channel: str, outcome: str, reason: str = "") -> None:
    WEBHOOK_DELIVERIES.labels(channel=channel, outcome=outcome, reason=reason).inc()


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Observes every HTTP request's duration, labelled by the matched route's template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - started
            labels = {"method": scope.get("method", ""), "route": _route_label(scope), "status": str(status)}
            REQUEST_LATENCY.labels(**labels).observe(elapsed)

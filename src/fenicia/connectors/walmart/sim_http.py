"""What every simulated Walmart API call goes through: faults, headers, token, rate limit, logging.

Order per request: request faults (latency, 429, 5xx, timeout, lose_response, expire_token, ...),
required headers (``WM_SVC.NAME``, ``WM_QOS.CORRELATION_ID``: 400 ``MISSING_REQUEST_HEADER``),
``Accept`` (406), the access token (401 ``UNAUTHORIZED``; the token API checks Basic credentials
itself), the API's token bucket (429 ``REQUEST_THRESHOLD_VIOLATED``), then the handler. Every answer
of a limited API carries ``x-current-token-count`` and ``x-next-replenishment-time`` (epoch ms).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fenicia.connectors.walmart.limits import OTHER, REPLENISHMENT_HEADER, TOKEN_COUNT_HEADER, api_of
from fenicia.connectors.walmart.sim_models import ApiError
from fenicia.sandbox.simkit import (
    COMMON_WEBHOOK_FAULTS,
    DEFAULT_TIMEOUT_HOLD_S,
    FaultRule,
    TokenBucket,
    request_faults,
    route_path,
)

if TYPE_CHECKING:
    from fenicia.connectors.walmart.simulator import WalmartSimulator

Handler = Callable[[Request], Awaitable[Response]]
# Beyond the common faults: the token presented is expired (401 then invalid), the API key is
# revoked (the token API answers 401), the key lacks a permission (403), the resource is locked (423).
WALMART_FAULTS = request_faults(
    "expire_token", "revoke_credentials", "forbidden", "http_423", webhook=COMMON_WEBHOOK_FAULTS
)
REQUIRED_HEADERS = ("WM_SVC.NAME", "WM_QOS.CORRELATION_ID")
JSON_ACCEPTS = ("application/json", "*/*", "application/*")
HEADER_LOG_SIZE = 20_000


class WalmartBucket(TokenBucket):
    """simkit's token bucket, plus when its next token arrives (for ``x-next-replenishment-time``)."""

    def next_token_in(self) -> float:
        self._refill()
        if self._tokens >= self.burst or self.rate_per_s <= 0:
            return 0.0
        return (1.0 - (self._tokens - math.floor(self._tokens))) / self.rate_per_s


def error_body(shape: str, *errors: ApiError) -> dict[str, Any]:
    entries = [e.entry() for e in errors]
    return {"errors": entries} if shape == "list" else {"errors": {"error": entries}}


class Gate:
    """The guard of one simulator (its buckets, header log and fault answers)."""

    def __init__(self, sim: WalmartSimulator) -> None:
        self.sim = sim
        self.buckets: dict[str, WalmartBucket] = {}
        self.headers_seen: deque[dict[str, str]] = deque(maxlen=HEADER_LOG_SIZE)
        self.rebuild_buckets()

    def rebuild_buckets(self) -> None:
        config = self.sim.config
        self.buckets = {
            api: WalmartBucket(float(pair[0]), max(int(pair[1]), 1), enabled=config.rate_limit_enabled)
            for api, pair in config.allowances.items()
        }

    def error(self, error: ApiError, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse(error_body(self.sim.config.error_shape, error), error.status, headers=headers)

    async def guard(self, request: Request, handler: Handler) -> Response:
        started = time.monotonic()
        path = route_path(request)
        api = api_of(request.method, path)
        response, fault, hold = await self._answer(request, handler, api, path)
        self._log(request, path, response, fault, started)
        if hold:
            await asyncio.sleep(hold)  # logged first: the client may hang up (and cancel us) meanwhile
        return response

    async def _answer(
        self, request: Request, handler: Handler, api: str, path: str
    ) -> tuple[Response, str | None, float]:
        hold = 0.0
        for rule in self.sim.faults.take_request_faults(request.method, path):
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds if rule.seconds is not None else 1.0)
            elif rule.kind == "lose_response":
                hold += rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S
            else:
                return await self._fault_response(rule, request, api), rule.kind, 0.0
        if hold:
            # act now, answer late: shield the handler so a client hanging up can't cancel the change
            return await asyncio.shield(self._checked(request, handler, api, path)), "lose_response", hold
        return await self._checked(request, handler, api, path), None, 0.0

    async def _checked(self, request: Request, handler: Handler, api: str, path: str) -> Response:
        try:
            self._check_headers(request)
            if api != "token":
                self.sim.tokens.check(request.headers.get("WM_SEC.ACCESS_TOKEN"))
        except ApiError as exc:
            return self.error(exc)
        bucket = self.buckets.get(api)
        if bucket is not None and not bucket.take():
            return self.throttled(api)
        try:
            self.sim.sweep()
            response = await handler(request)
        except ApiError as exc:
            response = self.error(exc)
        self._usage_headers(response, api)
        return response

    def _check_headers(self, request: Request) -> None:
        for name in REQUIRED_HEADERS:
            if not request.headers.get(name, "").strip():
                raise ApiError(400, "MISSING_REQUEST_HEADER.GMP_GATEWAY_API", f"Header {name} is missing", field=name)
        accept = request.headers.get("accept", "*/*").lower()
        if not any(kind in accept for kind in JSON_ACCEPTS):
            raise ApiError(406, "INVALID_ACCEPT_TYPE.GMP_GATEWAY_API", "Only application/json is served here")

    def throttled(self, api: str) -> Response:
        error = ApiError(
            429,
            self.sim.config.throttle_code,
            "Too Many Requests: the API's rate limit is exceeded",
            category="REQUEST",
        )
        response = self.error(error)
        self._usage_headers(response, api)
        bucket = self.buckets.get(api)
        if self.sim.config.retry_after_header and bucket is not None:
            response.headers["Retry-After"] = f"{max(bucket.wait_seconds(), 0.001):.3f}"
        return response

    def _usage_headers(self, response: Response, api: str) -> None:
        bucket = self.buckets.get(api)
        if bucket is None or api == OTHER or not self.sim.config.usage_headers:
            return
        response.headers[TOKEN_COUNT_HEADER] = str(max(bucket.remaining, 0))
        response.headers[REPLENISHMENT_HEADER] = str(int((time.time() + bucket.next_token_in()) * 1000))

    async def _fault_response(self, rule: FaultRule, request: Request, api: str) -> Response:
        kind = rule.kind
        if kind == "http_429":
            return self.throttled(api)
        if kind == "timeout":
            await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S)
            return self.error(ApiError(504, "DOWNSTREAM_SYSTEM_TIME_OUT.GMP_GATEWAY_API", "Gateway timeout"))
        if kind == "expire_token":
            self.sim.tokens.expire(request.headers.get("WM_SEC.ACCESS_TOKEN"))
            return self.error(self.sim.tokens.unauthorized())
        if kind == "revoke_credentials":
            return self.error(
                ApiError(401, "UNAUTHORIZED.GMP_GATEWAY_API", "Invalid client credentials", field="clientId")
            )
        if kind == "forbidden":
            return self.error(ApiError(403, "FORBIDDEN.GMP_GATEWAY_API", "Forbidden: no access to this API"))
        status = int(kind[-3:])
        texts = {
            500: "SYSTEM_ERROR.GMP_GATEWAY_API",
            503: "SERVICE_UNAVAILABLE",
            423: "RESOURCE_IS_LOCKED.GMP_RECEIVER_API",
        }
        if status == 503:
            return Response(status_code=503)  # an unreachable gateway answers a bare status
        return self.error(ApiError(status, texts[status], "The request could not be processed", category="SYSTEM"))

    def _log(self, request: Request, path: str, response: Response, fault: str | None, started: float) -> None:
        self.headers_seen.append(
            {
                "method": request.method,
                "path": path,
                "correlation_id": request.headers.get("WM_QOS.CORRELATION_ID", ""),
                "service_name": request.headers.get("WM_SVC.NAME", ""),
                "has_token": "yes" if request.headers.get("WM_SEC.ACCESS_TOKEN") else "no",
            }
        )
        self.sim.requests.add(
            method=request.method,
            path=path,
            query=request.url.query,
            api_version=None,
            status=response.status_code,
            time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            body=request.state.logged_body if hasattr(request.state, "logged_body") else None,
            fault=fault,
        )


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        request.state.logged_body = None
        return None
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "MALFORMED_REQUEST_CONTENT.GMP_ORDER_API", "The request body is not valid JSON") from exc
    request.state.logged_body = body
    return body

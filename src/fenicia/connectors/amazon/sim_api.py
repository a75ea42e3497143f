"""The HTTP face of the Amazon simulator: every SP-API route runs through ``SpApi.guard``.

Guard order: request faults → ``x-amz-access-token`` check (403, as Amazon) → the operation's token
bucket (429 ``QuotaExceeded``) → the handler. Answers carry ``x-amzn-RequestId``; 2xx/400/404 answers
also carry ``x-amzn-RateLimit-Limit`` (the operation's rate), as the official models declare. Every
answer is logged and counted per operation.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fenicia.connectors.amazon.sim_auth import DENIED, token_endpoint
from fenicia.connectors.amazon.sim_models import ApiError
from fenicia.sandbox import simkit
from fenicia.sandbox.simkit import (
    DEFAULT_TIMEOUT_HOLD_S,
    FaultRule,
    request_faults,
    route_path,
)

if TYPE_CHECKING:
    from fenicia.connectors.amazon.simulator import AmazonSimulator

Handler = Callable[[Request], Awaitable[Response]]
# Beyond the common faults: every issued access token expires now; a 403 even with a fresh token
# (missing role, revoked authorization); the seller revokes the app (refresh token refused).
AMAZON_FAULTS = request_faults("expire_token", "permission_denied", "revoke_refresh_token")
QUOTA_EXCEEDED = ApiError(429, "QuotaExceeded", "You exceeded your quota for the requested resource.")
RATE_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})
FAULT_ERRORS = {
    "http_500": ApiError(500, "InternalFailure", "We encountered an internal error. Please try again."),
    "http_503": ApiError(503, "ServiceUnavailable", "Temporary overloading or maintenance of the server."),
}
LWA_PATH = "/auth/o2/token"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.body(), error.status, headers)


async def logged_body(request: Request) -> Any:
    raw = await request.body()
    return None if route_path(request).startswith("/_s3/") else simkit.logged_body(raw, limit=2000)


class SpApi:
    def __init__(self, sim: AmazonSimulator) -> None:
        self.sim = sim

    def throttled(self, operation: str | None) -> Response:
        headers = {}
        if self.sim.config.retry_after_header:
            wait = self.sim.buckets.bucket(operation).wait_seconds() if operation else 1.0
            headers["Retry-After"] = f"{max(wait, 1.0):.0f}"
        return error_response(QUOTA_EXCEEDED, headers)

    async def _fault_response(self, rule: FaultRule, operation: str | None) -> Response | None:
        kind = rule.kind
        if kind == "http_429":
            return self.throttled(operation)
        if kind in FAULT_ERRORS:
            return error_response(FAULT_ERRORS[kind])
        if kind == "timeout":
            await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S)
            return error_response(ApiError(504, "GatewayTimeout", "The gateway timed out."))
        if kind == "permission_denied" and operation is not None:
            return error_response(ApiError(403, "Unauthorized", DENIED, ""))
        if kind == "expire_token":
            self.sim.tokens.expire_all()
        if kind == "revoke_refresh_token":
            self.sim.revoke_authorization()
        return None  # the fault changed state; the request goes on and meets it

    async def _faults(self, request: Request, operation: str | None, path: str) -> tuple[Response | None, float, str]:
        """An answering fault's response (or None), how long to hold a real answer, the fault's name."""
        hold, names = 0.0, []
        for rule in self.sim.faults.take_request_faults(request.method, path):
            names.append(rule.kind)
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds if rule.seconds is not None else 1.0)
            elif rule.kind == "lose_response":
                hold += rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S
            else:
                response = await self._fault_response(rule, operation)
                if response is not None:
                    return response, 0.0, ",".join(names)
        return None, hold, ",".join(names)

    async def _checked(self, request: Request, operation: str | None, handler: Handler) -> Response:
        try:
            if operation is not None:
                self.sim.tokens.check(request.headers.get("x-amz-access-token"))
                if not self.sim.buckets.take(operation):
                    return self.throttled(operation)
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)

    async def guard(self, request: Request, operation: str | None, handler: Handler) -> Response:
        started, path = time.monotonic(), route_path(request)
        body = await logged_body(request)  # read first: Starlette keeps it for the handler
        response, hold, fault = await self._faults(request, operation, path)
        if response is None and hold:
            # act now, answer late: shielded so a client hanging up cannot cancel the change
            response = await asyncio.shield(self._checked(request, operation, handler))
        elif response is None:
            response = await self._checked(request, operation, handler)
        self._decorate(response, operation)
        self.sim.record(request, path, operation, response.status_code, started, fault, body)
        if hold:
            await asyncio.sleep(hold)  # logged first: the client may hang up (and cancel us) meanwhile
        return response

    def _decorate(self, response: Response, operation: str | None) -> None:
        response.headers["x-amzn-RequestId"] = str(uuid.uuid4())
        if operation is not None and response.status_code in RATE_HEADER_STATUSES:
            response.headers["x-amzn-RateLimit-Limit"] = str(float(self.sim.buckets.rate(operation)))

    def route(self, path: str, operation: str | None, handler: Handler, method: str = "GET") -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.guard(request, operation, handler)

        return Route(path, endpoint, methods=[method])

    async def lwa(self, request: Request) -> Response:
        return await token_endpoint(request, self.sim.tokens)

    async def unknown(self, request: Request) -> Response:
        raise ApiError(404, "NotFound", "Resource not found.", route_path(request))

    def routes(self) -> list[BaseRoute]:
        from fenicia.connectors.amazon.sim_routes import operation_routes

        r = self.route
        return [
            r(LWA_PATH, None, self.lwa, "POST"),
            *[r(path, op, handler, method) for method, path, op, handler in operation_routes(self.sim)],
            *[r("/{rest:path}", None, self.unknown, m) for m in ("GET", "POST", "PUT", "PATCH", "DELETE")],
        ]

"""A faithful fake of ShipHero's public API, for sandbox mode and connector tests.

``POST /auth/token`` (email, password → access and refresh token), ``POST /auth/refresh`` (refresh token →
access token), and ``POST /graphql`` with ``Authorization: Bearer <token>``: the ``account``,
``user_quota`` and ``warehouse_products`` queries, the last with a Relay connection
(``data(first:, after:)`` → ``pageInfo { hasNextPage endCursor }``, ``edges { node }``) and the filters
``warehouse_id, sku, active, customer_account_id, updated_from/to, created_from``. Credits are accounted
per query (``complexity``); a query the bucket cannot pay answers HTTP 200 with a throttle error
(``code`` 30, ``time_remaining`` [U]); past 7,000 requests in 5 minutes, 429 with ``Retry-After``.
An expired or unknown token answers 401 [U: body shape]. Control API under ``/_sandbox/...``.

Run standalone: ``python -m fenicia.connectors.shiphero.simulator --port 8090``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fenicia.connectors.shiphero.sim_control import control_routes
from fenicia.connectors.shiphero.sim_graphql import Field, GraphQLError, parse, render
from fenicia.connectors.shiphero.sim_store import KNOWN_FIELDS, ShipheroStore, relay_id
from fenicia.sandbox.simkit import (
    FaultSet,
    RequestGuard,
    RequestLog,
    SandboxConfig,
    TokenBucket,
    request_faults,
    run_standalone,
)

JSON = dict[str, Any]
SHIPHERO_FAULTS = request_faults("expire_token", "permission_error", "throttle")
THROTTLE_CODE = 30
REQUESTS_PER_WINDOW, WINDOW_S = 7000, 300.0


@dataclass
class ShipheroSimConfig(SandboxConfig):
    """The simulated account; fields can be changed at runtime through ``POST /_sandbox/config``."""

    username: str = "ops@example.com"
    password: str = "shiphero-sandbox-password"
    refresh_token: str = "shiphero-sandbox-refresh"
    token_lifetime_s: float = 2_419_200.0  # 28 days
    is_3pl: bool = False
    credits_max: float = 4004.0
    credits_restore_per_s: float = 60.0
    request_limit_enabled: bool = True
    retry_after_s: float = 1.0
    seed_demo: bool = True


def graphql_errors(message: str, **extra: Any) -> Response:
    return JSONResponse({"errors": [{"message": message, **extra}], "data": None})


class ShipheroSimulator:
    """One ShipHero account (a brand, or a 3PL with customers)."""

    def __init__(self, config: ShipheroSimConfig | None = None) -> None:
        self.config = config or ShipheroSimConfig()
        self.store = ShipheroStore()
        self.store.refresh_tokens.add(self.config.refresh_token)
        self.store.credits.maximum = self.store.credits.remaining = self.config.credits_max
        self.store.credits.restore_per_s = self.config.credits_restore_per_s
        self.faults = FaultSet(SHIPHERO_FAULTS)
        self.requests = RequestLog()
        self.window = TokenBucket(REQUESTS_PER_WINDOW / WINDOW_S, REQUESTS_PER_WINDOW)
        self.guard = RequestGuard(
            self.faults, self.requests, self._fault_answer, admit=self._admit, limit_label="request_limit"
        )
        if self.config.seed_demo:
            seed_demo(self.store)
        routes = [
            Route("/auth/token", self.auth_token, methods=["POST"]),
            Route("/auth/refresh", self.auth_refresh, methods=["POST"]),
            Route("/graphql", self.graphql, methods=["POST"]),
            *control_routes(self),
        ]
        self.app = Starlette(routes=routes)

    # -- auth ------------------------------------------------------------------------------------

    async def auth_token(self, request: Request) -> Response:
        return await self.guard.run(request, self._auth_token)

    async def _auth_token(self, request: Request, fault: str | None) -> Response:
        body = await json_body(request)
        if (body.get("username"), body.get("password")) != (self.config.username, self.config.password):
            return JSONResponse({"error": "invalid_grant", "error_description": "Wrong email or password."}, 403)
        return JSONResponse(self._token_answer() | {"refresh_token": self.store.issue_refresh_token()}, status_code=200)

    async def auth_refresh(self, request: Request) -> Response:
        return await self.guard.run(request, self._auth_refresh)

    async def _auth_refresh(self, request: Request, fault: str | None) -> Response:
        body = await json_body(request)
        if body.get("refresh_token") not in self.store.refresh_tokens:
            answer = {"error": "invalid_grant", "error_description": "Unknown or invalid refresh token."}
            return JSONResponse(answer, status_code=403)
        return JSONResponse(self._token_answer())

    def _token_answer(self) -> JSON:
        token = self.store.issue_access_token(self.config.token_lifetime_s)
        lifetime = int(self.config.token_lifetime_s)
        return {
            "access_token": token,
            "expires_in": lifetime,
            "scope": "openid profile offline_access",
            "token_type": "Bearer",
        }

    def _token_problem(self, request: Request, fault: str | None) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expiry = self.store.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if expiry is None:
            return "Invalid token"
        if fault == "expire_token":
            self.store.access_tokens[token] = 0.0
        if self.store.access_tokens[token] <= time.monotonic():
            return "Expired token"
        return None

    # -- GraphQL ---------------------------------------------------------------------------------

    async def graphql(self, request: Request) -> Response:
        return await self.guard.run(request, self._graphql)

    async def _graphql(self, request: Request, fault: str | None) -> Response:
        problem = self._token_problem(request, fault)
        if problem:
            return JSONResponse({"errors": [{"message": problem, "code": 401}]}, status_code=401)
        body = await json_body(request)
        try:
            roots = parse(str(body.get("query") or ""), body.get("variables") or {})
        except GraphQLError as exc:
            return JSONResponse({"errors": [{"message": str(exc)}]}, status_code=400)
        data: JSON = {}
        for root in roots:
            try:
                data[root.key] = self._resolve(root, fault)
            except GraphQLError as exc:
                return graphql_errors(str(exc), **exc.extra)
        return JSONResponse({"data": data})

    def _resolve(self, root: Field, fault: str | None) -> Any:
        if root.name == "account":
            account = {"id": self.store.account_id, "legacy_id": 1, "email": self.config.username}
            value = {"request_id": uuid.uuid4().hex, "complexity": 1, "data": account | {"is_3pl": self.config.is_3pl}}
        elif root.name == "user_quota":
            credits = self.store.credits
            value = {"credits_remaining": int(credits.refill()), "max_available": int(credits.maximum)}
            value |= {"increment_rate": int(credits.restore_per_s), "is_expired": False, "time_remaining": None}
        elif root.name == "warehouse_products":
            value = self._warehouse_products(root, fault)
        else:
            raise GraphQLError(f"Cannot query field '{root.name}' on type 'Query'.")
        return render(value, root.selections, root.name, KNOWN_FIELDS)

    def _warehouse_products(self, root: Field, fault: str | None) -> JSON:
        if fault == "permission_error":
            raise GraphQLError("You do not have permission to access warehouse products", code=9)
        if self.config.is_3pl and not root.args.get("customer_account_id"):
            raise GraphQLError("A customer_account_id is required for 3PL accounts", code=6)
        page = next((f for f in root.selections if f.name == "data"), Field("data"))
        first = int(page.args.get("first") or 100)
        self._charge_up_front(1 + first, fault)
        rows = self.store.select(root.args)
        start = int(base64_index(page.args.get("after"))) + 1 if page.args.get("after") else 0
        chosen = rows[start : start + first]
        self.store.credits.remaining -= 1 + len(chosen)
        edges: list[JSON] = [
            {"node": p.public(self.store.names), "cursor": cursor(start + i)} for i, p in enumerate(chosen)
        ]
        info: JSON = {"hasNextPage": start + len(chosen) < len(rows), "hasPreviousPage": start > 0}
        info |= {
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        }
        connection = {"pageInfo": info, "edges": edges}
        return {"request_id": uuid.uuid4().hex, "complexity": 1 + len(chosen), "data": connection}

    def _charge_up_front(self, needed: int, fault: str | None) -> None:
        credits = self.store.credits
        if needed > credits.maximum:
            maximum = int(credits.maximum)
            message = (
                f"The operation requires {needed} credits, more than the max allowed {maximum}: request fewer items"
            )
            raise GraphQLError(message, code=THROTTLE_CODE)
        wait = credits.seconds_until(needed) if fault != "throttle" else self.config.retry_after_s
        if wait:
            message = (
                f"There are not enough credits to perform the requested operation, which requires {needed} "
                f"credits. The max allowed for your account is {int(credits.maximum)} credits per operation. "
                f"Try again in {wait:g} seconds, or request fewer items."
            )
            extra = {"code": THROTTLE_CODE, "time_remaining": f"{wait:g} seconds", "required_credits": needed}
            raise GraphQLError(message, **extra, remaining_credits=int(credits.remaining))

    # -- faults, limits, log ---------------------------------------------------------------------

    def _admit(self) -> bool:
        return self.window.take_if(self.config.request_limit_enabled)

    def _fault_answer(self, kind: str) -> Response:
        if kind == "http_429":
            headers = {"Retry-After": f"{self.config.retry_after_s:g}"}
            return JSONResponse({"errors": [{"message": "Too many requests"}]}, status_code=429, headers=headers)
        if kind == "timeout":
            return JSONResponse({"message": "Endpoint request timed out"}, status_code=504)
        return JSONResponse({"message": "Internal server error"}, status_code=int(kind[-3:]))

    def state(self) -> JSON:
        return {
            "config": self.config.public(),
            "warehouse_products": len(self.store.products),
            "credits_remaining": int(self.store.credits.refill()),
            "faults": len(self.faults.rules),
        }


def cursor(index: int) -> str:
    return base64.b64encode(f"arrayconnection:{index}".encode()).decode()


def base64_index(value: Any) -> int:
    try:
        return int(base64.b64decode(str(value)).decode().rpartition(":")[2])
    except (ValueError, binascii.Error):
        raise GraphQLError(f"Invalid cursor {value!r}") from None


async def json_body(request: Request) -> JSON:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def seed_demo(store: ShipheroStore) -> None:
    """Two warehouses and a few SKUs (one with leading zeros, one oversold)."""
    primary = store.add_warehouse(76733, "Primary")
    secondary = store.add_warehouse(76734, "Secondary")
    store.set_product("SH-TEE-M", primary["id"], name="Tee M", on_hand=40, allocated=6)
    store.set_product("SH-TEE-M", secondary["id"], name="Tee M", on_hand=12, allocated=0, reserve_inventory=2)
    store.set_product("0042", primary["id"], name="Sticker (leading zeros)", on_hand=3, allocated=5)
    store.set_product("SH-CAP", secondary["id"], name="Cap", on_hand=9, allocated=1, sell_ahead=4)
    store.account_id = relay_id("Account", 1)


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = ShipheroSimulator()
        return sim.app, f"refresh_token {sim.config.refresh_token}"

    run_standalone(argv, description="ShipHero public API simulator (auth + GraphQL)", port=8090, build=build)


if __name__ == "__main__":
    main()

__all__ = ["SHIPHERO_FAULTS", "ShipheroSimConfig", "ShipheroSimulator", "main"]

"""The Open API routes of the TikTok Shop simulator, and its token endpoints.

Every Open API route runs through :meth:`OpenApi.guard`: request faults → ``app_key`` → ``timestamp``
(±5 min) → ``sign`` → ``x-tts-access-token`` → ``shop_cipher`` → rate limit (token bucket per API) →
handler. Answers are TikTok's envelope ``{code, message, request_id, data}``; every request is logged.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok import sim_actions, sim_products
from fenicia.connectors.tiktok.signing import request_signature, signatures_match
from fenicia.connectors.tiktok.sim_models import SimError, bad_parameter
from fenicia.connectors.tiktok.sim_seed import DELIVERY_OPTIONS
from fenicia.sandbox.simkit import DEFAULT_TIMEOUT_HOLD_S, FaultRule, TokenBucket, route_path

if TYPE_CHECKING:
    from fenicia.connectors.tiktok.simulator import TikTokSimulator

Handler = Callable[[Request, Any], Awaitable[Any]]
V = "202309"


def envelope(data: Any, code: int = 0, message: str = "Success", status: int = 200, **headers: str) -> Response:
    body = {"code": code, "message": message, "request_id": uuid.uuid4().hex.upper()[:34], "data": data}
    return JSONResponse(body, status_code=status, headers=headers or None)


def read_json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_parameter("The request body is not valid JSON") from None


class OpenApi:
    def __init__(self, sim: TikTokSimulator) -> None:
        self.sim = sim
        self.buckets: dict[str, TokenBucket] = {}

    # -- answers ----------------------------------------------------------------------------------

    def error(self, exc: SimError) -> Response:
        status = exc.status if exc.status is not None else self.sim.config.business_error_http_status
        return envelope(exc.data, exc.code, exc.message, status)

    def throttled(self, wait_s: float) -> Response:
        config = self.sim.config
        headers = {"Retry-After": f"{max(wait_s, 0.001):.3f}"} if config.send_retry_after else {}
        message = "Too many requests. Please reduce the request frequency and retry later."
        return envelope(None, codes.TOO_MANY_REQUESTS, message, config.throttle_http_status, **headers)

    def expired(self) -> Response:
        message = "Access token is expired, please refresh it."
        return envelope(None, codes.EXPIRED_ACCESS_TOKEN, message, self.sim.config.expired_token_http_status)

    async def _fault_answer(self, rule: FaultRule) -> Response:
        kind = rule.kind
        if kind in ("http_429", "throttle"):
            return self.throttled(rule.seconds if rule.seconds is not None else 1.0)
        if kind == "throttle_code":  # the throttle code under HTTP 200, as some gateways answer
            return envelope(None, codes.TOO_MANY_REQUESTS, "Too many requests.", 200)
        if kind == "http_500":
            return envelope(None, codes.INTERNAL_ERROR, "Internal error, please retry later.", 500)
        if kind == "http_503":
            return PlainTextResponse("Service Unavailable", status_code=503)
        if kind == "timeout":
            await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S)
            return PlainTextResponse("Gateway Timeout", status_code=504)
        if kind == "expire_token":
            return self.expired()
        if kind == "missing_scope":
            message = "Access denied. This app has not been granted any access scope required by this endpoint."
            return envelope(None, codes.MISSING_SCOPE, message, 403)
        return envelope(None, codes.INVALID_SIGN, "Invalid credentials. The 'sign' query parameter is invalid.", 401)

    # -- the guard --------------------------------------------------------------------------------

    async def _faulted(self, method: str, path: str) -> tuple[Response | None, str | None, float]:
        hold = 0.0
        for rule in self.sim.faults.take_request_faults(method, path):
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds if rule.seconds is not None else 1.0)
            elif rule.kind == "lose_response":
                hold += rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S
            else:
                return await self._fault_answer(rule), rule.kind, hold
        return None, None, hold

    def _authenticate(self, request: Request, path: str, raw: bytes, shop_scoped: bool) -> Response | None:
        config, params = self.sim.config, dict(request.query_params)
        if params.get("app_key") != config.app_key:
            return self.error(SimError(codes.INVALID_PARAMETER, "Invalid credentials. Invalid `app_key`.", 401))
        stamp = params.get("timestamp", "")
        if not stamp.lstrip("-").isdigit() or abs(int(stamp) - time.time()) > config.timestamp_tolerance_s:
            message = "Invalid timestamp. The `timestamp` query parameter must be within 5 minutes of now."
            return self.error(SimError(codes.INVALID_PARAMETER, message, 401))
        signed_body = raw if request.method != "GET" else None
        unsigned = {k: v for k, v in params.items() if k != "sign"}
        expected = request_signature(path, unsigned, signed_body, config.app_secret)
        if not signatures_match(expected, params.get("sign", "")):
            message = "Invalid credentials. The 'sign' query parameter is invalid."
            return self.error(SimError(codes.INVALID_SIGN, message, 401))
        state = self.sim.tokens.check(request.headers.get("x-tts-access-token"))
        if state == "expired":
            return self.expired()
        if state != "ok":
            message = "Invalid credentials. The `x-tts-access-token` header is invalid."
            return self.error(SimError(codes.INVALID_ACCESS_TOKEN, message, 401))
        cipher = params.get("shop_cipher")
        if shop_scoped and cipher != config.shop_cipher:
            return self.error(bad_parameter("Invalid identifier. The `shop_cipher` query parameter is invalid."))
        if not shop_scoped and cipher is not None:
            message = "Unexpected identifier. The `shop_cipher` query parameter is not required for this request."
            return self.error(bad_parameter(message))
        return None

    def _bucket(self, key: str) -> TokenBucket:
        config = self.sim.config
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = TokenBucket(config.rate_limit_per_s, config.rate_limit_burst, enabled=config.rate_limit_enabled)
            self.buckets[key] = bucket
        bucket.enabled = config.rate_limit_enabled
        return bucket

    async def _checked(self, request: Request, handler: Handler, key: str, raw: bytes, scoped: bool) -> Response:
        path = route_path(request)
        refused = self._authenticate(request, path, raw, scoped)
        if refused is not None:
            return refused
        bucket = self._bucket(key)
        if not bucket.take():
            self.sim.throttled_count += 1
            return self.throttled(bucket.wait_seconds())
        try:
            return envelope(await handler(request, read_json(raw) if request.method != "GET" else None))
        except SimError as exc:
            return self.error(exc)

    async def guard(self, request: Request, handler: Handler, key: str, scoped: bool) -> Response:
        started = time.monotonic()
        path, raw = route_path(request), await request.body()
        response, fault, hold = await self._faulted(request.method, path)
        if response is None and hold:
            # act now, answer late: shielded so a client hanging up cannot undo the change
            response = await asyncio.shield(self._checked(request, handler, key, raw, scoped))
            fault = "lose_response"
        elif response is None:
            response = await self._checked(request, handler, key, raw, scoped)
        self.sim.log_request(request, path, response.status_code, raw, started, fault)
        if hold and fault == "lose_response":
            await asyncio.sleep(hold)
        return response

    def route(self, path: str, handler: Handler, method: str = "GET", scoped: bool = True) -> Route:
        key = f"{method} {path}"

        async def endpoint(request: Request) -> Response:
            return await self.guard(request, handler, key, scoped)

        return Route(path, endpoint, methods=[method])

    # -- routes -----------------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        r = self.route
        return [
            Route("/api/v2/token/refresh", self.token_refresh, methods=["GET"]),
            Route("/api/v2/token/get", self.token_get, methods=["GET"]),
            r(f"/authorization/{V}/shops", self.shops, scoped=False),
            r(f"/order/{V}/orders/search", self.search_orders, "POST"),
            r(f"/order/{V}/orders", self.order_detail),
            r(f"/fulfillment/{V}/orders/{{order_id}}/packages", self.mark_shipped, "POST"),
            r(f"/fulfillment/{V}/packages/{{package_id}}/ship", self.ship_package, "POST"),
            r(f"/fulfillment/{V}/packages/{{package_id}}", self.package_detail),
            r(f"/fulfillment/{V}/packages/{{package_id}}/shipping_info/update", self.package_tracking, "POST"),
            r(f"/fulfillment/{V}/orders/{{order_id}}/shipping_info/update", self.order_tracking, "POST"),
            r(f"/logistics/{V}/warehouses", self.warehouses),
            r(f"/logistics/{V}/warehouses/{{warehouse_id}}/delivery_options", self.delivery_options),
            r(f"/logistics/{V}/delivery_options/{{option_id}}/shipping_providers", self.providers),
            r(f"/return_refund/{V}/cancellations", self.cancel, "POST"),
            r(f"/product/{V}/products/search", self.search_products, "POST"),
            r("/product/202312/products/search", self.search_products, "POST"),
            r(f"/product/{V}/products/{{product_id}}/inventory/update", self.inventory, "POST"),
            r(f"/product/{V}/inventory/search", self.search_inventory, "POST"),
            r(f"/event/{V}/webhooks", self.list_webhooks),
            r(f"/event/{V}/webhooks", self.put_webhook, "PUT"),
            r(f"/event/{V}/webhooks", self.delete_webhook, "DELETE"),
            *[Route("/{rest:path}", self.unknown, methods=[m]) for m in ("GET", "POST", "PUT", "DELETE")],
        ]

    async def token_refresh(self, request: Request) -> Response:
        return self._token(request, "refresh")

    async def token_get(self, request: Request) -> Response:
        return self._token(request, "get")

    def _token(self, request: Request, kind: str) -> Response:
        started = time.monotonic()
        try:
            response = envelope(self.sim.tokens.grant(dict(request.query_params), kind), message="success")
        except SimError as exc:
            response = self.error(exc)
        self.sim.log_request(request, route_path(request), response.status_code, b"", started, None, redact=True)
        return response

    async def unknown(self, request: Request) -> Response:
        return envelope(None, codes.UNKNOWN_PATH, "Invalid path. The API path does not exist.", 404)

    async def shops(self, request: Request, body: Any) -> Any:
        config = self.sim.config
        shop = {
            "id": config.shop_id,
            "name": config.shop_name,
            "region": config.region,
            "seller_type": "LOCAL",
            "cipher": config.shop_cipher,
            "code": "GBLCSANDBOX",
        }
        return {"shops": [shop]}

    async def search_orders(self, request: Request, body: Any) -> Any:
        return self.sim.store.search_orders(dict(request.query_params), body)

    async def order_detail(self, request: Request, body: Any) -> Any:
        raw = request.query_params.get("ids") or ""
        ids = [part.strip() for part in raw.split(",") if part.strip()]
        if not ids or len(ids) > self.sim.config.detail_ids_max:
            raise bad_parameter(f"ids must list 1 to {self.sim.config.detail_ids_max} order ids")
        store = self.sim.store
        return {"orders": [store.render(store.orders[i]) for i in ids if i in store.orders]}

    async def mark_shipped(self, request: Request, body: Any) -> Any:
        return sim_actions.mark_package_shipped(self.sim.store, request.path_params["order_id"], body)

    async def ship_package(self, request: Request, body: Any) -> Any:
        return sim_actions.ship_package(self.sim.store, request.path_params["package_id"], body)

    async def package_detail(self, request: Request, body: Any) -> Any:
        return sim_actions.package_detail(self.sim.store, request.path_params["package_id"])

    async def package_tracking(self, request: Request, body: Any) -> Any:
        return sim_actions.update_package_shipping_info(self.sim.store, request.path_params["package_id"], body)

    async def order_tracking(self, request: Request, body: Any) -> Any:
        return sim_actions.update_order_shipping_info(self.sim.store, request.path_params["order_id"], body)

    async def warehouses(self, request: Request, body: Any) -> Any:
        config = self.sim.config
        warehouse = {"id": config.warehouse_id, "name": "Main warehouse", "type": "SALES_WAREHOUSE", "is_default": True}
        return {"warehouses": [warehouse]}

    async def delivery_options(self, request: Request, body: Any) -> Any:
        if request.path_params["warehouse_id"] != self.sim.config.warehouse_id:
            raise bad_parameter("warehouse_id is invalid")
        return {"delivery_options": [{"id": key, "name": value[0]} for key, value in DELIVERY_OPTIONS.items()]}

    async def providers(self, request: Request, body: Any) -> Any:
        return {"shipping_providers": sim_actions.providers_of(request.path_params["option_id"])}

    async def cancel(self, request: Request, body: Any) -> Any:
        return sim_actions.seller_cancel(self.sim.store, body)

    async def search_products(self, request: Request, body: Any) -> Any:
        return sim_products.search_products(self.sim.store, dict(request.query_params), body)

    async def inventory(self, request: Request, body: Any) -> Any:
        return sim_products.update_inventory(self.sim.store, request.path_params["product_id"], body)

    async def search_inventory(self, request: Request, body: Any) -> Any:
        return sim_products.search_inventory(self.sim.store, body)

    async def list_webhooks(self, request: Request, body: Any) -> Any:
        hub = self.sim.webhooks
        return {"webhooks": [hub.public_subscription(name) for name in hub.subscriptions]}

    async def put_webhook(self, request: Request, body: Any) -> Any:
        if not isinstance(body, dict):
            raise bad_parameter("The request body must be a JSON object")
        self.sim.webhooks.subscribe(str(body.get("event_type")), str(body.get("address") or ""))
        return {}

    async def delete_webhook(self, request: Request, body: Any) -> Any:
        if not isinstance(body, dict):
            raise bad_parameter("The request body must be a JSON object")
        self.sim.webhooks.unsubscribe(str(body.get("event_type")))
        return {}

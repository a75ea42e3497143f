"""The MercadoLibre API routes of the simulator (``/oauth/token``, ``/orders``, ``/shipments``, ``/items``...).

Every route runs through ``SimApi.guard``: request faults, then (API routes) the bearer token and the
rate limiter, then the handler. Errors answer ML's ``{"message", "error", "status", "cause"}``; every
request is logged for the control API.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fenicia.connectors.mercadolibre import sim_actions
from fenicia.connectors.mercadolibre.sim_models import ApiError, bad_request, not_found, parse_ml_time
from fenicia.connectors.mercadolibre.sim_render import (
    render_item,
    render_legacy_shipment,
    render_order,
    render_shipment,
    render_shipment_items,
    select_attributes,
)
from fenicia.connectors.mercadolibre.sim_store import check_status_word
from fenicia.sandbox.simkit import DEFAULT_TIMEOUT_HOLD_S, FaultRule, logged_body, route_path

if TYPE_CHECKING:
    from fenicia.connectors.mercadolibre.simulator import MercadoLibreSimulator

Handler = Callable[[Request], Awaitable[Response]]
JSON = dict[str, Any]
FAULT_ANSWERS = {
    "http_429": ApiError(429, "Too Many Requests", "too_many_requests"),
    "http_500": ApiError(500, "Internal server error", "internal_server_error"),
    "http_503": ApiError(503, "Service unavailable", "service_not_available"),
    "forbidden": ApiError(403, "forbidden", "forbidden"),
    "invalid_grant": ApiError(400, "Error validating grant: the refresh token was already used", "invalid_grant"),
}
SORTS = {"date_asc": "Date ascending", "date_desc": "Date descending"}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error.body(), error.status, headers)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_request("The request body is not valid JSON") from None


def _int_param(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not str(raw).isdigit():
        raise bad_request(f"{name} must be a whole number >= 0")
    return int(raw)


class SimApi:
    def __init__(self, sim: MercadoLibreSimulator) -> None:
        self.sim = sim

    # -- the guard ----------------------------------------------------------------------------------

    def _throttled(self) -> Response:
        seconds = self.sim.config.retry_after_header_s
        headers = {"Retry-After": f"{seconds:g}"} if seconds is not None else None
        return error_response(FAULT_ANSWERS["http_429"], headers)

    async def _faulted(self, request: Request, path: str) -> tuple[Response | None, str | None, float]:
        """An answering fault's response (or None), and how long to hold a real answer (lose_response)."""
        hold = 0.0
        for rule in self.sim.faults.take_request_faults(request.method, path):
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds if rule.seconds is not None else 1.0)
            elif rule.kind == "lose_response":
                hold += rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S
            elif rule.kind in ("expire_token", "revoke_grant"):
                self._apply_state_fault(rule)
            else:
                return await self._fault_answer(rule), rule.kind, hold
        return None, None, hold

    def _apply_state_fault(self, rule: FaultRule) -> None:
        if rule.kind == "expire_token":
            self.sim.oauth.expire_access_tokens()
        else:
            self.sim.oauth.revoke_all()

    async def _fault_answer(self, rule: FaultRule) -> Response:
        if rule.kind == "http_429":
            return self._throttled()
        if rule.kind == "timeout":
            await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S)
            return error_response(ApiError(504, "Gateway timeout", "gateway_timeout"))
        return error_response(FAULT_ANSWERS[rule.kind])

    async def _checked(self, request: Request, handler: Handler, authenticated: bool) -> Response:
        try:
            if authenticated:
                request.state.user_id = self.sim.oauth.user_of(request.headers.get("authorization"))
                if not self.sim.bucket.take():
                    return self._throttled()
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)

    async def guard(self, request: Request, handler: Handler, authenticated: bool) -> Response:
        started = time.monotonic()
        path = route_path(request)
        response, fault, hold = await self._faulted(request, path)
        if response is None and hold:
            # act now, answer late: shielded so a client hanging up cannot undo the change
            response, fault = await asyncio.shield(self._checked(request, handler, authenticated)), "lose_response"
        elif response is None:
            response = await self._checked(request, handler, authenticated)
        self.sim.requests.add(
            method=request.method,
            path=path,
            query=request.url.query,
            api_version=None,
            status=response.status_code,
            time=self.sim.clock.iso_utc(time.time()),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            body=await _logged_body(request, authenticated),
            fault=fault,
        )
        if hold and fault == "lose_response":
            await asyncio.sleep(hold)  # logged first: the client may hang up (and cancel us) meanwhile
        return response

    def route(self, path: str, handler: Handler, method: str = "GET", *, authenticated: bool = True) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.guard(request, handler, authenticated)

        return Route(path, endpoint, methods=[method])

    def routes(self) -> list[BaseRoute]:
        r = self.route
        return [
            r("/oauth/token", self.token, "POST", authenticated=False),
            r("/users/me", self.me),
            r("/applications/{app_id:int}", self.application),
            r("/orders/search", self.search_orders),
            r("/orders/{order_id:int}", self.show_order),
            r("/orders/{order_id:int}/feedback", self.feedback, "POST"),
            r("/shipments/{shipment_id:int}", self.show_shipment),
            r("/shipments/{shipment_id:int}/items", self.shipment_items),
            r("/shipments/{shipment_id:int}", self.put_shipment, "PUT"),
            r("/shipments/{shipment_id:int}/seller_notifications", self.seller_notification, "POST"),
            r("/users/{user_id:int}/items/search", self.search_items),
            r("/items", self.multiget_items),
            r("/items/{item_id}", self.show_item),
            r("/items/{item_id}", self.put_item, "PUT"),
            *[r("/{rest:path}", self.unknown, m) for m in ("GET", "POST", "PUT", "DELETE")],
        ]

    # -- oauth and account --------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise ApiError(400, "The body must be application/x-www-form-urlencoded", "invalid_request")
        form = await request.form()
        return json_response(self.sim.oauth.token({key: str(value) for key, value in form.items()}))

    async def me(self, request: Request) -> Response:
        config = self.sim.config
        user = {"id": request.state.user_id, "nickname": config.seller_nickname, "site_id": config.site_id}
        return json_response({**user, "user_type": "normal", "country_id": "BR", "status": {"site_status": "active"}})

    async def application(self, request: Request) -> Response:
        config = self.sim.config
        if request.path_params["app_id"] != config.app_id:
            raise not_found(f"Application {request.path_params['app_id']}")
        return json_response(
            {
                "id": config.app_id,
                "site_id": config.site_id,
                "name": "Fenicia sandbox",
                "notifications_callback_url": config.notification_callback_url,
                "notifications_topics": list(config.notification_topics),
                "scopes": ["offline_access", "read", "write"],
            }
        )

    # -- orders -------------------------------------------------------------------------------------

    def _order_json(self, order_id: int) -> JSON:
        config = self.sim.config
        order = self.sim.store.order(order_id)
        iso, delivered = self.sim.clock.iso, self.sim.store.delivered(order)
        return render_order(order, config.seller_id, config.currency_id, config.site_id, iso, delivered=delivered)

    async def search_orders(self, request: Request) -> Response:
        params = request.query_params
        config = self.sim.config
        if params.get("seller") != str(request.state.user_id):
            raise ApiError(403, "Invalid caller.id: you may only search your own sales", "forbidden")
        limit = _int_param(params, "limit", config.page_limit_default)
        offset = _int_param(params, "offset", 0)
        if not 0 < limit <= config.page_limit_max:
            raise bad_request(f"limit must be between 1 and {config.page_limit_max}")
        if offset > config.offset_cap:
            raise bad_request(f"offset must be lower than or equal to {config.offset_cap}")
        sort = params.get("sort") or "date_asc"
        if sort not in SORTS:
            raise bad_request(f"sort must be one of {sorted(SORTS)}")
        found = self.sim.store.search(_order_filter(params) | {"sort": sort})
        page = [self._order_json(order.id) for order in found[offset : offset + limit]]
        return json_response(
            {
                "query": params.get("q"),
                "results": page,
                "sort": {"id": sort, "name": SORTS[sort]},
                "available_sorts": [{"id": key, "name": name} for key, name in SORTS.items() if key != sort],
                "filters": [],
                "paging": {"total": len(found), "offset": offset, "limit": limit},
                "display": "complete",
            }
        )

    async def show_order(self, request: Request) -> Response:
        return json_response(self._order_json(request.path_params["order_id"]))

    async def feedback(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]
        answer = sim_actions.sale_feedback(self.sim.store, order_id, await read_json(request))
        return json_response(answer, 201)

    # -- shipments ----------------------------------------------------------------------------------

    async def show_shipment(self, request: Request) -> Response:
        store, config = self.sim.store, self.sim.config
        shipment = store.shipment(request.path_params["shipment_id"])
        order = store.order_of(shipment)
        if request.headers.get("x-format-new", "").lower() == "true":
            with_order = config.shipment_new_format_has_order_id
            body = render_shipment(
                shipment, order, config.seller_id, config.site_id, self.sim.clock.iso, with_order_id=with_order
            )
        else:
            body = render_legacy_shipment(shipment, order, config.seller_id, self.sim.clock.iso)
        return json_response(body)

    async def shipment_items(self, request: Request) -> Response:
        store = self.sim.store
        return json_response(render_shipment_items(store.order_of(store.shipment(request.path_params["shipment_id"]))))

    async def put_shipment(self, request: Request) -> Response:
        store, config = self.sim.store, self.sim.config
        shipment = sim_actions.set_tracking(store, request.path_params["shipment_id"], await read_json(request))
        body = render_shipment(
            shipment, store.order_of(shipment), config.seller_id, config.site_id, self.sim.clock.iso, with_order_id=True
        )
        return json_response(body)

    async def seller_notification(self, request: Request) -> Response:
        sim_actions.seller_notification(self.sim.store, request.path_params["shipment_id"], await read_json(request))
        return json_response({"status": "OK"})

    # -- items --------------------------------------------------------------------------------------

    def _item_json(self, item_id: str) -> JSON:
        config = self.sim.config
        item = self.sim.store.item(item_id)
        return render_item(item, config.seller_id, config.site_id, config.currency_id, self.sim.clock.iso)

    async def search_items(self, request: Request) -> Response:
        params, config = request.query_params, self.sim.config
        if request.path_params["user_id"] != request.state.user_id:
            raise ApiError(403, "You may only list your own items", "forbidden")
        items = [i for i in self.sim.store.items.values() if _item_matches(i, params)]
        ids = [item.id for item in items]
        if params.get("search_type") == "scan":
            limit = min(_int_param(params, "limit", 50), config.scan_limit_max)
            start = _scroll_position(params.get("scroll_id"))
            body = {"results": ids[start : start + limit], "scroll_id": f"scan-{start + limit}"}
        else:
            limit, offset = _int_param(params, "limit", 50), _int_param(params, "offset", 0)
            if offset + limit > config.items_offset_cap:
                raise bad_request(f"offset + limit must not exceed {config.items_offset_cap}; use search_type=scan")
            body = {"results": ids[offset : offset + limit]}
        paging = {"limit": limit, "total": len(ids)}
        return json_response({"seller_id": str(config.seller_id), "query": None, "paging": paging, **body})

    async def multiget_items(self, request: Request) -> Response:
        ids = [part for part in (request.query_params.get("ids") or "").split(",") if part]
        if not ids or len(ids) > self.sim.config.multiget_max_ids:
            raise bad_request(f"ids must list 1 to {self.sim.config.multiget_max_ids} items")
        attributes = request.query_params.get("attributes")
        answer = []
        for item_id in ids:
            try:
                answer.append({"code": 200, "body": select_attributes(self._item_json(item_id), attributes)})
            except ApiError as exc:
                answer.append({"code": exc.status, "body": exc.body()})
        return json_response(answer)

    async def show_item(self, request: Request) -> Response:
        return json_response(self._item_json(request.path_params["item_id"]))

    async def put_item(self, request: Request) -> Response:
        item_id = request.path_params["item_id"]
        sim_actions.put_item(self.sim.store, item_id, await read_json(request))
        return json_response(self._item_json(item_id))

    async def unknown(self, request: Request) -> Response:
        raise ApiError(404, f"Resource {route_path(request)} not found", "not_found")


def _order_filter(params: Any) -> dict[str, Any]:
    flt: dict[str, Any] = {}
    if params.get("order.status"):
        statuses = [word.strip() for word in params["order.status"].split(",") if word.strip()]
        for word in statuses:
            check_status_word(word)
        flt["status"] = set(statuses)
    for name, key in (("date_last_updated", "updated"), ("date_created", "created")):
        for edge in ("from", "to"):
            raw = params.get(f"order.{name}.{edge}")
            if raw:
                try:
                    flt[f"{key}_{edge}"] = parse_ml_time(raw)
                except ValueError:
                    raise bad_request(f"order.{name}.{edge} is not an ISO 8601 date: {raw}") from None
    return flt


def _item_matches(item: Any, params: Any) -> bool:
    status, sku = params.get("status"), params.get("seller_sku")
    if status and item.status != status:
        return False
    return not sku or item.sku == sku or any(v.sku == sku for v in item.variations)


def _scroll_position(scroll_id: str | None) -> int:
    if not scroll_id:
        return 0
    number = scroll_id.removeprefix("scan-")
    if not number.isdigit():
        raise bad_request("scroll_id is invalid or expired")
    return int(number)


async def _logged_body(request: Request, authenticated: bool) -> Any:
    if not authenticated:
        return None  # the token endpoint's form carries secrets: never kept
    return logged_body(await request.body())

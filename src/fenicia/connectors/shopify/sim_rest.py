"""The REST Admin API routes (`/admin/api/{version}/...`) of the Shopify simulator.

Every route runs through `RestApi.guard`: request faults, then access-token check, then the
leaky bucket (GraphQL: its cost bucket, in the handler), then the handler. Every answer carries
X-Shopify-Shop-Api-Call-Limit and is logged.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fenicia.connectors.shopify import sim_actions, sim_graphql
from fenicia.connectors.shopify.sim_clock import parse_timestamp
from fenicia.connectors.shopify.sim_faults import DEFAULT_TIMEOUT_HOLD_S, FaultRule
from fenicia.connectors.shopify.sim_models import ApiError, Order, missing_parameter, not_found
from fenicia.connectors.shopify.sim_query import (
    Cursor,
    OrderFilter,
    Page,
    Sorted,
    check_page_info_alone,
    decode_cursor,
    encode_cursor,
    filter_from_json,
    filter_to_json,
    page_of,
    paginate,
    parse_fields,
    parse_limit,
    parse_order_filter,
    select_fields,
    sort_items,
)
from fenicia.connectors.shopify.sim_render import (
    JSON,
    render_fulfillment,
    render_fulfillment_order,
    render_inventory_level,
    render_location,
    render_product,
)
from fenicia.core import jsonfast
from fenicia.sandbox.simkit import route_path

if TYPE_CHECKING:
    from fenicia.connectors.shopify.simulator import ShopifySimulator

Handler = Callable[[Request], Awaitable[Response]]
INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"
AUTH_CHALLENGE = 'Basic Realm="Shopify API Authentication"'
PREFIX = "/admin/api/{version}"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsonfast.dumps_bytes(body), status_code=status, headers=headers, media_type="application/json")


def error_response(status: int, errors: Any, headers: dict[str, str] | None = None) -> Response:
    return json_response({"errors": errors}, status, headers)


async def read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "Bad Request: the request body is not valid JSON") from exc  # [U]


def _scope_for(method: str, path: str) -> str:
    """The OAuth scope a `missing_scope` fault names, guessed from the resource."""
    access = "read" if method == "GET" or path.endswith("/graphql.json") else "write"  # [U] GraphQL: reads only
    for marker, resource in (
        ("inventory", "inventory"),
        ("graphql", "inventory"),
        ("product", "products"),
        ("location", "locations"),
        ("fulfillment", "orders"),
    ):
        if marker in path:
            return f"{access}_{resource}"
    return f"{access}_orders"


class RestApi:
    def __init__(self, sim: ShopifySimulator) -> None:
        self.sim = sim
        self._index_cache: tuple[tuple[str, int, int], Sorted[Order]] | None = None

    # -- the guard ------------------------------------------------------------------------------

    def throttled(self) -> Response:
        message = (
            f"Exceeded {self.sim.config.leak_rate_per_s:g} calls per second for api client. "
            "Reduce request rates to resume uninterrupted service."
        )
        return error_response(429, message, {"Retry-After": f"{self.sim.config.retry_after_s:.1f}"})

    async def _fault_response(self, rule: FaultRule, request: Request, path: str) -> Response:
        kind = rule.kind
        if kind == "http_429":
            return self.throttled()
        if kind in ("http_500", "http_503"):
            status = int(kind[-3:])
            text = "Internal Server Error" if status == 500 else "Service Unavailable"
            return error_response(status, text)
        if kind == "timeout":
            await asyncio.sleep(rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S)
            return error_response(504, "Gateway Timeout")
        if kind == "revoke_token":
            return error_response(401, INVALID_TOKEN, {"WWW-Authenticate": AUTH_CHALLENGE})
        scope = _scope_for(request.method, path)
        return error_response(403, f"[API] This action requires merchant approval for {scope} scope.")

    async def _faulted(self, request: Request, path: str) -> tuple[Response | None, str | None, float]:
        """An answering fault's response, or None; plus how long to hold a real answer (lose_response)."""
        hold = 0.0
        for rule in self.sim.faults.take_request_faults(request.method, path):
            if rule.kind == "latency":
                await asyncio.sleep(rule.seconds if rule.seconds is not None else 1.0)
                continue
            if rule.kind == "lose_response":
                hold += rule.seconds if rule.seconds is not None else DEFAULT_TIMEOUT_HOLD_S
                continue
            return await self._fault_response(rule, request, path), rule.kind, hold
        return None, None, hold

    async def _answer(self, request: Request, handler: Handler, path: str) -> tuple[Response, str | None, float]:
        response, fault, hold = await self._faulted(request, path)
        if response is not None:
            return response, fault, 0.0
        if hold:
            # act now, answer late: shield the handler so a client hanging up can't cancel the change
            return await asyncio.shield(self._checked(request, handler)), "lose_response", hold
        return await self._checked(request, handler), None, 0.0

    async def _checked(self, request: Request, handler: Handler) -> Response:
        if request.headers.get("x-shopify-access-token") != self.sim.config.access_token:
            return error_response(401, INVALID_TOKEN, {"WWW-Authenticate": AUTH_CHALLENGE})
        graphql = request.url.path.endswith("/graphql.json")  # limited by its own cost bucket (sim_graphql)
        if not graphql and not self.sim.bucket.take():
            return self.throttled()
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc.status, exc.errors)

    async def guard(self, request: Request, handler: Handler) -> Response:
        started = time.monotonic()
        path = route_path(request)
        version = request.path_params.get("version")
        response, fault, hold = await self._answer(request, handler, path)
        response.headers["X-Shopify-Shop-Api-Call-Limit"] = self.sim.bucket.header()
        response.headers["X-Request-Id"] = str(uuid.uuid4())
        if version:
            response.headers["X-Shopify-API-Version"] = version
        try:
            body: Any = await read_json(request)
        except ApiError:
            body = (await request.body()).decode(errors="replace")
        self.sim.requests.add(
            method=request.method,
            path=path,
            query=request.url.query,
            api_version=version,
            status=response.status_code,
            time=self.sim.clock.iso_utc_now(),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            body=body or None,
            fault=fault,
        )
        if hold:
            await asyncio.sleep(hold)  # logged first: the client may hang up (and cancel us) meanwhile
        return response

    def route(self, path: str, handler: Handler, method: str = "GET") -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.guard(request, handler)

        return Route(PREFIX + path, endpoint, methods=[method])

    def routes(self) -> list[BaseRoute]:
        r = self.route
        return [
            r("/orders.json", self.list_orders),
            r("/orders/count.json", self.count_orders),
            r("/orders/{order_id:int}.json", self.show_order),
            r("/orders/{order_id:int}/cancel.json", self.cancel_order, "POST"),
            r("/orders/{order_id:int}/fulfillment_orders.json", self.list_fulfillment_orders),
            r("/orders/{order_id:int}/fulfillments.json", self.list_order_fulfillments),
            r("/fulfillments.json", self.create_fulfillment, "POST"),
            r("/fulfillments/{fulfillment_id:int}/update_tracking.json", self.update_tracking, "POST"),
            r("/fulfillments/{fulfillment_id:int}/cancel.json", self.cancel_fulfillment, "POST"),
            r("/products.json", self.list_products),
            r("/products/count.json", self.count_products),
            r("/products/{product_id:int}.json", self.show_product),
            r("/locations.json", self.list_locations),
            r("/inventory_levels.json", self.list_inventory_levels),
            r("/inventory_levels/set.json", self.set_inventory_level, "POST"),
            r("/inventory_levels/adjust.json", self.adjust_inventory_level, "POST"),
            r("/graphql.json", self.graphql, "POST"),
            r("/webhooks.json", self.list_webhooks),
            r("/webhooks.json", self.create_webhook, "POST"),
            r("/webhooks/count.json", self.count_webhooks),
            r("/webhooks/{webhook_id:int}.json", self.show_webhook),
            r("/webhooks/{webhook_id:int}.json", self.delete_webhook, "DELETE"),
            *[r("/{rest:path}", self.unknown, m) for m in ("GET", "POST", "PUT", "DELETE")],
        ]

    # -- pagination helpers ---------------------------------------------------------------------

    def _link_header(
        self, request: Request, flt: dict[str, Any], page: Page[Any], limit: int, fields: list[str] | None
    ) -> dict[str, str]:
        links = []
        for rel, key in (("previous", page.previous_key), ("next", page.next_key)):
            if key is None:
                continue
            query = {"limit": str(limit), "page_info": encode_cursor(Cursor(flt, rel, key))}
            if fields:
                query["fields"] = ",".join(fields)
            url = request.url.replace(query=urlencode(query))
            links.append(f'<{url}>; rel="{rel}"')
        return {"Link": ", ".join(links)} if links else {}

    def _cursor(self, request: Request) -> Cursor | None:
        params = dict(request.query_params)
        if "page_info" not in params:
            return None
        check_page_info_alone(params, self.sim.config)
        return decode_cursor(params["page_info"])

    # -- orders ---------------------------------------------------------------------------------

    async def list_orders(self, request: Request) -> Response:
        params = dict(request.query_params)
        limit, fields = parse_limit(params, self.sim.config), parse_fields(params)
        cursor = self._cursor(request)
        flt = filter_from_json(cursor.filter) if cursor else parse_order_filter(params, self.sim.config)
        store = self.sim.store
        page = page_of(self._order_index(flt), limit, cursor)
        orders = [select_fields(store.render(o), fields) for o in page.items]
        headers = self._link_header(request, filter_to_json(flt), page, limit, fields)
        return json_response({"orders": orders}, headers=headers)

    def _order_index(self, flt: OrderFilter) -> Sorted[Order]:
        """The filter's matching orders in sort order, computed once per state of the shop: walking
        every page of a large shop does not filter and sort the whole shop again for each page."""
        store = self.sim.store
        cache_key = (repr(flt), store.version, len(store.orders))
        cached = self._index_cache
        if cached is None or cached[0] != cache_key:
            matching = (o for o in store.iter_orders() if flt.matches(o))
            cached = self._index_cache = (cache_key, sort_items(matching, flt.sort_key))
        return cached[1]

    async def count_orders(self, request: Request) -> Response:
        flt = parse_order_filter(dict(request.query_params), self.sim.config)
        return json_response({"count": sum(1 for o in self.sim.store.iter_orders() if flt.matches(o))})

    async def show_order(self, request: Request) -> Response:
        order = self.sim.store.get_order(request.path_params["order_id"])
        fields = parse_fields(dict(request.query_params))
        return json_response({"order": select_fields(self.sim.store.render(order), fields)})

    async def cancel_order(self, request: Request) -> Response:
        params = await read_json(request)
        if not isinstance(params, dict):
            raise missing_parameter("order")
        order = sim_actions.cancel_order(self.sim.store, request.path_params["order_id"], params)
        return json_response({"order": self.sim.store.render(order)})

    async def list_fulfillment_orders(self, request: Request) -> Response:
        store = self.sim.store
        order = store.get_order(request.path_params["order_id"])
        rendered = [
            render_fulfillment_order(
                fo,
                order,
                store.location(fo.location_id) or store.primary_location,
                self.sim.config.shop_id,
                store.clock.iso,
            )
            for fo in order.fulfillment_orders
        ]
        return json_response({"fulfillment_orders": rendered})

    async def list_order_fulfillments(self, request: Request) -> Response:
        order = self.sim.store.get_order(request.path_params["order_id"])
        iso = self.sim.clock.iso
        return json_response({"fulfillments": [render_fulfillment(f, order, iso) for f in order.fulfillments]})

    # -- fulfillments ---------------------------------------------------------------------------

    async def create_fulfillment(self, request: Request) -> Response:
        order, fulfillment = sim_actions.create_fulfillment(self.sim.store, await read_json(request))
        body = {"fulfillment": render_fulfillment(fulfillment, order, self.sim.clock.iso)}
        return json_response(body, 201)

    async def update_tracking(self, request: Request) -> Response:
        fid = request.path_params["fulfillment_id"]
        order, fulfillment = sim_actions.update_tracking(self.sim.store, fid, await read_json(request))
        return json_response({"fulfillment": render_fulfillment(fulfillment, order, self.sim.clock.iso)})

    async def cancel_fulfillment(self, request: Request) -> Response:
        order, fulfillment = sim_actions.cancel_fulfillment(self.sim.store, request.path_params["fulfillment_id"])
        return json_response({"fulfillment": render_fulfillment(fulfillment, order, self.sim.clock.iso)})

    # -- products, locations, inventory ---------------------------------------------------------

    def _render_product(self, product_id: int) -> JSON:
        store = self.sim.store
        return render_product(store.products[product_id], store.total_stock, self.sim.clock.iso)

    async def list_products(self, request: Request) -> Response:
        params = dict(request.query_params)
        limit, fields = parse_limit(params, self.sim.config), parse_fields(params)
        cursor = self._cursor(request)
        flt = cursor.filter if cursor else _id_filter(params)
        ids, since_id = flt.get("ids"), flt.get("since_id") or 0
        matching = (p for p in self.sim.store.products.values() if p.id > since_id and (ids is None or p.id in ids))
        page = paginate(matching, lambda p: (float(p.id), p.id), limit, cursor)
        products = [select_fields(self._render_product(p.id), fields) for p in page.items]
        headers = self._link_header(request, flt, page, limit, fields)
        return json_response({"products": products}, headers=headers)

    async def count_products(self, request: Request) -> Response:
        return json_response({"count": len(self.sim.store.products)})

    async def show_product(self, request: Request) -> Response:
        product_id = request.path_params["product_id"]
        if product_id not in self.sim.store.products:
            raise not_found()
        return json_response({"product": self._render_product(product_id)})

    async def list_locations(self, request: Request) -> Response:
        iso = self.sim.clock.iso
        return json_response({"locations": [render_location(loc, iso) for loc in self.sim.store.locations]})

    async def list_inventory_levels(self, request: Request) -> Response:
        """Levels of the given items and/or locations, ``updated_at_min`` for a delta, in (item, location)
        order [U], cursor-paged with ``page_info`` and a ``Link`` header like the other listings."""
        params = dict(request.query_params)
        limit = parse_limit(params, self.sim.config)
        cursor = self._cursor(request)
        flt = cursor.filter if cursor else _levels_filter(params)
        items, locations = _set_or_none(flt.get("inventory_item_ids")), _set_or_none(flt.get("location_ids"))
        since = flt.get("updated_at_min")
        matching = (
            lvl
            for lvl in self.sim.store.levels.values()
            if (items is None or lvl.inventory_item_id in items)
            and (locations is None or lvl.location_id in locations)
            and (since is None or lvl.updated_at >= since)
        )
        page = paginate(matching, lambda lvl: (float(lvl.inventory_item_id), lvl.location_id), limit, cursor)
        iso = self.sim.clock.iso
        levels = [render_inventory_level(lvl, iso) for lvl in page.items]
        return json_response({"inventory_levels": levels}, headers=self._link_header(request, flt, page, limit, None))

    async def set_inventory_level(self, request: Request) -> Response:
        body = await read_json(request)
        item, location, available = _ints(body, "inventory_item_id", "location_id", "available")
        level = self.sim.store.set_inventory(item, location, available)
        return json_response({"inventory_level": render_inventory_level(level, self.sim.clock.iso)})

    async def adjust_inventory_level(self, request: Request) -> Response:
        body = await read_json(request)
        item, location, delta = _ints(body, "inventory_item_id", "location_id", "available_adjustment")
        level = self.sim.store.adjust_inventory(item, location, delta)
        return json_response({"inventory_level": render_inventory_level(level, self.sim.clock.iso)})

    async def graphql(self, request: Request) -> Response:
        """The GraphQL Admin API, as far as stock needs it, cost-limited (see ``sim_graphql``)."""
        body, status = sim_graphql.answer(self.sim, await read_json(request), request.path_params["version"])
        return json_response(body, status)

    # -- webhooks -------------------------------------------------------------------------------

    async def list_webhooks(self, request: Request) -> Response:
        params = request.query_params
        subs = [
            s.public()
            for s in self.sim.webhooks.subscriptions.values()
            if params.get("topic") in (None, s.topic) and params.get("address") in (None, s.address)
        ]
        return json_response({"webhooks": subs})

    async def count_webhooks(self, request: Request) -> Response:
        return json_response({"count": len(self.sim.webhooks.subscriptions)})

    async def show_webhook(self, request: Request) -> Response:
        return json_response({"webhook": self.sim.webhooks.get(request.path_params["webhook_id"]).public()})

    async def create_webhook(self, request: Request) -> Response:
        body = await read_json(request)
        spec = body.get("webhook") if isinstance(body, dict) else None
        if not isinstance(spec, dict):
            raise missing_parameter("webhook")
        sub = self.sim.webhooks.subscribe(
            str(spec.get("topic")),
            str(spec.get("address")),
            request.path_params["version"],
            str(spec.get("format", "json")),
        )
        return json_response({"webhook": sub.public()}, 201)

    async def delete_webhook(self, request: Request) -> Response:
        self.sim.webhooks.unsubscribe(request.path_params["webhook_id"])
        return json_response({})

    async def unknown(self, request: Request) -> Response:
        raise not_found()


def _id_set(raw: str | None, param: str) -> set[int] | None:
    if not raw:
        return None
    try:
        return {int(part) for part in raw.split(",") if part.strip()}
    except ValueError as exc:
        raise ApiError(400, {param: ["is invalid"]}) from exc


def _id_filter(params: dict[str, str]) -> dict[str, Any]:
    ids = _id_set(params.get("ids"), "ids")
    since = _id_set(params.get("since_id"), "since_id")
    return {"ids": sorted(ids) if ids is not None else None, "since_id": min(since) if since else None}


def _set_or_none(ids: list[int] | None) -> set[int] | None:
    return None if ids is None else set(ids)


def _levels_filter(params: dict[str, str]) -> dict[str, Any]:
    """The filter of GET inventory_levels.json, as JSON (it is baked into the page_info cursor)."""
    items = _id_set(params.get("inventory_item_ids"), "inventory_item_ids")
    locations = _id_set(params.get("location_ids"), "location_ids")
    if items is None and locations is None:
        raise ApiError(422, {"base": ["inventory_item_ids or location_ids must be present"]})  # [U]
    since = None
    if params.get("updated_at_min"):
        try:
            since = parse_timestamp(params["updated_at_min"])
        except ValueError as exc:
            raise ApiError(400, {"updated_at_min": ["is invalid"]}) from exc  # [U] exact body
    return {
        "inventory_item_ids": sorted(items) if items is not None else None,
        "location_ids": sorted(locations) if locations is not None else None,
        "updated_at_min": since,
    }


def _ints(body: Any, *names: str) -> list[int]:
    if not isinstance(body, dict):
        raise missing_parameter(names[0])
    values = []
    for name in names:
        value = body.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            raise missing_parameter(name)
        values.append(value)
    return values

"""The simulated Walmart Marketplace API routes (``/v3/...``): token, orders, inventory, feeds, items.

Every route runs through ``sim_http.Gate.guard``. Orders list like ``GET /v3/orders``: the filters of
the orders model, ``limit`` ≤ 200, 404 when nothing matches ([S]), ``meta.nextCursor`` as a query
string (``hasMoreElements``/``soIndex``/``poIndex`` cursor pieces, the first request's filters pinned).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from fenicia.connectors.walmart import sim_actions
from fenicia.connectors.walmart.polling import iso_ms
from fenicia.connectors.walmart.sim_auth import token_detail, token_endpoint
from fenicia.connectors.walmart.sim_feeds import feed_status, list_feeds, submit_feed
from fenicia.connectors.walmart.sim_http import Handler, read_json
from fenicia.connectors.walmart.sim_models import ApiError, SimOrder, bad_request
from fenicia.connectors.walmart.sim_store import DAY_MS, parse_date_ms

if TYPE_CHECKING:
    from fenicia.connectors.walmart.simulator import WalmartSimulator

DATE_FILTERS = (
    "createdStartDate",
    "createdEndDate",
    "lastModifiedStartDate",
    "lastModifiedEndDate",
    "fromExpectedShipDate",
    "toExpectedShipDate",
)
CURSOR_PIECES = ("hasMoreElements", "soIndex", "poIndex", "partnerId", "sellerId", "limit")


class OrdersQuery:
    """One ``GET /v3/orders`` request's filters, defaults applied, and its cursor position."""

    def __init__(self, request: Request, sim: WalmartSimulator, released: bool) -> None:
        params, config, now = request.query_params, sim.config, sim.clock.now_ms()
        self.limit = _limit(params.get("limit"), config.page_limit_default, config.page_limit_max)
        self.offset = int(params["poIndex"]) if params.get("poIndex", "").isdigit() else 0
        self.dates = {name: parse_date_ms(params[name], name) for name in DATE_FILTERS if params.get(name)}
        start = self.dates.get("createdStartDate", now - int(config.created_default_days * DAY_MS))
        self.dates["createdStartDate"] = max(start, now - int(config.created_max_age_days * DAY_MS))
        self.dates.setdefault("createdEndDate", now)
        self.words = {k: params[k] for k in ("status", "sku", "purchaseOrderId", "customerOrderId") if params.get(k)}
        self.ship_node_type = params.get("shipNodeType", "SellerFulfilled")
        self.released = released

    def matches(self, order: SimOrder) -> bool:
        d = self.dates
        if not d["createdStartDate"] <= order.order_date_ms <= d["createdEndDate"]:
            return False
        if not d.get("lastModifiedStartDate", 0) <= order.modified_ms <= d.get("lastModifiedEndDate", 2**62):
            return False
        if not d.get("fromExpectedShipDate", 0) <= order.estimated_ship_ms <= d.get("toExpectedShipDate", 2**62):
            return False
        if self.ship_node_type != "SellerFulfilled":
            return False
        return self._words_match(order)

    def _words_match(self, order: SimOrder) -> bool:
        words = self.words
        if words.get("purchaseOrderId", order.po) != order.po:
            return False
        if words.get("customerOrderId", order.customer_order_id) != order.customer_order_id:
            return False
        if "sku" in words and all(line.sku != words["sku"] for line in order.lines):
            return False
        status = "Created" if self.released else words.get("status")
        return status is None or any(line.units(status) for line in order.lines)

    def next_cursor(self, total: int, escape: bool, sim: WalmartSimulator) -> str | None:
        if self.offset + self.limit >= total:
            return None
        pieces: dict[str, Any] = {
            "limit": self.limit,
            "hasMoreElements": "true",
            "soIndex": total,
            "poIndex": self.offset + self.limit,
            "partnerId": sim.config.partner_id,
            "sellerId": sim.config.seller_id,
            **{name: iso_ms(value) for name, value in self.dates.items()},
            **self.words,
            "shipNodeType": self.ship_node_type,
        }
        query = "?" + urlencode(pieces, safe=":")
        return query.replace("&", "&amp;") if escape else query


def _limit(value: str | None, default: int, maximum: int) -> int:
    if value is None or value == "":
        return default
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise bad_request("INVALID_REQUEST_PARAM", f"limit must be between 1 and {maximum}", "limit")
    return int(value)


def _sort_key(order_by: str) -> tuple[Callable[[SimOrder], Any], bool]:
    if order_by == "lastModified asc":
        return (lambda o: (o.modified_ms, o.po)), False
    return (lambda o: (o.order_date_ms, o.po)), order_by == "orderDate desc"


class OrdersApi:
    def __init__(self, sim: WalmartSimulator) -> None:
        self.sim = sim

    def route(self, path: str, handler: Handler, method: str = "GET") -> Route:
        async def endpoint(request: Request) -> Response:
            return await self.sim.gate.guard(request, handler)

        return Route(path, endpoint, methods=[method])

    def routes(self) -> list[BaseRoute]:
        r, sim = self.route, self.sim
        return [
            r("/v3/token", lambda req: token_endpoint(req, sim), "POST"),
            r("/v3/token/detail", lambda req: token_detail(req, sim)),
            r("/v3/orders", self.list_orders),
            r("/v3/orders/released", self.list_released),
            r("/v3/orders/{po}", self.show_order),
            r("/v3/orders/{po}/acknowledge", self.acknowledge, "POST"),
            r("/v3/orders/{po}/shipping", self.ship, "POST"),
            r("/v3/orders/{po}/cancel", self.cancel, "POST"),
            r("/v3/inventory", self.show_inventory),
            r("/v3/inventory", self.set_inventory, "PUT"),
            r("/v3/feeds", lambda req: submit_feed(req, sim), "POST"),
            r("/v3/feeds", lambda req: list_feeds(req, sim)),
            r("/v3/feeds/{feed_id}", lambda req: feed_status(req, sim)),
            r("/v3/items", self.list_items),
            *[r("/{rest:path}", self.unknown, m) for m in ("GET", "POST", "PUT", "DELETE", "PATCH")],
        ]

    def render(self, order: SimOrder) -> dict[str, Any]:
        return order.render(self.sim.config.ship_node_id)

    async def list_orders(self, request: Request, released: bool = False) -> Response:
        query = OrdersQuery(request, self.sim, released)
        key, reverse = _sort_key(self.sim.config.list_order)
        found = sorted((o for o in self.sim.store.orders.values() if query.matches(o)), key=key, reverse=reverse)
        if len(found) > self.sim.config.max_orders_per_query:
            raise bad_request(
                "INVALID_REQUEST_PARAM",
                f"Cannot fetch more than {self.sim.config.max_orders_per_query} orders; narrow the date range",
            )
        if not found and self.sim.config.empty_list_404:
            raise ApiError(404, "CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found for the request", field="data")
        page = found[query.offset : query.offset + query.limit]
        meta: dict[str, Any] = {"totalCount": len(found), "limit": len(page)}
        cursor = query.next_cursor(len(found), self.sim.config.escape_next_cursor, self.sim)
        if cursor:
            meta["nextCursor"] = cursor
        return JSONResponse({"list": {"meta": meta, "elements": {"order": [self.render(o) for o in page]}}})

    async def list_released(self, request: Request) -> Response:
        return await self.list_orders(request, released=True)

    async def show_order(self, request: Request) -> Response:
        return JSONResponse({"order": self.render(self.sim.store.get(request.path_params["po"]))})

    async def acknowledge(self, request: Request) -> Response:
        order = sim_actions.acknowledge(self.sim.store, request.path_params["po"])
        return JSONResponse({"order": self.render(order)})

    async def ship(self, request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse({"order": self.render(sim_actions.ship(self.sim.store, request.path_params["po"], body))})

    async def cancel(self, request: Request) -> Response:
        body = await read_json(request)
        return JSONResponse({"order": self.render(sim_actions.cancel(self.sim.store, request.path_params["po"], body))})

    async def show_inventory(self, request: Request) -> Response:
        item = self._item(request.query_params.get("sku"))
        return JSONResponse({"sku": item.sku, "quantity": {"unit": "EACH", "amount": item.quantity}})

    async def set_inventory(self, request: Request) -> Response:
        item = self._item(request.query_params.get("sku"))
        body = await read_json(request)
        quantity = body.get("quantity") if isinstance(body, dict) else None
        amount = quantity.get("amount") if isinstance(quantity, dict) else None
        if isinstance(body, dict) and body.get("sku") not in (None, item.sku):
            raise ApiError(
                400, "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API", "sku in body and query differ", field="sku"
            )
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
            raise ApiError(
                400,
                "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
                "quantity.amount must be a whole number >= 0",
                field="amount",
            )
        item.quantity = amount
        return JSONResponse({"sku": item.sku, "quantity": {"unit": "EACH", "amount": amount}})

    def _item(self, sku: str | None) -> Any:
        if not sku:
            raise ApiError(
                400, "MISSING_REQUEST_PARAM.GMP_INVENTORY_API", "Query parameter sku is required", field="sku"
            )
        item = self.sim.store.items.get(sku)
        if item is None:
            raise ApiError(404, "CONTENT_NOT_FOUND.GMP_INVENTORY_API", f"Item {sku} not found", field="sku")
        return item

    async def list_items(self, request: Request) -> Response:
        params = request.query_params
        limit = _limit(params.get("limit"), 20, self.sim.config.items_page_max)
        cursor = params.get("nextCursor", "*")
        offset = 0 if cursor in ("", "*") else _cursor_offset(cursor)
        skus = sorted(self.sim.store.items)
        page = [self.sim.store.items[sku].render() for sku in skus[offset : offset + limit]]
        body: dict[str, Any] = {"ItemResponse": page, "totalItems": len(skus)}
        if offset + limit < len(skus):
            body["nextCursor"] = f"AoE{offset + limit}{uuid.uuid5(uuid.NAMESPACE_OID, str(offset)).hex[:8]}"
        return JSONResponse(body)

    async def unknown(self, request: Request) -> Response:
        raise ApiError(404, "URI_NOT_FOUND.GMP_GATEWAY_API", f"No API at {request.url.path}", category="REQUEST")


def _cursor_offset(cursor: str) -> int:
    digits = cursor[3:-8] if cursor.startswith("AoE") else ""
    if not digits.isdigit():
        raise ApiError(400, "INVALID_REQUEST_PARAM.GMP_ITEM_API", "Invalid nextCursor", field="nextCursor")
    return int(digits)

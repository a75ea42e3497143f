"""The `/_sandbox/...` control API: seed data, act as a customer, inject faults, inspect logs.

No authentication (sandbox only). Bodies and answers are JSON; errors are `{"errors": ...}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from fenicia.connectors.shopify.sim_models import ApiError
from fenicia.connectors.shopify.sim_rest import error_response, json_response, read_json

if TYPE_CHECKING:
    from fenicia.connectors.shopify.simulator import ShopifySimulator

Handler = Callable[[Request], Awaitable[Response]]
MAX_BULK = 1_000_000


def _body_dict(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "body must be a JSON object")
    return body


class ControlApi:
    def __init__(self, sim: ShopifySimulator) -> None:
        self.sim = sim

    def route(self, path: str, handler: Handler, method: str = "GET") -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except ApiError as exc:
                return error_response(exc.status, exc.errors)
            except ValueError as exc:
                return error_response(400, str(exc))

        return Route("/_sandbox" + path, endpoint, methods=[method])

    def routes(self) -> list[BaseRoute]:
        r = self.route
        return [
            r("/orders", self.create_order, "POST"),
            r("/orders/bulk", self.bulk_orders, "POST"),
            r("/orders/{order_id:int}", self.delete_order, "DELETE"),
            r("/orders/{order_id:int}/edit", self.edit_order, "POST"),
            r("/orders/{order_id:int}/cancel", self.cancel_order, "POST"),
            r("/state", self.state),
            r("/faults", self.list_faults),
            r("/faults", self.add_fault, "POST"),
            r("/faults", self.clear_faults, "DELETE"),
            r("/faults/{fault_id:int}", self.remove_fault, "DELETE"),
            r("/requests", self.list_requests),
            r("/requests", self.clear_requests, "DELETE"),
            r("/webhooks", self.list_subscriptions),
            r("/webhooks", self.subscribe, "POST"),
            r("/webhooks/deliveries", self.deliveries),
            r("/webhooks/flush", self.flush, "POST"),
            r("/config", self.show_config),
            r("/config", self.update_config, "POST"),
            r("/clock", self.advance_clock, "POST"),
            r("/generator/step", self.generator_step, "POST"),
        ]

    # -- orders and customers -------------------------------------------------------------------

    async def create_order(self, request: Request) -> Response:
        return json_response({"order": self.sim.create_order(**_body_dict(await read_json(request)))}, 201)

    async def bulk_orders(self, request: Request) -> Response:
        count = _body_dict(await read_json(request)).get("count")
        if not isinstance(count, int) or not 0 < count <= MAX_BULK:
            raise ValueError(f"count must be an integer between 1 and {MAX_BULK}")
        self.sim.bulk_create_orders(count)
        return json_response({"created": count, "orders": len(self.sim.store.orders)}, 201)

    async def delete_order(self, request: Request) -> Response:
        self.sim.delete_order(request.path_params["order_id"])
        return json_response({"deleted": request.path_params["order_id"]})

    async def edit_order(self, request: Request) -> Response:
        changes = _body_dict(await read_json(request))
        return json_response({"order": self.sim.customer_edit(request.path_params["order_id"], changes)})

    async def cancel_order(self, request: Request) -> Response:
        body = _body_dict(await read_json(request))
        order = self.sim.customer_cancel(request.path_params["order_id"], str(body.get("reason", "customer")))
        return json_response({"order": order})

    async def state(self, request: Request) -> Response:
        return json_response(self.sim.state())

    # -- faults and logs ------------------------------------------------------------------------

    async def list_faults(self, request: Request) -> Response:
        return json_response({"faults": [rule.public() for rule in self.sim.faults.rules]})

    async def add_fault(self, request: Request) -> Response:
        rule = self.sim.faults.add(_body_dict(await read_json(request)))
        return json_response({"fault": rule.public()}, 201)

    async def clear_faults(self, request: Request) -> Response:
        self.sim.clear_faults()
        return json_response({"faults": []})

    async def remove_fault(self, request: Request) -> Response:
        if not self.sim.faults.remove(request.path_params["fault_id"]):
            raise ApiError(404, "Not Found")
        self.sim.release_held_if_unordered()
        return json_response({"removed": request.path_params["fault_id"]})

    async def list_requests(self, request: Request) -> Response:
        records = self.sim.requests.public()
        method, contains = request.query_params.get("method"), request.query_params.get("path_contains")
        records = [
            rec
            for rec in records
            if (method is None or rec["method"] == method.upper()) and (contains is None or contains in rec["path"])
        ]
        return json_response({"requests": records})

    async def clear_requests(self, request: Request) -> Response:
        self.sim.requests.clear()
        return json_response({"requests": []})

    # -- webhooks -------------------------------------------------------------------------------

    async def list_subscriptions(self, request: Request) -> Response:
        return json_response({"webhooks": [s.public() for s in self.sim.webhooks.subscriptions.values()]})

    async def subscribe(self, request: Request) -> Response:
        body = _body_dict(await read_json(request))
        topics = body.get("topics")
        if not isinstance(topics, list) or not topics:
            raise ValueError("topics must be a non-empty list")
        subs = [self.sim.subscribe(str(body.get("address")), str(topic)) for topic in topics]
        return json_response({"webhooks": subs}, 201)

    async def deliveries(self, request: Request) -> Response:
        params = request.query_params
        with_payload = params.get("include_payload") in ("1", "true")
        rows = [
            d.public(with_payload)
            for d in self.sim.webhooks.deliveries
            if params.get("topic") in (None, d.topic) and params.get("status") in (None, d.status)
        ]
        return json_response({"deliveries": rows})

    async def flush(self, request: Request) -> Response:
        await self.sim.flush_webhooks()
        return json_response({"webhooks": self.sim.webhooks.counts()})

    # -- settings -------------------------------------------------------------------------------

    async def show_config(self, request: Request) -> Response:
        return json_response({"config": self.sim.config.public()})

    async def update_config(self, request: Request) -> Response:
        changed = await self.sim.update_config(_body_dict(await read_json(request)))
        return json_response({"changed": changed, "config": self.sim.config.public()})

    async def advance_clock(self, request: Request) -> Response:
        seconds = _body_dict(await read_json(request)).get("advance_s")
        if not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError("advance_s must be a non-negative number")
        self.sim.clock.advance(float(seconds))
        return json_response({"now": self.sim.clock.iso(self.sim.clock.now())})

    async def generator_step(self, request: Request) -> Response:
        return json_response({"did": self.sim.generator_step()})

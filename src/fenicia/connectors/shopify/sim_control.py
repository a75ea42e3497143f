"""The `/_sandbox/...` control API: seed data, act as a customer, inject faults, inspect logs.

No authentication (sandbox only). Bodies and answers are JSON; errors are `{"errors": ...}`. The routes
for faults, the request log, config, state and the clock are `fenicia.sandbox.simkit.SandboxControl`'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from fenicia.connectors.shopify.sim_models import ApiError
from fenicia.connectors.shopify.sim_render import JSON
from fenicia.connectors.shopify.sim_rest import error_response, json_response
from fenicia.sandbox.channelkit import channel_control
from fenicia.sandbox.simkit import ControlDialect

if TYPE_CHECKING:
    from fenicia.connectors.shopify.simulator import ShopifySimulator


def _own_error(exc: Exception) -> Response | None:
    return error_response(exc.status, exc.errors) if isinstance(exc, ApiError) else None


DIALECT = ControlDialect(
    bad_input=lambda message: error_response(400, message),
    no_such_fault=lambda fault_id: error_response(404, "Not Found"),
    own_errors=_own_error,
    not_json="Bad Request: the request body is not valid JSON",  # [U]
)


class ControlApi:
    def __init__(self, sim: ShopifySimulator) -> None:
        self.sim = sim

    def routes(self) -> list[BaseRoute]:
        sim = self.sim
        r = DIALECT.route
        return [
            r("/orders", self.create_order, "POST"),
            r("/orders/{order_id:int}", self.delete_order, "DELETE"),
            r("/orders/{order_id:int}/edit", self.edit_order, "POST"),
            r("/orders/{order_id:int}/cancel", self.cancel_order, "POST"),
            r("/webhooks", self.list_subscriptions),
            r("/webhooks", self.subscribe, "POST"),
            r("/webhooks/deliveries", self.deliveries),
            r("/webhooks/flush", self.flush, "POST"),
            *channel_control(sim, DIALECT, order_count=lambda: len(sim.store.orders)),
        ]

    # -- orders and customers -------------------------------------------------------------------

    async def create_order(self, request: Request) -> Response:
        return json_response({"order": self.sim.create_order(**await DIALECT.body(request))}, 201)

    async def delete_order(self, request: Request) -> JSON:
        self.sim.delete_order(request.path_params["order_id"])
        return {"deleted": request.path_params["order_id"]}

    async def edit_order(self, request: Request) -> JSON:
        changes = await DIALECT.body(request)
        return {"order": self.sim.customer_edit(request.path_params["order_id"], changes)}

    async def cancel_order(self, request: Request) -> JSON:
        body = await DIALECT.body(request)
        return {"order": self.sim.customer_cancel(request.path_params["order_id"], str(body.get("reason", "customer")))}

    # -- webhooks -------------------------------------------------------------------------------

    async def list_subscriptions(self, request: Request) -> JSON:
        return {"webhooks": [s.public() for s in self.sim.webhooks.subscriptions.values()]}

    async def subscribe(self, request: Request) -> Response:
        body = await DIALECT.body(request)
        topics = body.get("topics")
        if not isinstance(topics, list) or not topics:
            raise ValueError("topics must be a non-empty list")
        subs = [self.sim.subscribe(str(body.get("address")), str(topic)) for topic in topics]
        return json_response({"webhooks": subs}, 201)

    async def deliveries(self, request: Request) -> JSON:
        params = request.query_params
        with_payload = params.get("include_payload") in ("1", "true")
        matching = self.sim.webhooks.matching(params.get("topic"), params.get("status"))
        return {"deliveries": [delivery.public(with_payload) for delivery in matching]}

    async def flush(self, request: Request) -> JSON:
        await self.sim.flush_webhooks()
        return {"webhooks": self.sim.webhooks.counts()}

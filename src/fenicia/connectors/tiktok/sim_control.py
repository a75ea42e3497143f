"""The ``/_sandbox/...`` control API of the TikTok Shop simulator: seed, act as buyer or carrier, faults, logs.

No authentication (sandbox only). Bodies and answers are JSON; errors are ``{"error": "..."}``. The routes
for faults, the request log, config, state and the clock are ``fenicia.sandbox.simkit.SandboxControl``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fenicia.connectors.tiktok.sim_models import JSON, SimError
from fenicia.sandbox.channelkit import channel_control
from fenicia.sandbox.simkit import ControlDialect

if TYPE_CHECKING:
    from fenicia.connectors.tiktok.simulator import TikTokSimulator


def _own_error(exc: Exception) -> Response | None:
    if isinstance(exc, SimError):
        return JSONResponse({"error": exc.message, "code": exc.code}, status_code=409)
    return None


DIALECT = ControlDialect(
    bad_input=lambda message: JSONResponse({"error": message}, status_code=400),
    no_such_fault=lambda fault_id: JSONResponse({"error": "no such fault"}, status_code=404),
    own_errors=_own_error,
    not_json="body must be JSON",
)


class ControlApi:
    def __init__(self, sim: TikTokSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[BaseRoute]:
        sim = self.sim
        r = DIALECT.route
        return [
            r("/orders", self.create_order, "POST", 201),
            r("/orders/{order_id}", self.show_order),
            r("/orders/{order_id}/cancel", self.cancel_order, "POST"),
            r("/orders/{order_id}/edit", self.edit_order, "POST"),
            r("/orders/{order_id}/advance", self.advance_order, "POST"),
            r("/webhooks", self.list_webhooks),
            r("/webhooks", self.subscribe, "POST", 201),
            r("/webhooks/deliveries", self.deliveries),
            r("/webhooks/flush", self.flush, "POST"),
            r("/tokens", self.tokens),
            r("/tokens/expire", self.expire_tokens, "POST"),
            r("/auth_code", self.auth_code, "POST", 201),
            *channel_control(sim, DIALECT, order_count=lambda: len(sim.store.orders)),
        ]

    # -- orders, buyers, carriers ----------------------------------------------------------------

    async def create_order(self, request: Request) -> JSON:
        return {"order": self.sim.create_order(**await DIALECT.body(request))}

    async def show_order(self, request: Request) -> JSON:
        return {"order": self.sim.get_order(request.path_params["order_id"])}

    async def cancel_order(self, request: Request) -> JSON:
        body = await DIALECT.body(request)
        order = self.sim.customer_cancel(
            request.path_params["order_id"],
            str(body.get("reason") or "Changed my mind"),
            bool(body.get("request_only")),
        )
        return {"order": order}

    async def edit_order(self, request: Request) -> JSON:
        return {"order": self.sim.customer_edit(request.path_params["order_id"], await DIALECT.body(request))}

    async def advance_order(self, request: Request) -> JSON:
        to = str((await DIALECT.body(request)).get("to") or "")
        return {"order": self.sim.advance_order(request.path_params["order_id"], to)}

    # -- webhooks ----------------------------------------------------------------------------------

    async def list_webhooks(self, request: Request) -> JSON:
        hub = self.sim.webhooks
        return {"webhooks": [hub.public_subscription(name) for name in hub.subscriptions]}

    async def subscribe(self, request: Request) -> JSON:
        body = await DIALECT.body(request)
        topics = body.get("event_types") or body.get("topics")
        if not isinstance(topics, list) or not topics:
            raise ValueError("event_types must be a non-empty list")
        return {"webhooks": [self.sim.subscribe(str(body.get("address") or ""), str(topic)) for topic in topics]}

    async def deliveries(self, request: Request) -> JSON:
        params = request.query_params
        with_payload = params.get("include_payload") in ("1", "true")
        matching = self.sim.webhooks.matching(params.get("topic"), params.get("status"))
        return {"deliveries": [delivery.public(with_payload) for delivery in matching]}

    async def flush(self, request: Request) -> JSON:
        await self.sim.webhooks.flush()
        return {"webhooks": self.sim.webhooks.counts()}

    # -- tokens -------------------------------------------------------------------------------------

    async def tokens(self, request: Request) -> JSON:
        return self.sim.tokens.public()

    async def expire_tokens(self, request: Request) -> JSON:
        return {"expired": self.sim.tokens.expire_all(), **self.sim.tokens.public()}

    async def auth_code(self, request: Request) -> JSON:
        return {"auth_code": self.sim.tokens.new_auth_code()}

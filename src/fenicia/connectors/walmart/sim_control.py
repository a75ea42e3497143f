"""The ``/_sandbox/...`` control API of the Walmart simulator: seed orders, act as buyers and as Walmart,
inject faults, expire tokens, move the clock, read the request log.

No authentication (sandbox only). Bodies and answers are JSON; errors are ``{"errors": ...}``. The routes
for faults, the request log, config, state and the clock are ``fenicia.sandbox.simkit.SandboxControl``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fenicia.connectors.walmart.sim_http import error_body, read_json
from fenicia.connectors.walmart.sim_models import JSON, ApiError
from fenicia.sandbox.channelkit import channel_control
from fenicia.sandbox.simkit import ControlDialect

if TYPE_CHECKING:
    from fenicia.connectors.walmart.simulator import WalmartSimulator


async def _body(request: Request) -> dict[str, Any]:
    body = await read_json(request)  # a body that is not JSON: Walmart's MALFORMED_REQUEST_CONTENT
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _api_error(exc: ApiError) -> Response:
    return JSONResponse(error_body("wrapped", exc), exc.status)


DIALECT = ControlDialect(
    bad_input=lambda message: JSONResponse({"errors": message}, 400),
    no_such_fault=lambda fault_id: _api_error(ApiError(404, "CONTENT_NOT_FOUND", "No such fault")),
    own_errors=lambda exc: _api_error(exc) if isinstance(exc, ApiError) else None,
    read_body=_body,
)


class ControlApi:
    def __init__(self, sim: WalmartSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[BaseRoute]:
        sim = self.sim
        r = DIALECT.route
        return [
            r("/orders", self.create_order, "POST", 201),
            r("/orders/{po}", self.show_order),
            r("/orders/{po}", self.delete_order, "DELETE"),
            r("/orders/{po}/cancel", self.customer_cancel, "POST"),
            r("/orders/{po}/intent_to_cancel", self.intent_to_cancel, "POST"),
            r("/orders/{po}/edit", self.edit_order, "POST"),
            r("/orders/{po}/deliver", self.deliver, "POST"),
            r("/requests/headers", self.list_headers),
            r("/tokens", self.tokens),
            r("/tokens/expire", self.expire_tokens, "POST"),
            r("/inventory", self.inventory),
            r("/feeds", self.feeds),
            *channel_control(
                sim,
                DIALECT,
                order_count=lambda: len(sim.store.orders),
                on_requests_cleared=sim.gate.headers_seen.clear,
            ),
        ]

    def _order(self, po: str) -> JSON:
        return {"order": self.sim.get_order(po)}

    async def create_order(self, request: Request) -> JSON:
        return {"order": self.sim.create_order(**await _body(request))}

    async def show_order(self, request: Request) -> JSON:
        return self._order(request.path_params["po"])

    async def delete_order(self, request: Request) -> JSON:
        self.sim.store.delete(request.path_params["po"])
        return {"deleted": request.path_params["po"]}

    async def customer_cancel(self, request: Request) -> JSON:
        self.sim.store.customer_cancel(request.path_params["po"])
        return self._order(request.path_params["po"])

    async def intent_to_cancel(self, request: Request) -> JSON:
        self.sim.store.intent_to_cancel(request.path_params["po"])
        return self._order(request.path_params["po"])

    async def edit_order(self, request: Request) -> JSON:
        self.sim.store.edit(request.path_params["po"], await _body(request))
        return self._order(request.path_params["po"])

    async def deliver(self, request: Request) -> JSON:
        self.sim.store.deliver(request.path_params["po"])
        return self._order(request.path_params["po"])

    async def list_headers(self, request: Request) -> JSON:
        return {"headers": list(self.sim.gate.headers_seen)}

    async def tokens(self, request: Request) -> JSON:
        return {"grants": self.sim.tokens.grants, "active": self.sim.tokens.active()}

    async def expire_tokens(self, request: Request) -> JSON:
        return {"expired": self.sim.tokens.expire_all()}

    async def inventory(self, request: Request) -> JSON:
        return {"inventory": {sku: item.quantity for sku, item in self.sim.store.items.items()}}

    async def feeds(self, request: Request) -> JSON:
        rows = [
            {"feedId": f.feed_id, "feedType": f.feed_type, "items": len(f.items), "error": f.error}
            for f in self.sim.feeds.values()
        ]
        return {"feeds": rows}

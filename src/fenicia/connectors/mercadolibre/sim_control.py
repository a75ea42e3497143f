"""The ``/_sandbox/...`` control API: seed data, act as buyers and as ML, inject faults, read the logs.

No authentication (sandbox only). Bodies and answers are JSON; errors use ML's error shape. The routes for
faults, the request log, config, state and the clock are ``fenicia.sandbox.simkit.SandboxControl``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from fenicia.connectors.mercadolibre import sim_actions
from fenicia.connectors.mercadolibre.sim_api import error_response, json_response
from fenicia.connectors.mercadolibre.sim_models import ApiError, bad_request, not_found
from fenicia.sandbox.channelkit import channel_control
from fenicia.sandbox.simkit import JSON, ControlDialect

if TYPE_CHECKING:
    from fenicia.connectors.mercadolibre.simulator import MercadoLibreSimulator

TOKEN_ENDPOINT_FAULTS = frozenset({"invalid_grant"})


def _own_error(exc: Exception) -> Response | None:
    return error_response(exc) if isinstance(exc, ApiError) else None


DIALECT = ControlDialect(
    bad_input=lambda message: error_response(bad_request(message)),
    no_such_fault=lambda fault_id: error_response(not_found(f"Fault {fault_id}")),
    own_errors=_own_error,
    not_json="The request body is not valid JSON",
)


def _fault_defaults(spec: JSON) -> JSON:
    if spec.get("kind") in TOKEN_ENDPOINT_FAULTS and not spec.get("path_contains"):
        return {**spec, "path_contains": "/oauth/token"}  # a refresh answer: meaningless elsewhere
    return spec


class ControlApi:
    def __init__(self, sim: MercadoLibreSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[BaseRoute]:
        sim = self.sim
        r = DIALECT.route
        return [
            r("/orders", self.create_order, "POST"),
            r("/orders/{order_id:int}", self.show_order),
            r("/orders/{order_id:int}/pay", self.pay, "POST"),
            r("/orders/{order_id:int}/cancel", self.cancel, "POST"),
            r("/orders/{order_id:int}/edit", self.edit, "POST"),
            r("/shipments/{shipment_id:int}/status", self.shipment_status, "POST"),
            r("/notifications", self.notifications),
            r("/notifications/flush", self.flush, "POST"),
            r("/tokens", self.tokens),
            r("/tokens/expire", self.expire_tokens, "POST"),
            r("/tokens/rotate", self.rotate, "POST"),
            r("/tokens/revoke", self.revoke, "POST"),
            r("/oauth/refresh_tokens", self.new_refresh_token, "POST"),
            r("/oauth/codes", self.new_code, "POST"),
            *channel_control(sim, DIALECT, order_count=lambda: len(sim.store.orders), fault_defaults=_fault_defaults),
        ]

    # -- orders, buyers and ML's logistics ----------------------------------------------------------

    async def create_order(self, request: Request) -> Response:
        return json_response(self.sim.create_order(**await DIALECT.body(request)), 201)

    async def show_order(self, request: Request) -> JSON:
        return self.sim.order_bundle(request.path_params["order_id"])

    async def pay(self, request: Request) -> JSON:
        sim_actions.pay(self.sim.store, request.path_params["order_id"])
        return self.sim.order_bundle(request.path_params["order_id"])

    async def cancel(self, request: Request) -> JSON:
        body = await DIALECT.body(request)
        order_id = request.path_params["order_id"]
        sim_actions.buyer_cancel(self.sim.store, order_id, str(body.get("reason", "BUYER_REGRETS")))
        return self.sim.order_bundle(order_id)

    async def edit(self, request: Request) -> JSON:
        order_id = request.path_params["order_id"]
        sim_actions.buyer_edit(self.sim.store, order_id, await DIALECT.body(request))
        return self.sim.order_bundle(order_id)

    async def shipment_status(self, request: Request) -> JSON:
        body = await DIALECT.body(request)
        shipment_id = request.path_params["shipment_id"]
        substatus = body.get("substatus")
        shipment = sim_actions.logistics(self.sim.store, shipment_id, str(body.get("status")), substatus)
        return self.sim.order_bundle(shipment.order_id)

    # -- notifications ------------------------------------------------------------------------------

    async def notifications(self, request: Request) -> JSON:
        notifier, params = self.sim.notifier, request.query_params
        matching = notifier.matching(params.get("topic"), params.get("status"))
        return {"notifications": [note.public() for note in matching], "counts": notifier.counts()}

    async def flush(self, request: Request) -> JSON:
        await self.sim.notifier.flush()
        return {"notifications": self.sim.notifier.counts()}

    # -- tokens -------------------------------------------------------------------------------------

    async def tokens(self, request: Request) -> JSON:
        return self.sim.oauth.state()

    async def expire_tokens(self, request: Request) -> JSON:
        return {"expired": self.sim.oauth.expire_access_tokens()}

    async def rotate(self, request: Request) -> JSON:
        """Another client of the seller refreshed first: the live refresh tokens are used up."""
        return {"refresh_token": self.sim.oauth.rotate_elsewhere()}

    async def revoke(self, request: Request) -> JSON:
        self.sim.oauth.revoke_all()
        return {"revoked": True}

    async def new_refresh_token(self, request: Request) -> Response:
        return json_response({"refresh_token": self.sim.oauth.new_refresh_token()}, 201)

    async def new_code(self, request: Request) -> Response:
        return json_response({"code": self.sim.oauth.new_code(), "redirect_uri": self.sim.config.redirect_uri}, 201)

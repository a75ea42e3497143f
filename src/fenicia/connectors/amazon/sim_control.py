"""The ``/_sandbox/...`` control API of the Amazon simulator: seed orders, act as buyers and Amazon,
expire tokens, inject faults, read logs and per-operation counters, change settings, move the clock.

No authentication (sandbox only). Bodies and answers are JSON; errors are ``{"errors": ...}``. The routes
for faults, the request log (``?operation=`` filters by SP-API operation), config, state and the clock are
``fenicia.sandbox.simkit.SandboxControl``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from fenicia.connectors.amazon.sim_models import JSON, ApiError, render_listing
from fenicia.sandbox.channelkit import channel_control
from fenicia.sandbox.simkit import ControlDialect

if TYPE_CHECKING:
    from fenicia.connectors.amazon.simulator import AmazonSimulator


def _api_error(exc: ApiError) -> Response:
    return JSONResponse(exc.body(), status_code=exc.status)


DIALECT = ControlDialect(
    bad_input=lambda message: JSONResponse({"errors": [{"code": "InvalidInput", "message": message}]}, 400),
    no_such_fault=lambda fault_id: _api_error(ApiError(404, "NotFound", "No such fault.")),
    own_errors=lambda exc: _api_error(exc) if isinstance(exc, ApiError) else None,
    not_json="body must be JSON",
)


class ControlApi:
    def __init__(self, sim: AmazonSimulator) -> None:
        self.sim = sim

    def routes(self) -> list[BaseRoute]:
        sim, one = self.sim, "/orders/{order_id}"
        r = DIALECT.route
        return [
            r("/orders", self.create_order, "POST", 201),
            r(one, self.show_order),
            r(one, self.delete_order, "DELETE"),
            r(one + "/cancel", self.cancel, "POST"),
            r(one + "/request_cancel", self.request_cancel, "POST"),
            r(one + "/authorize", self.authorize, "POST"),
            r(one + "/edit", self.edit, "POST"),
            r(one + "/deliver", self.deliver, "POST"),
            r("/listings", self.list_listings),
            r("/feeds", self.list_feeds),
            r("/tokens/expire", self.expire_tokens, "POST"),
            r("/tokens/revoke", self.revoke, "POST"),
            r("/tokens/restore", self.restore, "POST"),
            *channel_control(
                sim,
                DIALECT,
                order_count=lambda: len(sim.store.orders),
                request_filters={"operation": "api_version"},  # the log keeps the operation there
                on_requests_cleared=sim.buckets.stats.clear,
            ),
        ]

    # -- orders, buyers and Amazon ---------------------------------------------------------------

    async def create_order(self, request: Request) -> JSON:
        return {"order": self.sim.create_order(**await DIALECT.body(request))}

    def _id(self, request: Request) -> str:
        return str(request.path_params["order_id"])

    def _view(self, request: Request) -> JSON:
        return {"order": self.sim.view(self._id(request))}

    async def show_order(self, request: Request) -> JSON:
        return self._view(request)

    async def delete_order(self, request: Request) -> JSON:
        self.sim.store.delete(self._id(request))
        return {"deleted": self._id(request)}

    async def cancel(self, request: Request) -> JSON:
        self.sim.store.cancel(self._id(request))
        return self._view(request)

    async def request_cancel(self, request: Request) -> JSON:
        reason = str((await DIALECT.body(request)).get("reason") or "Buyer requested cancellation")
        self.sim.store.request_cancel(self._id(request), reason)
        return self._view(request)

    async def authorize(self, request: Request) -> JSON:
        self.sim.store.authorize(self._id(request))
        return self._view(request)

    async def edit(self, request: Request) -> JSON:
        changes = (await DIALECT.body(request)).get("address")
        if not isinstance(changes, dict) or not changes:
            raise ValueError("address must be an object of Address fields to change")
        self.sim.store.edit_address(self._id(request), changes)
        return self._view(request)

    async def deliver(self, request: Request) -> JSON:
        self.sim.store.deliver(self._id(request))
        return self._view(request)

    async def list_listings(self, request: Request) -> JSON:
        marketplace = self.sim.config.marketplace_ids[0]
        included = {"summaries", "fulfillmentAvailability", "offers"}
        return {"listings": [render_listing(lst, marketplace, included) for lst in self.sim.store.listings.values()]}

    async def list_feeds(self, request: Request) -> JSON:
        feeds = []
        for feed in list(self.sim.listings.feeds.values()):
            self.sim.listings.advance(feed)
            feeds.append({"feedId": feed.feed_id, "status": feed.status, "result": feed.result_document_id})
        return {"feeds": feeds}

    # -- tokens -------------------------------------------------------------------------------------

    async def expire_tokens(self, request: Request) -> JSON:
        return {"expired": self.sim.tokens.expire_all()}

    async def revoke(self, request: Request) -> JSON:
        self.sim.revoke_authorization()
        return {"authorization_revoked": True}

    async def restore(self, request: Request) -> JSON:
        self.sim.tokens.refresh_revoked = False
        return {"authorization_revoked": False}

"""A faithful fake of the TikTok Shop Partner API (202309), for sandbox mode and connector tests.

One simulator is one app authorized by one seller with one shop, kept in memory and reproducible from
``config.seed``. Its ASGI app serves the token endpoints (``/api/v2/token/get|refresh``) and the Open
API paths (``/order/202309/...``, ``/fulfillment/202309/...``, ``/product/202309/...``, ...) with request
signing, access tokens with absolute expiry, keyset paging, TikTok's statuses, one line item per unit,
the ``{code, message, request_id, data}`` envelope and a token-bucket rate limit per API. It sends
signed webhooks with a retry policy and takes faults and customer activity through ``/_sandbox/...``.
Behaviour follows ``reference/channels.md`` §5; its [U] facts are ``TikTokSimConfig`` fields.

Run standalone: ``python -m fenicia.connectors.tiktok.simulator --port 9001 --orders 50``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request

from fenicia.connectors.tiktok import sim_actions
from fenicia.connectors.tiktok.sim_api import OpenApi
from fenicia.connectors.tiktok.sim_auth import TokenRegistry
from fenicia.connectors.tiktok.sim_config import TikTokSimConfig
from fenicia.connectors.tiktok.sim_control import ControlApi
from fenicia.connectors.tiktok.sim_models import JSON, SimClock, SimError
from fenicia.connectors.tiktok.sim_store import ShopStore
from fenicia.connectors.tiktok.sim_webhooks import WebhookHub
from fenicia.connectors.tiktok.webhooks import ORDER_TOPICS
from fenicia.sandbox.channelkit import ActivityGenerator, ChannelSimulator, channel_options, standalone_channel
from fenicia.sandbox.simkit import (
    COMMON_WEBHOOK_FAULTS,
    FaultSet,
    RequestLog,
    logged_body,
    request_faults,
    run_standalone,
)

__all__ = ["TIKTOK_FAULTS", "TikTokSimConfig", "TikTokSimulator", "build_standalone_app", "main"]

# Beyond the common faults: an expired token (105002), a refused signature (106001), a missing scope
# (105005), the throttle code under HTTP 200, and webhooks sent with a wrong signature.
TIKTOK_FAULTS = request_faults(
    "expire_token",
    "bad_signature",
    "missing_scope",
    "throttle_code",
    webhook=COMMON_WEBHOOK_FAULTS | {"tamper_webhooks"},
)
REDACTED_PARAMS = ("app_secret", "refresh_token", "auth_code", "sign")


class TikTokSimulator(ChannelSimulator[TikTokSimConfig]):
    """One simulated shop: state, Open API, token endpoints, webhook dispatcher and order generator."""

    def __init__(self, config: TikTokSimConfig | None = None) -> None:
        self.config = config or TikTokSimConfig()
        self.clock = SimClock()
        self.faults = FaultSet(TIKTOK_FAULTS)
        self.requests = RequestLog()
        self.tokens = TokenRegistry(self.config, self.clock)
        self.webhooks = WebhookHub(self.config, self.clock, self.faults)
        self.store = ShopStore(self.config, self.clock, self.webhooks)
        self.api = OpenApi(self)
        self.throttled_count = 0
        skip = (SimError, ValueError)  # e.g. a pick that moved on: skip the tick
        self.generator = ActivityGenerator(self.generator_step, self.config, name="tiktok-sim-generator", skip=skip)
        self.sender = self.webhooks
        routes = ControlApi(self).routes() + self.api.routes()  # the API's catch-all route comes last
        self.app = self.serve(routes)

    # -- shop activity -------------------------------------------------------------------------

    def create_order(self, **spec: Any) -> JSON:
        """Create an order (see ``ShopStore.create_order`` for ``spec``) and announce it."""
        return self.store.render(self.store.create_order(spec))

    def bulk_create_orders(self, count: int) -> None:
        self.store.bulk_create(count)

    def get_order(self, order_id: str) -> JSON:
        return self.store.render(self.store.get(order_id))

    def customer_cancel(self, order_id: str, reason: str = "Changed my mind", request_only: bool = False) -> JSON:
        return self.store.render(sim_actions.buyer_cancel(self.store, order_id, reason, request_only))

    def customer_edit(self, order_id: str, changes: JSON) -> JSON:
        return self.store.render(sim_actions.buyer_edit(self.store, order_id, changes))

    def advance_order(self, order_id: str, to: str) -> JSON:
        return self.store.render(sim_actions.advance(self.store, order_id, to))

    def generator_step(self) -> str:
        """One tick of simulated buyers: mostly new orders, sometimes an address change or a cancel."""
        rng = self.generator.rng
        recent = [o for o in list(self.store.orders.values())[-50:] if o.status in ("UNPAID", "AWAITING_SHIPMENT")]
        roll = rng.random()
        if roll < 0.7 or not recent:
            self.store.create_order({})
            return "create"
        target = rng.choice(recent)
        if roll < 0.9:
            sim_actions.buyer_edit(
                self.store, target.id, {"recipient_address": {"address_line2": f"Flat {rng.randint(1, 40)}"}}
            )
            return "edit"
        sim_actions.buyer_cancel(self.store, target.id, "Changed my mind", request_only=False)
        return "cancel"

    # -- webhooks, faults, logs -----------------------------------------------------------------

    def subscribe(self, address: str, event_type: str) -> JSON:
        return self.webhooks.subscribe(event_type, address)

    async def flush_webhooks(self) -> None:
        await self.webhooks.flush()

    def clear_faults(self) -> None:
        self.faults.clear()
        self.webhooks.release_held()

    def log_request(
        self,
        request: Request,
        path: str,
        status: int,
        raw: bytes,
        started: float,
        fault: str | None,
        redact: bool = False,
    ) -> None:
        query = request.url.query
        if redact:
            params = [(k, "***" if k in REDACTED_PARAMS else v) for k, v in request.query_params.multi_items()]
            query = "&".join(f"{k}={v}" for k, v in params)
        version = next((part for part in path.split("/") if part.isdigit() and len(part) == 6), None)
        self.requests.add(
            method=request.method,
            path=path,
            query=query,
            api_version=version,
            status=status,
            time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            body=logged_body(raw),
            fault=fault,
        )

    # -- settings and state ---------------------------------------------------------------------

    async def apply_config(self, changed: list[str]) -> None:
        """Make changed settings take effect (``/_sandbox/config`` changes them, then calls this)."""
        if {"rate_limit_per_s", "rate_limit_burst"} & set(changed):
            self.api.buckets.clear()
        await super().apply_config(changed)

    def advance_clock(self, seconds: float) -> JSON:
        self.clock.advance(seconds)
        return {"now": self.clock.now()}

    def state(self) -> JSON:
        return {
            "shop_id": self.config.shop_id,
            **self.store.counts(),
            "webhooks": self.webhooks.counts(),
            "tokens": self.tokens.public(),
            "faults": len(self.faults.rules),
            "throttled": self.throttled_count,
            "requests_logged": len(self.requests.records),
            "generator_running": self.generator.running,
        }


def build_standalone_app(config: TikTokSimConfig | None = None) -> Starlette:
    """An ASGI app for one shop; its lifespan starts the dispatcher and the generator."""
    return TikTokSimulator(config).app


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = standalone_channel(args, TikTokSimulator, TikTokSimConfig)
        for topic in ORDER_TOPICS if args.webhook_url else ():
            sim.subscribe(args.webhook_url, topic)
        return sim.app, f"shop_id={sim.config.shop_id} app_key={sim.config.app_key}"

    def options(parser: argparse.ArgumentParser) -> None:
        channel_options(parser)
        parser.add_argument("--webhook-url", default=None, help="subscribe the order event types to this address")

    description = "TikTok Shop Partner API simulator"
    run_standalone(argv, description=description, port=9001, build=build, options=options, log_level="warning")


if __name__ == "__main__":
    main()

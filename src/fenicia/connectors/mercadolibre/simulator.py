"""A faithful fake of the MercadoLibre API for one seller, for sandbox mode and for connector tests.

State lives in memory and is reproducible from ``config.seed``. The ASGI app serves ML's real paths
(``/oauth/token``, ``/orders/search``, ``/orders/{id}``, ``/shipments/{id}``, ``/items``...) with
bearer auth, single-use refresh tokens, offset paging, ML's status values and error bodies and a
token-bucket rate limit (429 ``too_many_requests``); it POSTs notifications (pointer bodies) to the
application's callback URL with retries; and ``/_sandbox/...`` seeds orders, acts as buyers and as
ML's logistics, injects faults (the common ones plus ``expire_token``, ``invalid_grant``,
``revoke_grant``, ``forbidden``) and shows logs. Behaviour follows ``reference/channels.md`` §3; its
[U] facts are ``MercadoLibreSimConfig`` fields.

Run standalone: ``python -m fenicia.connectors.mercadolibre.simulator --port 9001 --orders 50``.
"""

from __future__ import annotations

import argparse
from typing import Any

from starlette.applications import Starlette

from fenicia.connectors.mercadolibre import sim_actions
from fenicia.connectors.mercadolibre.sim_api import SimApi
from fenicia.connectors.mercadolibre.sim_config import MercadoLibreSimConfig
from fenicia.connectors.mercadolibre.sim_control import ControlApi
from fenicia.connectors.mercadolibre.sim_models import ApiError, SimClock
from fenicia.connectors.mercadolibre.sim_notify import Notifier
from fenicia.connectors.mercadolibre.sim_oauth import OAuthServer
from fenicia.connectors.mercadolibre.sim_render import render_order, render_shipment
from fenicia.connectors.mercadolibre.sim_store import MercadoLibreStore
from fenicia.sandbox.channelkit import ActivityGenerator, ChannelSimulator, channel_options, standalone_channel
from fenicia.sandbox.simkit import (
    COMMON_WEBHOOK_FAULTS,
    FaultSet,
    RequestLog,
    TokenBucket,
    request_faults,
    run_standalone,
)

__all__ = ["MERCADOLIBRE_FAULTS", "MercadoLibreSimConfig", "MercadoLibreSimulator", "build_standalone_app", "main"]

MERCADOLIBRE_FAULTS = request_faults(
    "expire_token", "invalid_grant", "revoke_grant", "forbidden", webhook=COMMON_WEBHOOK_FAULTS
)
RATE_FIELDS = frozenset({"rate_limit_enabled", "rate_limit_per_minute", "rate_limit_burst"})
JSON = dict[str, Any]


class MercadoLibreSimulator(ChannelSimulator[MercadoLibreSimConfig]):
    """One simulated seller account: state, API app, OAuth server, notifier and optional generator."""

    def __init__(self, config: MercadoLibreSimConfig | None = None) -> None:
        self.config = config or MercadoLibreSimConfig()
        self.clock = SimClock(self.config.timezone_offset_minutes)
        self.faults = FaultSet(MERCADOLIBRE_FAULTS)
        self.requests = RequestLog()
        self.bucket = self._new_bucket()
        self.oauth = OAuthServer(self.config, self.clock)
        self.notifier = Notifier(self.config, self.clock, self.faults)
        self.store = MercadoLibreStore(self.config, self.clock, self.notifier.emit)
        self.generator = ActivityGenerator(
            self.generator_step, self.config, name="mercadolibre-sim-generator", skip=(ApiError,)
        )
        self.sender = self.notifier
        routes = ControlApi(self).routes() + SimApi(self).routes()
        self.app = self.serve(routes)

    def _new_bucket(self) -> TokenBucket:
        rate = self.config.rate_limit_per_minute / 60.0
        return TokenBucket(rate, self.config.rate_limit_burst, enabled=self.config.rate_limit_enabled)

    # -- activity -----------------------------------------------------------------------------------

    def create_order(self, **spec: Any) -> JSON:
        """A purchase now (see ``MercadoLibreStore.create_order`` for ``spec``); its order and shipment."""
        return self.order_bundle(self.store.create_order(spec).id)

    def bulk_create_orders(self, count: int) -> None:
        self.store.bulk_create(count)

    def order_bundle(self, order_id: int) -> JSON:
        """The order as ``/orders/{id}`` renders it, and its shipment (new format, with order_id)."""
        config, iso = self.config, self.clock.iso
        order = self.store.order(order_id)
        shipment = self.store.shipment_of(order)
        delivered = self.store.delivered(order)
        return {
            "order": render_order(
                order, config.seller_id, config.currency_id, config.site_id, iso, delivered=delivered
            ),
            "shipment": None
            if shipment is None
            else render_shipment(shipment, order, config.seller_id, config.site_id, iso, with_order_id=True),
        }

    def generator_step(self) -> str:
        """One tick of simulated buyers and logistics: mostly new orders, sometimes a change."""
        recent = list(self.store.orders.values())[-50:]
        open_orders = [o for o in recent if o.status == "paid" and self._shipment_status(o) == "ready_to_ship"]
        roll = self.generator.rng.random()
        if roll < 0.6 or not open_orders:
            self.store.create_order({})
            return "create"
        target = self.generator.rng.choice(open_orders)
        if roll < 0.75:
            sim_actions.buyer_edit(self.store, target.id, {})
            return "edit"
        if roll < 0.85:
            sim_actions.buyer_cancel(self.store, target.id)
            return "cancel"
        assert target.shipment_id is not None
        sim_actions.logistics(self.store, target.shipment_id, "shipped")
        return "ship"

    def _shipment_status(self, order: Any) -> str | None:
        shipment = self.store.shipment_of(order)
        return None if shipment is None else shipment.status

    # -- faults, settings, state ----------------------------------------------------------------------

    def clear_faults(self) -> None:
        self.faults.clear()
        self.notifier.release_held()

    async def apply_config(self, changed: list[str]) -> None:
        """Make changed settings take effect (``/_sandbox/config`` changes them, then calls this)."""
        if RATE_FIELDS & set(changed):
            self.bucket = self._new_bucket()
        await super().apply_config(changed)

    def advance_clock(self, seconds: float) -> JSON:
        self.clock.advance(seconds)
        return {"now": self.clock.iso(self.clock.now())}

    def state(self) -> JSON:
        return {
            "seller_id": self.config.seller_id,
            "app_id": self.config.app_id,
            **self.store.counts(),
            "notifications": self.notifier.counts(),
            "tokens": self.oauth.state(),
            "faults": len(self.faults.rules),
            "rate_limit": {"enabled": self.bucket.enabled, "remaining": self.bucket.remaining},
            "requests_logged": len(self.requests.records),
            "generator_running": self.generator.running,
        }


def build_standalone_app(config: MercadoLibreSimConfig | None = None) -> Starlette:
    return MercadoLibreSimulator(config).app


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = standalone_channel(
            args, MercadoLibreSimulator, MercadoLibreSimConfig, notification_callback_url=args.callback_url
        )
        config = sim.config
        credentials = (
            f"seller_id={config.seller_id} client_id={config.app_id} client_secret={config.client_secret} "
            f"refresh_token={config.initial_refresh_token}"
        )
        return sim.app, credentials

    def options(parser: argparse.ArgumentParser) -> None:
        channel_options(parser)
        parser.add_argument("--callback-url", default=None, help="where notifications are POSTed")

    description = "MercadoLibre API simulator (one seller)"
    run_standalone(argv, description=description, port=9001, build=build, options=options, log_level="warning")


if __name__ == "__main__":
    main()

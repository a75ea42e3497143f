"""A faithful fake of the Walmart Marketplace API (US, /v3), for sandbox mode and connector tests.

One simulator is one seller account, kept in memory and reproducible from ``config.seed``. Its ASGI
app serves the real paths (``/v3/token``, ``/v3/orders``..., ``/v3/inventory``, ``/v3/feeds``,
``/v3/items``) with Walmart's client-credentials tokens (15 min), required ``WM_*`` headers, cursor
paging, line-level statuses, error bodies and per-API token-bucket rate limits with usage headers,
and a ``/_sandbox/...`` control API for seeding, buyer activity, faults and the clock. Walmart
orders are polled, so no webhooks are sent. Behaviour follows ``reference/channels.md`` §4; its [U]
facts are ``WalmartSimConfig`` fields.

Run standalone: ``python -m fenicia.connectors.walmart.simulator --port 9001 --orders 50``.
"""

from __future__ import annotations

import argparse
from typing import Any

from starlette.applications import Starlette

from fenicia.connectors.walmart.sim_api import OrdersApi
from fenicia.connectors.walmart.sim_auth import TokenRegistry
from fenicia.connectors.walmart.sim_config import WalmartSimConfig
from fenicia.connectors.walmart.sim_control import ControlApi
from fenicia.connectors.walmart.sim_http import WALMART_FAULTS, Gate
from fenicia.connectors.walmart.sim_models import JSON, ApiError, SimFeed
from fenicia.connectors.walmart.sim_store import SimClock, WalmartStore
from fenicia.sandbox.channelkit import ActivityGenerator, ChannelSimulator, channel_options, standalone_channel
from fenicia.sandbox.simkit import FaultSet, RequestLog, run_standalone

__all__ = ["WalmartSimConfig", "WalmartSimulator", "build_standalone_app", "main"]

SWEEP_EVERY_MS = 1000


class WalmartSimulator(ChannelSimulator[WalmartSimConfig]):
    """One simulated seller account: state, API app, control API and optional buyer activity."""

    def __init__(self, config: WalmartSimConfig | None = None) -> None:
        self.config = config or WalmartSimConfig()
        self.clock = SimClock()
        self.store = WalmartStore(self.config, self.clock)
        self.feeds: dict[str, SimFeed] = {}
        self.faults = FaultSet(WALMART_FAULTS)
        self.requests = RequestLog()
        self.tokens = TokenRegistry(self)
        self.gate = Gate(self)
        self._last_sweep_ms = 0
        self.generator = ActivityGenerator(
            self.generator_step, self.config, name="walmart-sim-generator", skip=(ApiError,)
        )
        routes = ControlApi(self).routes() + OrdersApi(self).routes()
        self.app = self.serve(routes)

    # -- account activity ---------------------------------------------------------------------------

    def create_order(self, **overrides: Any) -> JSON:
        """A new order (Created lines), rendered as ``GET /v3/orders/{id}`` shows it; see
        ``WalmartStore.create_order`` for the overrides."""
        return self.render(self.store.create_order(overrides).po)

    def bulk_create_orders(self, count: int) -> None:
        self.store.bulk_create(count)

    def get_order(self, po: str) -> JSON:
        return self.render(po)

    def render(self, po: str) -> JSON:
        return self.store.get(po).render(self.config.ship_node_id)

    def sweep(self, force: bool = False) -> int:
        """Auto-cancellation, at most once per simulated second unless forced."""
        now = self.clock.now_ms()
        if not force and now - self._last_sweep_ms < SWEEP_EVERY_MS:
            return 0
        self._last_sweep_ms = now
        return self.store.sweep()

    def generator_step(self) -> str:
        """One tick of buyer activity: mostly new orders, sometimes an address change, an intent to
        cancel or a cancellation of a recent open order."""
        rng = self.generator.rng
        recent = [o for o in list(self.store.orders.values())[-50:] if any(line.open for line in o.lines)]
        roll = rng.random()
        if roll < 0.7 or not recent:
            self.store.create_order({})
            return "create"
        target = rng.choice(recent)
        if roll < 0.8:
            self.store.edit(target.po, {"address": {"address2": f"Apt {rng.randint(1, 99)}"}})
            return "edit"
        if roll < 0.9:
            self.store.intent_to_cancel(target.po)
            return "intent_to_cancel"
        self.store.customer_cancel(target.po)
        return "cancel"

    # -- settings and state -------------------------------------------------------------------------

    async def apply_config(self, changed: list[str]) -> None:
        """Make changed settings take effect (``/_sandbox/config`` changes them, then calls this)."""
        if {"allowances", "rate_limit_enabled"} & set(changed):
            self.gate.rebuild_buckets()
        await super().apply_config(changed)

    def advance_clock(self, seconds: float) -> JSON:
        self.clock.advance(seconds)
        return {"now_ms": self.clock.now_ms(), "auto_cancelled": self.sweep(force=True)}

    def state(self) -> JSON:
        return {
            **self.store.counts(),
            "feeds": len(self.feeds),
            "token_grants": self.tokens.grants,
            "active_tokens": self.tokens.active(),
            "faults": len(self.faults.rules),
            "requests_logged": len(self.requests.records),
            "rate_limit": {api: bucket.remaining for api, bucket in self.gate.buckets.items()},
            "generator_running": self.generator.running,
        }


def build_standalone_app(config: WalmartSimConfig | None = None) -> Starlette:
    return WalmartSimulator(config).app


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = standalone_channel(args, WalmartSimulator, WalmartSimConfig)
        return sim.app, f"client_id={sim.config.client_id} client_secret={sim.config.client_secret}"

    description = "Walmart Marketplace API simulator"
    run_standalone(argv, description=description, port=9001, build=build, options=channel_options, log_level="warning")


if __name__ == "__main__":
    main()

"""A faithful fake of Shopify's REST Admin API, for sandbox mode and for connector tests.

One simulator is one shop, kept in memory and reproducible from `config.seed`. Its ASGI app
serves the real REST paths (`/admin/api/{version}/...`) with Shopify's auth, pagination, status
values, error bodies and leaky-bucket rate limit, the part of the GraphQL Admin API stock needs (with
its calculated-cost limit: `sim_graphql`), sends HMAC-signed webhooks with Shopify's retry
policy, and exposes a `/_sandbox/...` control API for seeding, customer activity and faults.
Behaviour follows `reference/channels.md` section 1; its [U] facts are `ShopifySimConfig` fields.

Run standalone: `python -m fenicia.connectors.shopify.simulator --port 8081`.
"""

from __future__ import annotations

import argparse
from typing import Any

from starlette.applications import Starlette

from fenicia.connectors.shopify import sim_actions
from fenicia.connectors.shopify.sim_clock import SimClock
from fenicia.connectors.shopify.sim_config import ShopifySimConfig
from fenicia.connectors.shopify.sim_control import ControlApi
from fenicia.connectors.shopify.sim_faults import SHOPIFY_FAULTS, CostBucket, FaultSet, LeakyBucket, RequestLog
from fenicia.connectors.shopify.sim_models import ApiError, Order
from fenicia.connectors.shopify.sim_render import JSON
from fenicia.connectors.shopify.sim_rest import RestApi
from fenicia.connectors.shopify.sim_store import ShopStore
from fenicia.connectors.shopify.sim_webhooks import WebhookHub, sign
from fenicia.sandbox.channelkit import ActivityGenerator, ChannelSimulator, channel_options, standalone_channel
from fenicia.sandbox.simkit import run_standalone

__all__ = ["ShopifySimConfig", "ShopifySimulator", "build_standalone_app", "main", "sign"]

CLOCK_FIELDS = frozenset({"timezone_offset_minutes", "timestamp_precision"})


class ShopifySimulator(ChannelSimulator[ShopifySimConfig]):
    """One simulated shop: state, REST app, webhook dispatcher and optional order generator."""

    def __init__(self, config: ShopifySimConfig | None = None) -> None:
        self.config = config or ShopifySimConfig()
        self.clock = SimClock(self.config.timezone_offset_minutes, self.config.timestamp_precision)
        self.faults = FaultSet(SHOPIFY_FAULTS)
        self.bucket = LeakyBucket(self.config)
        self.cost_bucket = CostBucket(self.config)  # GraphQL: calculated cost, apart from the REST bucket
        self.idempotent_answers: dict[str, tuple[str, JSON]] = {}  # @idempotent key -> (input, answer)
        self.requests = RequestLog()
        self.webhooks = WebhookHub(self.config, self.clock, self.faults)
        self.store = ShopStore(self.config, self.clock, self.webhooks)
        self.generator = ActivityGenerator(
            self.generator_step, self.config, name="shopify-sim-generator", skip=(ApiError,)
        )
        self.sender = self.webhooks
        routes = RestApi(self).routes() + ControlApi(self).routes()
        self.app = self.serve(routes)

    # -- shop activity ----------------------------------------------------------------------

    def create_order(self, **overrides: Any) -> JSON:
        """Create an order (REST shape returned) and fire orders/create. Overrides: line_items
        [{sku|variant_id, quantity, price?, title?}] or sku+quantity, financial_status, customer
        {first_name, last_name, email}, shipping_address (merged), email, phone, note, tags,
        currency, source_name, created_at (ISO), and any other top-level REST field verbatim."""
        return self.store.render(self.store.create_order(overrides))

    def bulk_create_orders(self, n: int) -> None:
        """Seed `n` past orders quickly: no webhooks, updated_at spread over the past."""
        self.store.bulk_create(n)

    def delete_order(self, order_id: int) -> None:
        self.store.delete_order(order_id)

    def customer_edit(self, order_id: int, changes: dict[str, Any]) -> JSON:
        """The customer edits the order (see `sim_actions.edit_order` for `changes`)."""
        return self.store.render(sim_actions.edit_order(self.store, order_id, changes))

    def customer_cancel(self, order_id: int, reason: str = "customer") -> JSON:
        order = sim_actions.cancel_order(self.store, order_id, {"reason": reason, "restock": True})
        return self.store.render(order)

    def get_order(self, order_id: int) -> JSON:
        return self.store.render(self.store.get_order(order_id))

    def generator_step(self) -> str:
        """One tick of simulated customers: mostly new orders, sometimes an edit or a cancel."""
        rng = self.generator.rng
        recent = [o for o in list(self.store.orders.values())[-50:] if _editable(o)]
        roll = rng.random()
        if roll < 0.7 or not recent:
            self.store.create_order({})
            return "create"
        target = rng.choice(recent)
        if roll < 0.9:
            line = target.line_items[0]
            sim_actions.edit_order(
                self.store,
                target.id,
                {"line_items": [{"line_item_id": line.id, "quantity": line.current_quantity + 1}]},
            )
            return "edit"
        sim_actions.cancel_order(self.store, target.id, {"reason": "customer", "restock": True})
        return "cancel"

    # -- webhooks and faults ----------------------------------------------------------------

    def subscribe(self, address: str, topic: str) -> JSON:
        return self.webhooks.subscribe(topic, address, self.config.api_version).public()

    async def flush_webhooks(self) -> None:
        """Send every pending delivery now (retries and held batches included) and wait."""
        await self.webhooks.flush()

    def clear_faults(self) -> None:
        self.faults.clear()
        self.webhooks.release_held()

    def release_held_if_unordered(self) -> None:
        self.webhooks.release_held_if_unordered()

    # -- settings and state -----------------------------------------------------------------

    async def apply_config(self, changed: list[str]) -> None:
        """Make changed settings take effect (``/_sandbox/config`` changes them, then calls this)."""
        if CLOCK_FIELDS & set(changed):
            self.clock.configure(self.config.timezone_offset_minutes, self.config.timestamp_precision)
        await super().apply_config(changed)

    def advance_clock(self, seconds: float) -> JSON:
        self.clock.advance(seconds)
        return {"now": self.clock.iso(self.clock.now())}

    def state(self) -> JSON:
        return {
            "shop_domain": self.config.shop_domain,
            **self.store.counts(),
            "webhooks": self.webhooks.counts(),
            "faults": len(self.faults.rules),
            "rate_limit": {"used": self.bucket.used, "size": self.config.bucket_size},
            "graphql_cost": self.cost_bucket.throttle_status() | {"throttled": self.cost_bucket.throttled},
            "requests_logged": len(self.requests.records),
            "api_versions_seen": sorted({r.api_version for r in self.requests.records if r.api_version}),
            "generator_running": self.generator.running,
        }


def _editable(order: Order) -> bool:
    return not order.cancelled and order.fulfillment_status is None


def build_standalone_app(config: ShopifySimConfig | None = None) -> Starlette:
    """An ASGI app for one shop; its lifespan starts the dispatcher and generator."""
    return ShopifySimulator(config).app


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = standalone_channel(args, ShopifySimulator, ShopifySimConfig)
        return sim.app, f"shop={sim.config.shop_domain} access_token={sim.config.access_token}"

    run_standalone(argv, description="Shopify Admin API simulator", port=8081, build=build, options=channel_options)


if __name__ == "__main__":
    main()

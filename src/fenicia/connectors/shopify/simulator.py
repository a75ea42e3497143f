"""A faithful fake of Shopify's REST Admin API, for sandbox mode and for connector tests.

One simulator is one shop, kept in memory and reproducible from `config.seed`. Its ASGI app
serves the real REST paths (`/admin/api/{version}/...`) with Shopify's auth, pagination, status
values, error bodies and leaky-bucket rate limit, sends HMAC-signed webhooks with Shopify's retry
policy, and exposes a `/_sandbox/...` control API for seeding, customer activity and faults.
Behaviour follows `reference/channels.md` section 1; its [U] facts are `ShopifySimConfig` fields.

Run standalone: `python -m fenicia.connectors.shopify.simulator --port 8081`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette

from fenicia.connectors.shopify import sim_actions
from fenicia.connectors.shopify.sim_clock import SimClock
from fenicia.connectors.shopify.sim_config import ShopifySimConfig
from fenicia.connectors.shopify.sim_control import ControlApi
from fenicia.connectors.shopify.sim_faults import FaultSet, LeakyBucket, RequestLog
from fenicia.connectors.shopify.sim_models import ApiError, Order
from fenicia.connectors.shopify.sim_render import JSON
from fenicia.connectors.shopify.sim_rest import RestApi
from fenicia.connectors.shopify.sim_store import ShopStore
from fenicia.connectors.shopify.sim_webhooks import WebhookHub, sign

__all__ = ["ShopifySimConfig", "ShopifySimulator", "build_standalone_app", "main", "sign"]

CLOCK_FIELDS = frozenset({"timezone_offset_minutes", "timestamp_precision"})


class ShopifySimulator:
    """One simulated shop: state, REST app, webhook dispatcher and optional order generator."""

    def __init__(self, config: ShopifySimConfig | None = None) -> None:
        self.config = config or ShopifySimConfig()
        self.clock = SimClock(self.config.timezone_offset_minutes, self.config.timestamp_precision)
        self.faults = FaultSet()
        self.bucket = LeakyBucket(self.config)
        self.requests = RequestLog()
        self.webhooks = WebhookHub(self.config, self.clock, self.faults)
        self.store = ShopStore(self.config, self.clock, self.webhooks)
        self._generator_rng = random.Random(f"{self.config.seed}:generator")
        self._generator: asyncio.Task[None] | None = None
        routes = RestApi(self).routes() + ControlApi(self).routes()
        self.app = Starlette(routes=routes, lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    async def start(self) -> None:
        """Start the webhook dispatcher and, if configured, the order generator. Idempotent."""
        await self.webhooks.start()
        if self._generator is None and self.config.generator_interval_s:
            self._generator = asyncio.create_task(self._generate_forever(), name="shopify-sim-generator")

    async def stop(self) -> None:
        await self._stop_generator()
        await self.webhooks.stop()

    async def _stop_generator(self) -> None:
        task, self._generator = self._generator, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

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
        rng = self._generator_rng
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

    async def _generate_forever(self) -> None:
        while self.config.generator_interval_s:
            await asyncio.sleep(self.config.generator_interval_s)
            with contextlib.suppress(ApiError):  # e.g. a pick that became uneditable: skip the tick
                self.generator_step()

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
        if not self.faults.has_active("reorder_webhooks"):
            self.webhooks.release_held()

    # -- settings and state -----------------------------------------------------------------

    async def update_config(self, changes: dict[str, Any]) -> list[str]:
        """Change settings at runtime; the generator restarts when its interval changes."""
        changed = self.config.update(changes)
        if CLOCK_FIELDS & set(changed):
            self.clock.configure(self.config.timezone_offset_minutes, self.config.timestamp_precision)
        if "generator_interval_s" in changed:
            await self._stop_generator()
            if self.webhooks.running:
                await self.start()
        return changed

    def state(self) -> JSON:
        return {
            "shop_domain": self.config.shop_domain,
            **self.store.counts(),
            "webhooks": self.webhooks.counts(),
            "faults": len(self.faults.rules),
            "rate_limit": {"used": self.bucket.used, "size": self.config.bucket_size},
            "requests_logged": len(self.requests.records),
            "api_versions_seen": sorted({r.api_version for r in self.requests.records if r.api_version}),
            "generator_running": self._generator is not None,
        }


def _editable(order: Order) -> bool:
    return not order.cancelled and order.fulfillment_status is None


def build_standalone_app(config: ShopifySimConfig | None = None) -> Starlette:
    """An ASGI app for one shop; its lifespan starts the dispatcher and generator."""
    return ShopifySimulator(config).app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description="Shopify Admin API simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--orders", type=int, default=0, help="bulk-seed this many past orders")
    parser.add_argument("--generator-interval", type=float, default=None)
    args = parser.parse_args(argv)
    sim = ShopifySimulator(ShopifySimConfig(seed=args.seed, generator_interval_s=args.generator_interval))
    if args.orders:
        sim.bulk_create_orders(args.orders)
    uvicorn.run(sim.app, host=args.host, port=args.port)


if __name__ == "__main__":
    main()

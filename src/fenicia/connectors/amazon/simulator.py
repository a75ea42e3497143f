"""A faithful fake of Amazon's Selling Partner API for one seller, for sandbox mode and connector tests.

One simulator is one seller account authorized for one LWA app, kept in memory and reproducible from
``config.seed``. Its ASGI app serves the LWA token endpoint (``/auth/o2/token``) and the real SP-API
paths (Orders v0, Listings Items 2021-08-01, Feeds 2021-06-30, plus presigned document storage) with
Amazon's auth (403 for expired tokens), per-operation token buckets (429 ``QuotaExceeded``,
``x-amzn-RateLimit-Limit``), paging rules, status values and error bodies, a customer-activity
generator, and a ``/_sandbox/...`` control API for seeding, customer activity, tokens and faults.
Amazon has no order webhooks we could receive (SQS/EventBridge only), so neither does the simulator.
Behaviour follows ``reference/channels.md`` §2; its [U] facts are ``AmazonSimConfig`` fields.

Run standalone: ``python -m fenicia.connectors.amazon.simulator --port 9001 --orders 50``.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request

from fenicia.connectors.amazon.sim_api import AMAZON_FAULTS, SpApi
from fenicia.connectors.amazon.sim_auth import TokenRegistry
from fenicia.connectors.amazon.sim_config import AmazonSimConfig
from fenicia.connectors.amazon.sim_control import ControlApi
from fenicia.connectors.amazon.sim_listings import ListingsDesk
from fenicia.connectors.amazon.sim_models import JSON, PENDING_STATUSES, SimClock, iso, render_item, render_order
from fenicia.connectors.amazon.sim_seed import CITIES
from fenicia.connectors.amazon.sim_store import OrderStore
from fenicia.sandbox.channelkit import ActivityGenerator, ChannelSimulator, channel_options, standalone_channel
from fenicia.sandbox.simkit import FaultSet, RequestLog, TokenBucket, run_standalone

__all__ = ["AmazonSimConfig", "AmazonSimulator", "build_standalone_app", "main"]
BUCKET_FIELDS = frozenset({"rate_limit_enabled", "usage_plans"})


class Buckets:
    """Amazon's token bucket per operation, and what each operation answered (calls, 429s)."""

    def __init__(self, config: AmazonSimConfig) -> None:
        self.config = config
        self._buckets: dict[str, TokenBucket] = {}
        self.stats: dict[str, dict[str, float]] = {}

    def bucket(self, operation: str) -> TokenBucket:
        bucket = self._buckets.get(operation)
        if bucket is None:
            plan = self.config.plan(operation)
            bucket = TokenBucket(plan.rate_per_s, plan.burst, enabled=self.config.rate_limit_enabled)
            self._buckets[operation] = bucket
        return bucket

    def take(self, operation: str) -> bool:
        return self.bucket(operation).take()

    def rate(self, operation: str) -> float:
        return self.config.plan(operation).rate_per_s

    def count(self, operation: str, status: int) -> None:
        now = time.monotonic()
        stats = self.stats.setdefault(operation, {"calls": 0, "throttled": 0, "first_at": now, "last_at": now})
        stats["throttled" if status == 429 else "calls"] += 1
        stats["last_at"] = now

    def rebuild(self) -> None:
        self._buckets.clear()

    def public(self) -> dict[str, Any]:
        return {
            op: {**stats, "rate_per_s": self.rate(op), "burst": self.config.plan(op).burst}
            for op, stats in self.stats.items()
        }


class AmazonSimulator(ChannelSimulator[AmazonSimConfig]):
    """One simulated seller: state, SP-API app, control API and optional activity generator."""

    def __init__(self, config: AmazonSimConfig | None = None) -> None:
        self.config = config or AmazonSimConfig()
        self.clock = SimClock()
        self.faults = FaultSet(AMAZON_FAULTS)
        self.tokens = TokenRegistry(self.config, self.clock)
        self.buckets = Buckets(self.config)
        self.requests = RequestLog()
        self.store = OrderStore(self.config, self.clock)
        self.listings = ListingsDesk(self.config, self.store, os.urandom(16))
        self.generator = ActivityGenerator(
            self.generator_step, self.config, name="amazon-sim-generator", skip=(ValueError,)
        )
        routes = ControlApi(self).routes() + SpApi(self).routes()
        self.app = self.serve(routes)

    # -- seller and buyer activity ------------------------------------------------------------

    def create_order(self, **overrides: Any) -> JSON:
        """A new order now (see ``OrderStore.create_order`` for overrides); its full sandbox view."""
        return self.view(self.store.create_order(overrides).order_id)

    def bulk_create_orders(self, count: int) -> None:
        self.store.bulk_create(count)

    def view(self, order_id: str) -> JSON:
        """The order as getOrder shows it (PII included), with its items and confirmed packages."""
        order = self.store.get(order_id)
        data = render_order(order, include_pii=True)
        data["OrderItems"] = [render_item(item, order) for item in order.items]
        data["Packages"] = [
            {
                "packageReferenceId": p.reference_id,
                "carrierCode": p.carrier_code,
                "carrierName": p.carrier_name,
                "trackingNumber": p.tracking_number,
                "shipDate": p.ship_date,
                "orderItems": [{"orderItemId": k, "quantity": v} for k, v in p.items.items()],
                "confirmedAt": iso(p.confirmed_at),
            }
            for p in order.packages
        ]
        return data

    def generator_step(self) -> str:
        """One tick of simulated buyers and Amazon: mostly new orders; sometimes a payment
        authorization, a buyer cancel request, an address correction [U] or a cancellation."""
        rng = self.generator.rng
        recent = list(self.store.orders.values())[-50:]
        pending = [o for o in recent if o.status in PENDING_STATUSES]
        unshipped = [o for o in recent if o.status == "Unshipped"]
        roll = rng.random()
        if roll < 0.7 or not recent:
            status = self.store.seeder.new_status()
            self.store.create_order({"status": status, "fulfillment_channel": self.store.seeder.channel()})
            return "create"
        if roll < 0.85 and pending:
            self.store.authorize(rng.choice(pending).order_id)
            return "authorize"
        if roll < 0.9 and unshipped:
            self.store.request_cancel(rng.choice(unshipped).order_id, "Found cheaper somewhere else.")
            return "request_cancel"
        if roll < 0.95 and unshipped:
            city, state, postcode = rng.choice(CITIES)
            changes = {"City": city, "StateOrRegion": state, "PostalCode": postcode}
            self.store.edit_address(rng.choice(unshipped).order_id, changes)
            return "edit"
        if unshipped:
            self.store.cancel(rng.choice(unshipped).order_id)
            return "cancel"
        return "idle"

    def revoke_authorization(self) -> None:
        """The seller revokes the app: every access token stops working and the refresh token is refused."""
        self.tokens.refresh_revoked = True
        for token in self.tokens.tokens.values():
            token.revoked = True

    # -- bookkeeping --------------------------------------------------------------------------

    def record(
        self, request: Request, path: str, operation: str | None, status: int, started: float, fault: str, body: Any
    ) -> None:
        if operation is not None:
            self.buckets.count(operation, status)
        self.requests.add(
            method=request.method,
            path=path,
            query=request.url.query,
            api_version=operation,  # the SP-API operation name (each has its own version in its path)
            status=status,
            time=iso(time.time()),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            body=body,
            fault=fault or None,
        )

    async def apply_config(self, changed: list[str]) -> None:
        """Make changed settings take effect (``/_sandbox/config`` changes them, then calls this)."""
        if BUCKET_FIELDS & set(changed):
            self.buckets.rebuild()
        await super().apply_config(changed)

    def clear_faults(self) -> None:
        self.faults.clear()

    def advance_clock(self, seconds: float) -> JSON:
        self.clock.advance(seconds)
        return {"now": iso(self.clock.now())}

    def state(self) -> JSON:
        return {
            "seller_id": self.config.seller_id,
            **self.store.counts(),
            "token_grants": self.tokens.grants,
            "tokens_issued": len(self.tokens.tokens),
            "authorization_revoked": self.tokens.refresh_revoked,
            "feeds": len(self.listings.feeds),
            "faults": len(self.faults.rules),
            "operations": self.buckets.public(),
            "requests_logged": len(self.requests.records),
            "generator_running": self.generator.running,
            "now": iso(self.clock.now()),
        }


def build_standalone_app(config: AmazonSimConfig | None = None) -> Starlette:
    return AmazonSimulator(config).app


def main(argv: list[str] | None = None) -> None:
    def build(args: argparse.Namespace) -> tuple[Starlette, str]:
        sim = standalone_channel(args, AmazonSimulator, AmazonSimConfig)
        return sim.app, f"seller_id={sim.config.seller_id} client_id={sim.config.client_id}"

    description = "Amazon Selling Partner API simulator"
    run_standalone(argv, description=description, port=9001, build=build, options=channel_options, log_level="warning")


if __name__ == "__main__":
    main()

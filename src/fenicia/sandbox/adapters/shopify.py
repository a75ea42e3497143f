"""The demo's Shopify: a shop reached at ``shop_url``, webhooks subscribed over the Admin API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.channels.models import ChannelConnection
from fenicia.connectors.shopify.simulator import ShopifySimConfig, ShopifySimulator
from fenicia.orders.models import Order
from fenicia.sandbox.adapters.base import JSON, DemoChannel, LiveSetup, fresh_secret, fresh_seed, required
from fenicia.sandbox.records import DEMO_SLUG

NUMBER_DIGITS = re.compile(r"\d+")


class ShopifyDemo(DemoChannel[ShopifySimulator]):
    key = "shopify"
    label = "Shopify"
    config: ShopifySimConfig

    @classmethod
    def demo(cls, history_days: float) -> ShopifyDemo:
        return cls(
            ShopifySimConfig(
                shop_domain=f"{DEMO_SLUG}.myshopify.com",
                access_token=fresh_secret("shpat_"),
                client_secret=fresh_secret("shpss_"),
                seed=fresh_seed(),
                bulk_history_days=history_days,
                generator_interval_s=None,
            )
        )

    @classmethod
    def standalone(cls, seed: int, generator_interval_s: float | None) -> ShopifyDemo:
        return cls(ShopifySimConfig(seed=seed, generator_interval_s=generator_interval_s or None))

    def _build(self) -> ShopifySimulator:
        return ShopifySimulator(self.config)

    def credentials(self) -> JSON:
        return {"access_token": self.config.access_token, "client_secret": self.config.client_secret}

    def connection_settings(self, sim_url: str) -> JSON:
        return {"shop_url": sim_url}

    def accept(self, credentials: Mapping[str, Any]) -> None:
        self.config.access_token = required(credentials, "access_token")
        self.config.client_secret = required(credentials, "client_secret")

    def adopt(self, session: Session, conn: ChannelConnection, credentials: Mapping[str, Any]) -> None:
        """Also numbers the new shop's orders after the highest one imported (#1043 after #1042)."""
        super().adopt(session, conn, credentials)
        store = self.simulator.store
        store.next_number = max(store.next_number, last_order_number(session, conn.id) + 1)

    def send_webhooks_to(self, address: str) -> None:
        for topic in self.spec.webhook_topics:
            self.simulator.subscribe(address, topic)

    async def connect_webhooks(self, live: LiveSetup) -> None:
        await live.ensure_webhooks(list(self.spec.webhook_topics))


def last_order_number(session: Session, connection_id: int) -> int:
    """The highest Shopify order number imported for the connection (0 when none)."""
    numbers = session.scalars(select(Order.number).where(Order.connection_id == connection_id))
    found = (NUMBER_DIGITS.search(number) for number in numbers)
    return max((int(match.group()) for match in found if match), default=0)

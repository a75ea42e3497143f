"""A simulated shop served on its own port (``fenicia sandbox shopify``): for crash tests and manual play.

Unlike the demo it knows nothing of Fenicia's database: point a connection at the printed shop URL with
the printed credentials, and pass ``--webhook-url`` (the connection's webhook address) to receive its
webhooks. State lives in memory and is gone when the process stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from fenicia.connectors.shopify import SPEC
from fenicia.connectors.shopify.simulator import ShopifySimConfig, ShopifySimulator


@dataclass
class StandaloneShopify:
    webhook_url: str | None = None
    generator_interval_seconds: float | None = None
    seed: int = 0
    history_orders: int = 0
    access_token: str = ShopifySimConfig.access_token
    client_secret: str = ShopifySimConfig.client_secret

    def build(self) -> ShopifySimulator:
        """The simulator, seeded and subscribed; its app's lifespan starts webhooks and the generator."""
        config = ShopifySimConfig(
            seed=self.seed,
            generator_interval_s=self.generator_interval_seconds or None,
            access_token=self.access_token,
            client_secret=self.client_secret,
        )
        simulator = ShopifySimulator(config)
        if self.history_orders:
            simulator.bulk_create_orders(self.history_orders)
        if self.webhook_url:
            for topic in SPEC.webhook_topics:
                simulator.subscribe(self.webhook_url, topic)
        return simulator

    def describe(self, host: str, port: int) -> str:
        lines = [
            f"Shopify sandbox at http://{host}:{port}",
            "  Admin REST API under /admin/api/{version}/, control API under /_sandbox/",
            f"  shop_url:      http://{host}:{port}",
            f"  access_token:  {self.access_token}",
            f"  client_secret: {self.client_secret}",
            f"  webhooks to:   {self.webhook_url or '(none; subscribe via the Admin API or /_sandbox/webhooks)'}",
            "  State lives in memory: stopping the process discards the shop.",
        ]
        return "\n".join(lines)

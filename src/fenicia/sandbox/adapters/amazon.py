"""The demo's Amazon: SP-API and the Login with Amazon token endpoint on one simulator; polled, no webhooks.

Real Amazon ends every getOrders window two minutes before now, which would hold a new order back for
two minutes or more. The demo's seller answers without that delay (``updated_before_lag_s`` 0, and the
connection's ``updated_before_lag_seconds`` to match) so that its orders show up within a minute; put it
back with ``POST /_sandbox/config {"updated_before_lag_s": 120}``.

Every poll re-reads the orders changed in the last few minutes (the engine's overlap), each with one
getOrderItems call, which Amazon allows at 0.5 per second. So the demo's Amazon customers act at a
quarter of the other channels' pace, and polls come no more often than getOrders refills (once a
minute at the default pace): Amazon's real limits hold and polls stay short.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fenicia.connectors.amazon.simulator import AmazonSimConfig, AmazonSimulator
from fenicia.sandbox.adapters.base import JSON, DemoChannel, fresh_secret, fresh_seed, required

DEMO_LAG_SECONDS = 0.0
TOKEN_PATH = "/auth/o2/token"


class AmazonDemo(DemoChannel[AmazonSimulator]):
    key = "amazon"
    label = "Amazon"
    nudge_factor = 7.5  # getOrders refills one call a minute: ask no more often than that by default
    generator_factor = 4.0
    config: AmazonSimConfig

    @classmethod
    def demo(cls, history_days: float) -> AmazonDemo:
        return cls(
            AmazonSimConfig(
                client_id=fresh_secret("amzn1.application-oa2-client.", 8),
                client_secret=fresh_secret("amzn1.oa2-cs.v1."),
                refresh_token=fresh_secret("Atzr|"),
                seed=fresh_seed(),
                bulk_history_days=history_days,
                updated_before_lag_s=DEMO_LAG_SECONDS,
                generator_interval_s=None,
            )
        )

    @classmethod
    def standalone(cls, seed: int, generator_interval_s: float | None) -> AmazonDemo:
        return cls(AmazonSimConfig(seed=seed, generator_interval_s=generator_interval_s or None))

    def _build(self) -> AmazonSimulator:
        return AmazonSimulator(self.config)

    def credentials(self) -> JSON:
        config = self.config
        return {
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "refresh_token": config.refresh_token,
        }

    def connection_settings(self, sim_url: str) -> JSON:
        return {
            "endpoint": sim_url,
            "lwa_token_url": f"{sim_url}{TOKEN_PATH}",
            "seller_id": self.config.seller_id,
            "marketplace_ids": list(self.config.marketplace_ids),
            "updated_before_lag_seconds": self.config.updated_before_lag_s,
        }

    def accept(self, credentials: Mapping[str, Any]) -> None:
        self.config.client_id = required(credentials, "client_id")
        self.config.client_secret = required(credentials, "client_secret")
        self.config.refresh_token = required(credentials, "refresh_token")

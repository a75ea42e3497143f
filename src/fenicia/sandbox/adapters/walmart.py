"""The demo's Walmart: the Marketplace API and its token API (client credentials) on one simulator; polled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fenicia.connectors.walmart.simulator import WalmartSimConfig, WalmartSimulator
from fenicia.sandbox.adapters.base import JSON, DemoChannel, fresh_secret, fresh_seed, required


class WalmartDemo(DemoChannel[WalmartSimulator]):
    key = "walmart"
    label = "Walmart"
    config: WalmartSimConfig

    @classmethod
    def demo(cls, history_days: float) -> WalmartDemo:
        return cls(
            WalmartSimConfig(
                client_id=fresh_secret("wm-demo-", 8),
                client_secret=fresh_secret(),
                seed=fresh_seed(),
                bulk_history_days=history_days,
                generator_interval_s=None,
            )
        )

    @classmethod
    def standalone(cls, seed: int, generator_interval_s: float | None) -> WalmartDemo:
        return cls(WalmartSimConfig(seed=seed, generator_interval_s=generator_interval_s or None))

    def _build(self) -> WalmartSimulator:
        return WalmartSimulator(self.config)

    def credentials(self) -> JSON:
        return {"client_id": self.config.client_id, "client_secret": self.config.client_secret}

    def connection_settings(self, sim_url: str) -> JSON:
        return {"api_base_url": sim_url}  # the token API is {api_base_url}{token_path}

    def accept(self, credentials: Mapping[str, Any]) -> None:
        self.config.client_id = required(credentials, "client_id")
        self.config.client_secret = required(credentials, "client_secret")

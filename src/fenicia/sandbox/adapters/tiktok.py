"""The demo's TikTok Shop: Open API and token endpoints on one simulator; signed webhooks to our intake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fenicia.connectors.tiktok.simulator import TikTokSimConfig, TikTokSimulator
from fenicia.sandbox.adapters.base import JSON, DemoChannel, LiveSetup, fresh_secret, fresh_seed, required


class TikTokDemo(DemoChannel[TikTokSimulator]):
    key = "tiktok"
    label = "TikTok Shop"
    config: TikTokSimConfig

    @classmethod
    def demo(cls, history_days: float) -> TikTokDemo:
        return cls(
            TikTokSimConfig(
                app_key=fresh_secret("demo", 6),
                app_secret=fresh_secret(),
                refresh_token=fresh_secret("ROW_"),
                shop_name="Demo Store",
                seed=fresh_seed(),
                bulk_history_days=history_days,
                generator_interval_s=None,
            )
        )

    @classmethod
    def standalone(cls, seed: int, generator_interval_s: float | None) -> TikTokDemo:
        return cls(TikTokSimConfig(seed=seed, generator_interval_s=generator_interval_s or None))

    def _build(self) -> TikTokSimulator:
        return TikTokSimulator(self.config)

    def credentials(self) -> JSON:
        config = self.config
        return {"app_key": config.app_key, "app_secret": config.app_secret, "refresh_token": config.refresh_token}

    def connection_settings(self, sim_url: str) -> JSON:
        return {"api_base_url": sim_url, "auth_base_url": sim_url, "shop_id": self.config.shop_id}

    def accept(self, credentials: Mapping[str, Any]) -> None:
        self.config.app_key = required(credentials, "app_key")
        self.config.app_secret = required(credentials, "app_secret")
        self.config.refresh_token = required(credentials, "refresh_token")

    def send_webhooks_to(self, address: str) -> None:
        for topic in self.spec.webhook_topics:
            self.simulator.subscribe(address, topic)

    async def connect_webhooks(self, live: LiveSetup) -> None:
        await live.ensure_webhooks(list(self.spec.webhook_topics))

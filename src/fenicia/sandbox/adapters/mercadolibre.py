"""The demo's MercadoLibre: API and OAuth server on one simulator; notifications to our intake.

MercadoLibre has no call to set an application's callback URL (the merchant sets it in ML's application
manager), so the demo sets it on the simulated application, then checks it through the connector as the
real channel would be checked. Refresh tokens are single-use: a later start's fresh simulator takes the
connection's stored refresh token as its seller's authorization, and the demo forgets the tokens the
previous simulator issued (see ``records.reuse_connection``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fenicia.connectors.mercadolibre.simulator import MercadoLibreSimConfig, MercadoLibreSimulator
from fenicia.sandbox.adapters.base import JSON, DemoChannel, LiveSetup, fresh_secret, fresh_seed, required


class MercadoLibreDemo(DemoChannel[MercadoLibreSimulator]):
    key = "mercadolibre"
    label = "MercadoLibre"
    config: MercadoLibreSimConfig

    @classmethod
    def demo(cls, history_days: float) -> MercadoLibreDemo:
        config = MercadoLibreSimConfig(
            client_secret=fresh_secret(),
            seed=fresh_seed(),
            bulk_history_days=history_days,
            generator_interval_s=None,
        )
        config.initial_refresh_token = fresh_secret("TG-", 12) + f"-{config.seller_id}"
        return cls(config)

    @classmethod
    def standalone(cls, seed: int, generator_interval_s: float | None) -> MercadoLibreDemo:
        return cls(MercadoLibreSimConfig(seed=seed, generator_interval_s=generator_interval_s or None))

    def _build(self) -> MercadoLibreSimulator:
        return MercadoLibreSimulator(self.config)

    def credentials(self) -> JSON:
        config = self.config
        return {
            "client_id": str(config.app_id),
            "client_secret": config.client_secret,
            "refresh_token": config.initial_refresh_token,
        }

    def connection_settings(self, sim_url: str) -> JSON:
        return {"seller_id": self.config.seller_id, "api_url": sim_url}  # token endpoint: {api_url}/oauth/token

    def accept(self, credentials: Mapping[str, Any]) -> None:
        app_id = required(credentials, "client_id")
        self.config.app_id = int(app_id) if app_id.isdigit() else self.config.app_id
        self.config.client_secret = required(credentials, "client_secret")
        self.config.initial_refresh_token = required(credentials, "refresh_token")

    def send_webhooks_to(self, address: str) -> None:
        self.config.notification_callback_url = address

    async def connect_webhooks(self, live: LiveSetup) -> None:
        await self.simulator.update_config({"notification_callback_url": live.webhook_address})
        await live.ensure_webhooks(list(self.spec.webhook_topics))

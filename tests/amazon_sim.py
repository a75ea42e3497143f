"""The Amazon SP-API simulator served on a real loopback port, with a small client for its control API.

``FAST_CONNECTOR`` are connector settings for tests: short timeouts, one quick in-call retry, no
two-minute LastUpdatedBefore lag, and usage plans so generous that pacing never slows a test (tests
of pacing itself set real-shaped plans on both sides).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import servers
from channel_testkit import SandboxHandle
from fenicia.connectors.amazon.connector import AmazonConnector
from fenicia.connectors.amazon.limits import DEFAULT_USAGE_PLANS
from fenicia.connectors.amazon.settings import AmazonCredentials, AmazonSettings
from fenicia.connectors.amazon.sim_config import AmazonSimConfig
from fenicia.connectors.amazon.simulator import AmazonSimulator

FAST_PLANS = {name: {"rate_per_s": 1000.0, "burst": 1000} for name in DEFAULT_USAGE_PLANS}
FAST_CONNECTOR: dict[str, Any] = {
    "timeout_seconds": 0.5,
    "max_retries_in_call": 1,
    "retry_base_wait_seconds": 0.01,
    "retry_wait_cap_seconds": 0.2,
    "max_rate_limit_wait_seconds": 5.0,
    "updated_before_lag_seconds": 0,
    "feed_poll_interval_seconds": 0.02,
    "feed_wait_seconds": 3.0,
    "usage_plans": FAST_PLANS,
}
SIM_DEFAULTS: dict[str, Any] = {"rate_limit_enabled": False, "updated_before_lag_s": 0.0, "feed_processing_s": 0.0}
CONFIG = AmazonSimConfig()
CREDENTIALS = {
    "client_id": CONFIG.client_id,
    "client_secret": CONFIG.client_secret,
    "refresh_token": CONFIG.refresh_token,
}


Factory = Callable[..., AmazonConnector]


class SimHandle(SandboxHandle[AmazonSimulator]):
    def state(self) -> dict[str, Any]:
        return dict(self.control("GET", "state"))

    def new_order(self, **overrides: Any) -> dict[str, Any]:
        return dict(self.control("POST", "orders", overrides)["order"])

    def order(self, order_id: str) -> dict[str, Any]:
        return dict(self.control("GET", f"orders/{order_id}")["order"])

    def settings(self, **overrides: Any) -> AmazonSettings:
        values = {
            "endpoint": self.url,
            "lwa_token_url": f"{self.url}/auth/o2/token",
            "seller_id": self.sim.config.seller_id,
            **FAST_CONNECTOR,
            **overrides,
        }
        return AmazonSettings(**values)

    def settings_dict(self, **overrides: Any) -> dict[str, Any]:
        return self.settings(**overrides).model_dump(mode="json")

    @staticmethod
    def credentials(**overrides: Any) -> AmazonCredentials:
        return AmazonCredentials(**(CREDENTIALS | overrides))

    def fatal_feed(self) -> str:
        """A listings feed whose document was never uploaded: Amazon's processing ends FATAL. Its feed id."""
        desk = self.sim.listings
        document = desk.create_document({"contentType": "application/json; charset=UTF-8"}, self.url)
        feed = desk.create_feed(
            {
                "feedType": "JSON_LISTINGS_FEED",
                "marketplaceIds": ["ATVPDKIKX0DER"],
                "inputFeedDocumentId": document["feedDocumentId"],
            }
        )
        return str(feed["feedId"])


@contextmanager
def running_amazon(**config: Any) -> Iterator[SimHandle]:
    sim = AmazonSimulator(AmazonSimConfig(**(SIM_DEFAULTS | config)))
    with servers.serve(sim.app) as url:
        yield SimHandle(sim, url)

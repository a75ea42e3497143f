"""The TikTok Shop simulator served on a real loopback port, with a small client for its control API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import servers
from channel_testkit import SandboxHandle
from fenicia.connectors.base import MemoryTokenStore, TokenStore
from fenicia.connectors.tiktok import build
from fenicia.connectors.tiktok.connector import TikTokConnector
from fenicia.connectors.tiktok.settings import TikTokCredentials, TikTokSettings
from fenicia.connectors.tiktok.sim_config import TikTokSimConfig
from fenicia.connectors.tiktok.simulator import TikTokSimulator
from fenicia.core import netguard

APP_KEY = TikTokSimConfig.app_key
APP_SECRET = TikTokSimConfig.app_secret
REFRESH_TOKEN = TikTokSimConfig.refresh_token

# Fast, small settings for a connector under test: short timeouts, one quick in-call retry, no pacing.
FAST_CONNECTOR: dict[str, Any] = {
    "timeout_seconds": 0.5,
    "max_retries_in_call": 1,
    "retry_wait_cap_seconds": 0.2,
    "retry_base_wait_seconds": 0.01,
    "throttle_wait_seconds": 0.01,
    "rate_limit_per_second": 10_000.0,
    "pacing_burst": 1000,
    "page_size": 50,
}
CREDENTIALS: dict[str, Any] = {"app_key": APP_KEY, "app_secret": APP_SECRET, "refresh_token": REFRESH_TOKEN}


class TikTokHandle(SandboxHandle[TikTokSimulator]):
    def grants(self) -> int:
        return int(self.control("GET", "tokens")["grants"])

    def settings(self, **overrides: Any) -> dict[str, Any]:
        return {"api_base_url": self.url, "auth_base_url": self.url, **FAST_CONNECTOR, **overrides}

    def connector(self, tokens: TokenStore | None = None, **overrides: Any) -> TikTokConnector:
        settings = TikTokSettings(**self.settings(**overrides))
        connector = build(settings, TikTokCredentials(**CREDENTIALS), tokens or MemoryTokenStore())
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        return connector


@contextmanager
def running_tiktok(**config: Any) -> Iterator[TikTokHandle]:
    defaults: dict[str, Any] = {"rate_limit_enabled": False, "webhook_retry_delays_s": [0.05, 0.05]}
    sim = TikTokSimulator(TikTokSimConfig(**(defaults | config)))
    with servers.serve(sim.app) as url:
        yield TikTokHandle(sim, url)

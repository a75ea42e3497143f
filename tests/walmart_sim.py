"""The Walmart simulator served on a real loopback port, with a small client for its control API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import servers
from channel_testkit import SandboxHandle
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.sim_config import WalmartSimConfig
from fenicia.connectors.walmart.simulator import WalmartSimulator

Factory = Callable[..., WalmartConnector]  # makes connectors pointing at the running simulator
CLIENT_ID = "wm-sandbox-client"
CLIENT_SECRET = "wm-sandbox-secret"
# Fast, small settings for a connector under test: short timeouts, one quick in-call retry, no waits.
FAST_CONNECTOR: dict[str, Any] = {
    "timeout_seconds": 0.5,
    "max_retries_in_call": 1,
    "retry_wait_cap_seconds": 0.5,
    "retry_base_wait_seconds": 0.01,
    "feed_poll_seconds": 0.02,
    "feed_wait_seconds": 2.0,
}
# Simulator settings for tests: no rate limit, feeds processed almost at once.
FAST_SIM: dict[str, Any] = {"rate_limit_enabled": False, "feed_processing_s": 0.05}


def credentials() -> dict[str, Any]:
    return {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}


class WalmartHandle(SandboxHandle[WalmartSimulator]):
    def settings(self, **extra: Any) -> dict[str, Any]:
        return {"api_base_url": self.url, **FAST_CONNECTOR, **extra}

    def grants(self) -> int:
        return int(self.control("GET", "tokens")["grants"])


@contextmanager
def running_walmart(**config: Any) -> Iterator[WalmartHandle]:
    sim = WalmartSimulator(WalmartSimConfig(**(FAST_SIM | config)))
    with servers.serve(sim.app) as url:
        yield WalmartHandle(sim, url)

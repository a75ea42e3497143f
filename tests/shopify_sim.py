"""The Shopify simulator served on a real loopback port, with a small client for its control API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import servers
from channel_testkit import SandboxHandle
from fenicia.connectors.shopify.sim_config import ShopifySimConfig
from fenicia.connectors.shopify.simulator import ShopifySimulator

# Fast, small settings for a connector under test: short timeouts, one quick in-call retry.
FAST_CONNECTOR = {
    "timeout_seconds": 0.5,
    "max_retries_in_call": 1,
    "retry_wait_cap_seconds": 0.2,
    "retry_base_wait_seconds": 0.01,
    "page_size": 50,
}


class SimHandle(SandboxHandle[ShopifySimulator]):
    """One shop served on loopback."""


@contextmanager
def running_shop(**config: Any) -> Iterator[SimHandle]:
    defaults: dict[str, Any] = {"rate_limit_enabled": False, "webhook_retry_delays_s": [0.05, 0.05]}
    sim = ShopifySimulator(ShopifySimConfig(**(defaults | config)))
    with servers.serve(sim.app) as url:
        yield SimHandle(sim, url)

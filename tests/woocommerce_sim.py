"""The WooCommerce simulator on a real loopback port, with a builder of connectors against it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fenicia.connectors.woocommerce import WoocommerceCredentials, WoocommerceSettings, WoocommerceSourceConnector
from fenicia.connectors.woocommerce.simulator import WooSimConfig, WooSimulator
from fenicia.core import netguard
from sourcekit import FAST, SimHandle, running


class WooHandle(SimHandle[WooSimulator]):
    def connector(self, secret: str | None = None, **overrides: Any) -> WoocommerceSourceConnector:
        settings = WoocommerceSettings(**{"site_url": self.url, **FAST, **overrides})
        credentials = WoocommerceCredentials(
            consumer_key=self.sim.config.consumer_key,
            consumer_secret=secret if secret is not None else self.sim.config.consumer_secret,
        )
        connector = WoocommerceSourceConnector(settings, credentials)
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        return connector


@contextmanager
def running_woocommerce(**config: Any) -> Iterator[WooHandle]:
    with running(WooSimulator(WooSimConfig(**config)), WooHandle) as handle:
        yield handle

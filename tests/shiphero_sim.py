"""The ShipHero simulator on a real loopback port, with a builder of connectors against it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fenicia.connectors.shiphero import ShipheroCredentials, ShipheroSettings, ShipheroSourceConnector
from fenicia.connectors.shiphero.simulator import ShipheroSimConfig, ShipheroSimulator
from fenicia.core import netguard
from sourcekit import FAST, SimHandle, running

# ShipHero's throttle answers ask for waits of a second or two: let the tests wait them out in the call.
SHIPHERO_FAST = FAST | {"retry_wait_cap_seconds": 2.0}


class ShipheroHandle(SimHandle[ShipheroSimulator]):
    def connector(self, credentials: dict[str, Any] | None = None, **overrides: Any) -> ShipheroSourceConnector:
        settings = ShipheroSettings(**{"api_url": self.url, **SHIPHERO_FAST, **overrides})
        secrets = credentials if credentials is not None else {"refresh_token": self.sim.config.refresh_token}
        connector = ShipheroSourceConnector(settings, ShipheroCredentials(**secrets))
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        return connector


@contextmanager
def running_shiphero(**config: Any) -> Iterator[ShipheroHandle]:
    with running(ShipheroSimulator(ShipheroSimConfig(**config)), ShipheroHandle) as handle:
        yield handle

"""The ERPNext simulator on a real loopback port, with a builder of connectors against it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fenicia.connectors.erpnext import ErpnextCredentials, ErpnextSettings, ErpnextSourceConnector
from fenicia.connectors.erpnext.simulator import ErpnextSimConfig, ErpnextSimulator
from fenicia.core import netguard
from sourcekit import FAST, SimHandle, running


class ErpnextHandle(SimHandle[ErpnextSimulator]):
    def connector(self, secret: str | None = None, **overrides: Any) -> ErpnextSourceConnector:
        settings = ErpnextSettings(**{"url": self.url, **FAST, **overrides})
        credentials = ErpnextCredentials(
            api_key=self.sim.config.api_key, api_secret=secret if secret is not None else self.sim.config.api_secret
        )
        connector = ErpnextSourceConnector(settings, credentials)
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        return connector


@contextmanager
def running_erpnext(**config: Any) -> Iterator[ErpnextHandle]:
    with running(ErpnextSimulator(ErpnextSimConfig(**config)), ErpnextHandle) as handle:
        yield handle

"""The Odoo simulator on a real loopback port, with a builder of connectors against it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fenicia.connectors.odoo import OdooCredentials, OdooSettings, OdooSourceConnector
from fenicia.connectors.odoo.simulator import OdooSimConfig, OdooSimulator
from fenicia.core import netguard
from sourcekit import FAST, SimHandle, running


class OdooHandle(SimHandle[OdooSimulator]):
    def connector(self, api_key: str | None = None, **overrides: Any) -> OdooSourceConnector:
        values: dict[str, Any] = {"url": self.url, **FAST, **overrides}
        if values.get("protocol") == "jsonrpc":
            values.setdefault("database", "odoo")
            values.setdefault("login", self.sim.config.login)
        key = api_key if api_key is not None else self.sim.config.api_key
        connector = OdooSourceConnector(OdooSettings(**values), OdooCredentials(api_key=key))
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        return connector


@contextmanager
def running_odoo(**config: Any) -> Iterator[OdooHandle]:
    with running(OdooSimulator(OdooSimConfig(**config)), OdooHandle) as handle:
        yield handle

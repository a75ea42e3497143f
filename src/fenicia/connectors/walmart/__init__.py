"""Walmart Marketplace (US, /v3): orders in by polling every 15 minutes; ship, cancel, tracking and stock out."""

from __future__ import annotations

from pydantic import BaseModel

from fenicia.connectors.base import Capability, ChannelSpec, MemoryTokenStore, TokenStore
from fenicia.connectors.walmart.connector import CAPABILITIES, NO_WEBHOOKS, WalmartConnector
from fenicia.connectors.walmart.settings import WalmartCredentials, WalmartSettings
from fenicia.core.errors import ConfigError


def build(settings: BaseModel, credentials: BaseModel, tokens: TokenStore | None = None) -> WalmartConnector:
    """A connector for one seller account; the registry passes the models named in ``SPEC``.

    ``tokens`` keeps the 15-minute access token between runs and processes."""
    if not isinstance(settings, WalmartSettings):
        raise ConfigError("Walmart settings are of the wrong type")
    if not isinstance(credentials, WalmartCredentials):
        raise ConfigError("Walmart credentials are of the wrong type")
    return WalmartConnector(settings, credentials, tokens if tokens is not None else MemoryTokenStore())


SPEC = ChannelSpec(
    key="walmart",
    display_name="Walmart",
    settings_model=WalmartSettings,
    credentials_model=WalmartCredentials,
    capabilities=CAPABILITIES,
    default_poll_interval_seconds=900,
    webhook_topics=(),
    build=build,
    stock_batch_size=10_000,  # one inventory feed: Walmart allows 10 feeds an hour
    unsupported_reasons={Capability.WEBHOOKS: NO_WEBHOOKS},
)

__all__ = ["SPEC", "WalmartConnector", "WalmartCredentials", "WalmartSettings", "build"]

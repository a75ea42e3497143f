"""Amazon Selling Partner API: orders in by polling; mark shipped and stock out."""

from __future__ import annotations

from pydantic import BaseModel

from fenicia.connectors.amazon.connector import CAPABILITIES, UNSUPPORTED_REASONS, AmazonConnector
from fenicia.connectors.amazon.settings import AmazonCredentials, AmazonSettings
from fenicia.connectors.base import ChannelSpec, MemoryTokenStore, TokenStore
from fenicia.core.errors import ConfigError

POLL_INTERVAL_SECONDS = 900  # the product table: Amazon is polled every 15 minutes


def build(settings: BaseModel, credentials: BaseModel, tokens: TokenStore | None = None) -> AmazonConnector:
    """A connector for one seller account; the registry passes the models named in ``SPEC``.

    ``tokens`` keeps the LWA access token between runs and processes (the connection row)."""
    if not isinstance(settings, AmazonSettings):
        raise ConfigError("Amazon settings are of the wrong type")
    if not isinstance(credentials, AmazonCredentials):
        raise ConfigError("Amazon credentials are of the wrong type")
    return AmazonConnector(settings, credentials, tokens if tokens is not None else MemoryTokenStore())


SPEC = ChannelSpec(
    key="amazon",
    display_name="Amazon",
    settings_model=AmazonSettings,
    credentials_model=AmazonCredentials,
    capabilities=CAPABILITIES,
    default_poll_interval_seconds=POLL_INTERVAL_SECONDS,
    webhook_topics=(),
    build=build,
    stock_batch_size=10_000,  # one JSON_LISTINGS_FEED: createFeed allows one call per 2 min after a burst of 15
    unsupported_reasons=UNSUPPORTED_REASONS,
)

__all__ = ["SPEC", "AmazonConnector", "AmazonCredentials", "AmazonSettings", "build"]

"""TikTok Shop (Partner API 202309): orders in by signed webhooks and reconciling search polls; ship,
tracking and cancel on packages; stock per product."""

from __future__ import annotations

from pydantic import BaseModel

from fenicia.connectors.base import ChannelSpec, MemoryTokenStore, TokenStore
from fenicia.connectors.tiktok.connector import CAPABILITIES, TikTokConnector
from fenicia.connectors.tiktok.settings import TikTokCredentials, TikTokSettings
from fenicia.connectors.tiktok.webhooks import ORDER_TOPICS
from fenicia.core.errors import ConfigError

# Webhooks make it fast; an hourly search reconciles what a dropped notification missed [U, setting].
DEFAULT_POLL_INTERVAL_SECONDS = 3600


def build(settings: BaseModel, credentials: BaseModel, tokens: TokenStore | None = None) -> TikTokConnector:
    """A connector for one shop; the registry passes the models named in ``SPEC`` and the token store."""
    if not isinstance(settings, TikTokSettings):
        raise ConfigError("TikTok Shop settings are of the wrong type")
    if not isinstance(credentials, TikTokCredentials):
        raise ConfigError("TikTok Shop credentials are of the wrong type")
    return TikTokConnector(settings, credentials, tokens if tokens is not None else MemoryTokenStore())


SPEC = ChannelSpec(
    key="tiktok",
    display_name="TikTok Shop",
    settings_model=TikTokSettings,
    credentials_model=TikTokCredentials,
    capabilities=CAPABILITIES,
    default_poll_interval_seconds=DEFAULT_POLL_INTERVAL_SECONDS,
    webhook_topics=ORDER_TOPICS,
    build=build,
    unsupported_reasons={},
)

__all__ = ["SPEC", "TikTokConnector", "TikTokCredentials", "TikTokSettings", "build"]

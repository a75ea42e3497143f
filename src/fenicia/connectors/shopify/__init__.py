"""Shopify (Admin API: REST for orders and write-back, GraphQL for stock): orders in by polling and webhooks;
ship, cancel, tracking and stock out."""

from __future__ import annotations

from pydantic import BaseModel

from fenicia.connectors.base import ChannelSpec, TokenStore
from fenicia.connectors.shopify.connector import CAPABILITIES, ShopifyConnector
from fenicia.connectors.shopify.settings import ShopifyCredentials, ShopifySettings
from fenicia.connectors.shopify.webhooks import ORDER_TOPICS
from fenicia.core.errors import ConfigError


def build(settings: BaseModel, credentials: BaseModel, tokens: TokenStore | None = None) -> ShopifyConnector:
    """A connector for one store; the registry passes the models named in ``SPEC``.

    Shopify's offline access tokens do not expire, so the token store is not used."""
    if not isinstance(settings, ShopifySettings):
        raise ConfigError("Shopify settings are of the wrong type")
    if not isinstance(credentials, ShopifyCredentials):
        raise ConfigError("Shopify credentials are of the wrong type")
    return ShopifyConnector(settings, credentials)


SPEC = ChannelSpec(
    key="shopify",
    display_name="Shopify",
    settings_model=ShopifySettings,
    credentials_model=ShopifyCredentials,
    capabilities=CAPABILITIES,
    default_poll_interval_seconds=900,
    webhook_topics=ORDER_TOPICS,
    build=build,
    stock_batch_size=250,  # one inventorySetQuantities mutation (its own stock_batch_size setting splits further)
)

__all__ = ["SPEC", "ShopifyConnector", "ShopifyCredentials", "ShopifySettings", "build"]

"""Shopify inventory levels (REST Admin API) as an inventory source, through the Shopify channel's client."""

from __future__ import annotations

from fenicia.connectors.httpkit import source_spec
from fenicia.connectors.shopify_stock.connector import ShopifyStockConnector
from fenicia.connectors.shopify_stock.settings import ShopifyStockCredentials, ShopifyStockSettings

SOURCE_SPEC = source_spec(
    ShopifyStockConnector,
    ShopifyStockSettings,
    ShopifyStockCredentials,
    key="shopify_stock",
    display_name="Shopify inventory",
    kind="shop",
)
build = SOURCE_SPEC.build

__all__ = ["SOURCE_SPEC", "ShopifyStockConnector", "ShopifyStockCredentials", "ShopifyStockSettings", "build"]

"""WooCommerce (REST API v3, ``stock_quantity`` of products and variations) as an inventory source."""

from __future__ import annotations

from fenicia.connectors.httpkit import source_spec
from fenicia.connectors.woocommerce.connector import WoocommerceSourceConnector
from fenicia.connectors.woocommerce.settings import WoocommerceCredentials, WoocommerceSettings

SOURCE_SPEC = source_spec(
    WoocommerceSourceConnector,
    WoocommerceSettings,
    WoocommerceCredentials,
    key="woocommerce",
    display_name="WooCommerce",
    kind="shop",
)
build = SOURCE_SPEC.build

__all__ = ["SOURCE_SPEC", "WoocommerceCredentials", "WoocommerceSettings", "WoocommerceSourceConnector", "build"]

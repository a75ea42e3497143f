"""ShipHero (WMS, GraphQL ``warehouse_products``) as an inventory source."""

from __future__ import annotations

from fenicia.connectors.httpkit import source_spec
from fenicia.connectors.shiphero.connector import ShipheroSourceConnector
from fenicia.connectors.shiphero.settings import ShipheroCredentials, ShipheroSettings

SOURCE_SPEC = source_spec(
    ShipheroSourceConnector, ShipheroSettings, ShipheroCredentials, key="shiphero", display_name="ShipHero", kind="wms"
)
build = SOURCE_SPEC.build

__all__ = ["SOURCE_SPEC", "ShipheroCredentials", "ShipheroSettings", "ShipheroSourceConnector", "build"]

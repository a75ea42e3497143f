"""Odoo (JSON-2 API of Odoo 19+, or JSON-RPC of older servers) as an inventory source."""

from __future__ import annotations

from fenicia.connectors.httpkit import source_spec
from fenicia.connectors.odoo.connector import OdooSourceConnector
from fenicia.connectors.odoo.settings import OdooCredentials, OdooSettings

SOURCE_SPEC = source_spec(
    OdooSourceConnector, OdooSettings, OdooCredentials, key="odoo", display_name="Odoo", kind="erp"
)
build = SOURCE_SPEC.build

__all__ = ["SOURCE_SPEC", "OdooCredentials", "OdooSettings", "OdooSourceConnector", "build"]

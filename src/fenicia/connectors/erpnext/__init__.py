"""ERPNext / Frappe (REST API, ``Bin`` doctype) as an inventory source."""

from __future__ import annotations

from fenicia.connectors.erpnext.connector import ErpnextSourceConnector
from fenicia.connectors.erpnext.settings import ErpnextCredentials, ErpnextSettings
from fenicia.connectors.httpkit import source_spec

SOURCE_SPEC = source_spec(
    ErpnextSourceConnector, ErpnextSettings, ErpnextCredentials, key="erpnext", display_name="ERPNext", kind="erp"
)
build = SOURCE_SPEC.build

__all__ = ["SOURCE_SPEC", "ErpnextCredentials", "ErpnextSettings", "ErpnextSourceConnector", "build"]

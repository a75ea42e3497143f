"""``OdooSourceConnector``: one Odoo database read as an inventory source (``InventorySourceConnector``).

A full read walks every product with an Internal Reference; a delta (``cursor.updated_after``) reads the
products whose quants were written since, each with all its locations, so a row is never a partial sum.
Odoo deletes quants that drop to zero, which a delta cannot see: schedule full reads too (the engine's
nightly reconcile). Scope ``warehouse`` reads computed fields, which have no write date: always full.
A resumed read (``cursor.resume_token``) starts over (see ``httpkit.SnapshotSource``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from fenicia.connectors.base import LevelsCursor, LevelsPage
from fenicia.connectors.httpkit import SnapshotSource
from fenicia.connectors.odoo.client import OdooClient
from fenicia.connectors.odoo.settings import OdooCredentials, OdooSettings
from fenicia.connectors.odoo.stock import location_levels, quant_domain, warehouse_levels
from fenicia.core.errors import ConfigError

JSON2_MIN_MAJOR = 19
MAJOR_PATTERN = re.compile(r"(\d+)\.")


class OdooSourceConnector(SnapshotSource):
    """One Odoo database. Methods raise ``fenicia.core.errors`` classes only."""

    def __init__(self, settings: OdooSettings, credentials: OdooCredentials) -> None:
        super().__init__()
        self.settings = settings
        self.client = OdooClient(settings, credentials, self.private_urls_allowed)

    async def test_connection(self) -> str:
        """Counts the stock rows the user may read; on failure says exactly what is wrong."""
        try:
            count = await self.client.call("stock.quant", "search_count", domain=quant_domain(self.settings))
        except ConfigError as exc:
            if exc.details.get("status") == 404:
                raise await self._explain_not_found() from exc
            raise
        database = f" database '{self.settings.database}'" if self.settings.database else ""
        protocol = "JSON-2" if self.settings.protocol == "json2" else "JSON-RPC"
        return f"Connected to Odoo{database} over {protocol}: {count} stock records in internal locations"

    async def _explain_not_found(self) -> ConfigError:
        url = self.settings.url
        if self.settings.protocol == "jsonrpc":
            return ConfigError(
                f"No Odoo JSON-RPC endpoint at {url}/jsonrpc",
                resolution="Check the URL: the address you open Odoo at, without /odoo or /web at the end.",
            )
        version = await self.client.server_version()
        if version is None:
            return ConfigError(
                f"{url} does not answer like an Odoo server (no /json/2 API and no /web/version)",
                resolution="Check the URL: the address you open Odoo at, without /odoo or /web at the end.",
            )
        major = MAJOR_PATTERN.search(version)
        if major and int(major.group(1)) < JSON2_MIN_MAJOR:
            return ConfigError(
                f"The server runs Odoo {version}, which has no JSON-2 API (Odoo 19 or newer)",
                resolution="Set the protocol to JSON-RPC and fill in the database and login.",
            )
        if self.settings.database:
            return ConfigError(
                f"Odoo {version} at {url} has no database named '{self.settings.database}'",
                resolution="Set 'database' to the exact name shown in Odoo's database selector.",
            )
        return ConfigError(
            f"Odoo {version} at {url} hosts several databases and could not tell which one to use",
            resolution="Set 'database' to the name of the database to read.",
        )

    def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]:
        delta = cursor.updated_after is not None and self.settings.scope == "location"
        if self.settings.scope == "warehouse":
            batches = warehouse_levels(self.client, self.settings)
        else:
            batches = location_levels(self.client, self.settings, cursor.updated_after if delta else None)
        return self.snapshot_pages(batches, full=not delta, clock=self.client.http)

    async def aclose(self) -> None:
        await self.client.aclose()

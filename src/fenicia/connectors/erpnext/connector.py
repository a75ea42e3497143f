"""``ErpnextSourceConnector``: one ERPNext site read as an inventory source (``InventorySourceConnector``).

A full read lists every Bin; a delta (``cursor.updated_after``) lists the Bins whose ``modified`` is at or
after the cursor, converted to the site's time zone (Frappe stores local times without a zone). A Bin is
complete by itself (one item, one warehouse), so a delta row is never partial. A resumed read starts over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from fenicia.connectors.base import LevelsCursor, LevelsPage, StockLevel
from fenicia.connectors.erpnext.client import ErpnextClient
from fenicia.connectors.erpnext.settings import ErpnextCredentials, ErpnextSettings
from fenicia.connectors.erpnext.stock import frappe_datetime, read_levels
from fenicia.connectors.httpkit import SnapshotSource
from fenicia.core.errors import ConfigError, FeniciaError


class ErpnextSourceConnector(SnapshotSource):
    """One ERPNext site. Methods raise ``fenicia.core.errors`` classes only."""

    def __init__(self, settings: ErpnextSettings, credentials: ErpnextCredentials) -> None:
        super().__init__()
        self.settings = settings
        self.client = ErpnextClient(settings, credentials, self.private_urls_allowed)
        self._zone: str | None = settings.time_zone

    async def test_connection(self) -> str:
        """Who we are, that we may read Bin, and how many Bins there are; else exactly what is wrong."""
        try:
            user = await self.client.method("frappe.auth.get_logged_user")
        except ConfigError as exc:
            if exc.details.get("status") == 404:
                raise ConfigError(
                    f"No Frappe/ERPNext API at {self.settings.url} (404 at /api/method)",
                    resolution="Check the URL: the address you open ERPNext at, e.g. https://mycompany.erpnext.com.",
                ) from exc
            raise
        try:
            count = await self.client.method("frappe.client.get_count", doctype="Bin")
        except FeniciaError as exc:
            if exc.details.get("status") == 403:
                raise type(exc)(
                    f"The ERPNext user '{user}' may not read stock levels (Bin): {exc.message}",
                    resolution=exc.resolution,
                    status=403,
                ) from exc
            raise
        return f"Connected to ERPNext at {self.settings.url} as {user}: {count} stock rows (Bin)"

    def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]:
        full = cursor.updated_after is None
        return self.snapshot_pages(self._batches(cursor.updated_after), full=full, clock=self.client.http)

    async def _batches(self, updated_after: datetime | None) -> AsyncIterator[list[StockLevel]]:
        since = None if updated_after is None else frappe_datetime(updated_after, await self.site_zone())
        async for batch in read_levels(self.client, self.settings, since):
            yield batch

    async def site_zone(self) -> str:
        """The site's time zone: the setting, else asked once (``frappe.client.get_time_zone``)."""
        if self._zone is None:
            answer = await self.client.method("frappe.client.get_time_zone")
            zone = answer.get("time_zone") if isinstance(answer, dict) else None
            if not zone:
                raise ConfigError(
                    "ERPNext did not say its time zone, needed to read only changed stock",
                    resolution="Set 'time_zone' to the site's time zone (System Settings), e.g. Europe/Berlin.",
                )
            self._zone = str(zone)
        return self._zone

    async def aclose(self) -> None:
        await self.client.aclose()

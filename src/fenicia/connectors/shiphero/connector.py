"""``ShipheroSourceConnector``: one ShipHero account (or 3PL customer) read as an inventory source.

A full read follows the ``warehouse_products`` cursor to the end; a delta passes ``updated_from`` (the
cursor in UTC, floored to the second). A resumed read starts over. The access token is cached in memory
per connector instance (see ``client.py``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fenicia.connectors.base import LevelsCursor, LevelsPage
from fenicia.connectors.httpkit import SnapshotSource
from fenicia.connectors.shiphero.client import ShipheroClient
from fenicia.connectors.shiphero.settings import ShipheroCredentials, ShipheroSettings
from fenicia.connectors.shiphero.stock import ACCOUNT_QUERY, PROBE_QUERY, read_levels
from fenicia.core.errors import ConfigError


class ShipheroSourceConnector(SnapshotSource):
    """One ShipHero account. Methods raise ``fenicia.core.errors`` classes only."""

    def __init__(self, settings: ShipheroSettings, credentials: ShipheroCredentials) -> None:
        super().__init__()
        self.settings = settings
        self.client = ShipheroClient(settings, credentials, self.private_urls_allowed)

    async def test_connection(self) -> str:
        """Logs in, names the account, and proves warehouse products can be read."""
        account = ((await self.client.query(ACCOUNT_QUERY, {})).get("account") or {}).get("data") or {}
        if account.get("is_3pl") and not self.settings.customer_account_id:
            raise ConfigError(
                "This ShipHero account is a 3PL: stock is read per customer",
                resolution="Set 'customer_account_id' to the customer whose stock Fenicia should read.",
            )
        variables = {
            "customer_account_id": self.settings.customer_account_id,
            "warehouse_id": self.settings.warehouse_id,
        }
        await self.client.query(PROBE_QUERY, variables)
        who = account.get("email") or account.get("id") or "your account"
        customer = f", customer {self.settings.customer_account_id}" if self.settings.customer_account_id else ""
        return f"Connected to ShipHero as {who}{customer}: warehouse products can be read"

    def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]:
        batches = read_levels(self.client, self.settings, cursor.updated_after)
        return self.snapshot_pages(batches, full=cursor.updated_after is None, clock=self.client.http)

    async def aclose(self) -> None:
        await self.client.aclose()

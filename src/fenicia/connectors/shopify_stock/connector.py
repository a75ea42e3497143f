"""``ShopifyStockConnector``: a Shopify store's inventory levels read as an inventory source.

Reuses the Shopify channel's ``ShopifyClient`` (auth, pacing, retries, error mapping) and rewords its
"reconnect the channel" advice for a source. A full read walks every inventory item with the GraphQL Admin
API (available, committed, on hand per location); a delta reads the items whose levels changed since the
cursor (see ``stock.py``). A resumed read starts over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from fenicia.connectors.base import LevelsCursor, LevelsPage, StockLevel
from fenicia.connectors.httpkit import SnapshotSource
from fenicia.connectors.shopify_stock.client import RECONNECT, GuardedShopifyClient, graphql
from fenicia.connectors.shopify_stock.settings import ShopifyStockCredentials, ShopifyStockSettings
from fenicia.connectors.shopify_stock.stock import LEVELS_QUERY, Locations, read_levels
from fenicia.core.errors import AuthError, ConfigError, RemoteNotFound, TransientError


class ShopifyStockConnector(SnapshotSource):
    """One Shopify store as a stock source. Methods raise ``fenicia.core.errors`` classes only."""

    def __init__(self, settings: ShopifyStockSettings, credentials: ShopifyStockCredentials) -> None:
        super().__init__()
        self.settings = settings
        self.client = GuardedShopifyClient(
            settings.client_settings(), credentials.client_credentials(), self.private_urls_allowed
        )

    @asynccontextmanager
    async def _source_wording(self) -> AsyncIterator[None]:
        """Errors as a source owner reads them: what to fix in the source, where the host is."""
        try:
            yield
        except AuthError as exc:
            resolution = exc.resolution.replace("reconnect the channel", "update the source")
            if resolution == "Reconnect the channel in Settings.":
                resolution = RECONNECT
            raise AuthError(exc.message, resolution=resolution, **exc.details) from exc
        except TransientError as exc:
            if isinstance(exc.__cause__, httpx.ConnectError):
                host = urlsplit(self.settings.shop_url).netloc
                raise TransientError(f"Could not connect to Shopify at {host}", resolution=exc.resolution) from exc
            raise

    async def test_connection(self) -> str:
        """The store's name and locations, and proof that inventory can be read."""
        async with self._source_wording():
            locations = await self._locations()
            first = next(iter(locations.keys))
            await self.client.get("inventory_levels.json", {"location_ids": first, "limit": 1})
            probe = {"first": 1, "after": None, "query": None, "levels": locations.levels_per_item}
            await graphql(self.client, LEVELS_QUERY, probe)
            name = await self._shop_name()
        return f"Connected to Shopify store {name}: {len(locations.keys)} locations, inventory can be read"

    async def _shop_name(self) -> str:
        try:
            shop = (await self.client.get("shop.json")).body.get("shop")
        except RemoteNotFound:  # a sandbox without shop.json
            shop = None
        if isinstance(shop, dict) and shop.get("name"):
            return str(shop["name"])
        return urlsplit(self.settings.shop_url).netloc

    async def _locations(self) -> Locations:
        """Active locations (those chosen in the settings): id -> the key Fenicia names them by."""
        try:
            body = (await self.client.get("locations.json")).body
        except RemoteNotFound as exc:
            raise ConfigError(
                f"No Shopify Admin API at {self.settings.shop_url} (404 for locations.json)",
                resolution="Check the store's address, e.g. https://your-store.myshopify.com.",
            ) from exc
        wanted = set(self.settings.location_ids or ())
        chosen = {
            int(loc["id"]): str(loc["id"]) if self.settings.location_key == "id" else str(loc.get("name"))
            for loc in body.get("locations") or []
            if isinstance(loc, dict) and loc.get("active", True) and (not wanted or loc.get("id") in wanted)
        }
        if not chosen:
            raise ConfigError(
                "The Shopify store has no active location to read stock from"
                + (f" among {sorted(wanted)}" if wanted else ""),
                resolution="Check the location ids in the source's settings.",
            )
        return Locations(chosen, len(body.get("locations") or []))

    def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]:
        # ShopifyClient does not expose the Date header: snapshot_at is when the read began
        return self.snapshot_pages(self._batches(cursor.updated_after), full=cursor.updated_after is None, clock=None)

    async def _batches(self, updated_after: datetime | None) -> AsyncIterator[list[StockLevel]]:
        async with self._source_wording():
            locations = await self._locations()
            async for batch in read_levels(self.client, self.settings, locations, updated_after):
                yield batch

    async def aclose(self) -> None:
        await self.client.aclose()

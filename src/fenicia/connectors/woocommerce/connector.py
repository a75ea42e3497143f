"""``WoocommerceSourceConnector``: one WooCommerce shop read as an inventory source.

A full read lists every product and the variations of variable products; a delta reads products
modified since the cursor and, for every variable product, its variations modified since. Whether a sale
(which lowers stock) changes a product's modified date depends on the WooCommerce version [U]: keep a
periodic full read. A resumed read starts over.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from fenicia.connectors.base import LevelsCursor, LevelsPage
from fenicia.connectors.httpkit import SnapshotSource
from fenicia.connectors.woocommerce.client import WoocommerceClient
from fenicia.connectors.woocommerce.settings import WoocommerceCredentials, WoocommerceSettings
from fenicia.connectors.woocommerce.stock import read_levels
from fenicia.core.errors import AuthError, ConfigError
from fenicia.core.netguard import AddressRefused


class WoocommerceSourceConnector(SnapshotSource):
    """One WooCommerce shop. Methods raise ``fenicia.core.errors`` classes only."""

    def __init__(self, settings: WoocommerceSettings, credentials: WoocommerceCredentials) -> None:
        super().__init__()
        self.settings = settings
        self._credentials = credentials
        self.client = WoocommerceClient(settings, credentials, self.private_urls_allowed)

    async def test_connection(self) -> str:
        """The shop's name and product count; else exactly what is wrong."""
        try:
            index = await self.client.index()
        except AddressRefused:
            raise  # already says what to do
        except ConfigError as exc:
            raise ConfigError(
                f"No WordPress REST API at {self.settings.site_url}/wp-json/ ({exc.message})",
                resolution="Check the shop's address; WordPress needs pretty permalinks for /wp-json/.",
            ) from exc
        name = index.get("name") or self.settings.site_url
        if "wc/v3" not in (index.get("namespaces") or []):
            raise ConfigError(
                f"{name} runs WordPress without the WooCommerce REST API v3",
                resolution="Activate WooCommerce (3.5 or newer) on the site.",
            )
        try:
            page = await self.client.page("wc/v3/products", {"per_page": 1, "_fields": "id"})
        except AuthError as exc:
            raise await self._explain_auth(exc) from exc
        total = page.total if page.total is not None else len(page.items)
        return f"Connected to WooCommerce shop {name}: {total} products"

    async def _explain_auth(self, exc: AuthError) -> AuthError:
        """WooCommerce says "you cannot list resources" when it saw no key at all: find out why."""
        if exc.details.get("code") != "woocommerce_rest_cannot_view":
            return exc
        if self.settings.auth_method == "basic":
            query_auth = self.settings.model_copy(update={"auth_method": "query"})
            probe = WoocommerceClient(query_auth, self._credentials, self.private_urls_allowed)
            try:
                await probe.page("wc/v3/products", {"per_page": 1, "_fields": "id"})
                return AuthError(
                    "WooCommerce did not receive the key: the server drops the Authorization header",
                    resolution="Set the authentication method to 'query' (key in the URL), or fix the server.",
                )
            except AuthError:
                pass
            finally:
                await probe.aclose()
        if urlsplit(self.settings.site_url).scheme == "http":
            return AuthError(
                "WooCommerce ignored the key: over plain HTTP it only accepts OAuth 1.0a signatures",
                resolution="Use the shop's https:// address.",
            )
        return exc

    def fetch_levels(self, cursor: LevelsCursor) -> AsyncIterator[LevelsPage]:
        batches = read_levels(self.client, self.settings, cursor.updated_after)
        return self.snapshot_pages(batches, full=cursor.updated_after is None, clock=self.client.http)

    async def aclose(self) -> None:
        await self.client.aclose()

"""Reading a Shopify store's inventory and normalizing it to ``StockLevel`` (§A.8, §A.10).

Per inventory item (one per variant; it carries the SKU) and location Shopify keeps quantities by state:
``available`` (what Shopify sells from), ``committed`` (in open orders, not fulfilled yet) and ``on_hand``
(physically there: available + committed + unavailable). The GraphQL Admin API gives all three in one
query (``inventoryItems`` → ``inventoryLevels`` → ``quantities``), paged by cursor.

A full read walks every inventory item. A delta asks the REST API which levels changed since the cursor
(``inventory_levels.json`` with ``updated_at_min`` at the chosen locations, paged by ``Link``) and then
reads those items by id with the same GraphQL query, so a delta row is as complete as a full one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fenicia.connectors.base import StockLevel
from fenicia.connectors.shopify.client import ShopifyClient
from fenicia.connectors.shopify_stock.client import graphql
from fenicia.connectors.shopify_stock.settings import ShopifyStockSettings
from fenicia.core.errors import TransientError

JSON = dict[str, Any]
MAX_CONNECTION_SIZE = 250  # Shopify's largest `first`
COST_BUDGET = 900  # [U] Shopify refuses a query estimated above 1,000 points: items x (levels + 2) stays below
DEFAULT_TITLE = " - Default Title"

LEVELS_QUERY = """
query StockLevels($first: Int!, $after: String, $query: String, $levels: Int!) {
  inventoryItems(first: $first, after: $after, query: $query) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      sku
      tracked
      variant { displayName }
      inventoryLevels(first: $levels) {
        nodes {
          location { id }
          quantities(names: ["available", "committed", "on_hand"]) { name quantity }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Locations:
    """The chosen locations (id -> the key Fenicia names them by) and how many the store has in all."""

    keys: dict[int, str]
    total: int

    @property
    def levels_per_item(self) -> int:
        return max(1, min(self.total, MAX_CONNECTION_SIZE))


def numeric_id(gid: Any) -> int | None:
    """``gid://shopify/Location/123`` → 123."""
    tail = str(gid or "").rpartition("/")[2]
    return int(tail) if tail.isdigit() else None


def whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def to_levels(item: JSON, locations: dict[int, str]) -> list[StockLevel]:
    """One row per chosen location of a tracked inventory item with a SKU; none for the others."""
    sku = item.get("sku")
    if item.get("tracked") is not True or not isinstance(sku, str) or not sku:
        return []  # Shopify does not count this item's stock, or nothing names it
    name = str((item.get("variant") or {}).get("displayName") or "").removesuffix(DEFAULT_TITLE) or None
    rows = []
    for level in (item.get("inventoryLevels") or {}).get("nodes") or []:
        location = locations.get(numeric_id((level.get("location") or {}).get("id")) or 0)
        states = {q.get("name"): whole(q.get("quantity")) for q in level.get("quantities") or [] if isinstance(q, dict)}
        available = states.get("available")
        if location is None or available is None:
            continue
        on_hand, committed = states.get("on_hand"), states.get("committed")
        rows.append(
            StockLevel(
                code=sku, available=max(available, 0), location=location, on_hand=on_hand, reserved=committed, name=name
            )
        )
    return rows


def item_ids(levels: list[JSON]) -> set[int]:
    """The inventory items of a REST ``inventory_levels`` answer."""
    return {item for item in (whole(level.get("inventory_item_id")) for level in levels) if item}


def shopify_datetime(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def item_pages(
    client: ShopifyClient, locations: Locations, first: int, query: str | None = None
) -> AsyncIterator[list[StockLevel]]:
    """Rows of every inventory item (matching ``query``), one batch per GraphQL page."""
    variables: JSON = {"first": first, "after": None, "query": query, "levels": locations.levels_per_item}
    while True:
        connection = (await graphql(client, LEVELS_QUERY, variables)).get("inventoryItems") or {}
        yield [row for item in connection.get("nodes") or [] for row in to_levels(item, locations.keys)]
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage"):
            return
        if not page.get("endCursor"):
            raise TransientError("Shopify said more inventory items follow but gave no cursor")
        variables["after"] = page["endCursor"]


async def changed_items(
    client: ShopifyClient, settings: ShopifyStockSettings, locations: Locations, since: datetime
) -> list[int]:
    """The inventory items with a level at a chosen location updated since ``since``."""
    params = {
        "location_ids": ",".join(str(i) for i in locations.keys),
        "updated_at_min": shopify_datetime(since),
        "limit": settings.page_size,
    }
    found: set[int] = set()
    async for levels, _ in client.pages("inventory_levels.json", "inventory_levels", params):
        found |= item_ids(levels)
    return sorted(found)


async def read_levels(
    client: ShopifyClient, settings: ShopifyStockSettings, locations: Locations, updated_after: datetime | None
) -> AsyncIterator[list[StockLevel]]:
    """Every tracked item's rows (a full read), or those of the items changed since ``updated_after``."""
    per_page = max(1, min(settings.page_size, COST_BUDGET // (locations.levels_per_item + 2)))
    if updated_after is None:
        async for rows in item_pages(client, locations, per_page):
            yield rows
        return
    ids = await changed_items(client, settings, locations, updated_after)
    size = min(settings.items_per_call, per_page)
    for start in range(0, len(ids), size):
        chunk = ids[start : start + size]
        async for rows in item_pages(client, locations, len(chunk), " OR ".join(f"id:{i}" for i in chunk)):
            yield rows

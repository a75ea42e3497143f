"""Reading WooCommerce products and variations and normalizing them to ``StockLevel`` (§A.7, §A.10).

WooCommerce has one stock figure per product or variation: ``stock_quantity``, meaningful only where
``manage_stock`` is true. It is already net of orders (stock is reduced when an order is placed), so it is
imported as ``available``; there is no on-hand or reserved figure and no location. A variation whose
``manage_stock`` is ``"parent"`` shares its parent's stock, which the parent's own row carries.
Paging: ``page``/``per_page`` with ``X-WP-TotalPages``; deltas use ``modified_after`` (GMT).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fenicia.connectors.base import StockLevel
from fenicia.connectors.woocommerce.client import WoocommerceClient
from fenicia.connectors.woocommerce.settings import WoocommerceSettings

JSON = dict[str, Any]
PRODUCT_FIELDS = "id,name,sku,type,manage_stock,stock_quantity,date_modified_gmt"
VARIATION_FIELDS = "id,sku,manage_stock,stock_quantity,attributes,date_modified_gmt"
WOO_DATETIME = "%Y-%m-%dT%H:%M:%S"


def to_level(item: JSON, name: str | None) -> StockLevel | None:
    """A product or variation that manages its own stock and has a SKU; else None."""
    sku = item.get("sku")
    if item.get("manage_stock") is not True or not isinstance(sku, str) or not sku:
        return None
    quantity = item.get("stock_quantity")
    number = int(quantity) if isinstance(quantity, int | float) and not isinstance(quantity, bool) else 0
    return StockLevel(code=sku, available=max(number, 0), location=None, name=name)


def variation_name(parent: str | None, variation: JSON) -> str | None:
    options = [str(a.get("option")) for a in variation.get("attributes") or [] if isinstance(a, dict)]
    return f"{parent} - {', '.join(options)}" if parent and options else parent


def woo_datetime(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(WOO_DATETIME)


async def pages(client: WoocommerceClient, path: str, params: JSON, size: int) -> AsyncIterator[list[JSON]]:
    """Every page of a list, ordered by id, until ``X-WP-TotalPages`` (or a short page) says it is the last."""
    number = 1
    while True:
        page = await client.page(path, {**params, "per_page": size, "page": number, "orderby": "id", "order": "asc"})
        yield page.items
        done = number >= page.total_pages if page.total_pages is not None else len(page.items) < size
        if done:
            return
        number += 1


async def read_levels(
    client: WoocommerceClient, settings: WoocommerceSettings, updated_after: datetime | None
) -> AsyncIterator[list[StockLevel]]:
    """Products (changed since ``updated_after`` if given), then the variations of variable products.

    A variation can change without its parent's date changing, so a delta lists every variable product
    and asks each for its variations modified since the cursor.
    """
    since = {"modified_after": woo_datetime(updated_after), "dates_are_gmt": "true"} if updated_after else {}
    parents: list[JSON] = []
    async for items in pages(client, "wc/v3/products", {"_fields": PRODUCT_FIELDS, **since}, settings.page_size):
        yield [level for level in (to_level(item, item.get("name")) for item in items) if level]
        parents.extend(item for item in items if item.get("type") == "variable")
    if not settings.read_variations:
        return
    if updated_after is not None:
        parents = []
        params = {"_fields": "id,name,type", "type": "variable"}
        async for items in pages(client, "wc/v3/products", params, settings.page_size):
            parents.extend(items)
    for parent in parents:
        path = f"wc/v3/products/{parent['id']}/variations"
        async for items in pages(client, path, {"_fields": VARIATION_FIELDS, **since}, settings.page_size):
            names = (variation_name(parent.get("name"), item) for item in items)
            yield [level for level in (to_level(i, n) for i, n in zip(items, names, strict=True)) if level]

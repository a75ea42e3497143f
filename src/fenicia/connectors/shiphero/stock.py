"""Reading ShipHero ``warehouse_products`` and normalizing them to ``StockLevel`` (§A.5, §A.10).

One node is one SKU in one warehouse: ``on_hand`` is the physical count, ``allocated`` is owed to open
orders, ``available`` is what ShipHero itself pushes to stores (on hand - allocated, plus sell-ahead).
Paging is a GraphQL connection (``data(first:, after:)`` with ``pageInfo { hasNextPage endCursor }``);
``updated_from`` makes a delta. The SKU is kept as ShipHero holds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from fenicia.connectors.base import StockLevel
from fenicia.connectors.shiphero.client import ShipheroClient
from fenicia.connectors.shiphero.settings import ShipheroSettings
from fenicia.core.errors import TransientError

JSON = dict[str, Any]
SHIPHERO_DATETIME = "%Y-%m-%dT%H:%M:%S"  # UTC [U]

LEVELS_QUERY = """
query StockLevels($first: Int, $after: String, $updated_from: ISODateTime, $warehouse_id: String,
                  $customer_account_id: String, $active: Boolean) {
  warehouse_products(updated_from: $updated_from, warehouse_id: $warehouse_id,
                     customer_account_id: $customer_account_id, active: $active) {
    request_id
    complexity
    data(first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      edges {
        node {
          id sku warehouse_id warehouse_identifier on_hand allocated available backorder updated_at
          product { name }
        }
      }
    }
  }
}
"""

ACCOUNT_QUERY = """
query Account { account { request_id complexity data { id email is_3pl } } }
"""

PROBE_QUERY = """
query Probe($customer_account_id: String, $warehouse_id: String) {
  warehouse_products(customer_account_id: $customer_account_id, warehouse_id: $warehouse_id) {
    request_id
    complexity
    data(first: 1) { edges { node { id } } }
  }
}
"""


def whole(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def to_level(node: JSON, settings: ShipheroSettings) -> StockLevel | None:
    """One warehouse product as a row; None when it has no SKU or warehouse."""
    sku = node.get("sku")
    location = node.get("warehouse_id") if settings.location_key == "id" else node.get("warehouse_identifier")
    if not isinstance(sku, str) or not sku or not location:
        return None
    on_hand, allocated = whole(node.get("on_hand")), whole(node.get("allocated"))
    number = on_hand if settings.quantity_basis == "on_hand" else whole(node.get("available"))
    product = node.get("product")
    name = product.get("name") if isinstance(product, dict) else None
    return StockLevel(
        code=sku,
        available=max(number or 0, 0),
        location=str(location),
        on_hand=on_hand,
        reserved=allocated,
        name=str(name) if name else None,
    )


def shiphero_datetime(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(SHIPHERO_DATETIME)


def query_filters(settings: ShipheroSettings) -> JSON:
    variables: JSON = {"warehouse_id": settings.warehouse_id, "customer_account_id": settings.customer_account_id}
    if not settings.include_inactive:
        variables["active"] = True
    return variables


async def read_levels(
    client: ShipheroClient, settings: ShipheroSettings, updated_after: datetime | None
) -> AsyncIterator[list[StockLevel]]:
    """Every warehouse product (or those updated since), page after page along the cursor."""
    variables = {**query_filters(settings), "first": settings.page_size, "after": None}
    if updated_after is not None:
        variables["updated_from"] = shiphero_datetime(updated_after)
    while True:
        data = await client.query(LEVELS_QUERY, variables)
        connection = (data.get("warehouse_products") or {}).get("data")
        if not isinstance(connection, dict):
            raise TransientError("ShipHero's warehouse_products answer has no data")
        edges = connection.get("edges") or []
        nodes: list[JSON] = [
            edge["node"] for edge in edges if isinstance(edge, dict) and isinstance(edge.get("node"), dict)
        ]
        yield [level for level in (to_level(node, settings) for node in nodes) if level]
        page = connection.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            return
        variables["after"] = page["endCursor"]

"""Reading ERPNext ``Bin`` rows and normalizing them to ``StockLevel`` (inventory-sources.md §A.2, §A.10).

A Bin is one item in one (leaf) warehouse: ``actual_qty`` is on hand, ``reserved_qty`` is promised to
submitted Sales Orders. The safe number is ``actual_qty - reserved`` (the reserved fields are a setting);
``projected_qty`` adds expected supply and is never used. Paging: ``limit_start``/``limit_page_length``
ordered by ``name``. The SKU is ``item_code`` as ERPNext holds it; the location is the warehouse name.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fenicia.connectors.base import StockLevel
from fenicia.connectors.erpnext.client import ErpnextClient
from fenicia.connectors.erpnext.settings import ErpnextSettings

JSON = dict[str, Any]
BIN_FIELDS = ["name", "item_code", "warehouse", "actual_qty", "modified"]
FRAPPE_DATETIME = "%Y-%m-%d %H:%M:%S"  # site-local time, no zone
ITEM_NAME_CHUNK = 100  # codes per Item query: keeps the URL short
QUANTITY_DIGITS = 6


def number(value: Any) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0


def whole_down(value: float) -> int:
    return math.floor(round(value, QUANTITY_DIGITS))


def to_level(row: JSON, settings: ErpnextSettings, names: dict[str, str]) -> StockLevel | None:
    """One Bin as a row; None when it has no item code or warehouse."""
    code, warehouse = row.get("item_code"), row.get("warehouse")
    if not isinstance(code, str) or not code or not isinstance(warehouse, str) or not warehouse:
        return None
    actual = number(row.get("actual_qty"))
    reserved = sum(number(row.get(name)) for name in settings.reserved_fields)
    available = whole_down(actual) if settings.quantity_basis == "on_hand" else max(whole_down(actual - reserved), 0)
    return StockLevel(
        code=code,
        available=available,
        location=warehouse,
        on_hand=whole_down(actual),
        reserved=math.ceil(round(reserved, QUANTITY_DIGITS)),
        name=names.get(code),
    )


def frappe_datetime(moment: datetime, zone: str) -> str:
    """``moment`` as the site's local time text, floored to the second (overlap, never a gap)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(ZoneInfo(zone)).strftime(FRAPPE_DATETIME)


def bin_filters(settings: ErpnextSettings, modified_since: str | None) -> list[Any]:
    filters: list[Any] = []
    if settings.warehouses:
        filters.append(["Bin", "warehouse", "in", list(settings.warehouses)])
    if modified_since:
        filters.append(["Bin", "modified", ">=", modified_since])
    return filters


async def read_levels(
    client: ErpnextClient, settings: ErpnextSettings, modified_since: str | None
) -> AsyncIterator[list[StockLevel]]:
    """Every Bin (or those modified since), page by page, as rows."""
    fields = BIN_FIELDS + sorted(settings.reserved_fields)
    filters = bin_filters(settings, modified_since)
    start = 0
    while True:
        rows = await client.resource(
            "Bin", fields=fields, filters=filters, start=start, length=settings.page_size, order_by="name asc"
        )
        names = await item_names(client, rows) if settings.read_item_names else {}
        yield [level for level in (to_level(row, settings, names) for row in rows) if level]
        if len(rows) < settings.page_size:
            return
        start += len(rows)


async def item_names(client: ErpnextClient, rows: list[JSON]) -> dict[str, str]:
    """``item_code -> item_name`` for the items of these Bins (an Item's name is its code)."""
    codes = sorted({str(row["item_code"]) for row in rows if row.get("item_code")})
    names: dict[str, str] = {}
    for start in range(0, len(codes), ITEM_NAME_CHUNK):
        chunk = codes[start : start + ITEM_NAME_CHUNK]
        items = await client.resource(
            "Item",
            fields=["name", "item_name"],
            filters=[["Item", "name", "in", chunk]],
            start=0,
            length=len(chunk),
            order_by="name asc",
        )
        names.update({str(i["name"]): str(i["item_name"]) for i in items if i.get("name") and i.get("item_name")})
    return names

"""Reading stock from Odoo and normalizing it to ``StockLevel`` rows (inventory-sources.md §A.1, §A.10).

Scope ``location`` reads ``stock.quant`` (one row per product x location x lot x package x owner) in
internal locations and sums it per product and location; scope ``warehouse`` reads the computed
``qty_available``/``free_qty`` of ``product.product`` once per warehouse (``context={'warehouse': id}``).
The SKU is ``product.product.default_code``, kept exactly as Odoo holds it. Paging is offset/limit.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fenicia.connectors.base import StockLevel
from fenicia.connectors.odoo.client import OdooClient
from fenicia.connectors.odoo.settings import OdooSettings
from fenicia.core.errors import TransientError

JSON = dict[str, Any]
Sums = dict[tuple[int, str], list[float]]  # (product id, location key) -> [quantity, reserved]
PRODUCT_FIELDS = ["default_code", "name"]
QUANT_FIELDS = ["product_id", "location_id", "quantity", "reserved_quantity"]
WAREHOUSE_PRODUCT_FIELDS = ["default_code", "name", "qty_available", "free_qty"]
HAS_CODE: list[Any] = [["default_code", "!=", False]]
ODOO_DATETIME = "%Y-%m-%d %H:%M:%S"  # Odoo's datetime text: UTC, no zone, second precision
QUANTITY_DIGITS = 6  # float noise: 2.9999999 units is 3


@dataclass(frozen=True)
class Product:
    id: int
    code: str
    name: str | None


def whole_down(value: float) -> int:
    """Whole units, rounded down: a fraction of a unit is not sellable."""
    return math.floor(round(value, QUANTITY_DIGITS))


def whole_up(value: float) -> int:
    return math.ceil(round(value, QUANTITY_DIGITS))


def make_level(product: Product, location: str | None, on_hand: float, reserved: float, basis: str) -> StockLevel:
    """One row; ``available`` is what Fenicia imports: on hand - reserved (never below 0), or on hand."""
    available = whole_down(on_hand) if basis == "on_hand" else max(whole_down(on_hand - reserved), 0)
    return StockLevel(
        code=product.code,
        available=available,
        location=location,
        on_hand=whole_down(on_hand),
        reserved=whole_up(reserved),
        name=product.name,
    )


def odoo_datetime(moment: datetime) -> str:
    """Odoo's UTC text, floored to the second (a read from a little earlier only overlaps)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(ODOO_DATETIME)


def m2o(value: Any) -> tuple[int, str] | None:
    """A many2one value ``[id, display_name]`` (``false`` when empty)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int):
        return value[0], str(value[1])
    return None


def product_of(row: JSON) -> Product | None:
    code = row.get("default_code")
    if not isinstance(code, str) or not code or not isinstance(row.get("id"), int):
        return None
    name = row.get("name")
    return Product(int(row["id"]), code, str(name) if isinstance(name, str) else None)


def chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


async def pages(
    client: OdooClient, model: str, domain: list[Any], fields: list[str], settings: OdooSettings, **extra: Any
) -> AsyncIterator[list[JSON]]:
    """``search_read`` page after page (ordered by id) until a short page."""
    offset = 0
    while True:
        params = {"domain": domain, "fields": fields, "offset": offset, "limit": settings.page_size, "order": "id"}
        rows = await client.call(model, "search_read", **params, **extra)
        if not isinstance(rows, list):
            raise TransientError(f"Odoo's {model}.search_read answer is not a list")
        yield [row for row in rows if isinstance(row, dict)]
        if len(rows) < settings.page_size:
            return
        offset += len(rows)


def quant_domain(settings: OdooSettings, *extra: list[Any]) -> list[Any]:
    domain: list[Any] = [["location_id.usage", "=", "internal"]]
    if settings.location_ids:
        domain.append(["location_id", "child_of", list(settings.location_ids)])
    return domain + list(extra)


async def location_levels(
    client: OdooClient, settings: OdooSettings, updated_after: datetime | None
) -> AsyncIterator[list[StockLevel]]:
    """Rows per product and internal location; a delta reads every location of each product changed since."""
    batches = changed_products(client, settings, updated_after) if updated_after else all_products(client, settings)
    async for products in batches:
        yield await levels_for(client, settings, products)


async def all_products(client: OdooClient, settings: OdooSettings) -> AsyncIterator[list[Product]]:
    async for rows in pages(client, "product.product", HAS_CODE, PRODUCT_FIELDS, settings):
        products = [p for p in map(product_of, rows) if p is not None]
        for chunk in chunks(products, settings.product_chunk):
            yield chunk


async def changed_products(
    client: OdooClient, settings: OdooSettings, updated_after: datetime
) -> AsyncIterator[list[Product]]:
    """Products with a quant written since ``updated_after`` (quants carry ``write_date``)."""
    ids: set[int] = set()
    changed = quant_domain(settings, ["write_date", ">=", odoo_datetime(updated_after)])
    async for rows in pages(client, "stock.quant", changed, ["product_id"], settings):
        ids.update(ref[0] for ref in (m2o(row.get("product_id")) for row in rows) if ref)
    for chunk in chunks(sorted(ids), settings.product_chunk):
        domain = [["id", "in", chunk], *HAS_CODE]
        rows = await client.call("product.product", "search_read", domain=domain, fields=PRODUCT_FIELDS)
        yield [p for p in map(product_of, rows if isinstance(rows, list) else []) if p is not None]


async def levels_for(client: OdooClient, settings: OdooSettings, products: list[Product]) -> list[StockLevel]:
    """Every quant of ``products`` in internal locations, summed per product and location."""
    by_id = {p.id: p for p in products}
    sums: Sums = {}
    domain = quant_domain(settings, ["product_id", "in", sorted(by_id)])
    async for rows in pages(client, "stock.quant", domain, QUANT_FIELDS, settings):
        add_quants(sums, rows, settings)
    basis = settings.quantity_basis
    return [make_level(by_id[pid], loc, q, r, basis) for (pid, loc), (q, r) in sums.items() if pid in by_id]


def add_quants(sums: Sums, rows: list[JSON], settings: OdooSettings) -> None:
    """Adds quant rows (``search_read`` shape) to per product-and-location totals of quantity and reserved."""
    for row in rows:
        product, location = m2o(row.get("product_id")), m2o(row.get("location_id"))
        if product is None or location is None:
            continue
        key = (product[0], str(location[0]) if settings.location_key == "id" else location[1])
        total = sums.setdefault(key, [0.0, 0.0])
        total[0] += float(row.get("quantity") or 0)
        total[1] += float(row.get("reserved_quantity") or 0)


async def warehouse_levels(client: OdooClient, settings: OdooSettings) -> AsyncIterator[list[StockLevel]]:
    """Rows per product and warehouse from ``qty_available`` and ``free_qty`` in that warehouse's context."""
    domain = [["id", "in", list(settings.warehouse_ids)]] if settings.warehouse_ids else []
    warehouses = await client.call("stock.warehouse", "search_read", domain=domain, fields=["name"], order="id")
    for warehouse in warehouses if isinstance(warehouses, list) else []:
        key = str(warehouse["id"]) if settings.location_key == "id" else str(warehouse.get("name"))
        context = {"warehouse": warehouse["id"]}
        reads = pages(client, "product.product", HAS_CODE, WAREHOUSE_PRODUCT_FIELDS, settings, context=context)
        async for rows in reads:
            yield [level for level in (warehouse_level(row, key, settings) for row in rows) if level]


def warehouse_level(row: JSON, location: str, settings: OdooSettings) -> StockLevel | None:
    product = product_of(row)
    if product is None:
        return None
    on_hand = float(row.get("qty_available") or 0)
    free = float(row.get("free_qty") or 0)
    return make_level(product, location, on_hand, max(on_hand - free, 0.0), settings.quantity_basis)

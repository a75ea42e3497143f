"""Listings and stock writes for TikTok Shop (§5.5).

Listings come from ``POST /product/202309/products/search`` (one listing per SKU: its id, seller SKU and,
as ``inventory_ref``, the product id that stock writes address). Stock is written with
``POST /product/202309/products/{product_id}/inventory/update`` and ``{"skus": [{"id", "inventory":
[{"warehouse_id"?, "quantity"}]}]}``: the bulk form is one request per product carrying all its SKUs
(there is no cross-product bulk call [U]). ``quantity`` is absolute, 0 to 99999; only live SKUs accept it.
The answer's ``data.errors[]`` names the SKUs that failed.

TikTok Shop publishes no error code for "this product or SKU does not exist" (the codes in ``errors.py``
are [U]), so a refusal alone never says a listing is gone. A refused SKU (or every SKU of a product whose
whole request was refused as a bad request or an unknown record) is looked up with ``POST
/product/202309/inventory/search`` (``sku_ids``, [C] in the partner API's interfaces): a successful
answer that does not list the SKU under its product means it is gone from the shop, and the result is
``skipped`` with TikTok's words. When the search lists it, or fails itself, the refusal stays an error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog

from fenicia.connectors.base import ListingInfo, StockResult, StockUpdate
from fenicia.connectors.tiktok.client import JSON, TikTokClient
from fenicia.core.errors import ConflictError, FeniciaError, InvalidRecord, RemoteNotFound, ValidationFailed

log = structlog.get_logger(__name__)

MAX_QUANTITY = 99_999
INVENTORY_SEARCH_PATH = "/product/202309/inventory/search"
INVENTORY_SEARCH_MAX_SKUS = 600  # [C] "SKU ID list, with a length of up to 600"
LISTING_PAGE_SIZE = 100
# Failures that concern one product's request only; auth, rate-limit and network errors stop the batch.
ITEM_ERRORS = (RemoteNotFound, ValidationFailed, ConflictError, InvalidRecord)


async def list_listings(client: TikTokClient) -> AsyncIterator[list[ListingInfo]]:
    """Every SKU of every product, page by page."""
    page_token = ""
    while True:
        query: dict[str, Any] = {"page_size": LISTING_PAGE_SIZE}
        if page_token:
            query["page_token"] = page_token
        data = await client.post(client.settings.products_search_path, {}, query, idempotent=True)
        products = data.get("products") if isinstance(data, dict) else None
        yield [
            listing for product in products or [] if isinstance(product, dict) for listing in product_listings(product)
        ]
        page_token = str(data.get("next_page_token") or "") if isinstance(data, dict) else ""
        if not page_token:
            return


def product_listings(product: Mapping[str, Any]) -> list[ListingInfo]:
    listings = []
    for sku in product.get("skus") or []:
        if not isinstance(sku, dict) or not sku.get("id"):
            continue
        inventory = [i for i in sku.get("inventory") or [] if isinstance(i, dict)]
        counts = [int(i["quantity"]) for i in inventory if isinstance(i.get("quantity"), int)]
        listings.append(
            ListingInfo(
                external_id=str(sku["id"]),
                sku=str(sku.get("seller_sku")) if sku.get("seller_sku") else None,
                title=str(product.get("title") or ""),
                inventory_ref=str(product["id"]) if product.get("id") else None,
                quantity=sum(counts) if counts else None,
            )
        )
    return listings


async def set_stock(client: TikTokClient, items: list[StockUpdate]) -> list[StockResult]:
    """Absolute quantities, one request per product; results in the order of ``items``."""
    results: dict[int, StockResult] = {}
    by_product: dict[str, list[tuple[int, StockUpdate]]] = {}
    for index, item in enumerate(items):
        problem = _local_problem(item)
        if problem is not None:
            results[index] = StockResult(item.external_id, ok=False, error=problem)
        else:
            by_product.setdefault(str(item.inventory_ref), []).append((index, item))
    for product_id, group in by_product.items():
        for index, result in await _update_product(client, product_id, group):
            results[index] = result
    return [results[index] for index in range(len(items))]


def _local_problem(item: StockUpdate) -> str | None:
    if not item.inventory_ref or not item.inventory_ref.isdigit():
        return "No TikTok Shop product id for this listing"
    if not 0 <= item.quantity <= MAX_QUANTITY:
        return f"TikTok Shop takes quantities from 0 to {MAX_QUANTITY}, not {item.quantity}"
    return None


async def _update_product(
    client: TikTokClient, product_id: str, group: list[tuple[int, StockUpdate]]
) -> list[tuple[int, StockResult]]:
    body = {"skus": [{"id": item.external_id, "inventory": [_inventory(client, item)]} for _, item in group]}
    path = f"/product/202309/products/{product_id}/inventory/update"
    try:
        failed = sku_errors(await client.post(path, body, idempotent=True))
    except ITEM_ERRORS as exc:
        failed = {item.external_id: exc.message for _, item in group}
    gone = await missing_skus(client, product_id, list(failed)) if failed else set()
    return [(index, _result(item, product_id, failed.get(item.external_id), gone)) for index, item in group]


def _result(item: StockUpdate, product_id: str, error: str | None, gone: set[str]) -> StockResult:
    if error is None:
        return StockResult(item.external_id, ok=True)
    if item.external_id not in gone:
        return StockResult(item.external_id, ok=False, error=error)
    why = f"{error} (TikTok Shop's inventory search no longer lists SKU {item.external_id} in product {product_id})"
    return StockResult(item.external_id, ok=False, error=why, skipped=True)


async def missing_skus(client: TikTokClient, product_id: str, sku_ids: list[str]) -> set[str]:
    """The SKUs of ``sku_ids`` that inventory search does not list under ``product_id``; none when the
    search fails or answers something unreadable (then nobody can tell: the refusals stay errors)."""
    listed: set[str] = set()
    for start in range(0, len(sku_ids), INVENTORY_SEARCH_MAX_SKUS):
        chunk = sku_ids[start : start + INVENTORY_SEARCH_MAX_SKUS]
        try:
            data = await client.post(INVENTORY_SEARCH_PATH, {"sku_ids": chunk}, idempotent=True)
        except FeniciaError as exc:
            log.warning("tiktok.inventory_search_failed", product_id=product_id, error=exc.message)
            return set()
        found = listed_skus(data, product_id)
        if found is None:
            return set()
        listed |= found
    return set(sku_ids) - listed


def listed_skus(data: Any, product_id: str) -> set[str] | None:
    """SKU ids of ``product_id`` in an inventory search answer (``data.inventory[] = {product_id, skus[]}``)."""
    inventory = data.get("inventory") if isinstance(data, dict) else None
    if not isinstance(inventory, list):
        return None
    return {
        str(sku.get("id"))
        for entry in inventory
        if isinstance(entry, dict) and str(entry.get("product_id")) == product_id
        for sku in entry.get("skus") or []
        if isinstance(sku, dict) and sku.get("id")
    }


def _inventory(client: TikTokClient, item: StockUpdate) -> JSON:
    entry: JSON = {"quantity": item.quantity}
    if client.settings.warehouse_id:
        entry["warehouse_id"] = client.settings.warehouse_id
    return entry


def sku_errors(data: Any) -> dict[str, str]:
    """``data.errors[] = {code, message, detail: {sku_id, extra_errors[]}}`` → sku id → message."""
    errors = data.get("errors") if isinstance(data, dict) else None
    failed: dict[str, str] = {}
    for error in errors or []:
        if not isinstance(error, dict):
            continue
        detail = error.get("detail")
        sku_id = detail.get("sku_id") if isinstance(detail, dict) else None
        if sku_id:
            failed[str(sku_id)] = f"TikTok Shop refused the quantity: {error.get('message') or error.get('code')}"
    return failed

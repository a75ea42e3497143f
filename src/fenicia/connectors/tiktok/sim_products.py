"""Products in the simulated shop: search (paged), inventory search and the per-product inventory update (§5.5)."""

from __future__ import annotations

import base64
from typing import Any

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok.sim_models import JSON, SimError, Sku, bad_parameter
from fenicia.connectors.tiktok.sim_render import render_product
from fenicia.connectors.tiktok.sim_store import ShopStore

MAX_QUANTITY = 99_999
INVENTORY_SEARCH_MAX = {"sku_ids": 600, "product_ids": 100}  # [C] tts-partner-api InventorySearch
PRODUCT_STATUSES = frozenset(
    {"ALL", "DRAFT", "PENDING", "FAILED", "ACTIVATE", "SELLER_DEACTIVATED", "PLATFORM_DEACTIVATED", "FREEZE", "DELETED"}
)


def search_products(store: ShopStore, query: dict[str, str], body: Any) -> JSON:
    """Search Products: ``status`` and ``seller_skus`` filters, ``page_size`` up to 100, id order."""
    raw_size = query.get("page_size")
    if raw_size is None or not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
        raise bad_parameter("page_size is required and must be between 1 and 100")
    if not isinstance(body, dict):
        raise bad_parameter("The request body must be a JSON object")
    status = str(body.get("status") or "ALL")
    if status not in PRODUCT_STATUSES:
        raise bad_parameter(f"status {status!r} is not a product status")
    wanted = body.get("seller_skus")
    products = sorted(store.products.values(), key=lambda p: int(p.id))
    products = [
        p
        for p in products
        if (status == "ALL" or p.status == status) and (not wanted or any(s.seller_sku in wanted for s in p.skus))
    ]
    start = _decode(query.get("page_token"))
    page = [p for p in products if int(p.id) > start][: int(raw_size)]
    more = bool(page) and int(page[-1].id) < int(products[-1].id)
    config = store.config
    return {
        "products": [render_product(p, config.currency, config.warehouse_id) for p in page],
        "next_page_token": _encode(int(page[-1].id)) if more else "",
        "total_count": len(products),
    }


def search_inventory(store: ShopStore, body: Any) -> JSON:
    """Inventory Search: by ``sku_ids`` (up to 600; used when both are given) or ``product_ids`` (up to
    100). Ids the shop does not have are left out of the answer [U]."""
    if not isinstance(body, dict):
        raise bad_parameter("The request body must be a JSON object")
    key = "sku_ids" if body.get("sku_ids") else "product_ids"
    ids = body.get(key)
    if not isinstance(ids, list) or not ids:
        raise bad_parameter("sku_ids or product_ids is required")
    if len(ids) > INVENTORY_SEARCH_MAX[key]:
        raise bad_parameter(f"{key} takes at most {INVENTORY_SEARCH_MAX[key]} ids")
    wanted = {str(i) for i in ids}
    by_product: dict[str, list[JSON]] = {}
    for product in sorted(store.products.values(), key=lambda p: int(p.id)):
        for sku in product.skus:
            if (sku.id if key == "sku_ids" else product.id) in wanted:
                by_product.setdefault(product.id, []).append(_sku_stock(sku, store.config.warehouse_id))
    return {"inventory": [{"product_id": pid, "skus": skus} for pid, skus in by_product.items()]}


def _sku_stock(sku: Sku, warehouse_id: str) -> JSON:
    warehouse = {"warehouse_id": warehouse_id, "available_quantity": sku.quantity, "committed_quantity": 0}
    return {
        "id": sku.id,
        "seller_sku": sku.seller_sku,
        "total_available_quantity": sku.quantity,
        "total_committed_quantity": 0,
        "warehouse_inventory": [warehouse],
    }


def update_inventory(store: ShopStore, product_id: str, body: Any) -> JSON:
    """Absolute quantities for some SKUs of one product; per-SKU failures come back in ``errors``."""
    product = store.products.get(product_id)
    if product is None:
        raise SimError(codes.PRODUCT_NOT_FOUND, f"Product {product_id} does not exist.")
    skus = body.get("skus") if isinstance(body, dict) else None
    if not isinstance(skus, list) or not skus:
        raise bad_parameter("skus is required")
    errors: list[JSON] = []
    for entry in skus:
        problem = _apply(store, product_id, entry)
        if problem is not None:
            errors.append(problem)
    if len(errors) < len(skus):
        product.update_time = store.clock.next_after(product.update_time)
    return {"errors": errors} if errors else {}


def _apply(store: ShopStore, product_id: str, entry: Any) -> JSON | None:
    sku_id = str(entry.get("id")) if isinstance(entry, dict) else ""
    found = store.skus.get(sku_id)
    if found is None or found[0].id != product_id:
        return _sku_error(codes.PRODUCT_NOT_FOUND, f"SKU {sku_id} is not part of product {product_id}.", sku_id)
    product, sku = found
    inventory = entry.get("inventory")
    if not isinstance(inventory, list) or len(inventory) != 1 or not isinstance(inventory[0], dict):
        return _sku_error(codes.INVALID_PARAMETER, "inventory must hold one warehouse entry.", sku_id)
    item = inventory[0]
    quantity = item.get("quantity")
    warehouse = item.get("warehouse_id")
    if warehouse not in (None, store.config.warehouse_id):
        return _sku_error(codes.INVALID_PARAMETER, f"warehouse_id {warehouse} is not a warehouse of this shop.", sku_id)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
        return _sku_error(codes.INVALID_QUANTITY, "quantity must be between 0 and 99999.", sku_id)
    if product.status != "ACTIVATE":
        return _sku_error(codes.SKU_NOT_LIVE, "Only live SKUs can be updated.", sku_id)
    sku.quantity = quantity
    return None


def _sku_error(code: int, message: str, sku_id: str) -> JSON:
    return {"code": code, "message": message, "detail": {"sku_id": sku_id, "extra_errors": []}}


def _encode(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"p:{last_id}".encode()).decode()


def _decode(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        if not text.startswith("p:"):
            raise ValueError(text)
        return int(text[2:])
    except ValueError:
        raise bad_parameter("page_token is invalid") from None

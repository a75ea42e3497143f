"""Stock writes of the Shopify connector: absolute ``available`` quantities at one location.

``stock_api="graphql"`` (default) sends Shopify's bulk form, ``inventorySetQuantities``, with up to
``stock_batch_size`` items a call (channels.md §1.5); ``"rest"`` sends one ``inventory_levels/set.json``
per item (the legacy REST API). Either way each item gets its own ``StockResult``: an inventory item the
store no longer has, or no longer stocks at the location, is ``skipped``; other refusals of one item are
that item's error; whatever fails the whole call (auth, throttling, 5xx, a location gone) is raised.

GraphQL details that depend on the Admin API version: before 2026-01 the compare-and-set check is turned
off with ``ignoreCompareQuantity: true``; from 2026-01 with ``changeFromQuantity: null`` on each
quantity, and the call carries an ``@idempotent`` key (required from 2026-04). Whether Shopify applies the
rest of a call when some items fail is [U]: when the answer has no ``inventoryAdjustmentGroup`` the
remaining items are sent again without the failed ones (an absolute set is safe to repeat).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fenicia.connectors.base import StockResult, StockUpdate
from fenicia.connectors.shopify.client import JSON, ShopifyClient
from fenicia.connectors.shopify.settings import ShopifySettings
from fenicia.core.errors import (
    ConfigError,
    ConflictError,
    InvalidRecord,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

LocationCheck = Callable[[int], Awaitable[None]]  # raises ConfigError unless the location is still active

NO_REF = "No Shopify inventory item id for this listing"
# Per-item stock failures that concern that item only; auth, rate-limit and network errors stop the batch.
ITEM_ERRORS = (RemoteNotFound, ValidationFailed, ConflictError, InvalidRecord)
# A REST stock write to an inventory item the store no longer has (its variant or product was deleted):
# Shopify answers 404, which could also mean the location is gone (checked), or a 422 naming the item [U].
ITEM_GONE_PATTERN = re.compile(r"inventory item (does not exist|not found)", re.IGNORECASE)
# inventorySetQuantities user error codes meaning "this listing is not (stocked) in the store any more".
GONE_CODES = {
    "INVALID_INVENTORY_ITEM": "Inventory item does not exist in Shopify",
    "ITEM_NOT_STOCKED_AT_LOCATION": "Inventory item is not stocked at the Shopify location",
}
MODERN_VERSION = "2026-01"  # changeFromQuantity and @idempotent arrive; the old inputs go in 2026-04
ADJUSTMENT_FIELDS = "inventoryAdjustmentGroup { createdAt reason } userErrors { code field message }"
SET_QUANTITIES = (
    "mutation FeniciaSetStock($input: InventorySetQuantitiesInput!) {"
    f" inventorySetQuantities(input: $input) {{ {ADJUSTMENT_FIELDS} }} }}"
)
SET_QUANTITIES_KEYED = (
    "mutation FeniciaSetStock($input: InventorySetQuantitiesInput!, $key: String!) {"
    f" inventorySetQuantities(input: $input) @idempotent(key: $key) {{ {ADJUSTMENT_FIELDS} }} }}"
)


@dataclass(frozen=True)
class UserError:
    code: str
    message: str
    index: int | None  # which quantities[i] it names; None: the call as a whole


def gid(kind: str, value: int) -> str:
    return f"gid://shopify/{kind}/{value}"


def modern_api(api_version: str) -> bool:
    return api_version == "unstable" or api_version >= MODERN_VERSION


# -- GraphQL ---------------------------------------------------------------------------------------


async def set_stock_graphql(
    client: ShopifyClient, items: list[StockUpdate], location_id: int, check_location: LocationCheck
) -> list[StockResult]:
    """Every item's result, in order; items with an inventory item id go ``stock_batch_size`` a call."""
    results: dict[int, StockResult] = {}
    sendable: list[int] = []
    for index, item in enumerate(items):
        if item.inventory_ref and item.inventory_ref.isdigit():
            sendable.append(index)
        else:
            results[index] = StockResult(item.external_id, ok=False, error=NO_REF)
    size = client.settings.stock_batch_size
    for start in range(0, len(sendable), size):
        chunk = [items[i] for i in sendable[start : start + size]]
        outcomes = await _send_chunk(client, chunk, location_id, check_location)
        results.update(zip(sendable[start : start + size], outcomes, strict=True))
    return [results[index] for index in range(len(items))]


async def _send_chunk(
    client: ShopifyClient, chunk: list[StockUpdate], location_id: int, check_location: LocationCheck
) -> list[StockResult]:
    """One mutation for the chunk; if Shopify refused some items and applied nothing, the others again."""
    wanted: dict[int, int] = {}  # inventory item -> quantity (the last one given for an item twice)
    for item in chunk:
        wanted[int(str(item.inventory_ref))] = item.quantity
    errors: dict[int, UserError] = {}
    while pending := [ref for ref in wanted if ref not in errors]:
        payload = await _mutate(client, [(ref, wanted[ref]) for ref in pending], location_id)
        found = user_errors(payload)
        if not found:
            break
        await _check_call_errors(found, len(pending), location_id, check_location)
        errors.update((pending[e.index], e) for e in found if e.index is not None)
        if payload.get("inventoryAdjustmentGroup") is not None:
            break  # the call went through for every item it did not refuse
    return [_result(item, errors.get(int(str(item.inventory_ref))), location_id) for item in chunk]


async def _mutate(client: ShopifyClient, quantities: list[tuple[int, int]], location_id: int) -> JSON:
    settings = client.settings
    variables: JSON = {"input": set_quantities_input(settings, quantities, location_id)}
    document = SET_QUANTITIES
    if modern_api(settings.api_version):
        variables["key"] = str(uuid.uuid4())  # the same key for the in-call retries of this call
        document = SET_QUANTITIES_KEYED
    data = await client.graphql(document, variables, cost=settings.graphql_stock_cost)
    payload = data.get("inventorySetQuantities")
    if not isinstance(payload, dict):
        raise TransientError("Shopify's inventorySetQuantities answer has no payload")
    return payload


def set_quantities_input(settings: ShopifySettings, quantities: list[tuple[int, int]], location_id: int) -> JSON:
    """``InventorySetQuantitiesInput``: absolute ``available`` values, no compare-and-set check (Fenicia is
    the source of truth for what it pushes), in the form the connection's API version takes."""
    modern = modern_api(settings.api_version)
    rows: list[JSON] = []
    for ref, quantity in quantities:
        row: JSON = {
            "inventoryItemId": gid("InventoryItem", ref),
            "locationId": gid("Location", location_id),
            "quantity": quantity,
        }
        if modern:
            row["changeFromQuantity"] = None
        rows.append(row)
    body: JSON = {"name": "available", "reason": settings.stock_reason, "quantities": rows}
    if not modern:
        body["ignoreCompareQuantity"] = True
    return body


def user_errors(payload: JSON) -> list[UserError]:
    raw = payload.get("userErrors")
    return [_user_error(e) for e in raw if isinstance(e, dict)] if isinstance(raw, list) else []


def _user_error(raw: dict[str, Any]) -> UserError:
    return UserError(str(raw.get("code") or ""), str(raw.get("message") or "refused"), quantity_index(raw.get("field")))


def quantity_index(field: Any) -> int | None:
    """``["input", "quantities", "3", "inventoryItemId"]`` → 3."""
    if not isinstance(field, list) or "quantities" not in field:
        return None
    at = field.index("quantities") + 1
    value = str(field[at]) if at < len(field) else ""
    return int(value) if value.isdigit() else None


async def _check_call_errors(
    found: list[UserError], sent: int, location_id: int, check_location: LocationCheck
) -> None:
    """Raise when the refusal is the whole call's: an error naming no item (a bad reason, a bad name...)
    or a location that is not active any more."""
    general = [e for e in found if e.index is None or e.index >= sent]
    if general:
        detail = "; ".join(f"{e.message} ({e.code or 'no code'})" for e in general)
        raise ConfigError(
            f"Shopify refused the stock update: {detail}",
            resolution="Check the connection's stock settings (stock_reason, location_id, api_version).",
        )
    if any(e.code == "INVALID_LOCATION" for e in found):
        await check_location(location_id)


def _result(item: StockUpdate, error: UserError | None, location_id: int) -> StockResult:
    if error is None:
        return StockResult(item.external_id, ok=True)
    gone = GONE_CODES.get(error.code)
    if gone is not None:
        where = f" {location_id}" if error.code == "ITEM_NOT_STOCKED_AT_LOCATION" else ""
        return StockResult(item.external_id, ok=False, error=f"{gone}{where} ({error.message})", skipped=True)
    return StockResult(item.external_id, ok=False, error=f"Shopify refused the quantity: {error.message}")


# -- REST ------------------------------------------------------------------------------------------


async def set_stock_rest(
    client: ShopifyClient, items: list[StockUpdate], location_id: int, check_location: LocationCheck
) -> list[StockResult]:
    """One ``inventory_levels/set.json`` call per item (REST Admin API, legacy)."""
    return [await _set_one(client, item, location_id, check_location) for item in items]


async def _set_one(
    client: ShopifyClient, item: StockUpdate, location_id: int, check_location: LocationCheck
) -> StockResult:
    ref = item.inventory_ref
    if not ref or not ref.isdigit():
        return StockResult(item.external_id, ok=False, error=NO_REF)
    body = {"location_id": location_id, "inventory_item_id": int(ref), "available": item.quantity}
    try:
        await client.post("inventory_levels/set.json", body, idempotent=True)
    except RemoteNotFound as exc:
        await check_location(location_id)  # else the item is what is gone
        return StockResult(item.external_id, ok=False, error=exc.message, skipped=True)
    except ITEM_ERRORS as exc:
        gone = ITEM_GONE_PATTERN.search(exc.message) is not None
        return StockResult(item.external_id, ok=False, error=exc.message, skipped=gone)
    return StockResult(item.external_id, ok=True)

"""The seller's listings (items and their variations) and their sellable quantity.

Reading: ``/users/{seller}/items/search?search_type=scan`` (the scan mode pages past ML's 1,000-result
offset limit with a ``scroll_id``) gives item ids; ``/items?ids=`` (at most 20 ids) gives the items.
A listing is an item without variations (id ``MLB123``) or one variation (id ``MLB123:456``).

Writing: ``PUT /items/{id}`` ``{"available_quantity": n}``; for an item with variations one PUT carries
every variation (the bulk form): the changed ones with their new ``available_quantity``, the others
with only their ``id``, because ML drops variations missing from the list [U]. There is no multi-item
stock endpoint [U], so it is one PUT per item.

A listing gone from ML comes back ``skipped`` with ML's words: an item ML answers 404 (or 410) for on its
own address, ``/items/{id}`` (the documented not-found answer, reference §3.7; another seller's item is a
403 [S], so a 404 there is the item itself), or a variation the item, read just before the PUT, no longer
has. A closed item is not treated as gone: how ML answers a stock PUT to one is not documented [U], so
that refusal stays an error.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Mapping
from typing import Any

import structlog

from fenicia.connectors.base import ListingInfo, StockResult, StockUpdate
from fenicia.connectors.mercadolibre.client import JSON, MercadoLibreClient
from fenicia.core.errors import ConflictError, InvalidRecord, RemoteNotFound, TransientError, ValidationFailed

log = structlog.get_logger(__name__)

MULTIGET_MAX_IDS = 20
SCAN_PAGE_SIZE = 100
ITEM_FIELDS = "id,title,status,available_quantity,seller_custom_field,attributes,variations"
# Per-item failures that concern that item only; auth, rate-limit and network errors stop the batch.
ITEM_ERRORS = (RemoteNotFound, ValidationFailed, ConflictError, InvalidRecord)
Outcome = tuple[str | None, bool]  # per variation: why it was not set (None: it was), and whether it is gone


def listing_ref(item_id: str, variation_id: Any = None) -> str:
    return item_id if variation_id in (None, "", 0) else f"{item_id}:{variation_id}"


def split_ref(ref: str) -> tuple[str, str | None]:
    item_id, _, variation = ref.partition(":")
    if not item_id.isalnum():
        raise InvalidRecord(f"{ref!r} is not a MercadoLibre listing reference")
    return item_id, variation or None


def seller_sku(record: Mapping[str, Any]) -> str | None:
    """The SELLER_SKU attribute, else the older ``seller_custom_field``."""
    for attribute in record.get("attributes") or []:
        if isinstance(attribute, Mapping) and attribute.get("id") == "SELLER_SKU" and attribute.get("value_name"):
            return str(attribute["value_name"])
    custom = record.get("seller_custom_field")
    return str(custom) if custom not in (None, "") else None


def item_listings(item: Mapping[str, Any]) -> list[ListingInfo]:
    item_id, title = str(item.get("id")), str(item.get("title") or "")
    variations = [v for v in item.get("variations") or [] if isinstance(v, Mapping)]
    if not variations:
        quantity = item.get("available_quantity")
        ref = listing_ref(item_id)
        return [ListingInfo(ref, seller_sku(item), title, ref, quantity if isinstance(quantity, int) else None)]
    listings = []
    for variation in variations:
        ref = listing_ref(item_id, variation.get("id"))
        names = [str(a.get("value_name")) for a in variation.get("attribute_combinations") or [] if a.get("value_name")]
        quantity = variation.get("available_quantity")
        listings.append(
            ListingInfo(
                external_id=ref,
                sku=seller_sku(variation) or seller_sku(item),
                title=f"{title} - {' / '.join(names)}" if names else title,
                inventory_ref=ref,
                quantity=quantity if isinstance(quantity, int) else None,
            )
        )
    return listings


async def item_ids(client: MercadoLibreClient) -> AsyncIterator[list[str]]:
    """Batches of the seller's item ids, in scan mode."""
    path = f"/users/{client.settings.seller_id}/items/search"
    params: dict[str, Any] = {"search_type": "scan", "limit": SCAN_PAGE_SIZE}
    while True:
        body = await client.get(path, params)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise TransientError("MercadoLibre's items search answer has no 'results' list")
        if not results:
            return
        yield [str(item_id) for item_id in results]
        scroll = body.get("scroll_id")
        if not scroll:
            return
        params = {"search_type": "scan", "limit": SCAN_PAGE_SIZE, "scroll_id": scroll}


async def multiget(client: MercadoLibreClient, ids: list[str]) -> list[JSON]:
    """The items of ``ids`` (at most 20 per call); ones ML answers with an error code are skipped."""
    items: list[JSON] = []
    for start in range(0, len(ids), MULTIGET_MAX_IDS):
        chunk = ids[start : start + MULTIGET_MAX_IDS]
        answer = await client.get("/items", {"ids": ",".join(chunk), "attributes": ITEM_FIELDS})
        for entry in answer if isinstance(answer, list) else []:
            body = entry.get("body") if isinstance(entry, dict) else None
            if isinstance(entry, dict) and entry.get("code") == 200 and isinstance(body, dict):
                items.append(body)
            else:
                log.warning("mercadolibre.item_unreadable", code=entry.get("code") if isinstance(entry, dict) else None)
    return items


async def list_listings(client: MercadoLibreClient) -> AsyncIterator[list[ListingInfo]]:
    async for ids in item_ids(client):
        items = await multiget(client, ids)
        yield [listing for item in items for listing in item_listings(item)]


async def set_stock(client: MercadoLibreClient, updates: list[StockUpdate]) -> list[StockResult]:
    """Absolute ``available_quantity`` per listing: one PUT per item, all its variations in that PUT."""
    results: dict[int, StockResult] = {}
    plain: list[tuple[int, str, StockUpdate]] = []
    by_item: dict[str, dict[str, tuple[int, StockUpdate]]] = defaultdict(dict)
    for index, update in enumerate(updates):
        try:
            item_id, variation = split_ref(update.inventory_ref or update.external_id)
        except InvalidRecord as exc:
            results[index] = StockResult(update.external_id, ok=False, error=exc.message)
            continue
        if update.quantity < 0:
            results[index] = StockResult(update.external_id, ok=False, error="Quantity cannot be negative")
        elif variation is None:
            plain.append((index, item_id, update))
        else:
            by_item[item_id][variation] = (index, update)
    for index, item_id, update in plain:
        results[index] = await _put_quantity(client, item_id, update)
    if by_item:
        results.update(await _put_variations(client, by_item))
    return [results[index] for index in range(len(updates))]


async def _put_quantity(client: MercadoLibreClient, item_id: str, update: StockUpdate) -> StockResult:
    try:
        await client.put(f"/items/{item_id}", {"available_quantity": update.quantity})
    except ITEM_ERRORS as exc:
        gone = isinstance(exc, RemoteNotFound)  # the item's own address answered 404/410
        return StockResult(update.external_id, ok=False, error=exc.message, skipped=gone)
    return StockResult(update.external_id, ok=True)


async def _put_variations(
    client: MercadoLibreClient, by_item: dict[str, dict[str, tuple[int, StockUpdate]]]
) -> dict[int, StockResult]:
    items = {str(item.get("id")): item for item in await multiget(client, list(by_item))}
    results: dict[int, StockResult] = {}
    for item_id, wanted in by_item.items():
        item = items.get(item_id)
        if item is None:
            outcome = await _put_unread_item(client, item_id, wanted)
        else:
            outcome = await _put_item_variations(client, item, item_id, wanted)
        for variation, (index, update) in wanted.items():
            error, gone = outcome[variation]
            results[index] = StockResult(update.external_id, ok=error is None, error=error, skipped=gone)
    return results


async def _put_unread_item(
    client: MercadoLibreClient, item_id: str, wanted: dict[str, tuple[int, StockUpdate]]
) -> dict[str, Outcome]:
    """An item the multiget did not give (its entries carry no id to tell why): read on its own address,
    where a 404 means it is gone."""
    try:
        item = await client.get(f"/items/{item_id}")
    except ITEM_ERRORS as exc:
        return dict.fromkeys(wanted, (exc.message, isinstance(exc, RemoteNotFound)))
    if not isinstance(item, dict):
        return dict.fromkeys(wanted, (f"MercadoLibre sent no item {item_id}", False))
    return await _put_item_variations(client, item, item_id, wanted)


async def _put_item_variations(
    client: MercadoLibreClient, item: JSON, item_id: str, wanted: dict[str, tuple[int, StockUpdate]]
) -> dict[str, Outcome]:
    """One PUT with every variation of the item; per wanted variation, why not (None: done) and if gone."""
    known = [str(v.get("id")) for v in item.get("variations") or [] if isinstance(v, Mapping)]
    missing: dict[str, Outcome] = {
        variation: (f"Item {item_id} has no variation {variation}", True)
        for variation in wanted
        if variation not in known
    }
    body = [
        {"id": _id_value(vid), "available_quantity": wanted[vid][1].quantity}
        if vid in wanted
        else {"id": _id_value(vid)}
        for vid in known
    ]
    if len(missing) == len(wanted):
        return missing
    try:
        await client.put(f"/items/{item_id}", {"variations": body})
    except ITEM_ERRORS as exc:
        return dict.fromkeys(wanted, (exc.message, isinstance(exc, RemoteNotFound)))
    return {variation: missing.get(variation, (None, False)) for variation in wanted}


def _id_value(variation_id: str) -> int | str:
    return int(variation_id) if variation_id.isdigit() else variation_id

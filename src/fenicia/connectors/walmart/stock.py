"""Stock writes and listings: ``PUT /v3/inventory`` per SKU, the bulk inventory feed, ``GET /v3/items``.

Few SKUs go one call each (an absolute quantity, safe to repeat). From ``stock_bulk_threshold`` SKUs
on, they go in one inventory feed (``POST /v3/feeds?feedType=inventory``, spec 1.4, or
``MP_INVENTORY``, spec 1.5 with a ship node), uploaded as multipart JSON; the connector then watches
the feed (``GET /v3/feeds/{feedId}``) for up to ``feed_wait_seconds`` and reports each SKU's outcome.
A SKU the feed has not finished is reported as not done (the engine pushes it again later).

A SKU that is gone from Walmart comes back ``skipped`` with Walmart's words. The sign is the documented
404 ``CONTENT_NOT_FOUND`` (reference §4.7; ``URI_NOT_FOUND``, a bad address, is a settings error and
stops the batch) for the SKU itself: a PUT naming only the SKU answered with it, or, when the PUT also
named a ship node, ``GET /v3/inventory?sku=`` without the node answering it too (if that GET finds the
SKU, the 404 was about the node: ambiguous, so an error). Walmart documents no per-item ingestion code for
an unknown SKU in a feed, so a feed item's DATA_ERROR is checked with the same GET (at most
``GONE_CHECKS_MAX`` per feed); anything else stays an error.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import structlog

from fenicia.connectors.base import ListingInfo, StockResult, StockUpdate
from fenicia.connectors.walmart.client import Call, WalmartClient
from fenicia.core.errors import (
    ConflictError,
    FeniciaError,
    InvalidRecord,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

log = structlog.get_logger(__name__)

# Per-item failures that concern that item only; auth, rate-limit and network errors stop the batch.
ITEM_ERRORS = (RemoteNotFound, ValidationFailed, ConflictError, InvalidRecord)
DONE_FEED_STATUSES = frozenset({"PROCESSED", "ERROR"})
FEED_DETAIL_PAGE = 50  # Walmart returns at most 50 item statuses per feed status call
ITEMS_PAGE = 200
NOT_FOUND_CODE = "CONTENT_NOT_FOUND"  # [C] 404 code for a record Walmart does not have (also .GMP_*_API)
# Look-ups after one feed (10 s at the [U] 5/s inventory-read allowance): more DATA_ERRORs than this
# point to a problem with the feed, not to deleted items; past it they stay errors.
GONE_CHECKS_MAX = 50


def stock_sku(item: StockUpdate) -> str | None:
    sku = (item.inventory_ref or item.external_id or "").strip()
    return sku or None


def content_not_found(exc: RemoteNotFound) -> bool:
    """A 404 whose error code is ``CONTENT_NOT_FOUND`` (not a bare 404 from some gateway)."""
    codes = exc.details.get("codes") or []
    return any(str(code).startswith(NOT_FOUND_CODE) for code in codes)


def gone_result(item: StockUpdate, message: str | None, missing: str | None) -> StockResult:
    """``skipped`` with Walmart's words when it has no such SKU (``missing``), else the plain error."""
    if missing is None:
        return StockResult(item.external_id, ok=False, error=message)
    error = missing if not message or message == missing else f"{message}; {missing}"
    return StockResult(item.external_id, ok=False, error=error, skipped=True)


def quantity_body(sku: str, quantity: int) -> dict[str, Any]:
    return {"sku": sku, "quantity": {"unit": "EACH", "amount": max(quantity, 0)}}


def feed_body(items: list[tuple[str, int]], feed_type: str, ship_node: str | None) -> dict[str, Any]:
    """The feed file: spec 1.4 (``inventory``) or 1.5 (``MP_INVENTORY``, quantities per ship node)."""
    if feed_type == "MP_INVENTORY":
        rows = [
            {"sku": sku, "shipNodes": [{"shipNode": ship_node, "quantity": {"unit": "EACH", "amount": max(q, 0)}}]}
            for sku, q in items
        ]
        return {"inventoryHeader": {"version": "1.5"}, "inventory": rows}
    return {"InventoryHeader": {"version": "1.4"}, "Inventory": [quantity_body(sku, q) for sku, q in items]}


@dataclass
class FeedOutcome:
    """Per SKU: None when Walmart applied it, else why not; ``otherwise`` for SKUs the report omits;
    ``data_errors``: the SKUs whose own ingestion status is DATA_ERROR (maybe gone: checked)."""

    by_sku: dict[str, str | None]
    otherwise: str | None
    data_errors: set[str] = field(default_factory=set)


class StockWriter:
    def __init__(self, client: WalmartClient) -> None:
        self.client = client
        self.settings = client.settings

    async def set_stock(self, items: list[StockUpdate]) -> list[StockResult]:
        results: dict[int, StockResult] = {}
        valid: list[tuple[int, str, StockUpdate]] = []
        for index, item in enumerate(items):
            sku = stock_sku(item)
            if sku is None:
                results[index] = StockResult(item.external_id, ok=False, error="No Walmart SKU for this listing")
            else:
                valid.append((index, sku, item))
        if len(valid) >= self.settings.stock_bulk_threshold:
            results.update(await self._by_feeds(valid))
        else:
            for index, sku, item in valid:
                results[index] = await self._put_one(sku, item)
        return [results[i] for i in range(len(items))]

    async def _put_one(self, sku: str, item: StockUpdate) -> StockResult:
        params = {"sku": sku, **({"shipNode": self.settings.ship_node} if self.settings.ship_node else {})}
        try:
            await self.client.put("/v3/inventory", quantity_body(sku, item.quantity), params)
        except RemoteNotFound as exc:
            return await self._put_not_found(sku, item, exc)
        except ITEM_ERRORS as exc:
            return StockResult(item.external_id, ok=False, error=exc.message)
        return StockResult(item.external_id, ok=True)

    async def _put_not_found(self, sku: str, item: StockUpdate, exc: RemoteNotFound) -> StockResult:
        """A PUT answered 404: the SKU is gone when that is all the PUT named, or when a GET without the
        ship node cannot find it either; found that way, the node is what Walmart refused (an error)."""
        if not content_not_found(exc):
            return StockResult(item.external_id, ok=False, error=exc.message)
        node = self.settings.ship_node
        if not node:
            return gone_result(item, exc.message, exc.message)
        missing = await self.sku_missing(sku)
        if missing is None:
            error = f"{exc.message}; the SKU exists in Walmart, check ship node {node} in the connection's settings"
            return StockResult(item.external_id, ok=False, error=error)
        return gone_result(item, exc.message, missing)

    async def sku_missing(self, sku: str) -> str | None:
        """Walmart's 404 ``CONTENT_NOT_FOUND`` text for ``GET /v3/inventory?sku=`` (no ship node); None when
        it knows the SKU or the read failed otherwise (then nobody can tell: the refusal stays an error)."""
        try:
            await self.client.get("/v3/inventory", {"sku": sku})
        except RemoteNotFound as exc:
            return exc.message if content_not_found(exc) else None
        except FeniciaError as exc:
            log.warning("walmart.sku_lookup_failed", sku=sku, error=exc.message)
        return None

    async def _by_feeds(self, valid: list[tuple[int, str, StockUpdate]]) -> dict[int, StockResult]:
        results: dict[int, StockResult] = {}
        size = self.settings.feed_max_items
        for start in range(0, len(valid), size):
            chunk = valid[start : start + size]
            feed_id = await self.submit_feed([(sku, item.quantity) for _, sku, item in chunk])
            outcome = await self.feed_outcome(feed_id)
            gone = await self._gone_skus(outcome)
            for index, sku, item in chunk:
                error = outcome.by_sku.get(sku, outcome.otherwise)
                ok = StockResult(item.external_id, ok=True)
                results[index] = ok if error is None else gone_result(item, error, gone.get(sku))
        return results

    async def _gone_skus(self, outcome: FeedOutcome) -> dict[str, str]:
        """Of the SKUs the feed refused with a DATA_ERROR, those Walmart does not have: sku → its words."""
        gone: dict[str, str] = {}
        for sku in sorted(outcome.data_errors)[:GONE_CHECKS_MAX]:
            missing = await self.sku_missing(sku)
            if missing is not None:
                gone[sku] = missing
        return gone

    async def submit_feed(self, items: list[tuple[str, int]]) -> str:
        body = json.dumps(feed_body(items, self.settings.feed_type, self.settings.ship_node)).encode()
        params: dict[str, str] = {"feedType": self.settings.feed_type}
        if self.settings.ship_node and self.settings.feed_type == "inventory":
            params["shipNode"] = self.settings.ship_node
        files = {"file": ("inventory.json", body, "application/json")}
        answer = await self.client.call(Call("POST", "/v3/feeds", params=params, files=files))
        feed_id = answer.body.get("feedId")
        if not isinstance(feed_id, str) or not feed_id:
            raise TransientError("Walmart accepted the inventory feed but sent back no feedId")
        return feed_id

    async def feed_outcome(self, feed_id: str) -> FeedOutcome:
        """Waits (up to ``feed_wait_seconds``) for the feed, then reads what happened to each SKU."""
        deadline = time.monotonic() + self.settings.feed_wait_seconds
        path = f"/v3/feeds/{quote(feed_id, safe='')}"
        status = (await self.client.get(path)).body
        while status.get("feedStatus") not in DONE_FEED_STATUSES and time.monotonic() < deadline:
            await asyncio.sleep(self.settings.feed_poll_seconds)
            status = (await self.client.get(path)).body
        if status.get("feedStatus") not in DONE_FEED_STATUSES:
            return FeedOutcome({}, f"Walmart has not finished inventory feed {feed_id} yet")
        clean = not _int(status.get("itemsFailed")) and not _int(status.get("itemsProcessing"))
        if status.get("feedStatus") == "PROCESSED" and clean:
            return FeedOutcome({}, None)
        return await self._item_outcomes(path, status)

    async def _item_outcomes(self, path: str, status: Mapping[str, Any]) -> FeedOutcome:
        by_sku: dict[str, str | None] = {}
        data_errors: set[str] = set()
        offset, received = 0, _int(status.get("itemsReceived"))
        while offset < max(received, 1):
            params = {"includeDetails": "true", "offset": offset, "limit": FEED_DETAIL_PAGE}
            details = _item_statuses((await self.client.get(path, params)).body)
            by_sku.update((str(entry.get("sku")), _item_error(entry)) for entry in details)
            data_errors.update(str(e.get("sku")) for e in details if e.get("ingestionStatus") == "DATA_ERROR")
            if len(details) < FEED_DETAIL_PAGE:
                break
            offset += FEED_DETAIL_PAGE
        if status.get("feedStatus") == "ERROR":
            return FeedOutcome(by_sku, _feed_error(status))  # the whole file refused: no SKU is looked at
        return FeedOutcome(by_sku, "Walmart's feed report does not mention this SKU", data_errors)

    async def listings(self) -> AsyncIterator[list[ListingInfo]]:
        """``GET /v3/items`` page by page (``nextCursor``, default ``*``)."""
        cursor: Any = "*"
        seen = 0
        while True:
            body = (await self.client.get("/v3/items", {"limit": ITEMS_PAGE, "nextCursor": cursor})).body
            items = body.get("ItemResponse", body.get("itemResponse")) or []
            if not isinstance(items, list):
                raise TransientError("Walmart's items answer has no ItemResponse list")
            batch = [listing for item in items if (listing := item_listing(item)) is not None]
            if batch:
                yield batch
            seen += len(items)
            total, cursor = _int(body.get("totalItems")), body.get("nextCursor")
            if not items or not isinstance(cursor, str) or not cursor or (total and seen >= total):
                return


def _item_statuses(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    details = page.get("itemDetails")
    entries = details.get("itemIngestionStatus") if isinstance(details, Mapping) else None
    return [e for e in entries if isinstance(e, Mapping)] if isinstance(entries, list) else []


def _item_error(entry: Mapping[str, Any]) -> str | None:
    state = entry.get("ingestionStatus")
    if state == "SUCCESS":
        return None
    if state == "INPROGRESS":
        return "Walmart is still processing this SKU"
    errors = entry.get("ingestionErrors")
    listed = errors.get("ingestionError") if isinstance(errors, Mapping) else None
    texts = [str(e.get("description") or e.get("code")) for e in listed or [] if isinstance(e, Mapping)]
    return f"Walmart refused the quantity ({state}): {'; '.join(texts) or 'no detail'}"


def _feed_error(status: Mapping[str, Any]) -> str:
    errors = status.get("ingestionErrors")
    listed = errors.get("ingestionError") if isinstance(errors, Mapping) else None
    texts = [str(e.get("description") or e.get("code")) for e in listed or [] if isinstance(e, Mapping)]
    return f"Walmart refused the whole inventory feed: {'; '.join(texts) or 'no detail'}"


def item_listing(item: Any) -> ListingInfo | None:
    if not isinstance(item, Mapping) or not item.get("sku"):
        return None
    sku = str(item["sku"])
    return ListingInfo(external_id=sku, sku=sku, title=str(item.get("productName") or sku), inventory_ref=sku)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

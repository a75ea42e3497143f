"""Listings and stock: ``searchListingsItems`` to list, ``patchListingsItem`` or ``JSON_LISTINGS_FEED`` to set.

A few SKUs are patched one by one (``fulfillment_availability`` of the configured channel, 5 per
second); at ``feed_threshold_skus`` or more the whole batch goes as one JSON_LISTINGS_FEED
(createFeedDocument → upload to the presigned URL → createFeed), whose processing report tells which
messages failed. Quantities are absolute, so repeating a write is harmless.

A SKU Amazon refuses (an INVALID submission, a 404, or ERROR issues on its feed message) is looked up
with ``getListingsItem``: a 404 there ("The resource specified does not exist", [C] in the listings
model, for the connection's own seller id and marketplaces) means the listing is gone from Amazon, so the
result is ``skipped`` with Amazon's words. Amazon has no documented "unknown SKU" issue code for a patch
or a feed message, and it accepts a patch of offer attributes for a SKU it does not list (maintainer in
amzn/selling-partner-api-models#2797), so the refusal alone never decides it. When the lookup finds the
listing, or fails itself, the refusal stays an error.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import structlog

from fenicia.connectors.amazon.client import JSON, AmazonClient
from fenicia.connectors.amazon.settings import AmazonSettings
from fenicia.connectors.base import ListingInfo, StockResult, StockUpdate
from fenicia.core.errors import (
    ConflictError,
    FeniciaError,
    InvalidRecord,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

log = structlog.get_logger(__name__)

LISTINGS_PATH = "/listings/2021-08-01/items"
FEEDS_PATH = "/feeds/2021-06-30"
AVAILABILITY_PATH = "/attributes/fulfillment_availability"
FEED_CONTENT_TYPE = "application/json; charset=UTF-8"
FEED_MAX_MESSAGES = 25_000  # [C] listings-feed-schema-v2 messages maxItems
SEARCH_PAGE_SIZE = 20  # [C] searchListingsItems pageSize maximum
# Failures that concern one SKU only; auth, rate-limit and network errors stop the batch.
ITEM_ERRORS = (RemoteNotFound, ValidationFailed, ConflictError, InvalidRecord)
FINISHED_FEED_STATUSES = frozenset({"DONE", "FATAL", "CANCELLED"})
# getListingsItem look-ups after one feed (10 s at its default 5/s): more refused messages than this
# point to a problem with the feed, not to deleted listings; past it the refusals stay errors.
GONE_CHECKS_MAX = 50


def listing_path(settings: AmazonSettings, sku: str | None = None) -> str:
    base = f"{LISTINGS_PATH}/{quote(settings.seller_id, safe='')}"
    return base if sku is None else f"{base}/{quote(sku, safe='')}"


async def list_listings(client: AmazonClient) -> AsyncIterator[list[ListingInfo]]:
    settings = client.settings
    params: dict[str, Any] = {
        "marketplaceIds": ",".join(settings.marketplace_ids),
        "includedData": "summaries,fulfillmentAvailability",
        "pageSize": SEARCH_PAGE_SIZE,
    }
    while True:
        body = (await client.get("searchListingsItems", listing_path(settings), params)).body
        items = body.get("items")
        if not isinstance(items, list):
            raise TransientError("Amazon's searchListingsItems answer has no items list")
        yield [listing_info(item, settings) for item in items if isinstance(item, Mapping) and item.get("sku")]
        pagination = body.get("pagination")
        token = pagination.get("nextToken") if isinstance(pagination, Mapping) else None
        if not token:
            return
        params = {**params, "pageToken": str(token)}


def listing_info(item: Mapping[str, Any], settings: AmazonSettings) -> ListingInfo:
    """A listing is addressed by its SKU; its product type is what a stock patch must name."""
    summaries = [s for s in item.get("summaries") or [] if isinstance(s, Mapping)]
    summary = next((s for s in summaries if s.get("marketplaceId") in settings.marketplace_ids), None)
    summary = summary or (summaries[0] if summaries else {})
    availability = [a for a in item.get("fulfillmentAvailability") or [] if isinstance(a, Mapping)]
    mine = next((a for a in availability if a.get("fulfillmentChannelCode") == settings.fulfillment_channel_code), {})
    quantity = mine.get("quantity")
    return ListingInfo(
        external_id=str(item["sku"]),
        sku=str(item["sku"]),
        title=str(summary.get("itemName") or item["sku"]),
        inventory_ref=str(summary["productType"]) if summary.get("productType") else None,
        quantity=quantity if isinstance(quantity, int) and not isinstance(quantity, bool) else None,
    )


def availability_patch(settings: AmazonSettings, quantity: int) -> list[JSON]:
    value = [{"fulfillment_channel_code": settings.fulfillment_channel_code, "quantity": quantity}]
    return [{"op": settings.stock_patch_op, "path": AVAILABILITY_PATH, "value": value}]


async def set_stock(client: AmazonClient, items: list[StockUpdate]) -> list[StockResult]:
    """Absolute sellable quantity per SKU: patches for a few, JSON_LISTINGS_FEED for many."""
    refused = {item.external_id: "Quantity cannot be negative" for item in items if item.quantity < 0}
    valid = [item for item in items if item.quantity >= 0]
    if len(valid) >= client.settings.feed_threshold_skus:
        results = []
        for start in range(0, len(valid), FEED_MAX_MESSAGES):
            results += await submit_feed(client, valid[start : start + FEED_MAX_MESSAGES])
    else:
        results = [await patch_one(client, item) for item in valid]
    by_id = {result.external_id: result for result in results}
    return [by_id.get(i.external_id) or StockResult(i.external_id, False, refused.get(i.external_id)) for i in items]


async def patch_one(client: AmazonClient, item: StockUpdate) -> StockResult:
    settings = client.settings
    body = {
        "productType": item.inventory_ref or settings.default_product_type,
        "patches": availability_patch(settings, item.quantity),
    }
    params = {"marketplaceIds": ",".join(settings.marketplace_ids), "issueLocale": settings.issue_locale}
    try:
        answer = await client.call(
            "patchListingsItem",
            "PATCH",
            listing_path(settings, item.external_id),
            params=params,
            json=body,
            idempotent=True,
        )
    except RemoteNotFound as exc:
        return await gone_or_error(client, StockResult(item.external_id, ok=False, error=exc.message))
    except ITEM_ERRORS as exc:
        return StockResult(item.external_id, ok=False, error=exc.message)
    result = submission_result(item.external_id, answer.body)
    return result if result.ok else await gone_or_error(client, result)


async def gone_or_error(client: AmazonClient, refused: StockResult) -> StockResult:
    """The refusal, marked ``skipped`` when getListingsItem says Amazon has no such listing any more."""
    missing = await listing_missing(client, refused.external_id)
    if missing is None:
        return refused
    error = f"{refused.error}; {missing}" if refused.error else missing
    return StockResult(refused.external_id, ok=False, error=error, skipped=True)


async def listing_missing(client: AmazonClient, sku: str) -> str | None:
    """Amazon's 404 text when the seller has no listing ``sku`` in the connection's marketplaces; None when
    it has one or the lookup itself failed (then nobody can tell, and the refusal stays an error)."""
    settings = client.settings
    params = {"marketplaceIds": ",".join(settings.marketplace_ids), "includedData": "summaries"}
    try:
        await client.get("getListingsItem", listing_path(settings, sku), params)
    except RemoteNotFound as exc:
        return exc.message
    except FeniciaError as exc:
        log.warning("amazon.listing_lookup_failed", sku=sku, error=exc.message)
    return None


def submission_result(sku: str, body: Mapping[str, Any]) -> StockResult:
    """``ListingsItemSubmissionResponse``: ACCEPTED (or VALID) with no ERROR issue is a success."""
    errors = [i for i in body.get("issues") or [] if isinstance(i, Mapping) and i.get("severity") == "ERROR"]
    if body.get("status") in ("ACCEPTED", "VALID") and not errors:
        return StockResult(sku, ok=True)
    text = "; ".join(str(i.get("message") or i.get("code")) for i in errors) or f"status {body.get('status')}"
    return StockResult(sku, ok=False, error=f"Amazon refused the stock update: {text}")


def feed_document(settings: AmazonSettings, items: list[StockUpdate]) -> JSON:
    """A JSON_LISTINGS_FEED (schema v2): one PATCH message per SKU, message ids 1..n."""
    messages = [
        {
            "messageId": number,
            "sku": item.external_id,
            "operationType": "PATCH",
            "productType": item.inventory_ref or settings.default_product_type,
            "patches": availability_patch(settings, item.quantity),
        }
        for number, item in enumerate(items, start=1)
    ]
    header = {"sellerId": settings.seller_id, "version": "2.0", "issueLocale": settings.issue_locale}
    return {"header": header, "messages": messages}


async def submit_feed(client: AmazonClient, items: list[StockUpdate]) -> list[StockResult]:
    settings = client.settings
    content = json.dumps(feed_document(settings, items)).encode()
    spec = {"contentType": FEED_CONTENT_TYPE}
    document = await client.call("createFeedDocument", "POST", f"{FEEDS_PATH}/documents", json=spec, idempotent=True)
    doc_id, url = document.body.get("feedDocumentId"), document.body.get("url")
    if not isinstance(doc_id, str) or not isinstance(url, str):
        raise TransientError("Amazon's createFeedDocument answer has no document id or upload URL")
    await client.upload(url, content, FEED_CONTENT_TYPE)
    feed = {"feedType": "JSON_LISTINGS_FEED", "marketplaceIds": settings.marketplace_ids, "inputFeedDocumentId": doc_id}
    created = await client.call("createFeed", "POST", f"{FEEDS_PATH}/feeds", json=feed, idempotent=False)
    feed_id = created.body.get("feedId")
    if not isinstance(feed_id, str):
        raise TransientError("Amazon's createFeed answer has no feed id")
    log.info("amazon.stock_feed_submitted", feed_id=feed_id, skus=len(items))
    return await feed_results(client, feed_id, items)


async def feed_results(client: AmazonClient, feed_id: str, items: list[StockUpdate]) -> list[StockResult]:
    """Waits (up to ``feed_wait_seconds``) for the processing report and reads each message's fate."""
    feed = await wait_for_feed(client, feed_id)
    status = feed.get("processingStatus")
    if status not in FINISHED_FEED_STATUSES:
        log.warning("amazon.stock_feed_still_processing", feed_id=feed_id, status=status)
        return [StockResult(item.external_id, ok=True) for item in items]  # accepted; Amazon applies it later
    report = await read_report(client, feed.get("resultFeedDocumentId"))
    results = results_from_report(items, report, str(status))
    general, _ = report_problems(report, str(status))
    return results if general else await confirm_gone(client, results)


async def confirm_gone(client: AmazonClient, results: list[StockResult]) -> list[StockResult]:
    """Each SKU refused in its own feed message is looked up (at most ``GONE_CHECKS_MAX``)."""
    confirmed, checks = [], 0
    for result in results:
        if not result.ok and checks < GONE_CHECKS_MAX:
            checks += 1
            result = await gone_or_error(client, result)
        confirmed.append(result)
    return confirmed


async def wait_for_feed(client: AmazonClient, feed_id: str) -> JSON:
    deadline = time.monotonic() + client.settings.feed_wait_seconds
    while True:
        feed = (await client.get("getFeed", f"{FEEDS_PATH}/feeds/{quote(feed_id, safe='')}")).body
        if feed.get("processingStatus") in FINISHED_FEED_STATUSES or time.monotonic() >= deadline:
            return feed
        await asyncio.sleep(min(client.settings.feed_poll_interval_seconds, max(deadline - time.monotonic(), 0)))


async def read_report(client: AmazonClient, document_id: Any) -> JSON:
    if not isinstance(document_id, str) or not document_id:
        return {}
    document = (await client.get("getFeedDocument", f"{FEEDS_PATH}/documents/{quote(document_id, safe='')}")).body
    url = document.get("url")
    if not isinstance(url, str):
        raise TransientError("Amazon's getFeedDocument answer has no URL")
    raw = await client.download(url)
    if document.get("compressionAlgorithm") == "GZIP":
        raw = gzip.decompress(raw)
    try:
        report = json.loads(raw)
    except ValueError:
        raise TransientError("Amazon's feed processing report is not JSON") from None
    return report if isinstance(report, dict) else {}


def results_from_report(items: list[StockUpdate], report: Mapping[str, Any], status: str) -> list[StockResult]:
    """Messages with an ERROR issue failed; an ERROR with no message id (or a FATAL feed) fails all."""
    general, by_message = report_problems(report, status)
    results = []
    for number, item in enumerate(items, start=1):
        problems = general + by_message.get(number, [])
        error = f"Amazon refused the stock update: {'; '.join(problems)}" if problems else None
        results.append(StockResult(item.external_id, ok=not problems, error=error))
    return results


def report_problems(report: Mapping[str, Any], status: str) -> tuple[list[str], dict[int, list[str]]]:
    """The processing report's ERROR texts: those of the whole feed, and those per message id."""
    by_message: dict[int, list[str]] = {}
    general: list[str] = []
    for issue in report.get("issues") or []:
        if not isinstance(issue, Mapping) or issue.get("severity") != "ERROR":
            continue
        text = str(issue.get("message") or issue.get("code") or "error")
        number = issue.get("messageId")
        if isinstance(number, int):
            by_message.setdefault(number, []).append(text)
        else:
            general.append(text)
    if status != "DONE" and not general:
        general.append(f"Amazon could not process the stock feed ({status})")
    return general, by_message

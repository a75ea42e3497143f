"""The simulated bulk inventory feed: ``POST /v3/feeds?feedType=inventory|MP_INVENTORY`` and its status.

A feed is a multipart upload of one JSON file (spec 1.4 ``InventoryHeader``/``Inventory`` or spec 1.5
``inventoryHeader``/``inventory`` with ship nodes). It is accepted at once (``feedId``), then goes
RECEIVED → INPROGRESS → PROCESSED (or ERROR for a file Walmart cannot read) as the simulator's clock
passes ``feed_processing_s``; quantities are applied when it is processed. ``GET /v3/feeds/{feedId}``
reports counts and, with ``includeDetails=true``, per-SKU ingestion statuses 50 at a time.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fenicia.connectors.walmart.sim_models import ApiError, FeedItem, SimFeed

if TYPE_CHECKING:
    from fenicia.connectors.walmart.simulator import WalmartSimulator

FEED_TYPES = ("inventory", "MP_INVENTORY")
DETAIL_LIMIT_MAX = 50


async def submit_feed(request: Request, sim: WalmartSimulator) -> Response:
    feed_type = request.query_params.get("feedType")
    if feed_type not in FEED_TYPES:
        raise ApiError(
            400, "INVALID_REQUEST_PARAM.GMP_FEED_API", "feedType must be inventory or MP_INVENTORY", field="feedType"
        )
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE.GMP_FEED_API", "Feeds are uploaded as multipart/form-data")
    upload = (await request.form()).get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "MISSING_REQUEST_PARAM.GMP_FEED_API", "The feed file is missing", field="file")
    raw = await upload.read()
    request.state.logged_body = {"feedType": feed_type, "bytes": len(raw)}
    if len(raw) > sim.config.feed_max_bytes:
        raise ApiError(413, "REQUEST_ENTITY_TOO_LARGE.GMP_FEED_API", "The feed file is too large", category="REQUEST")
    feed_id = f"{uuid.uuid4().hex.upper()}@AQMBAQA"
    feed = SimFeed(feed_id, feed_type, sim.clock.now_s(), [])
    try:
        feed.items = _items(json.loads(raw), feed_type, sim)
    except (ValueError, TypeError) as exc:
        feed.error = f"The feed file could not be read: {exc}"
    sim.feeds[feed_id] = feed
    return JSONResponse({"feedId": feed_id})


def _items(data: Any, feed_type: str, sim: WalmartSimulator) -> list[FeedItem]:
    if feed_type == "inventory":
        header, rows = data.get("InventoryHeader"), data.get("Inventory")
        version = "1.4"
    else:
        header, rows = data.get("inventoryHeader"), data.get("inventory")
        version = "1.5"
    if not isinstance(header, dict) or header.get("version") != version or not isinstance(rows, list):
        raise ValueError(f"expected a version {version} inventory feed")
    return [_item(row, feed_type, sim) for row in rows]


def _item(row: Any, feed_type: str, sim: WalmartSimulator) -> FeedItem:
    sku = str(row.get("sku") or "") if isinstance(row, dict) else ""
    quantity = row.get("quantity") if isinstance(row, dict) else None
    if feed_type == "MP_INVENTORY" and isinstance(row, dict):
        nodes = row.get("shipNodes")
        node = nodes[0] if isinstance(nodes, list) and nodes and isinstance(nodes[0], dict) else {}
        quantity = node.get("quantity")
    amount = quantity.get("amount") if isinstance(quantity, dict) else None
    if sku not in sim.store.items:
        return FeedItem(sku, None, f"SKU {sku or '(empty)'} is not in the seller's catalog")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        return FeedItem(sku, None, f"Invalid quantity {amount!r}")
    return FeedItem(sku, amount)


def state_of(feed: SimFeed, sim: WalmartSimulator) -> str:
    """Moves the feed along the clock; applies its quantities once when processed."""
    elapsed = sim.clock.now_s() - feed.submitted_s
    if elapsed < sim.config.feed_processing_s / 2:
        return "RECEIVED"
    if elapsed < sim.config.feed_processing_s:
        return "INPROGRESS"
    if feed.error:
        return "ERROR"
    if not feed.applied:
        for item in feed.items:
            if item.error is None and item.amount is not None:
                sim.store.items[item.sku].quantity = item.amount
        feed.applied = True
    return "PROCESSED"


def _summary(feed: SimFeed, state: str) -> dict[str, Any]:
    failed = sum(1 for i in feed.items if i.error) if state == "PROCESSED" else 0
    processing = len(feed.items) if state in ("RECEIVED", "INPROGRESS") else 0
    summary: dict[str, Any] = {
        "feedId": feed.feed_id,
        "feedStatus": state,
        "feedSubmissionDate": int(feed.submitted_s * 1000),
        "itemsReceived": len(feed.items),
        "itemsSucceeded": len(feed.items) - failed - processing if state == "PROCESSED" else 0,
        "itemsFailed": failed,
        "itemsProcessing": processing,
    }
    if feed.error and state == "ERROR":
        summary["ingestionErrors"] = {
            "ingestionError": [{"type": "DATA_ERROR", "code": "ERR_INVALID_FILE", "description": feed.error}]
        }
    return summary


async def feed_status(request: Request, sim: WalmartSimulator) -> Response:
    feed = sim.feeds.get(request.path_params["feed_id"])
    if feed is None:
        raise ApiError(404, "CONTENT_NOT_FOUND.GMP_FEED_API", "Feed not found", field="feedId")
    state = state_of(feed, sim)
    body = _summary(feed, state)
    params = request.query_params
    if params.get("includeDetails") == "true":
        offset = int(params.get("offset", "0") or 0)
        limit = min(int(params.get("limit", "50") or 50), DETAIL_LIMIT_MAX)
        rows = [_detail(i, index, state) for index, i in enumerate(feed.items)][offset : offset + limit]
        body.update({"offset": offset, "limit": limit, "itemDetails": {"itemIngestionStatus": rows}})
    return JSONResponse(body)


def _detail(item: FeedItem, index: int, state: str) -> dict[str, Any]:
    row: dict[str, Any] = {"martId": 0, "sku": item.sku, "index": index}
    if state in ("RECEIVED", "INPROGRESS"):
        row["ingestionStatus"] = "INPROGRESS"
    elif item.error:
        row["ingestionStatus"] = "DATA_ERROR"
        row["ingestionErrors"] = {
            "ingestionError": [{"type": "DATA_ERROR", "code": "ERR_PDI", "description": item.error}]
        }
    else:
        row["ingestionStatus"] = "SUCCESS"
    return row


async def list_feeds(request: Request, sim: WalmartSimulator) -> Response:
    rows = [_summary(feed, state_of(feed, sim)) for feed in sim.feeds.values()]
    return JSONResponse({"totalResults": len(rows), "offset": 0, "limit": len(rows), "results": {"feed": rows}})

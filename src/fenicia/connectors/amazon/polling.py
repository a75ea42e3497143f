"""Reading orders: ``getOrders`` by ``LastUpdatedAfter`` with ``NextToken``, then ``getOrderItems`` per order.

The engine's cursor gives the window; each page's ``NextToken`` is handed back as the opaque resume
token. With ``NextToken`` only the token and ``MarketplaceIds`` are sent: the token carries the first
page's filters. A resume token Amazon no longer accepts restarts the window (re-reading is harmless:
orders are upserted). ``LastUpdatedBefore`` must be at least two minutes in the past, so a requested
end later than that is pulled back to it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from fenicia.connectors.amazon.client import JSON, AmazonClient
from fenicia.connectors.amazon.orders import normalize_order
from fenicia.connectors.base import NormalizedOrder, OrderCursor, OrderPage
from fenicia.core.clock import as_utc, utcnow
from fenicia.core.errors import InvalidRecord, RemoteNotFound, TransientError, ValidationFailed

log = structlog.get_logger(__name__)

ORDERS_PATH = "/orders/v0/orders"
# Amazon order ids are 3-7-7 digits; anything outside this set never reaches a URL path.
ORDER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,49}$")


def iso(moment: datetime) -> str:
    return as_utc(moment).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_path(order_id: str, suffix: str = "") -> str:
    if not ORDER_ID_PATTERN.match(order_id):
        raise ValidationFailed(f"{order_id!r} is not an Amazon order id")
    return f"{ORDERS_PATH}/{order_id}{suffix}"


def first_page_params(client: AmazonClient, cursor: OrderCursor) -> dict[str, Any]:
    """Filters of the first page: every status and channel, the cursor's LastUpdated window."""
    settings = client.settings
    now = utcnow()
    earliest = now - timedelta(days=settings.max_lookback_days)
    after = earliest if cursor.updated_after is None else max(as_utc(cursor.updated_after), earliest)
    params: dict[str, Any] = {
        "MarketplaceIds": ",".join(settings.marketplace_ids),
        "LastUpdatedAfter": iso(min(after, now)),
        "MaxResultsPerPage": settings.page_size,
    }
    if cursor.updated_before is not None:
        latest = now - timedelta(seconds=settings.updated_before_lag_seconds)
        params["LastUpdatedBefore"] = iso(max(min(as_utc(cursor.updated_before), latest), min(after, now)))
    return params


def next_page_params(client: AmazonClient, token: str) -> dict[str, Any]:
    return {"NextToken": token, "MarketplaceIds": ",".join(client.settings.marketplace_ids)}


async def fetch_orders(client: AmazonClient, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
    """Pages of orders changed in the cursor's window, each with its items; ``next_token`` = NextToken."""
    payload = await _first_page(client, cursor)
    while True:
        orders = payload.get("Orders")
        if not isinstance(orders, list):
            raise TransientError("Amazon's getOrders answer has no Orders list")
        token = str(payload.get("NextToken") or "") or None
        yield OrderPage(orders=await with_items(client, orders), next_token=token)
        if token is None:
            return
        payload = (await client.get("getOrders", ORDERS_PATH, next_page_params(client, token))).payload


async def _first_page(client: AmazonClient, cursor: OrderCursor) -> JSON:
    """The cursor's first page, or the page after an interrupted run's last one (its resume token)."""
    if cursor.resume_token:
        try:
            return (await client.get("getOrders", ORDERS_PATH, next_page_params(client, cursor.resume_token))).payload
        except ValidationFailed:
            log.warning("amazon.resume_token_refused", action="restarting the window")
    return (await client.get("getOrders", ORDERS_PATH, first_page_params(client, cursor))).payload


async def with_items(client: AmazonClient, orders: list[Any]) -> list[NormalizedOrder]:
    """Each order's items (several getOrderItems in flight, all paced); malformed orders are skipped."""
    limit = asyncio.Semaphore(client.settings.items_concurrency)

    async def one(order: Any) -> NormalizedOrder | None:
        async with limit:
            return await _normalized_or_skip(client, order)

    results = await asyncio.gather(*(one(order) for order in orders))
    return [order for order in results if order is not None]


async def _normalized_or_skip(client: AmazonClient, order: Any) -> NormalizedOrder | None:
    order_id = order.get("AmazonOrderId") if isinstance(order, dict) else None
    try:
        if not isinstance(order_id, str):
            raise InvalidRecord("Amazon order has no AmazonOrderId")
        return normalize_order(order, await order_items(client, order_id))
    except (InvalidRecord, RemoteNotFound, ValidationFailed) as exc:
        log.warning("amazon.order_skipped", order_id=order_id, reason=exc.message)
        return None


async def order_items(client: AmazonClient, order_id: str) -> list[Any]:
    """Every item of the order, following the items' own NextToken."""
    path = order_path(order_id, "/orderItems")
    items: list[Any] = []
    params: dict[str, Any] | None = None
    while True:
        payload = (await client.get("getOrderItems", path, params)).payload
        page = payload.get("OrderItems")
        if not isinstance(page, list):
            raise InvalidRecord(f"Amazon's getOrderItems answer for {order_id} has no OrderItems list")
        items.extend(page)
        token = payload.get("NextToken")
        if not token:
            return items
        params = {"NextToken": str(token)}


async def order_json(client: AmazonClient, order_id: str) -> JSON:
    """getOrder's ``Order`` object (no items)."""
    payload = (await client.get("getOrder", order_path(order_id))).payload
    if not payload.get("AmazonOrderId"):
        raise TransientError("Amazon's getOrder answer has no order")
    return payload


async def fetch_one(client: AmazonClient, order_id: str) -> NormalizedOrder:
    order = await order_json(client, order_id)
    return normalize_order(order, await order_items(client, order_id))

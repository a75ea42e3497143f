"""Polling ``/orders/search`` to verify what notifications told us (and catch what they missed).

Query: ``seller={id}&order.date_last_updated.from=…&sort=date_asc&offset=…&limit=…``. [U] We assume
``date_asc`` orders by the last-update date the window filters on; the search answers
``{"results": [...], "paging": {"total", "offset", "limit"}}``.

Offset paging breaks down twice: ML refuses offsets past about 10,000 [S], and an order changed while we
page moves to the end of the results, shifting the rest and hiding one from us. So each page narrows the
window: ``from`` moves to the newest ``last_updated`` seen, and the offset restarts at the number of
orders already seen at exactly that instant. (If ``from`` cannot move because a whole page shares one
instant, the offset simply grows; if even that reaches ``offset_cap``, ``from`` moves on by one
millisecond and the rest of that instant is left to the next poll, with a warning.) The resume token
is that state as JSON.

Orders carry only ``shipping.id``: each order's shipment is fetched (``x-format-new: true``), a few at a
time, because the shipment's status is what says shipped or delivered.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from fenicia.connectors.base import NormalizedOrder, OrderCursor, OrderPage
from fenicia.connectors.mercadolibre.client import JSON, NEW_SHIPMENT_FORMAT, MercadoLibreClient
from fenicia.connectors.mercadolibre.orders import normalize_order, order_last_updated
from fenicia.core.clock import as_utc
from fenicia.core.errors import InvalidRecord, RemoteNotFound, TransientError

log = structlog.get_logger(__name__)
ONE_MS = timedelta(milliseconds=1)


@dataclass
class SearchWindow:
    """Where the next page starts: ``from`` (ISO, or None for no lower bound) and the offset within it."""

    since: str | None
    offset: int = 0
    until: str | None = None

    def token(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def parse(cls, token: str) -> SearchWindow:
        try:
            data = json.loads(token)
            return cls(since=data["since"], offset=int(data["offset"]), until=data.get("until"))
        except (ValueError, KeyError, TypeError):
            raise InvalidRecord(f"Unreadable MercadoLibre resume token {token[:40]!r}") from None


def ml_time(moment: datetime) -> str:
    """ML's filter format: milliseconds and an explicit offset, e.g. 2024-01-15T10:30:00.000-00:00."""
    utc = as_utc(moment).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}-00:00"


def first_window(cursor: OrderCursor) -> SearchWindow:
    if cursor.resume_token:
        return SearchWindow.parse(cursor.resume_token)
    since = ml_time(cursor.updated_after) if cursor.updated_after is not None else None
    until = ml_time(cursor.updated_before) if cursor.updated_before is not None else None
    return SearchWindow(since=since, until=until)


def search_params(seller_id: int, window: SearchWindow, limit: int) -> dict[str, Any]:
    params: dict[str, Any] = {"seller": seller_id, "sort": "date_asc", "offset": window.offset, "limit": limit}
    if window.since is not None:
        params["order.date_last_updated.from"] = window.since
    if window.until is not None:
        params["order.date_last_updated.to"] = window.until
    return params


def next_window(window: SearchWindow, results: list[JSON], offset_cap: int, limit: int) -> SearchWindow:
    """The window after a page: ``from`` at the newest change seen, offset past what we saw at that instant."""
    stamps = [stamp for stamp in (_stamp(order) for order in results) if stamp is not None]
    if not stamps:
        return SearchWindow(window.since, window.offset + len(results), window.until)
    newest = max(stamps)
    since = ml_time(newest)
    if since != window.since:
        seen_at_newest = sum(1 for stamp in stamps if ml_time(stamp) == since)
        return SearchWindow(since, seen_at_newest, window.until)
    offset = window.offset + len(results)
    if offset + limit > offset_cap:
        log.warning("mercadolibre.offset_cap", since=since, offset=offset)
        return SearchWindow(ml_time(newest + ONE_MS), 0, window.until)
    return SearchWindow(since, offset, window.until)


def _stamp(order: Any) -> datetime | None:
    if not isinstance(order, Mapping):
        return None
    try:
        return order_last_updated(order)
    except InvalidRecord:
        return None


async def fetch_orders(client: MercadoLibreClient, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
    """Pages of orders changed in the cursor's window, oldest change first, each with its shipment."""
    settings = client.settings
    window = first_window(cursor)
    while True:
        body = await client.get("/orders/search", search_params(settings.seller_id, window, settings.page_size))
        results = _results(body)
        last = _is_last_page(body, window, results, settings.page_size)
        following = None if last else next_window(window, results, settings.offset_cap, settings.page_size)
        orders = await with_shipments(client, results)
        yield OrderPage(orders=_normalize_page(orders), next_token=None if following is None else following.token())
        if following is None:
            return
        window = following


def _results(body: Any) -> list[JSON]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise TransientError("MercadoLibre's /orders/search answer has no 'results' list")
    return results


def _is_last_page(body: JSON, window: SearchWindow, results: list[JSON], limit: int) -> bool:
    paging = body.get("paging")
    total = paging.get("total") if isinstance(paging, dict) else None
    if isinstance(total, int) and window.offset + len(results) >= total:
        return True
    return len(results) < limit


async def with_shipments(client: MercadoLibreClient, orders: list[JSON]) -> list[JSON]:
    """Each order with its shipment under ``"shipment"``, fetched a few at a time."""
    gate = asyncio.Semaphore(client.settings.shipment_concurrency)

    async def one(order: JSON) -> JSON:
        if not isinstance(order, dict):
            return order
        async with gate:
            return {**order, "shipment": await fetch_shipment(client, order)}

    return list(await asyncio.gather(*(one(order) for order in orders)))


async def fetch_shipment(client: MercadoLibreClient, order: Mapping[str, Any]) -> JSON | None:
    shipping = order.get("shipping")
    shipment_id = shipping.get("id") if isinstance(shipping, Mapping) else None
    if shipment_id in (None, "", 0):
        return None
    try:
        shipment = await client.get(f"/shipments/{shipment_id}", headers=NEW_SHIPMENT_FORMAT)
    except RemoteNotFound:
        log.warning("mercadolibre.shipment_missing", order_id=order.get("id"), shipment_id=shipment_id)
        return None
    return shipment if isinstance(shipment, dict) else None


def _normalize_page(items: list[JSON]) -> list[NormalizedOrder]:
    orders: list[NormalizedOrder] = []
    for item in items:
        try:
            orders.append(normalize_order(item))
        except InvalidRecord as exc:
            order_id = item.get("id") if isinstance(item, dict) else None
            log.warning("mercadolibre.order_skipped", order_id=order_id, reason=exc.message)
    return orders

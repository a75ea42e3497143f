"""Polling ``GET /v3/orders`` by last-modified time, in windows read whole and yielded oldest first.

Walmart pages with ``meta.nextCursor``, a query string to append to ``/v3/orders`` (its ampersands
sometimes HTML-escaped, [S]); it has no sort parameter. The engine saves the newest ``updated_at`` of
each committed page as its cursor, so pages must come oldest first: the window
[``updated_after``, ``updated_before`` or now] is read one time window at a time, each window read
to its end, sorted, then yielded in pages. A window holding more than ``max_orders_per_window``
orders (``meta.totalCount``; Walmart refuses more than 20,000 per query) is split in two first.
Walmart answers 404 when no order matches a query ([S], client libraries handle it): an empty window.

The next window is read while the engine commits the current one's pages (one window ahead at most).
``OrderPage.next_token`` is ``w1:{from_ms}:{to_ms}``: what is left to read. A run resumed from it
re-reads the window it stopped in (upserts are idempotent) and goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from fenicia.connectors.base import NormalizedOrder, OrderCursor, OrderPage
from fenicia.connectors.walmart.client import JSON, WalmartClient
from fenicia.connectors.walmart.orders import normalize_order, to_epoch_ms
from fenicia.core.clock import as_utc, utcnow
from fenicia.core.errors import InvalidRecord, RemoteNotFound, TransientError, ValidationFailed

log = structlog.get_logger(__name__)

ORDERS_PATH = "/v3/orders"
# Stay this far inside Walmart's 180-day reach, so a clock slightly ahead of Walmart's never asks for
# more than it serves ([U] whether it clamps or refuses an older createdStartDate).
REACH_MARGIN = timedelta(hours=1)
MIN_WINDOW_MS = 1000  # a window this short is read whatever its size: it cannot be split usefully
TOO_MANY = re.compile(r"20,?000|too many|narrow", re.IGNORECASE)
TOKEN_PATTERN = re.compile(r"^w1:(\d+):(\d+)$")


@dataclass
class Window:
    start_ms: int
    end_ms: int

    def halves(self) -> list[Window]:
        middle = (self.start_ms + self.end_ms) // 2
        return [Window(self.start_ms, middle), Window(middle + 1, self.end_ms)]


def encode_token(start_ms: int, end_ms: int) -> str:
    return f"w1:{start_ms}:{end_ms}"


def decode_token(token: str | None) -> Window | None:
    match = TOKEN_PATTERN.match(token or "")
    return Window(int(match.group(1)), int(match.group(2))) if match else None


def iso_ms(moment_ms: int) -> str:
    """``2020-03-16T10:30:15.123Z``: the ISO 8601 form Walmart accepts for its date filters."""
    moment = datetime.fromtimestamp(moment_ms / 1000.0, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def cursor_path(next_cursor: str) -> str:
    """``/v3/orders`` + Walmart's ``nextCursor`` (a query string, ampersands possibly HTML-escaped)."""
    query = html.unescape(next_cursor.strip())
    return ORDERS_PATH + (query if query.startswith("?") else f"?{query}")


def first_window(cursor: OrderCursor, lookback_days: int) -> Window:
    resumed = decode_token(cursor.resume_token)
    if resumed is not None:
        return resumed
    now = utcnow()
    oldest = now - timedelta(days=lookback_days) + REACH_MARGIN
    start = max(as_utc(cursor.updated_after), oldest) if cursor.updated_after else oldest
    end = as_utc(cursor.updated_before) if cursor.updated_before else now
    return Window(to_epoch_ms(start), to_epoch_ms(end))


class OrderPoller:
    """Reads one polling window of a connection, as pages oldest first."""

    def __init__(self, client: WalmartClient) -> None:
        self.client = client
        self.settings = client.settings

    async def pages(self, cursor: OrderCursor) -> AsyncIterator[OrderPage]:
        """Pages oldest first. The next window is read while the engine commits this one's pages."""
        whole = first_window(cursor, self.settings.created_lookback_days)
        ready: asyncio.Queue[tuple[Window, list[NormalizedOrder]] | BaseException | None] = asyncio.Queue(maxsize=1)
        reader = asyncio.create_task(self._read_ahead(whole, ready), name="walmart-orders-reader")
        try:
            while (item := await ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                window, orders = item
                left = encode_token(window.end_ms + 1, whole.end_ms) if window.end_ms < whole.end_ms else None
                async for page in self._paged(orders, encode_token(window.start_ms, whole.end_ms), left):
                    yield page
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read_ahead(
        self, whole: Window, ready: asyncio.Queue[tuple[Window, list[NormalizedOrder]] | BaseException | None]
    ) -> None:
        """Reads window after window (splitting crowded ones) into ``ready``; None at the end."""
        pending = [whole]
        try:
            while pending:
                window = pending.pop(0)
                orders = await self._read_window(window)
                if orders is None:
                    pending[0:0] = window.halves()
                else:
                    await ready.put((window, orders))
        except Exception as exc:  # handed to the consumer, which raises it where the engine can see it
            await ready.put(exc)
            return
        await ready.put(None)

    async def _paged(self, orders: list[NormalizedOrder], again: str, left: str | None) -> AsyncIterator[OrderPage]:
        orders.sort(key=lambda o: (o.updated_at, o.external_id))
        size = self.settings.page_size
        for start in range(0, len(orders), size):
            last = start + size >= len(orders)
            yield OrderPage(orders=orders[start : start + size], next_token=left if last else again)

    async def _read_window(self, window: Window) -> list[NormalizedOrder] | None:
        """Every order of the window, or None when it holds too many and must be split."""
        splittable = window.end_ms - window.start_ms > MIN_WINDOW_MS
        try:
            raw, total = await self._fetch(window, splittable)
        except ValidationFailed as exc:
            if splittable and TOO_MANY.search(exc.message):
                return None
            raise
        if raw is None:
            return None
        if len(raw) < total:  # an order left the window while we paged (offset paging): read it again once
            log.warning("walmart.window_reread", expected=total, got=len(raw))
            again, _ = await self._fetch(window, False)
            raw = {**raw, **(again or {})}
        return normalize_all(list(raw.values()), self.settings.charge_is_unit_price)

    async def _fetch(self, window: Window, splittable: bool) -> tuple[dict[str, JSON] | None, int]:
        """Orders by purchase order id, and the first page's totalCount; (None, n) when too many."""
        body = await self._get(ORDERS_PATH, self._query(window))
        elements, meta = _list_parts(body)
        total = _int(meta.get("totalCount"), len(elements))
        if splittable and total > self.settings.max_orders_per_window:
            return None, total
        found = _by_id(elements)
        seen: set[str] = set()
        while isinstance(meta.get("nextCursor"), str) and meta["nextCursor"].strip() and elements:
            path = cursor_path(meta["nextCursor"])
            if path in seen:
                raise TransientError("Walmart sent the same orders cursor twice")
            seen.add(path)
            elements, meta = _list_parts(await self._get(path))
            found.update(_by_id(elements))
        return found, total

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> JSON:
        """One page; Walmart answers 404 CONTENT_NOT_FOUND when no order matches ([S]): an empty page."""
        try:
            return (await self.client.get(path, params)).body
        except RemoteNotFound:
            return {"list": {"meta": {"totalCount": 0}, "elements": {"order": []}}}

    def _query(self, window: Window) -> dict[str, Any]:
        oldest = to_epoch_ms(utcnow() - timedelta(days=self.settings.created_lookback_days) + REACH_MARGIN)
        return {
            "limit": self.settings.page_size,
            "createdStartDate": iso_ms(min(oldest, window.start_ms)),
            "lastModifiedStartDate": iso_ms(window.start_ms),
            "lastModifiedEndDate": iso_ms(window.end_ms),
            "shipNodeType": self.settings.ship_node_type,
        }


def _list_parts(body: JSON) -> tuple[list[Any], dict[str, Any]]:
    listing = body.get("list")
    if not isinstance(listing, dict):
        raise TransientError("Walmart's orders answer has no 'list'")
    meta = listing.get("meta") if isinstance(listing.get("meta"), dict) else {}
    elements = listing.get("elements")
    orders = elements.get("order") if isinstance(elements, dict) else None
    if orders is None:
        orders = []
    if not isinstance(orders, list):
        raise TransientError("Walmart's orders answer has no 'elements.order' list")
    assert isinstance(meta, dict)
    return orders, meta


def _by_id(elements: list[Any]) -> dict[str, JSON]:
    return {str(o.get("purchaseOrderId") or f"?{id(o)}"): o for o in elements if isinstance(o, dict)}


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def normalize_all(items: list[JSON], unit_prices: bool) -> list[NormalizedOrder]:
    """Normalized orders; a malformed one is skipped (and logged with its id), never fatal."""
    orders: list[NormalizedOrder] = []
    for item in items:
        try:
            orders.append(normalize_order(item, charge_is_unit_price=unit_prices))
        except InvalidRecord as exc:
            po = item.get("purchaseOrderId") if isinstance(item, dict) else None
            log.warning("walmart.order_skipped", purchase_order_id=po, reason=exc.message)
    return orders

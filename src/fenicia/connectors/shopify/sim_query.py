"""Order filters, sort orders and cursor pagination (opaque `page_info`) for the REST listings.

A cursor is the sort key (value, id) of the page edge, so pages stay stable when orders are
added or updated between requests: nothing is returned twice or skipped in keyset order.
"""

from __future__ import annotations

import base64
import binascii
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any, Generic, TypeVar

from fenicia.connectors.shopify.sim_clock import parse_timestamp
from fenicia.connectors.shopify.sim_config import ShopifySimConfig
from fenicia.connectors.shopify.sim_models import ApiError, Order

T = TypeVar("T")
SortKey = tuple[float, int]

SORTABLE_FIELDS = ("created_at", "updated_at", "processed_at", "id")
STATUSES = ("open", "closed", "cancelled", "any")
PAGE_INFO_COMPANIONS = frozenset({"page_info", "limit", "fields"})
TIME_PARAMS = tuple(
    f"{field}_{edge}" for field in ("created_at", "updated_at", "processed_at") for edge in ("min", "max")
)
FINANCIAL_FILTERS = {
    "unpaid": {"pending", "authorized", "partially_paid"},
}
FULFILLMENT_FILTERS: dict[str, set[str | None]] = {
    "shipped": {"fulfilled"},
    "partial": {"partial"},
    "unshipped": {None},
    "unfulfilled": {None, "partial"},
}


@dataclass(frozen=True)
class OrderFilter:
    status: str
    order: str
    ids: tuple[int, ...] | None = None
    since_id: int | None = None
    created_at_min: float | None = None
    created_at_max: float | None = None
    updated_at_min: float | None = None
    updated_at_max: float | None = None
    processed_at_min: float | None = None
    processed_at_max: float | None = None
    financial_status: str | None = None
    fulfillment_status: str | None = None

    def matches(self, order: Order) -> bool:
        return (
            self._status_ok(order)
            and (self.ids is None or order.id in self.ids)
            and (self.since_id is None or order.id > self.since_id)
            and _within(order.created_at, self.created_at_min, self.created_at_max)
            and _within(order.created_at, self.processed_at_min, self.processed_at_max)
            and _within(order.updated_at, self.updated_at_min, self.updated_at_max)
            and self._financial_ok(order)
            and self._fulfillment_ok(order)
        )

    def _status_ok(self, order: Order) -> bool:
        if self.status == "open":
            return order.closed_at is None and not order.cancelled
        if self.status == "closed":
            return order.closed_at is not None
        if self.status == "cancelled":
            return order.cancelled
        return True

    def _financial_ok(self, order: Order) -> bool:
        wanted = self.financial_status
        if wanted in (None, "any"):
            return True
        return order.financial_status in FINANCIAL_FILTERS.get(str(wanted), {str(wanted)})

    def _fulfillment_ok(self, order: Order) -> bool:
        wanted = self.fulfillment_status
        if wanted in (None, "any"):
            return True
        return order.fulfillment_status in FULFILLMENT_FILTERS.get(str(wanted), {wanted})

    def sort_key(self, order: Order) -> SortKey:
        field, direction = self._order_parts
        value = float(order.id) if field == "id" else _time_of(order, field)
        return (-value, -order.id) if direction == "desc" else (value, order.id)

    @cached_property
    def _order_parts(self) -> tuple[str, str]:
        field, direction = self.order.split()
        return field, direction


def _time_of(order: Order, field: str) -> float:
    return order.updated_at if field == "updated_at" else order.created_at


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _bad(param: str, message: str = "is invalid") -> ApiError:
    return ApiError(400, {param: [message]})  # [U] exact 400 body for a malformed filter


def _int_list(param: str, raw: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise _bad(param) from exc


def _sort(raw: str | None, default: str) -> str:
    text = " ".join((raw or default).replace("+", " ").split()).lower()
    parts = text.split()
    if len(parts) == 1:
        parts.append("asc")
    if len(parts) != 2 or parts[0] not in SORTABLE_FIELDS or parts[1] not in ("asc", "desc"):
        raise _bad("order", "is not a supported sort order")
    return " ".join(parts)


def parse_order_filter(params: Mapping[str, str], config: ShopifySimConfig) -> OrderFilter:
    """Build the filter of GET orders.json / orders/count.json from the query string."""
    status = params.get("status", config.default_order_status)
    if status not in STATUSES:
        raise _bad("status")
    times: dict[str, float] = {}
    for name in TIME_PARAMS:
        if params.get(name):
            try:
                times[name] = parse_timestamp(params[name])
            except ValueError as exc:
                raise _bad(name) from exc
    since_id = _int_list("since_id", params["since_id"])[0] if params.get("since_id") else None
    # [U] with since_id and no explicit order, results come in ascending id order
    default_sort = "id asc" if since_id is not None else config.default_order_sort
    return OrderFilter(
        status=status,
        order=_sort(params.get("order"), default_sort),
        ids=_int_list("ids", params["ids"]) if params.get("ids") else None,
        since_id=since_id,
        financial_status=params.get("financial_status"),
        fulfillment_status=params.get("fulfillment_status"),
        **times,
    )


def parse_limit(params: Mapping[str, str], config: ShopifySimConfig) -> int:
    raw = params.get("limit")
    if raw is None:
        return config.page_limit_default
    try:
        limit = int(raw)
    except ValueError as exc:
        raise ApiError(400, {"limit": ["is invalid"]}) from exc
    if not 1 <= limit <= config.page_limit_max:
        raise ApiError(400, {"limit": [f"must be between 1 and {config.page_limit_max}"]})  # [U]
    return limit


def parse_fields(params: Mapping[str, str]) -> list[str] | None:
    raw = params.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw else None


def select_fields(record: dict[str, Any], wanted: list[str] | None) -> dict[str, Any]:
    return record if wanted is None else {k: v for k, v in record.items() if k in wanted}


# -- page_info --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (`next`) or before (`previous`) the given sort key."""

    filter: dict[str, Any]
    direction: str
    key: SortKey


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps(
        {"f": cursor.filter, "d": cursor.direction, "k": list(cursor.key)}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str) -> Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        key = (float(data["k"][0]), int(data["k"][1]))
        if data["d"] not in ("next", "previous") or not isinstance(data["f"], dict):
            raise ValueError(token)
        return Cursor(data["f"], data["d"], key)
    except (binascii.Error, ValueError, KeyError, IndexError, TypeError) as exc:
        raise ApiError(400, {"page_info": ["Invalid value."]}) from exc  # [U] exact body


def check_page_info_alone(params: Mapping[str, str], config: ShopifySimConfig) -> None:
    """[U] Shopify refuses filters next to page_info: they are baked into the cursor."""
    extra = sorted(set(params) - PAGE_INFO_COMPANIONS)
    if extra and config.strict_page_info:
        raise ApiError(
            400,
            {
                "page_info": [
                    "page_info cannot be combined with other query parameters except limit and fields"
                    f" (got {', '.join(extra)})"
                ]
            },
        )


def filter_to_json(flt: OrderFilter) -> dict[str, Any]:
    data = asdict(flt)
    if flt.ids is not None:
        data["ids"] = list(flt.ids)
    return {k: v for k, v in data.items() if v is not None}


def filter_from_json(data: dict[str, Any]) -> OrderFilter:
    try:
        ids = data.get("ids")
        return OrderFilter(**{**data, "ids": tuple(ids) if ids is not None else None})
    except TypeError as exc:
        raise ApiError(400, {"page_info": ["Invalid value."]}) from exc


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_key: SortKey | None
    previous_key: SortKey | None


def paginate(items: Iterable[T], key: Callable[[T], SortKey], limit: int, cursor: Cursor | None) -> Page[T]:
    return page_of(sort_items(items, key), limit, cursor)


@dataclass
class Sorted(Generic[T]):
    """Items with their sort keys, in key order: one sort serves every page of a walk."""

    keyed: list[tuple[SortKey, T]]
    keys: list[SortKey]


def sort_items(items: Iterable[T], key: Callable[[T], SortKey]) -> Sorted[T]:
    keyed = sorted(((key(item), item) for item in items), key=lambda pair: pair[0])
    return Sorted(keyed, [k for k, _ in keyed])


def page_of(index: Sorted[T], limit: int, cursor: Cursor | None) -> Page[T]:
    keyed, keys = index.keyed, index.keys
    if cursor is None:
        start, end = 0, min(limit, len(keyed))
    elif cursor.direction == "next":
        start = bisect_right(keys, cursor.key)
        end = min(start + limit, len(keyed))
    else:
        end = bisect_left(keys, cursor.key)
        start = max(end - limit, 0)
    window = keyed[start:end]
    has_more = bool(window)
    return Page(
        items=[item for _, item in window],
        next_key=window[-1][0] if has_more and end < len(keyed) else None,
        previous_key=window[0][0] if has_more and start > 0 else None,
    )

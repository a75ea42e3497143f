"""``POST /order/202309/orders/search`` of the simulator: filters, sort, keyset paging.

Filters come in the JSON body (``update_time_ge/lt``, ``create_time_ge/lt``, ``order_status``,
``shipping_type``); ``page_size`` (1-100), ``sort_field`` and ``sort_order`` in the query. The page token
holds the last (sort value, id) and a fingerprint of the query, so it cannot be replayed against another
filter [U]. The sorted order list is cached until the shop changes, so paging a large shop costs a
binary search per page rather than a sort.
"""

from __future__ import annotations

import base64
import hashlib
import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from fenicia.connectors.tiktok.sim_config import TikTokSimConfig
from fenicia.connectors.tiktok.sim_models import JSON, Order, bad_parameter

ORDER_STATUSES = frozenset(
    {
        "UNPAID",
        "ON_HOLD",
        "AWAITING_SHIPMENT",
        "PARTIALLY_SHIPPING",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "DELIVERED",
        "COMPLETED",
        "CANCELLED",
    }
)
TIME_FILTERS = ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt")
Key = tuple[int, int]


class OrderIndex:
    """Sorted views of the shop's orders, rebuilt when the store's version moves."""

    def __init__(self, config: TikTokSimConfig, orders: dict[str, Order]) -> None:
        self.config = config
        self.orders = orders
        self._sorted: dict[str, tuple[int, list[Order], list[Key]]] = {}
        self._totals: dict[str, tuple[int, int]] = {}

    def search(self, query: dict[str, str], body: Any, version: int, render: Callable[[Order], JSON]) -> JSON:
        size = _page_size(query.get("page_size"), self.config.page_size_max)
        field = query.get("sort_field") or self.config.default_sort_field
        direction = (query.get("sort_order") or self.config.default_sort_order).upper()
        if field not in ("create_time", "update_time") or direction not in ("ASC", "DESC"):
            raise bad_parameter("sort_field must be create_time or update_time and sort_order ASC or DESC")
        filters = order_filters(body)
        fingerprint = _fingerprint({"f": filters, "s": [field, direction]})
        after = _decode_page_token(query.get("page_token"), fingerprint)
        orders, keys = self._view(field, version)
        page = _collect(orders, keys, filters, after, direction, size + 1)
        more, page = len(page) > size, page[:size]
        token = _encode_page_token((getattr(page[-1], field), int(page[-1].id)), fingerprint) if more else ""
        total = self._total(fingerprint, version, orders, filters)
        return {"orders": [render(o) for o in page], "next_page_token": token, "total_count": total}

    def _view(self, field: str, version: int) -> tuple[list[Order], list[Key]]:
        cached = self._sorted.get(field)
        if cached is not None and cached[0] == version:
            return cached[1], cached[2]
        orders = sorted(self.orders.values(), key=lambda o: (getattr(o, field), int(o.id)))
        keys = [(getattr(o, field), int(o.id)) for o in orders]
        self._sorted[field] = (version, orders, keys)
        return orders, keys

    def _total(self, fingerprint: str, version: int, orders: list[Order], filters: JSON) -> int:
        cached = self._totals.get(fingerprint)
        if cached is not None and cached[0] == version:
            return cached[1]
        total = sum(1 for order in orders if matches(order, filters))
        self._totals[fingerprint] = (version, total)
        return total


def _collect(
    orders: list[Order], keys: list[Key], filters: JSON, after: Key | None, direction: str, limit: int
) -> list[Order]:
    if direction == "ASC":
        start = bisect_right(keys, after) if after is not None else 0
        indexes: range = range(start, len(orders))
    else:
        start = bisect_left(keys, after) - 1 if after is not None else len(orders) - 1
        indexes = range(start, -1, -1)
    page: list[Order] = []
    for index in indexes:
        if matches(orders[index], filters):
            page.append(orders[index])
            if len(page) == limit:
                break
    return page


def order_filters(body: Any) -> JSON:
    if not isinstance(body, dict):
        raise bad_parameter("The request body must be a JSON object")
    known = (*TIME_FILTERS, "order_status", "shipping_type")
    filters = {key: body[key] for key in known if body.get(key) is not None}
    for key in TIME_FILTERS:
        value = filters.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise bad_parameter(f"{key} must be a Unix timestamp in seconds")
    if "order_status" in filters and filters["order_status"] not in ORDER_STATUSES:
        raise bad_parameter(f"order_status {filters['order_status']!r} is not a valid status")
    return filters


def matches(order: Order, filters: JSON) -> bool:
    get = filters.get
    if get("update_time_ge") is not None and order.update_time < filters["update_time_ge"]:
        return False
    if get("update_time_lt") is not None and order.update_time >= filters["update_time_lt"]:
        return False
    if get("create_time_ge") is not None and order.create_time < filters["create_time_ge"]:
        return False
    if get("create_time_lt") is not None and order.create_time >= filters["create_time_lt"]:
        return False
    if get("order_status") is not None and order.status != filters["order_status"]:
        return False
    return get("shipping_type") is None or order.shipping_type == filters["shipping_type"]


def _page_size(raw: str | None, maximum: int) -> int:
    if raw is None or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise bad_parameter(f"page_size is required and must be between 1 and {maximum}")
    return int(raw)


def _fingerprint(data: JSON) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _encode_page_token(key: Key, fingerprint: str) -> str:
    raw = json.dumps({"k": list(key), "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_page_token(token: str | None, fingerprint: str) -> Key | None:
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        key = (int(data["k"][0]), int(data["k"][1]))
        same = data["f"] == fingerprint
    except (ValueError, KeyError, TypeError, IndexError):
        raise bad_parameter("page_token is invalid") from None
    if not same:
        raise bad_parameter("page_token does not belong to this query")  # [U] TikTok ties tokens to the filter
    return key

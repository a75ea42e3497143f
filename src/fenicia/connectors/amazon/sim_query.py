"""``getOrders`` query rules of the simulator: filters, Amazon's validation, keyset pages and NextToken.

Rules ([C] ordersV0 parameter descriptions): ``MarketplaceIds`` is required; exactly one of the
``CreatedAfter`` / ``LastUpdatedAfter`` families; a ``Before`` must not precede its ``After`` and must
be at least two minutes before now (which is also the default end); ``MaxResultsPerPage`` 1-100.
A NextToken carries the first request's filters and the last key served ([U] its format and life).
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from fenicia.connectors.amazon.sim_config import ORDER_STATUSES, AmazonSimConfig
from fenicia.connectors.amazon.sim_models import SimOrder, invalid_input, parse_time

LIST_PARAMS = ("OrderStatuses", "FulfillmentChannels", "AmazonOrderIds")
DATE_PARAMS = ("CreatedAfter", "CreatedBefore", "LastUpdatedAfter", "LastUpdatedBefore")


@dataclass
class OrderFilter:
    family: str  # "updated" or "created"
    after: float
    before: float
    marketplaces: list[str]
    limit: int
    statuses: list[str] = field(default_factory=list)
    channels: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    def stamp(self, order: SimOrder) -> float:
        return order.last_update if self.family == "updated" else order.purchase_date

    def matches(self, order: SimOrder) -> bool:
        return (
            self.after <= self.stamp(order) <= self.before
            and order.marketplace_id in self.marketplaces
            and (not self.statuses or order.status in self.statuses)
            and (not self.channels or order.fulfillment_channel in self.channels)
            and (not self.ids or order.order_id in self.ids)
        )

    def key(self, order: SimOrder) -> tuple[float, int]:
        return (self.stamp(order), order.seq)

    def before_field(self) -> str:
        return "LastUpdatedBefore" if self.family == "updated" else "CreatedBefore"


def _csv(params: dict[str, str], name: str) -> list[str]:
    return [part.strip() for part in params.get(name, "").split(",") if part.strip()]


def _time_param(params: dict[str, str], name: str) -> float | None:
    if not params.get(name):
        return None
    try:
        return parse_time(params[name])
    except ValueError:
        raise invalid_input(f"{name} is not a valid ISO 8601 date.") from None


def parse_filter(params: dict[str, str], config: AmazonSimConfig, now: float) -> OrderFilter:
    marketplaces = _marketplaces(params, config)
    family, after, before = _window(params, config, now)
    try:
        limit = int(params.get("MaxResultsPerPage", config.max_results_per_page))
    except ValueError:
        raise invalid_input("MaxResultsPerPage must be a number.") from None
    if not 1 <= limit <= config.max_results_per_page:
        raise invalid_input(f"MaxResultsPerPage must be between 1 and {config.max_results_per_page}.")
    statuses = _csv(params, "OrderStatuses")
    if any(status not in ORDER_STATUSES for status in statuses):
        raise invalid_input("OrderStatuses has an unknown value.")
    ids = _csv(params, "AmazonOrderIds")
    if len(ids) > 50:
        raise invalid_input("AmazonOrderIds accepts at most 50 ids.")
    return OrderFilter(family, after, before, marketplaces, limit, statuses, _csv(params, "FulfillmentChannels"), ids)


def _marketplaces(params: dict[str, str], config: AmazonSimConfig) -> list[str]:
    marketplaces = _csv(params, "MarketplaceIds")
    if not marketplaces:
        raise invalid_input("MarketplaceIds is required.", "Missing required parameter MarketplaceIds")
    if len(marketplaces) > 50 or any(m not in config.marketplace_ids for m in marketplaces):
        raise invalid_input("The seller does not sell in one of the MarketplaceIds.")
    return marketplaces


def _window(params: dict[str, str], config: AmazonSimConfig, now: float) -> tuple[str, float, float]:
    created_after, created_before = _time_param(params, "CreatedAfter"), _time_param(params, "CreatedBefore")
    updated_after, updated_before = _time_param(params, "LastUpdatedAfter"), _time_param(params, "LastUpdatedBefore")
    created = created_after is not None or created_before is not None
    updated = updated_after is not None or updated_before is not None
    if created and updated:
        raise invalid_input("LastUpdatedAfter/Before cannot be combined with CreatedAfter/Before.")
    after, before = (updated_after, updated_before) if updated else (created_after, created_before)
    if after is None:
        raise invalid_input("Either CreatedAfter or LastUpdatedAfter is required.")
    if after > now:
        raise invalid_input("The After date cannot be in the future.")
    latest = now - config.updated_before_lag_s
    if before is not None and before > latest:
        raise invalid_input("The Before date must be at least 2 minutes before the time of the request.")
    if before is not None and before < after:
        raise invalid_input("The Before date must be equal to or after the After date.")
    return ("updated" if updated else "created"), after, latest if before is None else before


# -- NextToken ---------------------------------------------------------------------------------


def encode_token(flt: OrderFilter, last: tuple[float, int]) -> str:
    data = {"f": asdict(flt), "k": list(last), "t": time.time()}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def decode_token(token: str, config: AmazonSimConfig) -> tuple[OrderFilter, tuple[float, int]]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        flt, key, issued = OrderFilter(**data["f"]), (float(data["k"][0]), int(data["k"][1])), float(data["t"])
    except (ValueError, KeyError, TypeError, IndexError, binascii.Error):
        raise invalid_input("Invalid NextToken.") from None
    if config.next_token_ttl_s is not None and time.time() - issued > config.next_token_ttl_s:
        raise invalid_input("NextToken is expired.")
    return flt, key


def check_token_alone(params: dict[str, str], config: AmazonSimConfig) -> None:
    """[U] strict mode: a NextToken request may only repeat MarketplaceIds."""
    repeated = sorted(set(params) - {"NextToken", "MarketplaceIds"})
    if config.strict_next_token and repeated:
        raise invalid_input(f"NextToken cannot be combined with {', '.join(repeated)}.")


def page_of(orders: list[SimOrder], flt: OrderFilter, after_key: tuple[float, int] | None) -> list[SimOrder]:
    """The next ``flt.limit + 1`` matching orders in key order after ``after_key`` (one extra to see more)."""
    matching = (o for o in orders if flt.matches(o) and (after_key is None or flt.key(o) > after_key))
    return heapq.nsmallest(flt.limit + 1, matching, key=flt.key)


def encode_items_token(order_id: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": order_id, "i": offset}).encode()).decode()


def decode_items_token(token: str, order_id: str) -> int:
    try:
        data: Any = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = int(data["i"])
        same = data["o"] == order_id
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise invalid_input("Invalid NextToken.") from None
    if not same or offset < 0:
        raise invalid_input("Invalid NextToken.")
    return offset

"""SP-API usage plans: the default rate (requests/s restored) and burst (bucket size) per operation.

Amazon documents each operation's limit as a token bucket (channels.md §2.6, [C] from the official
models). Sellers may be granted more; the ``x-amzn-RateLimit-Limit`` response header then tells the
real rate, and the connector adopts it. The burst is never sent back, so it stays a setting.
Both the connector's pacing and the simulator's enforcement read this one table.
"""

from __future__ import annotations

from typing import NamedTuple


class UsagePlan(NamedTuple):
    rate_per_s: float
    burst: int


DEFAULT_USAGE_PLANS: dict[str, UsagePlan] = {
    "getOrders": UsagePlan(0.0167, 20),
    "getOrder": UsagePlan(0.5, 30),
    "getOrderItems": UsagePlan(0.5, 30),
    "getOrderAddress": UsagePlan(0.5, 30),
    "getOrderBuyerInfo": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    "updateShipmentStatus": UsagePlan(5.0, 15),
    "patchListingsItem": UsagePlan(5.0, 5),
    "getListingsItem": UsagePlan(5.0, 10),
    "searchListingsItems": UsagePlan(5.0, 5),
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),  # [U] JSON_LISTINGS_FEED has its own, unpublished limit
    "getFeed": UsagePlan(2.0, 15),
    "getFeedDocument": UsagePlan(0.0222, 10),
}

# An operation missing from the table (a future one) is paced by this conservative plan.
FALLBACK_USAGE_PLAN = UsagePlan(0.5, 1)


def usage_plan(operation: str, overrides: dict[str, UsagePlan] | None = None) -> UsagePlan:
    if overrides and operation in overrides:
        return overrides[operation]
    return DEFAULT_USAGE_PLANS.get(operation, FALLBACK_USAGE_PLAN)

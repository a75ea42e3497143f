"""Configuration of the Shopify Admin API simulator.

Every fact marked [U] in `reference/channels.md` (unconfirmed) is a field here, so a test or a
sandbox operator can flip it when the real behaviour turns out to differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fenicia.sandbox.channelkit import CheckedConfig

# Shopify retries a failed delivery 8 times over about 4 hours with exponential backoff [C]; the
# exact schedule is not published, so this doubling series (sum ~3.98 h) is an assumption [U].
DEFAULT_WEBHOOK_RETRY_DELAYS_S: tuple[float, ...] = tuple(56.25 * 2**k for k in range(8))

ORDER_TOPICS: frozenset[str] = frozenset(
    {
        "orders/create",
        "orders/updated",
        "orders/paid",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "orders/edited",
        "orders/delete",
    }
)
WEBHOOK_TOPICS: frozenset[str] = ORDER_TOPICS | {
    "fulfillments/create",
    "fulfillments/update",
    "app/uninstalled",
}

FINANCIAL_STATUSES: frozenset[str] = frozenset(
    {
        "pending",
        "authorized",
        "partially_paid",
        "paid",
        "partially_refunded",
        "refunded",
        "voided",
    }
)
CANCEL_REASONS: frozenset[str] = frozenset({"customer", "declined", "fraud", "inventory", "other", "staff"})


@dataclass
class ShopifySimConfig(CheckedConfig):
    """Settings of one simulated shop. Fields after `seed` are extensions of the lead's interface."""

    shop_domain: str = "demo-store.myshopify.com"
    access_token: str = "shpat_sandbox"  # the only accepted X-Shopify-Access-Token
    client_secret: str = "shpss_sandbox"  # HMAC key for webhook signatures
    api_version: str = "2024-04"  # version used for subscriptions made via /_sandbox/webhooks
    bucket_size: int = 40  # [C] standard plan
    leak_rate_per_s: float = 2.0  # [C] standard plan
    rate_limit_enabled: bool = True
    page_limit_default: int = 50  # [U]
    page_limit_max: int = 250  # [U]
    webhook_retry_delays_s: list[float] = field(default_factory=lambda: list(DEFAULT_WEBHOOK_RETRY_DELAYS_S))
    webhook_timeout_s: float = 5.0  # [S] whole response
    generator_interval_s: float | None = None  # None = no background order generator
    seed: int = 0

    webhook_connect_timeout_s: float = 1.0  # [S]
    retry_after_s: float = 2.0  # [S] value of Retry-After on a throttled answer
    default_order_status: str = "open"  # [U] `status` when the query omits it
    default_order_sort: str = "created_at desc"  # [U] `order` when the query omits it
    strict_page_info: bool = True  # [U] 400 when page_info comes with other filters
    orders_edited_payload: str = "order_edit"  # [U] "order_edit" envelope or "order" (full order)
    archive_on_fulfill: bool = True  # [U] shop setting "automatically archive fulfilled+paid orders"
    cancel_with_fulfillments_allowed: bool = False  # [U] 422 when cancelling a (partly) fulfilled order
    require_https_webhooks: bool = False  # [U] real Shopify refuses http:// addresses
    timestamp_precision: str = "seconds"  # "seconds" as Shopify REST renders, or "milliseconds"
    timezone_offset_minutes: int = -300  # [U] the shop's time zone, used to render timestamps
    catalog_size: int = 8  # generated products besides the reference iPod product
    locations: int = 2
    bulk_history_days: float = 30.0  # bulk-seeded orders are spread over this many past days
    decrement_inventory_on_order: bool = True
    shop_id: int = 548380009

    # The GraphQL calculated-cost limit (channels.md §1.6): a bucket of its own, apart from the REST one.
    graphql_rate_limit_enabled: bool | None = None  # None: on exactly when rate_limit_enabled is
    graphql_bucket_size: int = 1000  # [U] maximumAvailable (the figure of older docs and most clients)
    graphql_restore_rate_per_s: float = 100.0  # [C] Standard plan
    graphql_mutation_cost: int = 10  # [S] requested cost of a mutation
    graphql_max_query_cost: int = 1000  # [S] no single request may cost more (checked while limiting is on)
    graphql_throttled_status: int = 200  # [U] HTTP status of a THROTTLED answer (often 200, some report 429)
    graphql_max_input_size: int = 250  # [U] items of one input list (inventorySetQuantities quantities)
    graphql_set_atomic: bool = True  # [U] one userError in inventorySetQuantities and no quantity is set

    def accepts(self, name: str, current: Any, value: Any) -> bool:
        if name == "graphql_rate_limit_enabled":
            return value is None or isinstance(value, bool)
        return super().accepts(name, current, value)

    @property
    def graphql_limited(self) -> bool:
        flag = self.graphql_rate_limit_enabled
        return self.rate_limit_enabled if flag is None else flag

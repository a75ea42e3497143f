"""Configuration of the Amazon SP-API simulator.

Every fact marked [U] (unconfirmed) in ``reference/channels.md`` §2 is a field here, so a test or a
sandbox operator can flip it when the real behaviour turns out to differ. Defaults are Amazon's real
limits and rules; tests switch rate limiting off and the two-minute LastUpdatedBefore lag to zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fenicia.connectors.amazon.limits import DEFAULT_USAGE_PLANS, UsagePlan
from fenicia.sandbox.channelkit import CheckedConfig

ORDER_STATUSES = (
    "PendingAvailability",
    "Pending",
    "Unshipped",
    "PartiallyShipped",
    "Shipped",
    "InvoiceUnconfirmed",
    "Canceled",
    "Unfulfillable",
)


def default_plans() -> dict[str, list[float]]:
    return {name: [plan.rate_per_s, float(plan.burst)] for name, plan in DEFAULT_USAGE_PLANS.items()}


@dataclass
class AmazonSimConfig(CheckedConfig):
    """Settings of one simulated seller account (one LWA app authorization)."""

    client_id: str = "amzn1.application-oa2-client.sandbox"
    client_secret: str = "amzn1.oa2-cs.v1.sandbox-secret"
    refresh_token: str = "Atzr|sandbox-refresh-token"
    seller_id: str = "A2SANDBOXSELLER"
    marketplace_ids: list[str] = field(default_factory=lambda: ["ATVPDKIKX0DER"])
    rate_limit_enabled: bool = True
    usage_plans: dict[str, list[float]] = field(default_factory=default_plans)  # op -> [rate/s, burst] [C]
    token_lifetime_s: float = 3600.0  # [C] LWA access tokens live one hour
    updated_before_lag_s: float = 120.0  # [C] LastUpdatedBefore at least 2 minutes before now
    max_results_per_page: int = 100  # [C] MaxResultsPerPage 1-100
    items_page_size: int = 100  # [U] getOrderItems page size
    include_pii: bool = False  # [C] BuyerInfo/full address need a Restricted Data Token
    retry_after_header: bool = False  # [U] Amazon documents no Retry-After on 429
    strict_next_token: bool = False  # [U] 400 when a NextToken request repeats the date filters
    next_token_ttl_s: float | None = None  # [U] NextToken lifetime (None: never expires)
    reject_duplicate_package_reference: bool = True  # [U] packageReferenceId reused on one order: 400
    cancel_request_updates_order: bool = True  # [U] a buyer cancel request moves LastUpdateDate
    feed_processing_s: float = 2.0  # [U] time from createFeed to DONE (real: minutes)
    feed_url_ttl_s: float = 300.0  # [C] presigned document URLs expire after 5 minutes
    generator_interval_s: float | None = None  # None: no background customer activity
    seed: int = 0
    catalog_size: int = 12
    bulk_history_days: float = 30.0
    currency: str = "USD"
    pending_share: float = 0.1  # share of generated orders that start Pending (payment not authorized)
    afn_share: float = 0.0  # share of generated orders fulfilled by Amazon (FBA)

    def __post_init__(self) -> None:
        self.usage_plans = default_plans() | self.usage_plans  # named operations change, the others keep Amazon's

    def plan(self, operation: str) -> UsagePlan:
        rate, burst = self.usage_plans.get(operation, [0.5, 1.0])
        return UsagePlan(float(rate), int(burst))

    def accepts(self, name: str, current: Any, value: Any) -> bool:
        if isinstance(current, list):  # marketplace ids
            return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
        if isinstance(current, dict):  # usage plans
            return isinstance(value, dict) and all(_is_plan(v) for v in value.values())
        return super().accepts(name, current, value)

    def assign(self, name: str, value: Any) -> None:
        current = getattr(self, name)
        if isinstance(current, dict):
            current.update(value)  # usage plans: change the named operations only
        else:
            setattr(self, name, value)


def _is_plan(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in value)
    )

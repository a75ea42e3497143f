"""Configuration of the Walmart Marketplace simulator.

Facts marked [U] in ``reference/channels.md`` §4 (unconfirmed) are fields here, so a test or a
sandbox operator can flip them when the real behaviour turns out to differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fenicia.connectors.walmart.limits import DEFAULT_ALLOWANCES
from fenicia.sandbox.channelkit import CheckedConfig


def default_allowances() -> dict[str, list[float]]:
    return {name: [a.rate_per_s, float(a.burst)] for name, a in DEFAULT_ALLOWANCES.items()}


@dataclass
class WalmartSimConfig(CheckedConfig):
    """Settings of one simulated Walmart seller account."""

    client_id: str = "wm-sandbox-client"
    client_secret: str = "wm-sandbox-secret"
    token_ttl_s: float = 900.0  # [C] 15 minutes
    rate_limit_enabled: bool = True
    allowances: dict[str, list[float]] = field(default_factory=default_allowances)  # [U] api -> [rate/s, burst]
    usage_headers: bool = True  # [U] x-current-token-count / x-next-replenishment-time on Marketplace answers
    retry_after_header: bool = False  # [U] Walmart is not known to send Retry-After on 429
    throttle_code: str = "REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"  # [C] code, [S] suffix
    error_shape: str = "wrapped"  # [U] "wrapped" {"errors":{"error":[...]}} or "list" {"errors":[...]}
    page_limit_default: int = 100  # [C]
    page_limit_max: int = 200  # [C]
    max_orders_per_query: int = 20000  # [C] more is refused
    created_default_days: float = 7.0  # [C] createdStartDate default: now - 7 days
    created_max_age_days: float = 180.0  # [C] only orders created in the last 180 days are served
    list_order: str = "orderDate desc"  # [U] "orderDate desc" | "orderDate asc" | "lastModified asc"
    empty_list_404: bool = True  # [S] GET /v3/orders answers 404 CONTENT_NOT_FOUND when nothing matches
    escape_next_cursor: bool = False  # [S] some answers carry '&amp;' inside nextCursor
    require_acknowledge_before_ship: bool = True  # [C] acknowledging is "a required step before shipping"
    strict_customer_cancel_reason: bool = True  # [C] CUSTOMER_REQUESTED_... only for intent-to-cancel lines
    auto_cancel_days: float = 4.0  # [C] unshipped lines cancelled at estimated ship date + 4 days
    feed_processing_s: float = 2.0  # [U] real feeds take up to ~30 min
    feed_max_bytes: int = 5_000_000  # [C-CL] 5 MB per file
    items_page_max: int = 200  # [U]
    partner_id: str = "100009"  # shown in nextCursor like the model's example
    seller_id: str = "8"
    ship_node_id: str = "10000003527"
    catalog_size: int = 20
    bulk_history_days: float = 30.0  # bulk-seeded orders are spread over this many past days
    generator_interval_s: float | None = None  # None = no background customer activity
    seed: int = 0

    def accepts(self, name: str, current: Any, value: Any) -> bool:
        if value is not None and name in CHOICES:
            return value in CHOICES[name]
        if value is not None and name == "allowances":
            return _allowances_ok(value)
        return super().accepts(name, current, value)

    def assign(self, name: str, value: Any) -> None:
        setattr(self, name, {**self.allowances, **value} if name == "allowances" else value)


CHOICES = {
    "error_shape": ("wrapped", "list"),
    "list_order": ("orderDate desc", "orderDate asc", "lastModified asc"),
}


def _allowances_ok(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    for api, pair in value.items():
        if api not in DEFAULT_ALLOWANCES or not isinstance(pair, list) or len(pair) != 2:
            return False
        if not all(isinstance(v, int | float) and not isinstance(v, bool) and v > 0 for v in pair):
            return False
    return True

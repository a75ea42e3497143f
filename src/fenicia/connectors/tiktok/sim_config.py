"""Configuration of the TikTok Shop simulator.

Every fact marked [U] or [S] in ``reference/channels.md`` §5 is a field here, so a test or a sandbox
operator can flip it when the real behaviour turns out to differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fenicia.sandbox.channelkit import CheckedConfig

# [U] TikTok Shop does not publish its webhook retry policy; a third-party write-up quotes 30/60/120 s.
DEFAULT_WEBHOOK_RETRY_DELAYS_S: tuple[float, ...] = (30.0, 60.0, 120.0)
SELLER_REASONS_PAID: tuple[str, ...] = (
    "seller_cancel_reason_out_of_stock",
    "seller_cancel_reason_wrong_price",
    "seller_cancel_paid_reason_address_not_deliver",
    "seller_cancel_paid_reason_buyer_requested_cancellation",
)
SELLER_REASONS_UNPAID: tuple[str, ...] = (
    "seller_cancel_unpaid_reason_out_of_stock",
    "seller_cancel_unpaid_reason_wrong_price",
    "seller_cancel_unpaid_reason_buyer_hasnt_paid_within_time_allowed",
    "seller_cancel_unpaid_reason_buyer_requested_cancellation",
)


@dataclass
class TikTokSimConfig(CheckedConfig):
    """Settings of one simulated shop (one app, one seller, one shop)."""

    app_key: str = "sandbox_app_key"
    app_secret: str = "sandbox_app_secret"
    refresh_token: str = "ROW_sandbox_refresh_token"  # the seller authorization's refresh token
    shop_id: str = "7494726673780148744"
    shop_cipher: str = "ROW_sandbox_cipher"
    shop_name: str = "Sandbox TikTok Shop"
    region: str = "GB"
    currency: str = "GBP"
    seed: int = 0
    rate_limit_enabled: bool = True
    rate_limit_per_s: float = 50.0  # [U] ~50 QPS per app, shop and API is the figure usually quoted
    rate_limit_burst: int = 50  # [U]
    throttle_http_status: int = 429  # [U] HTTP status that carries code 36009002
    send_retry_after: bool = True  # [U] whether a throttle answer carries Retry-After
    expired_token_http_status: int = 401  # [U] HTTP status of the 105002 answer (200 also seen in clients)
    business_error_http_status: int = 200  # [U] HTTP status of business errors (code != 0)
    access_token_ttl_s: float = 7 * 24 * 3600.0  # [U] about 7 days
    refresh_token_ttl_s: float = 365 * 24 * 3600.0  # [S] authorization lasts up to a year
    rotate_refresh_token: bool = False  # [U] whether a refresh issues a new refresh token (old one dies)
    timestamp_tolerance_s: float = 300.0  # [S] a request's `timestamp` may be at most 5 minutes off
    page_size_max: int = 100  # [C]
    detail_ids_max: int = 50  # [C]
    default_sort_order: str = "DESC"  # [C] default of sort_order
    default_sort_field: str = "create_time"  # [U]
    packages_before_shipping: bool = True  # [C] US/UK local sellers get package ids only when shipping
    seller_shipped_status: str = "AWAITING_COLLECTION"  # [U] order status right after a seller ships
    partial_cancel_allowed: bool = True  # [C] US/UK allow cancelling single units
    address_update_bumps_update_time: bool = True  # [U]
    webhook_retry_delays_s: list[float] = field(default_factory=lambda: list(DEFAULT_WEBHOOK_RETRY_DELAYS_S))
    webhook_timeout_s: float = 5.0  # [U]
    include_notification_id: bool = True  # [S] payloads carry tts_notification_id
    generator_interval_s: float | None = None  # None = no background order generator
    catalog_size: int = 8
    warehouse_id: str = "7068517275539719942"
    platform_shipping_share: float = 0.0  # fraction of generated orders shipped by TikTok (shipping_type TIKTOK)
    bulk_history_days: float = 30.0  # bulk-seeded orders are spread over this many past days

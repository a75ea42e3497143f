"""Configuration of the MercadoLibre simulator.

Every fact marked [U] in ``reference/channels.md`` §3 is a field here, so a test or a sandbox operator
can flip it when the real behaviour turns out to differ. Runtime changes come through
``POST /_sandbox/config``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fenicia.sandbox.channelkit import CheckedConfig, is_number

# ML retries a notification that was not answered 2xx "for a period" [U]; this series spans ~1 hour.
DEFAULT_NOTIFICATION_RETRY_DELAYS_S: tuple[float, ...] = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1200.0)
STRING_LISTS = frozenset({"notification_topics"})


@dataclass
class MercadoLibreSimConfig(CheckedConfig):
    """Settings of one simulated seller account and the one ML application it authorized."""

    app_id: int = 5503910054141466  # the application's App ID (client_id)
    client_secret: str = "ml-sandbox-secret"
    seller_id: int = 123456789
    seller_nickname: str = "TESTSELLER"
    site_id: str = "MLB"
    currency_id: str = "BRL"
    initial_refresh_token: str = "TG-sandbox-initial-refresh"
    redirect_uri: str = "https://fenicia.local/oauth/mercadolibre"
    access_token_ttl_s: float = 21_600.0  # [S] 6 hours
    refresh_token_ttl_s: float = 15_552_000.0  # [U] 180 days
    refresh_token_single_use: bool = True  # [S] a used refresh token answers invalid_grant
    authorization_code_ttl_s: float = 600.0  # [U]

    rate_limit_enabled: bool = True
    rate_limit_per_minute: int = 1500  # [U] ML publishes no limit; a token bucket of this rate
    rate_limit_burst: int = 25  # [U] bucket size
    retry_after_header_s: float | None = None  # [U] ML sends no Retry-After that we know of

    page_limit_default: int = 50  # [S] /orders/search
    page_limit_max: int = 51  # [U]
    offset_cap: int = 10_000  # [S] offsets beyond are refused
    items_offset_cap: int = 1000  # [C] /users/{id}/items/search without scan
    scan_limit_max: int = 100  # [U]
    multiget_max_ids: int = 20  # [S]
    search_sort_field: str = "last_updated"  # [U] what sort=date_asc orders by: last_updated or date_created

    shipment_touches_order: bool = True  # [U] a shipment change also moves the order's last_updated
    shipment_new_format_has_order_id: bool = False  # [U] x-format-new shipments name no order_id
    variations_put_replaces: bool = True  # [U] variations missing from a PUT are deleted
    custom_accepts_me1_endpoints: bool = True  # [U] custom shipping takes tracking/shipped like ME1
    tracking_editable_after_shipped: bool = True  # [U]
    feedback_cancel_me2_allowed: bool = True  # [U]

    notification_callback_url: str | None = None  # the application's callback URL; None: nothing sent
    notification_topics: list[str] = field(default_factory=lambda: ["orders_v2", "shipments"])
    notification_retry_delays_s: list[float] = field(default_factory=lambda: list(DEFAULT_NOTIFICATION_RETRY_DELAYS_S))
    notification_timeout_s: float = 0.5  # [S] ML wants an answer within 500 ms
    notification_connect_timeout_s: float = 0.5

    timezone_offset_minutes: int = -180  # [S] dates render with the site's offset, e.g. -03:00
    share_me1: float = 0.3  # share of generated orders shipped ME1 (the seller ships)
    share_custom: float = 0.1  # share with custom shipping; the rest is me2 (Mercado Envíos)
    catalog_size: int = 8
    variation_items: int = 3  # of the catalog, how many items have variations
    initial_stock: int = 500
    bulk_history_days: float = 30.0
    generator_interval_s: float | None = None  # None: no background activity
    seed: int = 0

    def accepts(self, name: str, current: Any, value: Any) -> bool:
        if isinstance(current, list) and name not in STRING_LISTS:  # delays: never negative
            return isinstance(value, list) and all(is_number(item) and item >= 0 for item in value)
        return super().accepts(name, current, value)

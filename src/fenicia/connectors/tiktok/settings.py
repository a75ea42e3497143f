"""Settings and credentials of one TikTok Shop connection (Partner API, version 202309).

Facts marked [U] (unconfirmed) or [S] (secondary source) in ``reference/channels.md`` §5 are settings
here, so they can be corrected without a code change when the real TikTok Shop behaves differently.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# [S] common-error tables quoted by client libraries: 105001 invalid token, 105002 expired token,
# 36004004 expired/invalid token on the newer gateway. A setting: the exact set is not documented.
DEFAULT_EXPIRED_TOKEN_CODES = (105001, 105002, 36004004)
# [S] 36009002 "too many requests"; the HTTP status that carries it is [U] (429 assumed).
DEFAULT_THROTTLE_CODES = (36009002,)
PATH_TEMPLATE_PATTERN = re.compile(r"^/[A-Za-z0-9_./{}-]+$")


class TikTokSettings(BaseModel):
    """Non-secret parameters of a TikTok Shop connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_base_url: str = Field(
        "https://open-api.tiktokglobalshop.com", description="Open API host (or a sandbox simulator's URL)."
    )
    auth_base_url: str = Field("https://auth.tiktok-shops.com", description="Host of the token endpoints.")
    token_refresh_path: str = Field("/api/v2/token/refresh", description="Path of the refresh-token grant.")
    shop_cipher: str | None = Field(None, description="The shop's cipher; empty: looked up once after connecting.")
    shop_id: str | None = Field(
        None, description="The shop among the authorized ones; webhooks of other shops are refused."
    )
    page_size: int = Field(100, ge=1, le=100, description="Orders per search page (TikTok allows 1-100).")
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    max_retries_in_call: int = Field(2, ge=0, le=10, description="Retries inside one call (throttle/5xx).")
    retry_wait_cap_seconds: float = Field(
        10.0, ge=0, description="A wait longer than this goes back to the engine as a scheduled retry."
    )
    retry_base_wait_seconds: float = Field(1.0, ge=0, description="First wait before retrying a 5xx; doubles.")
    throttle_wait_seconds: float = Field(
        1.0, ge=0, description="[U] Wait after a throttle answer that carries no Retry-After header."
    )
    rate_limit_per_second: float = Field(
        50.0, gt=0, description="[U] TikTok's limit per app, shop and API (~50 QPS is the figure usually quoted)."
    )
    pacing_fraction: float = Field(
        0.95, gt=0, le=1, description="Client-side pacing runs at this fraction of rate_limit_per_second."
    )
    pacing_burst: int = Field(1, ge=1, le=1000, description="Calls that may leave back to back before pacing.")
    token_refresh_skew_seconds: float = Field(
        300.0, ge=0, description="Refresh the access token this long before its absolute expiry."
    )
    expired_token_codes: tuple[int, ...] = Field(
        DEFAULT_EXPIRED_TOKEN_CODES, description="[U] Body codes meaning 'access token expired': refresh once."
    )
    throttle_codes: tuple[int, ...] = Field(DEFAULT_THROTTLE_CODES, description="[U] Body codes meaning 'slow down'.")
    order_sort_field: str = Field("update_time", description="`sort_field` of the order search.")
    order_sort_order: str = Field("ASC", description="`sort_order` of the order search (oldest change first).")
    products_search_path: str = Field(
        "/product/202309/products/search", description="[S] Products search (newer docs show version 202312)."
    )
    shipping_providers_path: str = Field(
        "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
        description="[U] Get Shipping Providers, per delivery option.",
    )
    carrier_provider_ids: dict[str, str] = Field(
        default_factory=dict, description="Carrier name -> TikTok shipping_provider_id, checked before the lookup."
    )
    default_shipping_provider_id: str | None = Field(
        None, description="Provider used when a shipment names no carrier."
    )
    warehouse_id: str | None = Field(None, description="Warehouse of stock writes; empty: the SKU's default one.")
    cancel_reason_paid: str = Field(
        "seller_cancel_reason_out_of_stock", description="[S] Seller reason code for paid orders when none fits."
    )
    cancel_reason_unpaid: str = Field(
        "seller_cancel_unpaid_reason_out_of_stock", description="[S] Seller reason code for unpaid orders."
    )
    platform_handover_method: str = Field(
        "DROP_OFF", description="[U] handover_method when shipping a TikTok-shipped (platform label) package."
    )

    @field_validator("api_base_url", "auth_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError(f"must look like https://open-api.tiktokglobalshop.com, got {value!r}")
        return value.strip().rstrip("/")

    @field_validator("token_refresh_path", "products_search_path", "shipping_providers_path")
    @classmethod
    def _check_path(cls, value: str) -> str:
        if not PATH_TEMPLATE_PATTERN.match(value):
            raise ValueError(f"must be an absolute path such as /api/v2/token/refresh, got {value!r}")
        return value

    @field_validator("order_sort_order")
    @classmethod
    def _check_sort_order(cls, value: str) -> str:
        if value.upper() not in ("ASC", "DESC"):
            raise ValueError("order_sort_order must be ASC or DESC")
        return value.upper()

    @field_validator("platform_handover_method")
    @classmethod
    def _check_handover(cls, value: str) -> str:
        if value.upper() not in ("DROP_OFF", "PICKUP"):
            raise ValueError("platform_handover_method must be DROP_OFF or PICKUP")
        return value.upper()

    @property
    def pacing_rate_per_second(self) -> float:
        return self.rate_limit_per_second * self.pacing_fraction


class TikTokCredentials(BaseModel):
    """Secrets of a TikTok Shop connection; encrypted at rest, never logged.

    ``refresh_token`` comes from the seller's authorization (``/api/v2/token/get``); Fenicia obtains
    access tokens with it and keeps them (and any newer refresh token) in the connection's token store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    app_key: str = Field(min_length=1, max_length=200, description="The app's key (not secret, sent on every call).")
    app_secret: SecretStr = Field(description="The app's secret: signs requests and verifies webhooks.")
    refresh_token: SecretStr = Field(description="Refresh token from the seller's authorization.")

    @field_validator("app_secret", "refresh_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("app_key")
    @classmethod
    def _key_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

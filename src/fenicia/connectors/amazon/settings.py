"""Settings and credentials of one Amazon Selling Partner API connection.

Facts marked [U] (unconfirmed) or [S] (secondary source) in ``reference/channels.md`` §2 are settings
here, so they can be corrected without a code change when the real service behaves differently.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fenicia.connectors.amazon.limits import UsagePlan

NA_ENDPOINT = "https://sellingpartnerapi-na.amazon.com"  # [C] host of the official models
LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # [C]
US_MARKETPLACE = "ATVPDKIKX0DER"
MARKETPLACE_PATTERN = re.compile(r"^[A-Z0-9]{6,20}$")


class OperationLimit(BaseModel):
    """One operation's usage plan, when the seller's differs from Amazon's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_per_s: float = Field(gt=0, le=1_000_000)
    burst: int = Field(ge=1, le=1_000_000)


class AmazonSettings(BaseModel):
    """Non-secret parameters of an Amazon connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str = Field(NA_ENDPOINT, description="SP-API regional endpoint (NA, EU, FE) or a sandbox URL.")
    lwa_token_url: str = Field(LWA_TOKEN_URL, description="Login with Amazon token endpoint.")
    seller_id: str = Field(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9]+$",
        description="Your merchant token (Seller Central > Settings > Account Info > Business Information).",
    )
    marketplace_ids: list[str] = Field(
        default_factory=lambda: [US_MARKETPLACE], min_length=1, max_length=50, description="Marketplaces to sync."
    )
    page_size: int = Field(100, ge=1, le=100, description="getOrders MaxResultsPerPage (Amazon allows 1-100).")
    items_concurrency: int = Field(
        4, ge=1, le=32, description="getOrderItems calls in flight at once (pacing still holds the usage plan)."
    )
    timeout_seconds: float = Field(20.0, gt=0, le=300)
    max_retries_in_call: int = Field(3, ge=0, le=10, description="Retries inside one call (429/5xx/network).")
    retry_base_wait_seconds: float = Field(1.0, ge=0, description="First wait before retrying a 5xx; doubles.")
    retry_wait_cap_seconds: float = Field(30.0, ge=0, description="Longest wait for one 5xx retry in a call.")
    max_rate_limit_wait_seconds: float = Field(
        120.0, ge=0, description="After a 429, wait in the call up to this long; longer waits go back to the engine."
    )
    pacing_safety: float = Field(
        0.97, gt=0.5, le=1.0, description="Fraction of each usage plan's rate the client allows itself."
    )
    usage_plans: dict[str, OperationLimit] = Field(
        default_factory=dict, description="Per-operation rate/burst when the seller's plan differs from the default."
    )
    token_skew_seconds: float = Field(
        60.0, ge=0, le=1800, description="Refresh the LWA access token this long before it expires."
    )
    updated_before_lag_seconds: float = Field(
        120.0, ge=0, description="LastUpdatedBefore must be at least this long before now ([C] 2 minutes)."
    )
    max_lookback_days: int = Field(
        730,
        ge=1,
        le=730,
        description="Amazon keeps orders for 2 years [C]: the window starts no earlier (and there, without a cursor).",
    )
    fulfillment_channel_code: str = Field("DEFAULT", description="Stock writes address this channel (DEFAULT = MFN).")
    default_product_type: str = Field(
        "PRODUCT", description="[S] productType sent with offer-only patches when the listing's own is unknown."
    )
    stock_patch_op: Literal["merge", "replace"] = Field(
        "merge", description="JSON Patch op for fulfillment_availability; merge keeps lead times ([C] 2025)."
    )
    feed_threshold_skus: int = Field(
        100, ge=2, description="Send stock as one JSON_LISTINGS_FEED when at least this many SKUs change at once."
    )
    feed_poll_interval_seconds: float = Field(30.0, ge=0, description="[U] How often to ask whether a feed is done.")
    feed_wait_seconds: float = Field(
        300.0, ge=0, description="[U] How long to wait for a feed's processing report before trusting acceptance."
    )
    issue_locale: str = Field("en_US", pattern=r"^[a-z]{2}_[A-Z]{2}$")
    ship_from_supply_source_id: str | None = Field(None, description="shipFromSupplySourceId for confirmShipment.")

    @field_validator("endpoint", "lwa_token_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        text = value.strip().rstrip("/")
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"must be an http(s) address, got {value!r}")
        if parts.scheme == "http" and parts.hostname.endswith(".amazon.com"):
            text = "https" + text[4:]  # tokens never travel in clear to Amazon itself
        return text

    @field_validator("marketplace_ids", mode="before")
    @classmethod
    def _split_marketplaces(cls, value: object) -> object:
        """A form or an API call may send "ATVPDKIKX0DER, A2EUQ1WTGCTBG2"."""
        return [part for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("marketplace_ids")
    @classmethod
    def _check_marketplaces(cls, value: list[str]) -> list[str]:
        cleaned = [item.strip() for item in value]
        bad = [item for item in cleaned if not MARKETPLACE_PATTERN.match(item)]
        if bad:
            raise ValueError(f"not marketplace ids: {', '.join(repr(item) for item in bad)}")
        return list(dict.fromkeys(cleaned))

    def plan_overrides(self) -> dict[str, UsagePlan]:
        return {name: UsagePlan(limit.rate_per_s, limit.burst) for name, limit in self.usage_plans.items()}


class AmazonCredentials(BaseModel):
    """Secrets of an Amazon connection (the LWA app and the seller's authorization); encrypted at rest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1, description="LWA client identifier of the app (amzn1.application-oa2-...).")
    client_secret: SecretStr = Field(description="LWA client secret of the app.")
    refresh_token: SecretStr = Field(description="The seller's LWA refresh token (Atzr|...).")

    @field_validator("client_secret", "refresh_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

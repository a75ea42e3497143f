"""Settings and credentials of one Shopify connection.

Facts marked [U] (unconfirmed) in ``reference/channels.md`` are settings here, so they can be changed
without a code change when the real Shopify behaves differently.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

API_VERSION_PATTERN = re.compile(r"^(\d{4}-\d{2}|unstable)$")
ORDER_SORT_PATTERN = re.compile(r"^[a-z_]+ (asc|desc)$")


# Every top-level order field the normalizer reads; Shopify's `fields` parameter drops the rest
# (tax lines, price sets, discounts, client details...), which are most of each order's bytes.
ORDER_FIELDS = (
    "id,name,order_number,email,contact_email,created_at,updated_at,processed_at,cancelled_at,cancel_reason,"
    "closed_at,currency,financial_status,fulfillment_status,total_price,line_items,fulfillments,"
    "shipping_address,billing_address,customer"
)


class ShopifySettings(BaseModel):
    """Non-secret parameters of a Shopify connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shop_url: str = Field(
        description="The shop's address, e.g. https://demo.myshopify.com (or a sandbox URL).",
    )
    api_version: str = Field("2024-04", description="Admin API version, e.g. 2024-04.")
    page_size: int = Field(250, ge=1, le=250, description="Records per page (Shopify allows 1-250).")
    order_sort: str = Field("updated_at asc", description="[U] `order` parameter of the orders list.")
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    max_retries_in_call: int = Field(2, ge=0, le=10, description="Retries inside one call (429/5xx).")
    retry_wait_cap_seconds: float = Field(
        10.0, ge=0, description="A Retry-After longer than this goes back to the engine instead."
    )
    retry_base_wait_seconds: float = Field(
        1.0, ge=0, description="First wait before retrying a 5xx/timeout without Retry-After; doubles."
    )
    leak_rate_per_s: float = Field(2.0, gt=0, description="REST bucket leak rate (2/s standard plan).")
    pacing_headroom_calls: int = Field(
        2, ge=0, description="Pace calls when this few calls are left in the rate-limit bucket."
    )
    order_fields: str | None = Field(
        ORDER_FIELDS,
        description="`fields` of the orders list: only what Fenicia reads (a quarter of the payload). "
        "Empty for the full order.",
    )
    location_id: int | None = Field(None, description="Location for stock writes; default: the first.")
    stock_api: Literal["graphql", "rest"] = Field(
        "graphql",
        description="How stock is written: 'graphql' sends inventorySetQuantities, stock_batch_size items a "
        "call (Shopify's bulk form); 'rest' sends one inventory_levels/set.json call per item (legacy API).",
    )
    stock_batch_size: int = Field(
        250,
        ge=1,
        le=1000,
        description="[U] Quantities per inventorySetQuantities call: Shopify takes at most 250 items in an "
        "input list; lower it if Shopify refuses the size or the cost.",
    )
    stock_reason: str = Field(
        "correction", min_length=1, description="`reason` of every stock write (one of Shopify's reasons)."
    )
    graphql_stock_cost: int = Field(
        10,
        ge=1,
        le=1000,
        description="[S] Points one inventorySetQuantities call is expected to cost (a mutation costs 10) until "
        "Shopify's answers tell the real figure; calls wait while the bucket holds fewer.",
    )
    graphql_restore_rate_per_s: float = Field(
        100.0,
        gt=0,
        description="GraphQL points restored per second (Standard plan 100) when an answer does not say.",
    )

    @field_validator("shop_url")
    @classmethod
    def _normalize_shop_url(cls, value: str) -> str:
        return normalize_shop_url(value)

    @field_validator("api_version")
    @classmethod
    def _check_api_version(cls, value: str) -> str:
        if not API_VERSION_PATTERN.match(value):
            raise ValueError(f"api_version must look like 2024-04 (or 'unstable'), got {value!r}")
        return value

    @field_validator("order_sort")
    @classmethod
    def _check_order_sort(cls, value: str) -> str:
        if not ORDER_SORT_PATTERN.match(value):
            raise ValueError(f"order_sort must look like 'updated_at asc', got {value!r}")
        return value

    @property
    def api_base_url(self) -> str:
        return f"{self.shop_url}/admin/api/{self.api_version}/"


class ShopifyCredentials(BaseModel):
    """Secrets of a Shopify connection; encrypted at rest, never logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: SecretStr = Field(description="Admin API access token (shpat_...).")
    client_secret: SecretStr = Field(description="The app's client secret, used to verify webhooks.")

    @field_validator("access_token", "client_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


def normalize_shop_url(value: str) -> str:
    """``demo.myshopify.com`` → ``https://demo.myshopify.com``; drops a trailing ``/`` or ``/admin``.

    Plain http is kept for sandbox and local addresses, but a ``*.myshopify.com`` shop is always
    reached over https (Shopify redirects http, and the token must never travel in clear).
    """
    text = value.strip()
    if "://" not in text:
        text = f"https://{text}"
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"shop_url must start with https://, got {value!r}")
    if not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"shop_url must look like https://your-shop.myshopify.com, got {value!r}")
    path = parts.path.rstrip("/")
    path = path.removesuffix("/admin")
    scheme = "https" if parts.hostname.endswith(".myshopify.com") else parts.scheme
    return f"{scheme}://{parts.netloc}{path}"

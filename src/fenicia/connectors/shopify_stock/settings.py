"""Settings and credentials of a Shopify store read as an inventory source.

The transport is the Shopify channel's own ``ShopifyClient`` (REST Admin API); these models carry only
what a stock reader needs and are turned into that client's settings by :meth:`client_settings`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from fenicia.connectors import httpkit
from fenicia.connectors.shopify.settings import (
    API_VERSION_PATTERN,
    ShopifyCredentials,
    ShopifySettings,
    normalize_shop_url,
)

LocationKey = Literal["id", "name"]
# ShopifyClient verifies webhooks with a client secret; a stock reader receives none, so it gets this.
NO_WEBHOOKS_SECRET = "unused-by-the-inventory-source"


class ShopifyStockSettings(BaseModel):
    """Non-secret parameters of a Shopify inventory source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    shop_url: Annotated[str, AfterValidator(normalize_shop_url)] = Field(
        description="The store's address, e.g. https://demo.myshopify.com."
    )
    api_version: str = Field("2024-04", description="Admin API version, e.g. 2024-04.")
    location_ids: tuple[int, ...] | None = Field(None, description="Only these locations; empty: every active one.")
    location_key: LocationKey = Field("id", description="What names a location in Fenicia: its id or its name.")
    page_size: int = Field(
        250,
        ge=1,
        le=250,
        description="Inventory items per GraphQL page (fewer when many locations would make the query too "
        "costly) and levels per inventory_levels page (Shopify allows 1-250).",
    )
    items_per_call: int = Field(
        50, ge=1, le=50, description="In a delta, changed inventory items looked up by id per GraphQL call."
    )
    timeout_seconds: httpkit.TimeoutSeconds = 30.0
    max_retries_in_call: httpkit.RetriesInCall = Field(2, description="Retries inside one call (429/5xx).")
    retry_wait_cap_seconds: httpkit.RetryWaitCapSeconds = 10.0
    retry_base_wait_seconds: httpkit.RetryBaseWaitSeconds = 1.0
    leak_rate_per_s: float = Field(2.0, gt=0, description="REST bucket leak rate (2/s standard plan).")

    @field_validator("api_version")
    @classmethod
    def _check_api_version(cls, value: str) -> str:
        if not API_VERSION_PATTERN.match(value):
            raise ValueError(f"api_version must look like 2024-04 (or 'unstable'), got {value!r}")
        return value

    def client_settings(self) -> ShopifySettings:
        return ShopifySettings(
            shop_url=self.shop_url,
            api_version=self.api_version,
            page_size=self.page_size,
            timeout_seconds=self.timeout_seconds,
            max_retries_in_call=self.max_retries_in_call,
            retry_wait_cap_seconds=self.retry_wait_cap_seconds,
            retry_base_wait_seconds=self.retry_base_wait_seconds,
            leak_rate_per_s=self.leak_rate_per_s,
        )


class ShopifyStockCredentials(BaseModel):
    """An Admin API access token with the read_products, read_locations and read_inventory scopes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: httpkit.NonBlankSecret = Field(description="Admin API access token (shpat_...).")

    def client_credentials(self) -> ShopifyCredentials:
        return ShopifyCredentials(access_token=self.access_token, client_secret=SecretStr(NO_WEBHOOKS_SECRET))

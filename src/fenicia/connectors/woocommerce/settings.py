"""Settings and credentials of one WooCommerce shop read as an inventory source.

The WooCommerce REST API v3 lives at ``{site_url}/wp-json/wc/v3/`` (pretty permalinks required). Over
HTTPS the consumer key and secret go in HTTP Basic auth, or in the query string when the server strips
the ``Authorization`` header. Plain-HTTP sites need OAuth 1.0a, which Fenicia does not speak.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fenicia.connectors import httpkit

API_SUFFIXES = ("/wp-json/wc/v3", "/wp-json")  # pasted with the shop's address: dropped
SiteUrl = Annotated[str, httpkit.web_address("https://shop.example.com", drop_suffixes=API_SUFFIXES)]
AuthMethod = Literal["basic", "query"]


class WoocommerceSettings(BaseModel):
    """Non-secret parameters of a WooCommerce source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site_url: SiteUrl = Field(description="The shop's address, e.g. https://shop.example.com (no /wp-json).")
    auth_method: AuthMethod = Field(
        "basic",
        description="basic: HTTP Basic auth (default); query: consumer_key/consumer_secret in the URL, for "
        "servers that strip the Authorization header.",
    )
    read_variations: bool = Field(True, description="Read the variations of variable products (one call each).")
    page_size: int = Field(100, ge=1, le=100, description="per_page of each list call (WooCommerce allows 1-100).")
    timeout_seconds: httpkit.TimeoutSeconds = 30.0
    max_retries_in_call: httpkit.RetriesInCall = 2
    retry_wait_cap_seconds: httpkit.RetryWaitCapSeconds = 30.0
    retry_base_wait_seconds: httpkit.RetryBaseWaitSeconds = 1.0

    @property
    def api_base_url(self) -> str:
        return f"{self.site_url}/wp-json/wc/v3/"


class WoocommerceCredentials(BaseModel):
    """A REST API key (WooCommerce → Settings → Advanced → REST API), with Read permission at least."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consumer_key: SecretStr = Field(description="Consumer key, ck_...")
    consumer_secret: SecretStr = Field(description="Consumer secret, cs_...")

    @field_validator("consumer_key")
    @classmethod
    def _looks_like_a_key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip().startswith("ck_"):
            raise ValueError("a WooCommerce consumer key starts with ck_")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("consumer_secret")
    @classmethod
    def _looks_like_a_secret(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip().startswith("cs_"):
            raise ValueError("a WooCommerce consumer secret starts with cs_")
        return SecretStr(value.get_secret_value().strip())

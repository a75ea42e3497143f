"""Settings and credentials of one Walmart Marketplace (US) connection.

Facts marked [U] (unconfirmed) in ``reference/channels.md`` §4 are settings here, so they can be
changed without a code change when the real Walmart behaves differently.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fenicia.connectors.walmart.limits import DEFAULT_ALLOWANCES

PRODUCTION_URL = "https://marketplace.walmartapis.com"
SANDBOX_URL = "https://sandbox.walmartapis.com"
METHOD_CODES = ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")
CANCEL_REASONS = (
    "CUSTOMER_REQUESTED_SELLER_TO_CANCEL",
    "SELLER_CANCEL_PRICING_ERROR",
    "SELLER_CANCEL_OUT_OF_STOCK",
    "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
    "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE",
)
SHIP_NODE_TYPES = ("SellerFulfilled", "WFSFulfilled", "3PLFulfilled")
FEED_TYPES = ("inventory", "MP_INVENTORY")


class ApiAllowance(BaseModel):
    """One API's token bucket, as the connector paces itself when Walmart sends no usage headers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rate_per_s: float = Field(gt=0)
    burst: int = Field(ge=1)


class WalmartSettings(BaseModel):
    """Non-secret parameters of a Walmart connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_base_url: str = Field(PRODUCTION_URL, description="Walmart API host (production, sandbox or a simulator).")
    token_path: str = Field("/v3/token", description="Path of the token API below the host.")
    service_name: str = Field("Walmart Marketplace", description="WM_SVC.NAME sent on every call.")
    market: str | None = Field(None, description="WM_MARKET header (e.g. 'US'); omitted when empty.")
    channel_type: str | None = Field(None, description="WM_CONSUMER.CHANNEL.TYPE for solution providers.")
    timeout_seconds: float = Field(20.0, gt=0, le=300)
    token_expiry_skew_seconds: float = Field(60.0, ge=0, le=600, description="Refresh this long before expiry.")
    page_size: int = Field(200, ge=1, le=200, description="Orders per page (Walmart allows up to 200).")
    created_lookback_days: int = Field(
        180, ge=1, le=180, description="createdStartDate reach: Walmart serves orders created in the last 180 days."
    )
    max_orders_per_window: int = Field(
        2000,
        ge=200,
        le=20000,
        description="A time window holding more orders is split in two, so each is read whole and sorted.",
    )
    ship_node_type: str = Field("SellerFulfilled", description="Orders of this fulfilment type are synced.")
    charge_is_unit_price: bool = Field(True, description="[U] PRODUCT chargeAmount is per unit, not per line.")
    acknowledge_before_ship: bool = Field(
        True, description="Acknowledge Created lines as part of Mark shipped (Walmart requires it before shipping)."
    )
    default_method_code: str = Field("Standard", description="trackingInfo.methodCode when the order has none.")
    default_cancel_reason: str = Field(
        "SELLER_CANCEL_OUT_OF_STOCK", description="Walmart reason when Fenicia's reason has no closer match."
    )
    stock_bulk_threshold: int = Field(
        10, ge=1, description="From this many SKUs on, stock goes in one inventory feed instead of one call each."
    )
    feed_type: str = Field("inventory", description="'inventory' (spec 1.4) or 'MP_INVENTORY' (1.5, multi-node).")
    ship_node: str | None = Field(None, description="Ship node for stock writes; needed by MP_INVENTORY.")
    feed_max_items: int = Field(10000, ge=1, description="[U] SKUs per feed file (Walmart caps the file size).")
    feed_wait_seconds: float = Field(60.0, ge=0, description="How long a stock push waits for its feed's result.")
    feed_poll_seconds: float = Field(5.0, gt=0, description="Pause between feed status checks.")
    max_retries_in_call: int = Field(2, ge=0, le=10, description="Retries inside one call (429/5xx).")
    retry_wait_cap_seconds: float = Field(
        10.0, ge=0, description="A wait longer than this goes back to the engine as a retry instead."
    )
    retry_base_wait_seconds: float = Field(1.0, ge=0, description="First wait before retrying a 5xx; doubles.")
    use_usage_headers: bool = Field(True, description="[U] pace on x-current-token-count when Walmart sends it.")
    local_pacing_margin: float = Field(
        0.9, gt=0, le=1, description="Share of an API's allowance used when pacing without usage headers."
    )
    pacing_headroom_tokens: int = Field(0, ge=0, description="Pause when this few calls are left in an API's bucket.")
    api_allowances: dict[str, ApiAllowance] = Field(
        default_factory=dict,
        description="[U] per-API rate and burst used for pacing, overriding the defaults in limits.py.",
    )

    @field_validator("api_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        text = value.strip().rstrip("/")
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"api_base_url must look like {PRODUCTION_URL}, got {value!r}")
        if parts.hostname.endswith("walmartapis.com") and parts.scheme != "https":
            raise ValueError("Walmart's own hosts must be reached over https")
        return text

    @field_validator("token_path")
    @classmethod
    def _check_token_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("token_path must start with '/'")
        return value

    @field_validator("default_method_code")
    @classmethod
    def _check_method_code(cls, value: str) -> str:
        return _one_of(value, METHOD_CODES, "default_method_code")

    @field_validator("default_cancel_reason")
    @classmethod
    def _check_cancel_reason(cls, value: str) -> str:
        return _one_of(value, CANCEL_REASONS, "default_cancel_reason")

    @field_validator("ship_node_type")
    @classmethod
    def _check_ship_node_type(cls, value: str) -> str:
        return _one_of(value, SHIP_NODE_TYPES, "ship_node_type")

    @field_validator("feed_type")
    @classmethod
    def _check_feed_type(cls, value: str) -> str:
        return _one_of(value, FEED_TYPES, "feed_type")

    @field_validator("api_allowances")
    @classmethod
    def _check_allowances(cls, value: dict[str, ApiAllowance]) -> dict[str, ApiAllowance]:
        unknown = sorted(set(value) - set(DEFAULT_ALLOWANCES))
        if unknown:
            raise ValueError(f"unknown API name(s): {', '.join(unknown)}")
        return value

    def allowance(self, api: str) -> ApiAllowance | None:
        """The API's allowance: this connection's override, else the default; None for unlimited APIs."""
        if api in self.api_allowances:
            return self.api_allowances[api]
        default = DEFAULT_ALLOWANCES.get(api)
        return None if default is None else ApiAllowance(rate_per_s=default.rate_per_s, burst=default.burst)


class WalmartCredentials(BaseModel):
    """Secrets of a Walmart connection (Seller Center → API keys); encrypted at rest, never logged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(min_length=1, max_length=200, description="The API key's Client ID.")
    client_secret: SecretStr = Field(description="The API key's Client Secret.")

    @field_validator("client_id")
    @classmethod
    def _strip_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("client_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


def _one_of(value: str, allowed: tuple[str, ...], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value

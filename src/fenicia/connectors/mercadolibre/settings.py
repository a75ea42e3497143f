"""Settings and credentials of one MercadoLibre connection (one seller account through one ML application).

Facts marked [U] (unconfirmed) in ``reference/channels.md`` §3 are settings here, so they can be changed
without a code change when the real MercadoLibre behaves differently.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

DEFAULT_API_URL = "https://api.mercadolibre.com"
TOKEN_PATH = "/oauth/token"


class MercadoLibreSettings(BaseModel):
    """Non-secret parameters of a MercadoLibre connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seller_id: int = Field(gt=0, description="The seller's MercadoLibre user id (the authorization's user_id).")
    api_url: str = Field(DEFAULT_API_URL, description="API base address (a sandbox address in sandbox mode).")
    token_url: str | None = Field(None, description="OAuth token endpoint; default: {api_url}/oauth/token.")
    redirect_uri: str | None = Field(
        None, description="The app's redirect URI, needed only to exchange a first authorization code."
    )
    page_size: int = Field(50, ge=1, le=51, description="[U] Orders per search page (ML's limit; 50 default).")
    offset_cap: int = Field(
        10_000, ge=100, description="[U] Highest offset /orders/search accepts; the window is narrowed before it."
    )
    timeout_seconds: float = Field(10.0, gt=0, le=300)
    max_retries_in_call: int = Field(2, ge=0, le=10, description="Retries inside one call (429/5xx/timeouts).")
    retry_wait_cap_seconds: float = Field(
        10.0, ge=0, description="A wait longer than this goes back to the engine as a retry instead."
    )
    retry_base_wait_seconds: float = Field(1.0, ge=0, description="First wait before retrying a 5xx; doubles.")
    rate_limit_wait_seconds: float = Field(
        1.0, ge=0, description="[U] Wait after a 429 that carries no Retry-After (ML sends none that we know of)."
    )
    rate_limit_per_minute: int | None = Field(
        1500, ge=1, description="[U] Requests per minute the seller's app may make (not public); None: no pacing."
    )
    pacing_fraction: float = Field(
        0.95, gt=0, le=1, description="Pace calls at this fraction of rate_limit_per_minute, to keep clear of 429s."
    )
    token_refresh_skew_seconds: float = Field(
        300.0, ge=0, description="Refresh the access token this long before it expires (it lives 6 h)."
    )
    rotation_wait_seconds: float = Field(
        2.0,
        ge=0,
        description="After invalid_grant, how long to wait for another process to save the rotated refresh token.",
    )
    shipment_concurrency: int = Field(4, ge=1, le=32, description="Shipments fetched at once while polling.")
    me1_service_id: int | None = Field(
        None, description="[U] ME1 carrier service_id sent with tracking numbers and shipped notices."
    )
    cancel_restock_items: bool = Field(True, description="Return the units to stock when cancelling via feedback.")
    cancel_me2_via_feedback: bool = Field(
        True, description="[U] Also cancel Mercado Envíos (me2) orders through sale feedback."
    )

    @field_validator("api_url", "token_url", "redirect_uri")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_url(value)

    @property
    def token_endpoint(self) -> str:
        return self.token_url or f"{self.api_url}{TOKEN_PATH}"

    @property
    def pacing_interval_seconds(self) -> float:
        """Seconds between two calls when paced; 0 when pacing is off."""
        if not self.rate_limit_per_minute:
            return 0.0
        return 60.0 / (self.rate_limit_per_minute * self.pacing_fraction)


class MercadoLibreCredentials(BaseModel):
    """Secrets of a MercadoLibre connection; encrypted at rest, never logged.

    ``refresh_token`` (or a first ``authorization_code``) comes from the seller authorizing the app.
    It is single-use: after the first refresh, the newest one lives in the connection's token store.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: str = Field(description="The application's App ID (client_id).")
    client_secret: SecretStr = Field(description="The application's Secret Key.")
    refresh_token: SecretStr | None = Field(None, description="A refresh token (TG-...) of the seller.")
    authorization_code: SecretStr | None = Field(None, description="A fresh authorization code (TG-...).")

    @field_validator("client_id")
    @classmethod
    def _digits(cls, value: str) -> str:
        text = value.strip()
        if not text.isdigit():
            raise ValueError("must be the numeric App ID of the MercadoLibre application")
        return text

    @field_validator("client_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _one_grant(self) -> MercadoLibreCredentials:
        if not (_given(self.refresh_token) or _given(self.authorization_code)):
            raise ValueError("give a refresh_token or an authorization_code")
        return self


def _given(value: SecretStr | None) -> bool:
    return value is not None and bool(value.get_secret_value().strip())


def normalize_url(value: str) -> str:
    """An http(s) address without a trailing slash; plain http is kept for sandbox and loopback."""
    text = value.strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) address, got {value!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"must not carry a query or fragment, got {value!r}")
    return text

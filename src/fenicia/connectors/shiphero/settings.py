"""Settings and credentials of one ShipHero (WMS) inventory source.

ShipHero's public API is GraphQL at ``{api_url}/graphql`` with a bearer access token obtained from
``{api_url}/auth/token`` (email and password) or ``{api_url}/auth/refresh`` (a developer refresh token).
Facts marked [U] in ``inventory-sources.md`` are settings here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from fenicia.connectors import httpkit

Basis = Literal["available", "on_hand"]
LocationKey = Literal["id", "identifier"]
DEFAULT_API_URL = "https://public-api.shiphero.com"
ApiUrl = Annotated[str, httpkit.web_address(DEFAULT_API_URL, drop_suffixes=("/graphql",))]


class ShipheroSettings(BaseModel):
    """Non-secret parameters of a ShipHero source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: ApiUrl = Field(DEFAULT_API_URL, description="ShipHero's public API (or a sandbox).")
    customer_account_id: httpkit.OptionalText = Field(
        None, description="3PL accounts: the customer whose stock to read (its account id)."
    )
    warehouse_id: httpkit.OptionalText = Field(
        None, description="Only this warehouse (its id); empty: every warehouse."
    )
    include_inactive: bool = Field(False, description="Also read inactive warehouse products.")
    quantity_basis: Basis = Field(
        "available", description="available: ShipHero's available (on hand - allocated); on_hand: the count."
    )
    location_key: LocationKey = Field(
        "id", description="What names a warehouse in Fenicia: warehouse_id or warehouse_identifier (its name)."
    )
    page_size: int = Field(
        100, ge=1, le=1000, description="Nodes per page (`first`); each costs credits [U: about 1 per node]."
    )
    token_refresh_margin_seconds: float = Field(
        300.0, ge=0, description="Refresh the access token this long before it expires."
    )
    timeout_seconds: httpkit.TimeoutSeconds = 30.0
    max_retries_in_call: httpkit.RetriesInCall = Field(3, description="Retries inside one call (throttling/5xx).")
    retry_wait_cap_seconds: httpkit.RetryWaitCapSeconds = Field(
        60.0, description="A wait longer than this (Retry-After, time_remaining) goes back to the engine."
    )
    retry_base_wait_seconds: httpkit.RetryBaseWaitSeconds = 1.0


class ShipheroCredentials(BaseModel):
    """A developer refresh token (recommended), or the email and password of a ShipHero user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    refresh_token: SecretStr | None = Field(
        None, description="Refresh token of a Third-Party Developer user (My Account → Third-Party Developer)."
    )
    username: str | None = Field(None, description="Email of the ShipHero user (when no refresh token).")
    password: SecretStr | None = Field(None, description="Password of that user.")

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> ShipheroCredentials:
        has_refresh = bool(self.refresh_token and self.refresh_token.get_secret_value().strip())
        has_password = bool(self.username and self.password and self.password.get_secret_value())
        if not (has_refresh or has_password):
            raise ValueError("give a refresh token, or both the user's email (username) and password")
        return self

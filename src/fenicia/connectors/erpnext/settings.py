"""Settings and credentials of one ERPNext (Frappe) inventory source.

Stock comes from the ``Bin`` doctype (one row per item and warehouse) through the REST API v1
(``/api/resource/Bin``), authenticated with a user's API key and secret. Facts marked [U] in
``inventory-sources.md`` are settings here.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from fenicia.connectors import httpkit

Basis = Literal["available", "on_hand"]
SiteUrl = Annotated[str, httpkit.web_address("https://mycompany.erpnext.com")]
# Bin fields that hold stock promised to someone; which of them to subtract is the merchant's choice.
RESERVED_FIELDS = frozenset(
    {
        "reserved_qty",  # submitted Sales Orders not yet delivered
        "reserved_stock",  # Stock Reservation Entries (v15+)
        "reserved_qty_for_production",
        "reserved_qty_for_sub_contract",
        "reserved_qty_for_production_plan",
    }
)


class ErpnextSettings(BaseModel):
    """Non-secret parameters of an ERPNext source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: SiteUrl = Field(description="The site's address, e.g. https://mycompany.erpnext.com.")
    quantity_basis: Basis = Field(
        "available", description="available: actual_qty minus the reserved fields; on_hand: actual_qty."
    )
    reserved_fields: tuple[str, ...] = Field(
        ("reserved_qty",),
        description="Bin fields subtracted from actual_qty for 'available' (reserved_stock when Stock "
        "Reservation is on; production and subcontracting reservations if they use the same stock).",
    )
    warehouses: tuple[str, ...] | None = Field(None, description="Only these warehouses (leaf warehouse names).")
    read_item_names: bool = Field(True, description="Also read item_name from Item, one call per page.")
    time_zone: str | None = Field(
        None,
        description="The site's time zone (System Settings), for delta reads; empty: ask the site "
        "(frappe.client.get_time_zone).",
    )
    page_size: int = Field(500, ge=1, le=10000, description="limit_page_length of each list call.")
    timeout_seconds: httpkit.TimeoutSeconds = 30.0
    max_retries_in_call: httpkit.RetriesInCall = 2
    retry_wait_cap_seconds: httpkit.RetryWaitCapSeconds = 30.0
    retry_base_wait_seconds: httpkit.RetryBaseWaitSeconds = 1.0

    @field_validator("reserved_fields")
    @classmethod
    def _known_reserved_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - RESERVED_FIELDS)
        if unknown:
            raise ValueError(f"unknown Bin fields {unknown}; choose from {sorted(RESERVED_FIELDS)}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use a name like Europe/Berlin") from None
        return value.strip()


class ErpnextCredentials(BaseModel):
    """A user's API key and secret (User → Settings → API Access → Generate Keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: httpkit.NonBlankSecret = Field(description="API Key of the ERPNext user.")
    api_secret: httpkit.NonBlankSecret = Field(description="API Secret shown once when the keys are generated.")

    @field_validator("api_key", "api_secret")
    @classmethod
    def _no_colon(cls, value: SecretStr) -> SecretStr:
        if ":" in value.get_secret_value():
            raise ValueError("must not contain ':' (the key and the secret go in separate fields)")
        return value

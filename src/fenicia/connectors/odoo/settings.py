"""Settings and credentials of one Odoo inventory source.

Two transports reach the same ORM: the JSON-2 API of Odoo 19+ (``/json/2/<model>/<method>``, bearer API
key) and the legacy JSON-RPC endpoint of Odoo 8-18 (``/jsonrpc``, ``execute_kw`` with database, user id
and password or API key). Facts marked [U] in ``inventory-sources.md`` are settings here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fenicia.connectors import httpkit

Protocol = Literal["json2", "jsonrpc"]
Scope = Literal["location", "warehouse"]
Basis = Literal["available", "on_hand"]
LocationKey = Literal["id", "name"]
ServerUrl = Annotated[str, httpkit.web_address("https://mycompany.odoo.com")]


class OdooSettings(BaseModel):
    """Non-secret parameters of an Odoo source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: ServerUrl = Field(description="The Odoo server's address, e.g. https://mycompany.odoo.com.")
    protocol: Protocol = Field(
        "json2", description="json2: the JSON-2 API of Odoo 19 or newer; jsonrpc: /jsonrpc of Odoo 8-18."
    )
    database: httpkit.OptionalText = Field(
        None, description="Database name. Required for JSON-RPC; for JSON-2 only when the server hosts several."
    )
    login: httpkit.OptionalText = Field(
        None, description="The user's login (JSON-RPC only; JSON-2 keys carry the user)."
    )
    scope: Scope = Field(
        "location",
        description="location: one row per product and internal location (stock.quant); "
        "warehouse: one row per product and warehouse (product.product quantities in a warehouse context).",
    )
    quantity_basis: Basis = Field(
        "available",
        description="available: on hand minus reserved (free_qty); on_hand: the physical count (qty_available).",
    )
    location_key: LocationKey = Field(
        "id", description="What names a location or warehouse in Fenicia: Odoo's id (stable) or its name."
    )
    warehouse_ids: tuple[int, ...] | None = Field(None, description="Only these warehouses (scope warehouse).")
    location_ids: tuple[int, ...] | None = Field(
        None, description="Only these locations and their children (scope location)."
    )
    page_size: int = Field(500, ge=1, le=5000, description="Records per search_read call (offset/limit paging).")
    product_chunk: int = Field(200, ge=1, le=2000, description="Products per stock.quant query.")
    timeout_seconds: httpkit.TimeoutSeconds = 30.0
    max_retries_in_call: httpkit.RetriesInCall = 2
    retry_wait_cap_seconds: httpkit.RetryWaitCapSeconds = 30.0
    retry_base_wait_seconds: httpkit.RetryBaseWaitSeconds = 1.0

    @model_validator(mode="after")
    def _jsonrpc_needs_database_and_login(self) -> OdooSettings:
        if self.protocol == "jsonrpc" and not (self.database and self.login):
            raise ValueError("JSON-RPC needs both 'database' and 'login' (the user's login, e.g. an email)")
        return self


class OdooCredentials(BaseModel):
    """The secret: an API key (Preferences → Account Security → New API Key), or a password for JSON-RPC."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: httpkit.NonBlankSecret = Field(
        description="API key of the Odoo user (JSON-RPC also accepts the password)."
    )

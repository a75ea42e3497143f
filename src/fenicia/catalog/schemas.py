"""Pydantic shapes of the products page: products, bundles, locations, listings with their available-to-sell,
the stock rules that produce it and the log of pushes to channels."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# --- products and bundles -----------------------------------------------------------------------------


class BundleComponentIn(BaseModel):
    component_id: int = Field(description="The product that goes into the bundle.")
    quantity: int = Field(default=1, ge=1, le=10_000, description="Units of the component in one bundle.")


class BundleSet(BaseModel):
    components: list[BundleComponentIn] = Field(
        min_length=1, max_length=100, description="Replaces the bundle's components."
    )


class ProductCreate(BaseModel):
    sku: str = Field(min_length=1, max_length=200, examples=["TSHIRT-RED-M"])
    name: str = Field(min_length=1, max_length=500)
    price: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)
    barcode: str | None = Field(default=None, max_length=100)
    components: list[BundleComponentIn] | None = Field(
        default=None, max_length=100, description="Makes the product a bundle of these components."
    )


class ProductUpdate(BaseModel):
    sku: str | None = Field(default=None, min_length=1, max_length=200)
    name: str | None = Field(default=None, min_length=1, max_length=500)
    price: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=4)
    barcode: str | None = Field(default=None, max_length=100)


class BundleComponentPublic(BaseModel):
    component_id: int
    sku: str
    name: str
    quantity: int


class SourceLevelPublic(BaseModel):
    source_id: int
    available: int
    on_hand: int | None
    reserved: int | None
    snapshot_at: datetime


class LocationStockPublic(BaseModel):
    location_id: int
    code: str
    name: str
    available: int = Field(description="Sum over the sources reporting this location.")
    sources: list[SourceLevelPublic]


class ListingStockPublic(BaseModel):
    """One channel listing and the sellable quantity Fenicia computed for it."""

    listing_id: int
    connection_id: int
    connection_name: str
    channel: str
    external_id: str
    sku: str | None
    title: str | None
    ats_quantity: int | None = Field(description="Available to sell; null when no source reports the stock.")
    ats_computed_at: datetime | None
    last_pushed_quantity: int | None
    last_pushed_at: datetime | None
    rule_scope: str | None = Field(description="The rule that produced it: listing:{id}, connection:{id} or default.")
    explanation: dict[str, Any] | None = Field(description="Every term of the formula (see docs/STOCK.md).")


class ProductPublic(BaseModel):
    id: int
    sku: str
    name: str
    price: Decimal | None
    barcode: str | None
    created_at: datetime
    updated_at: datetime
    components: list[BundleComponentPublic] = Field(description="Empty unless the product is a bundle.")
    stock: list[LocationStockPublic]
    listings: list[ListingStockPublic]


class ProductList(BaseModel):
    items: list[ProductPublic]
    total: int
    limit: int
    offset: int


class CsvImportResult(BaseModel):
    rows: int
    created: int
    updated: int
    unchanged: int


class ListingsImportRequest(BaseModel):
    create_missing_products: bool = Field(
        default=False, description="Create a product for each listing SKU that matches none."
    )


class ListingsImportResult(BaseModel):
    listings_seen: int
    listings_created: int
    listings_updated: int
    linked: int = Field(description="Listings linked to a product by SKU in this import.")
    products_created: int
    unlinked_skus: list[str] = Field(description="Listing SKUs that match no product (first 200).")
    without_sku: int = Field(description="Listings the channel gave no SKU for; they stay unlinked.")


# --- locations -----------------------------------------------------------------------------------------


class LocationCreate(BaseModel):
    code: str = Field(min_length=1, max_length=100, examples=["MAIN"])
    name: str = Field(min_length=1, max_length=200, examples=["Main warehouse"])


class LocationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str


# --- stock rules, pushes ---------------------------------------------------------------------------------


class StockRuleSet(BaseModel):
    """How a channel's (or one listing's) sellable quantity is derived. A listing rule replaces the
    connection's rule for that listing entirely."""

    buffer_fixed: int = Field(default=0, ge=0, le=1_000_000, description="Units held back.")
    buffer_percent: int = Field(default=0, ge=0, le=100, description="Percent held back; the rest rounds down.")
    floor: int | None = Field(default=None, ge=0, description="At or below this, push 0.")
    max_quantity: int | None = Field(default=None, ge=0, description="Never push more than this.")
    location_ids: list[int] | None = Field(
        default=None, max_length=500, description="Locations that feed the channel; null: every location."
    )


class StockRulePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None = Field(description="Null for the default rule (nothing stored).")
    scope: str
    connection_id: int
    listing_id: int | None
    buffer_fixed: int
    buffer_percent: int
    floor: int | None
    max_quantity: int | None
    location_ids: list[int] | None


class ListingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    product_id: int | None
    sku: str | None
    title: str | None
    external_id: str
    inventory_ref: str | None
    ats_quantity: int | None
    ats_computed_at: datetime | None
    last_pushed_quantity: int | None
    last_pushed_at: datetime | None
    ats_explanation: dict[str, Any] | None


class StockPushPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    listing_id: int
    product_id: int | None
    quantity: int
    status: str = Field(description="pending, sending, sent, superseded, skipped or error.")
    reason: str | None
    attempts: int
    next_attempt_at: datetime | None
    sent_at: datetime | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    explanation: dict[str, Any] | None


class StockPushList(BaseModel):
    items: list[StockPushPublic]
    total: int
    limit: int
    offset: int


class RecomputeRequest(BaseModel):
    product_ids: list[int] | None = Field(default=None, max_length=10_000, description="Null: every product.")


class RecomputeResult(BaseModel):
    products: int
    connections_queued: list[int] = Field(description="Connections that got new pushes (sent right away).")

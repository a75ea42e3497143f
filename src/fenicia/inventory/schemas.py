"""Pydantic shapes of inventory sources, their runs, levels, overrides, location mappings and the
unmapped report (API in and out). Credentials go in, never out."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fenicia.inventory.mapping import MappingRules

ALLOWED_FREQUENCIES_SECONDS = (300, 900, 3600)
UpdateMode = Literal["full", "delta"]


class SourceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(examples=["spreadsheet"], description="The source type (see /api/v1/inventory/source-types).")
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] = Field(default_factory=dict)
    frequency_seconds: int | None = Field(900, description="300, 900, 3600, or null for manual only.")
    mapping: MappingRules = Field(default_factory=MappingRules)
    update_mode: UpdateMode = Field("full", description="delta reads only changed rows (types that support it).")
    missing_means_zero: bool = Field(True, description="A full read without a code sets it to 0 (behind the guard).")
    truncation_guard_percent: int = Field(50, ge=0, le=100, description="Refuse a full read this much smaller.")
    paused: bool = Field(False, description="Create without syncing yet (preview first, then un-pause).")


class SourceUpdate(BaseModel):
    """A PATCH: only the fields sent change. ``settings`` and ``credentials`` are merged key by key."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=200)
    settings: dict[str, Any] | None = None
    credentials: dict[str, Any] | None = None
    frequency_seconds: int | None = None
    mapping: MappingRules | None = None
    update_mode: UpdateMode | None = None
    missing_means_zero: bool | None = None
    truncation_guard_percent: int | None = Field(None, ge=0, le=100)
    paused: bool | None = None


class FreshnessPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    last_success_at: datetime | None
    snapshot_at: datetime | None
    age_seconds: float | None
    stale: bool


class SourcePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    name: str
    settings: dict[str, Any]
    frequency_seconds: int | None
    mapping: dict[str, Any]
    update_mode: str
    missing_means_zero: bool
    truncation_guard_percent: int
    paused: bool = False
    status: str
    status_message: str | None
    resolution: str | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    next_sync_at: datetime | None
    retry_count: int
    snapshot_at: datetime | None
    last_row_count: int | None
    last_file: dict[str, Any] | None
    freshness: FreshnessPublic | None = None
    created_at: datetime


class SourceRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    trigger: str
    preview: bool
    status: str
    attempt: int
    scheduled_for: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None = None
    snapshot_at: datetime | None
    rows_read: int
    rows_mapped: int
    rows_unmapped: int
    rows_changed: int
    rows_zeroed: int
    rows_skipped: int
    warnings: list[str] | None
    preview_rows: list[dict[str, Any]] | None = None
    error_code: str | None
    error_message: str | None
    resolution: str | None
    created_at: datetime


class LevelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    product_id: int
    sku: str
    location_id: int
    location: str
    external_code: str
    available: int
    on_hand: int | None
    reserved: int | None
    snapshot_at: datetime
    changed_at: datetime


class OverrideCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_code: str = Field(min_length=1, max_length=200)
    product_id: int


class OverridePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    external_code: str
    product_id: int


class LocationMappingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_location: str = Field("", max_length=200, description="The source's key; '' for its only location.")
    location_id: int


class LocationMappingPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    source_id: int
    external_location: str
    location_id: int


class UnmappedPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: str
    source_id: int | None
    connection_id: int | None
    code: str
    name: str | None
    location: str | None
    first_seen_at: datetime
    last_seen_at: datetime
    occurrences: int
    last_quantity: int | None
    quantities: dict[str, int] | None
    resolved_at: datetime | None
    resolved_product_id: int | None


class ResolveByMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: int


class ResolveByNewProduct(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str | None = Field(None, max_length=200, description="Default: the code, normalized by the source's rules.")
    name: str | None = Field(None, max_length=500, description="Default: the name the source gave, else the code.")


class ResolveResult(BaseModel):
    unmapped: UnmappedPublic
    product_id: int
    connections_pushed: list[int]


class SourceTypePublic(BaseModel):
    key: str
    display_name: str
    kind: str
    supports_delta: bool
    settings_schema: dict[str, Any]
    credentials_schema: dict[str, Any]


class SourceTestResult(BaseModel):
    ok: bool
    message: str


class UploadResult(BaseModel):
    source: SourcePublic
    run: SourceRunPublic | None = None

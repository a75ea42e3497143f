"""Inventory sources, their runs, mapping rules, the stock levels they feed, and unmapped codes.

A source is read on its frequency (or by "sync now"); each read is a ``SourceRun``. Rows are mapped
from the source's external code to a product (normalization rules, then explicit overrides) and from the
source's location key to one of our locations; mapped rows become ``StockLevel`` rows (one per source,
product and location), unmapped codes are counted in ``UnmappedSku``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fenicia.channels.models import ConnectionStatus, Listing
from fenicia.db.base import Base, IdMixin, TimestampMixin, WorkspaceMixin
from fenicia.db.types import BigId, UTCDateTime

SourceStatus = ConnectionStatus  # the same four words a merchant sees: Pending, Syncing, Completed, Error


class InventorySource(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """One system we read stock from. Credentials are Fernet-encrypted, never returned."""

    __tablename__ = "inventory_sources"

    kind: Mapped[str] = mapped_column(String(40))  # source registry key: "spreadsheet", "odoo", ...
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # non-secret parameters
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    frequency_seconds: Mapped[int | None] = mapped_column(Integer)  # 300 | 900 | 3600 | None = manual
    # mapping rules: {"trim": bool, "case": "upper"|"lower"|null, "strip_prefix": str, "strip_suffix": str,
    # "add_prefix": str, "add_suffix": str, "match_on": "sku"|"barcode"}
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    update_mode: Mapped[str] = mapped_column(String(10), default="full")  # full | delta
    missing_means_zero: Mapped[bool] = mapped_column(Boolean, default=True)  # full reads only
    truncation_guard_percent: Mapped[int] = mapped_column(Integer, default=50)  # refuse zeroing past this drop
    status: Mapped[str] = mapped_column(String(20), default=SourceStatus.PENDING)
    status_message: Mapped[str | None] = mapped_column(Text, default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # of the last applied read
    cursor_value: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # delta reads; engine-owned
    last_row_count: Mapped[int | None] = mapped_column(Integer, default=None)  # rows of the last full read
    # file sources: name, mtime, size, sha256 of the last file applied, so an unchanged file is not re-imported
    last_file: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class SourceRun(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """One read of a source. A preview run reads and maps but applies nothing."""

    __tablename__ = "source_runs"
    __table_args__ = (Index("ix_source_runs_source_status", "source_id", "status"),)

    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("inventory_sources.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual | retry | initial | preview
    preview: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default="queued")  # channels.models.RunStatus values
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_mapped: Mapped[int] = mapped_column(Integer, default=0)
    rows_unmapped: Mapped[int] = mapped_column(Integer, default=0)
    rows_changed: Mapped[int] = mapped_column(Integer, default=0)
    rows_zeroed: Mapped[int] = mapped_column(Integer, default=0)  # codes missing from a full read, set to 0
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # unknown location
    warnings: Mapped[list[str] | None] = mapped_column(JSON, default=None)  # first warnings of the read
    preview_rows: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, default=None)  # first rows, mapped or not
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)


class SkuOverride(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """An explicit mapping of one external code of a source to a product; wins over the rules."""

    __tablename__ = "sku_overrides"
    __table_args__ = (UniqueConstraint("source_id", "external_code"),)

    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("inventory_sources.id", ondelete="CASCADE"))
    external_code: Mapped[str] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))


class LocationMapping(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """A source's location key ("" for a source with one location) → one of our locations."""

    __tablename__ = "location_mappings"
    __table_args__ = (UniqueConstraint("source_id", "external_location"),)

    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("inventory_sources.id", ondelete="CASCADE"))
    external_location: Mapped[str] = mapped_column(String(200))
    location_id: Mapped[int] = mapped_column(BigId, ForeignKey("locations.id", ondelete="CASCADE"))


class StockLevel(IdMixin, WorkspaceMixin, Base):
    """What a source last said about a product at a location. Written only when a number changed."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("source_id", "product_id", "location_id"),
        Index("ix_stock_levels_product", "product_id"),
    )

    source_id: Mapped[int] = mapped_column(BigId, ForeignKey("inventory_sources.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(BigId, ForeignKey("locations.id", ondelete="CASCADE"))
    external_code: Mapped[str] = mapped_column(String(200))
    available: Mapped[int] = mapped_column(Integer)
    on_hand: Mapped[int | None] = mapped_column(Integer, default=None)
    reserved: Mapped[int | None] = mapped_column(Integer, default=None)
    snapshot_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the source's number was true
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when the number last changed here


class UnmappedSku(IdMixin, WorkspaceMixin, Base):
    """An external code that matched no product: from a source's rows or from order lines.

    ``scope`` is "source:{id}" or "channel:{connection_id}", so one code is one row per place it came from.
    """

    __tablename__ = "unmapped_skus"
    __table_args__ = (UniqueConstraint("workspace_id", "scope", "code"),)

    scope: Mapped[str] = mapped_column(String(60))
    source_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("inventory_sources.id", ondelete="CASCADE"), default=None
    )
    connection_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"), default=None
    )
    code: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(500), default=None)
    location: Mapped[str | None] = mapped_column(String(200), default=None)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    quantities: Mapped[dict[str, int] | None] = mapped_column(JSON, default=None)  # last quantity per location key
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    resolved_product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id"), default=None)


# --- available-to-sell and the push to channels ----------------------------------------------------


class StockRule(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """How a channel's sellable quantity is derived: per connection, or per listing (wins).

    ``scope`` is "connection:{id}" or "listing:{id}". Percent buffers round down (market convention);
    buffers apply after summing locations; ``floor``: at or below it, push 0; ``max_quantity`` caps.
    """

    __tablename__ = "stock_rules"
    __table_args__ = (UniqueConstraint("workspace_id", "scope"),)

    scope: Mapped[str] = mapped_column(String(60))
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    listing_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"), default=None)
    buffer_fixed: Mapped[int] = mapped_column(Integer, default=0)
    buffer_percent: Mapped[int] = mapped_column(Integer, default=0)
    floor: Mapped[int | None] = mapped_column(Integer, default=None)
    max_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    location_ids: Mapped[list[int] | None] = mapped_column(JSON, default=None)  # None: every location


class PushStatus:
    """Channable's vocabulary: a queued value replaced by a newer one is superseded."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    SUPERSEDED = "superseded"
    SKIPPED = "skipped"
    ERROR = "error"


class StockPush(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """One sellable quantity to send to one listing, and what became of it."""

    __tablename__ = "stock_pushes"
    __table_args__ = (
        Index("ix_stock_pushes_conn_status", "connection_id", "status", "id"),
        Index("ix_stock_pushes_listing_status", "listing_id", "status"),
        # what is due across connections (the scheduler's tick, the reconciler) without reading the whole log
        Index("ix_stock_pushes_status_conn", "status", "connection_id"),
    )

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id"), default=None)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=PushStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(Text, default=None)  # what triggered it (source run, order ...)
    explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # the formula's terms
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # a retry waiting
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


# Listings by product (available-to-sell recomputes every listing of a set of products, and a product's
# delete checks its listings) and by connection and SKU (an order line's SKU read as that channel's
# listing). Declared here, with the stock code that needs them; they belong to the ``listings`` table.
Index("ix_listings_product", Listing.product_id)
Index("ix_listings_connection_sku", Listing.connection_id, Listing.sku)

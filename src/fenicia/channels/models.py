"""Channel connections, their cursors, the webhook inbox, listings and sync runs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fenicia.db.base import Base, IdMixin, TimestampMixin, WorkspaceMixin
from fenicia.db.types import BigId, UTCDateTime


class ConnectionStatus:
    """The four statuses a merchant sees, exactly as written."""

    PENDING = "Pending"
    SYNCING = "Syncing"
    COMPLETED = "Completed"
    ERROR = "Error"
    ALL = (PENDING, SYNCING, COMPLETED, ERROR)


class ChannelConnection(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """One merchant account on one marketplace. Credentials are Fernet-encrypted, never returned."""

    __tablename__ = "channel_connections"

    channel: Mapped[str] = mapped_column(String(40))  # registry key: "shopify", ...
    name: Mapped[str] = mapped_column(String(200))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # non-secret parameters
    credentials_encrypted: Mapped[str] = mapped_column(Text)
    token_encrypted: Mapped[str | None] = mapped_column(Text, default=None)  # the connector's cached access token
    poll_interval_seconds: Mapped[int | None] = mapped_column(Integer)  # None = manual; no default: None is a choice
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.PENDING)
    status_message: Mapped[str | None] = mapped_column(Text, default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    last_error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    disabled: Mapped[bool] = mapped_column(default=False)


class PollingCursor(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """The engine's incremental cursor: connectors read it, only the engine writes it."""

    __tablename__ = "polling_cursors"
    __table_args__ = (UniqueConstraint("connection_id", "stream"),)

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(40), default="orders")
    last_value: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class WebhookDelivery(IdMixin, WorkspaceMixin, Base):
    """The durable inbox: a delivery is stored (and committed) before we answer 2xx."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("connection_id", "delivery_id"),
        Index("ix_webhook_deliveries_pending", "status", "id"),
    )

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    delivery_id: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # what parse_webhook needs again
    triggered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(20), default="received")  # received | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)


class Listing(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """A product as listed on a channel, with the ids needed to push stock to it."""

    __tablename__ = "listings"
    __table_args__ = (UniqueConstraint("connection_id", "external_id"),)

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id"), default=None)
    sku: Mapped[str | None] = mapped_column(String(200), default=None)
    title: Mapped[str | None] = mapped_column(String(500), default=None)
    external_id: Mapped[str] = mapped_column(String(100))
    inventory_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    last_pushed_quantity: Mapped[int | None] = mapped_column(Integer, default=None)
    last_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    ats_quantity: Mapped[int | None] = mapped_column(Integer, default=None)  # last computed available-to-sell
    ats_explanation: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # the rule's terms
    ats_computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class RunStatus:
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNFINISHED = (QUEUED, RUNNING)


class SyncRun(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """One sync of a connection (poll, bulk import, one order). Our own row is the source of truth."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_conn_status", "connection_id", "status"),)

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # poll | bulk | order
    trigger: Mapped[str] = mapped_column(String(20))  # schedule | manual | retry | webhook | api
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.QUEUED)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)  # None = now
    target_external_id: Mapped[str | None] = mapped_column(String(100), default=None)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    worker_id: Mapped[str | None] = mapped_column(String(200), default=None)
    page_cursor: Mapped[str | None] = mapped_column(Text, default=None)  # resume point of a bulk run
    pages: Mapped[int] = mapped_column(Integer, default=0)
    orders_seen: Mapped[int] = mapped_column(Integer, default=0)
    orders_created: Mapped[int] = mapped_column(Integer, default=0)
    orders_updated: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)

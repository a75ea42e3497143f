"""Pydantic shapes for channel connections and sync runs (API in and out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ALLOWED_POLL_INTERVALS_SECONDS = (300, 900, 3600)


class ConnectionCreate(BaseModel):
    channel: str = Field(examples=["shopify"])
    name: str = Field(min_length=1, max_length=200)
    settings: dict[str, Any] = Field(default_factory=dict)
    credentials: dict[str, Any] = Field(default_factory=dict)
    poll_interval_seconds: int | None = Field(default=None, description="300, 900, 3600, or null for manual")
    use_default_interval: bool = True


class ConnectionUpdate(BaseModel):
    name: str | None = None
    poll_interval_seconds: int | None = None
    manual: bool = False
    credentials: dict[str, Any] | None = None  # reconnect


class ConnectionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    name: str
    settings: dict[str, Any]
    status: str
    status_message: str | None
    resolution: str | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    next_poll_at: datetime | None
    retry_count: int
    poll_interval_seconds: int | None
    capabilities: list[str] = Field(default_factory=list)
    webhook_url: str | None = None


class ChannelTypePublic(BaseModel):
    """A channel Fenicia can connect: what it supports, why not the rest, and how it is synced by default."""

    key: str
    display_name: str
    capabilities: list[str]
    unsupported: dict[str, str]  # capability -> why, shown before the merchant tries
    per_order_limits: bool  # some supported actions can still be refused for particular orders
    receives_webhooks: bool
    default_poll_interval_seconds: int | None
    settings_schema: dict[str, Any]
    credentials_schema: dict[str, Any]


class SyncRunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    kind: str
    trigger: str
    status: str
    attempt: int
    target_external_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    pages: int
    orders_seen: int
    orders_created: int
    orders_updated: int
    errors: int
    error_code: str | None
    error_message: str | None
    created_at: datetime

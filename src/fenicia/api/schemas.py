"""Response and request shapes that only the HTTP API has (the domain ones live in each package's schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fenicia.orders.schemas import OrderPublic


class OrderList(BaseModel):
    items: list[OrderPublic]
    total: int = Field(description="Orders matching the filters, across all pages (also in X-Total-Count).")
    limit: int
    offset: int


class ConnectionTestResult(BaseModel):
    ok: bool
    message: str


class NotificationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    level: str
    title: str
    message: str
    resolution: str | None
    link: str | None
    created_at: datetime
    read_at: datetime | None
    email_status: str | None


class UnreadCount(BaseModel):
    unread: int


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications changed from unread to read.")


class WorkspacePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    slug: str
    notification_email: str | None


class WorkspaceUpdate(BaseModel):
    notification_email: str | None = Field(
        description="Where Fenicia emails what needs a person; null or empty to stop emails.", max_length=320
    )


class WebhookAccepted(BaseModel):
    status: Literal["accepted", "duplicate"]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: str
    engine: dict[str, Any]

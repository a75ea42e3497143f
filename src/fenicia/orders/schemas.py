"""Pydantic shapes for orders and merchant actions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ShipActionCreate(BaseModel):
    carrier: str = Field(min_length=1, max_length=100, examples=["UPS"])
    tracking_number: str = Field(min_length=1, max_length=200)
    tracking_url: str | None = Field(default=None, max_length=1000)
    notify_customer: bool = True


class TrackingActionCreate(BaseModel):
    carrier: str | None = Field(default=None, max_length=100)
    tracking_number: str = Field(min_length=1, max_length=200)
    tracking_url: str | None = Field(default=None, max_length=1000)
    notify_customer: bool = True


class CancelActionCreate(BaseModel):
    reason: Literal["customer", "inventory", "fraud", "declined", "other"] = "other"
    notify_customer: bool = True


class OrderLinePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str
    sku: str | None
    title: str
    quantity: int
    shipped_quantity: int
    cancelled_quantity: int
    unit_price: Decimal | None
    channel_status: str | None


class ShipmentPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    external_id: str | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    status: str | None
    created_at: datetime


class OrderEventPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    source: str
    level: str
    message: str
    resolution: str | None
    data: dict[str, Any]
    created_at: datetime


class OrderActionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    remote_id: str | None
    last_error: str | None
    resolution: str | None
    created_at: datetime
    done_at: datetime | None


class OrderPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    channel: str
    external_id: str
    number: str
    status: str
    channel_status: str
    financial_status: str | None
    deleted_at_source: bool
    customer_name: str | None
    customer_email: str | None
    currency: str | None
    total: Decimal | None
    placed_at: datetime
    channel_updated_at: datetime
    cancelled_at: datetime | None


class OrderDetail(OrderPublic):
    shipping_address: dict[str, Any] | None
    lines: list[OrderLinePublic]
    shipments: list[ShipmentPublic]
    timeline: list[OrderEventPublic] = Field(default_factory=list)
    actions: list[OrderActionPublic] = Field(default_factory=list)
    capabilities: list[str] = Field(default_factory=list)


class OrderFilters(BaseModel):
    connection_id: int | None = None
    channel: str | None = None
    status: str | None = None
    placed_from: datetime | None = None
    placed_to: datetime | None = None
    q: str | None = Field(default=None, description="order number, customer name/email, or SKU")

"""Orders, their lines and shipments, the timeline, and the outbox of merchant actions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fenicia.db.base import Base, IdMixin, TimestampMixin, WorkspaceMixin
from fenicia.db.types import BigId, DecimalText, UTCDateTime


class OrderStatus:
    """One status model for every channel; the channel's own status is kept beside it."""

    PENDING = "pending"
    UNSHIPPED = "unshipped"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    ALL = (PENDING, UNSHIPPED, PARTIALLY_SHIPPED, SHIPPED, DELIVERED, CANCELLED)
    OPEN = (PENDING, UNSHIPPED, PARTIALLY_SHIPPED)


class Order(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("connection_id", "external_id"),
        Index("ix_orders_ws_placed", "workspace_id", "placed_at"),
        Index("ix_orders_ws_status", "workspace_id", "status"),
    )

    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(30))
    channel_status: Mapped[str] = mapped_column(String(200))
    financial_status: Mapped[str | None] = mapped_column(String(40), default=None)
    deleted_at_source: Mapped[bool] = mapped_column(default=False)
    customer_name: Mapped[str | None] = mapped_column(String(300), default=None)
    customer_email: Mapped[str | None] = mapped_column(String(320), default=None)
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    currency: Mapped[str | None] = mapped_column(String(3), default=None)
    total: Mapped[Decimal | None] = mapped_column(DecimalText(), default=None)
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel_updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    shipments: Mapped[list[Shipment]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="Shipment.id"
    )


class OrderLine(IdMixin, WorkspaceMixin, Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(100))
    sku: Mapped[str | None] = mapped_column(String(200), default=None, index=True)
    title: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int] = mapped_column(Integer)
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    unit_price: Mapped[Decimal | None] = mapped_column(DecimalText(), default=None)
    channel_status: Mapped[str | None] = mapped_column(String(100), default=None)

    order: Mapped[Order] = relationship(back_populates="lines")


class Shipment(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str | None] = mapped_column(String(100), default=None)
    carrier: Mapped[str | None] = mapped_column(String(100), default=None)
    tracking_number: Mapped[str | None] = mapped_column(String(200), default=None)
    tracking_url: Mapped[str | None] = mapped_column(String(1000), default=None)
    status: Mapped[str | None] = mapped_column(String(40), default=None)

    order: Mapped[Order] = relationship(back_populates="shipments")


class OrderEvent(IdMixin, WorkspaceMixin, Base):
    """The order's timeline: every sync event, with time, source and a human message."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order", "order_id", "id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # webhook | poll | merchant | api | system | channel
    level: Mapped[str] = mapped_column(String(10), default="info")  # info | warning | error
    message: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()  # lets a new order's events flush in the same batch


class ActionStatus:
    PENDING = "pending"  # waiting to be pushed (maybe after a retry delay)
    IN_PROGRESS = "in_progress"  # a worker is pushing it now
    DONE = "done"
    FAILED = "failed"  # gave up: the merchant is told why and what to do
    UNFINISHED = (PENDING, IN_PROGRESS)


class OrderAction(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """Outbox of merchant actions (ship, cancel, tracking), pushed per connection in id order."""

    __tablename__ = "order_actions"
    __table_args__ = (Index("ix_order_actions_conn_status", "connection_id", "status", "id"),)

    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    connection_id: Mapped[int] = mapped_column(BigId, ForeignKey("channel_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # ship | cancel | tracking
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default=ActionStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    remote_id: Mapped[str | None] = mapped_column(String(100), default=None)
    remote_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ids saved between calls
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    shipment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shipments.id"), default=None)
    claimed_by: Mapped[str | None] = mapped_column(String(200), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

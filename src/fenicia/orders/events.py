"""The order timeline: every sync event, with time, source and a human message."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from fenicia.core.clock import utcnow
from fenicia.orders.models import Order, OrderEvent


class EventKind:
    RECEIVED_WEBHOOK = "received_webhook"
    POLLED = "polled"
    CREATED = "created"
    UPDATED = "updated"
    STATUS_CHANGED = "status_changed"
    CUSTOMER_MODIFIED = "customer_modified"
    CUSTOMER_CANCELLED = "customer_cancelled"
    STALE_IGNORED = "stale_ignored"
    ACTION_REQUESTED = "action_requested"
    PUSHED = "pushed"
    PUSH_FAILED = "push_failed"
    RETRY_SCHEDULED = "retry_scheduled"
    MANUAL_SYNC = "manual_sync"
    SYNC_FAILED = "sync_failed"
    CUSTOMER_NOTIFIED = "customer_notified"
    DELETED_AT_SOURCE = "deleted_at_source"


SOURCE_WORDS = {"webhook": "a webhook", "poll": "polling", "manual": "a manual sync", "bulk": "a bulk sync"}


def source_words(source: str) -> str:
    """How a timeline message names where a change came from."""
    return SOURCE_WORDS.get(source, source)


def imported_message(number: str, connection_name: str, source: str) -> str:
    """The first line of every order's timeline, whichever path created it."""
    return f"Order {number} imported from {connection_name} by {source_words(source)}."


def add_event(
    session: Session,
    order: Order,
    kind: str,
    message: str,
    *,
    source: str,
    level: str = "info",
    resolution: str | None = None,
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    event = OrderEvent(
        workspace_id=order.workspace_id,
        order=order,
        kind=kind,
        source=source,
        level=level,
        message=message,
        resolution=resolution,
        data=data or {},
        created_at=utcnow(),
    )
    session.add(event)
    return event

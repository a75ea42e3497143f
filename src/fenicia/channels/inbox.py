"""Draining the webhook inbox: each stored delivery is applied exactly once, in id order.

One delivery per transaction: the order upsert and the delivery's ``done`` mark commit together, so a
crash either applied both or neither. On PostgreSQL the row is taken with ``FOR UPDATE SKIP LOCKED``
so two workers never apply the same delivery; on SQLite the write transaction serializes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, WebhookDelivery
from fenicia.channels.services import build_connector
from fenicia.connectors.base import ChannelConnector, NormalizedOrder, WebhookEvent
from fenicia.core.clock import utcnow
from fenicia.core.errors import FeniciaError, InvalidRecord, RemoteNotFound, TransientError
from fenicia.orders.events import EventKind, add_event
from fenicia.orders.ingest import find_order, upsert_order
from fenicia.orders.services import mark_deleted_at_source

INBOX_BATCH = 50  # deliveries applied per transaction: one commit (and fsync) for the batch


def _next_deliveries(session: Session, connection_id: int, after_id: int) -> list[WebhookDelivery]:
    query = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.connection_id == connection_id,
            WebhookDelivery.status == "received",
            WebhookDelivery.id > after_id,
        )
        .order_by(WebhookDelivery.id)
        .limit(INBOX_BATCH)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


async def drain_inbox(ctx: SyncContext, connection_id: int) -> int:
    """Applies the connection's received deliveries; returns how many were applied."""
    with ctx.db.read_session() as session:
        conn = session.get(ChannelConnection, connection_id)
        if conn is None:
            return 0
        connector = build_connector(conn, ctx.box, ctx.db, allow_private=ctx.settings.allow_private_source_urls)
    try:
        return await _drain(ctx, connector, connection_id)
    finally:
        await connector.aclose()


async def _drain(ctx: SyncContext, connector: ChannelConnector, connection_id: int) -> int:
    applied, last_id = 0, 0
    while True:
        batch = _apply_batch(ctx, connector, connection_id, last_id)
        applied, last_id = applied + batch.applied, batch.last_id
        if batch.pointer is None:
            if not batch.more:
                return applied
            continue
        # a payload that only points at the order: fetch it, then apply (or stop; the reconciler retries)
        if not await _apply_pointer(ctx, connector, connection_id, last_id, batch.pointer):
            return applied
        applied += 1


@dataclass
class _Batch:
    last_id: int
    applied: int = 0
    more: bool = False  # a full batch: there may be more behind it
    pointer: str | None = None  # order ref of the pointer-only delivery that ended the batch


def _apply_batch(ctx: SyncContext, connector: ChannelConnector, connection_id: int, after_id: int) -> _Batch:
    """Applies up to INBOX_BATCH deliveries in one transaction, stopping at a pointer-only one."""
    batch = _Batch(last_id=after_id)
    with ctx.db.session() as session:
        deliveries = _next_deliveries(session, connection_id, after_id)
        batch.more = len(deliveries) == INBOX_BATCH
        for delivery in deliveries:
            batch.last_id = delivery.id
            delivery.attempts += 1
            try:
                event = connector.parse_webhook(delivery.headers, delivery.body.encode())
            except InvalidRecord as error:
                delivery.status, delivery.error, delivery.processed_at = "failed", error.message, utcnow()
                continue
            if event.order is None and event.order_ref is not None:
                batch.pointer = event.order_ref
                return batch
            if event.order is None:
                delivery.status, delivery.error, delivery.processed_at = "failed", "no order in delivery", utcnow()
                continue
            _apply_event(session, delivery, event, event.order)
            batch.applied += 1
    return batch


def _apply_event(session: Session, delivery: WebhookDelivery, event: WebhookEvent, order: NormalizedOrder) -> None:
    conn = session.get(ChannelConnection, delivery.connection_id)
    assert conn is not None
    result = upsert_order(session, conn, order, source="webhook")
    add_event(
        session,
        result.order,
        EventKind.RECEIVED_WEBHOOK,
        f"Received {event.topic} webhook ({result.outcome}).",
        source="webhook",
        data={"delivery_id": delivery.delivery_id, "topic": event.topic},
    )
    delivery.status, delivery.processed_at, delivery.error = "done", utcnow(), None


async def _apply_pointer(
    ctx: SyncContext, connector: ChannelConnector, connection_id: int, delivery_id: int, ref: str
) -> bool:
    """Fetches the order a pointer-only delivery names; False means stop draining (retry later)."""
    try:
        fresh: NormalizedOrder | None = await connector.get_order(ref)
    except RemoteNotFound:
        fresh = None
    except (TransientError, FeniciaError) as error:
        _record_delivery_error(ctx, delivery_id, error)
        return False
    with ctx.db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is None or delivery.status != "received":
            return True
        if fresh is None:
            order = find_order(session, connection_id, ref)
            if order is not None:
                mark_deleted_at_source(session, order, source="webhook")
            delivery.status, delivery.processed_at = "done", utcnow()
            return True
        _apply_event(session, delivery, WebhookEvent(delivery.delivery_id, delivery.topic, None), fresh)
    return True


def _record_delivery_error(ctx: SyncContext, delivery_id: int, error: FeniciaError) -> None:
    with ctx.db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id)
        if delivery is not None:
            delivery.error = error.message  # stays "received": the reconciler drains it again later

"""Upserting orders: created once, updated with timeline events, never overwritten by an older copy."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import factories
from fenicia.connectors.base import NormalizedLine
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.orders.events import EventKind
from fenicia.orders.ingest import upsert_order
from fenicia.orders.models import Order, OrderEvent, OrderStatus


def _setup(db: Database, box: SecretBox) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        return factories.shopify_connection(s, box, ws).id


def _kinds(db: Database, order_id: int) -> list[str]:
    with db.read_session() as s:
        return list(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))


def test_same_order_twice_is_one_row_and_unchanged(db: Database, box: SecretBox) -> None:
    conn_id = _setup(db, box)
    from fenicia.channels.models import ChannelConnection

    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        first = upsert_order(s, conn, factories.normalized_order("1"), source="webhook")
        second = upsert_order(s, conn, factories.normalized_order("1"), source="poll")
        assert (first.outcome, second.outcome) == ("created", "unchanged")
        assert s.scalar(select(func.count(Order.id))) == 1


def test_older_payload_never_overwrites_newer(db: Database, box: SecretBox) -> None:
    conn_id = _setup(db, box)
    from fenicia.channels.models import ChannelConnection

    newer = factories.normalized_order("7", status=OrderStatus.CANCELLED, channel_status="cancelled")
    older = factories.normalized_order("7", updated=newer.updated_at - timedelta(minutes=3))
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        upsert_order(s, conn, newer, source="webhook")
        result = upsert_order(s, conn, older, source="webhook")
        assert result.outcome == "stale"
        assert result.order.status == OrderStatus.CANCELLED
        order_id = result.order.id
    assert EventKind.STALE_IGNORED in _kinds(db, order_id)


def test_customer_edit_and_cancel_land_on_timeline(db: Database, box: SecretBox) -> None:
    conn_id = _setup(db, box)
    from fenicia.channels.models import ChannelConnection

    base = factories.normalized_order("9")
    edited = factories.normalized_order(
        "9",
        updated=base.updated_at + timedelta(minutes=1),
        lines=[NormalizedLine(external_id="9-1", sku="SKU-1", title="Widget", quantity=3)],
    )
    cancelled = factories.normalized_order(
        "9",
        updated=base.updated_at + timedelta(minutes=2),
        status=OrderStatus.CANCELLED,
        channel_status="cancelled (customer)",
        lines=edited.lines,
    )
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        order_id = upsert_order(s, conn, base, source="webhook").order.id
        assert upsert_order(s, conn, edited, source="webhook").outcome == "updated"
        assert upsert_order(s, conn, cancelled, source="poll").outcome == "updated"
    kinds = _kinds(db, order_id)
    assert kinds[0] == EventKind.CREATED
    for kind in (EventKind.CUSTOMER_MODIFIED, EventKind.CUSTOMER_CANCELLED, EventKind.STATUS_CHANGED):
        assert kind in kinds

"""The fast path for orders we have never seen: batched Core inserts instead of one ORM object each.

Used by paged syncs, where most orders of a first import are new. Writes the same rows and the same
"created" timeline event as the ORM path in ``ingest``; updates of known orders stay on that path.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from fenicia.channels.models import ChannelConnection
from fenicia.connectors.base import NormalizedOrder
from fenicia.core.clock import utcnow
from fenicia.orders.events import EventKind, imported_message
from fenicia.orders.models import Order, OrderEvent, OrderLine, Shipment


def _order_row(conn: ChannelConnection, data: NormalizedOrder, now: Any) -> dict[str, Any]:
    return {
        "workspace_id": conn.workspace_id,
        "connection_id": conn.id,
        "channel": conn.channel,
        "external_id": data.external_id,
        "number": data.number,
        "status": data.status,
        "channel_status": data.channel_status,
        "financial_status": data.financial_status,
        "deleted_at_source": False,
        "customer_name": data.customer_name,
        "customer_email": data.customer_email,
        "shipping_address": data.shipping_address,
        "currency": data.currency,
        "total": data.total,
        "placed_at": data.placed_at,
        "channel_updated_at": data.updated_at,
        "cancelled_at": data.cancelled_at,
        "raw": data.raw,
        "created_at": now,
        "updated_at": now,
    }


def _child_rows(
    conn: ChannelConnection, order_id: int, data: NormalizedOrder, source: str, now: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    ws = conn.workspace_id
    lines = [
        {
            "workspace_id": ws,
            "order_id": order_id,
            "external_id": ln.external_id,
            "sku": ln.sku,
            "title": ln.title,
            "quantity": ln.quantity,
            "shipped_quantity": ln.shipped_quantity,
            "cancelled_quantity": ln.cancelled_quantity,
            "unit_price": ln.unit_price,
            "channel_status": ln.channel_status,
        }
        for ln in data.lines
    ]
    shipments = [
        {
            "workspace_id": ws,
            "order_id": order_id,
            "external_id": sh.external_id,
            "carrier": sh.carrier,
            "tracking_number": sh.tracking_number,
            "tracking_url": sh.tracking_url,
            "status": sh.status or "shipped",
            "created_at": now,
            "updated_at": now,
        }
        for sh in data.shipments
    ]
    event = {
        "workspace_id": ws,
        "order_id": order_id,
        "kind": EventKind.CREATED,
        "source": source,
        "level": "info",
        "message": imported_message(data.number, conn.name, source),
        "resolution": None,
        "data": {"status": data.status, "channel_status": data.channel_status},
        "created_at": now,
    }
    return lines, shipments, event


def insert_new_orders(
    session: Session, conn: ChannelConnection, orders: list[NormalizedOrder], source: str
) -> list[int]:
    """Inserts orders known to be new (and their lines, shipments, first event); returns their ids."""
    if not orders:
        return []
    now = utcnow()
    stmt = insert(Order).returning(Order.id, sort_by_parameter_order=True)
    ids = [row[0] for row in session.execute(stmt, [_order_row(conn, data, now) for data in orders])]
    lines: list[dict[str, Any]] = []
    shipments: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for order_id, data in zip(ids, orders, strict=True):
        order_lines, order_shipments, event = _child_rows(conn, order_id, data, source, now)
        lines += order_lines
        shipments += order_shipments
        events.append(event)
    for model, rows in ((OrderLine, lines), (Shipment, shipments), (OrderEvent, events)):
        if rows:
            session.execute(insert(model), rows)
    return ids

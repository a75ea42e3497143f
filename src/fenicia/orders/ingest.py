"""Upserting channel orders: one unique row per (connection, external id), never older over newer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from fenicia.channels.models import ChannelConnection
from fenicia.connectors.base import NormalizedLine, NormalizedOrder, NormalizedShipment
from fenicia.inventory.ats import order_lines_changed
from fenicia.orders.bulk_insert import insert_new_orders
from fenicia.orders.events import EventKind, add_event, imported_message, source_words
from fenicia.orders.models import Order, OrderLine, OrderStatus, Shipment


@dataclass
class UpsertResult:
    order: Order
    outcome: str  # created | updated | unchanged | stale


def _fingerprint(order: Order) -> tuple[object, ...]:
    lines = tuple((ln.external_id, ln.sku, ln.quantity, ln.shipped_quantity) for ln in order.lines)
    return (order.status, order.channel_status, order.shipping_address, order.customer_email, lines)


def _apply_header(order: Order, data: NormalizedOrder) -> None:
    order.number = data.number
    order.status = data.status
    order.channel_status = data.channel_status
    order.financial_status = data.financial_status
    order.customer_name = data.customer_name
    order.customer_email = data.customer_email
    order.shipping_address = data.shipping_address
    order.currency = data.currency
    order.total = data.total
    order.placed_at = data.placed_at
    order.channel_updated_at = data.updated_at
    order.cancelled_at = data.cancelled_at
    order.raw = data.raw
    order.deleted_at_source = False


def _apply_lines(order: Order, lines: list[NormalizedLine]) -> None:
    existing = {ln.external_id: ln for ln in order.lines}
    seen = set()
    for data in lines:
        seen.add(data.external_id)
        line = existing.get(data.external_id)
        if line is None:
            line = OrderLine(workspace_id=order.workspace_id, external_id=data.external_id)
            order.lines.append(line)
        line.sku = data.sku
        line.title = data.title
        line.quantity = data.quantity
        line.unit_price = data.unit_price
        line.shipped_quantity = data.shipped_quantity
        line.cancelled_quantity = data.cancelled_quantity
        line.channel_status = data.channel_status
    for key, line in existing.items():
        if key not in seen:
            order.lines.remove(line)


def _apply_shipments(order: Order, shipments: list[NormalizedShipment]) -> None:
    by_external = {s.external_id: s for s in order.shipments if s.external_id}
    for data in shipments:
        shipment = by_external.get(data.external_id)
        if shipment is None:
            shipment = Shipment(workspace_id=order.workspace_id, external_id=data.external_id)
            order.shipments.append(shipment)
        shipment.carrier = data.carrier
        shipment.tracking_number = data.tracking_number
        shipment.tracking_url = data.tracking_url
        shipment.status = data.status or "shipped"


ORDER_WRITE_LOCK = 0x46454E4F  # "FENO": the advisory-lock class of order writes


def serialize_order_writes(session: Session, connection_id: int) -> None:
    """One connection's order writers (inbox drain, polls, bulk sync, one-order sync) take turns until
    commit. SQLite has one writer at a time already; on PostgreSQL two of them could both find an order
    missing and both insert it (a unique violation), so they queue on a transaction-scoped advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(ORDER_WRITE_LOCK, connection_id & 0x7FFFFFFF)))


def find_orders(session: Session, connection_id: int, external_ids: list[str]) -> dict[str, Order]:
    """The orders we hold for these channel ids, with lines and shipments, in one round of queries."""
    query = (
        select(Order)
        .where(Order.connection_id == connection_id, Order.external_id.in_(external_ids))
        .options(selectinload(Order.lines), selectinload(Order.shipments))
    )
    return {order.external_id: order for order in session.scalars(query)}


def upsert_orders(
    session: Session, conn: ChannelConnection, orders: list[NormalizedOrder], *, source: str, new_as_rows: bool = False
) -> list[str]:
    """``upsert_order`` for a page of orders: one lookup and one flush; returns each order's outcome.

    With ``new_as_rows`` the orders we have never seen are inserted by batched statements (the bulk
    path of paged syncs) instead of one ORM object each.
    """
    orders = _newest_per_id(orders)
    skus: set[str] = set()
    serialize_order_writes(session, conn.id)
    with session.no_autoflush:
        held = find_orders(session, conn.id, [data.external_id for data in orders])
        fresh = [data for data in orders if data.external_id not in held] if new_as_rows else []
        known = [data for data in orders if not (new_as_rows and data.external_id not in held)]
        outcomes = [
            _upsert_noting(session, conn, held.get(data.external_id), data, source, skus).outcome for data in known
        ]
    session.flush()
    insert_new_orders(session, conn, fresh, source)
    skus.update(ln.sku for data in fresh for ln in data.lines if ln.sku)
    _stock_hook(session, conn, skus, source)
    return outcomes + ["created"] * len(fresh)


def _upsert_noting(
    session: Session, conn: ChannelConnection, order: Order | None, data: NormalizedOrder, source: str, skus: set[str]
) -> UpsertResult:
    """``_upsert``, noting the SKUs of a new or changed order (before and after) for the stock hook."""
    before = {ln.sku for ln in order.lines if ln.sku} if order is not None else set()
    result = _upsert(session, conn, order, data, source)
    if result.outcome in ("created", "updated"):
        skus.update(before, (ln.sku for ln in data.lines if ln.sku))
    return result


def _stock_hook(session: Session, conn: ChannelConnection, skus: set[str], source: str) -> None:
    """A new or changed order lowers (or gives back) the sellable quantity on every channel at once:
    ATS of its products is recomputed in this transaction and pushes are queued; the caller kicks them."""
    if skus:
        order_lines_changed(session, conn.workspace_id, conn.id, skus, f"orders from {conn.name} ({source})")


def _newest_per_id(orders: list[NormalizedOrder]) -> list[NormalizedOrder]:
    """A page may carry the same order twice (it changed while we paged): keep the newest copy."""
    newest: dict[str, NormalizedOrder] = {}
    for data in orders:
        kept = newest.get(data.external_id)
        if kept is None or data.updated_at >= kept.updated_at:
            newest[data.external_id] = data
    return list(newest.values())


def find_order(session: Session, connection_id: int, external_id: str) -> Order | None:
    query = (
        select(Order)
        .where(Order.connection_id == connection_id, Order.external_id == external_id)
        .options(selectinload(Order.lines), selectinload(Order.shipments))
    )
    return session.scalar(query)


def upsert_order(session: Session, conn: ChannelConnection, data: NormalizedOrder, *, source: str) -> UpsertResult:
    """Creates or updates the order and writes what happened on its timeline.

    A payload whose channel updated-at is older than the one we hold changes nothing; an equal one is
    applied only if it differs (two edits in the same second must not be lost).
    """
    skus: set[str] = set()
    serialize_order_writes(session, conn.id)
    with session.no_autoflush:
        held = find_orders(session, conn.id, [data.external_id])
        result = _upsert_noting(session, conn, held.get(data.external_id), data, source, skus)
    session.flush()
    _stock_hook(session, conn, skus, source)
    return result


def _upsert(
    session: Session, conn: ChannelConnection, order: Order | None, data: NormalizedOrder, source: str
) -> UpsertResult:
    if order is None:
        return UpsertResult(_create(session, conn, data, source), "created")
    if data.updated_at < order.channel_updated_at:
        add_event(
            session,
            order,
            EventKind.STALE_IGNORED,
            f"Ignored an older copy from {source_words(source)} "
            f"(updated {data.updated_at.isoformat()}, we hold {order.channel_updated_at.isoformat()}).",
            source=source,
        )
        return UpsertResult(order, "stale")
    return UpsertResult(order, _update(session, order, data, source))


def _create(session: Session, conn: ChannelConnection, data: NormalizedOrder, source: str) -> Order:
    order = Order(
        workspace_id=conn.workspace_id,
        connection_id=conn.id,
        channel=conn.channel,
        external_id=data.external_id,
    )
    _apply_header(order, data)
    session.add(order)
    _apply_lines(order, data.lines)
    _apply_shipments(order, data.shipments)
    add_event(
        session,
        order,
        EventKind.CREATED,
        imported_message(data.number, conn.name, source),
        source=source,
        data={"status": data.status, "channel_status": data.channel_status},
    )
    return order


def _update(session: Session, order: Order, data: NormalizedOrder, source: str) -> str:
    before = _fingerprint(order)
    old_status, old_address = order.status, order.shipping_address
    old_lines = {(ln.external_id, ln.quantity) for ln in order.lines}
    _apply_header(order, data)
    _apply_lines(order, data.lines)
    _apply_shipments(order, data.shipments)
    if _fingerprint(order) == before:
        return "unchanged"
    how = source_words(source)
    _describe_changes(session, order, source, how, old_status, old_address, old_lines)
    return "updated"


def _describe_changes(
    session: Session,
    order: Order,
    source: str,
    how: str,
    old_status: str,
    old_address: object,
    old_lines: set[tuple[str, int]],
) -> None:
    if order.status != old_status:
        if order.status == OrderStatus.CANCELLED:
            add_event(
                session,
                order,
                EventKind.CUSTOMER_CANCELLED,
                f"Order cancelled on the channel ({order.channel_status}).",
                source=source,
                level="warning",
            )
        add_event(
            session,
            order,
            EventKind.STATUS_CHANGED,
            f"Status changed from {old_status} to {order.status} ({order.channel_status}).",
            source=source,
            data={"from": old_status, "to": order.status},
        )
    new_lines = {(ln.external_id, ln.quantity) for ln in order.lines}
    if new_lines != old_lines or order.shipping_address != old_address:
        add_event(
            session,
            order,
            EventKind.CUSTOMER_MODIFIED,
            "The customer modified the order (items or shipping address).",
            source=source,
            level="warning",
        )
    add_event(session, order, EventKind.UPDATED, f"Order updated by {how}.", source=source)

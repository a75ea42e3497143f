"""Use-cases for reading orders and marking what the channel tells us."""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, selectinload

from fenicia.core.errors import NotFoundError
from fenicia.inventory.ats import order_lines_changed
from fenicia.orders.events import EventKind, add_event
from fenicia.orders.models import Order, OrderAction, OrderEvent, OrderLine
from fenicia.orders.schemas import OrderFilters

MAX_PAGE_SIZE = 200


def get_order(session: Session, workspace_id: int, order_id: int) -> Order:
    query = (
        select(Order)
        .where(Order.id == order_id, Order.workspace_id == workspace_id)
        .options(selectinload(Order.lines), selectinload(Order.shipments))
    )
    order = session.scalar(query)
    if order is None:
        raise NotFoundError(f"Order {order_id} does not exist in this workspace.")
    return order


def timeline(session: Session, workspace_id: int, order_id: int) -> list[OrderEvent]:
    query = select(OrderEvent).where(OrderEvent.order_id == order_id, OrderEvent.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(OrderEvent.id)))


def actions(session: Session, workspace_id: int, order_id: int) -> list[OrderAction]:
    query = select(OrderAction).where(OrderAction.order_id == order_id, OrderAction.workspace_id == workspace_id)
    return list(session.scalars(query.order_by(OrderAction.id)))


ORDER_NUMBER = re.compile(r"#?(\d+)")


def _filtered(workspace_id: int, filters: OrderFilters) -> Select[Order]:
    query = select(Order).where(Order.workspace_id == workspace_id)
    if filters.connection_id is not None:
        query = query.where(Order.connection_id == filters.connection_id)
    if filters.channel:
        query = query.where(Order.channel == filters.channel)
    if filters.status:
        query = query.where(Order.status == filters.status)
    if filters.placed_from:
        query = query.where(Order.placed_at >= filters.placed_from)
    if filters.placed_to:
        query = query.where(Order.placed_at < filters.placed_to)
    if filters.q:
        query = query.where(_search(workspace_id, filters.q.strip()))
    return query


def _search(workspace_id: int, q: str) -> ColumnElement[bool]:
    """The search box: ``#1234`` or ``1234`` is an order number; anything else an order number, a SKU
    (exact, any letter case: served by the SKU index) or part of the customer's name or email."""
    digits = ORDER_NUMBER.fullmatch(q)
    if digits:
        return Order.number.in_([f"#{digits.group(1)}", digits.group(1)])
    like = f"%{q}%"
    skus = {q, q.upper(), q.lower()}
    sku_match = select(OrderLine.order_id).where(OrderLine.workspace_id == workspace_id, OrderLine.sku.in_(skus))
    return or_(
        Order.number == q,
        Order.customer_name.ilike(like),
        Order.customer_email.ilike(like),
        Order.id.in_(sku_match),
    )


def list_orders(
    session: Session, workspace_id: int, filters: OrderFilters, *, limit: int = 50, offset: int = 0
) -> tuple[list[Order], int]:
    """A page of orders (newest first) and the total matching the filters. The total is counted only
    when the page alone can't tell it (a short page is the last one)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    query = _filtered(workspace_id, filters)
    page = list(session.scalars(query.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit).offset(offset)))
    if len(page) < limit and (page or offset == 0):
        return page, offset + len(page)
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    return page, total


def mark_deleted_at_source(session: Session, order: Order, *, source: str) -> None:
    """The channel no longer has the order: it stops holding stock, and its units go back at once."""
    if order.deleted_at_source:
        return
    order.deleted_at_source = True
    add_event(
        session,
        order,
        EventKind.DELETED_AT_SOURCE,
        "The channel no longer has this order (deleted at source). Fenicia will not retry.",
        source=source,
        level="warning",
        resolution="Nothing to do unless the deletion was a mistake; check the channel's admin.",
    )
    give_back_stock(session, order, f"order {order.number} deleted at source")


def give_back_stock(session: Session, order: Order, reason: str) -> set[int]:
    """The order stopped holding stock (cancelled, deleted at source): available-to-sell of its products
    is recomputed on every channel in this transaction. Returns the connections given new pending
    pushes; the engine kicks their push after the run, drain or action push that called this."""
    skus = {line.sku for line in order.lines if line.sku}
    if not skus:
        return set()
    session.flush()  # the recompute reads the order's new state from the database
    return order_lines_changed(session, order.workspace_id, order.connection_id, skus, reason)

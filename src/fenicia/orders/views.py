"""Read shapes of orders for the API and dashboard, assembled from :mod:`fenicia.orders.services`."""

from __future__ import annotations

from sqlalchemy.orm import Session

from fenicia.channels.views import capabilities_of
from fenicia.core.clock import as_utc
from fenicia.core.errors import ValidationFailed
from fenicia.orders.models import OrderStatus
from fenicia.orders.schemas import (
    OrderActionPublic,
    OrderDetail,
    OrderEventPublic,
    OrderFilters,
    OrderLinePublic,
    OrderPublic,
    ShipmentPublic,
)
from fenicia.orders.services import actions, get_order, list_orders, timeline


def order_detail(session: Session, workspace_id: int, order_id: int) -> OrderDetail:
    """One order with its lines, shipments, timeline, actions and what its channel can do."""
    order = get_order(session, workspace_id, order_id)
    header = OrderPublic.model_validate(order).model_dump()
    return OrderDetail(
        **header,
        shipping_address=order.shipping_address,
        lines=[OrderLinePublic.model_validate(line) for line in order.lines],
        shipments=[ShipmentPublic.model_validate(s) for s in order.shipments],
        timeline=[OrderEventPublic.model_validate(e) for e in timeline(session, workspace_id, order.id)],
        actions=[OrderActionPublic.model_validate(a) for a in actions(session, workspace_id, order.id)],
        capabilities=capabilities_of(order.channel),
    )


def checked_filters(filters: OrderFilters) -> OrderFilters:
    """Filters made safe to query: known status, dates in UTC (a date without zone is read as UTC)."""
    if filters.status is not None and filters.status not in OrderStatus.ALL:
        raise ValidationFailed(
            f"Unknown order status '{filters.status}'.", resolution=f"Use one of: {', '.join(OrderStatus.ALL)}."
        )
    return filters.model_copy(
        update={
            "placed_from": as_utc(filters.placed_from) if filters.placed_from else None,
            "placed_to": as_utc(filters.placed_to) if filters.placed_to else None,
        }
    )


def order_page(
    session: Session, workspace_id: int, filters: OrderFilters, *, limit: int, offset: int
) -> tuple[list[OrderPublic], int]:
    """A page of orders as public shapes, and the total matching the filters."""
    rows, total = list_orders(session, workspace_id, checked_filters(filters), limit=limit, offset=offset)
    return [OrderPublic.model_validate(row) for row in rows], total

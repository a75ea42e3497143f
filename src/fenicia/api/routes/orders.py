"""/api/v1/orders and /api/v1/actions: read orders, ship, add tracking, cancel, sync one order, retry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from sqlalchemy.orm import Session

from fenicia.api.deps import DbDep, DispatcherDep, WorkspaceId, after_commit
from fenicia.api.schemas import OrderList
from fenicia.channels.schemas import SyncRunPublic
from fenicia.channels.services import request_sync
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher
from fenicia.orders.actions import request_cancel, request_ship, request_tracking, retry_action
from fenicia.orders.models import OrderAction
from fenicia.orders.schemas import (
    CancelActionCreate,
    OrderActionPublic,
    OrderDetail,
    OrderFilters,
    ShipActionCreate,
    TrackingActionCreate,
)
from fenicia.orders.services import MAX_PAGE_SIZE, get_order
from fenicia.orders.views import order_detail, order_page

router = APIRouter(prefix="/api/v1", tags=["orders"])

ACTION_RESPONSES: dict[int | str, dict[str, str]] = {
    404: {"description": "No such order in this workspace"},
    409: {"description": "The order's state doesn't allow it (e.g. already cancelled)"},
    422: {"description": "Invalid input, or the channel does not support this operation; nothing was queued"},
}
API_SOURCE = "api"  # how the order timeline names requests made through this API


@router.get("/orders")
def list_(
    ws: WorkspaceId,
    db: DbDep,
    response: Response,
    connection_id: int | None = None,
    channel: str | None = None,
    status_: Annotated[str | None, Query(alias="status")] = None,
    placed_from: datetime | None = None,
    placed_to: datetime | None = None,
    q: Annotated[str | None, Query(description="Order number, customer name or email, or SKU")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> OrderList:
    """Orders newest first. ``placed_to`` is exclusive; dates without a zone are read as UTC."""
    filters = OrderFilters(
        connection_id=connection_id,
        channel=channel,
        status=status_,
        placed_from=placed_from,
        placed_to=placed_to,
        q=q or None,
    )
    with db.read_session() as session:
        items, total = order_page(session, ws, filters, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return OrderList(items=items, total=total, limit=limit, offset=offset)


@router.get("/orders/{order_id}")
def read(order_id: int, ws: WorkspaceId, db: DbDep) -> OrderDetail:
    """One order: lines, shipments, timeline, actions and what its channel supports."""
    with db.read_session() as session:
        return order_detail(session, ws, order_id)


def _queue_action(db: Database, dispatcher: Dispatcher, request: Callable[[Session], OrderAction]) -> OrderActionPublic:
    """One transaction writes the order change and the outbox row; the pusher is woken after commit."""
    with db.session() as session:
        action = request(session)
        public = OrderActionPublic.model_validate(action)
        connection_id = action.connection_id
    after_commit(dispatcher.push_actions, connection_id)
    return public


@router.post("/orders/{order_id}/ship", status_code=status.HTTP_202_ACCEPTED, responses=ACTION_RESPONSES)
def ship(
    order_id: int, data: ShipActionCreate, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> OrderActionPublic:
    """Mark as shipped with carrier and tracking; pushed to the channel in the background."""
    return _queue_action(db, dispatcher, lambda s: request_ship(s, ws, order_id, data, source=API_SOURCE))


@router.post("/orders/{order_id}/tracking", status_code=status.HTTP_202_ACCEPTED, responses=ACTION_RESPONSES)
def tracking(
    order_id: int, data: TrackingActionCreate, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> OrderActionPublic:
    """Add or change the tracking number of the order's latest shipment."""
    return _queue_action(db, dispatcher, lambda s: request_tracking(s, ws, order_id, data, source=API_SOURCE))


@router.post("/orders/{order_id}/cancel", status_code=status.HTTP_202_ACCEPTED, responses=ACTION_RESPONSES)
def cancel(
    order_id: int, data: CancelActionCreate, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep
) -> OrderActionPublic:
    """Cancel the order on the channel."""
    return _queue_action(db, dispatcher, lambda s: request_cancel(s, ws, order_id, data, source=API_SOURCE))


@router.post("/orders/{order_id}/sync", status_code=status.HTTP_202_ACCEPTED)
def sync_one(order_id: int, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> SyncRunPublic:
    """Fetch this one order fresh from the channel now."""
    with db.session() as session:
        order = get_order(session, ws, order_id)
        run, _ = request_sync(
            session, ws, order.connection_id, kind="order", trigger="manual", target_external_id=order.external_id
        )
        public = SyncRunPublic.model_validate(run)
    after_commit(dispatcher.run_sync, public.id, public.connection_id)
    return public


@router.post("/actions/{action_id}/retry", status_code=status.HTTP_202_ACCEPTED, tags=["actions"])
def retry(action_id: int, ws: WorkspaceId, db: DbDep, dispatcher: DispatcherDep) -> OrderActionPublic:
    """Try a failed action again (for example after reconnecting the channel)."""
    with db.session() as session:
        action = retry_action(session, ws, action_id)
        public = OrderActionPublic.model_validate(action)
        connection_id = action.connection_id
    after_commit(dispatcher.push_actions, connection_id)
    return public

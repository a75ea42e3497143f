"""/orders: the filtered, paged list (refreshed live) and one order with its timeline and action forms."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.channels.models import RunStatus
from fenicia.channels.services import get_connection, list_connections, list_runs
from fenicia.core.errors import ValidationFailed
from fenicia.db.engine import Database
from fenicia.orders.models import ActionStatus, OrderStatus
from fenicia.orders.schemas import OrderDetail
from fenicia.orders.services import get_order
from fenicia.orders.views import order_detail, order_page
from fenicia.web.auth import PageUser
from fenicia.web.deps import DbDep
from fenicia.web.forms import ORDERS_PER_PAGE, FormError, OrderQuery, action_blockers, page_number
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

CANCEL_REASONS = ("customer", "inventory", "fraud", "declined", "other")
RUNS_CHECKED = 20  # the connection's newest runs, searched for this order's own unfinished sync


def order_query(
    connection_id: str = "",
    channel: str = "",
    status: str = "",
    placed_from: str = "",
    placed_to: str = "",
    q: str = "",
    page: str = "1",
) -> OrderQuery:
    """Query parameters as typed (strings), so a bad one is shown on the page instead of a JSON 422."""
    return OrderQuery(connection_id, channel, status, placed_from, placed_to, q, page_number(page))


OrderQueryDep = Annotated[OrderQuery, Depends(order_query)]


def _orders(session: Session, user: SignedIn, query: OrderQuery) -> dict[str, Any]:
    connections = list_connections(session, user.workspace_id)
    error: FormError | None = None
    try:
        items, total = order_page(
            session, user.workspace_id, query.filters(), limit=ORDERS_PER_PAGE, offset=query.offset
        )
    except ValidationFailed as exc:
        items, total, error = [], 0, FormError.of("filters", exc)
    return {
        "orders": items,
        "total": total,
        "pages": max(1, math.ceil(total / ORDERS_PER_PAGE)),
        "query": query,
        "error": error,
        "connections": connections,
        "connection_names": {c.id: c.name for c in connections},
        "statuses": OrderStatus.ALL,
    }


@router.get("/orders")
def orders(request: Request, user: PageUser, db: DbDep, query: OrderQueryDep) -> Response:
    with db.read_session() as session:
        context = page_context(session, user, request, **_orders(session, user, query))
    return render(request, "orders.html", context, status=422 if context["error"] else 200)


@router.get("/partials/orders-table")
def orders_table(request: Request, user: PageUser, db: DbDep, query: OrderQueryDep) -> Response:
    """The table alone, with the same filters: re-fetched when the live stream announces a new order."""
    with db.read_session() as session:
        context = {"user": user, **_orders(session, user, query)}
    return render(request, "partials/_orders_table.html", context, status=422 if context["error"] else 200)


def _watching(session: Session, workspace_id: int, order: OrderDetail) -> bool:
    """True while something about this order is still moving: an action not yet pushed, or its own sync.

    The page's activity part then re-fetches itself every few seconds, and stops once this is False.
    """
    if any(a.status in ActionStatus.UNFINISHED for a in order.actions):
        return True
    runs = list_runs(session, workspace_id, order.connection_id, limit=RUNS_CHECKED)
    return any(
        r.kind == "order" and r.target_external_id == order.external_id and r.status in RunStatus.UNFINISHED
        for r in runs
    )


def _order_context(session: Session, user: SignedIn, order_id: int) -> dict[str, Any]:
    order = order_detail(session, user.workspace_id, order_id)
    return {"order": order, "watching": _watching(session, user.workspace_id, order)}


def order_page_response(
    request: Request,
    user: SignedIn,
    db: Database,
    order_id: int,
    *,
    error: FormError | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    """The order page; after a refused action, with the error beside its form and what was typed kept."""
    with db.read_session() as session:
        base = _order_context(session, user, order_id)
        connection = get_connection(session, user.workspace_id, base["order"].connection_id)
        context = page_context(
            session,
            user,
            request,
            **base,
            connection=connection,
            blockers=action_blockers(base["order"].channel, get_order(session, user.workspace_id, order_id).raw),
            error=error,
            values=values or {},
            cancel_reasons=CANCEL_REASONS,
        )
    return render(request, "order.html", context, status=status)


@router.get("/orders/{order_id}")
def order(request: Request, order_id: int, user: PageUser, db: DbDep) -> Response:
    return order_page_response(request, user, db, order_id)


@router.get("/partials/orders/{order_id}/activity")
def order_activity(request: Request, order_id: int, user: PageUser, db: DbDep) -> Response:
    """Status, shipments, actions and timeline: re-fetched by the page while an action or a sync is under way."""
    with db.read_session() as session:
        context = {"user": user, **_order_context(session, user, order_id), "standalone": True}
    return render(request, "partials/_order_activity.html", context)

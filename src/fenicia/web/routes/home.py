"""/ : what needs the merchant now."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from fenicia.channels.models import ConnectionStatus
from fenicia.channels.services import list_connections
from fenicia.inventory.views import needing_attention
from fenicia.notifications.services import list_notifications
from fenicia.orders.models import OrderStatus
from fenicia.orders.schemas import OrderFilters
from fenicia.orders.services import list_orders
from fenicia.web.auth import PageUser
from fenicia.web.deps import DbDep
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

NEEDS_ACTION = (OrderStatus.PENDING, OrderStatus.UNSHIPPED)
NEEDS_ATTENTION = (ConnectionStatus.ERROR, ConnectionStatus.PENDING)
NEWEST_NOTIFICATIONS = 5


@router.get("/")
def home(request: Request, user: PageUser, db: DbDep) -> Response:
    ws = user.workspace_id
    with db.read_session() as session:
        counts = {status: list_orders(session, ws, OrderFilters(status=status), limit=1)[1] for status in NEEDS_ACTION}
        attention = [c for c in list_connections(session, ws) if c.status in NEEDS_ATTENTION]
        sources = needing_attention(session, ws)  # inventory sources in Error or Pending
        notes = list_notifications(session, ws, limit=NEWEST_NOTIFICATIONS)
        context = page_context(
            session, user, request, counts=counts, attention=attention, source_attention=sources, notifications=notes
        )
    return render(request, "home.html", context)

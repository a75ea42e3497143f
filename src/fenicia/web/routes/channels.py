"""/channels: each connection's status and schedule, "Sync orders", and a connection's run history live."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.channels.services import get_connection, list_connections, list_runs, request_sync
from fenicia.web.auth import FormUser, PageUser, safe_next
from fenicia.web.deps import DbDep, DispatcherDep, dispatch
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

RUNS_SHOWN = 20


@router.get("/channels")
def channels(request: Request, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        context = page_context(session, user, request, connections=list_connections(session, user.workspace_id))
    return render(request, "channels.html", context)


@router.get("/partials/channel-status")
def channel_status(request: Request, user: PageUser, db: DbDep) -> Response:
    """The connections table alone, re-fetched when the live stream says a status changed."""
    with db.read_session() as session:
        context = {"user": user, "connections": list_connections(session, user.workspace_id)}
    return render(request, "partials/_channel_status.html", context)


def _detail(session: Session, user: SignedIn, connection_id: int) -> dict[str, Any]:
    conn = get_connection(session, user.workspace_id, connection_id)
    runs = list_runs(session, user.workspace_id, conn.id, limit=RUNS_SHOWN)
    return {"connection": conn, "runs": runs, "latest": runs[0] if runs else None}


@router.get("/channels/{connection_id}")
def channel(request: Request, connection_id: int, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        context = page_context(session, user, request, **_detail(session, user, connection_id))
    return render(request, "channel.html", context)


@router.get("/partials/channels/{connection_id}")
def channel_live(request: Request, connection_id: int, user: PageUser, db: DbDep) -> Response:
    """Status, the latest run's progress and the run history, re-fetched while a run moves."""
    with db.read_session() as session:
        context = {"user": user, **_detail(session, user, connection_id)}
    return render(request, "partials/_channel_live.html", context)


@router.post("/channels/{connection_id}/sync")
def sync_orders(
    connection_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    next_: Annotated[str, Form(alias="next")] = "",
) -> Response:
    """The "Sync orders" button: a bulk run now, whatever the schedule; while one runs, the button shows that one."""
    with db.session() as session:
        run, created = request_sync(session, user.workspace_id, connection_id, kind="bulk", trigger="manual")
        run_id, conn_id = run.id, run.connection_id
    if created:
        dispatch(dispatcher.run_sync, run_id, conn_id)
    target = safe_next(next_ or f"/channels/{conn_id}")
    return RedirectResponse(f"{target}?done={'bulk' if created else 'bulk-running'}", status_code=303)

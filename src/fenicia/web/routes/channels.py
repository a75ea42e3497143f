"""/channels: each connection's status and schedule, and one connection's page with "Sync orders", its live
progress and run history, the warning when a full sync ran recently, and its settings forms.

The forms that change a connection (connect, test, reconnect, frequency) are in
:mod:`fenicia.web.routes.channel_setup`; they re-render this page through :func:`channel_page_response`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.channels.models import RunStatus, SyncRun
from fenicia.channels.services import get_connection, list_connections, list_runs, request_sync
from fenicia.connectors.registry import channel_specs
from fenicia.core.clock import as_utc, utcnow
from fenicia.db.engine import Database
from fenicia.web.auth import FormUser, PageUser, safe_next
from fenicia.web.connect import credential_fields, frequency_choices
from fenicia.web.deps import DbDep, DispatcherDep, SettingsDep, dispatch
from fenicia.web.forms import FormError
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

RUNS_SHOWN = 20
RECENT_BULK_WINDOW = timedelta(hours=1)  # a full sync started within this is "recent": warn before another
WHOLE_SYNC_KINDS = ("poll", "bulk")  # the runs that set the connection's status (one at a time)


@dataclass(frozen=True)
class RecentBulk:
    """The newest full sync ("Sync orders") started within :data:`RECENT_BULK_WINDOW`."""

    started_at: datetime
    minutes_ago: int
    days: int  # how much history one re-reads


def recent_bulk(runs: list[SyncRun], now: datetime, days: int) -> RecentBulk | None:
    """From the newest runs: a bulk run started (or queued) less than an hour ago, if any."""
    for run in runs:
        if run.kind != "bulk":
            continue
        started = as_utc(run.started_at or run.created_at)
        if now - started < RECENT_BULK_WINDOW:
            return RecentBulk(started, max(0, int((now - started).total_seconds() // 60)), days)
        return None
    return None


def _detail(session: Session, user: SignedIn, connection_id: int, bulk_days: int) -> dict[str, Any]:
    conn = get_connection(session, user.workspace_id, connection_id)
    runs = list_runs(session, user.workspace_id, conn.id, limit=RUNS_SHOWN)
    running = next((r for r in runs if r.kind in WHOLE_SYNC_KINDS and r.status in RunStatus.UNFINISHED), None)
    return {
        "connection": conn,
        "runs": runs,
        "latest": runs[0] if runs else None,
        "running": running,
        "recent_bulk": recent_bulk(runs, utcnow(), bulk_days),
    }


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


def channel_page_response(
    request: Request,
    user: SignedIn,
    db: Database,
    bulk_days: int,
    connection_id: int,
    *,
    error: FormError | None = None,
    tested: str | None = None,
    status: int = 200,
) -> Response:
    """The channel page; after a form, with its outcome (``tested``: what the channel answered) or error."""
    with db.read_session() as session:
        detail = _detail(session, user, connection_id, bulk_days)
        spec = channel_specs().get(detail["connection"].channel)
        context = page_context(
            session,
            user,
            request,
            **detail,
            error=error,
            tested=tested,
            credential_fields=credential_fields(spec) if spec is not None else [],
            frequencies=frequency_choices(detail["connection"].poll_interval_seconds),
        )
    return render(request, "channel.html", context, status=status)


@router.get("/channels/{connection_id}")
def channel(request: Request, connection_id: int, user: PageUser, db: DbDep, settings: SettingsDep) -> Response:
    return channel_page_response(request, user, db, settings.bulk_sync_days, connection_id)


@router.get("/partials/channels/{connection_id}")
def channel_live(request: Request, connection_id: int, user: PageUser, db: DbDep, settings: SettingsDep) -> Response:
    """Status, "Sync orders", the latest run's progress and the run history, re-fetched while a run moves."""
    with db.read_session() as session:
        context = {"user": user, **_detail(session, user, connection_id, settings.bulk_sync_days)}
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

"""/notifications: the list, mark one or all read, and the header's unread badge."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from fenicia.notifications.services import list_notifications, mark_read, unread_count
from fenicia.web.auth import FormUser, PageUser
from fenicia.web.deps import DbDep
from fenicia.web.render import page_context, render
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

NOTIFICATIONS_SHOWN = 100


@router.get("/notifications")
def notifications(request: Request, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        rows = list_notifications(session, user.workspace_id, limit=NOTIFICATIONS_SHOWN)
        context = page_context(session, user, request, notifications=rows)
    return render(request, "notifications.html", context)


@router.post("/notifications/read-all")
def read_all(user: FormUser, db: DbDep) -> Response:
    with db.session() as session:
        mark_read(session, user.workspace_id)
    return RedirectResponse("/notifications?done=read", status_code=303)


@router.post("/notifications/{notification_id}/read")
def read_one(notification_id: int, user: FormUser, db: DbDep) -> Response:
    with db.session() as session:
        mark_read(session, user.workspace_id, notification_id)
    return RedirectResponse("/notifications?done=read", status_code=303)


@router.get("/partials/unread")
def unread_badge(request: Request, user: PageUser, db: DbDep) -> Response:
    with db.read_session() as session:
        count = unread_count(session, user.workspace_id)
    return render(request, "partials/_unread.html", {"unread": count})

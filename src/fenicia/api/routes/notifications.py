"""/api/v1/notifications and /api/v1/workspace: what needs the merchant, and where to email it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fenicia.accounts.services import get_workspace, set_notification_email
from fenicia.api.deps import DbDep, WorkspaceId
from fenicia.api.schemas import MarkedRead, NotificationPublic, UnreadCount, WorkspacePublic, WorkspaceUpdate
from fenicia.notifications.services import list_notifications, mark_read, unread_count

router = APIRouter(prefix="/api/v1")

MAX_NOTIFICATIONS_LISTED = 200


@router.get("/notifications", tags=["notifications"])
def list_(
    ws: WorkspaceId,
    db: DbDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_NOTIFICATIONS_LISTED)] = 50,
) -> list[NotificationPublic]:
    """Newest first; ``unread=true`` for only the unread ones."""
    with db.read_session() as session:
        rows = list_notifications(session, ws, unread_only=unread, limit=limit)
        return [NotificationPublic.model_validate(r) for r in rows]


@router.get("/notifications/unread-count", tags=["notifications"])
def count_unread(ws: WorkspaceId, db: DbDep) -> UnreadCount:
    with db.read_session() as session:
        return UnreadCount(unread=unread_count(session, ws))


@router.post("/notifications/read-all", tags=["notifications"])
def read_all(ws: WorkspaceId, db: DbDep) -> MarkedRead:
    with db.session() as session:
        return MarkedRead(marked=mark_read(session, ws))


@router.post("/notifications/{notification_id}/read", tags=["notifications"])
def read_one(notification_id: int, ws: WorkspaceId, db: DbDep) -> MarkedRead:
    with db.session() as session:
        return MarkedRead(marked=mark_read(session, ws, notification_id))


@router.get("/workspace", tags=["workspace"])
def workspace(ws: WorkspaceId, db: DbDep) -> WorkspacePublic:
    with db.read_session() as session:
        return WorkspacePublic.model_validate(get_workspace(session, ws))


@router.patch("/workspace", tags=["workspace"])
def update_workspace(data: WorkspaceUpdate, ws: WorkspaceId, db: DbDep) -> WorkspacePublic:
    """Sets (or clears, with null or "") the address that receives error emails."""
    email = data.notification_email.strip() if data.notification_email else None
    with db.session() as session:
        return WorkspacePublic.model_validate(set_notification_email(session, ws, email))

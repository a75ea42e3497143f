"""Notifications: an in-app row always; an email to the workspace's address for what needs a person.

Emails are an outbox: ``notify`` writes the row (``email_status='pending'``) in the caller's
transaction, and ``send_pending_emails`` delivers them after commit, so a crash never loses one.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fenicia.accounts.models import Workspace
from fenicia.core.clock import utcnow
from fenicia.core.errors import NotFoundError
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from fenicia.notifications.models import Notification


def notify(
    session: Session,
    workspace_id: int,
    *,
    kind: str,
    title: str,
    message: str,
    resolution: str | None = None,
    link: str | None = None,
    level: str = "error",
    email: bool = False,
) -> Notification:
    row = Notification(
        workspace_id=workspace_id,
        kind=kind,
        level=level,
        title=title,
        message=message,
        resolution=resolution,
        link=link,
        created_at=utcnow(),
        email_status="pending" if email else None,
    )
    session.add(row)
    session.flush()
    return row


def list_notifications(
    session: Session, workspace_id: int, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    query = select(Notification).where(Notification.workspace_id == workspace_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, workspace_id: int) -> int:
    query = select(func.count(Notification.id)).where(
        Notification.workspace_id == workspace_id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def mark_read(session: Session, workspace_id: int, notification_id: int | None = None) -> int:
    """Marks one notification (or all, when no id is given) read; returns how many changed."""
    query = select(Notification).where(Notification.workspace_id == workspace_id, Notification.read_at.is_(None))
    if notification_id is not None:
        if (
            session.scalar(
                select(Notification.id).where(
                    Notification.id == notification_id, Notification.workspace_id == workspace_id
                )
            )
            is None
        ):
            raise NotFoundError(f"Notification {notification_id} does not exist.")
        query = query.where(Notification.id == notification_id)
    rows = list(session.scalars(query))
    for row in rows:
        row.read_at = utcnow()
    return len(rows)


def _build_email(settings: Settings, to: str, note: Notification) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Subject"] = f"[Fenicia] {note.title}"
    body = [note.message]
    if note.resolution:
        body.append(f"What to do: {note.resolution}")
    if note.link:
        body.append(f"Open: {settings.base_url()}{note.link}")
    msg.set_content("\n\n".join(body))
    return msg


def _send(settings: Settings, msg: EmailMessage) -> None:
    assert settings.smtp_host
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username and settings.smtp_password:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(msg)


def send_pending_emails(db: Database, settings: Settings, limit: int = 50) -> int:
    """Delivers queued notification emails; returns how many were sent. Failures stay visible on the row."""
    if not settings.smtp_host:
        return 0
    with db.read_session() as session:
        pending = session.execute(
            select(Notification.id, Workspace.notification_email)
            .join(Workspace, Workspace.id == Notification.workspace_id)
            .where(Notification.email_status == "pending")
            .order_by(Notification.id)
            .limit(limit)
        ).all()
    sent = 0
    for note_id, address in pending:
        sent += _deliver_one(db, settings, note_id, address)
    return sent


def _deliver_one(db: Database, settings: Settings, note_id: int, address: str | None) -> int:
    """Claims the email (pending → sending), sends it with no transaction open (SMTP may take seconds,
    and a write transaction on SQLite would block every writer meanwhile), then records the outcome.
    The claim means two workers' ticks never send it twice; a crash mid-send leaves it visibly "sending"."""
    message = _claim(db, settings, note_id, address)
    if message is None:
        return 0
    try:
        _send(settings, message)
    except (OSError, smtplib.SMTPException) as exc:
        _record(db, note_id, "failed", f"{type(exc).__name__}: {exc}")
        return 0
    _record(db, note_id, "sent", None)
    return 1


def _claim(db: Database, settings: Settings, note_id: int, address: str | None) -> EmailMessage | None:
    with db.session() as session:
        note = session.get(Notification, note_id)
        if note is None or note.email_status != "pending":
            return None
        if not address:
            note.email_status = "skipped"
            note.email_error = "The workspace has no notification email; set one in Settings."
            return None
        note.email_status = "sending"
        return _build_email(settings, address, note)


def _record(db: Database, note_id: int, status: str, error: str | None) -> None:
    with db.session() as session:
        note = session.get(Notification, note_id)
        if note is not None:
            note.email_status, note.email_error = status, error

"""Use-cases for workspaces, users and API tokens."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.accounts.models import ApiToken, User, Workspace
from fenicia.core.clock import utcnow
from fenicia.core.crypto import hash_token, new_token
from fenicia.core.errors import ConflictError, NotFoundError, ValidationFailed

_hasher = PasswordHasher()
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


def create_workspace(session: Session, name: str, slug: str, notification_email: str | None = None) -> Workspace:
    if session.scalar(select(Workspace.id).where(Workspace.slug == slug)) is not None:
        raise ConflictError(f"A workspace with the slug '{slug}' already exists.", resolution="Pick another slug.")
    if notification_email and not EMAIL_RE.match(notification_email):
        raise ValidationFailed(f"'{notification_email}' is not an email address.")
    workspace = Workspace(name=name, slug=slug, notification_email=notification_email)
    session.add(workspace)
    session.flush()
    return workspace


def get_workspace(session: Session, workspace_id: int) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError(f"Workspace {workspace_id} does not exist.")
    return workspace


def set_notification_email(session: Session, workspace_id: int, email: str | None) -> Workspace:
    if email and not EMAIL_RE.match(email):
        raise ValidationFailed(f"'{email}' is not an email address.", resolution="Enter an address like ops@shop.com.")
    workspace = get_workspace(session, workspace_id)
    workspace.notification_email = email or None
    return workspace


def create_user(session: Session, workspace_id: int, email: str, password: str, role: str = "owner") -> User:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise ValidationFailed(f"'{email}' is not an email address.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"A user with the email {email} already exists.")
    user = User(workspace_id=workspace_id, email=email, password_hash=_hasher.hash(password), role=role)
    session.add(user)
    session.flush()
    return user


def authenticate_user(session: Session, email: str, password: str) -> User | None:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        _hasher.hash(password)  # same cost whether or not the user exists
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    user.last_login_at = utcnow()
    return user


def create_api_token(
    session: Session, workspace_id: int, name: str, token: str | None = None, user_id: int | None = None
) -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is shown once and never stored."""
    raw = token or new_token("fen")
    row = ApiToken(workspace_id=workspace_id, name=name, token_hash=hash_token(raw), prefix=raw[:8], user_id=user_id)
    session.add(row)
    session.flush()
    return row, raw


def authenticate_token(session: Session, raw: str) -> ApiToken | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if row is None or row.revoked_at is not None:
        return None
    return row


def revoke_api_token(session: Session, workspace_id: int, token_id: int) -> None:
    row = session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.workspace_id == workspace_id))
    if row is None:
        raise NotFoundError(f"API token {token_id} does not exist.")
    row.revoked_at = utcnow()


# --- what the dashboard's Settings page lists -------------------------------------------------------

ROLES = ("owner", "admin", "staff")
MANAGER_ROLES = frozenset({"owner", "admin"})  # may add users and create or revoke API tokens


def list_users(session: Session, workspace_id: int) -> list[User]:
    """The workspace's users, oldest first."""
    return list(session.scalars(select(User).where(User.workspace_id == workspace_id).order_by(User.id)))


def get_user(session: Session, workspace_id: int, user_id: int) -> User:
    user = session.scalar(select(User).where(User.id == user_id, User.workspace_id == workspace_id))
    if user is None:
        raise NotFoundError(f"User {user_id} does not exist in this workspace.")
    return user


def can_manage(user: User) -> bool:
    """Owners and admins manage the workspace's users and API tokens; staff only read them."""
    return user.role in MANAGER_ROLES


def list_api_tokens(session: Session, workspace_id: int) -> list[ApiToken]:
    """The workspace's API tokens (revoked ones too, marked), newest first; never the tokens themselves."""
    query = select(ApiToken).where(ApiToken.workspace_id == workspace_id).order_by(ApiToken.id.desc())
    return list(session.scalars(query))

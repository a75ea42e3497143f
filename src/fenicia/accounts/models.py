"""Workspaces (tenants), their users, API tokens and login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fenicia.db.base import Base, IdMixin, TimestampMixin, WorkspaceMixin
from fenicia.db.types import BigId, UTCDateTime


class Workspace(IdMixin, TimestampMixin, Base):
    __tablename__ = "workspaces"

    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    notification_email: Mapped[str | None] = mapped_column(String(320), default=None)


class User(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="owner")  # owner | admin | staff
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class ApiToken(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    """Only the SHA-256 of a token is stored; the token itself is shown once at creation."""

    __tablename__ = "api_tokens"

    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LoginSession(IdMixin, TimestampMixin, WorkspaceMixin, Base):
    __tablename__ = "login_sessions"
    __table_args__ = (UniqueConstraint("token_hash"),)

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64))
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

"""In-app notifications; email goes out for the ones that need the merchant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fenicia.db.base import Base, IdMixin, WorkspaceMixin
from fenicia.db.types import UTCDateTime


class Notification(IdMixin, WorkspaceMixin, Base):
    __tablename__ = "notifications"

    kind: Mapped[str] = mapped_column(String(40))  # connection_error | action_failed | ...
    level: Mapped[str] = mapped_column(String(10), default="error")
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(Text, default=None)
    link: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    email_status: Mapped[str | None] = mapped_column(String(20), default=None)  # pending|sending|sent|failed|skipped
    email_error: Mapped[str | None] = mapped_column(Text, default=None)

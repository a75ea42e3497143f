"""Dashboard login sessions: create, look up and end them, their CSRF token, and a login rate limit.

A session is a random token in an HttpOnly cookie; only its SHA-256 is stored (``login_sessions``), so
a leaked database can't be replayed as cookies. Each session carries its own CSRF token, which every
dashboard form sends back and which is compared in constant time.

The login rate limit (:class:`LoginRateLimiter`) lives **in memory, per process**: it needs no table
and no write per attempt, and it resets when the process restarts. With several web processes each
counts on its own, so the real limit is ``MAX_FAILURES`` times the number of processes; put the
limit in the reverse proxy as well when running many.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fenicia.accounts.models import LoginSession, User
from fenicia.channels.models import ChannelConnection, SyncRun
from fenicia.core.clock import utcnow
from fenicia.core.crypto import constant_time_equals, hash_token, new_token
from fenicia.notifications.models import Notification
from fenicia.orders.models import Order

SESSION_LIFETIME = timedelta(days=7)
SESSION_TOKEN_PREFIX = "fses"


@dataclass(frozen=True)
class SignedIn:
    """Who is behind a session cookie: the user, their workspace and the session's CSRF token."""

    session_id: int
    user_id: int
    workspace_id: int
    email: str
    csrf_token: str
    expires_at: datetime


def create_login_session(session: Session, user: User, *, now: datetime | None = None) -> tuple[SignedIn, str]:
    """Starts a session for ``user``; returns it and the raw cookie token (shown once, never stored)."""
    now = now or utcnow()
    raw = new_token(SESSION_TOKEN_PREFIX)
    row = LoginSession(
        workspace_id=user.workspace_id,
        user_id=user.id,
        token_hash=hash_token(raw),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=now + SESSION_LIFETIME,
    )
    session.add(row)
    session.flush()
    return _signed_in(row, user.email), raw


def _signed_in(row: LoginSession, email: str) -> SignedIn:
    return SignedIn(row.id, row.user_id, row.workspace_id, email, row.csrf_token, row.expires_at)


def find_login_session(session: Session, raw_token: str, *, now: datetime | None = None) -> SignedIn | None:
    """The live session behind a cookie token, or None when it is unknown or expired."""
    if not raw_token:
        return None
    query = (
        select(LoginSession, User.email)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == hash_token(raw_token))
    )
    found = session.execute(query).first()
    if found is None:
        return None
    row, email = found
    if row.expires_at <= (now or utcnow()):
        return None
    return _signed_in(row, email)


def end_login_session(session: Session, raw_token: str) -> bool:
    """Logs out: deletes the session row; True when there was one."""
    result = session.execute(delete(LoginSession).where(LoginSession.token_hash == hash_token(raw_token)))
    return bool(getattr(result, "rowcount", 0))


def purge_expired_sessions(session: Session, *, now: datetime | None = None) -> int:
    """Deletes expired sessions (called on each login, so the table never grows without bound)."""
    result = session.execute(delete(LoginSession).where(LoginSession.expires_at <= (now or utcnow())))
    return int(getattr(result, "rowcount", 0) or 0)


def csrf_matches(expected: str, submitted: str | None) -> bool:
    """Constant-time comparison of a form's CSRF token with the session's."""
    return bool(submitted) and constant_time_equals(expected, submitted or "")


# --- login rate limit (in memory, per process) ------------------------------------------------------

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
MAX_TRACKED_KEYS = 10_000  # bounds memory under a spray of made-up emails


class LoginRateLimiter:
    """At most ``MAX_FAILURES`` failed logins per (email, client IP) in ``FAILURE_WINDOW``.

    Checked before the password is verified, so a blocked client can't keep guessing; a success
    clears the key. Thread-safe: sync routes run in a thread pool.
    """

    def __init__(self, max_failures: int = MAX_FAILURES, window: timedelta = FAILURE_WINDOW) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], deque[datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(email: str, ip: str) -> tuple[str, str]:
        return email.strip().lower(), ip

    def blocked_until(self, email: str, ip: str, now: datetime | None = None) -> datetime | None:
        """When this email/IP may try again, or None when it may try now."""
        now = now or utcnow()
        with self._lock:
            recent = self._recent(self.key(email, ip), now)
            if len(recent) < self.max_failures:
                return None
            return recent[0] + self.window

    def record_failure(self, email: str, ip: str, now: datetime | None = None) -> None:
        now = now or utcnow()
        with self._lock:
            key = self.key(email, ip)
            self._recent(key, now).append(now)
            if len(self._failures) > MAX_TRACKED_KEYS:
                self._prune(now)

    def reset(self, email: str, ip: str) -> None:
        with self._lock:
            self._failures.pop(self.key(email, ip), None)

    def _recent(self, key: tuple[str, str], now: datetime) -> deque[datetime]:
        recent = self._failures.setdefault(key, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        return recent

    def _prune(self, now: datetime) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
        while len(self._failures) > MAX_TRACKED_KEYS:  # still too many: forget the oldest keys
            del self._failures[next(iter(self._failures))]


# --- what a signed-in dashboard watches -----------------------------------------------------------


@dataclass(frozen=True)
class DashboardPulse:
    """Small fingerprints of what the dashboard shows; a change in one means "re-fetch that part"."""

    newest_order_id: int | None
    unread_notifications: int
    channels_stamp: str  # changes when any connection, or the workspace's newest sync run, is written

    def topics(self) -> dict[str, str]:
        return {
            "orders": str(self.newest_order_id or 0),
            "notifications": str(self.unread_notifications),
            "channels": self.channels_stamp,
        }


def dashboard_pulse(session: Session, workspace_id: int) -> DashboardPulse:
    """One round trip of small, index-backed scalar subqueries, cheap enough for every live stream's tick.

    The newest order is by ``placed_at`` (index ``ix_orders_ws_placed``), i.e. what tops the orders list.
    """
    ws = workspace_id
    newest_order = (
        select(Order.id).where(Order.workspace_id == ws).order_by(Order.placed_at.desc(), Order.id.desc()).limit(1)
    )
    unread = select(func.count(Notification.id)).where(Notification.workspace_id == ws, Notification.read_at.is_(None))
    conn_count = select(func.count(ChannelConnection.id)).where(ChannelConnection.workspace_id == ws)
    conn_written = select(func.max(ChannelConnection.updated_at)).where(ChannelConnection.workspace_id == ws)
    newest_run = select(SyncRun.id).where(SyncRun.workspace_id == ws).order_by(SyncRun.id.desc()).limit(1)
    run_written = select(SyncRun.updated_at).where(SyncRun.workspace_id == ws).order_by(SyncRun.id.desc()).limit(1)
    row = session.execute(
        select(
            newest_order.scalar_subquery(),
            unread.scalar_subquery(),
            conn_count.scalar_subquery(),
            conn_written.scalar_subquery(),
            newest_run.scalar_subquery(),
            run_written.scalar_subquery(),
        )
    ).one()
    stamp = hashlib.sha256(repr(tuple(row[2:])).encode()).hexdigest()[:16]
    return DashboardPulse(row[0], int(row[1] or 0), stamp)

"""The status machine of a connection: Pending → Syncing → Completed | Error, and the retry ladder.

A transient failure schedules retry 1, 2, 3 after ``retry_delays_seconds`` (5 min, 15 min, 1 h by
default) with status Pending and the next attempt time visible; the failure after the last retry
marks Error and notifies. A rate limit waits for its reset without spending a retry. An auth or
permission failure goes straight to Error with "reconnect" as the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from fenicia.channels.models import ChannelConnection, ConnectionStatus
from fenicia.core.errors import AuthError, FeniciaError, RateLimitedError, TransientError
from fenicia.notifications.services import notify

RATE_LIMIT_MIN_WAIT_SECONDS = 1.0


@dataclass
class FailureOutcome:
    """What the engine should do after a failed run: retry at ``retry_at``, or nothing (Error)."""

    retry_at: datetime | None
    spent_retry: bool
    gave_up: bool


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M:%S UTC")


def mark_syncing(conn: ChannelConnection, now: datetime) -> None:
    conn.status = ConnectionStatus.SYNCING
    conn.last_attempt_at = now
    conn.status_message = "Syncing now."


def mark_succeeded(conn: ChannelConnection, now: datetime) -> None:
    conn.status = ConnectionStatus.COMPLETED
    conn.last_success_at = now
    conn.status_message = None
    conn.resolution = None
    conn.last_error_code = None
    conn.retry_count = 0
    conn.next_attempt_at = None


def mark_failed(
    session: Session,
    conn: ChannelConnection,
    error: FeniciaError,
    now: datetime,
    retry_delays_seconds: tuple[float, ...],
) -> FailureOutcome:
    conn.last_error_code = error.code
    if isinstance(error, RateLimitedError):
        return _wait_for_rate_limit(conn, error, now)
    if isinstance(error, TransientError):
        return _schedule_retry(session, conn, error, now, retry_delays_seconds)
    if isinstance(error, AuthError):
        _go_to_error(session, conn, error, "Reconnect the channel in Settings.")
        return FailureOutcome(retry_at=None, spent_retry=False, gave_up=True)
    _go_to_error(session, conn, error, error.resolution or "Check the channel's settings.")
    return FailureOutcome(retry_at=None, spent_retry=False, gave_up=True)


def _wait_for_rate_limit(conn: ChannelConnection, error: RateLimitedError, now: datetime) -> FailureOutcome:
    wait = max(error.retry_after or RATE_LIMIT_MIN_WAIT_SECONDS, RATE_LIMIT_MIN_WAIT_SECONDS)
    retry_at = now + timedelta(seconds=wait)
    conn.status = ConnectionStatus.PENDING
    conn.next_attempt_at = retry_at
    conn.status_message = f"{error.message} Waiting for the rate limit to reset."
    conn.resolution = f"Nothing to do: next attempt at {_hhmm(retry_at)}."
    return FailureOutcome(retry_at=retry_at, spent_retry=False, gave_up=False)


def _schedule_retry(
    session: Session,
    conn: ChannelConnection,
    error: TransientError,
    now: datetime,
    delays: tuple[float, ...],
) -> FailureOutcome:
    if conn.retry_count >= len(delays):
        _go_to_error(session, conn, error, f"Fenicia retried {len(delays)} times. {error.resolution}".strip())
        return FailureOutcome(retry_at=None, spent_retry=False, gave_up=True)
    delay = delays[conn.retry_count]
    conn.retry_count += 1
    retry_at = now + timedelta(seconds=delay)
    conn.status = ConnectionStatus.PENDING
    conn.next_attempt_at = retry_at
    conn.status_message = f"{error.message} Retry {conn.retry_count} of {len(delays)} at {_hhmm(retry_at)}."
    conn.resolution = "Nothing to do yet: Fenicia retries automatically."
    return FailureOutcome(retry_at=retry_at, spent_retry=True, gave_up=False)


def _go_to_error(session: Session, conn: ChannelConnection, error: FeniciaError, resolution: str) -> None:
    already = conn.status == ConnectionStatus.ERROR
    conn.status = ConnectionStatus.ERROR
    conn.next_attempt_at = None
    conn.status_message = error.message
    conn.resolution = resolution
    if already:
        return  # one notification per outage, not one per failed attempt
    notify(
        session,
        conn.workspace_id,
        kind="connection_error",
        title=f"{conn.name} stopped syncing",
        message=error.message,
        resolution=resolution,
        link=f"/channels/{conn.id}",
        email=True,
    )

"""The status machine of a connection or a stock source: Pending → Syncing → Completed | Error, and the ladder.

A transient failure schedules retry 1, 2, 3 after ``retry_delays_seconds`` (5 min, 15 min, 1 h by
default) with status Pending and the next attempt time visible; the failure after the last retry
marks Error and notifies. A rate limit waits for its reset without spending a retry. An auth or
permission failure goes straight to Error with "reconnect" as the resolution.

An outage runs from the failure that marks Error to the next success, and notifies once. A run shows
Syncing while it works, so "already in Error" is read from what a failure leaves behind: an error code
with no retry waiting (Pending always has a next attempt time; a success clears the code). Within an
outage every failure keeps Error and notifies nobody: a transient one does not climb the ladder again
(the next scheduled run, or "Sync now", is the next attempt) and a rate limit only delays the retry.

The functions work on any :class:`StatusHolder` (a channel connection or an inventory source); the
words of the notification and the resolutions come from a :class:`StatusSubject`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.orm import Session

from fenicia.channels.models import ConnectionStatus
from fenicia.core.errors import AuthError, FeniciaError, RateLimitedError, TransientError
from fenicia.notifications.services import notify

RATE_LIMIT_MIN_WAIT_SECONDS = 1.0


class StatusHolder(Protocol):
    """The status fields a channel connection and an inventory source both have (the first three read only)."""

    @property
    def id(self) -> int: ...

    @property
    def workspace_id(self) -> int: ...

    @property
    def name(self) -> str: ...

    status: str
    status_message: str | None
    resolution: str | None
    last_error_code: str | None
    last_success_at: datetime | None
    last_attempt_at: datetime | None
    retry_count: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class StatusSubject:
    """Whose status it is, in the merchant's words: the Error notification and the resolutions."""

    kind: str  # notification kind: "connection_error", "source_error"
    title: str  # "Shop stopped syncing"
    link: str  # the page of the holder: "/channels/3"
    reconnect: str  # the resolution of an authentication failure
    check_settings: str  # the resolution of an error that brings none


def channel_subject(conn: StatusHolder) -> StatusSubject:
    return StatusSubject(
        kind="connection_error",
        title=f"{conn.name} stopped syncing",
        link=f"/channels/{conn.id}",
        reconnect="Reconnect the channel in Settings.",
        check_settings="Check the channel's settings.",
    )


@dataclass
class FailureOutcome:
    """What the engine should do after a failed run: retry at ``retry_at``, or nothing (Error)."""

    retry_at: datetime | None
    spent_retry: bool
    gave_up: bool


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M:%S UTC")


def mark_syncing(holder: StatusHolder, now: datetime) -> None:
    holder.status = ConnectionStatus.SYNCING
    holder.last_attempt_at = now
    holder.status_message = "Syncing now."


def mark_succeeded(holder: StatusHolder, now: datetime) -> None:
    """Completed; also the end of an outage: the next Error notifies again."""
    holder.status = ConnectionStatus.COMPLETED
    holder.last_success_at = now
    holder.status_message = None
    holder.resolution = None
    holder.last_error_code = None
    holder.retry_count = 0
    holder.next_attempt_at = None


def in_outage(holder: StatusHolder) -> bool:
    """Was the holder in Error before this failure? True in Error, and while a run started from Error
    shows Syncing: a recorded failure with no retry waiting (see the module docstring)."""
    if holder.status == ConnectionStatus.ERROR:
        return True
    return holder.last_error_code is not None and holder.next_attempt_at is None


def mark_failed(
    session: Session,
    holder: StatusHolder,
    error: FeniciaError,
    now: datetime,
    retry_delays_seconds: tuple[float, ...],
    subject: StatusSubject | None = None,
) -> FailureOutcome:
    """Pending with a retry time, or Error (notified once per outage). ``subject`` defaults to a channel's."""
    subject = subject or channel_subject(holder)
    outage = in_outage(holder)  # before this failure's code is recorded
    holder.last_error_code = error.code
    if isinstance(error, RateLimitedError):
        return _wait_for_rate_limit(holder, error, now, outage)
    if isinstance(error, TransientError):
        if not outage and holder.retry_count < len(retry_delays_seconds):
            return _schedule_retry(holder, error, now, retry_delays_seconds)
        resolution = _gave_up(holder, error, retry_delays_seconds)
    elif isinstance(error, AuthError):
        resolution = subject.reconnect
    else:
        resolution = error.resolution or subject.check_settings
    _go_to_error(session, holder, error, resolution, subject, notify_merchant=not outage)
    return FailureOutcome(retry_at=None, spent_retry=False, gave_up=True)


def _wait_for_rate_limit(holder: StatusHolder, error: RateLimitedError, now: datetime, outage: bool) -> FailureOutcome:
    wait = max(error.retry_after or RATE_LIMIT_MIN_WAIT_SECONDS, RATE_LIMIT_MIN_WAIT_SECONDS)
    retry_at = now + timedelta(seconds=wait)
    holder.status_message = f"{error.message} Waiting for the rate limit to reset."
    holder.resolution = f"Nothing to do: next attempt at {_hhmm(retry_at)}."
    if outage:
        # still down: it stays Error, with no next attempt time on the row, so that the failure after
        # the wait is seen as the same outage (the engine still gets ``retry_at``)
        holder.status, holder.next_attempt_at = ConnectionStatus.ERROR, None
    else:
        holder.status, holder.next_attempt_at = ConnectionStatus.PENDING, retry_at
    return FailureOutcome(retry_at=retry_at, spent_retry=False, gave_up=False)


def _schedule_retry(
    holder: StatusHolder, error: TransientError, now: datetime, delays: tuple[float, ...]
) -> FailureOutcome:
    delay = delays[holder.retry_count]
    holder.retry_count += 1
    retry_at = now + timedelta(seconds=delay)
    holder.status = ConnectionStatus.PENDING
    holder.next_attempt_at = retry_at
    holder.status_message = f"{error.message} Retry {holder.retry_count} of {len(delays)} at {_hhmm(retry_at)}."
    holder.resolution = "Nothing to do yet: Fenicia retries automatically."
    return FailureOutcome(retry_at=retry_at, spent_retry=True, gave_up=False)


def _gave_up(holder: StatusHolder, error: TransientError, delays: tuple[float, ...]) -> str:
    if holder.retry_count >= len(delays):
        return f"Fenicia retried {len(delays)} times. {error.resolution}".strip()
    return "Fenicia tries again at the next scheduled sync, or use 'Sync now'."


def _go_to_error(
    session: Session,
    holder: StatusHolder,
    error: FeniciaError,
    resolution: str,
    subject: StatusSubject,
    *,
    notify_merchant: bool,
) -> None:
    holder.status = ConnectionStatus.ERROR
    holder.next_attempt_at = None
    holder.status_message = error.message
    holder.resolution = resolution
    if not notify_merchant:
        return  # one notification per outage, not one per failed attempt
    notify(
        session,
        holder.workspace_id,
        kind=subject.kind,
        title=subject.title,
        message=error.message,
        resolution=resolution,
        link=subject.link,
        email=True,
    )

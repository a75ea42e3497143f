"""The connection status machine and the retry ladder, under controlled time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

import factories
from fenicia.channels.models import ChannelConnection, ConnectionStatus
from fenicia.channels.status import mark_failed, mark_succeeded, mark_syncing
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import AuthError, RateLimitedError, TransientError
from fenicia.db.engine import Database
from fenicia.notifications.models import Notification

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LADDER = (300.0, 900.0, 3600.0)


def _conn(db: Database, box: SecretBox) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        return factories.shopify_connection(s, box, ws).id


def test_new_connection_is_pending_then_syncing_then_completed(db: Database, box: SecretBox) -> None:
    conn_id = _conn(db, box)
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None and conn.status == ConnectionStatus.PENDING
        mark_syncing(conn, NOW)
        assert conn.status == ConnectionStatus.SYNCING
        mark_succeeded(conn, NOW)
        assert (conn.status, conn.last_success_at, conn.retry_count) == (ConnectionStatus.COMPLETED, NOW, 0)


def test_transient_failures_climb_the_ladder_then_error_and_notify_once(db: Database, box: SecretBox) -> None:
    conn_id = _conn(db, box)
    expected = [timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1)]
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        for attempt, delay in enumerate(expected, start=1):
            outcome = mark_failed(s, conn, TransientError("Shopify timed out."), NOW, LADDER)
            assert outcome.retry_at == NOW + delay
            assert conn.status == ConnectionStatus.PENDING
            assert conn.next_attempt_at == NOW + delay
            assert f"Retry {attempt} of 3" in (conn.status_message or "")
        outcome = mark_failed(s, conn, TransientError("Shopify timed out."), NOW, LADDER)
        assert outcome.gave_up and outcome.retry_at is None
        assert conn.status == ConnectionStatus.ERROR
        mark_failed(s, conn, TransientError("Shopify timed out."), NOW, LADDER)
        notes = s.scalars(select(Notification).where(Notification.workspace_id == conn.workspace_id)).all()
        assert len(notes) == 1 and notes[0].email_status == "pending"


def test_rate_limit_waits_for_reset_without_spending_a_retry(db: Database, box: SecretBox) -> None:
    conn_id = _conn(db, box)
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        outcome = mark_failed(s, conn, RateLimitedError("Too many requests.", retry_after=42), NOW, LADDER)
        assert outcome.retry_at == NOW + timedelta(seconds=42) and not outcome.spent_retry
        assert conn.retry_count == 0 and conn.status == ConnectionStatus.PENDING


def test_auth_failure_goes_straight_to_error_with_reconnect(db: Database, box: SecretBox) -> None:
    conn_id = _conn(db, box)
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        outcome = mark_failed(s, conn, AuthError("Shopify rejected the access token."), NOW, LADDER)
        assert outcome.gave_up and conn.status == ConnectionStatus.ERROR
        assert conn.resolution == "Reconnect the channel in Settings."


def test_success_after_retries_resets_the_ladder(db: Database, box: SecretBox) -> None:
    conn_id = _conn(db, box)
    with db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        mark_failed(s, conn, TransientError("x"), NOW, LADDER)
        mark_succeeded(conn, NOW + timedelta(minutes=5))
        assert conn.retry_count == 0 and conn.next_attempt_at is None
        assert mark_failed(s, conn, TransientError("x"), NOW, LADDER).retry_at == NOW + timedelta(minutes=5)

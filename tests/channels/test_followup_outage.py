"""One notification per outage, through real sync runs against the Shopify simulator.

A run marks the connection Syncing before it fails, so "already in Error" must survive that: an outage
notifies once, however many scheduled runs fail after it, until a success ends it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, ConnectionStatus, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.services import request_sync
from fenicia.notifications.models import Notification
from shopify_sim import SimHandle


def _run(ctx: SyncContext, conn_id: int, trigger: str = "schedule") -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        run, _ = request_sync(s, conn.workspace_id, conn_id, kind="poll", trigger=trigger)
        run_id = run.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def _conn(ctx: SyncContext, conn_id: int) -> ChannelConnection:
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        return conn


def _notifications(ctx: SyncContext) -> int:
    with ctx.db.read_session() as s:
        return int(s.scalar(select(func.count(Notification.id)).where(Notification.kind == "connection_error")) or 0)


def test_failed_runs_of_a_connection_in_error_notify_once_until_it_recovers(
    ctx: SyncContext, conn_id: int, shop: SimHandle
) -> None:
    shop.fault("missing_scope", count=None)
    for _ in range(3):  # the outage, then two scheduled runs that fail the same way
        assert _run(ctx, conn_id).error_code == "auth_error"
        assert _conn(ctx, conn_id).status == ConnectionStatus.ERROR
    assert _notifications(ctx) == 1

    shop.control("DELETE", "faults")
    assert _run(ctx, conn_id, trigger="manual").status == RunStatus.SUCCEEDED
    assert _conn(ctx, conn_id).status == ConnectionStatus.COMPLETED

    shop.fault("missing_scope", count=None)
    assert _run(ctx, conn_id).error_code == "auth_error"
    assert _notifications(ctx) == 2  # a new outage after the recovery notifies again


def test_a_transient_failure_within_an_outage_keeps_error_without_climbing_the_ladder_again(
    ctx: SyncContext, conn_id: int, shop: SimHandle
) -> None:
    shop.fault("missing_scope", count=1)
    assert _run(ctx, conn_id).error_code == "auth_error"
    shop.fault("http_503", count=None)

    assert _run(ctx, conn_id, trigger="manual").error_code == "transient"

    conn = _conn(ctx, conn_id)
    assert conn.status == ConnectionStatus.ERROR and conn.next_attempt_at is None
    assert "next scheduled sync" in (conn.resolution or "")
    with ctx.db.read_session() as s:
        assert s.scalar(select(func.count(SyncRun.id)).where(SyncRun.status == RunStatus.QUEUED)) == 0
    assert _notifications(ctx) == 1


def test_a_rate_limit_within_an_outage_waits_but_the_next_failure_is_the_same_outage(
    ctx: SyncContext, conn_id: int, shop: SimHandle
) -> None:
    shop.fault("missing_scope", count=1)
    assert _run(ctx, conn_id).error_code == "auth_error"
    shop.control("POST", "config", {"retry_after_s": 30.0})
    shop.fault("http_429", count=None)

    assert _run(ctx, conn_id, trigger="manual").error_code == "rate_limited"

    conn = _conn(ctx, conn_id)
    assert conn.status == ConnectionStatus.ERROR and "rate limit" in (conn.status_message or "")
    with ctx.db.read_session() as s:
        retry = s.scalar(select(SyncRun).where(SyncRun.status == RunStatus.QUEUED, SyncRun.trigger == "retry"))
        assert retry is not None and retry.scheduled_for is not None  # the wait is still honoured
        retry_id, due = retry.id, retry.scheduled_for
    shop.control("DELETE", "faults")
    shop.fault("missing_scope", count=None)
    with time_machine.travel(due + timedelta(seconds=1), tick=True):
        asyncio.run(execute_run(ctx, retry_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, retry_id)
        assert done is not None and done.error_code == "auth_error"
    assert _conn(ctx, conn_id).status == ConnectionStatus.ERROR
    assert _notifications(ctx) == 1

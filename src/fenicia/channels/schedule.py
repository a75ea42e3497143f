"""What is due: the scheduler's tick and the reconciler's sweep over our own tables.

Our tables are the source of truth; the engine's queues only carry "go look at X". So the tick
creates poll runs from each connection's frequency (and source runs from each inventory source's),
and the reconciler re-offers everything unfinished — a lost enqueue, or the work of a dead worker,
is found again here. Stock pushes pending for a connection are offered by both: the tick bounds how
long a push queued outside a worker (an API call) can wait when its kick was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, RunStatus, SyncRun, WebhookDelivery
from fenicia.channels.services import request_sync
from fenicia.core.errors import AuthError
from fenicia.inventory.push import connections_with_pending_pushes, release_claims
from fenicia.inventory.schedule import create_due_source_runs, due_source_runs, reset_dead_workers_source_runs
from fenicia.orders.actions import release_stale_claims
from fenicia.orders.models import ActionStatus, OrderAction


@dataclass
class WorkItem:
    kind: str  # "run" | "inbox" | "actions" | "source_run" | "stock"
    connection_id: int  # the queue partition: the channel connection, or the inventory source of a "source_run"
    run_id: int | None = None  # a sync run, or a source run


def plan_due_work(ctx: SyncContext, now: datetime) -> list[WorkItem]:
    """Creates poll runs for connections whose frequency is due; returns due runs and due action retries."""
    with ctx.db.session() as session:
        due = select(ChannelConnection).where(
            ChannelConnection.disabled.is_(False),
            ChannelConnection.poll_interval_seconds.is_not(None),
            ChannelConnection.next_poll_at <= now,
            or_(ChannelConnection.last_error_code.is_(None), ChannelConnection.last_error_code != AuthError.code),
        )
        for conn in session.scalars(due):
            assert conn.poll_interval_seconds is not None
            conn.next_poll_at = now + timedelta(seconds=conn.poll_interval_seconds)
            request_sync(session, conn.workspace_id, conn.id, kind="poll", trigger="schedule")
        create_due_source_runs(session, now)
    with ctx.db.read_session() as session:
        return _due_runs(session, now) + _due_actions(session, now) + _due_sources(session, now)


def _due_sources(session: Session, now: datetime) -> list[WorkItem]:
    """Due source runs, then connections with stock pushes due."""
    runs = [WorkItem("source_run", source_id, run_id) for run_id, source_id in due_source_runs(session, now)]
    return runs + [WorkItem("stock", conn_id) for conn_id in connections_with_pending_pushes(session, now)]


def _due_runs(session: Session, now: datetime) -> list[WorkItem]:
    query = select(SyncRun.id, SyncRun.connection_id).where(
        SyncRun.status == RunStatus.QUEUED, or_(SyncRun.scheduled_for.is_(None), SyncRun.scheduled_for <= now)
    )
    return [WorkItem("run", conn_id, run_id) for run_id, conn_id in session.execute(query.order_by(SyncRun.id))]


def _due_actions(session: Session, now: datetime) -> list[WorkItem]:
    query = (
        select(OrderAction.connection_id)
        .where(
            OrderAction.status == ActionStatus.PENDING,
            or_(OrderAction.next_attempt_at.is_(None), OrderAction.next_attempt_at <= now),
        )
        .distinct()
    )
    return [WorkItem("actions", conn_id) for conn_id in session.scalars(query)]


def reconcile(ctx: SyncContext, now: datetime, dead_workers: list[str]) -> list[WorkItem]:
    """Everything unfinished: runs and actions of dead workers go back to queued; all is re-offered."""
    with ctx.db.session() as session:
        if dead_workers:
            stale = select(SyncRun).where(SyncRun.status == RunStatus.RUNNING, SyncRun.worker_id.in_(dead_workers))
            for run in session.scalars(stale):
                run.status, run.worker_id = RunStatus.QUEUED, None  # resumes from its last committed page
            release_stale_claims(session, dead_workers)
            release_claims(session, dead_workers)  # stock pushes they were sending
    reset_dead_workers_source_runs(ctx, dead_workers)
    with ctx.db.read_session() as session:
        inbox = select(WebhookDelivery.connection_id).where(WebhookDelivery.status == "received").distinct()
        items = [WorkItem("inbox", conn_id) for conn_id in session.scalars(inbox)]
        return _due_runs(session, now) + items + _due_actions(session, now) + _due_sources(session, now)

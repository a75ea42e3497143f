"""What is due for inventory sources: runs by frequency, retries whose time has come, and what the
reconciler must offer again (runs of dead workers, queued runs whose enqueue was lost).

Called from :mod:`fenicia.channels.schedule`, which hands everything to the engine as work items.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import RunStatus
from fenicia.core.errors import AuthError
from fenicia.inventory.models import InventorySource, SourceRun
from fenicia.inventory.services import request_source_sync


def create_due_source_runs(session: Session, now: datetime) -> int:
    """A scheduled run for every source whose frequency is due (not paused, not waiting for new
    credentials); a source with a run still unfinished keeps that one. Returns the runs created."""
    due = select(InventorySource).where(
        InventorySource.disabled.is_(False),
        InventorySource.frequency_seconds.is_not(None),
        InventorySource.next_sync_at <= now,
        or_(InventorySource.last_error_code.is_(None), InventorySource.last_error_code != AuthError.code),
    )
    created = 0
    for source in session.scalars(due):
        assert source.frequency_seconds is not None
        source.next_sync_at = now + timedelta(seconds=source.frequency_seconds)
        _, new = request_source_sync(session, source.workspace_id, source.id, trigger="schedule")
        created += new
    return created


def due_source_runs(session: Session, now: datetime) -> list[tuple[int, int]]:
    """(run id, source id) of queued runs that may start now, oldest first."""
    query = select(SourceRun.id, SourceRun.source_id).where(
        SourceRun.status == RunStatus.QUEUED,
        or_(SourceRun.scheduled_for.is_(None), SourceRun.scheduled_for <= now),
    )
    return [(run_id, source_id) for run_id, source_id in session.execute(query.order_by(SourceRun.id))]


def reset_dead_workers_source_runs(ctx: SyncContext, dead_workers: list[str]) -> int:
    """Runs held by dead workers go back to queued: they read again from the start (nothing of an
    unfinished read was applied; an interrupted apply finds only what is still different)."""
    if not dead_workers:
        return 0
    with ctx.db.session() as session:
        stale = select(SourceRun).where(SourceRun.status == RunStatus.RUNNING, SourceRun.worker_id.in_(dead_workers))
        runs = list(session.scalars(stale))
        for run in runs:
            run.status, run.worker_id = RunStatus.QUEUED, None
        return len(runs)

"""Worker heartbeats in our own table: who is alive, and whose work the reconciler must take over."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import select, update

from fenicia.db.engine import Database
from fenicia.engine.models import WorkerHeartbeat


def default_executor_id(configured: str | None = None) -> str:
    """The stable identity of this process: the configured one, else ``hostname-pid``."""
    return configured or f"{socket.gethostname()}-{os.getpid()}"


def previous_run_crashed(db: Database, executor_id: str) -> bool:
    """True when a row with our id exists and was never marked stopped: our last incarnation died."""
    with db.read_session() as session:
        row = session.get(WorkerHeartbeat, executor_id)
        return row is not None and row.stopped_at is None


def beat(db: Database, executor_id: str, now: datetime, *, starting: bool = False) -> None:
    """Upserts our row; ``starting`` resets ``started_at``. A beat also clears ``stopped_at``."""
    with db.session() as session:
        row = session.get(WorkerHeartbeat, executor_id)
        if row is None:
            row = WorkerHeartbeat(executor_id=executor_id, started_at=now)
            session.add(row)
        if starting:
            row.started_at = now
        row.hostname = socket.gethostname()
        row.pid = os.getpid()
        row.last_seen_at = now
        row.stopped_at = None


def mark_stopped(db: Database, executor_ids: list[str], now: datetime) -> None:
    """A clean stop, or a dead worker whose work was taken over: the reconciler forgets it."""
    if not executor_ids:
        return
    with db.session() as session:
        session.execute(
            update(WorkerHeartbeat)
            .where(WorkerHeartbeat.executor_id.in_(executor_ids), WorkerHeartbeat.stopped_at.is_(None))
            .values(stopped_at=now)
        )


def dead_workers(db: Database, now: datetime, dead_after_seconds: float, self_id: str) -> list[str]:
    """Workers silent for longer than ``dead_after_seconds``, not stopped cleanly, other than us."""
    cutoff = now - timedelta(seconds=dead_after_seconds)
    with db.read_session() as session:
        rows = session.scalars(
            select(WorkerHeartbeat.executor_id)
            .where(
                WorkerHeartbeat.stopped_at.is_(None),
                WorkerHeartbeat.last_seen_at < cutoff,
                WorkerHeartbeat.executor_id != self_id,
            )
            .order_by(WorkerHeartbeat.executor_id)
        )
        return list(rows)


def live_workers(db: Database, now: datetime, dead_after_seconds: float) -> int:
    cutoff = now - timedelta(seconds=dead_after_seconds)
    with db.read_session() as session:
        rows = session.scalars(
            select(WorkerHeartbeat.executor_id).where(
                WorkerHeartbeat.stopped_at.is_(None), WorkerHeartbeat.last_seen_at >= cutoff
            )
        )
        return len(list(rows))

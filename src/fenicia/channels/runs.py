"""Executing one sync run: poll (incremental), bulk ("Sync orders") or one order ("Sync" on an order).

The engine owns the cursor: a connector reads ``OrderCursor``; this module saves the new value in the
same transaction as the page of orders it covers, never past the run's start, and never backwards.
Each page is committed on its own with the run's progress and resume token, so a run taken over
from a dead worker resumes where the last committed page ended.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, PollingCursor, RunStatus, SyncRun
from fenicia.channels.services import build_connector
from fenicia.channels.status import mark_failed, mark_succeeded, mark_syncing
from fenicia.connectors.base import ChannelConnector, OrderCursor, OrderPage
from fenicia.core.clock import utcnow
from fenicia.core.errors import FeniciaError, RemoteNotFound, TransientError
from fenicia.orders.events import EventKind, add_event
from fenicia.orders.ingest import find_order, upsert_order, upsert_orders
from fenicia.orders.services import mark_deleted_at_source

ORDERS_STREAM = "orders"
log = structlog.get_logger(__name__)


@dataclass
class StartedRun:
    run_id: int
    connection_id: int
    kind: str
    started_at: datetime
    window_start: datetime | None
    resume_token: str | None
    target_external_id: str | None


def _start(ctx: SyncContext, run_id: int) -> tuple[StartedRun, ChannelConnector] | None:
    with ctx.db.session() as session:
        run = session.get(SyncRun, run_id, with_for_update=True)
        if run is None or run.status not in RunStatus.UNFINISHED:
            return None
        if run.scheduled_for is not None and run.scheduled_for > utcnow():
            return None  # a retry waiting for its time: the scheduler hands it over when due
        conn = session.get(ChannelConnection, run.connection_id)
        assert conn is not None
        now = utcnow()
        run.status, run.worker_id, run.heartbeat_at = RunStatus.RUNNING, ctx.worker_id, now
        run.started_at = run.started_at or now
        run.attempt += 1
        if run.kind != "order":
            mark_syncing(conn, now)
        started = StartedRun(
            run.id, conn.id, run.kind, run.started_at, run.window_start, run.page_cursor, run.target_external_id
        )
        connector = build_connector(conn, ctx.box, ctx.db, allow_private=ctx.settings.allow_private_source_urls)
    return started, connector


async def execute_run(ctx: SyncContext, run_id: int) -> None:
    """Runs a queued sync run to its end. Remote failures become statuses and retries, never exceptions."""
    begun = _start(ctx, run_id)
    if begun is None:
        return
    started, connector = begun
    try:
        if started.kind == "order":
            await _sync_one_order(ctx, started, connector)
        else:
            await _sync_pages(ctx, started, connector)
    except FeniciaError as error:
        _finish_failed(ctx, started, error)
    except Exception as exc:  # a bug must not leave the run "running" forever: fail it, retry on the ladder
        log.exception("sync run crashed", run_id=run_id)
        _finish_failed(
            ctx,
            started,
            TransientError(
                f"Unexpected error in Fenicia ({type(exc).__name__}).",
                resolution="Fenicia retries; report it if it keeps happening.",
            ),
        )
    else:
        _finish_ok(ctx, started)
    finally:
        await connector.aclose()


async def _sync_pages(ctx: SyncContext, started: StartedRun, connector: ChannelConnector) -> None:
    """Fetches page n+1 while page n commits (in a thread), so the network and the database overlap."""
    cursor = OrderCursor(updated_after=_window_start(ctx, started), resume_token=started.resume_token)
    pages = aiter(connector.fetch_orders(cursor))
    upcoming: asyncio.Future[OrderPage] = asyncio.ensure_future(anext(pages))
    try:
        while True:
            try:
                page = await upcoming
            except StopAsyncIteration:
                return
            upcoming = asyncio.ensure_future(anext(pages))
            await asyncio.to_thread(_commit_page, ctx, started, page)
    finally:
        if not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(BaseException):
                await upcoming


def _window_start(ctx: SyncContext, started: StartedRun) -> datetime:
    if started.window_start is not None:
        return started.window_start
    if started.kind == "bulk":
        return started.started_at - timedelta(days=ctx.settings.bulk_sync_days)
    with ctx.db.read_session() as session:
        last = session.scalar(
            select(PollingCursor.last_value).where(
                PollingCursor.connection_id == started.connection_id, PollingCursor.stream == ORDERS_STREAM
            )
        )
    if last is None:
        return started.started_at - timedelta(days=ctx.settings.initial_import_days)
    return last - timedelta(seconds=ctx.settings.poll_overlap_seconds)


def _commit_page(ctx: SyncContext, started: StartedRun, page: OrderPage) -> None:
    source = "poll" if started.kind == "poll" else "bulk"
    with ctx.db.session() as session:
        conn = session.get(ChannelConnection, started.connection_id)
        run = session.get(SyncRun, started.run_id)
        assert conn is not None and run is not None
        for outcome in upsert_orders(session, conn, page.orders, source=source, new_as_rows=True):
            run.orders_created += outcome == "created"
            run.orders_updated += outcome == "updated"
        run.orders_seen += len(page.orders)
        run.pages += 1
        run.page_cursor = page.next_token
        run.heartbeat_at = utcnow()
        if page.orders:
            newest = max(order.updated_at for order in page.orders)
            _advance_cursor(session, conn, min(newest, started.started_at))


def _advance_cursor(session: Session, conn: ChannelConnection, value: datetime) -> None:
    cursor = session.scalar(
        select(PollingCursor).where(PollingCursor.connection_id == conn.id, PollingCursor.stream == ORDERS_STREAM)
    )
    if cursor is None:
        session.add(
            PollingCursor(workspace_id=conn.workspace_id, connection_id=conn.id, stream=ORDERS_STREAM, last_value=value)
        )
    elif cursor.last_value is None or value > cursor.last_value:
        cursor.last_value = value  # only ever forward


async def _sync_one_order(ctx: SyncContext, started: StartedRun, connector: ChannelConnector) -> None:
    assert started.target_external_id is not None
    try:
        fresh = await connector.get_order(started.target_external_id)
    except RemoteNotFound:
        with ctx.db.session() as session:
            order = find_order(session, started.connection_id, started.target_external_id)
            if order is not None:
                mark_deleted_at_source(session, order, source="manual")
        raise
    with ctx.db.session() as session:
        conn = session.get(ChannelConnection, started.connection_id)
        run = session.get(SyncRun, started.run_id)
        assert conn is not None and run is not None
        result = upsert_order(session, conn, fresh, source="manual")
        add_event(
            session,
            result.order,
            EventKind.MANUAL_SYNC,
            f"Fetched fresh from {conn.name}: {result.outcome}.",
            source="manual",
        )
        run.orders_seen, run.pages = 1, 1
        run.orders_created += result.outcome == "created"
        run.orders_updated += result.outcome == "updated"


def _finish_ok(ctx: SyncContext, started: StartedRun) -> None:
    with ctx.db.session() as session:
        run = session.get(SyncRun, started.run_id)
        conn = session.get(ChannelConnection, started.connection_id)
        assert run is not None and conn is not None
        now = utcnow()
        run.status, run.finished_at, run.page_cursor = RunStatus.SUCCEEDED, now, None
        if started.kind != "order" or conn.status != "Error":
            mark_succeeded(conn, now)


def _finish_failed(ctx: SyncContext, started: StartedRun, error: FeniciaError) -> None:
    with ctx.db.session() as session:
        run = session.get(SyncRun, started.run_id)
        conn = session.get(ChannelConnection, started.connection_id)
        assert run is not None and conn is not None
        now = utcnow()
        run.status, run.finished_at = RunStatus.FAILED, now
        run.errors += 1
        run.error_code, run.error_message = error.code, error.message
        if started.kind == "order":
            _order_run_failed(session, conn, started, error, now, ctx)
            return
        outcome = mark_failed(session, conn, error, now, ctx.settings.retry_delays_seconds)
        if outcome.retry_at is not None:
            session.add(
                SyncRun(
                    workspace_id=conn.workspace_id,
                    connection_id=conn.id,
                    kind=started.kind,
                    trigger="retry",
                    status=RunStatus.QUEUED,
                    scheduled_for=outcome.retry_at,
                    window_start=started.window_start,
                )
            )


def _order_run_failed(
    session: Session, conn: ChannelConnection, started: StartedRun, error: FeniciaError, now: datetime, ctx: SyncContext
) -> None:
    """One order's sync failed: say so on its timeline; auth problems also stop the connection."""
    assert started.target_external_id is not None
    order = find_order(session, conn.id, started.target_external_id)
    if isinstance(error, RemoteNotFound):
        return  # already marked deleted at source; nothing to retry
    if order is not None:
        hint = "Try Sync again in a few minutes." if isinstance(error, TransientError) else error.resolution
        add_event(
            session,
            order,
            EventKind.SYNC_FAILED,
            f"Sync failed: {error.message}",
            source="manual",
            level="error",
            resolution=hint,
        )
    if not isinstance(error, TransientError):
        mark_failed(session, conn, error, now, ctx.settings.retry_delays_seconds)

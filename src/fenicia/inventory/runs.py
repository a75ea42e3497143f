"""Executing one source run: read everything, check it, then apply it (or, for a preview, only show it).

1. Start: the run becomes ``running`` (one at a time per source: the engine's queue partition), the
   source ``Syncing`` (not for a preview).
2. Read (:mod:`fenicia.inventory.reader`): stream the connector's pages, map them, keep what changed.
   Nothing is written to the stock yet: a read that fails anywhere (a bad row, a lost connection)
   applies nothing at all.
3. Guard: a full read much smaller than the last full read (``truncation_guard_percent``) fails the run
   with a clear error and applies *nothing* — not only the zeroing. A file that lost half its rows is
   more likely a broken export than a real change, and its remaining rows are no more trustworthy;
   applying them alone would leave a half-updated source and hide the problem. "Accept the smaller
   file" (``accept_row_drop``) forgets the old count and syncs again.
4. Zeroing: a full read with ``missing_means_zero`` sets the source's levels it did not mention to 0.
5. Apply (:mod:`fenicia.inventory.apply`): batches in short transactions, each with its ATS recompute;
   stock pushes are kicked after each commit.
6. Finish: Completed with the snapshot time, the row count of a full read, the file's fingerprint and,
   for delta-capable sources, the cursor (moved forward only, by the engine alone). A failure follows
   the ladder (:mod:`fenicia.inventory.status`): a retry is a new queued run with ``scheduled_for``.

A scheduled read (or a retry) of a file source skips a file identical to the one applied last; a person
asking ("Sync now", the first sync, a preview) always reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import structlog

from fenicia.channels.context import SyncContext
from fenicia.channels.models import RunStatus
from fenicia.connectors.base import InventorySourceConnector, LevelsCursor, LevelsPage
from fenicia.connectors.source_registry import source_spec
from fenicia.core.clock import utcnow
from fenicia.core.errors import FeniciaError, TransientError, ValidationFailed
from fenicia.inventory.apply import Kick, apply_read
from fenicia.inventory.mapping import MappingRules
from fenicia.inventory.models import InventorySource, SourceRun
from fenicia.inventory.reader import PageMapper, ReadOutcome, RunView
from fenicia.inventory.services import build_source_connector
from fenicia.inventory.spool import Spool
from fenicia.inventory.status import mark_failed, mark_succeeded, mark_syncing

log = structlog.get_logger(__name__)
TRIGGERS_SKIPPING_UNCHANGED = ("schedule", "retry")
GUARD_REASON = "truncation_guard"
SPOOL_DIR = "tmp"


@runtime_checkable
class ReadsFiles(Protocol):
    """A source that reads files: told the last applied file, it reports the one it read."""

    known_file: dict[str, Any] | None
    file_info: dict[str, Any] | None


async def execute_source_run(ctx: SyncContext, run_id: int, kick: Kick | None = None) -> set[int]:
    """Runs a queued source run to its end; failures become statuses and retries, never exceptions.

    Returns the channel connections that got new stock pushes (kicked through ``kick`` as they come)."""
    view = _start(ctx, run_id)
    if view is None:
        return set()
    outcome = ReadOutcome(Spool(ctx.settings.data_dir / SPOOL_DIR))
    connector: InventorySourceConnector | None = None
    try:
        connector = await asyncio.to_thread(_connector, ctx, view)
        mapper = await _read(ctx, view, connector, outcome)
        pushed = await asyncio.to_thread(_check_and_apply, ctx, view, outcome, mapper, kick)
    except FeniciaError as error:
        _finish_failed(ctx, view, error)
        return set()
    except Exception as exc:  # a bug must not leave the run "running" forever: fail it, retry on the ladder
        log.exception("source run crashed", run_id=run_id)
        unexpected = TransientError(
            f"Unexpected error in Fenicia ({type(exc).__name__}).",
            resolution="Fenicia retries; report it if it keeps happening.",
        )
        _finish_failed(ctx, view, unexpected)
        return set()
    finally:
        outcome.spool.close()
        if connector is not None:
            await connector.aclose()
    _finish_ok(ctx, view, outcome)
    return pushed


def _start(ctx: SyncContext, run_id: int) -> RunView | None:
    with ctx.db.session() as session:
        run = session.get(SourceRun, run_id, with_for_update=True)
        now = utcnow()
        if run is None or run.status not in RunStatus.UNFINISHED:
            return None
        if run.scheduled_for is not None and run.scheduled_for > now:
            return None  # a retry waiting for its time: the scheduler hands it over when due
        source = session.get(InventorySource, run.source_id)
        assert source is not None
        if source.disabled and run.trigger in TRIGGERS_SKIPPING_UNCHANGED:
            run.status, run.finished_at, run.error_message = RunStatus.FAILED, now, "The source is paused."
            return None
        run.status, run.worker_id, run.heartbeat_at = RunStatus.RUNNING, ctx.worker_id, now
        run.started_at = now
        run.attempt += 1
        if not run.preview:
            mark_syncing(source, now)
        return _view(run, source, now)


def _view(run: SourceRun, source: InventorySource, now: datetime) -> RunView:
    return RunView(
        run_id=run.id,
        source_id=source.id,
        workspace_id=source.workspace_id,
        name=source.name,
        preview=run.preview,
        trigger=run.trigger,
        started_at=now,
        update_mode=source.update_mode,
        missing_means_zero=source.missing_means_zero,
        guard_percent=source.truncation_guard_percent,
        last_row_count=source.last_row_count,
        cursor_value=source.cursor_value,
        last_file=source.last_file,
        rules=MappingRules.model_validate(source.mapping or {}),
        supports_delta=source_spec(source.kind).supports_delta,
    )


def _connector(ctx: SyncContext, view: RunView) -> InventorySourceConnector:
    with ctx.db.read_session() as session:
        source = session.get(InventorySource, view.source_id)
        assert source is not None
        connector = build_source_connector(source, ctx.box, ctx.settings)
    if isinstance(connector, ReadsFiles):
        connector.known_file = view.last_file if view.trigger in TRIGGERS_SKIPPING_UNCHANGED else None
    return connector


def _cursor(ctx: SyncContext, view: RunView) -> LevelsCursor:
    if view.update_mode != "delta" or not view.supports_delta or view.cursor_value is None:
        return LevelsCursor()
    return LevelsCursor(updated_after=view.cursor_value - timedelta(seconds=ctx.settings.poll_overlap_seconds))


async def _read(
    ctx: SyncContext, view: RunView, connector: InventorySourceConnector, outcome: ReadOutcome
) -> PageMapper:
    """Maps page n (in a thread) while the connector fetches page n+1."""
    mapper = await asyncio.to_thread(PageMapper, ctx, view, outcome)
    pages = aiter(connector.fetch_levels(_cursor(ctx, view)))
    upcoming: asyncio.Future[LevelsPage] = asyncio.ensure_future(anext(pages))
    try:
        while True:
            try:
                page = await upcoming
            except StopAsyncIteration:
                break
            upcoming = asyncio.ensure_future(anext(pages))
            await asyncio.to_thread(mapper.map_page, page.levels)
    finally:
        if not upcoming.done():
            upcoming.cancel()
            with contextlib.suppress(BaseException):
                await upcoming
    outcome.full_snapshot = connector.full_snapshot
    outcome.snapshot_at = connector.snapshot_at or view.started_at
    if isinstance(connector, ReadsFiles):
        outcome.file_info = connector.file_info
    for warning in getattr(connector, "warnings", None) or []:
        outcome.warn(str(warning))
    return mapper


def _check_and_apply(
    ctx: SyncContext, view: RunView, outcome: ReadOutcome, mapper: PageMapper, kick: Kick | None
) -> set[int]:
    refusal = _guard(view, outcome)
    if view.preview:
        if refusal is not None:
            outcome.warn(f"A sync would refuse this read: {refusal.message}")
        mapper.finish_preview()
        return set()
    if refusal is not None:
        raise refusal
    if outcome.full_snapshot and view.missing_means_zero:
        mapper.spool_missing()
    return apply_read(ctx, view, outcome, kick)


def _guard(view: RunView, outcome: ReadOutcome) -> ValidationFailed | None:
    """The truncated-file guard (module docstring, step 3); None when the read may be applied."""
    last = view.last_row_count
    if not (outcome.full_snapshot and view.missing_means_zero) or not last:
        return None
    drop = (last - outcome.rows_read) * 100 / last
    if drop <= view.guard_percent:
        return None
    return ValidationFailed(
        f"This read has {outcome.rows_read:,} rows, {drop:.0f} % fewer than the {last:,} of the last full read "
        f"(the guard refuses drops over {view.guard_percent} %). Nothing was applied.",
        resolution="Check the file or the source for a truncated export. If the drop is real, choose "
        "'Accept the smaller file' (sync with accept_drop=true), or raise the guard percentage.",
        reason=GUARD_REASON,
    )


def _finish_ok(ctx: SyncContext, view: RunView, outcome: ReadOutcome) -> None:
    with ctx.db.session() as session:
        run = session.get(SourceRun, view.run_id)
        source = session.get(InventorySource, view.source_id)
        assert run is not None and source is not None
        now = utcnow()
        _record_counts(run, outcome, now)
        run.status = RunStatus.SUCCEEDED
        if view.preview:
            run.preview_rows = outcome.preview_rows
            return
        mark_succeeded(source, now)
        if outcome.full_snapshot or outcome.rows_read:
            source.snapshot_at = outcome.snapshot_at
        if outcome.full_snapshot:
            source.last_row_count = outcome.rows_read
        if outcome.file_info is not None:
            source.last_file = outcome.file_info
        if view.supports_delta and (source.cursor_value is None or view.started_at > source.cursor_value):
            source.cursor_value = view.started_at  # the engine's cursor: forward only


def _record_counts(run: SourceRun, outcome: ReadOutcome, now: datetime) -> None:
    run.finished_at, run.heartbeat_at = now, now
    run.snapshot_at = outcome.snapshot_at
    run.rows_read, run.rows_mapped, run.rows_unmapped = outcome.rows_read, outcome.rows_mapped, outcome.rows_unmapped
    run.rows_skipped, run.rows_zeroed = outcome.rows_skipped, outcome.rows_zeroed
    run.rows_changed = outcome.spool.count + len(outcome.extras)
    run.warnings = outcome.all_warnings() or None


def _finish_failed(ctx: SyncContext, view: RunView, error: FeniciaError) -> None:
    with ctx.db.session() as session:
        run = session.get(SourceRun, view.run_id)
        source = session.get(InventorySource, view.source_id)
        assert run is not None and source is not None
        now = utcnow()
        run.status, run.finished_at = RunStatus.FAILED, now
        run.error_code = str(error.details.get("reason", error.code))
        run.error_message, run.resolution = error.message, error.resolution
        if view.preview:
            return  # a preview shows its error; the source's status is not touched
        outcome = mark_failed(session, source, error, now, ctx.settings.retry_delays_seconds)
        if outcome.retry_at is not None:
            session.add(
                SourceRun(
                    workspace_id=source.workspace_id,
                    source_id=source.id,
                    trigger="retry",
                    status=RunStatus.QUEUED,
                    scheduled_for=outcome.retry_at,
                )
            )

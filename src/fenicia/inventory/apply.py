"""The apply phase of a source run: write the changes a successful read found, in short transactions.

Each batch of changes (``APPLY_BATCH`` rows, gathered from the read's pages) is written in its own
transaction together with the available-to-sell recompute of its products (``ats.recompute``, which
queues the stock pushes), so the stock numbers and the pushes they cause always commit together, and
a large source never holds the database's write lock for long. Pushes are kicked after each commit.

A crash between two batches leaves the earlier batches applied: each is a true number of the same
read, so nothing inconsistent is visible, and the run, reset by the reconciler, reads again and writes
what is still different. Zeroing (codes missing from a full read) is in the same spool, after the
read's own rows; summed repeats (``extras``) and the unmapped report come last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.core.clock import utcnow
from fenicia.inventory import ats
from fenicia.inventory.levels import Change, write_changes
from fenicia.inventory.models import InventorySource, SourceRun, StockLevel
from fenicia.inventory.reader import Extra, ReadOutcome, RunView
from fenicia.inventory.unmapped import mark_mapped, record_source_unmapped

Kick = Callable[[int], None]
UNMAPPED_CHUNK = 1000
APPLY_BATCH = 2000  # changes per transaction: few recomputes (each has a fixed cost), short write locks
EXTRAS_CHUNK = 1000


def apply_read(ctx: SyncContext, view: RunView, outcome: ReadOutcome, kick: Kick | None) -> set[int]:
    """Writes everything; returns the connections that got new stock pushes (already kicked if ``kick``)."""
    snapshot = outcome.snapshot_at or view.started_at
    pushed: set[int] = set()
    changed = 0
    for batch in _coalesced(outcome.spool.batches(), APPLY_BATCH):
        changed += len(batch)
        pushed |= _commit(ctx, view, kick, changed, partial(_write, view=view, batch=batch, snapshot=snapshot))
    keys = sorted(outcome.extras)
    for start in range(0, len(keys), EXTRAS_CHUNK):
        chunk = {k: outcome.extras[k] for k in keys[start : start + EXTRAS_CHUNK]}
        changed += len(chunk)
        pushed |= _commit(ctx, view, kick, changed, partial(_add_extras, view=view, extras=chunk, snapshot=snapshot))
    _record_report(ctx, view, outcome)
    return pushed


def _coalesced(batches: Iterable[list[Change]], size: int) -> Iterator[list[Change]]:
    """The spool's pages (a read's changes are sparse: a few per page) merged into batches of ``size``."""
    pending: list[Change] = []
    for batch in batches:
        pending.extend(batch)
        while len(pending) >= size:
            yield pending[:size]
            pending = pending[size:]
    if pending:
        yield pending


def _commit(
    ctx: SyncContext, view: RunView, kick: Kick | None, changed: int, write: Callable[[Session], set[int]]
) -> set[int]:
    """One batch, its ATS recompute and the run's progress in one transaction; then the push kicks."""
    with ctx.db.session() as session:
        products = write(session)
        connections = ats.recompute(session, view.workspace_id, products, reason=_reason(view))
        run = session.get(SourceRun, view.run_id)
        if run is not None:
            run.rows_changed, run.heartbeat_at = changed, utcnow()
    for connection_id in sorted(connections):
        if kick is not None:
            kick(connection_id)
    return connections


def _reason(view: RunView) -> str:
    return f"stock source '{view.name}' (run {view.run_id})"


def _write(session: Session, view: RunView, batch: Sequence[Change], snapshot: datetime) -> set[int]:
    source = session.get(InventorySource, view.source_id)
    assert source is not None
    write_changes(session, source, batch, snapshot, utcnow())
    return {change.product_id for change in batch}


def _add_extras(session: Session, view: RunView, extras: dict[tuple[int, int], Extra], snapshot: datetime) -> set[int]:
    """Adds the later occurrences of repeated rows to the first one, now written."""
    now = utcnow()
    for level in _levels_of(session, view.source_id, extras):
        extra = extras.get((level.product_id, level.location_id))
        if extra is None:
            continue
        level.available += extra.available
        if extra.on_hand is not None:
            level.on_hand = (level.on_hand or 0) + extra.on_hand
        if extra.reserved is not None:
            level.reserved = (level.reserved or 0) + extra.reserved
        level.snapshot_at, level.changed_at = snapshot, now
    return {product_id for product_id, _ in extras}


def _levels_of(session: Session, source_id: int, keys: Iterable[tuple[int, int]]) -> list[StockLevel]:
    products = sorted({product_id for product_id, _ in keys})
    query = select(StockLevel).where(StockLevel.source_id == source_id, StockLevel.product_id.in_(products))
    return list(session.scalars(query))


def _record_report(ctx: SyncContext, view: RunView, outcome: ReadOutcome) -> None:
    """The unmapped report, in chunks of codes, and report rows whose code maps now."""
    now = utcnow()
    codes = sorted(outcome.unmapped)
    for start in range(0, len(codes), UNMAPPED_CHUNK):
        chunk = {code: outcome.unmapped[code] for code in codes[start : start + UNMAPPED_CHUNK]}
        with ctx.db.session() as session:
            record_source_unmapped(session, view.workspace_id, view.source_id, chunk, now)
    if outcome.now_mapped:
        with ctx.db.session() as session:
            mark_mapped(session, view.workspace_id, view.source_id, outcome.now_mapped)

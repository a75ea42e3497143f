"""Source runs and stock pushes in the engine: the scheduler offers due source runs (by frequency and
retry time), the reconciler re-offers unfinished ones and pending pushes, and a real worker Engine runs a
source sync through its DBOS queue and kicks the stock push it caused."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.schedule import WorkItem, plan_due_work, reconcile
from fenicia.core.clock import utcnow
from fenicia.core.settings import Settings
from fenicia.engine import Engine
from fenicia.inventory.models import InventorySource, SourceRun, StockPush
from inventory.inv_world import InvWorld, csv_text
from worker_engine import wait_for, worker_factory


def _source_items(items: list[WorkItem]) -> list[tuple[str, int, int | None]]:
    return [(i.kind, i.connection_id, i.run_id) for i in items if i.kind in ("source_run", "stock")]


def test_the_scheduler_offers_due_source_runs_by_frequency(world: InvWorld, ctx: SyncContext) -> None:
    due = world.source(frequency_seconds=900)
    world.source(frequency_seconds=None)  # manual only
    world.source(frequency_seconds=300, paused=True)
    now = utcnow()

    items = _source_items(plan_due_work(ctx, now))

    runs = world.runs(due)
    assert [(r.trigger, r.status) for r in runs] == [("initial", "queued")]
    assert items == [("source_run", due, runs[0].id)]
    assert world.get_source(due).next_sync_at == now + timedelta(seconds=900)
    again = _source_items(plan_due_work(ctx, now + timedelta(seconds=60)))
    assert again == items and len(world.runs(due)) == 1  # still queued: offered again, not doubled


def test_a_retry_is_offered_only_when_due_and_auth_errors_wait_for_new_credentials(
    world: InvWorld, ctx: SyncContext
) -> None:
    source_id = world.source(frequency_seconds=300)
    locked_out = world.source(frequency_seconds=300)
    now = utcnow()
    with world.db.session() as s:
        s.add(
            SourceRun(
                workspace_id=world.ws, source_id=source_id, trigger="retry", scheduled_for=now + timedelta(minutes=5)
            )
        )
        source = s.get(InventorySource, source_id)
        locked = s.get(InventorySource, locked_out)
        assert source is not None and locked is not None
        locked.last_error_code = "auth_error"

    assert _source_items(plan_due_work(ctx, now)) == []
    retry_id = world.runs(source_id)[0].id
    assert _source_items(plan_due_work(ctx, now + timedelta(minutes=5))) == [("source_run", source_id, retry_id)]
    assert world.runs(locked_out) == []


def test_the_reconciler_re_offers_unfinished_runs_and_pending_pushes(world: InvWorld, ctx: SyncContext) -> None:
    product_id = world.product("A")
    connection_id, _ = world.listing(product_id)
    orphan = world.source()
    held_by_dead = world.source()
    held_by_live = world.source()
    world.upload(orphan, csv_text([("A", 5)]))
    with world.db.session() as s:
        queued = SourceRun(workspace_id=world.ws, source_id=orphan, trigger="manual")  # its enqueue was lost
        dead = SourceRun(workspace_id=world.ws, source_id=held_by_dead, trigger="schedule", status="running")
        live = SourceRun(workspace_id=world.ws, source_id=held_by_live, trigger="schedule", status="running")
        dead.worker_id, live.worker_id = "dead-worker", "live-worker"
        s.add_all([queued, dead, live])
        s.flush()
        ids = (queued.id, dead.id, live.id)
    world.execute(ids[0])  # the orphan runs (by hand here) and queues a stock push for the listing
    with world.db.session() as s:
        s.add(SourceRun(workspace_id=world.ws, source_id=orphan, trigger="manual"))

    items = _source_items(reconcile(ctx, utcnow(), ["dead-worker"]))

    orphan_retry = world.runs(orphan)[-1].id
    assert ("source_run", held_by_dead, ids[1]) in items and ("source_run", orphan, orphan_retry) in items
    assert all(run_id != ids[2] for _, _, run_id in items)
    assert ("stock", connection_id, None) in items
    assert world.run(ids[1]).status == "queued" and world.run(ids[1]).worker_id is None
    assert world.run(ids[2]).status == "running"


# --- a real worker Engine ----------------------------------------------------------------------------------


@pytest.fixture
def make_engine(ctx: SyncContext, settings: Settings) -> Iterator[Callable[[], Engine]]:
    with worker_factory(ctx, settings, "inv-worker") as make:
        yield make


def test_a_worker_runs_a_due_source_sync_and_kicks_the_stock_push(
    world: InvWorld, make_engine: Callable[[], Engine]
) -> None:
    product_id = world.product("A")
    connection_id, _ = world.listing(product_id)
    with world.db.session() as s:
        conn = s.get(ChannelConnection, connection_id)
        assert conn is not None
        conn.poll_interval_seconds = None  # this test is about the source, not the channel's polls
    source_id = world.source(frequency_seconds=900)
    world.upload(source_id, csv_text([("A", 5)]))
    engine = make_engine()

    engine.tick_once()

    run_id = world.runs(source_id)[0].id
    wait_for(
        lambda: engine.workflow_statuses(f"source:{source_id}:") == {f"source:{source_id}:{run_id}:0": "SUCCESS"}, "run"
    )
    assert world.run(run_id).status == "succeeded" and world.run(run_id).worker_id == "inv-worker"
    assert world.levels(source_id) == {("A", "main"): 5}
    wait_for(lambda: "SUCCESS" in engine.workflow_statuses(f"stock:{connection_id}:").values(), "the stock push")
    with world.db.read_session() as s:
        push = s.scalar(select(StockPush).where(StockPush.connection_id == connection_id))
        # the shop is not reachable here: the push was tried, and waits for its retry
        assert push is not None and push.quantity == 5 and push.attempts == 1

"""Every status transition of a source and the retry ladder, under controlled time, with real runs
against a real loopback file server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select

from fenicia.channels.models import ConnectionStatus
from fenicia.core.errors import TransientError
from fenicia.inventory.models import InventorySource, SourceRun
from fenicia.inventory.status import RECONNECT_SOURCE, mark_failed, mark_succeeded, mark_syncing
from fenicia.notifications.models import Notification
from inventory.inv_world import FileServer, InvWorld, csv_text

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
LADDER = (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))


def _url_source(world: InvWorld, server: FileServer, name: str = "stock.csv") -> int:
    world.products(["A"])
    server.files[name] = csv_text([("A", 5)]).encode()
    return world.source({"transport": "url", "url": f"{server.url}/files/{name}"}, frequency_seconds=900)


def _notifications(world: InvWorld) -> list[Notification]:
    with world.db.read_session() as s:
        return list(s.scalars(select(Notification).where(Notification.workspace_id == world.ws)))


def _queued_retry(world: InvWorld, source_id: int) -> SourceRun:
    runs = [r for r in world.runs(source_id) if r.status == "queued"]
    assert len(runs) == 1 and runs[0].trigger == "retry"
    return runs[0]


def test_pending_syncing_completed(world: InvWorld, file_server: FileServer) -> None:
    source_id = _url_source(world, file_server)
    assert world.get_source(source_id).status == ConnectionStatus.PENDING
    with world.db.session() as s:
        source = s.get(InventorySource, source_id)
        assert source is not None
        mark_syncing(source, T0)
        assert (source.status, source.last_attempt_at) == (ConnectionStatus.SYNCING, T0)

    with time_machine.travel(T0, tick=False):
        run = world.sync(source_id)

    source = world.get_source(source_id)
    assert run.status == "succeeded" and source.status == ConnectionStatus.COMPLETED
    assert source.last_success_at == T0 and source.status_message is None


def test_transient_failures_climb_the_ladder_then_error_and_notify_once(
    world: InvWorld, file_server: FileServer
) -> None:
    source_id = _url_source(world, file_server)
    file_server.statuses["stock.csv"] = (503, {})
    now = T0
    with time_machine.travel(now, tick=False):
        first = world.sync(source_id)
    assert first.status == "failed" and first.error_code == "transient"
    for attempt, delay in enumerate(LADDER, start=1):
        source = world.get_source(source_id)
        retry = _queued_retry(world, source_id)
        assert source.status == ConnectionStatus.PENDING and source.next_attempt_at == now + delay
        assert retry.scheduled_for == now + delay and f"Retry {attempt} of 3" in (source.status_message or "")
        with time_machine.travel(now + delay - timedelta(seconds=1), tick=False):
            assert world.execute(retry.id).status == "queued"  # not due yet: nothing happens
        now = now + delay
        with time_machine.travel(now, tick=False):
            assert world.execute(retry.id).status == "failed"

    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.ERROR and source.next_attempt_at is None
    assert "retried 3 times" in (source.resolution or "")
    assert not [r for r in world.runs(source_id) if r.status == "queued"]
    with time_machine.travel(now + timedelta(hours=2), tick=False):
        world.sync(source_id)  # still failing: no second notification for the same outage
    notes = _notifications(world)
    assert [(n.kind, n.email_status, n.link) for n in notes] == [
        ("source_error", "pending", f"/integrations/inventory-sources/{source_id}")
    ]

    del file_server.statuses["stock.csv"]
    with time_machine.travel(now + timedelta(hours=3), tick=False):
        assert world.sync(source_id).status == "succeeded"
    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.COMPLETED and source.retry_count == 0 and source.resolution is None


def test_a_rate_limit_waits_for_its_reset_without_spending_a_retry(world: InvWorld, file_server: FileServer) -> None:
    source_id = _url_source(world, file_server)
    file_server.statuses["stock.csv"] = (429, {"Retry-After": "120"})
    with time_machine.travel(T0, tick=False):
        world.sync(source_id)

    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.PENDING and source.retry_count == 0
    assert _queued_retry(world, source_id).scheduled_for == T0 + timedelta(seconds=120)
    assert "rate limit" in (source.status_message or "").lower()


def test_an_auth_failure_goes_straight_to_error_with_reconnect(world: InvWorld, file_server: FileServer) -> None:
    source_id = _url_source(world, file_server)
    file_server.token = "secret"
    world.sync(source_id)

    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.ERROR and source.resolution == RECONNECT_SOURCE
    assert source.last_error_code == "auth_error"
    assert not [r for r in world.runs(source_id) if r.status == "queued"]
    assert len(_notifications(world)) == 1


def test_a_bad_file_goes_to_error_with_the_files_own_resolution(world: InvWorld, file_server: FileServer) -> None:
    source_id = _url_source(world, file_server)
    file_server.files["stock.csv"] = b"SKU,Qty\nA,many\n"
    world.sync(source_id)

    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.ERROR
    assert source.status_message == "Row 2, column 'Qty': 'many' is not a number."
    assert "nothing was applied" in (source.resolution or "").lower()
    assert not [r for r in world.runs(source_id) if r.status == "queued"]


def test_sync_now_pulls_a_waiting_retry_forward_instead_of_queueing_another(
    world: InvWorld, file_server: FileServer
) -> None:
    source_id = _url_source(world, file_server)
    file_server.statuses["stock.csv"] = (500, {})
    with time_machine.travel(T0, tick=False):
        world.sync(source_id)
    waiting = _queued_retry(world, source_id)
    del file_server.statuses["stock.csv"]

    with time_machine.travel(T0 + timedelta(seconds=10), tick=False):
        run_id = world.request(source_id)
        assert run_id == waiting.id
        run = world.execute(run_id)

    assert run.status == "succeeded" and run.trigger == "manual"
    assert world.get_source(source_id).status == ConnectionStatus.COMPLETED


def test_a_failed_preview_leaves_the_sources_status_alone(world: InvWorld, file_server: FileServer) -> None:
    source_id = _url_source(world, file_server)
    file_server.statuses["stock.csv"] = (500, {})

    run = world.sync(source_id, preview=True)

    assert run.status == "failed" and run.error_message
    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.PENDING and source.retry_count == 0
    assert not [r for r in world.runs(source_id) if r.status == "queued"]


def test_status_functions_on_a_source_row(world: InvWorld) -> None:
    source_id = world.source()
    with world.db.session() as s:
        source = s.get(InventorySource, source_id)
        assert source is not None
        outcome = mark_failed(s, source, TransientError("Timed out."), T0, (300.0, 900.0, 3600.0))
        assert outcome.spent_retry and outcome.retry_at == T0 + timedelta(minutes=5)
        mark_succeeded(source, T0 + timedelta(minutes=5))
        assert (source.status, source.retry_count, source.next_attempt_at) == (ConnectionStatus.COMPLETED, 0, None)

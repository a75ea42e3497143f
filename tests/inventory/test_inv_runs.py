"""Source runs end to end on the real database: apply, only-changed writes, zeroing, the truncation guard,
previews, bad files, repeated rows, and the stock pushes a change causes."""

from __future__ import annotations

from sqlalchemy import func, select

from fenicia.catalog.models import Location
from fenicia.channels.models import ConnectionStatus
from fenicia.inventory.models import PushStatus, StockLevel
from fenicia.notifications.models import Notification
from inventory.inv_world import FileServer, InvWorld, csv_text

HEADER = ("SKU", "Warehouse", "Qty")


def test_first_sync_applies_levels_creates_locations_and_reports_unmapped(world: InvWorld) -> None:
    world.products(["A", "B"])
    source_id = world.source()
    world.upload(source_id, csv_text([("A", "W1", 5), ("B", "W2", 3), ("Z-9", "W1", 4)], HEADER))

    run = world.sync(source_id)

    assert run.status == "succeeded", run.error_message
    assert (run.rows_read, run.rows_mapped, run.rows_unmapped, run.rows_changed) == (3, 2, 1, 2)
    assert world.levels(source_id) == {("A", "W1"): 5, ("B", "W2"): 3}
    report = world.unmapped()[f"source:{source_id}|Z-9"]
    assert (report.occurrences, report.last_quantity, report.location) == (1, 4, "W1")
    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.COMPLETED and source.last_success_at is not None
    assert source.last_row_count == 3 and source.snapshot_at is not None
    assert source.last_file is not None and source.last_file["name"] == "stock.csv"


def test_a_second_sync_writes_only_the_rows_that_changed(world: InvWorld) -> None:
    world.products(["A", "B"])
    source_id = world.source()
    world.upload(source_id, csv_text([("A", "W1", 5), ("B", "W1", 3)], HEADER))
    world.sync(source_id)
    before = {row.product_id: row for row in world.level_rows(source_id)}

    world.upload(source_id, csv_text([("A", "W1", 6), ("B", "W1", 3)], HEADER))
    run = world.sync(source_id)

    assert run.rows_changed == 1
    after = {row.product_id: row for row in world.level_rows(source_id)}
    changed = [pid for pid in after if after[pid].changed_at != before[pid].changed_at]
    assert [after[pid].available for pid in changed] == [6]
    untouched = next(pid for pid in after if pid not in changed)
    assert after[untouched].snapshot_at == before[untouched].snapshot_at  # confirmed, not rewritten


def test_codes_missing_from_a_full_read_go_to_zero_unless_told_otherwise(world: InvWorld) -> None:
    world.products(["A", "B", "C"])
    zeroing = world.source(truncation_guard_percent=90)
    keeping = world.source(missing_means_zero=False, truncation_guard_percent=90)
    for source_id in (zeroing, keeping):
        world.upload(source_id, csv_text([("A", "W1", 5), ("B", "W1", 3), ("C", "W1", 1)], HEADER))
        world.sync(source_id)
        world.upload(source_id, csv_text([("A", "W1", 5), ("C", "W1", 1)], HEADER))

    run = world.sync(zeroing)
    world.sync(keeping)

    assert run.rows_zeroed == 1 and run.rows_changed == 1
    assert world.levels(zeroing)[("B", "W1")] == 0
    assert world.levels(keeping)[("B", "W1")] == 3


def test_the_truncation_guard_refuses_a_much_smaller_file_and_applies_nothing(world: InvWorld) -> None:
    skus = [f"S{i}" for i in range(10)]
    world.products(skus)
    source_id = world.source(truncation_guard_percent=50)
    world.upload(source_id, csv_text([(sku, "W1", 10) for sku in skus], HEADER))
    world.sync(source_id)
    world.upload(source_id, csv_text([("S0", "W1", 1), ("S1", "W1", 2), ("S2", "W1", 3), ("S3", "W1", 4)], HEADER))

    refused = world.sync(source_id)

    assert refused.status == "failed" and refused.error_code == "truncation_guard"
    assert "4 rows, 60 % fewer than the 10" in (refused.error_message or "")
    assert set(world.levels(source_id).values()) == {10}  # not the zeroing, and not the 4 new numbers either
    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.ERROR and "accept" in (source.resolution or "").lower()
    with world.db.read_session() as s:
        assert s.scalar(select(func.count(Notification.id)).where(Notification.kind == "source_error")) == 1

    with world.db.session() as s:
        from fenicia.inventory.services import accept_row_drop

        run, _ = accept_row_drop(s, world.ws, source_id)
        run_id = run.id
    accepted = world.execute(run_id)

    assert accepted.status == "succeeded" and accepted.rows_zeroed == 6
    assert world.levels(source_id)[("S3", "W1")] == 4 and world.levels(source_id)[("S9", "W1")] == 0
    assert world.get_source(source_id).status == ConnectionStatus.COMPLETED


def test_a_bad_row_late_in_the_file_applies_nothing(world: InvWorld, file_server: FileServer) -> None:
    skus = [f"P{i:04d}" for i in range(250)]
    world.products(skus)
    settings = {"transport": "url", "url": f"{file_server.url}/files/stock.csv", "page_size": 100}
    source_id = world.source(settings)
    file_server.files["stock.csv"] = csv_text([(sku, "W1", 1) for sku in skus], HEADER).encode()
    world.sync(source_id)
    bad = [(sku, "W1", 2) for sku in skus[:-1]] + [(skus[-1], "W1", "lots")]
    file_server.files["stock.csv"] = csv_text(bad, HEADER).encode()

    run = world.sync(source_id)

    assert run.status == "failed" and run.error_code == "invalid_input"
    assert run.error_message == "Row 251, column 'Qty': 'lots' is not a number."
    assert set(world.levels(source_id).values()) == {1}  # pages 1 and 2 were fine, and still nothing applied
    assert world.get_source(source_id).status == ConnectionStatus.ERROR


def test_a_preview_shows_mapped_and_unmapped_rows_and_applies_nothing(world: InvWorld) -> None:
    world.products(["A"])
    source_id = world.source(paused=True)
    world.upload(source_id, csv_text([("A", "W1", 5), ("Q", "W1", 1)], HEADER))

    run = world.sync(source_id, preview=True)

    assert run.status == "succeeded" and run.preview
    assert [(r["code"], r["status"], r["sku"], r["new_location"]) for r in run.preview_rows or []] == [
        ("A", "mapped", "A", True),
        ("Q", "unmapped", None, False),
    ]
    assert (run.rows_mapped, run.rows_unmapped, run.rows_changed) == (1, 1, 1)
    assert world.levels(source_id) == {} and world.unmapped() == {}
    with world.db.read_session() as s:
        assert s.scalar(select(func.count(Location.id)).where(Location.workspace_id == world.ws)) == 0
    source = world.get_source(source_id)
    assert source.status == ConnectionStatus.PENDING and source.last_success_at is None


def test_rows_repeating_a_product_across_pages_are_added_up(world: InvWorld) -> None:
    skus = [f"R{i:03d}" for i in range(150)]
    world.products(skus)
    source_id = world.source({"page_size": 100})
    rows = [(sku, "W1", 1) for sku in skus] + [("R005", "W1", 10), ("R120", "W1", 20), ("R005", "W1", 100)]
    world.upload(source_id, csv_text(rows, HEADER))

    run = world.sync(source_id)
    again = world.sync(source_id)

    levels = world.levels(source_id)
    assert (levels[("R005", "W1")], levels[("R120", "W1")], levels[("R000", "W1")]) == (111, 21, 1)
    assert any("R005" in w and "added" in w for w in run.warnings or [])
    assert again.status == "succeeded" and world.levels(source_id) == levels  # re-reading changes nothing


def test_changes_recompute_sellable_stock_and_kick_the_channel_push(world: InvWorld) -> None:
    product_id = world.product("A")
    connection_id, _ = world.listing(product_id)
    source_id = world.source()
    world.upload(source_id, csv_text([("A", "W1", 5)], HEADER))

    world.sync(source_id)

    assert world.kicks == [connection_id]
    assert [(p.quantity, p.status) for p in world.pushes()] == [(5, PushStatus.PENDING)]
    world.sync(source_id)  # same numbers: nothing to push
    assert world.kicks == [connection_id] and len(world.pushes()) == 1


def test_a_scheduled_read_skips_the_file_applied_last_and_sync_now_reads_it(world: InvWorld) -> None:
    world.products(["A", "B"])
    source_id = world.source()
    world.upload(source_id, csv_text([("A", "W1", 5), ("B", "W1", 3)], HEADER))
    world.sync(source_id)

    skipped = world.sync(source_id, trigger="schedule")
    forced = world.sync(source_id)

    assert skipped.status == "succeeded" and skipped.rows_read == 0 and skipped.rows_zeroed == 0
    assert world.levels(source_id) == {("A", "W1"): 5, ("B", "W1"): 3}
    assert forced.rows_read == 2
    assert world.get_source(source_id).last_row_count == 2


def test_a_run_not_queued_any_more_does_nothing(world: InvWorld) -> None:
    world.products(["A"])
    source_id = world.source()
    world.upload(source_id, csv_text([("A", "W1", 5)], HEADER))
    run = world.sync(source_id)

    again = world.execute(run.id)  # a duplicate hand-over of a finished run

    assert again.finished_at == run.finished_at and again.attempt == 1
    with world.db.read_session() as s:
        assert s.scalar(select(func.count(StockLevel.id))) == 1


def test_an_upload_source_without_a_file_waits_quietly(world: InvWorld) -> None:
    source_id = world.source(frequency_seconds=900)

    run = world.sync(source_id, trigger="schedule")

    assert run.status == "succeeded" and run.trigger == "initial" and run.rows_read == 0
    assert run.warnings == ["No file has been uploaded to this source yet."]
    assert world.get_source(source_id).status == ConnectionStatus.COMPLETED
    with world.db.read_session() as s:
        assert s.scalar(select(func.count(Notification.id))) == 0

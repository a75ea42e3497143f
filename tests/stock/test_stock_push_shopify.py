"""Pushing sellable quantities to the Shopify simulator over real HTTP: batches, the push log, failures,
and an order on one store lowering the quantity on the other."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import select

from fenicia.catalog.imports import import_listings
from fenicia.channels.context import SyncContext
from fenicia.channels.inbox import drain_inbox
from fenicia.channels.models import ChannelConnection, ConnectionStatus, Listing, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.services import request_sync
from fenicia.core.clock import utcnow
from fenicia.inventory.models import PushStatus, StockPush
from fenicia.inventory.push import connections_with_pending_pushes, push_stock
from shopify_sim import SimHandle
from stock.stock_world import StockWorld, signed_delivery


def _imported(world: StockWorld, shop: SimHandle, name: str = "B") -> tuple[int, list[Listing]]:
    """A connection to the store, its listings imported and linked (products created from them)."""
    conn = world.connection(shop.url, name=name)
    result, _ = asyncio.run(
        import_listings(world.db, world.box, world.ws, conn, create_missing=True, allow_private=True)
    )
    assert result.listings_seen == result.listings_created > 0
    with world.db.read_session() as s:
        listings = list(s.scalars(select(Listing).where(Listing.connection_id == conn).order_by(Listing.id)))
    return conn, listings


def _shop_available(shop: SimHandle, inventory_ref: str | None) -> int:
    assert inventory_ref is not None
    store = shop.sim.store
    return store.levels[(int(inventory_ref), store.primary_location.id)].available


def _statuses(world: StockWorld, conn: int) -> dict[int, str]:
    with world.db.read_session() as s:
        rows = s.scalars(select(StockPush).where(StockPush.connection_id == conn).order_by(StockPush.id))
        return {push.listing_id: push.status for push in rows}


def test_batched_push_sets_every_quantity_and_only_changes_go_again(
    world: StockWorld, ctx: SyncContext, shop_b: SimHandle
) -> None:
    conn, listings = _imported(world, shop_b)
    chosen = listings[:5]
    for n, listing in enumerate(chosen):
        assert listing.product_id is not None
        world.level(listing.product_id, 3 + n)
    assert world.recompute(*(lst.product_id for lst in chosen if lst.product_id)) == {conn}
    shop_b.control("DELETE", "requests")

    assert asyncio.run(push_stock(ctx, conn, batch_size=2)) == len(chosen)
    for n, listing in enumerate(chosen):
        assert _shop_available(shop_b, listing.inventory_ref) == 3 + n
        assert world.get_listing(listing.id).last_pushed_quantity == 3 + n
    assert set(_statuses(world, conn).values()) == {PushStatus.SENT}
    batches = -(-len(chosen) // 2)  # one inventorySetQuantities call per batch of 2
    assert len(shop_b.requests("POST", "graphql.json")) == batches

    # nothing changed: nothing queued, nothing sent
    assert world.recompute(*(lst.product_id for lst in chosen if lst.product_id)) == set()
    assert asyncio.run(push_stock(ctx, conn)) == 0
    assert len(shop_b.requests("POST", "graphql.json")) == batches


def test_push_log_records_sent_skipped_and_error(world: StockWorld, ctx: SyncContext, shop_b: SimHandle) -> None:
    conn = world.connection(shop_b.url)
    good, no_ref, unknown = world.product("A"), world.product("B"), world.product("C")
    real_ref = str(next(iter(shop_b.sim.store.variants_by_item)))
    sent = world.listing(conn, good, ref=real_ref)
    skipped = world.listing(conn, no_ref, ref=None)
    failed = world.listing(conn, unknown, ref="variant-9")  # not an inventory item id: ours to fix
    for product in (good, no_ref, unknown):
        world.level(product, 4)
    world.recompute(good, no_ref, unknown)
    assert asyncio.run(push_stock(ctx, conn)) == 1
    statuses = _statuses(world, conn)
    assert statuses == {sent: PushStatus.SENT, skipped: PushStatus.SKIPPED, failed: PushStatus.ERROR}
    errors = {push.listing_id: push.error for push in world.pushes(failed) + world.pushes(skipped)}
    assert errors[failed] and "No Shopify inventory item id" in errors[failed]
    assert errors[skipped] and "Import the channel's listings" in errors[skipped]
    assert world.get_listing(failed).last_pushed_quantity is None


def _one_pending(world: StockWorld, shop: SimHandle) -> tuple[int, int]:
    conn, listings = _imported(world, shop)
    listing = listings[0]
    assert listing.product_id is not None
    world.level(listing.product_id, 6)
    world.recompute(listing.product_id)
    return conn, listing.id


def test_rate_limited_push_waits_without_spending_a_retry(
    world: StockWorld, ctx: SyncContext, shop_b: SimHandle
) -> None:
    conn, listing = _one_pending(world, shop_b)
    shop_b.control("POST", "config", {"retry_after_s": 30.0})
    shop_b.fault("http_429", count=None, path_contains="graphql")
    assert asyncio.run(push_stock(ctx, conn)) == 0
    [push] = world.pushes(listing)
    assert push.status == PushStatus.PENDING and push.attempts == 0
    assert push.next_attempt_at is not None and push.next_attempt_at > utcnow() + timedelta(seconds=20)
    with world.db.read_session() as s:
        assert connections_with_pending_pushes(s) == []
        assert connections_with_pending_pushes(s, utcnow() + timedelta(seconds=31)) == [conn]
    shop_b.control("DELETE", "faults")
    with world.db.session() as s:
        row = s.get(StockPush, push.id)
        assert row is not None
        row.next_attempt_at = None  # the wait is over
    assert asyncio.run(push_stock(ctx, conn)) == 1


def test_transient_failure_retries_on_the_ladder(world: StockWorld, ctx: SyncContext, shop_b: SimHandle) -> None:
    conn, listing = _one_pending(world, shop_b)
    shop_b.fault("http_500", count=None, path_contains="graphql")
    assert asyncio.run(push_stock(ctx, conn)) == 0
    [push] = world.pushes(listing)
    assert push.status == PushStatus.PENDING and push.attempts == 1
    first_delay = ctx.settings.retry_delays_seconds[0]
    assert push.next_attempt_at is not None
    assert push.next_attempt_at >= utcnow() + timedelta(seconds=first_delay - 5)
    assert push.error and "Retry 1 of" in push.error


def test_revoked_token_pauses_pushes_until_reconnected(world: StockWorld, ctx: SyncContext, shop_b: SimHandle) -> None:
    conn, listing = _one_pending(world, shop_b)
    shop_b.fault("revoke_token")
    assert asyncio.run(push_stock(ctx, conn)) == 0
    [push] = world.pushes(listing)
    assert push.status == PushStatus.PENDING and push.attempts == 0
    with world.db.read_session() as s:
        row = s.get(ChannelConnection, conn)
        assert row is not None and row.status == ConnectionStatus.ERROR
        assert connections_with_pending_pushes(s) == []
    shop_b.control("DELETE", "requests")
    assert asyncio.run(push_stock(ctx, conn)) == 0
    assert shop_b.requests("POST", "graphql") == []  # paused: not even tried


def _channel_pair(world: StockWorld, shop_a: SimHandle, shop_b: SimHandle) -> tuple[int, int, Listing]:
    """Store B's listings imported (products from them); store A connected; one product stocked and pushed."""
    conn_b, listings = _imported(world, shop_b)
    conn_a = world.connection(shop_a.url, name="A")
    listing = listings[1]
    assert listing.product_id is not None and listing.sku
    world.level(listing.product_id, 20)
    world.recompute(listing.product_id)
    return conn_a, conn_b, listing


def test_webhook_order_on_a_lowers_the_quantity_pushed_to_b(
    world: StockWorld, ctx: SyncContext, shop: SimHandle, shop_b: SimHandle
) -> None:
    conn_a, conn_b, listing = _channel_pair(world, shop, shop_b)
    asyncio.run(push_stock(ctx, conn_b))
    assert _shop_available(shop_b, listing.inventory_ref) == 20

    order = shop.sim.create_order(line_items=[{"sku": listing.sku, "quantity": 3}])
    signed_delivery(world.db, conn_a, order, "orders/create", "w-1")
    assert asyncio.run(drain_inbox(ctx, conn_a)) == 1
    with world.db.read_session() as s:
        assert connections_with_pending_pushes(s) == [conn_b]  # what the engine kicks after the drain
    assert asyncio.run(push_stock(ctx, conn_b)) == 1
    assert _shop_available(shop_b, listing.inventory_ref) == 20 - 3
    [first, second] = world.pushes(listing.id)
    assert (first.quantity, second.quantity) == (20, 20 - 3) and second.status == PushStatus.SENT
    assert second.reason and "orders from A" in second.reason


def test_polled_order_on_a_lowers_the_quantity_pushed_to_b(
    world: StockWorld, ctx: SyncContext, shop: SimHandle, shop_b: SimHandle
) -> None:
    conn_a, conn_b, listing = _channel_pair(world, shop, shop_b)
    asyncio.run(push_stock(ctx, conn_b))
    shop.sim.create_order(line_items=[{"sku": listing.sku, "quantity": 2}])
    with world.db.session() as s:
        run, _ = request_sync(s, world.ws, conn_a, kind="poll")
        run_id = run.id
    asyncio.run(execute_run(ctx, run_id))
    with world.db.read_session() as s:
        run_row = s.get(SyncRun, run_id)
        assert run_row is not None and run_row.status == RunStatus.SUCCEEDED, run_row and run_row.error_message
    assert asyncio.run(push_stock(ctx, conn_b)) == 1
    assert _shop_available(shop_b, listing.inventory_ref) == 20 - 2


def test_unlinked_listing_is_skipped_and_the_rest_still_goes(
    world: StockWorld, ctx: SyncContext, shop_b: SimHandle
) -> None:
    conn, listings = _imported(world, shop_b)
    first, second = listings[0], listings[1]
    for listing in (first, second):
        assert listing.product_id is not None
        world.level(listing.product_id, 9)
        world.recompute(listing.product_id)
    with world.db.session() as s:
        row = s.get(Listing, first.id)
        assert row is not None
        row.product_id = None  # the merchant unlinked it after the value was queued
    assert asyncio.run(push_stock(ctx, conn, batch_size=1)) == 1
    assert _statuses(world, conn) == {first.id: PushStatus.SKIPPED, second.id: PushStatus.SENT}
    assert _shop_available(shop_b, second.inventory_ref) == 9

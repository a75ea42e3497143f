"""When pushes are queued: only on change, a newer value supersedes an older pending one, orders count
once until a newer snapshot has them (the oversell race), unknown order SKUs reach the unmapped report."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import select

import factories
from fenicia.channels.models import ChannelConnection
from fenicia.connectors.base import NormalizedLine
from fenicia.core.clock import utcnow
from fenicia.inventory.models import PushStatus, UnmappedSku
from fenicia.orders.ingest import upsert_order
from fenicia.orders.models import Order, OrderStatus
from stock.stock_world import StockWorld


def test_push_queued_only_when_the_value_changes(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 10)
    assert world.recompute(p) == {conn}
    assert world.pending(listing) == [10]
    assert world.recompute(p) == set()  # same value already queued
    world.mark_sent(listing)
    assert world.recompute(p) == set()  # same value already on the channel
    world.level(p, 11)
    assert world.recompute(p) == {conn}
    assert world.pending(listing) == [11]


def test_newer_value_supersedes_pending_one(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 10)
    world.recompute(p)
    world.level(p, 8)
    world.recompute(p)
    statuses = [(push.quantity, push.status) for push in world.pushes(listing)]
    assert statuses == [(10, PushStatus.SUPERSEDED), (8, PushStatus.PENDING)]


def test_back_to_the_pushed_value_cancels_the_pending_push(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 10)
    world.recompute(p)
    world.mark_sent(listing)
    world.level(p, 9)
    world.recompute(p)
    world.level(p, 10)
    assert world.recompute(p) == set()
    assert [push.status for push in world.pushes(listing)] == [PushStatus.SENT, PushStatus.SUPERSEDED]


def test_oversell_race_order_between_snapshot_and_push(world: StockWorld) -> None:
    p = world.product("P1")
    channel_a, channel_b = world.connection(name="A"), world.connection(name="B")
    listing_a, listing_b = world.listing(channel_a, p, sku="P1"), world.listing(channel_b, p, sku="P1")
    t0 = utcnow() - timedelta(minutes=10)
    world.level(p, 10, at=t0)
    world.recompute(p)
    world.mark_sent(listing_a)
    world.mark_sent(listing_b)

    # T1 > T0: an order on A, received before the source has it
    queued = world.order(channel_a, [("P1", 3)])
    assert queued == {channel_a, channel_b}
    assert world.pending(listing_b) == [10 - 3] and world.pending(listing_a) == [10 - 3]

    # a source read whose snapshot still predates the order says 10 again: it must not re-inflate
    world.level(p, 10, at=t0 + timedelta(minutes=1))
    world.recompute(p)
    assert world.ats(listing_b) == 10 - 3

    # T2: a snapshot taken after the order reflects it (10 - 3 on the shelf): subtracted once, not twice
    world.level(p, 10 - 3, at=utcnow())
    world.recompute(p)
    assert world.ats(listing_b) == 10 - 3
    explanation = world.get_listing(listing_b).ats_explanation
    assert explanation is not None and explanation["orders_not_in_snapshot"] == 0


def test_cancelled_order_gives_the_units_back(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 10)
    world.recompute(p)
    world.order(conn, [("P1", 4)], external_id="9001")
    assert world.ats(listing) == 6
    world.order(conn, [("P1", 4)], external_id="9001", status=OrderStatus.CANCELLED, channel_status="cancelled")
    assert world.ats(listing) == 10


def test_order_counts_once_across_locations_with_older_snapshots(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 5, location=0)
    world.level(p, 5, location=1)
    world.recompute(p)
    world.order(conn, [("P1", 2)])
    assert world.ats(listing) == 5 + 5 - 2
    explanation = world.get_listing(listing).ats_explanation
    assert explanation is not None
    taken = {loc["location_id"]: loc["orders_not_in_snapshot"] for loc in explanation["locations"]}
    assert sorted(taken.values()) == [0, 2]


def test_order_line_sku_read_through_the_channel_listing(world: StockWorld) -> None:
    p = world.product("CATALOG-SKU")
    conn = world.connection()
    listing = world.listing(conn, p, sku="CHANNEL-SKU")
    world.level(p, 10)
    world.recompute(p)
    world.order(conn, [("CHANNEL-SKU", 1)])
    assert world.ats(listing) == 9


def test_unknown_order_sku_goes_to_unmapped_report(world: StockWorld) -> None:
    conn = world.connection()
    world.order(conn, [("NOBODY-KNOWS", 2)])
    with world.db.read_session() as s:
        row = s.scalar(select(UnmappedSku).where(UnmappedSku.code == "NOBODY-KNOWS"))
        assert row is not None and row.connection_id == conn
        assert s.scalar(select(Order.id)) is not None  # the order itself is kept


def test_channel_without_stock_writes_gets_no_push(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 3)
    with world.db.session() as s:
        row = s.get(ChannelConnection, conn)
        assert row is not None
        row.channel = "nostock"  # a channel no longer registered: shown, never pushed
    assert world.recompute(p) == set()
    assert world.ats(listing) == 3 and world.pushes(listing) == []


def test_two_orders_at_once_both_count(world: StockWorld) -> None:
    """The second transaction waits for the first's product lock, then sees its order: no lost update."""
    p = world.product("P1")
    channel_a, channel_b = world.connection(name="A"), world.connection(name="B")
    listing = world.listing(channel_b, p)
    world.level(p, 10)
    world.recompute(p)
    second = threading.Thread(target=world.order, args=(channel_b, [("P1", 2)]))
    with world.db.session() as s:
        conn = s.get(ChannelConnection, channel_a)
        assert conn is not None
        lines = [NormalizedLine(external_id="a-1", sku="P1", title="P1", quantity=3)]
        upsert_order(s, conn, factories.normalized_order("a-order", updated=utcnow(), lines=lines), source="webhook")
        second.start()  # its order and recompute run while this transaction still holds the product
        time.sleep(0.2)
    second.join(timeout=30)
    assert world.ats(listing) == 10 - 3 - 2
    assert world.pending(listing) == [10 - 3 - 2]

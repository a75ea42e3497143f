"""End to end through the engine's generic code: a TikTok Shop connection made by the service, polled by
``execute_run``, fed by signed webhooks through the real intake (FastAPI on loopback) and ``drain_inbox``,
and pushed to by ``push_actions`` — against the simulator, on the real database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import factories
import servers
from doubles import RecordingDispatcher
from fenicia.api.app import create_app
from fenicia.channels.context import SyncContext
from fenicia.channels.inbox import drain_inbox
from fenicia.channels.models import ChannelConnection, PollingCursor, RunStatus, SyncRun, WebhookDelivery
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, request_sync
from fenicia.channels.tokens import DbTokenStore
from fenicia.connectors.registry import channel_spec
from fenicia.connectors.tiktok.webhooks import ORDER_TOPICS
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from fenicia.orders.actions import request_cancel, request_ship, request_tracking
from fenicia.orders.events import EventKind
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderEvent, OrderStatus
from fenicia.orders.push import push_actions
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate
from tiktok_sim import CREDENTIALS, TikTokHandle, running_tiktok


@pytest.fixture
def tt() -> Iterator[TikTokHandle]:
    with running_tiktok() as handle:
        yield handle


@pytest.fixture
def tt_conn(db: Database, box: SecretBox, tt: TikTokHandle) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        data = ConnectionCreate(
            channel="tiktok", name="My TikTok Shop", settings=tt.settings(), credentials=CREDENTIALS
        )
        conn = create_connection(s, box, ws, data)
        assert conn.poll_interval_seconds == 3600
        return conn.id


def run_sync(ctx: SyncContext, conn_id: int, kind: str = "poll") -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        run, _ = request_sync(s, conn.workspace_id, conn_id, kind=kind)
        run_id = run.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def count(db: Database, model: type, *where: object) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def order_row(db: Database, external_id: str) -> Order:
    with db.read_session() as s:
        order = s.scalar(select(Order).where(Order.external_id == external_id))
        assert order is not None
        _ = (order.lines, order.shipments)
        return order


def events(db: Database, order_id: int) -> list[str]:
    with db.read_session() as s:
        return list(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))


def test_a_poll_imports_orders_with_grouped_units_and_moves_the_cursor(
    ctx: SyncContext, tt_conn: int, tt: TikTokHandle
) -> None:
    tt.sim.bulk_create_orders(70)
    sku = next(iter(tt.sim.store.skus.values()))[1]
    multi = tt.sim.create_order(lines=[{"sku_id": sku.id, "quantity": 3}])
    run = run_sync(ctx, tt_conn)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert (run.orders_seen, run.orders_created, run.pages) == (71, 71, 2)
    row = order_row(ctx.db, multi["id"])
    [line] = row.lines
    assert (row.status, row.channel_status) == (OrderStatus.UNSHIPPED, "AWAITING_SHIPMENT shipping=seller")
    assert (line.quantity, line.sku, line.external_id.count(",")) == (3, sku.seller_sku, 2)
    statuses = {o.status: o for o in tt.sim.store.orders.values()}
    assert {"IN_TRANSIT", "DELIVERED", "CANCELLED", "AWAITING_SHIPMENT"} <= set(statuses)  # seeded history
    for channel_status, ours in (("IN_TRANSIT", "shipped"), ("DELIVERED", "delivered"), ("CANCELLED", "cancelled")):
        assert order_row(ctx.db, statuses[channel_status].id).status == ours
    with ctx.db.read_session() as s:
        first_cursor = s.scalar(select(PollingCursor.last_value))
    again = run_sync(ctx, tt_conn)
    assert again.status == RunStatus.SUCCEEDED and again.orders_created == 0
    with ctx.db.read_session() as s:
        second_cursor = s.scalar(select(PollingCursor.last_value))
    assert first_cursor is not None and second_cursor is not None and second_cursor >= first_cursor
    assert count(ctx.db, Order) == 71 and tt.grants() == 1  # one token for both runs, kept in the database


def test_token_expiry_is_survived_by_a_run_with_one_refresh(ctx: SyncContext, tt_conn: int, tt: TikTokHandle) -> None:
    tt.sim.create_order()
    assert run_sync(ctx, tt_conn).status == RunStatus.SUCCEEDED
    stored = DbTokenStore(ctx.db, ctx.box, tt_conn).load()
    tt.control("POST", "tokens/expire")
    tt.sim.create_order()
    run = run_sync(ctx, tt_conn)
    assert run.status == RunStatus.SUCCEEDED and run.orders_created == 1
    fresh = DbTokenStore(ctx.db, ctx.box, tt_conn).load()
    assert tt.grants() == 2 and stored is not None and fresh is not None and fresh.value != stored.value


def test_throttled_runs_wait_without_spending_a_retry(ctx: SyncContext, tt_conn: int, tt: TikTokHandle) -> None:
    tt.fault("http_429", count=None, seconds=30.0, path_contains="orders/search")
    run = run_sync(ctx, tt_conn)
    assert run.error_code == "rate_limited"
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, tt_conn)
        assert conn is not None and conn.status == "Pending" and conn.retry_count == 0
        assert conn.next_attempt_at is not None and conn.last_attempt_at is not None
        assert conn.next_attempt_at - conn.last_attempt_at >= timedelta(seconds=29)


@pytest.fixture
def intake(ctx: SyncContext, tt_conn: int, tt: TikTokHandle) -> Iterator[str]:
    """Fenicia's API on loopback, with the simulator's order events pointed at the connection's address."""
    app = create_app(settings=ctx.settings, db=ctx.db, box=ctx.box, dispatcher=RecordingDispatcher())
    with servers.serve(app) as url:
        address = f"{url}/webhooks/tiktok/{tt_conn}"
        tt.control("POST", "webhooks", {"address": address, "event_types": list(ORDER_TOPICS)})
        yield address


def flush(tt: TikTokHandle) -> list[int | None]:
    tt.control("POST", "webhooks/flush")
    deliveries = tt.control("GET", "webhooks/deliveries")["deliveries"]
    return [d["attempts"][-1]["status_code"] if d["attempts"] else None for d in deliveries]


def test_webhooks_are_verified_stored_once_and_drained_with_a_fresh_fetch(
    ctx: SyncContext, tt_conn: int, tt: TikTokHandle, intake: str
) -> None:
    tt.fault("duplicate_webhooks", count=1)
    created = tt.sim.create_order()
    assert flush(tt) == [200]
    assert count(ctx.db, WebhookDelivery) == 1  # the duplicate was the same notification: stored once
    assert asyncio.run(drain_inbox(ctx, tt_conn)) == 1
    row = order_row(ctx.db, created["id"])
    assert row.status == OrderStatus.UNSHIPPED and EventKind.RECEIVED_WEBHOOK in events(ctx.db, row.id)
    assert len(tt.requests("GET", "/order/202309/orders")) == 1  # the pointer was followed once

    tt.sim.customer_edit(created["id"], {"recipient_address": {"address_line2": "Flat 9"}})
    tt.sim.customer_cancel(created["id"])
    flush(tt)
    asyncio.run(drain_inbox(ctx, tt_conn))
    row = order_row(ctx.db, created["id"])
    assert row.status == OrderStatus.CANCELLED and row.channel_status.startswith("CANCELLED cancelled_by=buyer")
    kinds = events(ctx.db, row.id)
    assert EventKind.CUSTOMER_CANCELLED in kinds and EventKind.STATUS_CHANGED in kinds


def test_a_tampered_webhook_is_refused_and_nothing_is_stored(
    ctx: SyncContext, tt_conn: int, tt: TikTokHandle, intake: str
) -> None:
    tt.control("POST", "config", {"webhook_retry_delays_s": []})
    tt.fault("tamper_webhooks", count=1)
    tt.sim.create_order()
    assert flush(tt) == [401]
    assert count(ctx.db, WebhookDelivery) == 0 and count(ctx.db, Order) == 0


def import_one(ctx: SyncContext, conn_id: int, tt: TikTokHandle, **spec: object) -> tuple[int, int, str]:
    remote = tt.sim.create_order(**spec)
    assert run_sync(ctx, conn_id).status == RunStatus.SUCCEEDED
    row = order_row(ctx.db, remote["id"])
    return row.workspace_id, row.id, remote["id"]


def action(ctx: SyncContext, action_id: int) -> OrderAction:
    with ctx.db.read_session() as s:
        found = s.get(OrderAction, action_id)
        assert found is not None
        return found


def test_ship_pushed_after_a_lost_answer_ships_once(ctx: SyncContext, tt_conn: int, tt: TikTokHandle) -> None:
    ws, order_id, remote_id = import_one(ctx, tt_conn, tt)
    with ctx.db.session() as s:
        action_id = request_ship(s, ws, order_id, ShipActionCreate(carrier="Royal Mail", tracking_number="RM1GB")).id
    tt.fault("lose_response", seconds=1.0, path_contains="/ship", method="POST", count=1)
    assert asyncio.run(push_actions(ctx, tt_conn)) == 0
    assert action(ctx, action_id).status == ActionStatus.PENDING
    deadline = time.monotonic() + 10
    while tt.sim.store.orders[remote_id].status == "AWAITING_SHIPMENT" and time.monotonic() < deadline:
        time.sleep(0.05)
    with ctx.db.session() as s:
        s.get(OrderAction, action_id).next_attempt_at = None  # type: ignore[union-attr]  # the retry is due
    assert asyncio.run(push_actions(ctx, tt_conn)) == 1
    done = action(ctx, action_id)
    assert done.status == ActionStatus.DONE and done.remote_id == tt.sim.store.orders[remote_id].units[0].package_id
    assert len(tt.requests("POST", "/ship")) == 1 and tt.requests("POST", f"/orders/{remote_id}/packages") == []
    with ctx.db.session() as s:
        track = request_tracking(s, ws, order_id, TrackingActionCreate(tracking_number="RM2GB"))
        track_id = track.id
    assert asyncio.run(push_actions(ctx, tt_conn)) == 1 and action(ctx, track_id).status == ActionStatus.DONE
    assert {u.tracking_number for u in tt.sim.store.orders[remote_id].units} == {"RM2GB"}


def test_cancel_pushed_to_tiktok(ctx: SyncContext, tt_conn: int, tt: TikTokHandle) -> None:
    ws, order_id, remote_id = import_one(ctx, tt_conn, tt)
    with ctx.db.session() as s:
        action_id = request_cancel(s, ws, order_id, CancelActionCreate(reason="inventory")).id
    assert asyncio.run(push_actions(ctx, tt_conn)) == 1
    assert action(ctx, action_id).status == ActionStatus.DONE
    assert tt.sim.store.orders[remote_id].status == "CANCELLED"
    [call] = tt.requests("POST", "cancellations")
    assert call["body"]["cancel_reason"] == "seller_cancel_reason_out_of_stock"


def test_the_registry_lists_tiktok_with_every_write_back() -> None:
    spec = channel_spec("tiktok")
    assert (spec.display_name, spec.default_poll_interval_seconds, spec.webhook_topics) == (
        "TikTok Shop",
        3600,
        ORDER_TOPICS,
    )
    assert spec.capabilities == frozenset({"ship", "cancel", "tracking", "stock", "webhooks"})
    assert dict(spec.unsupported_reasons) == {}

"""End to end through the engine's generic code: a Walmart connection polled, actions pushed, tokens kept."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import func, select

import factories
from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, ConnectionStatus, PollingCursor, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import build_connector, create_connection, request_sync
from fenicia.connectors.walmart.orders import normalize_order
from fenicia.core.errors import UnsupportedOperation
from fenicia.orders.actions import request_cancel, request_ship, request_tracking
from fenicia.orders.events import EventKind
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderEvent, OrderStatus
from fenicia.orders.push import push_actions
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate
from walmart_sim import WalmartHandle, credentials


@pytest.fixture
def walmart_conn(ctx: SyncContext, wm: WalmartHandle) -> int:
    with ctx.db.session() as s:
        ws, _ = factories.workspace(s)
        data = ConnectionCreate(channel="walmart", name="My Walmart", settings=wm.settings(), credentials=credentials())
        conn = create_connection(s, ctx.box, ws, data)
        assert conn.poll_interval_seconds == 900  # the product table: Walmart is polled every 15 minutes
        return conn.id


def run(ctx: SyncContext, conn_id: int, kind: str = "poll", **kw: object) -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        created, _ = request_sync(s, conn.workspace_id, conn_id, kind=kind, **kw)  # type: ignore[arg-type]
        run_id = created.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def orders(ctx: SyncContext) -> dict[str, Order]:
    with ctx.db.read_session() as s:
        rows = s.scalars(select(Order)).all()
        for row in rows:
            _ = row.lines, row.shipments
        return {row.external_id: row for row in rows}


def action(ctx: SyncContext, action_id: int) -> OrderAction:
    with ctx.db.read_session() as s:
        found = s.get(OrderAction, action_id)
        assert found is not None
        return found


def test_poll_imports_orders_with_their_line_statuses(ctx: SyncContext, walmart_conn: int, wm: WalmartHandle) -> None:
    wm.sim.bulk_create_orders(260)
    first = run(ctx, walmart_conn)
    assert first.status == RunStatus.SUCCEEDED, first.error_message
    assert (first.orders_seen, first.orders_created) == (260, 260)
    held = orders(ctx)
    assert len(held) == 260
    for po, order in held.items():
        expected = normalize_order(wm.sim.get_order(po))
        assert (order.status, order.channel_status) == (expected.status, expected.channel_status)
        assert [(ln.external_id, ln.sku, ln.quantity, ln.shipped_quantity) for ln in order.lines] == [
            (ln.external_id, ln.sku, ln.quantity, ln.shipped_quantity) for ln in expected.lines
        ]
    assert {o.status for o in held.values()} >= {OrderStatus.UNSHIPPED, OrderStatus.SHIPPED, OrderStatus.CANCELLED}
    with ctx.db.read_session() as s:
        cursor = s.scalar(select(PollingCursor.last_value))
        conn = s.get(ChannelConnection, walmart_conn)
        assert conn is not None and conn.status == ConnectionStatus.COMPLETED and conn.token_encrypted
    again = run(ctx, walmart_conn)
    assert again.status == RunStatus.SUCCEEDED and again.orders_created == 0
    with ctx.db.read_session() as s:
        later = s.scalar(select(PollingCursor.last_value))
    assert cursor is not None and later is not None and later >= cursor
    assert wm.grants() == 1  # the token was kept (encrypted) on the connection between runs


def test_buyer_cancellation_reaches_the_timeline(ctx: SyncContext, walmart_conn: int, wm: WalmartHandle) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    run(ctx, walmart_conn)
    wm.control("POST", f"orders/{po}/cancel", {})
    run(ctx, walmart_conn)
    order = orders(ctx)[po]
    assert order.status == OrderStatus.CANCELLED and order.cancelled_at is not None
    with ctx.db.read_session() as s:
        kinds = set(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order.id)))
    assert {EventKind.CUSTOMER_CANCELLED, EventKind.STATUS_CHANGED} <= kinds


def test_ship_tracking_and_cancel_are_pushed(ctx: SyncContext, walmart_conn: int, wm: WalmartHandle) -> None:
    to_ship = wm.sim.create_order()["purchaseOrderId"]
    to_cancel = wm.sim.create_order()["purchaseOrderId"]
    run(ctx, walmart_conn)
    held = orders(ctx)
    ws = held[to_ship].workspace_id
    with ctx.db.session() as s:
        ship_id = request_ship(s, ws, held[to_ship].id, ShipActionCreate(carrier="UPS", tracking_number="1ZA")).id
        track_id = request_tracking(s, ws, held[to_ship].id, TrackingActionCreate(tracking_number="1ZB")).id
        cancel_id = request_cancel(s, ws, held[to_cancel].id, CancelActionCreate(reason="inventory")).id
    assert asyncio.run(push_actions(ctx, walmart_conn)) == 3
    assert all(action(ctx, i).status == ActionStatus.DONE for i in (ship_id, track_id, cancel_id))
    remote = normalize_order(wm.sim.get_order(to_ship))
    assert remote.status == OrderStatus.SHIPPED and [s.tracking_number for s in remote.shipments] == ["1ZB"]
    assert normalize_order(wm.sim.get_order(to_cancel)).status == OrderStatus.CANCELLED
    run(ctx, walmart_conn)  # the next poll sees the same package: no second shipment row
    shipped = orders(ctx)[to_ship]
    assert [(s.external_id, s.tracking_number) for s in shipped.shipments] == [(action(ctx, ship_id).remote_id, "1ZB")]
    assert orders(ctx)[to_cancel].status == OrderStatus.CANCELLED


def test_a_ship_retried_after_a_lost_answer_ships_once(ctx: SyncContext, walmart_conn: int, wm: WalmartHandle) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    run(ctx, walmart_conn)
    order = orders(ctx)[po]
    with ctx.db.session() as s:
        ship_id = request_ship(
            s, order.workspace_id, order.id, ShipActionCreate(carrier="USPS", tracking_number="94")
        ).id
    wm.fault("lose_response", seconds=1.0, path_contains="/shipping", method="POST", count=1)
    assert asyncio.run(push_actions(ctx, walmart_conn)) == 0
    assert action(ctx, ship_id).status == ActionStatus.PENDING
    deadline = time.monotonic() + 5
    while not normalize_order(wm.sim.get_order(po)).shipments and time.monotonic() < deadline:
        time.sleep(0.02)
    with ctx.db.session() as s:
        s.get(OrderAction, ship_id).next_attempt_at = None  # type: ignore[union-attr]  # the retry is due
    assert asyncio.run(push_actions(ctx, walmart_conn)) == 1
    assert action(ctx, ship_id).status == ActionStatus.DONE
    assert len(wm.requests("POST", f"/v3/orders/{po}/shipping")) == 1
    assert len(normalize_order(wm.sim.get_order(po)).shipments) == 1


def test_rate_limit_and_revoked_key_follow_the_ladder(ctx: SyncContext, walmart_conn: int, wm: WalmartHandle) -> None:
    wm.sim.create_order()
    wm.control("POST", "config", {"retry_after_header": True, "allowances": {"orders_list": [0.01, 1]}})
    wm.control("POST", "config", {"rate_limit_enabled": True})
    wm.fault("http_429", path_contains="/v3/orders")
    limited = run(ctx, walmart_conn)
    assert limited.error_code == "rate_limited"
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, walmart_conn)
        assert conn is not None and conn.status == ConnectionStatus.PENDING and conn.retry_count == 0
    wm.control("DELETE", "faults")
    wm.control("POST", "config", {"rate_limit_enabled": False})
    wm.control("POST", "tokens/expire", {})
    wm.fault("revoke_credentials", path_contains="/v3/token")
    failed = run(ctx, walmart_conn)  # "sync now" takes the waiting rate-limit retry forward
    assert failed.error_code == "auth_error"
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, walmart_conn)
        assert conn is not None and conn.status == ConnectionStatus.ERROR
        assert s.scalar(select(func.count(SyncRun.id)).where(SyncRun.status == RunStatus.QUEUED)) == 0


def test_webhooks_are_not_accepted(ctx: SyncContext, walmart_conn: int) -> None:
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, walmart_conn)
        assert conn is not None
        connector = build_connector(conn, ctx.box, ctx.db)
    with pytest.raises(UnsupportedOperation):
        connector.verify_webhook({}, b"{}")
    asyncio.run(connector.aclose())

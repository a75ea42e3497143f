"""End to end through the engine's generic code: an Amazon connection polled, pushed to and refused,
against the simulator over real HTTP and a real database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import factories
from amazon_sim import CREDENTIALS, SimHandle, running_amazon
from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, ConnectionStatus, PollingCursor, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, request_sync
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import UnsupportedOperation
from fenicia.db.engine import Database
from fenicia.orders.actions import request_cancel, request_ship, request_tracking
from fenicia.orders.events import EventKind
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderEvent, OrderStatus
from fenicia.orders.push import push_actions
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate

CONFIRM = "/shipmentConfirmation"


@pytest.fixture
def amazon() -> Iterator[SimHandle]:
    with running_amazon(bulk_history_days=5) as handle:
        yield handle


def connect(db: Database, box: SecretBox, amazon: SimHandle, **settings: Any) -> int:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        data = ConnectionCreate(
            channel="amazon", name="My Amazon", settings=amazon.settings_dict(**settings), credentials=CREDENTIALS
        )
        conn = create_connection(s, box, ws, data)
        assert conn.poll_interval_seconds == 900  # the product table: polled every 15 minutes
        return conn.id


@pytest.fixture
def conn_id(db: Database, box: SecretBox, amazon: SimHandle) -> int:
    return connect(db, box, amazon)


def run(ctx: SyncContext, conn_id: int, kind: str = "poll", **kw: Any) -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        sync_run, _ = request_sync(s, conn.workspace_id, conn_id, kind=kind, **kw)
        run_id = sync_run.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def connection(db: Database, conn_id: int) -> ChannelConnection:
    with db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        return conn


def order_row(db: Database, external_id: str) -> Order:
    with db.read_session() as s:
        order = s.scalar(select(Order).where(Order.external_id == external_id))
        assert order is not None
        _ = (order.lines, order.shipments)
        return order


def events(db: Database, order_id: int) -> list[str]:
    with db.read_session() as s:
        return list(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))


def test_poll_imports_orders_with_status_and_lines(ctx: SyncContext, conn_id: int, amazon: SimHandle) -> None:
    amazon.control("POST", "orders/bulk", {"count": 40})
    first = run(ctx, conn_id)
    assert first.status == RunStatus.SUCCEEDED, first.error_message
    assert (first.orders_seen, first.orders_created) == (40, 40)
    with ctx.db.read_session() as s:
        assert s.scalar(select(func.count(Order.id))) == 40
        cursor = s.scalar(select(PollingCursor.last_value))
    for external_id, held in list(amazon.sim.store.orders.items())[:10]:
        order = order_row(ctx.db, external_id)
        assert order.channel == "amazon" and order.channel_status.startswith(held.status)
        expected = {
            "Unshipped": OrderStatus.UNSHIPPED,
            "Shipped": OrderStatus.SHIPPED,
            "Canceled": OrderStatus.CANCELLED,
            "Pending": OrderStatus.PENDING,
            "PartiallyShipped": OrderStatus.PARTIALLY_SHIPPED,
        }[held.status]
        assert order.status == expected
        assert sorted((ln.sku, ln.quantity) for ln in order.lines) == sorted((i.sku, i.quantity) for i in held.items)
    assert connection(ctx.db, conn_id).status == ConnectionStatus.COMPLETED
    again = run(ctx, conn_id)
    assert again.status == RunStatus.SUCCEEDED and again.orders_created == 0
    with ctx.db.read_session() as s:
        assert s.scalar(select(PollingCursor.last_value)) >= cursor  # type: ignore[operator]
    assert amazon.state()["token_grants"] == 1, "the token is stored on the connection and reused by the next run"


def test_buyer_cancellation_reaches_the_order_and_its_timeline(
    ctx: SyncContext, conn_id: int, amazon: SimHandle
) -> None:
    cancelled = amazon.new_order()["AmazonOrderId"]
    asked = amazon.new_order()["AmazonOrderId"]
    run(ctx, conn_id)
    amazon.control("POST", f"orders/{cancelled}/cancel", {})
    amazon.control("POST", f"orders/{asked}/request_cancel", {"reason": "Ordered by mistake"})
    assert run(ctx, conn_id).status == RunStatus.SUCCEEDED
    gone = order_row(ctx.db, cancelled)
    assert gone.status == OrderStatus.CANCELLED and EventKind.CUSTOMER_CANCELLED in events(ctx.db, gone.id)
    pending = order_row(ctx.db, asked)
    assert pending.status == OrderStatus.UNSHIPPED
    assert pending.channel_status == "Unshipped; buyer requested cancellation"
    assert EventKind.UPDATED in events(ctx.db, pending.id)


def test_an_expired_token_is_refreshed_within_the_run(ctx: SyncContext, conn_id: int, amazon: SimHandle) -> None:
    amazon.new_order()
    run(ctx, conn_id)
    amazon.control("POST", "tokens/expire", {})
    amazon.new_order()
    later = run(ctx, conn_id)
    assert later.status == RunStatus.SUCCEEDED and later.orders_created == 1
    assert amazon.state()["token_grants"] == 2


def test_a_permission_error_puts_the_connection_in_error(ctx: SyncContext, conn_id: int, amazon: SimHandle) -> None:
    amazon.fault("permission_denied", path_contains="/orders/v0/orders", count=None)
    failed = run(ctx, conn_id)
    assert failed.error_code == "auth_error"
    conn = connection(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.ERROR and conn.resolution == "Reconnect the channel in Settings."


def test_a_long_throttle_waits_without_spending_a_retry(
    db: Database, box: SecretBox, ctx: SyncContext, amazon: SimHandle
) -> None:
    real = {"getOrders": {"rate_per_s": 0.0167, "burst": 20}}
    conn_id = connect(db, box, amazon, usage_plans=real)
    amazon.fault("http_429", path_contains="/orders/v0/orders", count=None)
    throttled = run(ctx, conn_id)
    assert throttled.error_code == "rate_limited"
    conn = connection(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.PENDING and conn.retry_count == 0 and conn.next_attempt_at is not None
    assert len(amazon.requests(operation="getOrders")) == 1


def test_ship_is_pushed_and_a_lost_answer_never_ships_twice(ctx: SyncContext, conn_id: int, amazon: SimHandle) -> None:
    external_id = amazon.new_order(items=[{"sku": "AMZ-0001", "quantity": 2}])["AmazonOrderId"]
    run(ctx, conn_id)
    order = order_row(ctx.db, external_id)
    with ctx.db.session() as s:
        action_id = request_ship(
            s, order.workspace_id, order.id, ShipActionCreate(carrier="UPS", tracking_number="1Z1")
        ).id
    amazon.fault("lose_response", seconds=1.0, path_contains=CONFIRM, method="POST", count=1)
    assert asyncio.run(push_actions(ctx, conn_id)) == 0  # Amazon acted; the answer came after our timeout
    with ctx.db.session() as s:
        action = s.get(OrderAction, action_id)
        assert action is not None and action.status == ActionStatus.PENDING
        action.next_attempt_at = None  # the retry is due
    assert asyncio.run(push_actions(ctx, conn_id)) == 1
    with ctx.db.read_session() as s:
        action = s.get(OrderAction, action_id)
        assert action is not None and action.status == ActionStatus.DONE and action.remote_id == str(action_id)
    held = amazon.order(external_id)
    assert held["OrderStatus"] == "Shipped" and len(held["Packages"]) == 1
    deadline = time.monotonic() + 5
    while len(amazon.requests("POST", CONFIRM)) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(amazon.requests("POST", CONFIRM)) == 1
    shipped = order_row(ctx.db, external_id)
    assert shipped.status == OrderStatus.SHIPPED and len(shipped.shipments) == 1
    assert shipped.shipments[0].external_id == str(action_id) and shipped.shipments[0].status == "shipped"


def test_cancel_and_tracking_are_refused_before_anything_is_queued(
    ctx: SyncContext, conn_id: int, amazon: SimHandle
) -> None:
    external_id = amazon.new_order()["AmazonOrderId"]
    run(ctx, conn_id)
    order = order_row(ctx.db, external_id)
    with ctx.db.session() as s, pytest.raises(UnsupportedOperation) as cancel:
        request_cancel(s, order.workspace_id, order.id, CancelActionCreate(reason="inventory"))
    assert cancel.value.http_status == 422 and "Seller Central" in cancel.value.message
    with ctx.db.session() as s, pytest.raises(UnsupportedOperation) as tracking:
        request_tracking(s, order.workspace_id, order.id, TrackingActionCreate(tracking_number="1Z2"))
    assert "tracking" in tracking.value.message.lower()
    with ctx.db.read_session() as s:
        assert s.scalar(select(func.count(OrderAction.id))) == 0


def test_one_order_sync_and_deleted_at_source(ctx: SyncContext, conn_id: int, amazon: SimHandle) -> None:
    external_id = amazon.new_order(status="Pending")["AmazonOrderId"]
    run(ctx, conn_id)
    amazon.control("POST", f"orders/{external_id}/authorize", {})
    fresh = run(ctx, conn_id, kind="order", target_external_id=external_id)
    assert fresh.status == RunStatus.SUCCEEDED and order_row(ctx.db, external_id).status == OrderStatus.UNSHIPPED
    amazon.control("DELETE", f"orders/{external_id}")
    gone = run(ctx, conn_id, kind="order", target_external_id=external_id)
    assert gone.error_code == "remote_not_found" and order_row(ctx.db, external_id).deleted_at_source

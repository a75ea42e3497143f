"""Ship, tracking and cancel pushed to the Shopify simulator; a retry after a timeout never double-ships."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.services import request_sync
from fenicia.core.errors import ConflictError
from fenicia.orders.actions import request_cancel, request_ship, request_tracking
from fenicia.orders.events import EventKind
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderEvent, OrderStatus
from fenicia.orders.push import push_actions
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate
from shopify_sim import SimHandle


def _import_one(ctx: SyncContext, conn_id: int, shop: SimHandle) -> tuple[int, int, int]:
    """Creates an order in the shop and polls it in; returns (workspace id, order id, remote id)."""
    remote = shop.sim.create_order()
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        run, _ = request_sync(s, conn.workspace_id, conn_id, kind="poll")
        ws, run_id = conn.workspace_id, run.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        assert s.get(SyncRun, run_id).status == RunStatus.SUCCEEDED  # type: ignore[union-attr]
        order = s.scalar(select(Order).where(Order.external_id == str(remote["id"])))
        assert order is not None
        return ws, order.id, int(remote["id"])


def _action(ctx: SyncContext, action_id: int) -> OrderAction:
    with ctx.db.read_session() as s:
        action = s.get(OrderAction, action_id)
        assert action is not None
        return action


def _events(ctx: SyncContext, order_id: int) -> list[str]:
    with ctx.db.read_session() as s:
        return list(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order_id).order_by(OrderEvent.id)))


def test_ship_then_tracking_pushed_in_order(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    ws, order_id, remote_id = _import_one(ctx, conn_id, shop)
    with ctx.db.session() as s:
        ship = request_ship(s, ws, order_id, ShipActionCreate(carrier="UPS", tracking_number="1Z999"))
        track = request_tracking(s, ws, order_id, TrackingActionCreate(carrier="UPS", tracking_number="1Z777"))
        ship_id, track_id = ship.id, track.id
    assert asyncio.run(push_actions(ctx, conn_id)) == 2
    shipped = _action(ctx, ship_id)
    assert shipped.status == ActionStatus.DONE and shipped.remote_id
    assert _action(ctx, track_id).status == ActionStatus.DONE
    remote = shop.sim.get_order(remote_id)
    assert remote["fulfillment_status"] == "fulfilled"
    assert [f["tracking_number"] for f in remote["fulfillments"]] == ["1Z777"]
    kinds = _events(ctx, order_id)
    assert kinds.count(EventKind.PUSHED) == 2 and EventKind.CUSTOMER_NOTIFIED in kinds


def test_retry_after_timeout_does_not_double_ship(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    ws, order_id, remote_id = _import_one(ctx, conn_id, shop)
    with ctx.db.session() as s:
        action_id = request_ship(s, ws, order_id, ShipActionCreate(carrier="UPS", tracking_number="1Z1")).id
    # Shopify acts on the request but answers after our client has given up (0.5 s timeout).
    shop.fault("lose_response", seconds=1.0, path_contains="fulfillments.json", method="POST", count=1)
    assert asyncio.run(push_actions(ctx, conn_id)) == 0
    first = _action(ctx, action_id)
    assert first.status == ActionStatus.PENDING and first.next_attempt_at is not None
    assert EventKind.RETRY_SCHEDULED in _events(ctx, order_id)
    deadline = time.monotonic() + 10
    while not shop.sim.get_order(remote_id)["fulfillments"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(shop.sim.get_order(remote_id)["fulfillments"]) == 1, "the shop must have acted on the lost request"
    with ctx.db.session() as s:
        s.get(OrderAction, action_id).next_attempt_at = None  # type: ignore[union-attr]  # retry is due
    assert asyncio.run(push_actions(ctx, conn_id)) == 1
    assert _action(ctx, action_id).status == ActionStatus.DONE
    assert len(shop.sim.get_order(remote_id)["fulfillments"]) == 1
    posts = [r for r in shop.requests("POST", "fulfillments.json") if "update_tracking" not in r["path"]]
    assert len(posts) == 1, "the retry must find the first shipment instead of posting a second"
    with ctx.db.read_session() as s:
        order = s.get(Order, order_id)
        assert order is not None and len(order.shipments) == 1


def test_cancel_pushed_and_second_cancel_refused(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    ws, order_id, remote_id = _import_one(ctx, conn_id, shop)
    with ctx.db.session() as s:
        action_id = request_cancel(s, ws, order_id, CancelActionCreate(reason="inventory")).id
    with ctx.db.session() as s, pytest.raises(ConflictError):
        request_cancel(s, ws, order_id, CancelActionCreate())
    assert asyncio.run(push_actions(ctx, conn_id)) == 1
    assert _action(ctx, action_id).status == ActionStatus.DONE
    assert shop.sim.get_order(remote_id)["cancelled_at"] is not None
    with ctx.db.read_session() as s:
        assert s.get(Order, order_id).status == OrderStatus.CANCELLED  # type: ignore[union-attr]


def test_push_with_revoked_token_fails_visibly(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    ws, order_id, _ = _import_one(ctx, conn_id, shop)
    with ctx.db.session() as s:
        action_id = request_ship(s, ws, order_id, ShipActionCreate(carrier="DHL", tracking_number="JD1")).id
    shop.fault("revoke_token")
    assert asyncio.run(push_actions(ctx, conn_id)) == 0
    action = _action(ctx, action_id)
    assert action.status == ActionStatus.FAILED and action.resolution == "Reconnect the channel in Settings."
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None and conn.status == "Error"


def test_cancel_whose_answer_was_lost_is_done_on_retry(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    ws, order_id, remote_id = _import_one(ctx, conn_id, shop)
    with ctx.db.session() as s:
        action_id = request_cancel(s, ws, order_id, CancelActionCreate(reason="customer")).id
    shop.fault("lose_response", seconds=1.0, path_contains="cancel.json", method="POST", count=1)
    assert asyncio.run(push_actions(ctx, conn_id)) == 0
    assert shop.sim.get_order(remote_id)["cancelled_at"] is not None
    with ctx.db.session() as s:
        s.get(OrderAction, action_id).next_attempt_at = None  # type: ignore[union-attr]
    pushed = asyncio.run(push_actions(ctx, conn_id))
    action = _action(ctx, action_id)
    assert pushed == 1, action.last_error
    assert action.status == ActionStatus.DONE and action.attempts == 2
    assert len(shop.requests("POST", "cancel.json")) == 2

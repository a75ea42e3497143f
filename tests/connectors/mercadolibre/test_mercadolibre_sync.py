"""End to end through the engine's generic code: a MercadoLibre connection polled, notified and pushed to.

The connection is created with ``create_connection``; runs, the inbox and the pusher are the same
functions the engine calls; notifications come from the simulator through Fenicia's real webhook intake.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import factories
import servers
from doubles import RecordingDispatcher
from fenicia.api.app import create_app
from fenicia.channels.context import SyncContext
from fenicia.channels.inbox import drain_inbox
from fenicia.channels.models import ChannelConnection, ConnectionStatus, RunStatus, SyncRun, WebhookDelivery
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, request_sync
from fenicia.channels.tokens import DbTokenStore
from fenicia.core.errors import UnsupportedOperation
from fenicia.orders.actions import request_cancel, request_ship
from fenicia.orders.events import EventKind
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderEvent, OrderStatus
from fenicia.orders.push import push_actions
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate
from mercadolibre_sim import SELLER_ID, MLHandle


@pytest.fixture
def conn_id(ctx: SyncContext, ml: MLHandle) -> int:
    with ctx.db.session() as s:
        ws, _ = factories.workspace(s)
        data = ConnectionCreate(
            channel="mercadolibre", name="Minha loja ML", settings=ml.settings(), credentials=ml.credentials()
        )
        conn = create_connection(s, ctx.box, ws, data)
        assert conn.poll_interval_seconds == 3600  # notifications carry the load; polling verifies hourly
        return conn.id


def poll(ctx: SyncContext, conn_id: int, kind: str = "poll") -> SyncRun:
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


def order_row(ctx: SyncContext, external_id: Any) -> Order:
    with ctx.db.read_session() as s:
        order = s.scalar(select(Order).where(Order.external_id == str(external_id)))
        assert order is not None
        _ = order.lines, order.shipments
        return order


def events(ctx: SyncContext, order: Order) -> list[str]:
    with ctx.db.read_session() as s:
        return list(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)))


def count(ctx: SyncContext, model: type, *where: Any) -> int:
    with ctx.db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_poll_imports_orders_with_their_shipment_status(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    ml.sim.bulk_create_orders(60)
    me1 = ml.new_order(mode="me1", items=[{"sku": "SKU-0005", "quantity": 2}])
    delivered = ml.new_order(mode="me2")
    ml.control("POST", f"shipments/{delivered['shipment']['id']}/status", {"status": "shipped"})
    ml.control("POST", f"shipments/{delivered['shipment']['id']}/status", {"status": "delivered"})
    run = poll(ctx, conn_id)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert (run.orders_seen, run.orders_created, run.pages) == (62, 62, 2)
    row = order_row(ctx, me1["order"]["id"])
    assert (row.status, row.channel_status) == (OrderStatus.UNSHIPPED, "order=paid shipment=ready_to_ship mode=me1")
    assert [(ln.sku, ln.quantity) for ln in row.lines] == [("SKU-0005", 2)]
    assert row.shipping_address is not None and row.shipping_address["country_code"] == "BR"
    assert order_row(ctx, delivered["order"]["id"]).status == OrderStatus.DELIVERED
    again = poll(ctx, conn_id)
    assert again.status == RunStatus.SUCCEEDED and again.orders_created == 0
    assert ml.token_state()["grants"] == 1  # the second run found the token in the connection row
    token = DbTokenStore(ctx.db, ctx.box, conn_id).load()
    assert token is not None and token.refresh_token and token.refresh_token.startswith("TG-")


def test_buyer_cancellation_reaches_the_order_and_its_timeline(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    bundle = ml.new_order(mode="me2")
    poll(ctx, conn_id)
    ml.control("POST", f"orders/{bundle['order']['id']}/cancel", {})
    run = poll(ctx, conn_id)
    assert run.orders_updated == 1
    row = order_row(ctx, bundle["order"]["id"])
    assert row.status == OrderStatus.CANCELLED and row.cancelled_at is not None
    assert EventKind.CUSTOMER_CANCELLED in events(ctx, row)


def test_buyer_address_change_is_a_customer_modification(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    bundle = ml.new_order(mode="me1")
    poll(ctx, conn_id)
    ml.control("POST", f"orders/{bundle['order']['id']}/edit", {"address": {"street_name": "Rua Nova"}})
    assert poll(ctx, conn_id).orders_updated == 1
    row = order_row(ctx, bundle["order"]["id"])
    assert row.shipping_address is not None and row.shipping_address["address1"].startswith("Rua Nova ")
    assert EventKind.CUSTOMER_MODIFIED in events(ctx, row)


def test_expired_token_in_the_database_is_refreshed_and_saved(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    ml.new_order()
    poll(ctx, conn_id)
    before = DbTokenStore(ctx.db, ctx.box, conn_id).load()
    ml.control("POST", "tokens/expire")
    assert poll(ctx, conn_id).status == RunStatus.SUCCEEDED
    after = DbTokenStore(ctx.db, ctx.box, conn_id).load()
    assert before is not None and after is not None
    assert after.value != before.value and after.refresh_token != before.refresh_token
    assert ml.token_state()["grants"] == 2


def test_rate_limit_waits_without_spending_a_retry(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    ml.new_order()
    ml.fault("http_429", count=None, path_contains="/orders/search")
    run = poll(ctx, conn_id)
    assert run.error_code == "rate_limited"
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        assert conn.status == ConnectionStatus.PENDING and conn.retry_count == 0


def test_revoked_authorization_puts_the_connection_in_error(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    ml.control("POST", "tokens/revoke")
    assert poll(ctx, conn_id).error_code == "auth_error"
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None and conn.status == ConnectionStatus.ERROR


# -- notifications through the real intake -------------------------------------------------------


@pytest.fixture
def intake_url(ctx: SyncContext, ml: MLHandle, conn_id: int) -> Iterator[str]:
    app = create_app(
        settings=ctx.settings,
        db=ctx.db,
        box=ctx.box,
        dispatcher=RecordingDispatcher(),
        engine_state=lambda: {"status": "running"},
    )
    with servers.serve(app) as url:
        address = f"{url}/webhooks/mercadolibre/{conn_id}"
        ml.control("POST", "config", {"notification_callback_url": address})
        yield address


def test_notifications_are_stored_once_and_drained_into_orders(
    ctx: SyncContext, conn_id: int, ml: MLHandle, intake_url: str
) -> None:
    ml.fault("duplicate_webhooks", count=1)
    me1 = ml.new_order(mode="me1")
    cancelled = ml.new_order(mode="me2")
    ml.control("POST", f"orders/{cancelled['order']['id']}/cancel", {})
    ml.control("POST", "notifications/flush")
    notes = ml.control("GET", "notifications")["notifications"]
    assert notes and all(note["status"] == "delivered" for note in notes)
    assert count(ctx, WebhookDelivery) == len(notes)  # the duplicate answered 200 and stored nothing
    assert asyncio.run(drain_inbox(ctx, conn_id)) == len(notes)
    assert order_row(ctx, me1["order"]["id"]).status == OrderStatus.UNSHIPPED
    gone = order_row(ctx, cancelled["order"]["id"])
    assert gone.status == OrderStatus.CANCELLED
    assert events(ctx, gone).count(EventKind.RECEIVED_WEBHOOK) >= 2
    assert count(ctx, Order) == 2 and count(ctx, WebhookDelivery, WebhookDelivery.status == "done") == len(notes)


def test_a_foreign_notification_is_refused_and_stores_nothing(
    ctx: SyncContext, conn_id: int, ml: MLHandle, intake_url: str
) -> None:
    note = {
        "_id": "forged-1",
        "resource": "/orders/2000003508419013",
        "user_id": SELLER_ID + 1,
        "topic": "orders_v2",
        "application_id": ml.sim.config.app_id,
        "attempts": 1,
        "sent": "2024-01-15T10:30:00.000Z",
        "received": "2024-01-15T10:30:00.000Z",
    }
    answer = httpx.post(intake_url, content=json.dumps(note), headers={"Content-Type": "application/json"})
    assert answer.status_code == 401
    assert count(ctx, WebhookDelivery) == 0


# -- actions pushed ------------------------------------------------------------------------------------


def _queue_ship(ctx: SyncContext, conn_id: int, external_id: Any) -> int:
    row = order_row(ctx, external_id)
    with ctx.db.session() as s:
        return request_ship(s, row.workspace_id, row.id, ShipActionCreate(carrier="Correios", tracking_number="OP1")).id


def _action(ctx: SyncContext, action_id: int) -> OrderAction:
    with ctx.db.read_session() as s:
        action = s.get(OrderAction, action_id)
        assert action is not None
        return action


def test_ship_is_pushed_for_me1_and_refused_with_the_reason_for_me2_before_anything_is_queued(
    ctx: SyncContext, conn_id: int, ml: MLHandle
) -> None:
    me1, me2 = ml.new_order(mode="me1"), ml.new_order(mode="me2")
    poll(ctx, conn_id)
    ok_id = _queue_ship(ctx, conn_id, me1["order"]["id"])
    with pytest.raises(UnsupportedOperation, match=r"Mercado Envíos \(me2\)"):
        _queue_ship(ctx, conn_id, me2["order"]["id"])
    with ctx.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(OrderAction)) == 1
    assert asyncio.run(push_actions(ctx, conn_id)) == 1
    done = _action(ctx, ok_id)
    assert done.status == ActionStatus.DONE and done.remote_id == str(me1["shipment"]["id"])
    assert ml.sim.store.shipments[me1["shipment"]["id"]].status == "shipped"
    poll(ctx, conn_id)
    shipped = order_row(ctx, me1["order"]["id"])
    assert shipped.status == OrderStatus.SHIPPED
    assert [(s.external_id, s.tracking_number) for s in shipped.shipments] == [(str(me1["shipment"]["id"]), "OP1")]


def test_cancel_is_pushed_as_sale_feedback(ctx: SyncContext, conn_id: int, ml: MLHandle) -> None:
    bundle = ml.new_order(mode="me1")
    poll(ctx, conn_id)
    row = order_row(ctx, bundle["order"]["id"])
    with ctx.db.session() as s:
        action_id = request_cancel(s, row.workspace_id, row.id, CancelActionCreate(reason="customer")).id
    assert asyncio.run(push_actions(ctx, conn_id)) == 1
    assert _action(ctx, action_id).status == ActionStatus.DONE
    assert ml.sim.store.orders[bundle["order"]["id"]].status == "cancelled"
    [feedback] = ml.requests("POST", "/feedback")
    assert feedback["body"]["reason"] == "BUYER_REGRETS"

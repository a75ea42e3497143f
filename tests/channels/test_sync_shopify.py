"""Sync runs, inbox draining and action pushes against the Shopify simulator over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from fenicia.channels.context import SyncContext
from fenicia.channels.inbox import drain_inbox
from fenicia.channels.models import (
    ChannelConnection,
    ConnectionStatus,
    PollingCursor,
    RunStatus,
    SyncRun,
    WebhookDelivery,
)
from fenicia.channels.runs import execute_run
from fenicia.channels.services import request_sync, store_webhook_delivery
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database
from fenicia.notifications.models import Notification
from fenicia.orders.events import EventKind
from fenicia.orders.models import Order, OrderEvent, OrderStatus
from shopify_sim import SimHandle


def _run(ctx: SyncContext, conn_id: int, kind: str = "poll", **kw: object) -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        run, _ = request_sync(s, conn.workspace_id, conn_id, kind=kind, **kw)  # type: ignore[arg-type]
        run_id = run.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def _conn(db: Database, conn_id: int) -> ChannelConnection:
    with db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        return conn


def _count(db: Database, model: type, *where: object) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def test_poll_imports_every_order_once_and_moves_the_cursor(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    shop.sim.bulk_create_orders(120)
    run = _run(ctx, conn_id)
    assert run.status == RunStatus.SUCCEEDED, run.error_message
    assert (run.orders_seen, run.orders_created, run.pages) == (120, 120, 3)
    assert _count(ctx.db, Order) == 120
    conn = _conn(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.COMPLETED and conn.last_success_at is not None
    with ctx.db.read_session() as s:
        first_cursor = s.scalar(select(PollingCursor.last_value))
    again = _run(ctx, conn_id)
    assert again.status == RunStatus.SUCCEEDED and again.orders_created == 0
    with ctx.db.read_session() as s:
        second_cursor = s.scalar(select(PollingCursor.last_value))
    assert first_cursor is not None and second_cursor is not None and second_cursor >= first_cursor
    assert _count(ctx.db, Order) == 120


def test_bulk_sync_reports_progress(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    shop.sim.bulk_create_orders(60)
    run = _run(ctx, conn_id, kind="bulk", trigger="manual")
    assert run.status == RunStatus.SUCCEEDED
    assert run.pages == 2 and run.orders_seen == 60 and run.errors == 0


def _signed_delivery(ctx: SyncContext, conn_id: int, order: dict[str, object], topic: str, webhook_id: str) -> None:
    body = json.dumps(order).encode()
    digest = base64.b64encode(hmac.new(b"shpss_sandbox", body, hashlib.sha256).digest()).decode()
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": digest,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "demo-store.myshopify.com",
        "X-Shopify-API-Version": "2024-04",
    }
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        store_webhook_delivery(
            s, conn, delivery_id=webhook_id, topic=topic, body=body, triggered_at=None, headers=headers
        )


def test_duplicate_and_out_of_order_webhooks(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    created = shop.sim.create_order()
    shop.sim.customer_cancel(int(created["id"]))
    cancelled = shop.sim.get_order(int(created["id"]))
    # the cancellation arrives first, twice; the older "create" payload arrives last
    _signed_delivery(ctx, conn_id, cancelled, "orders/cancelled", "w-2")
    _signed_delivery(ctx, conn_id, cancelled, "orders/cancelled", "w-2")
    _signed_delivery(ctx, conn_id, created, "orders/create", "w-1")
    assert asyncio.run(drain_inbox(ctx, conn_id)) == 2
    with ctx.db.read_session() as s:
        order = s.scalar(select(Order))
        assert order is not None and order.status == OrderStatus.CANCELLED
        kinds = list(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order.id)))
    assert kinds.count(EventKind.RECEIVED_WEBHOOK) == 2 and EventKind.STALE_IGNORED in kinds
    assert asyncio.run(drain_inbox(ctx, conn_id)) == 0


def test_timeout_schedules_retry_in_five_minutes(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    shop.fault("timeout", seconds=2.0, path_contains="orders.json")
    run = _run(ctx, conn_id)
    assert run.status == RunStatus.FAILED and run.error_code == "transient"
    conn = _conn(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.PENDING and conn.retry_count == 1
    assert conn.next_attempt_at is not None and conn.last_attempt_at is not None
    assert conn.next_attempt_at - conn.last_attempt_at >= timedelta(minutes=5) - timedelta(seconds=5)
    with ctx.db.read_session() as s:
        retry = s.scalar(select(SyncRun).where(SyncRun.trigger == "retry"))
        assert retry is not None and retry.scheduled_for == conn.next_attempt_at


def test_rate_limit_waits_without_spending_a_retry(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    shop.control("POST", "config", {"retry_after_s": 30.0})
    shop.fault("http_429", count=None)
    run = _run(ctx, conn_id)
    assert run.error_code == "rate_limited"
    conn = _conn(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.PENDING and conn.retry_count == 0
    assert conn.next_attempt_at is not None and "rate limit" in (conn.status_message or "").lower()


def test_revoked_token_goes_to_error_and_notifies(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    shop.fault("revoke_token")
    run = _run(ctx, conn_id)
    assert run.error_code == "auth_error"
    conn = _conn(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.ERROR and conn.resolution == "Reconnect the channel in Settings."
    assert _count(ctx.db, Notification, Notification.kind == "connection_error") == 1


def test_order_not_found_marks_deleted_without_retry(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    created = shop.sim.create_order()
    _run(ctx, conn_id)
    shop.sim.delete_order(int(created["id"]))
    run = _run(ctx, conn_id, kind="order", target_external_id=str(created["id"]))
    assert run.error_code == "remote_not_found"
    with ctx.db.read_session() as s:
        order = s.scalar(select(Order))
        assert order is not None and order.deleted_at_source
        assert s.scalar(select(func.count(SyncRun.id)).where(SyncRun.trigger == "retry")) == 0
    assert _conn(ctx.db, conn_id).status == ConnectionStatus.COMPLETED


def test_one_order_sync_fetches_fresh(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    created = shop.sim.create_order()
    _run(ctx, conn_id)
    shop.sim.customer_edit(int(created["id"]), {"shipping_address": {"city": "Lexington"}})
    run = _run(ctx, conn_id, kind="order", target_external_id=str(created["id"]))
    assert run.status == RunStatus.SUCCEEDED and run.orders_updated == 1
    with ctx.db.read_session() as s:
        order = s.scalar(select(Order))
        assert order is not None and (order.shipping_address or {}).get("city") == "Lexington"
        kinds = set(s.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order.id)))
    assert {EventKind.MANUAL_SYNC, EventKind.CUSTOMER_MODIFIED} <= kinds


def test_ladder_to_error_through_retry_runs(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    shop.fault("http_503", count=None)
    _run(ctx, conn_id)
    for _ in range(3):
        with ctx.db.read_session() as s:
            retry = s.scalar(select(SyncRun).where(SyncRun.status == RunStatus.QUEUED))
            assert retry is not None and retry.scheduled_for is not None and retry.scheduled_for > utcnow()
            retry_id, due = retry.id, retry.scheduled_for
        asyncio.run(execute_run(ctx, retry_id))  # too early: a waiting retry does not start
        assert _count(ctx.db, SyncRun, SyncRun.id == retry_id, SyncRun.status == RunStatus.QUEUED) == 1
        with time_machine.travel(due + timedelta(seconds=1), tick=True):
            asyncio.run(execute_run(ctx, retry_id))
    conn = _conn(ctx.db, conn_id)
    assert conn.status == ConnectionStatus.ERROR and conn.next_attempt_at is None
    assert _count(ctx.db, SyncRun, SyncRun.status == RunStatus.QUEUED) == 0
    assert _count(ctx.db, Notification) == 1
    shop.control("DELETE", "faults")
    assert _run(ctx, conn_id, trigger="manual").status == RunStatus.SUCCEEDED
    assert _conn(ctx.db, conn_id).status == ConnectionStatus.COMPLETED


def test_drain_applies_more_than_one_batch_in_order(ctx: SyncContext, conn_id: int, shop: SimHandle) -> None:
    from fenicia.channels.inbox import INBOX_BATCH

    count = INBOX_BATCH * 2 + 20
    for n in range(count):
        _signed_delivery(ctx, conn_id, shop.sim.create_order(), "orders/create", f"bulk-{n}")
    assert asyncio.run(drain_inbox(ctx, conn_id)) == count
    assert _count(ctx.db, Order) == count
    assert _count(ctx.db, WebhookDelivery, WebhookDelivery.status == "received") == 0

"""The channel conformance properties, checked for TikTok Shop through ``tests/harness_tiktok.py`` only
(the same calls the shared conformance suite makes), so the harness itself is proven to work."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import factories
from fenicia.channels.context import SyncContext
from fenicia.channels.inbox import drain_inbox
from fenicia.channels.models import ChannelConnection, PollingCursor, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import build_connector, create_connection, request_sync, store_webhook_delivery
from fenicia.core.errors import AuthError
from fenicia.orders.models import Order, OrderStatus
from harness import ChannelHarness
from harness_tiktok import TikTokHarness, running


@pytest.fixture
def harness() -> Iterator[TikTokHarness]:
    with running() as h:
        yield h


@pytest.fixture
def conn_id(ctx: SyncContext, harness: TikTokHarness) -> int:
    with ctx.db.session() as s:
        ws, _ = factories.workspace(s)
        data = ConnectionCreate(
            channel=harness.channel,
            name="Conformance",
            settings=harness.connection_settings(),
            credentials=harness.connection_credentials(),
        )
        return create_connection(s, ctx.box, ws, data).id


def poll(ctx: SyncContext, conn_id: int) -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        run_id = request_sync(s, conn.workspace_id, conn_id, kind="poll")[0].id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        run = s.get(SyncRun, run_id)
        assert run is not None
        return run


def orders(ctx: SyncContext) -> int:
    with ctx.db.read_session() as s:
        return int(s.scalar(select(func.count(Order.id))) or 0)


def test_the_harness_satisfies_the_protocol(harness: TikTokHarness) -> None:
    typed: ChannelHarness = harness
    assert typed.channel == "tiktok" and typed.url.startswith("http://127.0.0.1:")


def test_cursor_forward_and_duplicates_never_make_a_second_order(
    ctx: SyncContext, conn_id: int, harness: TikTokHarness
) -> None:
    [external_id] = harness.seed_orders(1)
    assert poll(ctx, conn_id).status == RunStatus.SUCCEEDED
    with ctx.db.read_session() as s:
        first = s.scalar(select(PollingCursor.last_value))
    harness.customer_cancel(external_id)
    webhook = harness.signed_webhook(external_id)
    assert webhook is not None
    headers, body = webhook
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        connector = build_connector(conn, ctx.box)
        connector.verify_webhook(headers, body)
        event = connector.parse_webhook(headers, body)
        for _ in range(2):
            store_webhook_delivery(
                s, conn, delivery_id=event.delivery_id, topic=event.topic, body=body, triggered_at=None, headers=headers
            )
    asyncio.run(connector.aclose())
    assert asyncio.run(drain_inbox(ctx, conn_id)) == 1
    assert poll(ctx, conn_id).status == RunStatus.SUCCEEDED
    with ctx.db.read_session() as s:
        second = s.scalar(select(PollingCursor.last_value))
        status = s.scalar(select(Order.status).where(Order.external_id == external_id))
    assert first is not None and second is not None and second >= first
    assert orders(ctx) == 1 and status == OrderStatus.CANCELLED


def test_tampered_webhook_rejected(ctx: SyncContext, conn_id: int, harness: TikTokHarness) -> None:
    [external_id] = harness.seed_orders(1)
    webhook = harness.signed_webhook(external_id)
    assert webhook is not None
    headers, body = webhook
    with ctx.db.read_session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        connector = build_connector(conn, ctx.box)
    with pytest.raises(AuthError):
        connector.verify_webhook(headers, body.replace(b'"type":1', b'"type":2'))
    asyncio.run(connector.aclose())


def test_token_expiry_survived_with_one_grant(ctx: SyncContext, conn_id: int, harness: TikTokHarness) -> None:
    harness.seed_orders(2)
    assert poll(ctx, conn_id).status == RunStatus.SUCCEEDED
    grants = harness.token_grants()
    harness.expire_tokens()
    assert poll(ctx, conn_id).status == RunStatus.SUCCEEDED
    assert harness.token_grants() == grants + 1 and orders(ctx) == 2


def test_429_honoured(ctx: SyncContext, conn_id: int, harness: TikTokHarness) -> None:
    harness.seed_orders(1)
    harness.fault("http_429", count=1, seconds=0.05, path_contains="orders/search")
    assert poll(ctx, conn_id).status == RunStatus.SUCCEEDED
    assert [r["status"] for r in harness.requests("POST", "orders/search")] == [429, 200]


def test_status_mapping_total(harness: TikTokHarness) -> None:
    samples = harness.documented_statuses()
    assert len(samples) == 9
    assert {harness.normalize(raw).status for raw in samples} == set(OrderStatus.ALL)

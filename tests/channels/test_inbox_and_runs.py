"""Webhook inbox storage and the one-run-at-a-time rule."""

from __future__ import annotations

from sqlalchemy import func, select

import factories
from fenicia.channels.models import ChannelConnection, WebhookDelivery
from fenicia.channels.services import request_sync, store_webhook_delivery
from fenicia.core.crypto import SecretBox
from fenicia.core.errors import NotFoundError
from fenicia.db.engine import Database


def test_duplicate_delivery_is_stored_once(db: Database, box: SecretBox) -> None:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        conn = factories.shopify_connection(s, box, ws)
        headers = {"X-Shopify-Topic": "orders/create", "Authorization": "secret"}
        first = store_webhook_delivery(
            s, conn, delivery_id="d-1", topic="orders/create", body=b"{}", triggered_at=None, headers=headers
        )
        again = store_webhook_delivery(
            s, conn, delivery_id="d-1", topic="orders/create", body=b"{}", triggered_at=None, headers=headers
        )
        assert first is not None and again is None
        assert s.scalar(select(func.count(WebhookDelivery.id))) == 1
        stored = s.get(WebhookDelivery, first)
        assert stored is not None and "authorization" not in stored.headers
        assert stored.headers["x-shopify-topic"] == "orders/create"


def test_sync_orders_twice_returns_the_running_run(db: Database, box: SecretBox) -> None:
    with db.session() as s:
        ws, _ = factories.workspace(s)
        conn = factories.shopify_connection(s, box, ws)
        run, created = request_sync(s, ws, conn.id, kind="bulk")
        again, created_again = request_sync(s, ws, conn.id, kind="bulk")
        assert created and not created_again and again.id == run.id
        order_run, order_created = request_sync(s, ws, conn.id, kind="order", target_external_id="1")
        assert order_created and order_run.id != run.id


def test_other_workspace_cannot_request_a_sync(db: Database, box: SecretBox) -> None:
    with db.session() as s:
        ws_a, _ = factories.workspace(s)
        ws_b, _ = factories.workspace(s)
        conn: ChannelConnection = factories.shopify_connection(s, box, ws_a)
        try:
            request_sync(s, ws_b, conn.id)
        except NotFoundError:
            pass
        else:
            raise AssertionError("workspace B reached workspace A's connection")

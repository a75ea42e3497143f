"""The conformance suite: every channel connector, against its own simulator over loopback HTTP.

One parametrized class; each channel brings a harness (tests/harness_<key>.py, the interface in
tests/harness.py). What it checks is what the merchant relies on whatever the channel: the cursor only
moves forward, nothing is imported twice, a tampered webhook is refused, an expired token is survived,
a 429 is honoured, every documented status maps to ours, and unsupported operations are refused before
anything is queued.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select

import factories
from fenicia.channels.context import SyncContext
from fenicia.channels.inbox import drain_inbox
from fenicia.channels.models import ChannelConnection, ConnectionStatus, PollingCursor, RunStatus, SyncRun
from fenicia.channels.runs import execute_run
from fenicia.channels.schemas import ConnectionCreate
from fenicia.channels.services import create_connection, request_sync, store_webhook_delivery
from fenicia.channels.views import connection_public
from fenicia.connectors.base import ChannelConnector, MemoryTokenStore
from fenicia.connectors.registry import CHANNEL_PACKAGES, channel_spec
from fenicia.core import netguard
from fenicia.core.errors import AuthError, InvalidRecord, UnsupportedOperation
from fenicia.orders.actions import request_cancel, request_ship, request_tracking
from fenicia.orders.models import Order, OrderAction, OrderStatus
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate
from harness import ChannelHarness


@pytest.fixture(params=CHANNEL_PACKAGES)
def harness(request: pytest.FixtureRequest) -> Iterator[ChannelHarness]:
    with importlib.import_module(f"harness_{request.param}").running() as h:
        yield h


@pytest.fixture
def connection(ctx: SyncContext, harness: ChannelHarness) -> int:
    with ctx.db.session() as s:
        ws, _ = factories.workspace(s)
        data = ConnectionCreate(
            channel=harness.channel,
            name=f"Conformance {harness.channel}",
            settings=harness.connection_settings(),
            credentials=harness.connection_credentials(),
        )
        return create_connection(s, ctx.box, ws, data).id


def _poll(ctx: SyncContext, conn_id: int, kind: str = "poll") -> SyncRun:
    with ctx.db.session() as s:
        conn = s.get(ChannelConnection, conn_id)
        assert conn is not None
        run, _ = request_sync(s, conn.workspace_id, conn_id, kind=kind, trigger="manual")
        run_id = run.id
    asyncio.run(execute_run(ctx, run_id))
    with ctx.db.read_session() as s:
        done = s.get(SyncRun, run_id)
        assert done is not None
        return done


def _orders(ctx: SyncContext, conn_id: int) -> int:
    with ctx.db.read_session() as s:
        return int(s.scalar(select(func.count()).select_from(Order).where(Order.connection_id == conn_id)) or 0)


def _cursor(ctx: SyncContext, conn_id: int) -> Any:
    with ctx.db.read_session() as s:
        return s.scalar(select(PollingCursor.last_value).where(PollingCursor.connection_id == conn_id))


def _connector(harness: ChannelHarness) -> ChannelConnector:
    spec = channel_spec(harness.channel)
    settings = spec.settings_model.model_validate(harness.connection_settings())
    credentials = spec.credentials_model.model_validate(harness.connection_credentials())
    connector: ChannelConnector = spec.build(settings, credentials, MemoryTokenStore())
    netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
    return connector


def _change_the_order_id(external_id: str) -> Any:
    def tamper(headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        return headers, body.replace(external_id.encode(), b"9" + external_id.encode(), 1)

    return tamper


class TestChannelConformance:
    def test_the_cursor_only_moves_forward(self, ctx: SyncContext, harness: ChannelHarness, connection: int) -> None:
        harness.seed_orders(3)
        first = _poll(ctx, connection)
        assert first.status == RunStatus.SUCCEEDED, first.error_message
        after_first = _cursor(ctx, connection)
        assert after_first is not None
        again = _poll(ctx, connection)
        assert again.status == RunStatus.SUCCEEDED, again.error_message
        after_again = _cursor(ctx, connection)
        assert after_again >= after_first
        harness.seed_orders(2)
        third = _poll(ctx, connection)
        assert third.status == RunStatus.SUCCEEDED, third.error_message
        assert _cursor(ctx, connection) >= after_again
        assert _orders(ctx, connection) == 5

    def test_duplicates_never_create_a_second_order(
        self, ctx: SyncContext, harness: ChannelHarness, connection: int
    ) -> None:
        ids = harness.seed_orders(2)
        for kind in ("poll", "poll", "bulk"):
            run = _poll(ctx, connection, kind)
            assert run.status == RunStatus.SUCCEEDED, run.error_message
        assert _orders(ctx, connection) == 2
        delivery = harness.signed_webhook(ids[0])
        if delivery is None:
            return
        headers, body = delivery
        connector = _connector(harness)
        connector.verify_webhook(headers, body)
        event = connector.parse_webhook(headers, body)
        asyncio.run(connector.aclose())
        with ctx.db.session() as s:
            conn = s.get(ChannelConnection, connection)
            assert conn is not None
            for _ in range(2):
                store_webhook_delivery(
                    s, conn, delivery_id=event.delivery_id, topic=event.topic, body=body, triggered_at=None,
                    headers=headers,
                )  # fmt: skip
        asyncio.run(drain_inbox(ctx, connection))
        assert _orders(ctx, connection) == 2

    def test_a_tampered_webhook_is_refused(self, harness: ChannelHarness) -> None:
        ids = harness.seed_orders(1)
        connector = _connector(harness)
        try:
            delivery = harness.signed_webhook(ids[0])
            if delivery is None:  # a channel without webhooks refuses every delivery
                with pytest.raises((AuthError, InvalidRecord, UnsupportedOperation)):
                    connector.verify_webhook({"content-type": "application/json"}, b'{"order": 1}')
                return
            headers, body = delivery
            connector.verify_webhook(headers, body)  # the genuine one passes
            tamper = getattr(harness, "tamper", None) or _change_the_order_id(ids[0])
            tampered_headers, tampered = tamper(headers, body)
            assert (tampered_headers, tampered) != (headers, body)
            with pytest.raises(AuthError):
                connector.verify_webhook(tampered_headers, tampered)
        finally:
            asyncio.run(connector.aclose())

    def test_an_expired_token_is_refreshed_once_and_the_sync_goes_on(
        self, ctx: SyncContext, harness: ChannelHarness, connection: int
    ) -> None:
        harness.seed_orders(1)
        first = _poll(ctx, connection)
        assert first.status == RunStatus.SUCCEEDED, first.error_message
        grants = harness.token_grants()
        if grants == 0:
            pytest.skip(f"{harness.channel} access tokens do not expire")
        again = _poll(ctx, connection)
        assert again.status == RunStatus.SUCCEEDED
        assert harness.token_grants() == grants, "a valid token must be reused across runs"
        harness.expire_tokens()
        harness.seed_orders(1)
        third = _poll(ctx, connection)
        assert third.status == RunStatus.SUCCEEDED, third.error_message
        assert harness.token_grants() == grants + 1
        assert _orders(ctx, connection) == 2

    def test_a_429_is_honoured_and_the_sync_completes(
        self, ctx: SyncContext, harness: ChannelHarness, connection: int
    ) -> None:
        """Either the client waits out a short limit inside the call, or the run stops and the engine
        comes back at the reset: Pending, no retry spent. Then the sync completes."""
        harness.seed_orders(2)
        harness.fault("http_429", count=1)
        run = _poll(ctx, connection)
        if run.status != RunStatus.SUCCEEDED:
            assert run.error_code == "rate_limited", run.error_message
            with ctx.db.read_session() as s:
                conn = s.get(ChannelConnection, connection)
                assert conn is not None
                assert conn.status == ConnectionStatus.PENDING and conn.retry_count == 0
                assert conn.next_attempt_at is not None
            run = _poll(ctx, connection)
        assert run.status == RunStatus.SUCCEEDED, run.error_message
        assert _orders(ctx, connection) == 2
        with ctx.db.read_session() as s:
            conn = s.get(ChannelConnection, connection)
            assert conn is not None
            assert conn.status == ConnectionStatus.COMPLETED and conn.retry_count == 0

    def test_every_documented_status_maps_to_ours(self, harness: ChannelHarness) -> None:
        samples = harness.documented_statuses()
        assert samples, "the harness must give one payload per documented status"
        seen = {harness.normalize(raw).status for raw in samples}
        assert seen <= set(OrderStatus.ALL)
        assert OrderStatus.CANCELLED in seen

    def test_unsupported_operations_are_refused_before_anything_is_queued(
        self, ctx: SyncContext, harness: ChannelHarness, connection: int
    ) -> None:
        spec = channel_spec(harness.channel)
        for capability in ("ship", "cancel", "tracking", "stock"):
            if capability not in spec.capabilities:
                assert spec.unsupported_reasons.get(capability), f"{capability}: say why it is unsupported"
        harness.seed_orders(1)
        assert _poll(ctx, connection).status == RunStatus.SUCCEEDED
        with ctx.db.session() as s:
            order = s.scalars(select(Order).where(Order.connection_id == connection)).one()
            ws, oid = order.workspace_id, order.id
            attempts = {
                "ship": lambda: request_ship(s, ws, oid, ShipActionCreate(carrier="UPS", tracking_number="1Z")),
                "tracking": lambda: request_tracking(s, ws, oid, TrackingActionCreate(tracking_number="1Z")),
                "cancel": lambda: request_cancel(s, ws, oid, CancelActionCreate()),
            }
            for capability, attempt in attempts.items():
                if capability in spec.capabilities:
                    continue
                with pytest.raises(UnsupportedOperation):
                    attempt()
        with ctx.db.read_session() as s:
            assert s.scalar(select(func.count()).select_from(OrderAction)) == 0

    def test_a_webhook_address_is_offered_only_where_the_channel_sends_webhooks(
        self, ctx: SyncContext, harness: ChannelHarness, connection: int
    ) -> None:
        with ctx.db.read_session() as s:
            conn = s.get(ChannelConnection, connection)
            assert conn is not None
            public = connection_public(conn, "https://fenicia.example")
        expected = harness.signed_webhook(harness.seed_orders(1)[0]) is not None
        assert (public.webhook_url is not None) == expected
        if expected:
            assert public.webhook_url == f"https://fenicia.example/webhooks/{harness.channel}/{connection}"

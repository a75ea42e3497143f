"""Pushing merchant actions to the channel, per connection, in id order, never twice.

Each action is claimed in one transaction, sent, and its result (with the remote id) saved in the
next. A retry of a ship action carries the same idempotency key, and the connector looks for the
first attempt's shipment before creating one, so a timeout after the channel acted never doubles it.

An action can change what the order holds in stock (a cancel gives its units back): the fresh order is
applied through ``upsert_order`` and its stock hook, and a cancel the upsert saw no change in recomputes
its products here. The engine then kicks the stock pushes that became due (``engine.workflows``), as it
does after a sync run or an inbox drain.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fenicia.channels.context import SyncContext
from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import build_connector
from fenicia.channels.status import mark_failed
from fenicia.connectors.base import ChannelConnector, RemoteResult, ShipRequest, TrackingRequest
from fenicia.core.clock import utcnow
from fenicia.core.errors import ConflictError, FeniciaError, RateLimitedError
from fenicia.orders.actions import ClaimedAction, claim_next_action, record_push_failure, record_push_success
from fenicia.orders.ingest import upsert_order
from fenicia.orders.models import Order, OrderStatus
from fenicia.orders.services import give_back_stock

CHANGED = ("created", "updated")  # upsert outcomes whose stock hook already recomputed the order's products


async def push_actions(ctx: SyncContext, connection_id: int) -> int:
    """Pushes every due action of the connection; returns how many succeeded."""
    with ctx.db.read_session() as session:
        conn = session.get(ChannelConnection, connection_id)
        if conn is None:
            return 0
        connector = build_connector(conn, ctx.box, ctx.db, allow_private=ctx.settings.allow_private_source_urls)
    pushed = 0
    try:
        while (claimed := _claim(ctx, connection_id)) is not None:
            ok, stop = await _push_one(ctx, connector, connection_id, claimed)
            pushed += ok
            if stop:
                break
    finally:
        await connector.aclose()
    return pushed


def _claim(ctx: SyncContext, connection_id: int) -> ClaimedAction | None:
    with ctx.db.session() as session:
        return claim_next_action(session, connection_id, ctx.worker_id, utcnow())


async def _push_one(
    ctx: SyncContext, connector: ChannelConnector, connection_id: int, claimed: ClaimedAction
) -> tuple[bool, bool]:
    """Returns (succeeded, stop pushing this connection for now)."""
    try:
        result = await _call(connector, claimed)
    except FeniciaError as error:
        with ctx.db.session() as session:
            failure = record_push_failure(
                session, claimed.action_id, error, utcnow(), ctx.settings.retry_delays_seconds
            )
            if failure.connection_error is not None:
                _connection_failed(session, connection_id, failure.connection_error, ctx)
        return False, isinstance(error, RateLimitedError) or failure.connection_error is not None
    with ctx.db.session() as session:
        action = record_push_success(session, claimed.action_id, result.remote_id, utcnow())
        applied = False
        if result.order is not None:
            conn = session.get(ChannelConnection, connection_id)
            assert conn is not None
            applied = upsert_order(session, conn, result.order, source="channel").outcome in CHANGED
        if claimed.kind == "cancel" and not applied:  # cancelled locally only: its units still go back
            order = session.get(Order, action.order_id)
            assert order is not None
            give_back_stock(session, order, f"order {order.number} cancelled")
    return True, False


def _connection_failed(session: Session, connection_id: int, error: FeniciaError, ctx: SyncContext) -> None:
    conn = session.get(ChannelConnection, connection_id)
    if conn is not None:
        mark_failed(session, conn, error, utcnow(), ctx.settings.retry_delays_seconds)


async def _call(connector: ChannelConnector, claimed: ClaimedAction) -> RemoteResult:
    key = f"fenicia-action-{claimed.action_id}"
    payload = claimed.payload
    if claimed.kind == "ship":
        request = ShipRequest(
            idempotency_key=key,
            carrier=payload.get("carrier"),
            tracking_number=payload.get("tracking_number"),
            tracking_url=payload.get("tracking_url"),
            notify_customer=bool(payload.get("notify_customer", True)),
        )
        return await connector.mark_shipped(claimed.order_external_id, request)
    if claimed.kind == "tracking":
        tracking = TrackingRequest(
            idempotency_key=key,
            shipment_external_id=claimed.shipment_external_id,
            carrier=payload.get("carrier"),
            tracking_number=payload["tracking_number"],
            tracking_url=payload.get("tracking_url"),
            notify_customer=bool(payload.get("notify_customer", True)),
        )
        return await connector.update_tracking(claimed.order_external_id, tracking)
    return await _cancel(connector, claimed)


async def _cancel(connector: ChannelConnector, claimed: ClaimedAction) -> RemoteResult:
    """A cancel whose answer was lost is refused as a conflict on retry: if the channel shows the
    order cancelled, the first attempt worked and this action is done."""
    payload = claimed.payload
    try:
        return await connector.cancel_order(
            claimed.order_external_id, payload.get("reason"), bool(payload.get("notify_customer", True))
        )
    except ConflictError:
        fresh = await connector.get_order(claimed.order_external_id)
        if fresh.status != OrderStatus.CANCELLED:
            raise
        return RemoteResult(remote_id=None, order=fresh, message="already cancelled on the channel")

"""Merchant actions (ship, cancel, add tracking): requested into an outbox, pushed in order, never twice.

``request_*`` run in the merchant's transaction: they refuse what the channel cannot do before
anything is queued, write the local change and the outbox row together, and note it on the timeline.
``claim_next_action`` / ``record_push_*`` are the pusher's bookkeeping around the remote call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from fenicia.channels.models import ChannelConnection
from fenicia.channels.services import spec_of
from fenicia.connectors.base import Capability
from fenicia.core.errors import (
    AuthError,
    ConflictError,
    FeniciaError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    UnsupportedOperation,
)
from fenicia.notifications.services import notify
from fenicia.orders.events import EventKind, add_event
from fenicia.orders.models import ActionStatus, Order, OrderAction, OrderStatus, Shipment
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate
from fenicia.orders.services import get_order, mark_deleted_at_source

ACTION_WORDS = {"ship": "Mark as shipped", "cancel": "Cancel", "tracking": "Add tracking"}
KIND_CAPABILITY = {"ship": Capability.SHIP, "cancel": Capability.CANCEL, "tracking": Capability.TRACKING}


def _require_capability(session: Session, order: Order, kind: str) -> ChannelConnection:
    conn = session.get(ChannelConnection, order.connection_id)
    assert conn is not None
    spec = spec_of(conn)
    reason = spec.blocker(KIND_CAPABILITY[kind], order.raw)
    if reason:
        raise UnsupportedOperation(
            f"{ACTION_WORDS[kind]} is not available for this {spec.display_name} order: {reason}"
        )
    return conn


def _refuse_if_closed(order: Order, kind: str) -> None:
    if order.deleted_at_source:
        raise ConflictError(f"Order {order.number} was deleted on the channel; it cannot be changed.")
    if order.status == OrderStatus.CANCELLED:
        raise ConflictError(f"Order {order.number} is cancelled; {ACTION_WORDS[kind].lower()} is not possible.")


def _queue(session: Session, order: Order, kind: str, payload: dict[str, Any], source: str) -> OrderAction:
    action = OrderAction(
        workspace_id=order.workspace_id,
        order_id=order.id,
        connection_id=order.connection_id,
        kind=kind,
        payload=payload,
        status=ActionStatus.PENDING,
    )
    session.add(action)
    session.flush()
    return action


def request_ship(
    session: Session, workspace_id: int, order_id: int, data: ShipActionCreate, *, source: str = "merchant"
) -> OrderAction:
    order = get_order(session, workspace_id, order_id)
    _require_capability(session, order, "ship")
    _refuse_if_closed(order, "ship")
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        raise ConflictError(f"Order {order.number} is already shipped.", resolution="Use Add tracking instead.")
    shipment = Shipment(
        workspace_id=workspace_id,
        order_id=order.id,
        carrier=data.carrier,
        tracking_number=data.tracking_number,
        tracking_url=data.tracking_url,
        status="pending_push",
    )
    order.shipments.append(shipment)
    session.flush()
    action = _queue(session, order, "ship", data.model_dump(), source)
    action.shipment_id = shipment.id
    add_event(
        session,
        order,
        EventKind.ACTION_REQUESTED,
        f"Mark as shipped requested: {data.carrier} {data.tracking_number}.",
        source=source,
        data={"action_id": action.id},
    )
    return action


def request_tracking(
    session: Session,
    workspace_id: int,
    order_id: int,
    data: TrackingActionCreate,
    *,
    source: str = "merchant",
) -> OrderAction:
    order = get_order(session, workspace_id, order_id)
    _require_capability(session, order, "tracking")
    _refuse_if_closed(order, "tracking")
    if not order.shipments:
        raise ConflictError(f"Order {order.number} has no shipment yet.", resolution="Use Mark as shipped first.")
    action = _queue(session, order, "tracking", data.model_dump(), source)
    action.shipment_id = order.shipments[-1].id
    add_event(
        session,
        order,
        EventKind.ACTION_REQUESTED,
        f"Add tracking requested: {data.carrier or ''} {data.tracking_number}.".replace("  ", " "),
        source=source,
        data={"action_id": action.id},
    )
    return action


def request_cancel(
    session: Session, workspace_id: int, order_id: int, data: CancelActionCreate, *, source: str = "merchant"
) -> OrderAction:
    order = get_order(session, workspace_id, order_id)
    _require_capability(session, order, "cancel")
    _refuse_if_closed(order, "cancel")
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_SHIPPED):
        raise ConflictError(
            f"Order {order.number} has shipped items and cannot be cancelled.",
            resolution="Cancel the shipment in the channel first, or refund instead.",
        )
    pending = select(OrderAction.id).where(
        OrderAction.order_id == order.id,
        OrderAction.kind == "cancel",
        OrderAction.status.in_(ActionStatus.UNFINISHED),
    )
    if session.scalar(pending) is not None:
        raise ConflictError(f"A cancellation of order {order.number} is already on its way to the channel.")
    action = _queue(session, order, "cancel", data.model_dump(), source)
    add_event(
        session,
        order,
        EventKind.ACTION_REQUESTED,
        f"Cancellation requested (reason: {data.reason}).",
        source=source,
        data={"action_id": action.id},
    )
    return action


# --- the pusher's bookkeeping ----------------------------------------------------------------------


@dataclass
class ClaimedAction:
    action_id: int
    order_id: int
    order_external_id: str
    kind: str
    payload: dict[str, Any]
    remote_state: dict[str, Any]
    shipment_external_id: str | None


def claim_next_action(session: Session, connection_id: int, worker_id: str, now: datetime) -> ClaimedAction | None:
    """The oldest due action of this connection whose order has no older unfinished action."""
    earlier = aliased(OrderAction)
    blocked = exists().where(
        earlier.order_id == OrderAction.order_id,
        earlier.id < OrderAction.id,
        earlier.status.in_(ActionStatus.UNFINISHED),
    )
    query = (
        select(OrderAction)
        .where(
            OrderAction.connection_id == connection_id,
            OrderAction.status == ActionStatus.PENDING,
            or_(OrderAction.next_attempt_at.is_(None), OrderAction.next_attempt_at <= now),
            ~blocked,
        )
        .order_by(OrderAction.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    action = session.scalar(query)
    if action is None:
        return None
    action.status = ActionStatus.IN_PROGRESS
    action.claimed_by = worker_id
    action.claimed_at = now
    action.attempts += 1
    order = session.get(Order, action.order_id)
    assert order is not None
    shipment = session.get(Shipment, action.shipment_id) if action.shipment_id else None
    return ClaimedAction(
        action.id,
        order.id,
        order.external_id,
        action.kind,
        dict(action.payload),
        dict(action.remote_state),
        shipment.external_id if shipment else None,
    )


def save_remote_state(session: Session, action_id: int, **state: Any) -> None:
    """Saved right after a remote call, in its own transaction, so a retry never repeats it."""
    action = session.get(OrderAction, action_id)
    assert action is not None
    action.remote_state = {**action.remote_state, **state}


def record_push_success(session: Session, action_id: int, remote_id: str | None, now: datetime) -> OrderAction:
    action = session.get(OrderAction, action_id)
    assert action is not None
    order = session.get(Order, action.order_id)
    assert order is not None
    action.status = ActionStatus.DONE
    action.remote_id = remote_id
    action.done_at = now
    action.last_error = None
    action.next_attempt_at = None
    _apply_success_locally(session, order, action, remote_id)
    add_event(
        session,
        order,
        EventKind.PUSHED,
        _pushed_message(order, action),
        source="channel",
        data={"action_id": action.id, "remote_id": remote_id},
    )
    if action.payload.get("notify_customer") and action.kind in ("ship", "tracking"):
        add_event(
            session,
            order,
            EventKind.CUSTOMER_NOTIFIED,
            "The channel was asked to email the customer the tracking details.",
            source="channel",
        )
    return action


def _pushed_message(order: Order, action: OrderAction) -> str:
    conn = order.channel.capitalize()
    if action.kind == "ship":
        return f"Shipment pushed to {conn} (remote id {action.remote_id})."
    if action.kind == "tracking":
        return f"Tracking number {action.payload.get('tracking_number')} pushed to {conn}."
    return f"Cancellation accepted by {conn}."


def _apply_success_locally(session: Session, order: Order, action: OrderAction, remote_id: str | None) -> None:
    shipment = session.get(Shipment, action.shipment_id) if action.shipment_id else None
    if action.kind == "ship" and shipment is not None:
        duplicate = next((s for s in order.shipments if s.external_id == remote_id and s.id != shipment.id), None)
        if duplicate is not None:  # the channel's webhook got here first: keep one row
            order.shipments.remove(duplicate)
            session.flush()
        shipment.external_id = remote_id
        shipment.status = "shipped"
    elif action.kind == "tracking" and shipment is not None:
        shipment.tracking_number = action.payload["tracking_number"]
        shipment.carrier = action.payload.get("carrier") or shipment.carrier
        shipment.tracking_url = action.payload.get("tracking_url") or shipment.tracking_url
    elif action.kind == "cancel":
        order.status = OrderStatus.CANCELLED


@dataclass
class PushFailure:
    retry_at: datetime | None
    connection_error: FeniciaError | None  # auth failures also put the connection in Error


def record_push_failure(
    session: Session, action_id: int, error: FeniciaError, now: datetime, delays: tuple[float, ...]
) -> PushFailure:
    action = session.get(OrderAction, action_id)
    assert action is not None
    order = session.get(Order, action.order_id)
    assert order is not None
    action.last_error = error.message
    action.claimed_by = None
    if isinstance(error, TransientError):
        return _retry_or_give_up(session, order, action, error, now, delays)
    _fail(session, order, action, error)
    if isinstance(error, RemoteNotFound):
        mark_deleted_at_source(session, order, source="channel")
    return PushFailure(None, error if isinstance(error, AuthError) else None)


def _retry_or_give_up(
    session: Session,
    order: Order,
    action: OrderAction,
    error: TransientError,
    now: datetime,
    delays: tuple[float, ...],
) -> PushFailure:
    spent = action.attempts - int(action.remote_state.get("rate_limited", 0))
    if isinstance(error, RateLimitedError):
        wait = max(error.retry_after or 1.0, 1.0)
        action.remote_state = {
            **action.remote_state,
            "rate_limited": action.remote_state.get("rate_limited", 0) + 1,
        }
    elif spent > len(delays):
        _fail(session, order, action, error)
        return PushFailure(None, None)
    else:
        wait = delays[spent - 1]
    action.status = ActionStatus.PENDING
    action.next_attempt_at = now + timedelta(seconds=wait)
    action.resolution = "Nothing to do yet: Fenicia retries automatically."
    add_event(
        session,
        order,
        EventKind.PUSH_FAILED,
        f"{ACTION_WORDS[action.kind]} could not reach the channel: {error.message}",
        source="channel",
        level="warning",
        data={"action_id": action.id},
    )
    add_event(
        session,
        order,
        EventKind.RETRY_SCHEDULED,
        f"Retry scheduled at {action.next_attempt_at.strftime('%H:%M:%S UTC')}.",
        source="system",
        data={"action_id": action.id, "retry_at": action.next_attempt_at.isoformat()},
    )
    return PushFailure(action.next_attempt_at, None)


def _fail(session: Session, order: Order, action: OrderAction, error: FeniciaError) -> None:
    action.status = ActionStatus.FAILED
    action.next_attempt_at = None
    action.resolution = error.resolution or "Check the order in the channel's admin."
    if action.shipment_id:
        shipment = session.get(Shipment, action.shipment_id)
        if shipment is not None and shipment.status == "pending_push":
            shipment.status = "push_failed"
    add_event(
        session,
        order,
        EventKind.PUSH_FAILED,
        f"{ACTION_WORDS[action.kind]} failed: {error.message}",
        source="channel",
        level="error",
        resolution=action.resolution,
        data={"action_id": action.id},
    )
    notify(
        session,
        order.workspace_id,
        kind="action_failed",
        title=f"{ACTION_WORDS[action.kind]} failed for order {order.number}",
        message=error.message,
        resolution=action.resolution,
        link=f"/orders/{order.id}",
        email=False,
    )


def retry_action(session: Session, workspace_id: int, action_id: int) -> OrderAction:
    """The merchant asks to try a failed action again (e.g. after reconnecting)."""
    action = session.scalar(
        select(OrderAction).where(and_(OrderAction.id == action_id, OrderAction.workspace_id == workspace_id))
    )
    if action is None:
        from fenicia.core.errors import NotFoundError

        raise NotFoundError(f"Action {action_id} does not exist in this workspace.")
    if action.status != ActionStatus.FAILED:
        raise ConflictError(f"Action {action_id} is {action.status}; only failed actions can be retried.")
    action.status = ActionStatus.PENDING
    action.attempts = 0
    action.next_attempt_at = None
    order = session.get(Order, action.order_id)
    assert order is not None
    add_event(
        session,
        order,
        EventKind.ACTION_REQUESTED,
        f"{ACTION_WORDS[action.kind]} retried by the merchant.",
        source="merchant",
        data={"action_id": action.id},
    )
    return action


def release_stale_claims(session: Session, dead_workers: list[str]) -> int:
    """Actions claimed by dead workers go back to pending (the connector call is idempotent)."""
    if not dead_workers:
        return 0
    rows = list(
        session.scalars(
            select(OrderAction).where(
                OrderAction.status == ActionStatus.IN_PROGRESS, OrderAction.claimed_by.in_(dead_workers)
            )
        )
    )
    for action in rows:
        action.status = ActionStatus.PENDING
        action.claimed_by = None
    return len(rows)

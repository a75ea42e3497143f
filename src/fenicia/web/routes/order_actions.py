"""The order page's forms: Sync, Mark as shipped, Add tracking, Cancel, Retry a failed action.

Each runs one service in one transaction and wakes the engine after commit. A refused request (the
channel can't, the order's state doesn't allow it, the form is wrong) re-renders the order page with
the message and resolution beside the form, with the error's 4xx status, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from fenicia.accounts.sessions import SignedIn
from fenicia.channels.services import request_sync
from fenicia.core.errors import FeniciaError
from fenicia.db.engine import Database
from fenicia.engine.interface import Dispatcher
from fenicia.orders.actions import request_cancel, request_ship, request_tracking, retry_action
from fenicia.orders.models import OrderAction
from fenicia.orders.schemas import CancelActionCreate, ShipActionCreate, TrackingActionCreate
from fenicia.orders.services import get_order
from fenicia.web.auth import FormUser
from fenicia.web.deps import DbDep, DispatcherDep, dispatch
from fenicia.web.forms import FormError, parse_form
from fenicia.web.routes.orders import order_page_response
from fenicia.web.routing import WebRoute

router = APIRouter(route_class=WebRoute)

SOURCE = "merchant"  # how the order timeline names requests made in the dashboard
TextField = Annotated[str, Form()]
Requester = Callable[[Session, int, int, Any], OrderAction]


def _act(
    request: Request,
    user: SignedIn,
    db: Database,
    dispatcher: Dispatcher,
    order_id: int,
    form: tuple[str, type[BaseModel], Requester],
    values: dict[str, Any],
) -> Response:
    kind, model, requester = form
    try:
        data = parse_form(model, values)
        with db.session() as session:
            action = requester(session, user.workspace_id, order_id, data)
            connection_id = action.connection_id
    except FeniciaError as exc:
        error = FormError.of(kind, exc)
        return order_page_response(request, user, db, order_id, error=error, values=values, status=exc.http_status)
    dispatch(dispatcher.push_actions, connection_id)
    return RedirectResponse(f"/orders/{order_id}?done={kind}", status_code=303)


def _ship(session: Session, ws: int, order_id: int, data: Any) -> OrderAction:
    return request_ship(session, ws, order_id, data, source=SOURCE)


def _tracking(session: Session, ws: int, order_id: int, data: Any) -> OrderAction:
    return request_tracking(session, ws, order_id, data, source=SOURCE)


def _cancel(session: Session, ws: int, order_id: int, data: Any) -> OrderAction:
    return request_cancel(session, ws, order_id, data, source=SOURCE)


@router.post("/orders/{order_id}/ship")
def ship(
    request: Request,
    order_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    carrier: TextField = "",
    tracking_number: TextField = "",
    tracking_url: TextField = "",
    notify_customer: TextField = "",
) -> Response:
    values: dict[str, Any] = {"carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url}
    values["notify_customer"] = bool(notify_customer)
    return _act(request, user, db, dispatcher, order_id, ("ship", ShipActionCreate, _ship), values)


@router.post("/orders/{order_id}/tracking")
def tracking(
    request: Request,
    order_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    carrier: TextField = "",
    tracking_number: TextField = "",
    tracking_url: TextField = "",
    notify_customer: TextField = "",
) -> Response:
    values: dict[str, Any] = {"carrier": carrier, "tracking_number": tracking_number, "tracking_url": tracking_url}
    values["notify_customer"] = bool(notify_customer)
    return _act(request, user, db, dispatcher, order_id, ("tracking", TrackingActionCreate, _tracking), values)


@router.post("/orders/{order_id}/cancel")
def cancel(
    request: Request,
    order_id: int,
    user: FormUser,
    db: DbDep,
    dispatcher: DispatcherDep,
    reason: TextField = "",
    notify_customer: TextField = "",
) -> Response:
    values: dict[str, Any] = {"reason": reason, "notify_customer": bool(notify_customer)}
    return _act(request, user, db, dispatcher, order_id, ("cancel", CancelActionCreate, _cancel), values)


@router.post("/orders/{order_id}/sync")
def sync_order(request: Request, order_id: int, user: FormUser, db: DbDep, dispatcher: DispatcherDep) -> Response:
    """The order page's Sync button: fetch this one order fresh from its channel now."""
    try:
        with db.session() as session:
            order = get_order(session, user.workspace_id, order_id)
            run, _ = request_sync(
                session, user.workspace_id, order.connection_id, kind="order", target_external_id=order.external_id
            )
            run_id, connection_id = run.id, run.connection_id
    except FeniciaError as exc:
        if exc.http_status == 404:
            raise
        return order_page_response(request, user, db, order_id, error=FormError.of("sync", exc), status=exc.http_status)
    dispatch(dispatcher.run_sync, run_id, connection_id)
    return RedirectResponse(f"/orders/{order_id}?done=sync", status_code=303)


@router.post("/actions/{action_id}/retry")
def retry(action_id: int, user: FormUser, db: DbDep, dispatcher: DispatcherDep) -> Response:
    """Try a failed action again; a refusal (e.g. it is not failed) is an error page with what to do."""
    with db.session() as session:
        action = retry_action(session, user.workspace_id, action_id)
        order_id, connection_id = action.order_id, action.connection_id
    dispatch(dispatcher.push_actions, connection_id)
    return RedirectResponse(f"/orders/{order_id}?done=retry", status_code=303)

"""The order page's forms and the channels' Sync button: one action or run each, woken after commit;
refusals shown inline with message and resolution, with the right 4xx, changing nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from fenicia.channels.models import SyncRun
from fenicia.db.engine import Database
from fenicia.orders.models import OrderAction, OrderStatus

SHIP = {"carrier": "UPS", "tracking_number": "1Z999", "notify_customer": "1"}
NO_CANCEL_REASON = "Webchan orders can only be cancelled by the buyer in the Webchan app."  # see conftest


def _actions(db: Database) -> list[OrderAction]:
    with db.read_session() as s:
        return list(s.scalars(select(OrderAction).order_by(OrderAction.id)))


def _runs(db: Database) -> list[SyncRun]:
    with db.read_session() as s:
        return list(s.scalars(select(SyncRun).order_by(SyncRun.id)))


@pytest.fixture
def order_id(tenant_a: Any, make_order: Callable[..., int]) -> int:
    return make_order(tenant_a, "3001")


def test_mark_as_shipped_queues_one_action_and_wakes_the_pusher(
    client: TestClient, signed_in: str, order_id: int, tenant_a: Any, db: Database, dispatcher: Any
) -> None:
    response = client.post(f"/orders/{order_id}/ship", data={**SHIP, "csrf_token": signed_in}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/orders/{order_id}?done=ship"
    [action] = _actions(db)
    assert action.kind == "ship" and action.payload["carrier"] == "UPS" and action.payload["notify_customer"] is True
    assert dispatcher.of("push_actions") == [(tenant_a.connection_id,)]
    page = client.get(response.headers["location"]).text
    assert "Mark as shipped is queued" in page and "Mark as shipped requested: UPS 1Z999." in page
    assert "merchant" in page  # the timeline names the source


def test_add_tracking_and_cancel_queue_their_actions(
    client: TestClient, signed_in: str, order_id: int, db: Database, dispatcher: Any
) -> None:
    client.post(f"/orders/{order_id}/ship", data={**SHIP, "csrf_token": signed_in})
    client.post(f"/orders/{order_id}/tracking", data={"tracking_number": "1Z000", "csrf_token": signed_in})
    assert [a.kind for a in _actions(db)] == ["ship", "tracking"]
    assert _actions(db)[1].payload == {
        "carrier": None,
        "tracking_number": "1Z000",
        "tracking_url": None,
        "notify_customer": False,
    }
    assert len(dispatcher.of("push_actions")) == 2


def test_cancel_queues_with_the_chosen_reason(client: TestClient, signed_in: str, order_id: int, db: Database) -> None:
    data = {"reason": "inventory", "notify_customer": "1", "csrf_token": signed_in}
    assert client.post(f"/orders/{order_id}/cancel", data=data, follow_redirects=False).status_code == 303
    [action] = _actions(db)
    assert action.kind == "cancel" and action.payload == {"reason": "inventory", "notify_customer": True}


def test_an_incomplete_form_is_422_inline_keeps_what_was_typed_and_queues_nothing(
    client: TestClient, signed_in: str, order_id: int, db: Database, dispatcher: Any
) -> None:
    response = client.post(f"/orders/{order_id}/ship", data={"carrier": "DHL Express", "csrf_token": signed_in})
    assert response.status_code == 422
    assert "Check the form: Tracking number is required." in response.text
    assert "nothing was changed" in response.text and 'value="DHL Express"' in response.text
    assert _actions(db) == [] and dispatcher.calls == []


def test_a_conflict_is_409_inline_with_its_resolution(
    client: TestClient, signed_in: str, tenant_a: Any, make_order: Callable[..., int], db: Database, dispatcher: Any
) -> None:
    shipped = make_order(tenant_a, "3002", status=OrderStatus.SHIPPED)
    response = client.post(f"/orders/{shipped}/cancel", data={"reason": "other", "csrf_token": signed_in})
    assert response.status_code == 409
    assert "has shipped items and cannot be cancelled" in response.text
    assert "Cancel the shipment in the channel first" in response.text
    assert _actions(db) == [] and dispatcher.calls == []


def test_unsupported_capability_disables_the_form_with_the_reason_and_is_refused(
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    webchan_connection: int,
    make_order: Callable[..., int],
    db: Database,
) -> None:
    order = make_order(tenant_a, "W-1", connection_id=webchan_connection)
    page = client.get(f"/orders/{order}").text
    cancel_form = page[page.index(f'action="/orders/{order}/cancel"') :]
    assert cancel_form.index("<fieldset disabled>") < cancel_form.index(NO_CANCEL_REASON) < 400
    ship_form = page[page.index(f'action="/orders/{order}/ship"') :]
    assert ship_form.index("<fieldset >") < 200  # shipping works on this channel
    forced = client.post(f"/orders/{order}/cancel", data={"reason": "other", "csrf_token": signed_in})
    assert forced.status_code == 422 and NO_CANCEL_REASON in forced.text and "What to do:" in forced.text
    assert _actions(db) == []


def test_another_workspaces_order_cannot_be_acted_on(
    client: TestClient, signed_in: str, tenant_b: Any, make_order: Callable[..., int], db: Database
) -> None:
    theirs = make_order(tenant_b, "9002")
    for form in ("ship", "tracking", "cancel", "sync"):
        response = client.post(f"/orders/{theirs}/{form}", data={**SHIP, "csrf_token": signed_in})
        assert response.status_code == 404, form
    assert client.post(f"/channels/{tenant_b.connection_id}/sync", data={"csrf_token": signed_in}).status_code == 404
    assert _actions(db) == [] and _runs(db) == []


def test_posts_without_the_session_cookie_are_refused_with_403(
    app: FastAPI, order_id: int, tenant_a: Any, db: Database
) -> None:
    with TestClient(app) as cookieless:
        ship = cookieless.post(f"/orders/{order_id}/ship", data={**SHIP, "csrf_token": "x"})
        sync = cookieless.post(f"/channels/{tenant_a.connection_id}/sync", data={"csrf_token": "x"})
    for response in (ship, sync):
        assert response.status_code == 403
        assert "without Fenicia&#39;s session cookie" in response.text and "Allow cookies" in response.text
    assert _actions(db) == [] and _runs(db) == []


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_posts_without_the_right_csrf_token_are_refused_with_403(
    client: TestClient, signed_in: str, order_id: int, db: Database, token: str | None
) -> None:
    data = dict(SHIP) if token is None else {**SHIP, "csrf_token": token}
    response = client.post(f"/orders/{order_id}/ship", data=data)
    assert response.status_code == 403 and "security token does not match" in response.text
    assert _actions(db) == []


def test_the_csrf_token_may_come_in_a_header(client: TestClient, signed_in: str, order_id: int, db: Database) -> None:
    response = client.post(f"/orders/{order_id}/ship", data=SHIP, headers={"X-CSRF-Token": signed_in})
    assert response.status_code == 200 and len(_actions(db)) == 1


def test_sync_orders_creates_one_bulk_run_and_a_second_press_shows_it(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, dispatcher: Any
) -> None:
    data = {"csrf_token": signed_in, "next": "/channels"}
    first = client.post(f"/channels/{tenant_a.connection_id}/sync", data=data, follow_redirects=False)
    assert first.headers["location"] == "/channels?done=bulk"
    [run] = _runs(db)
    assert (run.kind, run.trigger) == ("bulk", "manual")
    assert dispatcher.of("run_sync") == [(run.id, tenant_a.connection_id)]
    again = client.post(f"/channels/{tenant_a.connection_id}/sync", data=data)
    assert "already running" in again.text
    assert len(_runs(db)) == 1 and len(dispatcher.of("run_sync")) == 1


def test_the_order_sync_button_runs_a_one_order_sync(
    client: TestClient, signed_in: str, order_id: int, tenant_a: Any, db: Database, dispatcher: Any
) -> None:
    response = client.post(f"/orders/{order_id}/sync", data={"csrf_token": signed_in}, follow_redirects=False)
    assert response.headers["location"] == f"/orders/{order_id}?done=sync"
    [run] = _runs(db)
    assert (run.kind, run.target_external_id) == ("order", "3001")
    assert dispatcher.of("run_sync") == [(run.id, tenant_a.connection_id)]


def test_retrying_an_action_that_has_not_failed_is_a_409_page(
    client: TestClient, signed_in: str, order_id: int, db: Database
) -> None:
    client.post(f"/orders/{order_id}/ship", data={**SHIP, "csrf_token": signed_in})
    [action] = _actions(db)
    response = client.post(f"/actions/{action.id}/retry", data={"csrf_token": signed_in})
    assert response.status_code == 409 and "only failed actions can be retried" in response.text

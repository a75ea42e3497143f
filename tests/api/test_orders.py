"""/api/v1/orders and /api/v1/actions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

import factories
from fenicia.connectors.base import NormalizedLine
from fenicia.db.engine import Database
from fenicia.orders.models import ActionStatus, OrderAction, OrderStatus

T0 = factories.BASE_TIME
SHIP = {"carrier": "UPS", "tracking_number": "1Z999", "notify_customer": False}


def _actions(db: Database) -> list[OrderAction]:
    with db.read_session() as s:
        return list(s.scalars(select(OrderAction).order_by(OrderAction.id)))


@pytest.fixture
def catalog(tenant_a: Any, make_shopify: Callable[..., int], make_order: Callable[..., int]) -> dict[str, int]:
    """Two Shopify stores in tenant A with five orders placed an hour apart (1001 oldest)."""
    main, outlet = make_shopify(tenant_a, name="Main"), make_shopify(tenant_a, name="Outlet")
    ids = {"main": main, "outlet": outlet}
    for n, (conn, status) in enumerate(
        [
            (main, OrderStatus.UNSHIPPED),
            (main, OrderStatus.SHIPPED),
            (main, OrderStatus.CANCELLED),
            (outlet, OrderStatus.UNSHIPPED),
            (outlet, OrderStatus.PENDING),
        ]
    ):
        ext = str(1001 + n)
        ids[ext] = make_order(
            tenant_a,
            conn,
            ext,
            status=status,
            updated=T0 + timedelta(hours=n),
            customer_name=f"Customer {ext}",
            customer_email=f"c{ext}@example.com",
            lines=[NormalizedLine(external_id=f"{ext}-1", sku=f"MUG-{ext}", title="Mug", quantity=1)],
        )
    return ids


def _numbers(response: Any) -> list[str]:
    return [o["number"] for o in response.json()["items"]]


def test_list_newest_first_with_total_and_pagination(client: TestClient, tenant_a: Any, catalog: Any) -> None:
    first = client.get("/api/v1/orders?limit=2", headers=tenant_a.headers)
    assert first.status_code == 200
    assert _numbers(first) == ["#1005", "#1004"]
    assert first.json()["total"] == 5 and first.headers["X-Total-Count"] == "5"
    last = client.get("/api/v1/orders?limit=2&offset=4", headers=tenant_a.headers)
    assert _numbers(last) == ["#1001"] and last.json()["offset"] == 4


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=unshipped", ["#1004", "#1001"]),
        ("channel=shopify&status=cancelled", ["#1003"]),
        ("q=MUG-1002", ["#1002"]),
        ("q=c1005@example", ["#1005"]),
        ("q=%231003", ["#1003"]),
        ("placed_from=2026-11-01T13:00:00Z&placed_to=2026-11-01T15:00:00Z", ["#1004", "#1003"]),
        ("placed_from=2026-11-01T13:00:00", ["#1005", "#1004", "#1003"]),  # no zone: read as UTC
        ("channel=amazon", []),
    ],
)
def test_filters(client: TestClient, tenant_a: Any, catalog: Any, query: str, expected: list[str]) -> None:
    response = client.get(f"/api/v1/orders?{query}", headers=tenant_a.headers)
    assert response.status_code == 200
    assert _numbers(response) == expected
    assert response.json()["total"] == len(expected)


def test_filter_by_connection_and_unknown_status(client: TestClient, tenant_a: Any, catalog: Any) -> None:
    outlet = client.get(f"/api/v1/orders?connection_id={catalog['outlet']}", headers=tenant_a.headers)
    assert _numbers(outlet) == ["#1005", "#1004"]
    bad = client.get("/api/v1/orders?status=lost", headers=tenant_a.headers)
    assert bad.status_code == 422 and "unshipped" in bad.json()["error"]["resolution"]


def test_detail_has_lines_timeline_actions_and_capabilities(client: TestClient, tenant_a: Any, catalog: Any) -> None:
    order_id = catalog["1001"]
    client.post(f"/api/v1/orders/{order_id}/ship", json=SHIP, headers=tenant_a.headers)
    detail = client.get(f"/api/v1/orders/{order_id}", headers=tenant_a.headers).json()
    assert detail["number"] == "#1001" and detail["shipping_address"]["city"] == "Louisville"
    assert [ln["sku"] for ln in detail["lines"]] == ["MUG-1001"]
    assert [s["tracking_number"] for s in detail["shipments"]] == ["1Z999"]
    assert [e["kind"] for e in detail["timeline"]] == ["created", "action_requested"]
    assert detail["timeline"][1]["source"] == "api"
    assert [(a["kind"], a["status"]) for a in detail["actions"]] == [("ship", ActionStatus.PENDING)]
    assert set(detail["capabilities"]) >= {"ship", "cancel", "tracking"}


@pytest.mark.parametrize(
    ("path", "body", "kind"),
    [("ship", SHIP, "ship"), ("cancel", {"reason": "customer"}, "cancel")],
)
def test_action_is_queued_once_and_the_pusher_woken(
    client: TestClient, db: Database, tenant_a: Any, catalog: Any, dispatcher: Any, path: str, body: Any, kind: str
) -> None:
    response = client.post(f"/api/v1/orders/{catalog['1001']}/{path}", json=body, headers=tenant_a.headers)
    assert response.status_code == 202
    assert (response.json()["kind"], response.json()["status"]) == (kind, ActionStatus.PENDING)
    assert [(a.id, a.kind, a.order_id) for a in _actions(db)] == [(response.json()["id"], kind, catalog["1001"])]
    assert dispatcher.of("push_actions") == [(catalog["main"],)]


def test_tracking_after_ship(client: TestClient, db: Database, tenant_a: Any, catalog: Any, dispatcher: Any) -> None:
    order_id = catalog["1001"]
    early = client.post(f"/api/v1/orders/{order_id}/tracking", json={"tracking_number": "X1"}, headers=tenant_a.headers)
    assert early.status_code == 409 and _actions(db) == []
    client.post(f"/api/v1/orders/{order_id}/ship", json=SHIP, headers=tenant_a.headers)
    tracking = client.post(
        f"/api/v1/orders/{order_id}/tracking",
        json={"tracking_number": "1Z000", "carrier": "UPS"},
        headers=tenant_a.headers,
    )
    assert tracking.status_code == 202 and tracking.json()["kind"] == "tracking"
    assert [a.kind for a in _actions(db)] == ["ship", "tracking"]
    assert dispatcher.of("push_actions") == [(catalog["main"],)] * 2


def test_cancel_of_a_cancelled_order_is_409(
    client: TestClient, db: Database, tenant_a: Any, catalog: Any, dispatcher: Any
) -> None:
    response = client.post(f"/api/v1/orders/{catalog['1003']}/cancel", json={}, headers=tenant_a.headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict" and "cancelled" in response.json()["error"]["message"]
    assert _actions(db) == [] and dispatcher.calls == []


def test_invalid_action_body_is_422(client: TestClient, db: Database, tenant_a: Any, catalog: Any) -> None:
    response = client.post(f"/api/v1/orders/{catalog['1001']}/ship", json={"carrier": "UPS"}, headers=tenant_a.headers)
    assert response.status_code == 422 and "tracking_number" in response.json()["error"]["message"]
    reason = client.post(f"/api/v1/orders/{catalog['1001']}/cancel", json={"reason": "bored"}, headers=tenant_a.headers)
    assert reason.status_code == 422
    assert _actions(db) == []


def test_unsupported_operation_is_422_before_anything_is_queued(
    client: TestClient, db: Database, tenant_a: Any, testchan: str, make_order: Callable[..., int], dispatcher: Any
) -> None:
    body = {"channel": testchan, "name": "T", "credentials": {"api_key": "k"}}
    conn_id = client.post("/api/v1/connections", json=body, headers=tenant_a.headers).json()["id"]
    order_id = make_order(tenant_a, conn_id, "T-1")
    response = client.post(f"/api/v1/orders/{order_id}/cancel", json={}, headers=tenant_a.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unsupported_operation"
    assert "can only be cancelled by the buyer" in error["message"]
    assert _actions(db) == [] and dispatcher.calls == []
    detail = client.get(f"/api/v1/orders/{order_id}", headers=tenant_a.headers).json()
    assert detail["capabilities"] == ["ship", "tracking"]
    assert [e["kind"] for e in detail["timeline"]] == ["created"]
    assert client.post(f"/api/v1/orders/{order_id}/ship", json=SHIP, headers=tenant_a.headers).status_code == 202


def test_sync_one_order(client: TestClient, tenant_a: Any, catalog: Any, dispatcher: Any) -> None:
    response = client.post(f"/api/v1/orders/{catalog['1002']}/sync", headers=tenant_a.headers)
    assert response.status_code == 202
    run = response.json()
    assert (run["kind"], run["trigger"], run["target_external_id"]) == ("order", "manual", "1002")
    assert dispatcher.of("run_sync") == [(run["id"], catalog["main"])]


def test_retry_a_failed_action(client: TestClient, db: Database, tenant_a: Any, catalog: Any, dispatcher: Any) -> None:
    action_id = client.post(f"/api/v1/orders/{catalog['1001']}/ship", json=SHIP, headers=tenant_a.headers).json()["id"]
    not_failed = client.post(f"/api/v1/actions/{action_id}/retry", headers=tenant_a.headers)
    assert not_failed.status_code == 409
    with db.session() as s:
        action = s.get(OrderAction, action_id)
        assert action is not None
        action.status, action.attempts = ActionStatus.FAILED, 4
    retried = client.post(f"/api/v1/actions/{action_id}/retry", headers=tenant_a.headers)
    assert retried.status_code == 202
    assert (retried.json()["status"], retried.json()["attempts"]) == (ActionStatus.PENDING, 0)
    assert dispatcher.of("push_actions") == [(catalog["main"],)] * 2


def test_another_workspace_gets_404_for_orders_and_actions(
    client: TestClient, db: Database, tenant_a: Any, tenant_b: Any, catalog: Any, dispatcher: Any
) -> None:
    order_id = catalog["1001"]
    action_id = client.post(f"/api/v1/orders/{order_id}/ship", json=SHIP, headers=tenant_a.headers).json()["id"]
    calls_before = list(dispatcher.calls)
    attempts = [
        client.get(f"/api/v1/orders/{order_id}", headers=tenant_b.headers),
        client.post(f"/api/v1/orders/{order_id}/ship", json=SHIP, headers=tenant_b.headers),
        client.post(f"/api/v1/orders/{order_id}/tracking", json={"tracking_number": "X"}, headers=tenant_b.headers),
        client.post(f"/api/v1/orders/{order_id}/cancel", json={}, headers=tenant_b.headers),
        client.post(f"/api/v1/orders/{order_id}/sync", headers=tenant_b.headers),
        client.post(f"/api/v1/actions/{action_id}/retry", headers=tenant_b.headers),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    listed = client.get(f"/api/v1/orders?connection_id={catalog['main']}", headers=tenant_b.headers).json()
    assert listed == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert len(_actions(db)) == 1 and dispatcher.calls == calls_before
    with db.read_session() as s:
        assert s.scalar(select(func.count(OrderAction.id)).where(OrderAction.workspace_id == tenant_b.id)) == 0

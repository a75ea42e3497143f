"""The order page keeps itself current while an action is being pushed or the order synced, then stops;
the shipping address reads like an address; every error page says what to do, even an unexpected one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from fenicia.channels.models import RunStatus, SyncRun
from fenicia.core.clock import utcnow
from fenicia.db.engine import Database
from fenicia.orders.actions import claim_next_action, record_push_success
from fenicia.orders.models import OrderAction
from fenicia.web.render import address_lines
from fenicia.web.routing import WebRoute

POLLING = 'hx-trigger="every 2s"'
SHIP = {"carrier": "UPS", "tracking_number": "1Z777", "notify_customer": "1"}


@pytest.fixture
def order_id(tenant_a: Any, make_order: Callable[..., int]) -> int:
    return make_order(tenant_a, "6001")


def test_the_activity_polls_while_an_action_waits_and_stops_once_it_is_pushed(
    client: TestClient, signed_in: str, tenant_a: Any, order_id: int, db: Database
) -> None:
    assert POLLING not in client.get(f"/orders/{order_id}").text  # nothing under way: no polling
    page = client.post(f"/orders/{order_id}/ship", data={**SHIP, "csrf_token": signed_in}).text
    assert POLLING in page and f'hx-get="/partials/orders/{order_id}/activity"' in page
    with db.session() as s:
        claimed = claim_next_action(s, tenant_a.connection_id, "test-worker", utcnow())
        assert claimed is not None
        record_push_success(s, claimed.action_id, "F-1", utcnow())
    partial = client.get(f"/partials/orders/{order_id}/activity").text
    assert POLLING not in partial and 'data-kind="pushed"' in partial and "Shipment pushed to Shopify" in partial
    oob_status = '<span id="order-status" class="order-status os-unshipped" hx-swap-oob="true">'
    assert oob_status in partial  # the header's status badge is refreshed too
    assert "1Z777" in partial


def test_the_activity_polls_while_the_orders_own_sync_runs(
    client: TestClient, signed_in: str, order_id: int, db: Database
) -> None:
    client.post(f"/orders/{order_id}/sync", data={"csrf_token": signed_in})
    assert POLLING in client.get(f"/partials/orders/{order_id}/activity").text
    with db.session() as s:
        s.execute(update(SyncRun).values(status=RunStatus.SUCCEEDED))
    assert POLLING not in client.get(f"/partials/orders/{order_id}/activity").text


def test_another_workspaces_order_activity_is_not_found(
    client: TestClient, signed_in: str, tenant_b: Any, make_order: Callable[..., int]
) -> None:
    theirs = make_order(tenant_b, "9100")
    assert client.get(f"/partials/orders/{theirs}/activity").status_code == 404


def test_a_failed_action_offers_retry_in_the_live_part(
    client: TestClient, signed_in: str, order_id: int, db: Database
) -> None:
    client.post(f"/orders/{order_id}/ship", data={**SHIP, "csrf_token": signed_in})
    with db.session() as s:
        s.execute(update(OrderAction).values(status="failed", last_error="Token revoked.", resolution="Reconnect."))
        action_id = s.scalar(select(OrderAction.id))
    partial = client.get(f"/partials/orders/{order_id}/activity").text
    assert f'action="/actions/{action_id}/retry"' in partial and f'value="{signed_in}"' in partial
    assert "<strong>What to do:</strong> Reconnect." in partial and POLLING not in partial


def test_a_shipping_address_reads_like_an_address() -> None:
    shopify = {
        "first_name": "Dara",
        "last_name": "Ito",
        "name": "Dara Ito",
        "address1": "Oak Street 973",
        "address2": "",
        "company": None,
        "city": "Portland",
        "province": "Oregon",
        "province_code": "OR",
        "zip": "97201",
        "country": "United States",
        "country_code": "US",
        "phone": "+15021224743",
        "latitude": None,
    }
    assert address_lines(shopify) == [
        "Dara Ito",
        "Oak Street 973",
        "Portland, Oregon 97201",
        "United States",
        "+15021224743",
    ]
    other = {"first_name": "Ana", "last_name": "Lima", "street": "Rua A 1", "postal_code": "01000", "city": "São Paulo"}
    assert address_lines(other) == ["Ana Lima", "São Paulo, 01000", "Rua A 1"]  # unknown keys kept, after
    assert address_lines(None) == [] and address_lines({}) == []


def test_an_error_without_a_resolution_of_its_own_still_says_what_to_do(client: TestClient, signed_in: str) -> None:
    response = client.get("/orders/424242")
    assert response.status_code == 404 and "<strong>What to do:</strong> Check the address" in response.text


def test_an_unexpected_error_is_a_page_that_says_what_to_do(app: FastAPI) -> None:
    router = APIRouter(route_class=WebRoute)

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")
    assert response.status_code == 500 and response.headers["content-type"].startswith("text/html")
    assert "unexpected error" in response.text and "What to do:" in response.text and "a bug" not in response.text
    assert response.headers["X-Frame-Options"] == "DENY"

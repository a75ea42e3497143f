"""The dashboard's pages: behind login, scoped to the user's workspace, showing what the services hold."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

import factories
from fenicia.channels.models import ChannelConnection, ConnectionStatus
from fenicia.connectors.base import NormalizedLine, NormalizedShipment
from fenicia.db.engine import Database
from fenicia.notifications.services import notify
from fenicia.orders.models import OrderStatus

T0 = factories.BASE_TIME
PAGES = ["/", "/orders", "/channels", "/notifications", "/partials/orders-table", "/partials/channel-status"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_signed_out_browser_to_login_and_back(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    if path.startswith("/partials/"):  # htmx swaps: the whole page moves to /login instead
        assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login?next=")
    else:
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("path", PAGES)
def test_pages_render_for_a_signed_in_user(client: TestClient, signed_in: str, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"


def _set_status(db: Database, connection_id: int, **values: Any) -> None:
    with db.session() as s:
        s.execute(update(ChannelConnection).where(ChannelConnection.id == connection_id).values(**values))


def test_home_counts_orders_needing_action_channels_in_trouble_and_notifications(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, make_order: Callable[..., int]
) -> None:
    make_order(tenant_a, "1", status=OrderStatus.PENDING)
    make_order(tenant_a, "2", status=OrderStatus.UNSHIPPED)
    make_order(tenant_a, "3", status=OrderStatus.UNSHIPPED)
    make_order(tenant_a, "4", status=OrderStatus.SHIPPED)
    _set_status(db, tenant_a.connection_id, status=ConnectionStatus.ERROR, resolution="Reconnect the channel.")
    with db.session() as s:
        notify(s, tenant_a.id, kind="x", title="Stock push failed", message="Token revoked.", resolution="Reconnect.")
    page = client.get("/").text
    assert '<span class="num">1</span> pending orders' in page
    assert '<span class="num">2</span> orders to ship' in page
    assert '<span class="num">1</span> channels in Error or Pending' in page
    assert "Reconnect the channel." in page and "Stock push failed" in page
    assert '<span class="badge" title="1 unread">1</span>' in page


def test_channels_show_status_words_colours_times_and_what_to_do(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database
) -> None:
    _set_status(
        db,
        tenant_a.connection_id,
        status=ConnectionStatus.PENDING,
        status_message="Shopify did not answer (503).",
        resolution="Nothing to do: Fenicia retries automatically.",
        last_success_at=T0,
        next_attempt_at=T0 + timedelta(minutes=5),
    )
    page = client.get("/channels").text
    assert '<span class="status status-pending">Pending</span>' in page
    assert "2026-11-01 12:00 UTC" in page and "2026-11-01 12:05 UTC" in page
    assert "Shopify did not answer (503)." in page and "Fenicia retries automatically" in page
    _set_status(db, tenant_a.connection_id, status=ConnectionStatus.COMPLETED)
    assert '<span class="status status-ok">Completed</span>' in client.get("/partials/channel-status").text


def test_channel_detail_shows_the_latest_runs_progress(
    client: TestClient, signed_in: str, tenant_a: Any, dispatcher: Any
) -> None:
    client.post(f"/channels/{tenant_a.connection_id}/sync", data={"csrf_token": signed_in})
    page = client.get(f"/channels/{tenant_a.connection_id}").text
    assert "Bulk</strong> sync, manual" in page and "Orders seen / created / updated" in page
    assert 'hx-trigger="sse:channels"' in page
    live = client.get(f"/partials/channels/{tenant_a.connection_id}")
    assert live.status_code == 200 and "Run history" in live.text


@pytest.fixture
def catalog(tenant_a: Any, make_order: Callable[..., int]) -> dict[str, int]:
    """Thirty orders an hour apart: #1001 oldest; every third cancelled; SKU MUG-<number>."""
    ids = {}
    for n in range(30):
        ext = str(1001 + n)
        ids[ext] = make_order(
            tenant_a,
            ext,
            status=OrderStatus.CANCELLED if n % 3 == 0 else OrderStatus.UNSHIPPED,
            updated=T0 + timedelta(hours=n),
            customer_name=f"Customer {ext}",
            lines=[NormalizedLine(external_id=f"{ext}-1", sku=f"MUG-{ext}", title="Mug", quantity=1)],
        )
    return ids


def test_orders_are_paged_newest_first(client: TestClient, signed_in: str, catalog: dict[str, int]) -> None:
    first = client.get("/orders").text
    assert "30 orders" in first and "#1030" in first and "#1006" in first and "#1005" not in first
    assert "Page 1 of 2" in first and 'href="/orders?page=2"' in first
    second = client.get("/orders?page=2").text
    assert "#1005" in second and "#1001" in second and "#1030" not in second


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("status=cancelled", ["#1001", "#1004"], ["#1002"]),
        ("q=MUG-1017", ["#1017"], ["#1018"]),
        ("q=Customer+1029", ["#1029"], ["#1028"]),
        ("placed_from=2026-11-02&placed_to=2026-11-02", ["#1014", "#1030"], ["#1013"]),  # placed 1 h before update
    ],
)
def test_orders_filters(
    client: TestClient, signed_in: str, catalog: dict[str, int], query: str, present: list[str], absent: list[str]
) -> None:
    page = client.get(f"/orders?{query}").text
    assert all(f">{n}<" in page for n in present) and not any(f">{n}<" in page for n in absent)
    assert client.get(f"/partials/orders-table?{query}").text.count("<tr>") == page.count("<tr>")


def test_a_bad_filter_is_shown_inline_with_422(client: TestClient, signed_in: str) -> None:
    response = client.get("/orders?placed_from=yesterday")
    assert response.status_code == 422
    assert "&#39;yesterday&#39; is not a date" in response.text and "YYYY-MM-DD" in response.text
    unknown = client.get("/orders?status=lost")
    assert unknown.status_code == 422 and "Unknown order status" in unknown.text


def test_order_page_shows_lines_customer_address_and_timeline(
    client: TestClient, signed_in: str, tenant_a: Any, make_order: Callable[..., int]
) -> None:
    order_id = make_order(tenant_a, "2001")
    page = client.get(f"/orders/{order_id}").text
    assert "Order #2001" in page and "SKU-1" in page and "Widget" in page
    assert "Bob Norman" in page and "bob@example.com" in page and "Louisville" in page
    assert 'class="event level-info"' in page and "poll" in page  # the ingest event, its level and source
    assert f'action="/orders/{order_id}/sync"' in page


def test_another_workspaces_order_and_channel_are_not_found(
    client: TestClient, signed_in: str, tenant_b: Any, make_order: Callable[..., int]
) -> None:
    theirs = make_order(tenant_b, "9001", customer_name="Secret Customer")
    response = client.get(f"/orders/{theirs}")
    assert response.status_code == 404 and "does not exist in this workspace" in response.text
    assert "Secret Customer" not in response.text
    assert "#9001" not in client.get("/orders").text and "#9001" not in client.get("/orders?q=9001").text
    assert client.get(f"/channels/{tenant_b.connection_id}").status_code == 404
    assert client.get(f"/partials/channels/{tenant_b.connection_id}").status_code == 404
    assert "Beta Shopify" not in client.get("/channels").text


def test_malformed_ids_are_an_html_404(client: TestClient, signed_in: str) -> None:
    response = client.get("/orders/not-a-number")
    assert response.status_code == 404 and response.headers["content-type"].startswith("text/html")


def test_notifications_list_and_mark_read(client: TestClient, signed_in: str, tenant_a: Any, db: Database) -> None:
    with db.session() as s:
        first = notify(s, tenant_a.id, kind="x", title="First", message="One.", resolution="Do one.").id
        notify(s, tenant_a.id, kind="x", title="Second", message="Two.", link="/channels")
    page = client.get("/notifications").text
    assert "First" in page and "Do one." in page and 'href="/channels"' in page
    assert '<span class="badge" title="2 unread">2</span>' in page
    client.post(f"/notifications/{first}/read", data={"csrf_token": signed_in})
    assert client.get("/partials/unread").text.strip() == '<span class="badge" title="1 unread">1</span>'
    done = client.post("/notifications/read-all", data={"csrf_token": signed_in})
    assert "Marked as read." in done.text and 'class="badge"' not in done.text


def test_marking_another_workspaces_notification_is_not_found(
    client: TestClient, signed_in: str, tenant_b: Any, db: Database
) -> None:
    with db.session() as s:
        theirs = notify(s, tenant_b.id, kind="x", title="Theirs", message="B.").id
    assert client.post(f"/notifications/{theirs}/read", data={"csrf_token": signed_in}).status_code == 404


PINNED_SHA256 = {  # see web/static/VENDORED.md
    "htmx-2.0.4.min.js": "e209dda5c8235479f3166defc7750e1dbcd5a5c1808b7792fc2e6733768fb447",
    "htmx-ext-sse-2.2.2.js": "83eca6fa0611fe2b0bf1700b424b88b5eced38ef448ef9760a2ea08fbc875611",
}


def test_static_files_are_the_pinned_vendored_ones(client: TestClient) -> None:
    for name, digest in PINNED_SHA256.items():
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
        assert hashlib.sha256(response.content).hexdigest() == digest
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/..%2Fauth.py").status_code == 404


def test_links_from_channels_are_only_followed_when_they_are_http(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, make_order: Callable[..., int]
) -> None:
    shipments = [
        NormalizedShipment("s1", "UPS", "1ZSAFE", "https://ups.example/1ZSAFE"),
        NormalizedShipment("s2", "Evil", "1ZEVIL", "javascript:alert(1)"),
    ]
    order = make_order(tenant_a, "4001", status=OrderStatus.SHIPPED, shipments=shipments)
    with db.session() as s:
        notify(s, tenant_a.id, kind="x", title="Offsite", message="M.", link="//evil.example/")
    page = client.get(f"/orders/{order}").text
    assert 'href="https://ups.example/1ZSAFE"' in page and "javascript:" not in page and "1ZEVIL" in page
    assert "evil.example" not in client.get("/notifications").text

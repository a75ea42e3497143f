"""/events/stream: small "changed" events, so open pages re-fetch only the part that changed."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fenicia.db.engine import Database
from fenicia.notifications.services import notify
from fenicia.web.pulse import Topics, read_pulse
from fenicia.web.routes import live
from fenicia.web.routes.live import event_id, parse_event_id


def _events(body: str) -> list[tuple[str, str]]:
    """(event name, data) of each event in an SSE body."""
    found = []
    for block in body.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            found.append((fields["event"], fields.get("data", "")))
    return found


def _short_streams(app: FastAPI, lifetime: float = 0.3) -> None:
    app.state.web_sse_tick_seconds = 0.05
    app.state.web_sse_lifetime_seconds = lifetime


def test_a_first_connection_gets_hello_with_the_fingerprint(app: FastAPI, client: TestClient, signed_in: str) -> None:
    _short_streams(app)
    response = client.get("/events/stream")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    assert response.text.startswith("retry: ")
    [(name, data)] = _events(response.text)
    assert name == "hello" and set(parse_event_id(data)) == {"orders", "channels", "notifications"}


def test_a_reconnect_gets_an_event_for_each_topic_that_changed_since_its_last_id(
    app: FastAPI,
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    db: Database,
    make_order: Callable[..., int],
) -> None:
    _short_streams(app)
    seen = parse_event_id(_events(client.get("/events/stream").text)[0][1])
    newest = make_order(tenant_a, "5001")
    with db.session() as s:
        notify(s, tenant_a.id, kind="x", title="Heads up", message="Something.")
    response = client.get("/events/stream", headers={"Last-Event-ID": event_id(seen)})
    assert sorted(_events(response.text)) == [("notifications", "1"), ("orders", str(newest))]


def test_an_order_arriving_while_the_page_is_open_is_announced(
    app: FastAPI,
    client: TestClient,
    signed_in: str,
    tenant_a: Any,
    make_order: Callable[..., int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _short_streams(app, lifetime=1.5)
    created: list[int] = []

    def read_then_an_order_arrives(db: Database, workspace_id: int) -> Topics:
        """The stream's real read; right after its first one (the hello), an order arrives. Not a timer:
        on a busy machine an order made 0.4 s after the request could land before the hello was read."""
        topics = read_pulse(db, workspace_id)
        if not created:
            created.append(make_order(tenant_a, "5002"))
        return topics

    monkeypatch.setattr(live, "read_pulse", read_then_an_order_arrives)
    body = client.get("/events/stream").text
    names = [name for name, _ in _events(body)]
    assert names[0] == "hello" and ("orders", str(created[0])) in _events(body)


def test_a_sync_request_is_announced_on_the_channels_topic(
    app: FastAPI, client: TestClient, signed_in: str, tenant_a: Any
) -> None:
    _short_streams(app)
    seen = parse_event_id(_events(client.get("/events/stream").text)[0][1])
    client.post(f"/channels/{tenant_a.connection_id}/sync", data={"csrf_token": signed_in})
    response = client.get("/events/stream", headers={"Last-Event-ID": event_id(seen)})
    assert [name for name, _ in _events(response.text)] == ["channels"]


def test_another_workspaces_changes_are_not_announced(
    app: FastAPI, client: TestClient, signed_in: str, tenant_b: Any, make_order: Callable[..., int]
) -> None:
    _short_streams(app)
    seen = parse_event_id(_events(client.get("/events/stream").text)[0][1])
    make_order(tenant_b, "9003")
    assert _events(client.get("/events/stream", headers={"Last-Event-ID": event_id(seen)}).text) == []


def test_the_stream_needs_a_session(client: TestClient) -> None:
    response = client.get("/events/stream", follow_redirects=False)
    assert response.status_code == 401 and response.headers["HX-Redirect"].startswith("/login")


def test_pages_listen_for_the_events_they_show(client: TestClient, signed_in: str) -> None:
    orders = client.get("/orders?status=unshipped").text
    assert 'sse-connect="/events/stream?since=' in orders
    assert 'hx-get="/partials/orders-table?status=unshipped" hx-trigger="sse:orders"' in orders
    assert 'hx-get="/partials/channel-status" hx-trigger="sse:channels"' in client.get("/channels").text
    assert 'hx-trigger="sse:notifications"' in orders


def _page_stream(html_text: str) -> str:
    found = re.search(r'sse-connect="(/events/stream[^"]*)"', html_text)
    assert found is not None, "the page listens to no stream"
    return html.unescape(found[1])


def test_a_change_between_the_page_and_its_stream_is_announced(
    app: FastAPI, client: TestClient, signed_in: str, tenant_a: Any
) -> None:
    """A sync that starts after the page was rendered and before its stream connects must still reach the
    page: the stream starts from the fingerprint the page was rendered at (``?since=``)."""
    _short_streams(app)
    address = _page_stream(client.get(f"/channels/{tenant_a.connection_id}").text)
    assert "?since=" in address and _events(client.get(address).text) == []  # nothing changed yet
    client.post(f"/channels/{tenant_a.connection_id}/sync", data={"csrf_token": signed_in})
    assert [name for name, _ in _events(client.get(address).text)] == ["channels"]


def test_a_reconnect_id_wins_over_the_pages_fingerprint(
    app: FastAPI, client: TestClient, signed_in: str, tenant_a: Any, make_order: Callable[..., int]
) -> None:
    _short_streams(app)
    address = _page_stream(client.get("/orders").text)
    newest = make_order(tenant_a, "5003")
    assert _events(client.get(address).text) == [("orders", str(newest))]
    seen = parse_event_id(_events(client.get("/events/stream").text)[0][1])  # after the order
    assert _events(client.get(address, headers={"Last-Event-ID": event_id(seen)}).text) == []

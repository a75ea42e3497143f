"""Connecting a channel from the dashboard (tested against a real simulated shop before anything is saved),
"Test connection", reconnect, the sync frequency, and the warning after a recent full sync."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

import factories
from fenicia.channels.models import ChannelConnection, ConnectionStatus, RunStatus, SyncRun
from fenicia.connectors.registry import channel_specs
from fenicia.core.clock import utcnow
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database
from shopify_sim import FAST_CONNECTOR, SimHandle

RIGHT = {"credential__access_token": "shpat_sandbox", "credential__client_secret": "shpss_sandbox"}
WRONG = {"credential__access_token": "shpat_wrong", "credential__client_secret": "shpss_wrong"}


def _connections(db: Database, workspace_id: int) -> list[ChannelConnection]:
    with db.read_session() as s:
        query = select(ChannelConnection).where(ChannelConnection.workspace_id == workspace_id)
        return list(s.scalars(query.order_by(ChannelConnection.id)))


def test_the_form_is_built_from_the_channels_own_models(client: TestClient, signed_in: str) -> None:
    assert 'href="/channels/new/shopify"' in client.get("/channels/new").text
    page = client.get("/channels/new/shopify").text
    assert 'name="setting__shop_url" type="text"' in page and "Shop URL" in page
    assert 'name="credential__access_token" type="password"' in page and "Client secret" in page
    assert 'name="setting__api_version"' not in page  # has a default: the API can change it
    assert '<option value="900" selected>Every 15 minutes</option>' in page  # Shopify's default
    unknown = client.get("/channels/new/ebay")
    assert unknown.status_code == 404 and "no &#39;ebay&#39; channel" in unknown.text and "What to do:" in unknown.text


@pytest.mark.parametrize("channel", sorted(channel_specs()))
def test_every_registered_channel_has_a_connect_form(client: TestClient, signed_in: str, channel: str) -> None:
    spec = channel_specs()[channel]
    page = client.get(f"/channels/new/{channel}")
    assert page.status_code == 200 and f"Connect {spec.display_name}" in page.text
    for name in spec.credentials_model.model_fields:
        assert f'name="credential__{name}"' in page.text
    assert 'name="frequency"' in page.text


def test_connecting_tests_the_credentials_saves_the_connection_and_subscribes_webhooks(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, box: SecretBox, settings: Settings, shop: SimHandle
) -> None:
    form = {"name": "Outlet", "setting__shop_url": shop.url, "frequency": "3600", **RIGHT, "csrf_token": signed_in}
    response = client.post("/channels/new/shopify", data=form, follow_redirects=False)
    assert response.status_code == 303
    conn = _connections(db, tenant_a.id)[-1]
    assert response.headers["location"] == f"/channels/{conn.id}?done=connected"
    assert (conn.name, conn.settings["shop_url"], conn.poll_interval_seconds) == ("Outlet", shop.url, 3600)
    assert box.decrypt(conn.credentials_encrypted)["access_token"] == "shpat_sandbox"
    address = f"{settings.base_url()}/webhooks/shopify/{conn.id}"
    subscribed = {w["topic"] for w in shop.control("GET", "webhooks")["webhooks"] if w["address"] == address}
    assert "orders/create" in subscribed
    page = client.get(response.headers["location"]).text
    assert "The channel is connected" in page and "shpat_sandbox" not in page


def test_credentials_the_channel_refuses_save_nothing_and_are_not_sent_back(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, shop: SimHandle
) -> None:
    form = {"name": "Outlet", "setting__shop_url": shop.url, "frequency": "900", **WRONG, "csrf_token": signed_in}
    response = client.post("/channels/new/shopify", data=form)
    assert response.status_code == 400
    assert "The connection test failed, so nothing was saved. Shopify said:" in response.text
    assert "What to do:" in response.text and "shpat_wrong" not in response.text and "shpss_wrong" not in response.text
    assert 'value="Outlet"' in response.text and f'value="{shop.url}"' in response.text
    assert [c.name for c in _connections(db, tenant_a.id)] == ["Alpha Shopify"]


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [
        ({"setting__shop_url": ""}, 422, "Shop url is required"),
        ({"frequency": "42"}, 422, "is not a sync frequency"),
        ({"name": " "}, 422, "needs a name"),
    ],
)
def test_a_wrong_form_is_refused_before_the_channel_is_called(
    client: TestClient, signed_in: str, shop: SimHandle, changes: dict[str, str], status: int, words: str
) -> None:
    form = {"name": "Outlet", "setting__shop_url": shop.url, "frequency": "900", **RIGHT, **changes}
    response = client.post("/channels/new/shopify", data={**form, "csrf_token": signed_in})
    assert response.status_code == status and words in response.text and "What to do:" in response.text
    assert shop.requests("GET", "/shop.json") == []


def test_connecting_needs_the_csrf_token(client: TestClient, signed_in: str, shop: SimHandle) -> None:
    response = client.post("/channels/new/shopify", data={"name": "X", "setting__shop_url": shop.url, **RIGHT})
    assert response.status_code == 403 and shop.requests("GET", "/shop.json") == []


@pytest.fixture
def shop_conn(db: Database, box: SecretBox, tenant_a: Any, shop: SimHandle) -> int:
    """A second connection of tenant A, on the simulated shop."""
    with db.session() as s:
        conn = factories.shopify_connection(s, box, tenant_a.id, shop_url=shop.url, settings=FAST_CONNECTOR)
        return conn.id


def test_test_connection_answers_with_what_the_channel_said(
    client: TestClient, signed_in: str, tenant_a: Any, shop_conn: int, db: Database, box: SecretBox
) -> None:
    passed = client.post(f"/channels/{shop_conn}/test", data={"csrf_token": signed_in})
    assert passed.status_code == 200 and "Connection test passed" in passed.text
    with db.session() as s:  # nothing listens on port 9
        closed = factories.shopify_connection(s, box, tenant_a.id, settings=FAST_CONNECTOR).id
    unreachable = client.post(f"/channels/{closed}/test", data={"csrf_token": signed_in})
    assert unreachable.status_code >= 400 and "The connection test failed:" in unreachable.text
    assert "What to do:" in unreachable.text


def test_reconnect_tests_the_new_credentials_first(
    client: TestClient, signed_in: str, db: Database, box: SecretBox, shop_conn: int
) -> None:
    with db.session() as s:
        s.execute(update(ChannelConnection).where(ChannelConnection.id == shop_conn).values(status="Error"))
    refused = client.post(f"/channels/{shop_conn}/reconnect", data={**WRONG, "csrf_token": signed_in})
    assert refused.status_code == 400 and "nothing was saved" in refused.text and "shpat_wrong" not in refused.text
    assert _connections(db, _workspace_of(db, shop_conn))[-1].status == ConnectionStatus.ERROR
    done = client.post(f"/channels/{shop_conn}/reconnect", data={**RIGHT, "csrf_token": signed_in})
    assert done.status_code == 200 and "New credentials saved" in done.text
    conn = _connections(db, _workspace_of(db, shop_conn))[-1]
    assert conn.status == ConnectionStatus.PENDING and box.decrypt(conn.credentials_encrypted)["client_secret"]


def _workspace_of(db: Database, connection_id: int) -> int:
    with db.read_session() as s:
        return int(s.get(ChannelConnection, connection_id).workspace_id)  # type: ignore[union-attr]


@pytest.mark.parametrize(("value", "stored"), [("manual", None), ("300", 300), ("3600", 3600)])
def test_the_sync_frequency_is_saved(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database, value: str, stored: int | None
) -> None:
    response = client.post(
        f"/channels/{tenant_a.connection_id}/frequency", data={"frequency": value, "csrf_token": signed_in}
    )
    assert response.status_code == 200 and "Sync frequency saved." in response.text
    assert _connections(db, tenant_a.id)[0].poll_interval_seconds == stored


def test_an_unknown_frequency_is_refused_inline(client: TestClient, signed_in: str, tenant_a: Any) -> None:
    response = client.post(
        f"/channels/{tenant_a.connection_id}/frequency", data={"frequency": "7", "csrf_token": signed_in}
    )
    assert response.status_code == 422 and "is not a sync frequency" in response.text and "Pick one" in response.text


@pytest.mark.parametrize("action", ["test", "reconnect", "frequency"])
def test_another_workspaces_connection_is_not_found(
    client: TestClient, signed_in: str, tenant_b: Any, action: str
) -> None:
    data = {**RIGHT, "frequency": "300", "csrf_token": signed_in}
    response = client.post(f"/channels/{tenant_b.connection_id}/{action}", data=data)
    assert response.status_code == 404 and "does not exist in this workspace" in response.text


def _age_runs(db: Database, connection_id: int, minutes: float) -> None:
    then = utcnow() - timedelta(minutes=minutes)
    with db.session() as s:
        s.execute(
            update(SyncRun)
            .where(SyncRun.connection_id == connection_id)
            .values(status=RunStatus.SUCCEEDED, started_at=then, finished_at=then, created_at=then)
        )


def test_the_channel_page_warns_while_a_full_sync_is_recent(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database
) -> None:
    conn = tenant_a.connection_id
    client.post(f"/channels/{conn}/sync", data={"csrf_token": signed_in})
    running = client.get(f"/channels/{conn}").text
    assert "Sync running…" in running and "A full sync of this channel" not in running
    _age_runs(db, conn, minutes=12)
    recent = client.get(f"/partials/channels/{conn}").text
    assert "A full sync of this channel started at" in recent and "(12 minutes ago)" in recent
    assert "re-reads the last 60 days" in recent and "What to do:" in recent
    assert '<button type="submit">Sync orders</button>' in recent
    _age_runs(db, conn, minutes=61)
    assert "A full sync of this channel" not in client.get(f"/partials/channels/{conn}").text


def test_the_progress_bar_moves_while_a_run_runs_and_is_full_when_it_ends(
    client: TestClient, signed_in: str, tenant_a: Any, db: Database
) -> None:
    conn = tenant_a.connection_id
    client.post(f"/channels/{conn}/sync", data={"csrf_token": signed_in})
    queued = client.get(f"/partials/channels/{conn}").text
    assert '<progress class="run-progress" aria-label="Sync progress"></progress>' in queued
    assert "Waiting for a worker" in queued
    _age_runs(db, conn, minutes=1)
    assert 'value="1" max="1"' in client.get(f"/partials/channels/{conn}").text

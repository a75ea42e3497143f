"""/api/v1/connections and /api/v1/runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fenicia.channels.models import ChannelConnection, RunStatus, SyncRun
from fenicia.core.settings import Settings
from fenicia.db.engine import Database

SECRETS = ("shpat_TOPSECRET_token", "shpss_TOPSECRET_secret")


def _shopify_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "channel": "shopify",
        "name": "Main store",
        "settings": {"shop_url": "main-store.myshopify.com"},
        "credentials": {"access_token": SECRETS[0], "client_secret": SECRETS[1]},
    }
    body.update(overrides)
    return body


def _count_connections(db: Database) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count(ChannelConnection.id))) or 0)


def test_create_list_read_never_show_credentials(client: TestClient, tenant_a: Any, settings: Settings) -> None:
    created = client.post("/api/v1/connections", json=_shopify_body(), headers=tenant_a.headers)
    assert created.status_code == 201
    conn = created.json()
    assert conn["status"] == "Pending"
    assert conn["settings"]["shop_url"] == "https://main-store.myshopify.com"
    assert conn["poll_interval_seconds"] == 900
    assert set(conn["capabilities"]) >= {"ship", "cancel", "tracking"}
    assert conn["webhook_url"] == f"{settings.base_url()}/webhooks/shopify/{conn['id']}"
    listed = client.get("/api/v1/connections", headers=tenant_a.headers)
    read = client.get(f"/api/v1/connections/{conn['id']}", headers=tenant_a.headers)
    assert [c["id"] for c in listed.json()] == [conn["id"]]
    assert read.json()["next_poll_at"] is not None and "last_success_at" in read.json()
    for response in (created, listed, read):
        assert "credentials" not in response.text
        assert all(secret not in response.text for secret in SECRETS)


def test_bad_credentials_are_422_naming_the_field_and_store_nothing(
    client: TestClient, db: Database, tenant_a: Any
) -> None:
    body = _shopify_body(credentials={"access_token": SECRETS[0]})
    response = client.post("/api/v1/connections", json=body, headers=tenant_a.headers)
    assert response.status_code == 422
    error = response.json()["error"]
    assert "client_secret" in error["message"]
    assert error["resolution"]
    assert SECRETS[0] not in response.text
    assert _count_connections(db) == 0


def test_bad_settings_and_unknown_channel_are_422(client: TestClient, db: Database, tenant_a: Any) -> None:
    bad_settings = client.post(
        "/api/v1/connections", json=_shopify_body(settings={"shop_url": "ftp://x"}), headers=tenant_a.headers
    )
    assert bad_settings.status_code == 422 and "shop_url" in bad_settings.json()["error"]["message"]
    unknown = client.post("/api/v1/connections", json=_shopify_body(channel="ebay"), headers=tenant_a.headers)
    assert unknown.status_code == 422 and "ebay" in unknown.json()["error"]["message"]
    bad_frequency = client.post(
        "/api/v1/connections", json=_shopify_body(poll_interval_seconds=42), headers=tenant_a.headers
    )
    assert bad_frequency.status_code == 422
    assert _count_connections(db) == 0


def test_patch_name_frequency_manual_and_reconnect(
    client: TestClient, db: Database, tenant_a: Any, make_shopify: Callable[..., int]
) -> None:
    conn_id = make_shopify(tenant_a)
    url = f"/api/v1/connections/{conn_id}"
    renamed = client.patch(url, json={"name": "  Outlet  ", "poll_interval_seconds": 300}, headers=tenant_a.headers)
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["poll_interval_seconds"]) == ("Outlet", 300)
    manual = client.patch(url, json={"manual": True}, headers=tenant_a.headers)
    assert manual.json()["poll_interval_seconds"] is None and manual.json()["next_poll_at"] is None
    with db.read_session() as s:
        before = s.get(ChannelConnection, conn_id)
        assert before is not None
        old_secret = before.credentials_encrypted
    new_creds = {"access_token": "shpat_NEW_SECRET", "client_secret": "shpss_NEW_SECRET"}
    reconnected = client.patch(url, json={"credentials": new_creds}, headers=tenant_a.headers)
    assert reconnected.status_code == 200 and "NEW_SECRET" not in reconnected.text
    assert reconnected.json()["status"] == "Pending"
    with db.read_session() as s:
        after = s.get(ChannelConnection, conn_id)
        assert after is not None and after.credentials_encrypted != old_secret


def test_patch_with_bad_input_changes_nothing(
    client: TestClient, db: Database, tenant_a: Any, make_shopify: Callable[..., int]
) -> None:
    conn_id = make_shopify(tenant_a)
    url = f"/api/v1/connections/{conn_id}"
    bad = client.patch(url, json={"name": "New", "poll_interval_seconds": 7}, headers=tenant_a.headers)
    assert bad.status_code == 422
    blank = client.patch(url, json={"name": "   "}, headers=tenant_a.headers)
    assert blank.status_code == 422
    creds = client.patch(url, json={"name": "New", "credentials": {"access_token": "x"}}, headers=tenant_a.headers)
    assert creds.status_code == 422 and "client_secret" in creds.json()["error"]["message"]
    current = client.get(url, headers=tenant_a.headers).json()
    assert (current["name"], current["poll_interval_seconds"]) == ("My Shopify", 900)


def test_connection_test_reports_ok_or_the_error_and_changes_nothing(
    client: TestClient, tenant_a: Any, testchan: str
) -> None:
    body = {"channel": testchan, "name": "T", "credentials": {"api_key": "good-key"}}
    conn = client.post("/api/v1/connections", json=body, headers=tenant_a.headers).json()
    ok = client.post(f"/api/v1/connections/{conn['id']}/test", headers=tenant_a.headers)
    assert ok.status_code == 200
    assert ok.json() == {"ok": True, "message": "Connected to Testchan store EU-1."}
    client.patch(
        f"/api/v1/connections/{conn['id']}", json={"credentials": {"api_key": "revoked-key"}}, headers=tenant_a.headers
    )
    before = client.get(f"/api/v1/connections/{conn['id']}", headers=tenant_a.headers).json()
    failed = client.post(f"/api/v1/connections/{conn['id']}/test", headers=tenant_a.headers)
    assert failed.status_code == 502
    assert failed.json()["ok"] is False
    assert failed.json()["error"]["code"] == "auth_error"
    assert failed.json()["error"]["resolution"] == "Reconnect the channel in Settings."
    assert client.get(f"/api/v1/connections/{conn['id']}", headers=tenant_a.headers).json() == before


def test_sync_orders_twice_returns_the_same_run(
    client: TestClient, tenant_a: Any, make_shopify: Callable[..., int], dispatcher: Any
) -> None:
    conn_id = make_shopify(tenant_a)
    first = client.post(f"/api/v1/connections/{conn_id}/sync", headers=tenant_a.headers)
    second = client.post(f"/api/v1/connections/{conn_id}/sync", headers=tenant_a.headers)
    assert (first.status_code, second.status_code) == (202, 200)
    run = first.json()
    assert second.json()["id"] == run["id"]
    assert (run["kind"], run["trigger"], run["status"]) == ("bulk", "manual", RunStatus.QUEUED)
    assert dispatcher.of("run_sync") == [(run["id"], conn_id)]
    runs = client.get(f"/api/v1/connections/{conn_id}/runs", headers=tenant_a.headers).json()
    assert [r["id"] for r in runs] == [run["id"]]


def test_run_progress(client: TestClient, db: Database, tenant_a: Any, make_shopify: Callable[..., int]) -> None:
    conn_id = make_shopify(tenant_a)
    run_id = client.post(f"/api/v1/connections/{conn_id}/sync", headers=tenant_a.headers).json()["id"]
    with db.session() as s:
        run = s.get(SyncRun, run_id)
        assert run is not None
        run.status, run.pages, run.orders_seen, run.orders_created, run.orders_updated = "running", 3, 600, 550, 50
    progress = client.get(f"/api/v1/runs/{run_id}", headers=tenant_a.headers).json()
    assert {
        k: progress[k] for k in ("status", "pages", "orders_seen", "orders_created", "orders_updated", "errors")
    } == {"status": "running", "pages": 3, "orders_seen": 600, "orders_created": 550, "orders_updated": 50, "errors": 0}
    again = client.post(f"/api/v1/connections/{conn_id}/sync", headers=tenant_a.headers)
    assert again.status_code == 200 and again.json()["id"] == run_id


def test_another_workspace_gets_404_for_connections_and_runs(
    client: TestClient, tenant_a: Any, tenant_b: Any, make_shopify: Callable[..., int], dispatcher: Any
) -> None:
    theirs = make_shopify(tenant_b)
    run_id = client.post(f"/api/v1/connections/{theirs}/sync", headers=tenant_b.headers).json()["id"]
    calls_before = list(dispatcher.calls)
    base = f"/api/v1/connections/{theirs}"
    attempts = [
        client.get(base, headers=tenant_a.headers),
        client.patch(base, json={"name": "mine now"}, headers=tenant_a.headers),
        client.post(f"{base}/test", headers=tenant_a.headers),
        client.post(f"{base}/sync", headers=tenant_a.headers),
        client.get(f"{base}/runs", headers=tenant_a.headers),
        client.get(f"/api/v1/runs/{run_id}", headers=tenant_a.headers),
    ]
    assert [r.status_code for r in attempts] == [404] * len(attempts)
    assert client.get("/api/v1/connections", headers=tenant_a.headers).json() == []
    assert client.get(base, headers=tenant_b.headers).json()["name"] == "My Shopify"
    assert dispatcher.calls == calls_before

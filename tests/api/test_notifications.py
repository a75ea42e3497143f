"""/api/v1/notifications and /api/v1/workspace."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fenicia.db.engine import Database
from fenicia.notifications.services import notify


def _notify(db: Database, tenant: Any, title: str) -> int:
    with db.session() as s:
        return notify(s, tenant.id, kind="connection_error", title=title, message="It broke.", resolution="Fix it.").id


def test_list_unread_count_and_mark_read(client: TestClient, db: Database, tenant_a: Any) -> None:
    first, second, third = (_notify(db, tenant_a, t) for t in ("one", "two", "three"))
    listed = client.get("/api/v1/notifications", headers=tenant_a.headers).json()
    assert [n["id"] for n in listed] == [third, second, first]
    assert listed[0]["resolution"] == "Fix it." and listed[0]["read_at"] is None
    assert client.get("/api/v1/notifications/unread-count", headers=tenant_a.headers).json() == {"unread": 3}
    marked = client.post(f"/api/v1/notifications/{second}/read", headers=tenant_a.headers)
    assert marked.status_code == 200 and marked.json() == {"marked": 1}
    unread = client.get("/api/v1/notifications?unread=true", headers=tenant_a.headers).json()
    assert [n["id"] for n in unread] == [third, first]
    assert client.post("/api/v1/notifications/read-all", headers=tenant_a.headers).json() == {"marked": 2}
    assert client.get("/api/v1/notifications/unread-count", headers=tenant_a.headers).json() == {"unread": 0}
    assert client.get("/api/v1/notifications?unread=true", headers=tenant_a.headers).json() == []


def test_notifications_are_per_workspace(client: TestClient, db: Database, tenant_a: Any, tenant_b: Any) -> None:
    theirs = _notify(db, tenant_b, "B's problem")
    assert client.get("/api/v1/notifications", headers=tenant_a.headers).json() == []
    assert client.post(f"/api/v1/notifications/{theirs}/read", headers=tenant_a.headers).status_code == 404
    assert client.post("/api/v1/notifications/read-all", headers=tenant_a.headers).json() == {"marked": 0}
    assert client.get("/api/v1/notifications/unread-count", headers=tenant_b.headers).json() == {"unread": 1}


def test_workspace_read_and_notification_email(client: TestClient, tenant_a: Any, tenant_b: Any) -> None:
    ws = client.get("/api/v1/workspace", headers=tenant_a.headers).json()
    assert ws["id"] == tenant_a.id and ws["name"].startswith("Alpha")
    updated = client.patch(
        "/api/v1/workspace", json={"notification_email": " ops@alpha.test "}, headers=tenant_a.headers
    )
    assert updated.status_code == 200 and updated.json()["notification_email"] == "ops@alpha.test"
    bad = client.patch("/api/v1/workspace", json={"notification_email": "not-an-email"}, headers=tenant_a.headers)
    assert bad.status_code == 422 and "not an email" in bad.json()["error"]["message"]
    cleared = client.patch("/api/v1/workspace", json={"notification_email": None}, headers=tenant_a.headers)
    assert cleared.json()["notification_email"] is None
    assert client.get("/api/v1/workspace", headers=tenant_b.headers).json()["id"] == tenant_b.id

"""GET /healthz and GET /metrics."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from fenicia.api.app import create_app
from fenicia.core.crypto import SecretBox
from fenicia.core.settings import Settings
from fenicia.db.engine import Database


def _sample(client: TestClient, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_healthz_ok_with_engine_state(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "engine": {"status": "running"}}


def test_healthz_is_503_when_the_database_is_gone(
    tmp_path: Path, settings: Settings, box: SecretBox, dispatcher: Any
) -> None:
    folder = tmp_path / "gone"
    db = Database(f"sqlite:///{folder / 'fenicia.db'}")
    shutil.rmtree(folder)
    app = create_app(settings=settings, db=db, box=box, dispatcher=dispatcher)
    with TestClient(app) as client:
        response = client.get("/healthz")
    db.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"
    assert response.json()["engine"] == {"status": "not_attached"}


def test_healthz_survives_a_failing_engine_probe(
    settings: Settings, db: Database, box: SecretBox, dispatcher: Any
) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("no heartbeat table")

    app = create_app(settings=settings, db=db, box=box, dispatcher=dispatcher, engine_state=broken)
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["engine"]["status"] == "unknown"


def test_metrics_count_webhooks_and_time_routes(client: TestClient, tenant_a: Any, make_shopify: Any) -> None:
    conn_id = make_shopify(tenant_a)
    accepted = {"channel": "shopify", "outcome": "accepted"}
    rejected = {"channel": "shopify", "outcome": "rejected", "reason": "signature"}
    before = (
        _sample(client, "fenicia_webhook_deliveries_total", **accepted),
        _sample(client, "fenicia_webhook_deliveries_total", **rejected),
    )
    headers = {"X-Shopify-Hmac-Sha256": "bad", "X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "1"}
    client.post(f"/webhooks/shopify/{conn_id}", content=b"{}", headers=headers)
    client.get("/api/v1/orders", headers=tenant_a.headers)
    route = {"route": "/api/v1/orders", "method": "GET", "status": "200"}
    assert _sample(client, "fenicia_http_request_duration_seconds_count", **route) >= 1
    assert _sample(client, "fenicia_webhook_deliveries_total", **rejected) == before[1] + 1
    assert _sample(client, "fenicia_webhook_deliveries_total", **accepted) == before[0]
    text = client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    assert 'route="/webhooks/{channel}/{connection_id}"' in text.text


def test_unknown_paths_share_one_route_label(client: TestClient) -> None:
    client.get("/wp-admin/setup.php")
    client.get("/random/123")
    text = client.get("/metrics").text
    assert "wp-admin" not in text and 'route="unmatched"' in text

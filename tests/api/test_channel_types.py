"""GET /api/v1/channels: the capability matrix and default frequencies, before anything is connected."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def test_the_capability_matrix_says_what_each_channel_refuses_and_why(client: TestClient, tenant_a: Any) -> None:
    response = client.get("/api/v1/channels", headers=tenant_a.headers)
    assert response.status_code == 200
    channels = {c["key"]: c for c in response.json()}
    assert {"shopify", "amazon", "mercadolibre", "walmart", "tiktok"} <= set(channels)
    for channel in channels.values():
        refused = set(channel["unsupported"])
        assert refused.isdisjoint(channel["capabilities"])
        assert refused | set(channel["capabilities"]) >= {"ship", "tracking", "cancel", "stock"}
        assert all(reason.strip() for reason in channel["unsupported"].values()), channel["key"]
        assert "properties" in channel["credentials_schema"]
    assert {"cancel", "tracking"} <= set(channels["amazon"]["unsupported"])
    assert channels["mercadolibre"]["per_order_limits"] is True
    assert channels["shopify"]["per_order_limits"] is False


def test_default_frequencies_follow_the_product_table(client: TestClient, tenant_a: Any) -> None:
    channels = {c["key"]: c for c in client.get("/api/v1/channels", headers=tenant_a.headers).json()}
    polled = {key: channels[key]["default_poll_interval_seconds"] for key in ("amazon", "walmart", "shopify")}
    assert polled == {"amazon": 900, "walmart": 900, "shopify": 900}
    assert [channels[k]["receives_webhooks"] for k in ("shopify", "mercadolibre", "tiktok")] == [True] * 3
    assert [channels[k]["receives_webhooks"] for k in ("amazon", "walmart")] == [False, False]
    assert channels["mercadolibre"]["default_poll_interval_seconds"] is not None  # polling verifies webhooks
    assert channels["tiktok"]["default_poll_interval_seconds"] is not None


def test_the_matrix_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/channels").status_code == 401

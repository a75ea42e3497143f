"""POST /webhooks/{channel}/{connection_id}: verify, store once, commit, answer, wake the engine."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fenicia.channels.models import WebhookDelivery
from fenicia.db.engine import Database

CLIENT_SECRET = "shpss_sandbox"  # what tests/factories.py gives every Shopify connection

ORDER = {
    "id": 820982911946154508,
    "name": "#9999",
    "order_number": 9999,
    "email": "jon@example.com",
    "created_at": "2026-11-01T10:00:00-05:00",
    "processed_at": "2026-11-01T10:00:00-05:00",
    "updated_at": "2026-11-01T10:05:00-05:00",
    "cancelled_at": None,
    "currency": "USD",
    "financial_status": "paid",
    "fulfillment_status": None,
    "total_price": "25.00",
    "line_items": [{"id": 1, "sku": "MUG", "title": "Mug", "quantity": 1, "price": "25.00", "fulfillable_quantity": 1}],
    "fulfillments": [],
}
BODY = json.dumps(ORDER).encode()


def sign(body: bytes, secret: str = CLIENT_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(body: bytes, delivery_id: str = "b54557e4-0001", **extra: str) -> dict[str, str]:
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": sign(body),
        "X-Shopify-Shop-Domain": "main-store.myshopify.com",
        "X-Shopify-API-Version": "2024-04",
        "X-Shopify-Webhook-Id": delivery_id,
        "X-Shopify-Triggered-At": "2026-11-01T15:05:00.123Z",
    }
    headers.update(extra)
    return headers


def _deliveries(db: Database) -> list[WebhookDelivery]:
    with db.read_session() as s:
        return list(s.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


@pytest.fixture
def conn_id(tenant_a: Any, make_shopify: Callable[..., int]) -> int:
    return make_shopify(tenant_a)


def test_valid_delivery_is_stored_committed_and_the_inbox_drained(
    client: TestClient, db: Database, conn_id: int, tenant_a: Any, dispatcher: Any
) -> None:
    response = client.post(f"/webhooks/shopify/{conn_id}", content=BODY, headers=shopify_headers(BODY))
    assert response.status_code == 200
    assert response.json() == {"status": "accepted"}
    [row] = _deliveries(db)
    assert (row.connection_id, row.workspace_id, row.delivery_id, row.topic) == (
        conn_id,
        tenant_a.id,
        "b54557e4-0001",
        "orders/create",
    )
    assert row.body.encode() == BODY and row.status == "received"
    assert row.triggered_at is not None and row.triggered_at.isoformat().startswith("2026-11-01T15:05:00")
    assert row.headers["x-shopify-topic"] == "orders/create"
    assert dispatcher.calls == [("drain_inbox", (conn_id,))]


def test_duplicate_delivery_is_a_200_no_op(client: TestClient, db: Database, conn_id: int, dispatcher: Any) -> None:
    url = f"/webhooks/shopify/{conn_id}"
    first = client.post(url, content=BODY, headers=shopify_headers(BODY))
    again = client.post(url, content=BODY, headers=shopify_headers(BODY))
    assert (first.json(), again.json()) == ({"status": "accepted"}, {"status": "duplicate"})
    assert again.status_code == 200
    assert len(_deliveries(db)) == 1
    assert dispatcher.of("drain_inbox") == [(conn_id,)]
    other = client.post(url, content=BODY, headers=shopify_headers(BODY, delivery_id="b54557e4-0002"))
    assert other.json() == {"status": "accepted"} and len(_deliveries(db)) == 2


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h | {"X-Shopify-Hmac-Sha256": sign(b, "some-other-secret")}, b),
        lambda h, b: (h, b.replace(b"25.00", b"0.01")),
        lambda h, b: ({k: v for k, v in h.items() if k != "X-Shopify-Hmac-Sha256"}, b),
        lambda h, b: (h | {"X-Shopify-Hmac-Sha256": "not base64 at all"}, b),
        lambda h, b: (h | {"X-Shopify-Hmac-Sha256": sign(b"")}, b""),
    ],
    ids=["wrong-secret", "tampered-body", "missing-signature", "garbage-signature", "empty-body"],
)
def test_bad_signature_is_401_and_stores_nothing(
    client: TestClient, db: Database, conn_id: int, dispatcher: Any, tamper: Any
) -> None:
    headers, body = tamper(shopify_headers(BODY), BODY)
    response = client.post(f"/webhooks/shopify/{conn_id}", content=body, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert _deliveries(db) == [] and dispatcher.calls == []


@pytest.mark.parametrize(
    "path",
    ["/webhooks/shopify/999999", "/webhooks/amazon/{id}", "/webhooks/shopify/abc", "/webhooks/nowhere/{id}"],
)
def test_unknown_connection_or_channel_mismatch_is_404(
    client: TestClient, db: Database, conn_id: int, dispatcher: Any, path: str
) -> None:
    response = client.post(path.format(id=conn_id), content=BODY, headers=shopify_headers(BODY))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert _deliveries(db) == [] and dispatcher.calls == []


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"X-Shopify-Topic": "carts/create"}, BODY),
        ({"X-Shopify-Webhook-Id": ""}, BODY),
        ({}, b"[1, 2, 3]"),
        ({}, b"{not json"),
    ],
    ids=["unknown-topic", "no-delivery-id", "not-an-object", "not-json"],
)
def test_signed_but_unreadable_delivery_is_400_and_stores_nothing(
    client: TestClient, db: Database, conn_id: int, headers: dict[str, str], body: bytes
) -> None:
    sent = shopify_headers(body) | headers
    response = client.post(f"/webhooks/shopify/{conn_id}", content=body, headers=sent)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_delivery"
    assert _deliveries(db) == []


def test_reconnecting_with_a_new_secret_is_picked_up_at_once(
    client: TestClient, db: Database, conn_id: int, tenant_a: Any
) -> None:
    url = f"/webhooks/shopify/{conn_id}"
    assert client.post(url, content=BODY, headers=shopify_headers(BODY)).status_code == 200  # warms the cache
    new = {"access_token": "shpat_x", "client_secret": "shpss_rotated"}
    client.patch(f"/api/v1/connections/{conn_id}", json={"credentials": new}, headers=tenant_a.headers)
    old_signed = shopify_headers(BODY, delivery_id="d-2")
    assert client.post(url, content=BODY, headers=old_signed).status_code == 401
    new_signed = old_signed | {"X-Shopify-Hmac-Sha256": sign(BODY, "shpss_rotated")}
    assert client.post(url, content=BODY, headers=new_signed).json() == {"status": "accepted"}


def test_webhooks_need_no_api_token_and_ignore_one(client: TestClient, conn_id: int) -> None:
    headers = shopify_headers(BODY) | {"Authorization": "Bearer nonsense"}
    assert client.post(f"/webhooks/shopify/{conn_id}", content=BODY, headers=headers).status_code == 200

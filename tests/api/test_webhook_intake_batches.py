"""The webhook intake's writer: concurrent deliveries checked and stored in batches, each answered after its commit."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select

from fenicia.api.intake import Stored, WebhookIntake
from fenicia.channels.models import WebhookDelivery
from fenicia.channels.services import reconnect
from fenicia.core.crypto import SecretBox
from fenicia.db.engine import Database
from servers import serve

SECRET = b"shpss_sandbox"


def _count(db: Database) -> int:
    with db.read_session() as s:
        return int(s.scalar(select(func.count(WebhookDelivery.id))) or 0)


def _signed(delivery_id: str, order_id: int = 5) -> tuple[dict[str, str], bytes]:
    order = {"id": order_id, "name": f"#{order_id}", "created_at": "2026-01-01T00:00:00Z"}
    body = json.dumps(order | {"updated_at": "2026-01-01T00:00:00Z", "financial_status": "paid", "line_items": []})
    raw = body.encode()
    headers = {
        "X-Shopify-Topic": "orders/updated",
        "X-Shopify-Hmac-Sha256": base64.b64encode(hmac.new(SECRET, raw, hashlib.sha256).digest()).decode(),
        "X-Shopify-Webhook-Id": delivery_id,
    }
    return headers, raw


def _submit_together(intake: WebhookIntake, calls: list[tuple[str, str, dict[str, str], bytes]]) -> list[Any]:
    """Submits every delivery from one event loop at once, so the writer takes them as one or few batches."""

    async def run() -> list[Any]:
        async def one(channel: str, raw_id: str, headers: dict[str, str], body: bytes) -> Any:
            try:
                return await intake.submit(channel, raw_id, headers, body)
            except Exception as exc:
                return type(exc).__name__

        return list(await asyncio.gather(*(one(*c) for c in calls)))

    try:
        return asyncio.run(run())
    finally:
        intake.close()


def test_each_delivery_of_a_batch_gets_its_own_answer(
    db: Database, box: SecretBox, tenant_a: Any, make_shopify: Callable[..., int]
) -> None:
    conn_id = make_shopify(tenant_a)
    calls = [("shopify", str(conn_id), *_signed(f"d-{i % 10}")) for i in range(30)]  # every id three times
    results = _submit_together(WebhookIntake(db, box), calls)
    stored = [r for r in results if isinstance(r, Stored)]
    assert len(stored) == 30
    assert sum(not r.duplicate for r in stored) == 10 and sum(r.duplicate for r in stored) == 20
    assert _count(db) == 10


def test_refused_deliveries_do_not_fail_their_batch_and_store_nothing(
    db: Database, box: SecretBox, tenant_a: Any, make_shopify: Callable[..., int]
) -> None:
    conn_id = make_shopify(tenant_a)
    headers, body = _signed("tampered")
    calls = [
        ("shopify", str(conn_id), *_signed("ok-1")),
        ("shopify", str(conn_id), headers, body.replace(b'"#5"', b'"#6"')),  # signature no longer matches
        ("shopify", "999999", *_signed("unknown-connection")),
        ("shopify", "not-a-number", *_signed("bad-address")),
        ("amazon", str(conn_id), *_signed("wrong-channel")),
        ("shopify", str(conn_id), {**_signed("no-topic")[0], "X-Shopify-Topic": "carts/create"}, _signed("x")[1]),
        ("shopify", str(conn_id), *_signed("ok-2")),
    ]
    results = _submit_together(WebhookIntake(db, box), calls)
    assert isinstance(results[0], Stored) and isinstance(results[6], Stored)
    assert results[1:6] == ["AuthError", "NotFoundError", "NotFoundError", "NotFoundError", "InvalidRecord"]
    assert _count(db) == 2


def test_a_rotated_secret_refuses_old_signatures_at_once(
    db: Database, box: SecretBox, tenant_a: Any, make_shopify: Callable[..., int]
) -> None:
    conn_id = make_shopify(tenant_a)
    intake = WebhookIntake(db, box)
    assert isinstance(_submit_together(intake, [("shopify", str(conn_id), *_signed("before"))])[0], Stored)
    with db.session() as s:
        reconnect(s, box, tenant_a.id, conn_id, {"access_token": "shpat_new", "client_secret": "shpss_rotated"})
    assert _submit_together(intake, [("shopify", str(conn_id), *_signed("after"))]) == ["AuthError"]
    assert _count(db) == 1


def test_many_concurrent_duplicates_store_each_delivery_once(
    db: Database, box: SecretBox, tenant_a: Any, make_shopify: Callable[..., int]
) -> None:
    conn_id = make_shopify(tenant_a)
    calls = [("shopify", str(conn_id), *_signed(f"m-{i % 40}")) for i in range(400)]
    results = _submit_together(WebhookIntake(db, box), calls)
    assert all(isinstance(r, Stored) for r in results)
    assert sum(not r.duplicate for r in results) == 40 and _count(db) == 40


def test_concurrent_webhooks_over_real_http(
    app: FastAPI, db: Database, tenant_a: Any, make_shopify: Callable[..., int], dispatcher: Any
) -> None:
    conn_id = make_shopify(tenant_a)
    order = {"id": 5, "name": "#5", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
    body = json.dumps(order | {"financial_status": "paid", "line_items": []}).encode()
    signature = base64.b64encode(hmac.new(b"shpss_sandbox", body, hashlib.sha256).digest()).decode()

    async def send_all(base: str) -> list[str]:
        async with httpx.AsyncClient(base_url=base) as client:

            async def one(i: int) -> str:
                headers = {
                    "X-Shopify-Topic": "orders/updated",
                    "X-Shopify-Hmac-Sha256": signature,
                    "X-Shopify-Webhook-Id": f"w-{i % 25}",
                }
                response = await client.post(f"/webhooks/shopify/{conn_id}", content=body, headers=headers)
                assert response.status_code == 200
                return str(response.json()["status"])

            return list(await asyncio.gather(*(one(i) for i in range(100))))

    with serve(app) as base:
        statuses = asyncio.run(send_all(base))
    assert statuses.count("accepted") == 25 and statuses.count("duplicate") == 75
    assert _count(db) == 25
    assert len(dispatcher.of("drain_inbox")) == 25

"""Notifications: verifying the pointer against the connection, parsing it, and the simulator's deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import servers
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.connectors.mercadolibre.webhooks import delivery_id, parse_webhook, verify_webhook
from fenicia.core.errors import AuthError, ConfigError, InvalidRecord
from mercadolibre_sim import APP_ID, SELLER_ID, MLHandle

NOTE = {
    "_id": "5f1e2d3c-0000-4000-8000-000000000001",
    "resource": "/orders/2000003508419013",
    "user_id": SELLER_ID,
    "topic": "orders_v2",
    "application_id": int(APP_ID),
    "attempts": 1,
    "sent": "2024-01-15T10:30:00.000Z",
    "received": "2024-01-15T10:30:01.000Z",
}


def body(**changes: Any) -> bytes:
    note = {key: value for key, value in (NOTE | changes).items() if value is not None}
    return json.dumps(note).encode()


# -- verify and parse ---------------------------------------------------------------------------------


def test_a_notification_for_this_app_and_seller_is_accepted(meli: MercadoLibreConnector) -> None:
    meli.verify_webhook({}, body())
    meli.verify_webhook({}, body(user_id=str(SELLER_ID), application_id=APP_ID))  # ids as strings too


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (body(user_id=111), "another MercadoLibre seller"),
        (body(application_id=222), "another MercadoLibre application"),
        (body(user_id=None), "another MercadoLibre seller"),
        (body(application_id=None), "another MercadoLibre application"),
        (b"not json", "not a MercadoLibre notification"),
        (b"[1, 2]", "not a MercadoLibre notification"),
        (body() + b"x", "not a MercadoLibre notification"),
    ],
)
def test_tampered_or_foreign_notifications_are_rejected(raw: bytes, words: str) -> None:
    with pytest.raises(AuthError) as caught:
        verify_webhook(raw, APP_ID, SELLER_ID)
    assert words in caught.value.message


def test_orders_topic_points_at_the_order() -> None:
    event = parse_webhook(body())
    assert (event.delivery_id, event.topic, event.order_ref, event.order) == (
        NOTE["_id"],
        "orders_v2",
        "2000003508419013",
        None,
    )


def test_shipments_topic_points_at_the_shipment() -> None:
    event = parse_webhook(body(topic="shipments", resource="/shipments/40531399184"))
    assert event.order_ref == "shipment:40531399184"


@pytest.mark.parametrize(
    "raw",
    [
        body(topic="questions", resource="/questions/1"),
        body(topic="orders_v2", resource="/shipments/1"),
        body(topic="orders_v2", resource="/orders/abc"),
        body(resource=None),
        b"{}",
    ],
)
def test_unusable_notifications_are_invalid(raw: bytes) -> None:
    with pytest.raises(InvalidRecord):
        parse_webhook(raw)


def test_delivery_id_without_id_is_a_stable_hash() -> None:
    first = parse_webhook(body(_id=None)).delivery_id
    assert first.startswith("sha256:") and first == parse_webhook(body(_id=None, attempts=2)).delivery_id
    assert first != parse_webhook(body(_id=None, sent="2024-01-15T10:31:00.000Z")).delivery_id
    assert delivery_id({"_id": 42}, "orders_v2", "/orders/1") == "42"


# -- the simulator's deliveries ---------------------------------------------------------------------


@dataclass
class Receiver:
    """A callback URL that records deliveries and answers with the queued statuses (then 200)."""

    answers: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        self.received.append(json.loads(await request.body()))
        status = self.answers.pop(0) if self.answers else 200
        return JSONResponse({"ok": status < 300}, status_code=status)


@pytest.fixture
def receiver(ml: MLHandle) -> Iterator[Receiver]:
    recorder = Receiver()
    app = Starlette(routes=[Route("/hook", recorder.endpoint, methods=["POST"])])
    with servers.serve(app) as url:
        ml.control("POST", "config", {"notification_callback_url": f"{url}/hook"})
        yield recorder


def flushed(ml: MLHandle) -> list[dict[str, Any]]:
    ml.control("POST", "notifications/flush")
    return list(ml.control("GET", "notifications")["notifications"])


def test_a_purchase_notifies_the_order_and_its_shipment(ml: MLHandle, receiver: Receiver) -> None:
    bundle = ml.new_order(mode="me1")
    notes = flushed(ml)
    assert sorted((n["topic"], n["resource"]) for n in notes) == [
        ("orders_v2", f"/orders/{bundle['order']['id']}"),
        ("shipments", f"/shipments/{bundle['shipment']['id']}"),
    ]
    assert all(n["status"] == "delivered" for n in notes)
    for payload in receiver.received:
        verify_webhook(json.dumps(payload).encode(), APP_ID, SELLER_ID)  # what ML sends passes our check
        assert payload["attempts"] == 1 and payload["sent"].endswith("Z")


def test_failed_deliveries_are_retried_with_the_same_id(ml: MLHandle, receiver: Receiver) -> None:
    ml.control("POST", "config", {"notification_topics": ["orders_v2"]})
    receiver.answers = [500, 503]
    ml.new_order()
    [note] = flushed(ml)
    assert note["status"] == "delivered" and [a["status_code"] for a in note["attempts"]] == [500, 503, 200]
    assert [p["attempts"] for p in receiver.received] == [1, 2, 3]
    assert len({p["_id"] for p in receiver.received}) == 1
    assert len({p["received"] for p in receiver.received}) == 1


def test_a_notification_is_given_up_after_the_last_retry(ml: MLHandle, receiver: Receiver) -> None:
    ml.control("POST", "config", {"notification_topics": ["orders_v2"]})
    receiver.answers = [500, 500, 500, 500]
    ml.new_order()
    [note] = flushed(ml)
    assert note["status"] == "failed" and len(note["attempts"]) == 3  # first try + two retries in tests


def test_dropped_duplicated_and_reordered_notifications(ml: MLHandle, receiver: Receiver) -> None:
    ml.control("POST", "config", {"notification_topics": ["orders_v2"]})
    ml.fault("drop_webhooks", count=1)
    dropped = ml.new_order()["order"]["id"]
    ml.fault("duplicate_webhooks", count=1)
    doubled = ml.new_order()["order"]["id"]
    ml.fault("reorder_webhooks", count=2)
    first, second = ml.new_order()["order"]["id"], ml.new_order()["order"]["id"]
    notes = {n["resource"]: n for n in flushed(ml)}
    assert notes[f"/orders/{dropped}"]["status"] == "dropped"
    assert [a["duplicate"] for a in notes[f"/orders/{doubled}"]["attempts"]] == [False, True]
    order = [p["resource"] for p in receiver.received]
    assert f"/orders/{dropped}" not in order
    assert order.count(f"/orders/{doubled}") == 2
    assert order.index(f"/orders/{second}") < order.index(f"/orders/{first}")


def test_no_callback_url_means_no_notifications(ml: MLHandle) -> None:
    ml.new_order()
    assert ml.control("GET", "notifications")["notifications"] == []


# -- the application's notification settings ---------------------------------------------------------


async def test_ensure_webhooks_checks_the_applications_callback(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    address = "https://fenicia.example/webhooks/mercadolibre/7"
    with pytest.raises(ConfigError) as caught:
        await meli.ensure_webhooks(address, ["orders_v2", "shipments"])
    assert address in caught.value.resolution and "orders_v2, shipments" in caught.value.resolution
    ml.control("POST", "config", {"notification_callback_url": address})
    await meli.ensure_webhooks(address, ["orders_v2", "shipments"])
    ml.control("POST", "config", {"notification_topics": ["orders_v2"]})
    with pytest.raises(ConfigError):
        await meli.ensure_webhooks(address, ["orders_v2", "shipments"])

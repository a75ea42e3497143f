"""Signed webhooks from the TikTok Shop simulator to a real loopback receiver: verify, parse, faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import servers
from fenicia.connectors.tiktok.connector import TikTokConnector
from fenicia.connectors.tiktok.webhooks import ORDER_TOPICS, parse_webhook
from fenicia.core.errors import AuthError, InvalidRecord
from tiktok_sim import TikTokHandle, running_tiktok


@dataclass
class Receiver:
    """Records what it receives; answers the statuses in ``answers`` first, then 200."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return JSONResponse({}, status_code=self.answers.pop(0) if self.answers else 200)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with servers.serve(Starlette(routes=[Route("/hook", rec.endpoint, methods=["POST"])])) as url:
        rec.url = f"{url}/hook"
        yield rec


@pytest.fixture
def tt(receiver: Receiver) -> Iterator[TikTokHandle]:
    with running_tiktok() as handle:
        handle.control("POST", "webhooks", {"address": receiver.url, "event_types": list(ORDER_TOPICS)})
        yield handle


def flush(tt: TikTokHandle) -> None:
    tt.control("POST", "webhooks/flush")


def bodies(receiver: Receiver) -> list[dict[str, object]]:
    return [json.loads(body) for _, body in receiver.received]


def test_a_new_order_arrives_signed_and_parses_to_a_pointer(tt: TikTokHandle, receiver: Receiver) -> None:
    order = tt.sim.create_order()
    flush(tt)
    [(headers, body)] = receiver.received
    connector = tt.connector()
    connector.verify_webhook(headers, body)
    event = connector.parse_webhook(headers, body)
    assert (event.topic, event.order_ref, event.order) == ("ORDER_STATUS_CHANGE", order["id"], None)
    payload = json.loads(body)
    assert event.delivery_id == payload["tts_notification_id"]
    assert payload["data"]["order_status"] == "AWAITING_SHIPMENT" and payload["shop_id"] == tt.sim.config.shop_id


def test_a_tampered_or_unsigned_delivery_is_rejected(tt: TikTokHandle, receiver: Receiver) -> None:
    tt.fault("tamper_webhooks", count=1)
    tt.sim.create_order()
    flush(tt)
    [(headers, body)] = receiver.received
    connector = tt.connector()
    with pytest.raises(AuthError):
        connector.verify_webhook(headers, body)
    good_signature = headers["authorization"]
    with pytest.raises(AuthError):
        connector.verify_webhook({"Authorization": good_signature}, body.replace(b"AWAITING", b"CANCELLED"))
    with pytest.raises(AuthError):
        connector.verify_webhook({}, body)
    with pytest.raises(AuthError):
        connector.verify_webhook({"Authorization": good_signature}, b"")


def test_cancel_address_and_shipping_events_point_at_the_order(tt: TikTokHandle, receiver: Receiver) -> None:
    order = tt.sim.create_order()
    tt.sim.customer_edit(order["id"], {"recipient_address": {"address_line2": "Flat 2"}})
    tt.sim.customer_cancel(order["id"])
    flush(tt)
    events = [parse_webhook(body) for _, body in receiver.received]
    assert [e.topic for e in events] == [
        "ORDER_STATUS_CHANGE",
        "RECIPIENT_ADDRESS_UPDATE",
        "ORDER_STATUS_CHANGE",
        "CANCELLATION_STATUS_CHANGE",
    ]
    assert {e.order_ref for e in events} == {order["id"]} and len({e.delivery_id for e in events}) == 4


def test_a_failed_delivery_is_retried_with_the_same_id(tt: TikTokHandle, receiver: Receiver) -> None:
    receiver.answers = [500]
    tt.sim.create_order()
    flush(tt)
    flush(tt)  # the retry, due after webhook_retry_delays_s
    assert len(receiver.received) == 2 and receiver.received[0][1] == receiver.received[1][1]
    [delivery] = tt.control("GET", "webhooks/deliveries")["deliveries"]
    assert delivery["status"] == "delivered" and [a["status_code"] for a in delivery["attempts"]] == [500, 200]


def test_dropped_duplicated_and_reordered_deliveries(tt: TikTokHandle, receiver: Receiver) -> None:
    tt.fault("drop_webhooks", count=1)
    tt.sim.create_order()
    flush(tt)
    assert receiver.received == []
    tt.fault("duplicate_webhooks", count=1)
    tt.sim.create_order()
    flush(tt)
    first, second = bodies(receiver)
    assert first == second  # same notification twice: one delivery id, stored once by the intake
    receiver.received.clear()
    tt.fault("reorder_webhooks", count=2)
    a, b = tt.sim.create_order(), tt.sim.create_order()
    flush(tt)
    assert [body["data"]["order_id"] for body in bodies(receiver)] == [b["id"], a["id"]]  # type: ignore[index]


def test_other_shops_and_non_order_events_are_refused() -> None:
    body = json.dumps({"type": 1, "shop_id": "1", "timestamp": 1, "data": {"order_id": "5"}}).encode()
    assert parse_webhook(body, shop_id="1").order_ref == "5"
    with pytest.raises(InvalidRecord):
        parse_webhook(body, shop_id="2")
    for payload in ({"type": 6, "data": {}}, {"type": 1, "data": {}}, {"type": "1"}, [1]):
        with pytest.raises(InvalidRecord):
            parse_webhook(json.dumps(payload).encode())
    with pytest.raises(InvalidRecord):
        parse_webhook(b"not json")


async def test_ensure_webhooks_points_each_event_type_at_the_address_once(tt: TikTokHandle) -> None:
    connector: TikTokConnector = tt.connector()
    await connector.ensure_webhooks("https://fenicia.example/webhooks/tiktok/7", list(ORDER_TOPICS))
    await connector.ensure_webhooks("https://fenicia.example/webhooks/tiktok/7", list(ORDER_TOPICS))
    await connector.aclose()
    hooks = tt.control("GET", "webhooks")["webhooks"]
    assert {h["event_type"]: h["address"] for h in hooks} == dict.fromkeys(
        ORDER_TOPICS, "https://fenicia.example/webhooks/tiktok/7"
    )
    assert len(tt.requests("PUT", "/event/202309/webhooks")) == len(ORDER_TOPICS)

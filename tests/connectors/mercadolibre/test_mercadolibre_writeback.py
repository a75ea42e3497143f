"""Write-backs against the simulator: ME1/custom shipping, me2 refusals, cancel by feedback, never twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fenicia.connectors.base import ShipRequest, TrackingRequest
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.core.errors import ConflictError, TransientError, UnsupportedOperation, ValidationFailed
from fenicia.orders.models import OrderStatus
from mercadolibre_sim import MLHandle

Factory = Callable[..., MercadoLibreConnector]


def ship(key: str, tracking: str | None = "OP123456789BR") -> ShipRequest:
    return ShipRequest(idempotency_key=key, carrier="Correios", tracking_number=tracking, tracking_url=None)


def new(ml: MLHandle, **spec: Any) -> tuple[str, int]:
    bundle = ml.new_order(**spec)
    return str(bundle["order"]["id"]), int(bundle["shipment"]["id"]) if bundle["shipment"] else 0


def writes(ml: MLHandle) -> list[dict[str, Any]]:
    return [r for r in ml.requests() if r["method"] in ("PUT", "POST") and "/oauth/" not in r["path"]]


@pytest.mark.parametrize("mode", ["me1", "custom"])
async def test_mark_shipped_informs_tracking_then_ships(ml: MLHandle, meli: MercadoLibreConnector, mode: str) -> None:
    order_id, shipment_id = new(ml, mode=mode)
    result = await meli.mark_shipped(order_id, ship("action-1"))
    assert result.remote_id == str(shipment_id)
    put, post = writes(ml)
    assert (put["method"], put["path"], put["body"]) == (
        "PUT",
        f"/shipments/{shipment_id}",
        {"tracking_number": "OP123456789BR"},
    )
    assert post["path"] == f"/shipments/{shipment_id}/seller_notifications"
    assert post["body"]["status"] == "shipped" and post["body"]["tracking_number"] == "OP123456789BR"
    assert post["body"]["payload"]["comment"] == "fenicia:action-1"
    order = await meli.get_order(order_id)
    assert order.status == OrderStatus.SHIPPED
    assert [(s.external_id, s.tracking_number) for s in order.shipments] == [(str(shipment_id), "OP123456789BR")]


async def test_service_id_is_sent_when_configured(ml: MLHandle, make: Factory) -> None:
    order_id, _ = new(ml, mode="me1")
    await make(me1_service_id=11).mark_shipped(order_id, ship("action-1"))
    put, post = writes(ml)
    assert put["body"]["service_id"] == 11 and post["body"]["payload"]["service_id"] == 11


async def test_retry_after_a_lost_answer_does_not_ship_twice(ml: MLHandle, make: Factory) -> None:
    connector = make(timeout_seconds=0.3)
    order_id, shipment_id = new(ml, mode="me1")
    ml.fault("lose_response", seconds=1.0, count=1, path_contains="seller_notifications", method="POST")
    with pytest.raises(TransientError):
        await connector.mark_shipped(order_id, ship("action-7"))  # ML acted; the answer never came
    retried = await connector.mark_shipped(order_id, ship("action-7"))  # the engine's retry
    assert retried.remote_id == str(shipment_id) and "Already shipped" in retried.message
    assert retried.order is not None and retried.order.status == OrderStatus.SHIPPED
    posts = ml.requests("POST", "seller_notifications")
    assert len(posts) == 1 and posts[0]["fault"] == "lose_response"


async def test_a_post_answered_500_is_not_resent_in_the_call(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    order_id, _ = new(ml, mode="me1")
    ml.fault("http_500", count=1, path_contains="seller_notifications")
    with pytest.raises(TransientError):
        await meli.mark_shipped(order_id, ship("action-2"))
    assert len(ml.requests("POST", "seller_notifications")) == 1
    await meli.mark_shipped(order_id, ship("action-2"))
    assert (await meli.get_order(order_id)).status == OrderStatus.SHIPPED


async def test_me2_orders_refuse_shipping_and_tracking_naming_the_mode(
    ml: MLHandle, meli: MercadoLibreConnector
) -> None:
    order_id, _ = new(ml, mode="me2")
    with pytest.raises(UnsupportedOperation) as shipped:
        await meli.mark_shipped(order_id, ship("action-3"))
    with pytest.raises(UnsupportedOperation) as tracked:
        await meli.update_tracking(order_id, TrackingRequest("action-4", None, None, "X1"))
    for caught in (shipped, tracked):
        assert "Mercado Envíos (me2)" in caught.value.message
    assert writes(ml) == []


async def test_orders_without_shipment_refuse_shipping(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    order_id, _ = new(ml, mode="none")
    with pytest.raises(UnsupportedOperation) as caught:
        await meli.mark_shipped(order_id, ship("action-5"))
    assert "no shipment" in caught.value.message and writes(ml) == []


async def test_unpaid_and_untracked_orders_are_refused(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    unpaid, _ = new(ml, mode="me1", status="payment_required")
    with pytest.raises(ConflictError):
        await meli.mark_shipped(unpaid, ship("action-6"))
    paid, _ = new(ml, mode="me1")
    with pytest.raises(ValidationFailed):
        await meli.mark_shipped(paid, ship("action-8", tracking=None))
    assert writes(ml) == []


async def test_update_tracking_is_one_absolute_put(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    order_id, shipment_id = new(ml, mode="me1")
    await meli.mark_shipped(order_id, ship("action-1"))
    request = TrackingRequest("action-9", None, "Correios", "OP999")
    first = await meli.update_tracking(order_id, request)
    again = await meli.update_tracking(order_id, request)  # a retry: same number, nothing to send
    assert first.remote_id == again.remote_id == str(shipment_id)
    puts = ml.requests("PUT", f"/shipments/{shipment_id}")
    assert [p["body"]["tracking_number"] for p in puts] == ["OP123456789BR", "OP999"]
    assert (await meli.get_order(order_id)).shipments[0].tracking_number == "OP999"


async def test_cancel_sends_negative_feedback_and_restocks(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    item = next(i for i in ml.sim.store.items.values() if not i.variations)
    before = item.available_quantity
    bundle = ml.new_order(mode="me1", items=[{"item_id": item.id, "quantity": 2}])
    order_id = str(bundle["order"]["id"])
    assert item.available_quantity == before - 2
    result = await meli.cancel_order(order_id, "inventory", notify_customer=True)
    assert result.remote_id == order_id and "OUT_OF_STOCK" in result.message
    [post] = ml.requests("POST", "/feedback")
    assert post["body"] | {"message": None} == {
        "fulfilled": False,
        "rating": "neutral",
        "message": None,
        "reason": "OUT_OF_STOCK",
        "restock_item": True,
    }
    assert len(post["body"]["message"]) < 160
    order = await meli.get_order(order_id)
    assert order.status == OrderStatus.CANCELLED and order.cancelled_at is not None
    assert item.available_quantity == before


async def test_cancel_retry_after_a_lost_answer_is_done_without_a_second_feedback(ml: MLHandle, make: Factory) -> None:
    connector = make(timeout_seconds=0.3)
    order_id, _ = new(ml, mode="me2")
    ml.fault("lose_response", seconds=1.0, count=1, path_contains="/feedback", method="POST")
    with pytest.raises(TransientError):
        await connector.cancel_order(order_id, "customer", notify_customer=False)
    retried = await connector.cancel_order(order_id, "customer", notify_customer=False)
    assert retried.order is not None and retried.order.status == OrderStatus.CANCELLED
    assert len(ml.requests("POST", "/feedback")) == 1


async def test_cancel_of_a_shipped_order_is_a_conflict(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    order_id, shipment_id = new(ml, mode="me2")
    ml.control("POST", f"shipments/{shipment_id}/status", {"status": "shipped"})
    with pytest.raises(ConflictError):
        await meli.cancel_order(order_id, None, notify_customer=True)
    assert ml.requests("POST", "/feedback") == []


async def test_feedback_already_given_is_a_conflict_for_the_pusher(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    order_id, _ = new(ml, mode="me1")
    ml.sim.store.orders[int(order_id)].feedback_sale = {"fulfilled": True}
    with pytest.raises(ConflictError):
        await meli.cancel_order(order_id, None, notify_customer=True)


async def test_cancel_of_me2_can_be_switched_off(ml: MLHandle, make: Factory) -> None:
    order_id, _ = new(ml, mode="me2")
    with pytest.raises(UnsupportedOperation) as caught:
        await make(cancel_me2_via_feedback=False).cancel_order(order_id, None, notify_customer=True)
    assert "seller center" in caught.value.message

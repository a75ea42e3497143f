"""Acknowledge, ship per line, tracking update and cancel against the simulator; retries never act twice."""

from __future__ import annotations

import time
from typing import Any

import pytest

from fenicia.connectors.base import ShipRequest, TrackingRequest
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.writeback import cancel_reason, carrier_field
from fenicia.core.errors import ConflictError, TransientError, ValidationFailed
from fenicia.orders.models import OrderStatus
from walmart_sim import Factory, WalmartHandle


def ship(number: str = "1Z999", carrier: str | None = "UPS", **extra: Any) -> ShipRequest:
    return ShipRequest(idempotency_key="fenicia-action-1", carrier=carrier, tracking_number=number, **extra)


def two_line_order(wm: WalmartHandle) -> str:
    lines = [{"sku": "WM-0001", "quantity": 2}, {"sku": "WM-0002", "quantity": 1}]
    return str(wm.sim.create_order(lines=lines)["purchaseOrderId"])


def posts(wm: WalmartHandle, po: str, action: str) -> list[dict[str, Any]]:
    return wm.requests("POST", f"/v3/orders/{po}/{action}")


def wait_until(check: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)


async def test_mark_shipped_acknowledges_then_ships_every_line(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    result = await walmart.mark_shipped(po, ship())
    assert result.order is not None and result.order.status == OrderStatus.SHIPPED
    [shipment] = result.order.shipments
    assert result.remote_id == shipment.external_id and shipment.tracking_number == "1Z999"
    assert shipment.carrier == "UPS"
    paths = [r["path"] for r in wm.requests("POST", f"/v3/orders/{po}/")]
    assert paths == [f"/v3/orders/{po}/acknowledge", f"/v3/orders/{po}/shipping"]
    [sent] = posts(wm, po, "shipping")
    lines = sent["body"]["orderShipment"]["orderLines"]["orderLine"]
    assert [
        (ln["lineNumber"], ln["orderLineStatuses"]["orderLineStatus"][0]["statusQuantity"]["amount"]) for ln in lines
    ] == [
        ("1", "2"),
        ("2", "1"),
    ]
    info = lines[0]["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]
    assert info["carrierName"] == {"carrier": "UPS"} and info["methodCode"] == "Standard"
    assert isinstance(info["shipDateTime"], int) and lines[0]["sellerOrderId"] == po


async def test_already_acknowledged_order_is_shipped_without_acknowledging(
    wm: WalmartHandle, walmart: WalmartConnector
) -> None:
    po = two_line_order(wm)
    await walmart.client.post(f"/v3/orders/{po}/acknowledge", idempotent=True)
    await walmart.mark_shipped(po, ship())
    assert len(posts(wm, po, "acknowledge")) == 1 and len(posts(wm, po, "shipping")) == 1


async def test_without_acknowledging_walmart_refuses(wm: WalmartHandle, make: Factory) -> None:
    po = two_line_order(wm)
    with pytest.raises(ConflictError) as caught:
        await make(acknowledge_before_ship=False).mark_shipped(po, ship())
    assert "not acknowledged" in caught.value.message


async def test_retry_after_a_lost_answer_does_not_ship_twice(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    wm.fault("lose_response", seconds=1.0, path_contains="/shipping", method="POST", count=1)
    with pytest.raises(TransientError):
        await walmart.mark_shipped(po, ship())
    wait_until(lambda: wm.sim.store.orders[po].lines[0].units("Shipped") == 2)
    result = await walmart.mark_shipped(po, ship())
    assert "Already shipped" in result.message
    assert len(posts(wm, po, "shipping")) == 1
    assert result.order is not None and len(result.order.shipments) == 1


async def test_shipping_by_lines_then_the_rest(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    first = await walmart.mark_shipped(po, ship("BOX1", lines={"1": 1}))
    assert first.order is not None and first.order.status == OrderStatus.PARTIALLY_SHIPPED
    second = await walmart.mark_shipped(po, ship("BOX2", carrier="fedex"))
    assert second.order is not None and second.order.status == OrderStatus.SHIPPED
    ids = {s.external_id for s in second.order.shipments}
    assert len(ids) == 2 and {first.remote_id, second.remote_id} == ids
    assert {s.carrier for s in second.order.shipments} == {"UPS", "FedEx"}
    with pytest.raises(ConflictError):
        await walmart.mark_shipped(po, ship("BOX3"))
    assert len(posts(wm, po, "shipping")) == 2


async def test_bad_ship_requests_are_refused_before_any_call(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    with pytest.raises(ValidationFailed):
        await walmart.mark_shipped(po, ship(number=""))
    with pytest.raises(ValidationFailed):
        await walmart.mark_shipped(po, ship(carrier="Bob's Vans"))  # not Walmart's: needs a tracking URL
    with pytest.raises(ValidationFailed):
        await walmart.mark_shipped(po, ship(lines={"9": 1}))
    with pytest.raises(ConflictError):
        await walmart.mark_shipped(po, ship(lines={"1": 5}))
    assert posts(wm, po, "shipping") == [] and posts(wm, po, "acknowledge") == []


async def test_other_carrier_with_a_url(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    url = "https://bobsvans.example/track/BV1"
    result = await walmart.mark_shipped(po, ship("BV1", carrier="Bob's Vans", tracking_url=url))
    assert result.order is not None and result.order.shipments[0].carrier == "Bob's Vans"
    info = posts(wm, po, "shipping")[0]["body"]["orderShipment"]["orderLines"]["orderLine"][0]
    assert info["orderLineStatuses"]["orderLineStatus"][0]["trackingInfo"]["carrierName"] == {
        "otherCarrier": "Bob's Vans"
    }


async def test_cancelled_order_cannot_be_shipped(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    wm.control("POST", f"orders/{po}/cancel", {})
    with pytest.raises(ConflictError):
        await walmart.mark_shipped(po, ship())


async def test_buyer_intent_to_cancel_is_overridden_when_shipping(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    wm.control("POST", f"orders/{po}/intent_to_cancel", {})
    result = await walmart.mark_shipped(po, ship())
    assert result.order is not None and result.order.status == OrderStatus.SHIPPED
    lines = posts(wm, po, "shipping")[0]["body"]["orderShipment"]["orderLines"]["orderLine"]
    assert all(line["intentToCancelOverride"] is True for line in lines)


async def test_update_tracking_keeps_the_shipment_id(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    shipped = await walmart.mark_shipped(po, ship("OLD1"))
    result = await walmart.update_tracking(po, TrackingRequest("k", shipped.remote_id, None, "NEW1"))
    assert result.remote_id == shipped.remote_id and result.order is not None
    [shipment] = result.order.shipments
    assert shipment.external_id == shipped.remote_id and shipment.tracking_number == "NEW1"
    assert shipment.carrier == "UPS"
    [update] = posts(wm, po, "shipping")[1:]
    status = update["body"]["orderShipment"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]
    assert status["currentTrackingInfo"] == {"trackingNumber": "OLD1"}


async def test_update_tracking_retry_after_a_lost_answer(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    await walmart.mark_shipped(po, ship("OLD2"))
    wm.fault("lose_response", seconds=1.0, path_contains="/shipping", method="POST", count=1)
    request = TrackingRequest("k", None, "USPS", "NEW2")
    with pytest.raises(TransientError):
        await walmart.update_tracking(po, request)
    wait_until(lambda: "NEW2" in str(wm.sim.get_order(po)))
    result = await walmart.update_tracking(po, request)
    assert "already" in result.message
    assert len(posts(wm, po, "shipping")) == 2  # the shipment and one tracking update


async def test_update_tracking_without_a_shipment(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    with pytest.raises(ConflictError):
        await walmart.update_tracking(po, TrackingRequest("k", None, "UPS", "X1"))
    await walmart.mark_shipped(po, ship("T1"))
    with pytest.raises(ConflictError):
        await walmart.update_tracking(po, TrackingRequest("k", "123", "UPS", "X1"))
    by_number = await walmart.update_tracking(po, TrackingRequest("k", "T1", None, "X2"))  # addressed by number
    assert by_number.order is not None and by_number.order.shipments[0].tracking_number == "X2"


async def test_cancel_open_order(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    result = await walmart.cancel_order(po, "inventory", True)
    assert result.order is not None and result.order.status == OrderStatus.CANCELLED
    lines = posts(wm, po, "cancel")[0]["body"]["orderCancellation"]["orderLines"]["orderLine"]
    reasons = {ln["orderLineStatuses"]["orderLineStatus"][0]["cancellationReason"] for ln in lines}
    assert reasons == {"SELLER_CANCEL_OUT_OF_STOCK"} and len(lines) == 2


async def test_cancel_a_buyer_request_uses_the_customer_reason(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    wm.control("POST", f"orders/{po}/intent_to_cancel", {})
    await walmart.cancel_order(po, "other", True)
    body = posts(wm, po, "cancel")[0]["body"]
    status = body["orderCancellation"]["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]
    assert status["cancellationReason"] == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"


async def test_cancel_customer_reason_without_a_buyer_request_is_accepted(
    wm: WalmartHandle, walmart: WalmartConnector
) -> None:
    po = two_line_order(wm)  # Walmart refuses CUSTOMER_REQUESTED_... here: the default reason goes instead
    result = await walmart.cancel_order(po, "customer", True)
    assert result.order is not None and result.order.status == OrderStatus.CANCELLED


async def test_cancel_retry_after_a_lost_answer(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    wm.fault("lose_response", seconds=1.0, path_contains="/cancel", method="POST", count=1)
    with pytest.raises(TransientError):
        await walmart.cancel_order(po, "inventory", True)
    wait_until(lambda: not any(line.open for line in wm.sim.store.orders[po].lines))
    result = await walmart.cancel_order(po, "inventory", True)
    assert "Already cancelled" in result.message and len(posts(wm, po, "cancel")) == 1


async def test_shipped_order_cannot_be_cancelled(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = two_line_order(wm)
    await walmart.mark_shipped(po, ship(lines={"1": 1}))
    with pytest.raises(ConflictError) as caught:
        await walmart.cancel_order(po, "inventory", True)
    assert "Refund" in caught.value.resolution
    assert posts(wm, po, "cancel") == []


def test_reason_and_carrier_mapping() -> None:
    default = "SELLER_CANCEL_OUT_OF_STOCK"
    assert cancel_reason("fraud", False, default) == "SELLER_CANCEL_FRAUD_STOP_SHIPMENT"
    assert cancel_reason("customer", False, default) == default
    assert cancel_reason("customer", True, default) == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL"
    assert cancel_reason("SELLER_CANCEL_PRICING_ERROR", False, default) == "SELLER_CANCEL_PRICING_ERROR"
    assert (
        cancel_reason(None, False, "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE") == "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE"
    )
    assert carrier_field("fedex", None) == {"carrier": "FedEx"}
    assert carrier_field("Federal Express", None) == {"carrier": "FedEx"}
    assert carrier_field("DHL Ecommerce", None) == {"carrier": "DHL Ecommerce - US"}
    assert carrier_field("Acme", "https://acme.example/t/1") == {"otherCarrier": "Acme"}
    with pytest.raises(ValidationFailed):
        carrier_field(" ", None)

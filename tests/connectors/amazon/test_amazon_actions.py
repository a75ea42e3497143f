"""Write-backs against the simulator: confirmShipment never ships twice; cancel, tracking and webhooks refuse."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from amazon_sim import SimHandle
from fenicia.connectors.amazon import build
from fenicia.connectors.amazon.connector import AmazonConnector
from fenicia.connectors.amazon.shipping import carrier_fields, package_reference
from fenicia.connectors.base import MemoryTokenStore, ShipRequest, TrackingRequest
from fenicia.core import netguard
from fenicia.core.errors import (
    AuthError,
    ConflictError,
    InvalidRecord,
    TransientError,
    UnsupportedOperation,
    ValidationFailed,
)
from fenicia.orders.models import OrderStatus

CONFIRM = "/shipmentConfirmation"


@pytest.fixture
async def connector(amazon: SimHandle) -> AsyncIterator[AmazonConnector]:
    made = build(amazon.settings(), amazon.credentials(), MemoryTokenStore())
    netguard.apply_policy(made, allow_private=True)  # the simulator listens on loopback
    yield made
    await made.aclose()


def ship(
    key: str = "fenicia-action-41", carrier: str = "UPS", tracking: str | None = "1Z999", **kw: Any
) -> ShipRequest:
    return ShipRequest(idempotency_key=key, carrier=carrier, tracking_number=tracking, **kw)


def two_skus(amazon: SimHandle, **overrides: Any) -> dict[str, Any]:
    items = [{"sku": "AMZ-0001", "quantity": 2}, {"sku": "AMZ-0002", "quantity": 1}]
    return amazon.new_order(items=items, **overrides)


async def test_mark_shipped_confirms_every_unshipped_unit(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = two_skus(amazon)["AmazonOrderId"]
    result = await connector.mark_shipped(order_id, ship())
    assert result.remote_id == "41"
    held = amazon.order(order_id)
    assert held["OrderStatus"] == "Shipped"
    [package] = held["Packages"]
    assert package["packageReferenceId"] == "41" and package["carrierCode"] == "UPS"
    assert package["trackingNumber"] == "1Z999"
    assert sorted(i["quantity"] for i in package["orderItems"]) == [1, 2]
    [posted] = amazon.requests("POST", CONFIRM)
    assert posted["status"] == 204 and posted["body"]["marketplaceId"] == "ATVPDKIKX0DER"
    assert posted["body"]["packageDetail"]["shipDate"].endswith("Z")


async def test_partial_shipment_then_the_rest(amazon: SimHandle, connector: AmazonConnector) -> None:
    created = two_skus(amazon)
    order_id, first_item = created["AmazonOrderId"], created["OrderItems"][0]["OrderItemId"]
    await connector.mark_shipped(order_id, ship("fenicia-action-1", lines={first_item: 1}))
    assert amazon.order(order_id)["OrderStatus"] == "PartiallyShipped"
    fresh = await connector.get_order(order_id)
    assert fresh.status == OrderStatus.PARTIALLY_SHIPPED
    await connector.mark_shipped(order_id, ship("fenicia-action-2", tracking="1Z888"))
    held = amazon.order(order_id)
    assert held["OrderStatus"] == "Shipped" and [p["packageReferenceId"] for p in held["Packages"]] == ["1", "2"]


async def test_a_retry_after_a_lost_answer_confirms_nothing_twice(
    amazon: SimHandle, connector: AmazonConnector
) -> None:
    order_id = two_skus(amazon)["AmazonOrderId"]
    amazon.fault("lose_response", seconds=1.0, path_contains=CONFIRM, method="POST", count=1)
    with pytest.raises(TransientError):
        await connector.mark_shipped(order_id, ship())  # Amazon acted; our client timed out first
    assert amazon.order(order_id)["OrderStatus"] == "Shipped"
    again = await connector.mark_shipped(order_id, ship())
    assert again.remote_id == "41" and "Already shipped" in again.message
    assert again.order is not None and again.order.status == OrderStatus.SHIPPED
    assert len(amazon.order(order_id)["Packages"]) == 1
    await asyncio.sleep(1.1)  # let the held answer of the first POST reach the log
    assert len(amazon.requests("POST", CONFIRM)) == 1, "the retry must not post a second confirmation"


async def test_a_partial_retry_after_a_lost_answer_is_done_too(amazon: SimHandle, connector: AmazonConnector) -> None:
    created = two_skus(amazon)
    order_id, first_item = created["AmazonOrderId"], created["OrderItems"][0]["OrderItemId"]
    amazon.fault("lose_response", seconds=1.0, path_contains=CONFIRM, method="POST", count=1)
    with pytest.raises(TransientError):
        await connector.mark_shipped(order_id, ship(lines={first_item: 2}))
    again = await connector.mark_shipped(order_id, ship(lines={first_item: 2}))
    assert "Already shipped" in again.message and len(amazon.order(order_id)["Packages"]) == 1


async def test_shipped_in_seller_central_is_not_confirmed_again(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = amazon.new_order(status="Shipped")["AmazonOrderId"]
    result = await connector.mark_shipped(order_id, ship())
    assert "Already shipped" in result.message and amazon.requests("POST", CONFIRM) == []


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"status": "Pending"}, "not authorized"),
        ({"fulfillment_channel": "AFN"}, "fulfilled by Amazon"),
    ],
)
async def test_unshippable_orders_are_conflicts(
    amazon: SimHandle, connector: AmazonConnector, overrides: dict[str, Any], words: str
) -> None:
    order_id = amazon.new_order(**overrides)["AmazonOrderId"]
    with pytest.raises(ConflictError) as caught:
        await connector.mark_shipped(order_id, ship())
    assert words in caught.value.message and amazon.requests("POST", CONFIRM) == []


async def test_cancelled_order_cannot_be_shipped(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = amazon.new_order()["AmazonOrderId"]
    amazon.control("POST", f"orders/{order_id}/cancel", {})
    with pytest.raises(ConflictError):
        await connector.mark_shipped(order_id, ship())


async def test_asking_for_more_than_is_left_is_a_conflict(amazon: SimHandle, connector: AmazonConnector) -> None:
    created = two_skus(amazon)
    order_id, first_item = created["AmazonOrderId"], created["OrderItems"][0]["OrderItemId"]
    await connector.mark_shipped(order_id, ship("fenicia-action-1", lines={first_item: 1}))
    with pytest.raises(ConflictError):
        await connector.mark_shipped(order_id, ship("fenicia-action-2", lines={first_item: 5}))
    with pytest.raises(ValidationFailed):
        await connector.mark_shipped(order_id, ship("fenicia-action-3", lines={"999": 1}))


async def test_an_unlisted_carrier_goes_as_other_with_its_name(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = amazon.new_order()["AmazonOrderId"]
    await connector.mark_shipped(order_id, ship(carrier="Speedy Couriers"))
    [package] = amazon.order(order_id)["Packages"]
    assert (package["carrierCode"], package["carrierName"]) == ("Other", "Speedy Couriers")


async def test_a_tracking_number_is_required(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = amazon.new_order()["AmazonOrderId"]
    with pytest.raises(ValidationFailed):
        await connector.mark_shipped(order_id, ship(tracking=None))


async def test_an_expired_token_during_shipping_is_survived(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = amazon.new_order()["AmazonOrderId"]
    await connector.get_order(order_id)
    amazon.fault("expire_token", path_contains=CONFIRM, count=1)
    await connector.mark_shipped(order_id, ship())
    assert amazon.order(order_id)["OrderStatus"] == "Shipped"
    assert [r["status"] for r in amazon.requests("POST", CONFIRM)] == [403, 204]


async def test_permission_denied_on_shipping_asks_to_reconnect(amazon: SimHandle, connector: AmazonConnector) -> None:
    order_id = amazon.new_order()["AmazonOrderId"]
    amazon.fault("permission_denied", path_contains=CONFIRM, count=None)
    with pytest.raises(AuthError) as caught:
        await connector.mark_shipped(order_id, ship())
    assert caught.value.resolution == "Reconnect the channel in Settings."


def test_package_reference_is_stable_numeric_and_positive() -> None:
    assert package_reference("fenicia-action-123") == "123"
    assert package_reference("fenicia-action-123") == package_reference("fenicia-action-123")
    for key in ("no digits", "0000", "x" * 40 + "9" * 30):
        reference = package_reference(key)
        assert reference.isdigit() and int(reference) > 0


def test_carrier_codes() -> None:
    assert carrier_fields("fedex") == {"carrierCode": "FedEx"}
    assert carrier_fields("Royal Mail") == {"carrierCode": "Royal Mail"}
    assert carrier_fields("Local Van") == {"carrierCode": "Other", "carrierName": "Local Van"}
    with pytest.raises(ValidationFailed):
        carrier_fields(" ")


# -- what Amazon cannot do ----------------------------------------------------------------------


async def test_cancel_and_tracking_are_refused_without_a_call(amazon: SimHandle, connector: AmazonConnector) -> None:
    with pytest.raises(UnsupportedOperation) as cancel:
        await connector.cancel_order("111-1111111-1111111", "inventory", notify_customer=True)
    assert "Seller Central" in cancel.value.message
    tracking = TrackingRequest(idempotency_key="k", shipment_external_id=None, carrier="UPS", tracking_number="1Z")
    with pytest.raises(UnsupportedOperation) as track:
        await connector.update_tracking("111-1111111-1111111", tracking)
    assert "tracking" in track.value.message.lower()
    with pytest.raises(UnsupportedOperation):
        await connector.ensure_webhooks("https://fenicia.example/webhooks/amazon/1", [])
    assert amazon.requests() == []


def test_any_webhook_delivery_is_refused(connector: AmazonConnector) -> None:
    body = b'{"NotificationType":"ORDER_CHANGE","Payload":{}}'
    with pytest.raises(AuthError) as verify:
        connector.verify_webhook({"Content-Type": "application/json"}, body)
    assert "SQS" in verify.value.message
    with pytest.raises(InvalidRecord):
        connector.parse_webhook({}, body)

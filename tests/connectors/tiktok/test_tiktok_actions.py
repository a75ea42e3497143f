"""Write-backs against the TikTok Shop simulator: ship (package/units), tracking, cancel, stock — never twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fenicia.connectors.base import ShipRequest, StockUpdate, TrackingRequest
from fenicia.core.errors import ConflictError, TransientError, ValidationFailed
from fenicia.orders.models import OrderStatus
from tiktok_sim import TikTokHandle, running_tiktok


@pytest.fixture
def tt() -> Iterator[TikTokHandle]:
    with running_tiktok() as handle:
        yield handle


def two_skus(tt: TikTokHandle) -> list[dict[str, Any]]:
    skus = list(tt.sim.store.skus.values())
    return [{"sku_id": skus[0][1].id, "quantity": 3}, {"sku_id": skus[1][1].id, "quantity": 1}]


def ship(number: str | None = "RM123456789GB", carrier: str | None = "Royal Mail", **kw: Any) -> ShipRequest:
    return ShipRequest(idempotency_key="fenicia-action-1", carrier=carrier, tracking_number=number, **kw)


async def test_shipping_everything_ships_the_whole_package_once(tt: TikTokHandle) -> None:
    order = tt.sim.create_order(lines=two_skus(tt))
    connector = tt.connector()
    result = await connector.mark_shipped(order["id"], ship())
    package_id = order["packages"][0]["id"]
    assert result.remote_id == package_id
    fresh = await connector.get_order(order["id"])
    await connector.aclose()
    assert fresh.status == OrderStatus.SHIPPED and fresh.channel_status.startswith("AWAITING_COLLECTION")
    assert [(line.quantity, line.shipped_quantity) for line in fresh.lines] == [(3, 3), (1, 1)]
    [shipment] = fresh.shipments
    assert (shipment.external_id, shipment.tracking_number, shipment.carrier) == (
        package_id,
        "RM123456789GB",
        "Royal Mail",
    )
    [call] = tt.requests("POST", f"/packages/{package_id}/ship")
    assert call["body"] == {
        "self_shipment": {"tracking_number": "RM123456789GB", "shipping_provider_id": "6617675021119438597"}
    }


async def test_shipping_some_units_marks_them_shipped_as_a_new_package(tt: TikTokHandle) -> None:
    order = tt.sim.create_order(lines=two_skus(tt))
    connector = tt.connector()
    first_line = (await connector.get_order(order["id"])).lines[0]
    result = await connector.mark_shipped(order["id"], ship(lines={first_line.external_id: 2}, carrier="dpd"))
    fresh = await connector.get_order(order["id"])
    await connector.aclose()
    assert result.remote_id and result.remote_id != order["packages"][0]["id"]
    assert fresh.status == OrderStatus.PARTIALLY_SHIPPED
    assert [(line.external_id, line.shipped_quantity) for line in fresh.lines] == [
        (first_line.external_id, 2),
        (fresh.lines[1].external_id, 0),
    ]
    [call] = tt.requests("POST", f"/orders/{order['id']}/packages")
    assert len(call["body"]["order_line_item_ids"]) == 2 and call["body"]["shipping_provider_id"]


async def test_a_lost_answer_to_ship_is_not_shipped_twice(tt: TikTokHandle) -> None:
    order = tt.sim.create_order(lines=two_skus(tt))
    tt.fault("lose_response", count=1, seconds=1.0, path_contains=f"/packages/{order['packages'][0]['id']}/ship")
    connector = tt.connector()
    with pytest.raises(TransientError):
        await connector.mark_shipped(order["id"], ship())
    retried = await connector.mark_shipped(order["id"], ship())  # the pusher's retry, same action
    await connector.aclose()
    assert retried.remote_id == order["packages"][0]["id"] and "Already shipped" in retried.message
    assert retried.order is not None and retried.order.status == OrderStatus.SHIPPED
    assert len(tt.requests("POST", "/ship")) == 1 and tt.requests("POST", "/orders/") == []


async def test_a_lost_answer_to_a_partial_shipment_is_adopted_by_its_tracking_number(tt: TikTokHandle) -> None:
    order = tt.sim.create_order(lines=two_skus(tt))
    connector = tt.connector()
    line = (await connector.get_order(order["id"])).lines[0]
    tt.fault("lose_response", count=1, seconds=1.0, path_contains="/packages")
    request = ship(lines={line.external_id: 1})
    with pytest.raises(TransientError):
        await connector.mark_shipped(order["id"], request)
    retried = await connector.mark_shipped(order["id"], request)
    fresh = await connector.get_order(order["id"])
    await connector.aclose()
    assert len(tt.requests("POST", f"/orders/{order['id']}/packages")) == 1
    assert retried.remote_id == fresh.shipments[0].external_id and fresh.lines[0].shipped_quantity == 1


async def test_orders_tiktok_does_not_let_us_ship_are_refused(tt: TikTokHandle) -> None:
    unpaid = tt.sim.create_order(status="UNPAID")
    on_hold = tt.sim.create_order(status="ON_HOLD")
    connector = tt.connector()
    for order in (unpaid, on_hold):
        with pytest.raises(ConflictError):
            await connector.mark_shipped(order["id"], ship())
    paid = tt.sim.create_order()
    with pytest.raises(ValidationFailed) as caught:
        await connector.mark_shipped(paid["id"], ship(carrier="Pigeon Post"))
    assert "Royal Mail" in caught.value.message
    with pytest.raises(ValidationFailed):
        await connector.mark_shipped(paid["id"], ship(number=""))
    await connector.aclose()
    assert tt.requests("POST", "/fulfillment") == []


async def test_a_configured_carrier_mapping_skips_the_provider_lookup(tt: TikTokHandle) -> None:
    order = tt.sim.create_order()
    connector = tt.connector(carrier_provider_ids={"Royal Mail Tracked 48": "6617675021119438597"})
    await connector.mark_shipped(order["id"], ship(carrier="Royal Mail Tracked 48"))
    await connector.aclose()
    assert tt.requests("GET", "/shipping_providers") == []


async def test_a_platform_shipped_order_is_handed_over_and_its_tracking_is_not_ours(tt: TikTokHandle) -> None:
    order = tt.sim.create_order(shipping_type="TIKTOK")
    connector = tt.connector()
    result = await connector.mark_shipped(order["id"], ship(number=None, carrier=None))
    again = await connector.mark_shipped(order["id"], ship(number=None, carrier=None))
    with pytest.raises(ConflictError):
        await connector.update_tracking(order["id"], TrackingRequest("k", None, "UPS", "1Z999"))
    await connector.aclose()
    assert result.remote_id == again.remote_id == order["packages"][0]["id"]
    [call] = tt.requests("POST", "/ship")
    assert call["body"] == {"handover_method": "DROP_OFF"}


async def test_tracking_update_is_sent_for_the_latest_package_and_is_safe_to_repeat(tt: TikTokHandle) -> None:
    order = tt.sim.create_order()
    connector = tt.connector()
    shipped = await connector.mark_shipped(order["id"], ship())
    request = TrackingRequest("fenicia-action-2", None, None, "RM999999999GB")
    for _ in range(2):
        result = await connector.update_tracking(order["id"], request)
        assert result.remote_id == shipped.remote_id
    moved = await connector.update_tracking(order["id"], TrackingRequest("k3", shipped.remote_id, "UPS", "1Z1"))
    fresh = await connector.get_order(order["id"])
    await connector.aclose()
    assert moved.remote_id == shipped.remote_id
    assert (fresh.shipments[0].tracking_number, fresh.shipments[0].carrier) == ("1Z1", "UPS")
    calls = tt.requests("POST", "shipping_info/update")
    assert calls[0]["body"] == {"tracking_number": "RM999999999GB", "shipping_provider_id": "6617675021119438597"}
    assert len(calls) == 3


async def test_tracking_needs_a_shipped_package(tt: TikTokHandle) -> None:
    order = tt.sim.create_order()
    connector = tt.connector()
    with pytest.raises(ConflictError):
        await connector.update_tracking(order["id"], TrackingRequest("k", None, "UPS", "1Z1"))
    await connector.aclose()


async def test_cancel_maps_our_reason_and_a_lost_answer_is_not_cancelled_twice(tt: TikTokHandle) -> None:
    order = tt.sim.create_order()
    tt.fault("lose_response", count=1, seconds=1.0, path_contains="cancellations")
    connector = tt.connector()
    with pytest.raises(TransientError):
        await connector.cancel_order(order["id"], "customer", True)
    again = await connector.cancel_order(order["id"], "customer", True)
    await connector.aclose()
    assert again.order is not None and again.order.status == OrderStatus.CANCELLED
    [call] = tt.requests("POST", "cancellations")
    assert call["body"] == {
        "order_id": order["id"],
        "cancel_reason": "seller_cancel_paid_reason_buyer_requested_cancellation",
    }


async def test_cancel_uses_the_unpaid_reasons_for_unpaid_orders_and_refuses_shipped_ones(tt: TikTokHandle) -> None:
    unpaid = tt.sim.create_order(status="UNPAID")
    shipped = tt.sim.create_order()
    connector = tt.connector()
    result = await connector.cancel_order(unpaid["id"], "other", True)
    await connector.mark_shipped(shipped["id"], ship())
    with pytest.raises(ConflictError):
        await connector.cancel_order(shipped["id"], "customer", True)
    await connector.aclose()
    assert result.remote_id and tt.sim.store.orders[unpaid["id"]].status == "CANCELLED"
    [call] = tt.requests("POST", "cancellations")
    assert call["body"]["cancel_reason"] == "seller_cancel_unpaid_reason_out_of_stock"


async def test_listings_and_stock_go_one_request_per_product(tt: TikTokHandle) -> None:
    connector = tt.connector()
    listings = [item async for page in connector.list_listings() for item in page]
    by_product: dict[str, list[str]] = {}
    for listing in listings:
        assert listing.inventory_ref and listing.sku and listing.quantity is not None
        by_product.setdefault(listing.inventory_ref, []).append(listing.external_id)
    multi = next(pid for pid, skus in by_product.items() if len(skus) > 1)
    single = next(pid for pid, skus in by_product.items() if len(skus) == 1)
    items = [StockUpdate(sku, multi, 7) for sku in by_product[multi]]
    items += [StockUpdate(by_product[single][0], single, 100_000), StockUpdate("123", None, 1)]
    results = await connector.set_stock(items)
    await connector.aclose()
    assert [r.ok for r in results] == [True] * len(by_product[multi]) + [False, False]
    assert all(tt.sim.store.skus[sku][1].quantity == 7 for sku in by_product[multi])
    [call] = tt.requests("POST", "/inventory/update")
    assert call["path"] == f"/product/202309/products/{multi}/inventory/update"
    assert call["body"] == {"skus": [{"id": sku, "inventory": [{"quantity": 7}]} for sku in by_product[multi]]}


async def test_a_sku_refused_by_tiktok_fails_alone(tt: TikTokHandle) -> None:
    product = next(p for p in tt.sim.store.products.values() if len(p.skus) > 1)
    connector = tt.connector(warehouse_id="999")
    results = await connector.set_stock([StockUpdate(s.id, product.id, 5) for s in product.skus])
    good = await tt.connector().set_stock(
        [StockUpdate("1", product.id, 5), StockUpdate(product.skus[0].id, product.id, 4)]
    )
    await connector.aclose()
    assert not any(r.ok for r in results) and all("warehouse" in (r.error or "") for r in results)
    assert [r.ok for r in good] == [False, True] and product.skus[0].quantity == 4

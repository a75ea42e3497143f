"""The Amazon simulator's own fidelity, over real HTTP: LWA, 403s, usage plans, getOrders rules, write rules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from amazon_sim import CONFIG, SimHandle, running_amazon
from fenicia.connectors.amazon.sim_config import AmazonSimConfig
from fenicia.connectors.amazon.simulator import AmazonSimulator, build_standalone_app

MARKET = "ATVPDKIKX0DER"
LONG_AGO = "2020-01-01T00:00:00Z"


@pytest.fixture
def api(amazon: SimHandle) -> Iterator[httpx.Client]:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": CONFIG.refresh_token,
        "client_id": CONFIG.client_id,
        "client_secret": CONFIG.client_secret,
    }
    token = httpx.post(f"{amazon.url}/auth/o2/token", data=form).json()["access_token"]
    with httpx.Client(base_url=amazon.url, headers={"x-amz-access-token": token}) as client:
        yield client


def errors(response: httpx.Response) -> list[dict[str, Any]]:
    body: list[dict[str, Any]] = response.json()["errors"]
    return body


# -- Login with Amazon -----------------------------------------------------------------------------


def test_lwa_grants_an_hour_long_bearer_token(amazon: SimHandle) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": CONFIG.refresh_token}
    answer = httpx.post(
        f"{amazon.url}/auth/o2/token",
        data=form | {"client_id": CONFIG.client_id, "client_secret": CONFIG.client_secret},
    )
    body = answer.json()
    assert answer.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|") and body["refresh_token"] == CONFIG.refresh_token
    assert amazon.state()["token_grants"] == 1


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"refresh_token": "Atzr|stolen"}, 400, "invalid_grant"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
    ],
)
def test_lwa_errors(amazon: SimHandle, changes: dict[str, str], status: int, error: str) -> None:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": CONFIG.refresh_token,
        "client_id": CONFIG.client_id,
        "client_secret": CONFIG.client_secret,
    } | changes
    answer = httpx.post(f"{amazon.url}/auth/o2/token", data=form)
    assert answer.status_code == status and answer.json()["error"] == error and answer.json()["error_description"]
    assert amazon.state()["token_grants"] == 0


# -- SP-API auth, headers and usage plans ----------------------------------------------------------


def test_missing_unknown_and_expired_tokens_get_403(amazon: SimHandle, api: httpx.Client) -> None:
    params = {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO}
    missing = httpx.get(f"{amazon.url}/orders/v0/orders", params=params)
    assert missing.status_code == 403 and errors(missing)[0]["code"] == "MissingAuthenticationToken"
    bogus = httpx.get(f"{amazon.url}/orders/v0/orders", params=params, headers={"x-amz-access-token": "Atza|x"})
    assert bogus.status_code == 403 and errors(bogus)[0]["code"] == "Unauthorized"
    assert api.get("/orders/v0/orders", params=params).status_code == 200
    amazon.control("POST", "clock", {"advance_s": 3601})
    expired = api.get("/orders/v0/orders", params=params)
    assert expired.status_code == 403 and errors(expired)[0]["details"] == "The access token you provided has expired."


def test_usage_plan_throttles_with_quota_exceeded(amazon: SimHandle, api: httpx.Client) -> None:
    amazon.control("POST", "config", {"rate_limit_enabled": True, "usage_plans": {"getOrders": [0.0167, 2]}})
    params = {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO}
    answers = [api.get("/orders/v0/orders", params=params) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0167" and answers[0].headers["x-amzn-RequestId"]
    throttled = answers[2]
    assert errors(throttled) == [
        {"code": "QuotaExceeded", "message": "You exceeded your quota for the requested resource.", "details": ""}
    ]
    assert "x-amzn-RateLimit-Limit" not in throttled.headers and "Retry-After" not in throttled.headers
    assert throttled.headers["x-amzn-RequestId"]
    amazon.control("POST", "config", {"retry_after_header": True})
    assert int(api.get("/orders/v0/orders", params=params).headers["Retry-After"]) >= 59
    assert amazon.state()["operations"]["getOrders"]["throttled"] == 2


def test_usage_plans_are_per_operation(amazon: SimHandle, api: httpx.Client) -> None:
    amazon.control("POST", "config", {"rate_limit_enabled": True, "usage_plans": {"getOrders": [0.0167, 1]}})
    order_id = amazon.new_order()["AmazonOrderId"]
    params = {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO}
    assert api.get("/orders/v0/orders", params=params).status_code == 200
    assert api.get("/orders/v0/orders", params=params).status_code == 429
    answer = api.get(f"/orders/v0/orders/{order_id}")
    assert answer.status_code == 200 and answer.headers["x-amzn-RateLimit-Limit"] == "0.5"


# -- getOrders rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"LastUpdatedAfter": LONG_AGO},
        {"MarketplaceIds": MARKET},
        {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "CreatedAfter": LONG_AGO},
        {"MarketplaceIds": MARKET, "LastUpdatedAfter": "2999-01-01T00:00:00Z"},
        {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "LastUpdatedBefore": "2019-01-01T00:00:00Z"},
        {"MarketplaceIds": MARKET, "LastUpdatedAfter": "last week"},
        {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "MaxResultsPerPage": "101"},
        {"MarketplaceIds": "A1F83G8C2ARO7P", "LastUpdatedAfter": LONG_AGO},
        {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "OrderStatuses": "Lost"},
        {"NextToken": "not-a-token"},
    ],
)
def test_get_orders_refuses_what_amazon_refuses(api: httpx.Client, params: dict[str, str]) -> None:
    answer = api.get("/orders/v0/orders", params=params)
    assert answer.status_code == 400 and errors(answer)[0]["code"] == "InvalidInput"
    assert answer.headers["x-amzn-RateLimit-Limit"] == "0.0167"


def test_before_must_be_two_minutes_old(amazon: SimHandle, api: httpx.Client) -> None:
    amazon.control("POST", "config", {"updated_before_lag_s": 120.0})
    now = amazon.state()["now"]
    params = {"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "LastUpdatedBefore": now}
    assert api.get("/orders/v0/orders", params=params).status_code == 400


def test_filters_families_and_the_before_echo(amazon: SimHandle, api: httpx.Client) -> None:
    amazon.control("POST", "orders/bulk", {"count": 30})
    cancelled = api.get(
        "/orders/v0/orders",
        params={"MarketplaceIds": MARKET, "CreatedAfter": LONG_AGO, "OrderStatuses": "Canceled,Pending"},
    ).json()["payload"]
    assert "CreatedBefore" in cancelled and "LastUpdatedBefore" not in cancelled
    assert {o["OrderStatus"] for o in cancelled["Orders"]} <= {"Canceled", "Pending"}
    some = [o["AmazonOrderId"] for o in cancelled["Orders"]][:2]
    by_id = api.get(
        "/orders/v0/orders",
        params={"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "AmazonOrderIds": ",".join(some)},
    ).json()["payload"]
    assert sorted(o["AmazonOrderId"] for o in by_id["Orders"]) == sorted(some)


def test_next_token_rules(amazon: SimHandle, api: httpx.Client) -> None:
    amazon.control("POST", "orders/bulk", {"count": 3})
    first = api.get(
        "/orders/v0/orders", params={"MarketplaceIds": MARKET, "LastUpdatedAfter": LONG_AGO, "MaxResultsPerPage": "1"}
    ).json()["payload"]
    token = first["NextToken"]
    lenient = api.get("/orders/v0/orders", params={"NextToken": token, "LastUpdatedAfter": "2030-01-01T00:00:00Z"})
    assert lenient.status_code == 200 and len(lenient.json()["payload"]["Orders"]) == 1  # the token's filters win
    amazon.control("POST", "config", {"strict_next_token": True})
    strict = api.get("/orders/v0/orders", params={"NextToken": token, "LastUpdatedAfter": LONG_AGO})
    assert strict.status_code == 400
    assert api.get("/orders/v0/orders", params={"NextToken": token, "MarketplaceIds": MARKET}).status_code == 200
    amazon.control("POST", "config", {"next_token_ttl_s": 0.0})
    expired = api.get("/orders/v0/orders", params={"NextToken": token})
    assert expired.status_code == 400 and "expired" in errors(expired)[0]["details"]


def test_pending_items_carry_no_prices(amazon: SimHandle, api: httpx.Client) -> None:
    order_id = amazon.new_order(status="Pending")["AmazonOrderId"]
    assert "OrderTotal" not in api.get(f"/orders/v0/orders/{order_id}").json()["payload"]
    [item] = api.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"][:1]
    assert "ItemPrice" not in item and item["QuantityOrdered"] >= 1
    amazon.control("POST", f"orders/{order_id}/authorize", {})
    [item] = api.get(f"/orders/v0/orders/{order_id}/orderItems").json()["payload"]["OrderItems"][:1]
    assert "ItemPrice" in item


def test_unknown_order_and_unknown_path_are_404(api: httpx.Client) -> None:
    assert api.get("/orders/v0/orders/111-0000000-0000000").status_code == 404
    unknown = api.get("/reports/2021-06-30/reports")
    assert unknown.status_code == 404 and errors(unknown)[0]["code"] == "NotFound"


# -- confirmShipment rules --------------------------------------------------------------------------


def package(items: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    detail = {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": "1Z",
        "shipDate": "2026-01-01T00:00:00Z",
        "orderItems": items,
    }
    return {"marketplaceId": MARKET, "packageDetail": detail | changes}


def test_confirm_shipment_rules(amazon: SimHandle, api: httpx.Client) -> None:
    created = amazon.new_order(items=[{"sku": "AMZ-0001", "quantity": 2}])
    order_id, item_id = created["AmazonOrderId"], created["OrderItems"][0]["OrderItemId"]
    path = f"/orders/v0/orders/{order_id}/shipmentConfirmation"
    bad_date = api.post(path, json=package([{"orderItemId": item_id, "quantity": 1}], shipDate="02/21/2022"))
    assert bad_date.status_code == 400 and errors(bad_date)[0]["code"] == "Invalid Input"  # the sandbox's answer
    too_many = api.post(path, json=package([{"orderItemId": item_id, "quantity": 3}]))
    assert too_many.status_code == 400
    other = api.post(path, json=package([{"orderItemId": item_id, "quantity": 1}], carrierCode="Other"))
    assert other.status_code == 400  # carrierName is required with Other
    done = api.post(path, json=package([{"orderItemId": item_id, "quantity": 1}]))
    assert done.status_code == 204 and done.content == b"" and done.headers["x-amzn-RateLimit-Limit"] == "2.0"
    again = api.post(path, json=package([{"orderItemId": item_id, "quantity": 1}]))
    assert again.status_code == 400 and "packageReferenceId" in errors(again)[0]["details"]
    rest = api.post(path, json=package([{"orderItemId": item_id, "quantity": 1}], packageReferenceId="2"))
    assert rest.status_code == 204 and amazon.order(order_id)["OrderStatus"] == "Shipped"
    shipped_again = api.post(path, json=package([{"orderItemId": item_id, "quantity": 1}], packageReferenceId="3"))
    assert shipped_again.status_code == 400


# -- listings and feeds ------------------------------------------------------------------------------


def test_listings_rules(amazon: SimHandle, api: httpx.Client) -> None:
    seller = amazon.sim.config.seller_id
    assert api.get(f"/listings/2021-08-01/items/{seller}").status_code == 400  # marketplaceIds required
    assert (
        api.get(f"/listings/2021-08-01/items/{seller}", params={"marketplaceIds": MARKET, "pageSize": "21"}).status_code
        == 400
    )
    assert api.get("/listings/2021-08-01/items/SOMEONE-ELSE", params={"marketplaceIds": MARKET}).status_code == 403
    assert api.get(f"/listings/2021-08-01/items/{seller}/NOPE", params={"marketplaceIds": MARKET}).status_code == 404
    path = f"/listings/2021-08-01/items/{seller}/AMZ-0001"
    assert api.patch(path, params={"marketplaceIds": MARKET}, json={"patches": []}).status_code == 400
    bad_value = {
        "productType": "PRODUCT",
        "patches": [{"op": "replace", "path": "/attributes/fulfillment_availability", "value": [{"quantity": 3}]}],
    }
    refused = api.patch(path, params={"marketplaceIds": MARKET}, json=bad_value).json()
    assert refused["status"] == "INVALID" and refused["issues"][0]["code"] == "90000900"


def test_presigned_urls_are_checked(amazon: SimHandle, api: httpx.Client) -> None:
    created = api.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
    url = created["url"]
    assert httpx.put(url.replace("X-Amz-Signature=", "X-Amz-Signature=00"), content=b"{}").status_code == 403
    assert httpx.put(url, content=b"{}").status_code == 200
    assert "feedDocumentId" in api.get(f"/feeds/2021-06-30/documents/{created['feedDocumentId']}").json()


def test_feed_moves_through_its_statuses(amazon: SimHandle, api: httpx.Client) -> None:
    amazon.control("POST", "config", {"feed_processing_s": 3600.0})
    document = api.post("/feeds/2021-06-30/documents", json={"contentType": "application/json"}).json()
    spec = {
        "feedType": "JSON_LISTINGS_FEED",
        "marketplaceIds": [MARKET],
        "inputFeedDocumentId": document["feedDocumentId"],
    }
    created = api.post("/feeds/2021-06-30/feeds", json=spec)
    assert created.status_code == 202
    feed = api.get(f"/feeds/2021-06-30/feeds/{created.json()['feedId']}").json()
    assert feed["processingStatus"] == "IN_QUEUE" and feed["feedType"] == "JSON_LISTINGS_FEED"
    assert api.post("/feeds/2021-06-30/feeds", json=spec | {"inputFeedDocumentId": "nope"}).status_code == 400


# -- control API -------------------------------------------------------------------------------------


def test_buyer_and_amazon_activity(amazon: SimHandle) -> None:
    order_id = amazon.new_order(status="Pending")["AmazonOrderId"]
    before = amazon.order(order_id)["LastUpdateDate"]
    assert amazon.control("POST", f"orders/{order_id}/authorize", {})["order"]["OrderStatus"] == "Unshipped"
    edited = amazon.control("POST", f"orders/{order_id}/edit", {"address": {"City": "LEXINGTON"}})["order"]
    assert edited["ShippingAddress"]["City"] == "LEXINGTON" and edited["LastUpdateDate"] >= before
    asked = amazon.control("POST", f"orders/{order_id}/request_cancel", {"reason": "Changed my mind"})["order"]
    assert asked["OrderItems"][0]["BuyerRequestedCancel"] == {
        "IsBuyerRequestedCancel": "true",
        "BuyerCancelReason": "Changed my mind",
    }
    assert amazon.control("POST", f"orders/{order_id}/cancel", {})["order"]["OrderStatus"] == "Canceled"
    shipped = amazon.new_order(status="Shipped")["AmazonOrderId"]
    delivered = amazon.control("POST", f"orders/{shipped}/deliver", {})["order"]
    assert delivered["EasyShipShipmentStatus"] == "Delivered"
    with pytest.raises(httpx.HTTPStatusError):
        amazon.control("POST", f"orders/{shipped}/cancel", {})


def test_control_api_validates_and_reports(amazon: SimHandle) -> None:
    for path, body in (
        ("orders/bulk", {"count": 0}),
        ("config", {"nope": 1}),
        ("config", {"include_pii": "yes"}),
        ("faults", {"kind": "meteor"}),
        ("clock", {"advance_s": -1}),
        ("orders", {"status": "Lost"}),
    ):
        with pytest.raises(httpx.HTTPStatusError):
            amazon.control("POST", path, body)
    amazon.fault("http_500", count=3)
    [rule] = amazon.control("GET", "faults")["faults"]
    amazon.control("DELETE", f"faults/{rule['id']}")
    assert amazon.control("GET", "faults")["faults"] == []
    for _ in range(5):
        amazon.control("POST", "generator/step", {})
    state = amazon.state()
    assert state["orders"] >= 1 and state["listings"] == 12 and state["authorization_revoked"] is False


def test_standalone_app_and_seeded_catalog() -> None:
    app = build_standalone_app(AmazonSimConfig(seed=3))
    assert app is not None
    sim = AmazonSimulator(AmazonSimConfig(seed=3, catalog_size=4))
    assert "NABetaASINB00551Q3CS" in sim.store.listings and len(sim.store.listings) == 4
    sim.bulk_create_orders(50)
    statuses = {order.status for order in sim.store.orders.values()}
    assert {"Unshipped", "Shipped"} <= statuses
    assert all(order.order_id.count("-") == 2 and len(order.order_id) == 19 for order in sim.store.orders.values())


def test_the_generator_runs_in_the_background() -> None:
    with running_amazon(generator_interval_s=0.02) as amazon:
        deadline = time.monotonic() + 10
        while amazon.state()["orders"] < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        state = amazon.state()
        assert state["generator_running"] is True and state["orders"] >= 3
        amazon.control("POST", "config", {"generator_interval_s": None})
        assert amazon.state()["generator_running"] is False

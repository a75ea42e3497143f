"""The MercadoLibre simulator's own contract, over raw HTTP: OAuth, paths, paging, error bodies, rules."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx

import servers
from fenicia.connectors.mercadolibre.simulator import build_standalone_app
from mercadolibre_sim import APP_ID, CLIENT_SECRET, SELLER_ID, MLHandle


def grant(ml: MLHandle, **form: str) -> httpx.Response:
    data = {"client_id": APP_ID, "client_secret": CLIENT_SECRET, **form}
    return ml.http.post("/oauth/token", data=data)


def bearer(ml: MLHandle) -> dict[str, str]:
    answer = grant(ml, grant_type="refresh_token", refresh_token=ml.refresh_token())
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def api(ml: MLHandle, method: str, path: str, headers: dict[str, str], **kw: Any) -> httpx.Response:
    return ml.http.request(method, path, headers=headers, **kw)


def assert_ml_error(answer: httpx.Response, status: int, error: str) -> None:
    body = answer.json()
    assert answer.status_code == status and body["status"] == status and body["error"] == error
    assert set(body) == {"message", "error", "status", "cause"} and body["message"]


# -- oauth ----------------------------------------------------------------------------------------------


def test_refresh_tokens_are_single_use(ml: MLHandle) -> None:
    refresh = ml.refresh_token()
    first = grant(ml, grant_type="refresh_token", refresh_token=refresh)
    body = first.json()
    assert first.status_code == 200 and body["token_type"] == "Bearer" and body["expires_in"] == 21600
    assert body["user_id"] == SELLER_ID and body["refresh_token"] != refresh
    assert body["access_token"].startswith(f"APP_USR-{APP_ID}-")
    assert_ml_error(grant(ml, grant_type="refresh_token", refresh_token=refresh), 400, "invalid_grant")
    assert grant(ml, grant_type="refresh_token", refresh_token=body["refresh_token"]).status_code == 200


def test_reuse_can_be_allowed_by_config(ml: MLHandle) -> None:
    ml.control("POST", "config", {"refresh_token_single_use": False})
    refresh = ml.refresh_token()
    for _ in range(2):
        assert grant(ml, grant_type="refresh_token", refresh_token=refresh).status_code == 200


def test_codes_need_the_redirect_uri_and_work_once(ml: MLHandle) -> None:
    code = ml.control("POST", "oauth/codes")
    assert_ml_error(
        grant(ml, grant_type="authorization_code", code=code["code"], redirect_uri="x"), 400, "invalid_grant"
    )
    ok = grant(ml, grant_type="authorization_code", code=code["code"], redirect_uri=code["redirect_uri"])
    assert ok.status_code == 200
    again = grant(ml, grant_type="authorization_code", code=code["code"], redirect_uri=code["redirect_uri"])
    assert_ml_error(again, 400, "invalid_grant")


def test_token_endpoint_wants_a_form_and_the_app_secret(ml: MLHandle) -> None:
    as_json = ml.http.post("/oauth/token", json={"grant_type": "refresh_token"})
    assert_ml_error(as_json, 400, "invalid_request")
    wrong = ml.http.post("/oauth/token", data={"client_id": APP_ID, "client_secret": "x"})
    assert_ml_error(wrong, 400, "invalid_client")
    assert_ml_error(grant(ml, grant_type="password"), 400, "unsupported_grant_type")


def test_access_tokens_live_six_hours_of_simulated_time(ml: MLHandle) -> None:
    headers = bearer(ml)
    assert api(ml, "GET", "/users/me", headers).json()["id"] == SELLER_ID
    ml.control("POST", "clock", {"advance_s": 21_599})
    assert api(ml, "GET", "/users/me", headers).status_code == 200
    ml.control("POST", "clock", {"advance_s": 2})
    assert_ml_error(api(ml, "GET", "/users/me", headers), 401, "unauthorized")


def test_the_token_must_travel_in_the_header(ml: MLHandle) -> None:
    token = bearer(ml)["Authorization"].split()[1]
    assert api(ml, "GET", "/users/me", {}, params={"access_token": token}).status_code == 401


# -- orders and shipments -------------------------------------------------------------------------------


def test_search_answers_ml_paging_and_validates(ml: MLHandle) -> None:
    headers = bearer(ml)
    ml.sim.bulk_create_orders(7)
    seller = str(SELLER_ID)
    page = api(ml, "GET", "/orders/search", headers, params={"seller": seller, "limit": 5}).json()
    assert page["paging"] == {"total": 7, "offset": 0, "limit": 5} and len(page["results"]) == 5
    assert page["sort"]["id"] == "date_asc" and page["results"][0]["seller"] == {"id": SELLER_ID}
    cases = [
        ({"seller": seller, "limit": 52}, 400, "bad_request"),
        ({"seller": seller, "offset": 10_001}, 400, "bad_request"),
        ({"seller": seller, "sort": "price"}, 400, "bad_request"),
        ({"seller": seller, "order.date_last_updated.from": "yesterday"}, 400, "bad_request"),
        ({"seller": seller, "order.status": "lost"}, 400, "bad_request"),
        ({"seller": "1"}, 403, "forbidden"),
    ]
    for params, status, error in cases:
        assert_ml_error(api(ml, "GET", "/orders/search", headers, params=params), status, error)
    paid = api(ml, "GET", "/orders/search", headers, params={"seller": seller, "order.status": "cancelled"})
    assert paid.json()["paging"]["total"] == 0


def test_shipments_new_and_legacy_formats(ml: MLHandle) -> None:
    headers = bearer(ml)
    bundle = ml.new_order(mode="me1")
    path = f"/shipments/{bundle['shipment']['id']}"
    new = api(ml, "GET", path, headers | {"x-format-new": "true"}).json()
    legacy = api(ml, "GET", path, headers).json()
    assert new["logistic"]["mode"] == "me1" and "order_id" not in new and "destination" in new
    assert legacy["mode"] == "me1" and legacy["order_id"] == bundle["order"]["id"] and "receiver_address" in legacy
    items = api(ml, "GET", f"{path}/items", headers).json()
    assert [entry["order_id"] for entry in items] == [bundle["order"]["id"]]
    assert_ml_error(api(ml, "GET", "/orders/1", headers), 404, "not_found")


def test_seller_notification_rules(ml: MLHandle) -> None:
    headers = bearer(ml)
    me2 = ml.new_order(mode="me2")["shipment"]["id"]
    me1 = ml.new_order(mode="me1")["shipment"]["id"]
    post = f"/shipments/{me1}/seller_notifications"
    assert_ml_error(
        api(ml, "POST", f"/shipments/{me2}/seller_notifications", headers, json={"status": "shipped"}),
        400,
        "invalid_shipping_mode",
    )
    assert api(ml, "POST", post, headers, json={"status": "shipped"}).status_code == 400  # no tracking yet
    assert api(ml, "POST", post, headers, json={"status": "delivered"}).status_code == 400  # not shipped yet
    assert api(ml, "POST", post, headers, json={"status": "shipped", "tracking_number": "T1"}).json() == {
        "status": "OK"
    }
    assert "already" in api(ml, "POST", post, headers, json={"status": "shipped"}).json()["message"]
    assert api(ml, "POST", post, headers, json={"status": "delivered"}).status_code == 200
    assert ml.sim.store.shipments[me1].status == "delivered"


def test_feedback_rules(ml: MLHandle) -> None:
    headers = bearer(ml)
    order_id = ml.new_order(mode="me1")["order"]["id"]
    path = f"/orders/{order_id}/feedback"
    assert api(ml, "POST", path, headers, json={"fulfilled": False, "rating": "neutral"}).status_code == 400
    assert (
        api(
            ml, "POST", path, headers, json={"fulfilled": False, "rating": "positive", "reason": "OUT_OF_STOCK"}
        ).status_code
        == 400
    )
    done = api(ml, "POST", path, headers, json={"fulfilled": False, "rating": "neutral", "reason": "OUT_OF_STOCK"})
    assert done.status_code == 201 and done.json()["fulfilled"] is False
    order = api(ml, "GET", f"/orders/{order_id}", headers).json()
    assert order["status"] == "cancelled" and order["cancel_detail"]["group"] == "seller"
    assert (
        "already"
        in api(
            ml, "POST", path, headers, json={"fulfilled": False, "rating": "neutral", "reason": "OUT_OF_STOCK"}
        ).json()["message"]
    )


# -- items and rate limits -----------------------------------------------------------------------------


def test_items_limits_and_variation_rules(ml: MLHandle) -> None:
    headers = bearer(ml)
    ids = list(ml.sim.store.items)
    assert api(ml, "GET", "/items", headers, params={"ids": ",".join(ids * 3)}).status_code == 400  # > 20
    answer = api(ml, "GET", "/items", headers, params={"ids": f"{ids[0]},MLB0", "attributes": "id,title"}).json()
    assert [entry["code"] for entry in answer] == [200, 404] and set(answer[0]["body"]) == {"id", "title"}
    search = f"/users/{SELLER_ID}/items/search"
    assert api(ml, "GET", search, headers, params={"offset": 990, "limit": 50}).status_code == 400
    assert api(ml, "GET", f"/users/{SELLER_ID + 1}/items/search", headers).status_code == 403
    varied = next(item for item in ml.sim.store.items.values() if item.variations)
    assert api(ml, "PUT", f"/items/{varied.id}", headers, json={"available_quantity": 3}).status_code == 400
    keep = varied.variations[0].id
    put = api(ml, "PUT", f"/items/{varied.id}", headers, json={"variations": [{"id": keep, "available_quantity": 4}]})
    assert [v["id"] for v in put.json()["variations"]] == [keep]  # [U] the others were dropped
    assert put.json()["available_quantity"] == 4


def test_rate_limit_answers_too_many_requests_without_retry_after(ml: MLHandle) -> None:
    headers = bearer(ml)
    ml.control("POST", "config", {"rate_limit_enabled": True, "rate_limit_per_minute": 60, "rate_limit_burst": 2})
    answers = [api(ml, "GET", "/users/me", headers) for _ in range(4)]
    throttled = [a for a in answers if a.status_code == 429]
    assert throttled and all("retry-after" not in a.headers for a in throttled)
    assert_ml_error(throttled[0], 429, "too_many_requests")


# -- control API ----------------------------------------------------------------------------------------


def test_config_changes_are_validated(ml: MLHandle) -> None:
    for change in ({"no_such_field": 1}, {"page_limit_max": "many"}, {"notification_topics": [1]}):
        assert ml.http.post("/_sandbox/config", json=change).status_code == 400
    changed = ml.control("POST", "config", {"page_limit_max": 20, "notification_callback_url": None})
    assert changed["changed"] == ["notification_callback_url", "page_limit_max"]


def test_generator_and_state(ml: MLHandle) -> None:
    did = [ml.control("POST", "generator/step")["did"] for _ in range(12)]
    assert set(did) <= {"create", "edit", "cancel", "ship"} and "create" in did
    state = ml.control("GET", "state")
    assert state["orders"] == did.count("create") and state["seller_id"] == SELLER_ID
    assert {"notifications", "tokens", "rate_limit", "faults"} <= set(state)


def test_unknown_fault_kinds_are_refused(ml: MLHandle) -> None:
    assert ml.http.post("/_sandbox/faults", json={"kind": "meteor"}).status_code == 400
    ml.fault("invalid_grant")
    [rule] = ml.control("GET", "faults")["faults"]
    assert rule["path_contains"] == "/oauth/token"


def test_the_app_serves_the_api_and_the_control_paths() -> None:
    paths = {getattr(route, "path", "") for route in build_standalone_app().routes}
    assert {"/oauth/token", "/orders/search", "/shipments/{shipment_id:int}", "/_sandbox/state"} <= paths


def test_runs_standalone_with_seeded_orders() -> None:
    port = servers.free_port()
    args = [sys.executable, "-m", "fenicia.connectors.mercadolibre.simulator", "--port", str(port), "--orders", "5"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"seller_id={SELLER_ID}" in banner and "refresh_token=" in banner
        state = _wait_for_state(f"http://127.0.0.1:{port}/_sandbox/state")
        assert state["orders"] == 5 and state["rate_limit"]["enabled"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _wait_for_state(url: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        try:
            state: dict[str, Any] = httpx.get(url, timeout=1).json()
            return state
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)

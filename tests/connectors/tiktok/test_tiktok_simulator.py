"""The TikTok Shop simulator itself: its gateway checks, rate limit, paging and control API, over HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok.signing import request_signature
from tiktok_sim import APP_KEY, APP_SECRET, REFRESH_TOKEN, TikTokHandle, running_tiktok

SEARCH = "/order/202309/orders/search"


@pytest.fixture
def tt() -> Iterator[TikTokHandle]:
    with running_tiktok() as handle:
        yield handle


def token(tt: TikTokHandle) -> str:
    params = {"app_key": APP_KEY, "app_secret": APP_SECRET, "refresh_token": REFRESH_TOKEN}
    answer = httpx.get(f"{tt.url}/api/v2/token/refresh", params=params | {"grant_type": "refresh_token"}).json()
    assert answer["code"] == 0 and answer["data"]["access_token_expire_in"] > time.time()
    return str(answer["data"]["access_token"])


def call(
    tt: TikTokHandle,
    method: str,
    path: str,
    body: Any = None,
    *,
    access: str | None = None,
    secret: str = APP_SECRET,
    **query: Any,
) -> httpx.Response:
    params = {"app_key": APP_KEY, "timestamp": int(time.time()), "shop_cipher": tt.sim.config.shop_cipher, **query}
    params = {k: v for k, v in params.items() if v is not None}
    raw = json.dumps(body).encode() if body is not None else None
    params["sign"] = request_signature(path, params, raw if method != "GET" else None, secret)
    headers = {"x-tts-access-token": access or token(tt), "content-type": "application/json"}
    return httpx.request(method, f"{tt.url}{path}", params=params, content=raw, headers=headers)


def test_the_gateway_checks_signature_timestamp_token_cipher_and_path(tt: TikTokHandle) -> None:
    ok = call(tt, "POST", SEARCH, {}, page_size=10)
    assert ok.status_code == 200 and ok.json()["code"] == 0 and "request_id" in ok.json()
    bad_sign = call(tt, "POST", SEARCH, {}, secret="wrong", page_size=10)
    assert (bad_sign.status_code, bad_sign.json()["code"]) == (401, codes.INVALID_SIGN)
    stale = call(tt, "POST", SEARCH, {}, page_size=10, timestamp=int(time.time()) - 3600)
    assert stale.json()["code"] == codes.INVALID_PARAMETER and "timestamp" in stale.json()["message"]
    no_token = call(tt, "POST", SEARCH, {}, access="nope", page_size=10)
    assert (no_token.status_code, no_token.json()["code"]) == (401, codes.INVALID_ACCESS_TOKEN)
    wrong_shop = call(tt, "POST", SEARCH, {}, page_size=10, shop_cipher="other")
    assert wrong_shop.json()["code"] == codes.INVALID_PARAMETER
    unknown = call(tt, "GET", "/order/202309/nothing")
    assert (unknown.status_code, unknown.json()["code"]) == (404, codes.UNKNOWN_PATH)


def test_expired_tokens_answer_the_expired_code(tt: TikTokHandle) -> None:
    access = token(tt)
    assert tt.control("POST", "tokens/expire")["expired"] == 1
    answer = call(tt, "POST", SEARCH, {}, access=access, page_size=10)
    assert (answer.status_code, answer.json()["code"]) == (401, codes.EXPIRED_ACCESS_TOKEN)
    assert tt.control("GET", "tokens")["grants"] == 1


def test_the_rate_limit_answers_the_throttle_code_with_retry_after(tt: TikTokHandle) -> None:
    tt.control("POST", "config", {"rate_limit_enabled": True, "rate_limit_per_s": 0.5, "rate_limit_burst": 2})
    access = token(tt)
    answers = [call(tt, "POST", SEARCH, {}, access=access, page_size=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == codes.TOO_MANY_REQUESTS and float(answers[2].headers["Retry-After"]) > 0
    other_api = call(tt, "GET", "/order/202309/orders", access=access, ids="1")
    assert other_api.status_code == 200  # buckets are per API
    assert tt.control("GET", "state")["throttled"] == 1


def test_search_pages_by_keyset_and_ties_the_token_to_its_filter(tt: TikTokHandle) -> None:
    tt.sim.bulk_create_orders(25)
    access = token(tt)
    seen: list[str] = []
    page_token = None
    while True:
        answer = call(
            tt,
            "POST",
            SEARCH,
            {},
            access=access,
            page_size=10,
            sort_field="update_time",
            sort_order="ASC",
            page_token=page_token,
        ).json()["data"]
        seen += [o["id"] for o in answer["orders"]]
        page_token = answer["next_page_token"] or None
        if page_token is None:
            break
    assert len(seen) == len(set(seen)) == 25
    first = call(tt, "POST", SEARCH, {}, access=access, page_size=10).json()["data"]
    mismatch = call(
        tt, "POST", SEARCH, {"update_time_ge": 1}, access=access, page_size=10, page_token=first["next_page_token"]
    )
    assert mismatch.json()["code"] == codes.INVALID_PARAMETER
    too_big = call(tt, "POST", SEARCH, {}, access=access, page_size=101)
    assert too_big.json()["code"] == codes.INVALID_PARAMETER


def test_control_api_drives_buyers_carriers_and_reports_state(tt: TikTokHandle) -> None:
    sku = next(iter(tt.sim.store.skus.values()))[1]
    order = tt.control("POST", "orders", {"lines": [{"seller_sku": sku.seller_sku, "quantity": 2}]})["order"]
    assert len(order["line_items"]) == 2 and {u["seller_sku"] for u in order["line_items"]} == {sku.seller_sku}
    edited = tt.control("POST", f"orders/{order['id']}/edit", {"recipient_address": {"postal_code": "EC1A 1BB"}})
    assert edited["order"]["recipient_address"]["postal_code"] == "EC1A 1BB"
    assert edited["order"]["update_time"] > order["update_time"]
    requested = tt.control("POST", f"orders/{order['id']}/cancel", {"request_only": True})["order"]
    assert requested["is_buyer_request_cancel"] is True and requested["status"] == "AWAITING_SHIPMENT"
    unpaid = tt.control("POST", "orders", {"status": "UNPAID"})["order"]
    assert "recipient_address" not in unpaid
    paid = tt.control("POST", f"orders/{unpaid['id']}/advance", {"to": "AWAITING_SHIPMENT"})["order"]
    assert paid["status"] == "AWAITING_SHIPMENT" and paid["paid_time"]
    refused = httpx.post(f"{tt.url}/_sandbox/orders/{unpaid['id']}/advance", json={"to": "DELIVERED"})
    assert refused.status_code == 400
    tt.control("POST", "orders/bulk", {"count": 40})
    state = tt.control("GET", "state")
    assert state["orders"] == 42 and sum(state["by_status"].values()) == 42
    assert tt.control("POST", "generator/step")["did"] in ("create", "edit", "cancel")
    before = time.time()
    now = tt.control("POST", "clock", {"advance_s": 3600})["now"]
    assert now >= int(before) + 3600  # the simulator's clock, read after ``before``, an hour ahead
    assert tt.control("POST", "auth_code")["auth_code"].startswith("ROW_")


def test_authorization_code_grant_and_config_validation(tt: TikTokHandle) -> None:
    code = tt.control("POST", "auth_code")["auth_code"]
    params = {"app_key": APP_KEY, "app_secret": APP_SECRET, "auth_code": code, "grant_type": "authorized_code"}
    first = httpx.get(f"{tt.url}/api/v2/token/get", params=params).json()
    again = httpx.get(f"{tt.url}/api/v2/token/get", params=params).json()
    assert first["code"] == 0 and first["data"]["refresh_token"] and again["code"] == codes.INVALID_REFRESH_TOKEN
    log = tt.requests("GET", "/api/v2/token/get")
    assert APP_SECRET not in log[0]["query"] and code not in log[0]["query"]
    bad = httpx.post(f"{tt.url}/_sandbox/config", json={"rate_limit_per_s": "fast"})
    assert bad.status_code == 400
    faults = tt.control("POST", "faults", {"kind": "expire_token", "count": 1})
    assert faults["fault"]["remaining"] == 1
    assert httpx.post(f"{tt.url}/_sandbox/faults", json={"kind": "nonsense"}).status_code == 400
    assert tt.control("DELETE", "faults") == {"faults": []}

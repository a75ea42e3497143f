"""Table tests: Walmart answers and transport failures → Fenicia errors; API grouping; usage headers."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from channel_error_tables import answerer, error_table_tests, transport_failures
from fenicia.connectors.walmart.client import may_resend, retry_wait
from fenicia.connectors.walmart.errors import retry_after_of, to_error, walmart_errors, walmart_message
from fenicia.connectors.walmart.limits import api_of, parse_replenishment, parse_token_count
from fenicia.connectors.walmart.settings import WalmartSettings
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

REQUEST = httpx.Request("GET", "https://marketplace.walmartapis.com/v3/orders")
answer = answerer(REQUEST, none_is_empty=True)


def wrapped(code: str, description: str = "", field: str | None = None) -> dict[str, Any]:
    entry = {"code": code, "description": description, "severity": "ERROR", "category": "DATA"}
    if field:
        entry["field"] = field
    return {"errors": {"error": [entry]}}


STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError]]] = [
    (answer(400, wrapped("INVALID_REQUEST_PARAM.GMP_ORDER_API", "limit must be <= 200", "limit")), ValidationFailed),
    (answer(400, {"errors": [{"code": "MISSING_REQUEST_HEADER", "message": "WM_SVC.NAME"}]}), ValidationFailed),
    (answer(400, wrapped("INVALID_REQUEST_CONTENT.GMP_ORDER_API", "Line 1 already shipped")), ConflictError),
    (
        answer(400, wrapped("INVALID_REQUEST_CONTENT", "quantity 2 exceeds the quantity available to ship")),
        ConflictError,
    ),
    (answer(401, wrapped("UNAUTHORIZED.GMP_GATEWAY_API", "Unauthorized")), AuthError),
    (answer(403, wrapped("FORBIDDEN.GMP_GATEWAY_API", "Forbidden")), AuthError),
    (answer(404, wrapped("CONTENT_NOT_FOUND.GMP_ORDER_API", "No Orders found")), RemoteNotFound),
    (answer(404, wrapped("URI_NOT_FOUND.GMP_GATEWAY_API", "No API here")), ConfigError),
    (answer(405, wrapped("METHOD_NOT_ALLOWED")), ConnectorError),
    (answer(406, wrapped("INVALID_ACCEPT_TYPE")), ConnectorError),
    (answer(409, wrapped("CONFLICT")), ConflictError),
    (answer(413, wrapped("REQUEST_ENTITY_TOO_LARGE")), ValidationFailed),
    (answer(415, wrapped("UNSUPPORTED_MEDIA_TYPE")), ConnectorError),
    (answer(423, wrapped("RESOURCE_IS_LOCKED.GMP_RECEIVER_API")), TransientError),
    (answer(429, wrapped("REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API")), RateLimitedError),
    (answer(500, wrapped("SYSTEM_ERROR.GMP_GATEWAY_API")), TransientError),
    (answer(502, "<html>Bad gateway</html>"), TransientError),
    (answer(503), TransientError),
    (answer(504, wrapped("DOWNSTREAM_SYSTEM_TIME_OUT")), TransientError),
]

EXCEPTION_TABLE = transport_failures(REQUEST)


test_status_maps_to_error, test_exception_maps_to_error = error_table_tests(to_error, STATUS_TABLE, EXCEPTION_TABLE)


def test_both_error_body_shapes_are_read() -> None:
    list_shape = {"errors": [{"code": "A", "message": "first"}, {"code": "B", "description": "second"}]}
    assert [e["code"] for e in walmart_errors(list_shape)] == ["A", "B"]
    assert [e["code"] for e in walmart_errors(wrapped("C"))] == ["C"]
    assert walmart_errors({"errors": {"error": {"code": "D"}}}) == [{"code": "D"}]
    assert walmart_errors("nope") == [] and walmart_errors({"other": 1}) == []
    text = walmart_message(answer(400, wrapped("INVALID_REQUEST_PARAM", "bad limit", "limit")))
    assert text == "INVALID_REQUEST_PARAM: bad limit (field limit)"
    assert walmart_message(answer(503)) == "Service Unavailable"


def test_auth_errors_say_what_to_do() -> None:
    expired = to_error(answer(401, wrapped("UNAUTHORIZED.GMP_GATEWAY_API")))
    forbidden = to_error(answer(403, wrapped("FORBIDDEN.GMP_GATEWAY_API")))
    assert expired.resolution == "Reconnect the channel in Settings."
    assert "Seller Center" in forbidden.resolution


def test_retry_after_from_header_or_replenishment_time() -> None:
    assert retry_after_of(answer(429, headers={"Retry-After": "3"})) == 3.0
    soon = str(int((time.time() + 30) * 1000))
    wait = retry_after_of(answer(429, headers={"x-next-replenishment-time": soon}))
    assert wait is not None and 0 < wait <= 30
    assert retry_after_of(answer(429)) is None
    limited = to_error(answer(429, wrapped("REQUEST_THRESHOLD_VIOLATED"), {"x-next-replenishment-time": soon}))
    assert isinstance(limited, RateLimitedError) and limited.retry_after is not None


@pytest.mark.parametrize(
    ("method", "path", "api"),
    [
        ("POST", "/v3/token", "token"),
        ("GET", "/v3/token/detail", "token_detail"),
        ("GET", "/v3/orders", "orders_list"),
        ("GET", "/v3/orders?limit=10&hasMoreElements=true", "orders_list"),
        ("GET", "/v3/orders/released", "orders_list"),
        ("GET", "/v3/orders/1796277083022", "order_get"),
        ("POST", "/v3/orders/1796277083022/acknowledge", "order_acknowledge"),
        ("POST", "/v3/orders/1796277083022/shipping", "order_shipping"),
        ("POST", "/v3/orders/1796277083022/cancel", "order_cancel"),
        ("POST", "/v3/orders/1796277083022/refund", "order_refund"),
        ("GET", "/v3/inventory", "inventory_get"),
        ("PUT", "/v3/inventory", "inventory_update"),
        ("POST", "/v3/feeds", "feed_submit"),
        ("GET", "/v3/feeds/ABC@AQMBAQA", "feed_status"),
        ("GET", "/v3/items", "items_list"),
        ("GET", "/v3/prices", "other"),
    ],
)
def test_api_grouping(method: str, path: str, api: str) -> None:
    assert api_of(method, path) == api


def test_usage_header_parsing() -> None:
    assert parse_token_count("7") == 7 and parse_token_count("x") is None and parse_token_count(None) is None
    assert parse_replenishment("1700000000000") == 1_700_000_000.0
    assert parse_replenishment("1700000000") == 1_700_000_000.0
    assert parse_replenishment("2023-11-14T22:13:20Z") == 1_700_000_000.0
    assert parse_replenishment("soon") is None and parse_replenishment("") is None


def test_retry_policy() -> None:
    settings = WalmartSettings(max_retries_in_call=2, retry_base_wait_seconds=0.5, retry_wait_cap_seconds=5)
    transient = TransientError("x")
    assert retry_wait(transient, 0, settings) == 0.5 and retry_wait(transient, 1, settings) == 1.0
    assert retry_wait(transient, 2, settings) is None
    assert retry_wait(RateLimitedError("x", retry_after=4), 0, settings) == 4
    assert retry_wait(RateLimitedError("x", retry_after=60), 0, settings) is None  # the engine waits instead
    assert retry_wait(AuthError("x"), 0, settings) is None
    assert may_resend(answer(500), idempotent=True) and not may_resend(answer(500), idempotent=False)
    assert may_resend(answer(429), idempotent=False) and may_resend(answer(503), idempotent=False)
    assert not may_resend(httpx.ReadTimeout("t", request=REQUEST), idempotent=False)
    assert may_resend(httpx.ConnectError("refused", request=REQUEST), idempotent=False)

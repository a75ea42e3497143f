"""TikTok Shop request/webhook signatures (known vectors) and the one table of answers → Fenicia errors."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from fenicia.connectors.tiktok import errors as codes
from fenicia.connectors.tiktok.client import _may_resend, pick_cipher
from fenicia.connectors.tiktok.errors import TikTokAnswer, decode_answer, is_expired_token, to_error
from fenicia.connectors.tiktok.settings import TikTokSettings
from fenicia.connectors.tiktok.signing import request_signature, signatures_match, webhook_signature
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

SETTINGS = TikTokSettings()
REQUEST = httpx.Request("GET", "https://open-api.tiktokglobalshop.com/order/202309/orders")


def test_request_signature_matches_the_known_vector_of_the_php_client() -> None:
    # ecomphp-tts tests/ClientTest.php::testPrepareSignature: app_secret "app_secret", GET /test-api, foo=bar
    assert request_signature("/test-api", {"foo": "bar"}, None, "app_secret") == (
        "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f"
    )


def test_request_signature_sorts_params_skips_sign_token_and_lists_and_appends_the_body() -> None:
    params = {"timestamp": "1700000000", "app_key": "k", "sign": "x", "access_token": "t", "ids": ["1", "2"]}
    body = b'{"update_time_ge":1}'
    base = b"/order/202309/orders/search" + b"app_keyktimestamp1700000000" + body
    expected = hmac.new(b"s3cret", b"s3cret" + base + b"s3cret", hashlib.sha256).hexdigest()
    assert request_signature("/order/202309/orders/search", params, body, "s3cret") == expected
    assert request_signature("/order/202309/orders/search", params, None, "s3cret") != expected


def test_webhook_signature_is_hex_hmac_of_app_key_plus_body() -> None:
    body = b'{"type":1,"shop_id":"1","timestamp":1,"data":{"order_id":"9"}}'
    expected = hmac.new(b"fake_app_secret", b"fake_app_key" + body, hashlib.sha256).hexdigest()
    assert webhook_signature("fake_app_key", body, "fake_app_secret") == expected
    assert signatures_match(expected, expected.upper() + " ")
    assert not signatures_match(expected, expected[:-1] + ("0" if expected[-1] != "0" else "1"))


def answer(status: int, code: int | None, message: str = "", retry_after: float | None = None) -> TikTokAnswer:
    return TikTokAnswer(status, code, message, retry_after=retry_after)


ANSWER_TABLE: list[tuple[TikTokAnswer, type[FeniciaError]]] = [
    (answer(429, codes.TOO_MANY_REQUESTS, "Too many requests", 1.5), RateLimitedError),
    (answer(200, codes.TOO_MANY_REQUESTS, "Too many requests"), RateLimitedError),
    (answer(429, None, "Too Many Requests"), RateLimitedError),
    (answer(401, codes.EXPIRED_ACCESS_TOKEN, "Access token is expired"), AuthError),
    (answer(200, codes.INVALID_ACCESS_TOKEN, "Invalid credentials"), AuthError),
    (answer(401, 36004004, "expired"), AuthError),
    (answer(403, codes.MISSING_SCOPE, "Access denied"), AuthError),
    (answer(401, codes.INVALID_SIGN, "The 'sign' query parameter is invalid"), AuthError),
    (answer(200, codes.INVALID_REFRESH_TOKEN, "refresh_token is invalid"), AuthError),
    (answer(200, 105999, "some other authorization problem"), AuthError),
    (answer(200, 36004999, "some other token problem"), AuthError),
    (answer(500, codes.INTERNAL_ERROR, "Internal error"), TransientError),
    (answer(200, codes.INTERNAL_ERROR, "Internal error"), TransientError),
    (answer(400, codes.INVALID_PARAMETER, "Invalid timestamp"), ValidationFailed),
    (answer(404, codes.UNKNOWN_PATH, "Invalid path"), ConfigError),
    (answer(200, codes.ORDER_NOT_FOUND, "Order does not exist"), RemoteNotFound),
    (answer(200, codes.PACKAGE_NOT_FOUND, "Package does not exist"), RemoteNotFound),
    (answer(200, codes.PRODUCT_NOT_FOUND, "Product does not exist"), RemoteNotFound),
    (answer(200, codes.ORDER_STATUS_FORBIDS, "status does not allow"), ConflictError),
    (answer(200, codes.PACKAGE_ALREADY_SHIPPED, "already shipped"), ConflictError),
    (answer(200, codes.LINE_ITEMS_NOT_SHIPPABLE, "cannot ship"), ConflictError),
    (answer(200, codes.TRACKING_NOT_UPDATABLE, "cannot update"), ConflictError),
    (answer(200, codes.CANCEL_NOT_ALLOWED, "cannot cancel"), ConflictError),
    (answer(200, codes.SKU_NOT_LIVE, "not live"), ConflictError),
    (answer(200, codes.INVALID_SHIPPING_PROVIDER, "bad provider"), ValidationFailed),
    (answer(200, codes.INVALID_CANCEL_REASON, "bad reason"), ValidationFailed),
    (answer(200, codes.INVALID_QUANTITY, "bad quantity"), ValidationFailed),
    (answer(502, None, "Bad Gateway"), TransientError),
    (answer(503, None, "Service Unavailable"), TransientError),
    (answer(504, None, ""), TransientError),
    (answer(401, None, "Unauthorized"), AuthError),
    (answer(403, None, "Forbidden"), AuthError),
    (answer(404, None, "Not Found"), RemoteNotFound),
    (answer(400, None, "Bad Request"), ValidationFailed),
    (answer(200, 98765432, "an undocumented business error"), ConnectorError),
]


@pytest.mark.parametrize(("outcome", "expected"), ANSWER_TABLE)
def test_answer_table(outcome: TikTokAnswer, expected: type[FeniciaError]) -> None:
    error = to_error(outcome, SETTINGS)
    assert type(error) is expected
    assert error.message and error.resolution is not None


EXCEPTION_TABLE: list[tuple[Exception, type[FeniciaError]]] = [
    (httpx.ConnectTimeout("timed out", request=REQUEST), TransientError),
    (httpx.ReadTimeout("timed out", request=REQUEST), TransientError),
    (httpx.ConnectError("refused", request=REQUEST), TransientError),
    (httpx.RemoteProtocolError("closed", request=REQUEST), TransientError),
    (RuntimeError("bug"), ConnectorError),
]


@pytest.mark.parametrize(("exc", "expected"), EXCEPTION_TABLE)
def test_exception_table(exc: Exception, expected: type[FeniciaError]) -> None:
    assert type(to_error(exc, SETTINGS)) is expected


def test_throttle_keeps_retry_after_and_expired_codes_are_a_setting() -> None:
    throttled = to_error(answer(429, codes.TOO_MANY_REQUESTS, "slow down", 2.5), SETTINGS)
    assert isinstance(throttled, RateLimitedError) and throttled.retry_after == 2.5
    expired = answer(200, 105002, "expired")
    assert is_expired_token(expired, SETTINGS)
    other = TikTokSettings(expired_token_codes=(999,), throttle_codes=(36009002, 12345))
    assert not is_expired_token(expired, other) and is_expired_token(answer(200, 999, "x"), other)
    assert isinstance(to_error(answer(200, 12345, "busy"), other), RateLimitedError)
    assert to_error(expired, SETTINGS).details.get("expired") is True


def test_decode_reads_the_envelope_and_survives_html() -> None:
    json_answer = httpx.Response(
        401,
        json={"code": 106001, "message": "bad sign", "request_id": "R1", "data": None},
        headers={"Retry-After": "3"},
        request=REQUEST,
    )
    decoded = decode_answer(json_answer)
    assert (decoded.status, decoded.code, decoded.request_id, decoded.retry_after) == (401, 106001, "R1", 3.0)
    assert not decoded.ok
    html = decode_answer(httpx.Response(502, text="<html>bad gateway</html>", request=REQUEST))
    assert html.code is None and html.status == 502
    ok = decode_answer(httpx.Response(200, json={"code": 0, "message": "Success", "data": {"a": 1}}, request=REQUEST))
    assert ok.ok and ok.data == {"a": 1}


def test_a_write_is_resent_only_when_tiktok_surely_did_not_act() -> None:
    assert _may_resend(answer(429, codes.TOO_MANY_REQUESTS), False, SETTINGS)
    assert _may_resend(answer(200, codes.TOO_MANY_REQUESTS), False, SETTINGS)
    assert _may_resend(answer(503, None), False, SETTINGS)
    assert not _may_resend(answer(500, codes.INTERNAL_ERROR), False, SETTINGS)
    assert _may_resend(answer(500, codes.INTERNAL_ERROR), True, SETTINGS)
    assert _may_resend(httpx.ConnectError("refused", request=REQUEST), False, SETTINGS)
    assert not _may_resend(httpx.ReadTimeout("late", request=REQUEST), False, SETTINGS)
    assert _may_resend(httpx.ReadTimeout("late", request=REQUEST), True, SETTINGS)


def test_shop_cipher_is_picked_by_shop_id() -> None:
    shops = {"shops": [{"id": "1", "cipher": "C1"}, {"id": "2", "cipher": "C2"}]}
    assert pick_cipher(shops, None) == "C1"
    assert pick_cipher(shops, "2") == "C2"
    with pytest.raises(ConfigError):
        pick_cipher(shops, "3")
    with pytest.raises(ConfigError):
        pick_cipher({"shops": []}, None)

"""Table test of the one mapping of Shopify answers and transport failures to Fenicia errors."""

from __future__ import annotations

import httpx
import pytest

from channel_error_tables import answerer, error_table_tests, transport_failures
from fenicia.connectors.shopify.client import may_resend, retry_wait, to_error
from fenicia.connectors.shopify.settings import ShopifySettings
from fenicia.core.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    FeniciaError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

REQUEST = httpx.Request("GET", "https://demo.myshopify.com/admin/api/2024-04/orders.json")
answer = answerer(REQUEST)


STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError]]] = [
    (
        answer(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}),
        AuthError,
    ),
    (answer(403, {"errors": "[API] This action requires merchant approval for write_orders scope."}), AuthError),
    (answer(403, "<html>Forbidden</html>"), AuthError),
    (answer(404, {"errors": "Not Found"}), RemoteNotFound),
    (answer(410, {"errors": "Gone"}), RemoteNotFound),
    (answer(400, {"errors": {"page_info": ["Invalid value."]}}), ValidationFailed),
    (answer(422, {"errors": {"reason": ["is not included in the list"]}}), ValidationFailed),
    (answer(422, {"errors": ["Invalid fulfillment order line item quantity requested."]}), ValidationFailed),
    (answer(422, {"errors": ["Order has already been cancelled"]}), ConflictError),
    (answer(422, {"errors": ["Cannot cancel an order that has fulfillments"]}), ConflictError),
    (answer(422, {"errors": {"address": ["for this topic has already been taken"]}}), ConflictError),
    (answer(409, {"errors": "Conflict"}), ConflictError),
    (answer(429, {"errors": "Exceeded 2 calls per second for api client."}, {"Retry-After": "2.0"}), RateLimitedError),
    (answer(500, {"errors": "Internal Server Error"}), TransientError),
    (answer(502, "<html>Bad gateway</html>"), TransientError),
    (answer(503, {"errors": "Unavailable Shop"}), TransientError),
    (answer(504, ""), TransientError),
    (answer(402, {"errors": "Unavailable Shop"}), ConnectorError),
    (answer(423, {"errors": "Locked"}), ConnectorError),
]

EXCEPTION_TABLE = transport_failures(REQUEST)


test_status_maps_to_error, test_exception_maps_to_error = error_table_tests(
    to_error, STATUS_TABLE, EXCEPTION_TABLE, with_resolution=False
)


def test_401_message_and_resolution() -> None:
    error = to_error(answer(401, {"errors": "[API] Invalid API key or access token"}))
    assert error.message == "Shopify rejected the access token"
    assert error.resolution == "Reconnect the channel in Settings."


def test_403_names_the_missing_scope() -> None:
    error = to_error(answer(403, {"errors": "[API] This action requires merchant approval for read_orders scope."}))
    assert "read_orders" in error.message
    assert "read_orders" in error.resolution
    assert error.details["scope"] == "read_orders"


def test_429_carries_retry_after() -> None:
    error = to_error(answer(429, {"errors": "Exceeded"}, {"Retry-After": "2.5"}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 2.5
    no_header = to_error(answer(429, {"errors": "Exceeded"}))
    assert isinstance(no_header, RateLimitedError) and no_header.retry_after is None


def test_422_keeps_shopifys_message() -> None:
    error = to_error(answer(422, {"errors": {"tracking_number": ["is invalid"], "base": ["Bad"]}}))
    assert error.message == "Shopify rejected the request: tracking_number is invalid; base Bad"


def test_timeout_message_mentions_no_url_secret() -> None:
    error = to_error(httpx.ReadTimeout("timed out", request=REQUEST))
    assert "did not answer in time" in error.message


SETTINGS = ShopifySettings(shop_url="https://demo.myshopify.com", retry_wait_cap_seconds=10, retry_base_wait_seconds=1)


@pytest.mark.parametrize(
    ("error", "attempt", "expected"),
    [
        (RateLimitedError("x", retry_after=2.0), 0, 2.0),
        (RateLimitedError("x", retry_after=11.0), 0, None),  # beyond the cap: back to the engine
        (RateLimitedError("x"), 0, 0.5),  # one leak at 2 calls/s
        (RateLimitedError("x", retry_after=1.0), 2, None),  # max_retries_in_call reached
        (TransientError("x"), 0, 1.0),
        (TransientError("x"), 1, 2.0),
        (TransientError("x", retry_after=3.0), 0, 3.0),
        (AuthError("x"), 0, None),
        (ValidationFailed("x"), 0, None),
    ],
)
def test_retry_wait(error: FeniciaError, attempt: int, expected: float | None) -> None:
    assert retry_wait(error, attempt, SETTINGS) == expected


@pytest.mark.parametrize(
    ("outcome", "idempotent", "expected"),
    [
        (answer(500), True, True),
        (answer(500), False, False),  # the POST may have been carried out
        (answer(503), False, True),
        (answer(429), False, True),
        (answer(404), True, False),
        (httpx.ReadTimeout("t", request=REQUEST), True, True),
        (httpx.ReadTimeout("t", request=REQUEST), False, False),
        (httpx.ConnectError("refused", request=REQUEST), False, True),
    ],
)
def test_may_resend(outcome: httpx.Response | Exception, idempotent: bool, expected: bool) -> None:
    assert may_resend(outcome, idempotent) is expected

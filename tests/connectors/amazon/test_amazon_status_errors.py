"""The one status → error table of the Amazon connector (``client.to_error``, ``auth.lwa_error``), resend rules
and the pacer's arithmetic."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from fenicia.connectors.amazon.auth import lwa_error
from fenicia.connectors.amazon.client import amazon_message, may_resend, rate_limit_of, retry_after_of, to_error
from fenicia.connectors.amazon.limits import UsagePlan
from fenicia.connectors.amazon.pacing import OperationPacer
from fenicia.core.errors import (
    AuthError,
    ConflictError,
    ConnectorError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    ValidationFailed,
)

REQUEST = httpx.Request("GET", "https://sellingpartnerapi-na.amazon.com/orders/v0/orders")


def answer(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers, request=REQUEST)


def error_list(code: str, message: str, details: str = "") -> dict[str, Any]:
    return {"errors": [{"code": code, "message": message, "details": details}]}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, error_list("InvalidInput", "Invalid Input", "MarketplaceIds is required."), ValidationFailed),
        (401, error_list("Unauthorized", "Access to requested resource is denied."), AuthError),
        (403, error_list("Unauthorized", "Access to requested resource is denied."), AuthError),
        (403, error_list("MissingAuthenticationToken", "Access to requested resource is denied."), AuthError),
        (404, error_list("NotFound", "The requested resource does not exist."), RemoteNotFound),
        (409, error_list("Conflict", "The order is being changed."), ConflictError),
        (413, error_list("RequestTooLarge", "Too large"), ValidationFailed),
        (415, error_list("UnsupportedMediaType", "Bad content type"), ValidationFailed),
        (422, None, ValidationFailed),
        (429, error_list("QuotaExceeded", "You exceeded your quota for the requested resource."), RateLimitedError),
        (500, error_list("InternalFailure", "We encountered an internal error."), TransientError),
        (502, None, TransientError),
        (503, error_list("ServiceUnavailable", "Temporary overloading or maintenance of the server."), TransientError),
        (504, None, TransientError),
        (418, {"errors": "teapot"}, ConnectorError),
    ],
)
def test_status_table(status: int, body: Any, expected: type[Exception]) -> None:
    error = to_error(answer(status, body), "getOrders")
    assert type(error) is expected
    assert error.message and error.resolution
    if expected is AuthError:
        assert error.resolution == "Reconnect the channel in Settings." and "getOrders" in error.message


def test_messages_quote_amazons_text_not_secrets() -> None:
    error = to_error(
        answer(400, error_list("InvalidInput", "Invalid Input", "CreatedBefore is too late.")), "getOrders"
    )
    assert "Invalid Input - CreatedBefore is too late." in error.message
    assert amazon_message(answer(400, {"unexpected": True})) == "Bad Request"
    assert amazon_message(answer(500)) == "Internal Server Error"


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (httpx.ReadTimeout("slow", request=REQUEST), TransientError),
        (httpx.ConnectError("refused", request=REQUEST), TransientError),
        (httpx.RemoteProtocolError("bad", request=REQUEST), TransientError),
        (ValueError("bug"), ConnectorError),
    ],
)
def test_transport_failures(exception: Exception, expected: type[Exception]) -> None:
    assert type(to_error(exception)) is expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error": "invalid_grant", "error_description": "The request has an invalid grant"}, AuthError),
        (401, {"error": "invalid_client", "error_description": "Client authentication failed"}, AuthError),
        (400, {"error": "unsupported_grant_type"}, AuthError),
        (429, {"error": "slow_down"}, RateLimitedError),
        (500, None, TransientError),
        (503, "not json", TransientError),
    ],
)
def test_lwa_error_table(status: int, body: Any, expected: type[Exception]) -> None:
    error = lwa_error(answer(status, body))
    assert type(error) is expected
    if expected is AuthError:
        assert error.resolution == "Reconnect the channel in Settings."


@pytest.mark.parametrize(
    ("outcome", "idempotent", "expected"),
    [
        (answer(429), False, True),
        (answer(503), False, True),
        (answer(500), False, False),
        (answer(500), True, True),
        (answer(400), True, False),
        (httpx.ConnectError("refused", request=REQUEST), False, True),
        (httpx.ReadTimeout("slow", request=REQUEST), False, False),
        (httpx.ReadTimeout("slow", request=REQUEST), True, True),
    ],
)
def test_what_may_be_resent(outcome: httpx.Response | Exception, idempotent: bool, expected: bool) -> None:
    assert may_resend(outcome, idempotent) is expected


def test_rate_and_retry_after_headers() -> None:
    assert rate_limit_of(answer(200, {}, {"x-amzn-RateLimit-Limit": "0.0167"})) == 0.0167
    assert rate_limit_of(answer(200, {}, {"x-amzn-RateLimit-Limit": "2.0"})) == 2.0
    assert rate_limit_of(answer(200, {}, {"x-amzn-RateLimit-Limit": "fast"})) is None
    assert rate_limit_of(answer(200, {})) is None
    assert retry_after_of(answer(429, {}, {"Retry-After": "3"})) == 3.0
    assert retry_after_of(answer(429, {})) is None


# -- the pacer's model ------------------------------------------------------------------------------


def test_a_full_bucket_lets_the_burst_through_then_spaces_calls() -> None:
    pacer = OperationPacer(UsagePlan(rate_per_s=2.0, burst=3), safety=1.0)
    first_wait, opener = pacer.reserve()
    assert (first_wait, opener) == (0.0, True)
    pacer.opened()
    waits = [pacer.reserve()[0] for _ in range(4)]
    assert waits[:2] == [0.0, 0.0]  # the rest of the burst
    assert 0.4 < waits[2] <= 0.5 and 0.9 < waits[3] <= 1.0  # then one token every 1/rate


def test_safety_slows_the_model_below_the_plan() -> None:
    pacer = OperationPacer(UsagePlan(rate_per_s=10.0, burst=1), safety=0.5)
    pacer.reserve()
    pacer.opened()
    assert 0.19 < pacer.reserve()[0] <= 0.2


def test_a_429_empties_the_model_and_honours_retry_after() -> None:
    pacer = OperationPacer(UsagePlan(rate_per_s=1.0, burst=10), safety=1.0)
    assert 0.9 < pacer.throttled() <= 1.0
    assert 4.9 < pacer.throttled(retry_after=5.0) <= 5.0


def test_the_reported_rate_is_adopted_and_the_burst_kept() -> None:
    pacer = OperationPacer(UsagePlan(rate_per_s=0.0167, burst=20), safety=1.0)
    pacer.adopt_rate(2.0)
    assert pacer.plan == UsagePlan(2.0, 20)

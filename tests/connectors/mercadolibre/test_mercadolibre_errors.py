"""Table test of the one mapping of MercadoLibre answers and transport failures to Fenicia errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from channel_error_tables import answerer, error_table_tests, transport_failures
from fenicia.connectors.mercadolibre.client import may_resend, ml_message, retry_wait, to_error
from fenicia.connectors.mercadolibre.settings import MercadoLibreSettings
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

REQUEST = httpx.Request("GET", "https://api.mercadolibre.com/orders/2000003508419013")
answer = answerer(REQUEST)


def ml(status: int, message: str, error: str, cause: list[Any] | None = None) -> dict[str, Any]:
    return {"message": message, "error": error, "status": status, "cause": cause or []}


# Bodies from reference/channels.md §3.6-3.7 (ML's errors page and answers seen in the wild).
STATUS_TABLE: list[tuple[httpx.Response, type[FeniciaError]]] = [
    (answer(400, ml(400, "Invalid sort", "bad_request_error")), ValidationFailed),
    (
        answer(400, ml(400, "reason is required", "business_logic_error", [{"code": "reason.invalid"}])),
        ValidationFailed,
    ),
    (answer(400, ml(400, "Feedback already exists for order 1", "bad_request")), ConflictError),
    (answer(400, ml(400, "Shipment 1: operation not allowed in status cancelled", "bad_request")), ConflictError),
    (answer(401, ml(401, "user not authorized", "unauthorized_request_error")), AuthError),
    (answer(401, {"message": "invalid_token", "cause": [], "error": "not_found", "status": 401}), AuthError),
    (answer(401, {"code": "unauthorized", "message": "invalid access token"}), AuthError),
    (answer(403, ml(403, "You don't have permission to access the resource", "forbidden_error")), AuthError),
    (answer(403, ml(403, "forbidden", "forbidden")), AuthError),
    (answer(404, ml(404, "Resource not found", "business_logic_error")), RemoteNotFound),
    (answer(409, ml(409, "Conflict", "conflict")), ConflictError),
    (answer(423, ml(423, "Resource locked", "locked")), TransientError),
    (answer(429, ml(429, "Too Many Requests", "too_many_requests")), RateLimitedError),
    (answer(500, ml(500, "Internal server error", "internal_server_error")), TransientError),
    (answer(502, ml(502, "Bad gateway", "bad_gateway")), TransientError),
    (answer(503, ml(503, "Service unavailable", "service_not_available")), TransientError),
    (answer(504, ml(504, "Gateway timeout", "gateway_timeout")), TransientError),
    (answer(502, "<html>Bad gateway</html>"), TransientError),
    (answer(402, ml(402, "Payment required", "payment_required")), ConnectorError),
]

EXCEPTION_TABLE = transport_failures(REQUEST)


test_status_maps_to_error, test_exception_maps_to_error = error_table_tests(to_error, STATUS_TABLE, EXCEPTION_TABLE)


def test_message_joins_the_causes() -> None:
    response = answer(400, ml(400, "Validation error", "validation_error", [{"code": "x", "message": "price is bad"}]))
    assert ml_message(response) == "Validation error; price is bad"
    assert ml_message(answer(500, "<html>oops</html>")) == "Internal Server Error"


def test_429_without_retry_after_waits_the_configured_time() -> None:
    settings = MercadoLibreSettings(seller_id=1, rate_limit_wait_seconds=0.7, retry_wait_cap_seconds=5)
    error = to_error(answer(429, ml(429, "Too Many Requests", "too_many_requests")))
    assert isinstance(error, RateLimitedError) and error.retry_after is None
    assert retry_wait(error, 0, settings) == 0.7
    with_header = to_error(answer(429, ml(429, "Too Many Requests", "too_many_requests"), {"Retry-After": "3"}))
    assert retry_wait(with_header, 0, settings) == 3.0
    assert retry_wait(with_header, settings.max_retries_in_call, settings) is None


def test_waits_beyond_the_cap_go_back_to_the_engine() -> None:
    settings = MercadoLibreSettings(seller_id=1, retry_wait_cap_seconds=1)
    error = to_error(answer(503, ml(503, "down", "service_not_available"), {"Retry-After": "30"}))
    assert retry_wait(error, 0, settings) is None
    assert retry_wait(to_error(answer(400, ml(400, "bad", "bad_request"))), 0, settings) is None


@pytest.mark.parametrize(
    ("outcome", "idempotent", "expected"),
    [
        (answer(500), True, True),
        (answer(500), False, False),  # a POST answered 500 may have been carried out
        (answer(429), False, True),
        (answer(503), False, True),
        (answer(400), True, False),
        (httpx.ConnectError("refused", request=REQUEST), False, True),
        (httpx.ReadTimeout("slow", request=REQUEST), False, False),
        (httpx.ReadTimeout("slow", request=REQUEST), True, True),
    ],
)
def test_only_safe_requests_are_resent(outcome: httpx.Response | Exception, idempotent: bool, expected: bool) -> None:
    assert may_resend(outcome, idempotent) is expected

"""The MercadoLibre transport against the simulator: 429 honoured, retries, timeouts, pacing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import structlog.testing

from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.core.errors import AuthError, RateLimitedError, TransientError
from mercadolibre_sim import MLHandle

Factory = Callable[..., MercadoLibreConnector]


def order_id(ml: MLHandle) -> str:
    return str(ml.new_order()["order"]["id"])


async def test_429_is_honoured_by_waiting_then_retried_once(ml: MLHandle, make: Factory) -> None:
    connector = make(rate_limit_wait_seconds=0.05)
    external_id = order_id(ml)
    await connector.test_connection()
    ml.fault("http_429", count=1, path_contains="/orders/")
    with structlog.testing.capture_logs() as logs:
        assert (await connector.get_order(external_id)).external_id == external_id
    assert [r["status"] for r in ml.requests("GET", f"/orders/{external_id}")] == [429, 200]
    retries = [entry for entry in logs if entry["event"] == "mercadolibre.retry"]
    assert [(entry["error"], entry["wait_s"]) for entry in retries] == [("rate_limited", 0.05)]
    [throttled] = [r for r in ml.requests("GET", f"/orders/{external_id}") if r["status"] == 429]
    assert throttled["fault"] == "http_429"


async def test_429_retry_after_header_is_used_when_ml_sends_one(ml: MLHandle, make: Factory) -> None:
    ml.control("POST", "config", {"retry_after_header_s": 0.03})
    connector = make(rate_limit_wait_seconds=0.15)
    external_id = order_id(ml)
    ml.fault("http_429", count=1, path_contains="/orders/")
    with structlog.testing.capture_logs() as logs:
        await connector.get_order(external_id)
    assert [entry["wait_s"] for entry in logs if entry["event"] == "mercadolibre.retry"] == [0.03]


async def test_429_beyond_the_cap_goes_to_the_engine_without_more_calls(ml: MLHandle, make: Factory) -> None:
    connector = make(rate_limit_wait_seconds=5.0, retry_wait_cap_seconds=1.0)
    external_id = order_id(ml)
    await connector.test_connection()
    ml.fault("http_429", count=None, path_contains="/orders/")
    with pytest.raises(RateLimitedError) as caught:
        await connector.get_order(external_id)
    assert caught.value.retry_after == 5.0
    assert len(ml.requests("GET", f"/orders/{external_id}")) == 1


async def test_5xx_is_retried_then_transient(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    external_id = order_id(ml)
    ml.fault("http_500", count=None, path_contains="/orders/")
    with pytest.raises(TransientError) as caught:
        await meli.get_order(external_id)
    assert type(caught.value) is TransientError
    assert [r["status"] for r in ml.requests("GET", f"/orders/{external_id}")] == [500, 500]


async def test_503_once_is_retried_transparently(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    external_id = order_id(ml)
    ml.fault("http_503", count=1, path_contains="/orders/")
    assert (await meli.get_order(external_id)).external_id == external_id


async def test_timeout_is_transient(ml: MLHandle, make: Factory) -> None:
    external_id = order_id(ml)
    connector = make(timeout_seconds=0.15, max_retries_in_call=0)
    await connector.test_connection()
    ml.fault("timeout", seconds=0.5, path_contains="/orders/")
    with pytest.raises(TransientError) as caught:
        await connector.get_order(external_id)
    assert "did not answer in time" in caught.value.message


async def test_forbidden_is_an_auth_error(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    external_id = order_id(ml)
    ml.fault("forbidden", count=1, path_contains="/orders/")
    with pytest.raises(AuthError):
        await meli.get_order(external_id)


async def test_token_endpoint_outage_is_transient(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    ml.fault("http_503", count=1, path_contains="/oauth/token")
    with pytest.raises(TransientError):
        await meli.test_connection()
    assert await meli.test_connection() == ml.sim.config.seller_nickname  # the refresh token was not spent


async def test_pacing_keeps_under_the_platform_limit(ml: MLHandle, make: Factory) -> None:
    ml.control("POST", "config", {"rate_limit_enabled": True, "rate_limit_per_minute": 3000, "rate_limit_burst": 3})
    connector = make(rate_limit_per_minute=3000, pacing_fraction=0.85)
    external_id = order_id(ml)
    for _ in range(25):
        await connector.get_order(external_id)
    statuses = {r["status"] for r in ml.requests("GET", "/")}
    assert statuses == {200}


async def test_without_pacing_the_same_burst_is_throttled(ml: MLHandle, make: Factory) -> None:
    """The control case of the test above: the simulator's limiter really refuses a fast burst."""
    ml.control("POST", "config", {"rate_limit_enabled": True, "rate_limit_per_minute": 60, "rate_limit_burst": 3})
    connector = make(max_retries_in_call=0)
    external_id = order_id(ml)
    with pytest.raises(RateLimitedError):
        for _ in range(10):
            await connector.get_order(external_id)
    [throttled] = [r for r in ml.requests("GET", "/") if r["status"] == 429]
    assert throttled["fault"] is None

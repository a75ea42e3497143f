"""MercadoLibre OAuth against the simulator: cached 6-hour tokens, single-use refresh tokens, rotation races."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import structlog.testing

from fenicia.connectors.base import AccessToken, MemoryTokenStore
from fenicia.connectors.mercadolibre.connector import MercadoLibreConnector
from fenicia.core.errors import AuthError, ConfigError
from mercadolibre_sim import APP_ID, CLIENT_SECRET, MLHandle

Factory = Callable[..., MercadoLibreConnector]


def order_id(ml: MLHandle, **spec: object) -> str:
    return str(ml.new_order(**spec)["order"]["id"])


async def test_token_is_obtained_once_cached_and_its_rotation_saved(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    credentials = ml.credentials()
    connector = make(store, credentials=credentials)
    ids = [order_id(ml) for _ in range(3)]
    for external_id in ids:
        assert (await connector.get_order(external_id)).external_id == external_id
    assert ml.token_state()["grants"] == 1 and store.saves == 1
    saved = store.token
    assert saved is not None and saved.refresh_token is not None
    assert saved.refresh_token != credentials["refresh_token"]  # rotated, and kept for next time
    assert saved.extra["user_id"] == str(ml.sim.config.seller_id)
    assert saved.expires_at - datetime.now(UTC) > timedelta(hours=5)


async def test_a_second_connector_on_the_same_store_reuses_the_token(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    credentials = ml.credentials()
    external_id = order_id(ml)
    await make(store, credentials=credentials).get_order(external_id)
    await make(store, credentials=credentials).get_order(external_id)
    assert ml.token_state()["grants"] == 1


async def test_refresh_uses_the_rotated_token_not_the_credentials_one(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    credentials = ml.credentials()
    external_id = order_id(ml)
    await make(store, credentials=credentials).get_order(external_id)
    ml.control("POST", "tokens/expire")
    later = make(store, credentials=credentials)  # a new run: loads the expired token, refreshes
    await later.get_order(external_id)
    assert ml.token_state()["grants"] == 2
    assert ml.token_state()["refused"] == 0  # the credentials' refresh token (used up) was never sent again


async def test_expired_token_is_refreshed_once_and_the_call_retried(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    external_id = order_id(ml)
    await meli.get_order(external_id)
    ml.fault("expire_token", count=1, path_contains="/orders/")
    await meli.get_order(external_id)
    statuses = [r["status"] for r in ml.requests("GET", f"/orders/{external_id}")]
    assert statuses == [200, 401, 200]
    assert ml.token_state()["grants"] == 2


async def test_a_second_401_after_the_refresh_is_an_auth_error(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    external_id = order_id(ml)
    ml.fault("expire_token", count=2, path_contains="/orders/")
    with pytest.raises(AuthError) as caught:
        await meli.get_order(external_id)
    assert caught.value.resolution.startswith("Reconnect")
    assert [r["status"] for r in ml.requests("GET", f"/orders/{external_id}")] == [401, 401]
    assert ml.token_state()["grants"] == 2  # the first token, then exactly one refresh


async def test_concurrent_refresh_by_two_processes_survives_the_rotation(ml: MLHandle, make: Factory) -> None:
    """Two connectors (processes) share one store; both find the token expired and refresh at once with
    the same single-use refresh token. ML honours one; the other gets invalid_grant, reloads the store
    and adopts the winner's token."""
    store = MemoryTokenStore()
    credentials = ml.credentials()
    external_id = order_id(ml)
    await make(store, credentials=credentials).get_order(external_id)
    assert store.token is not None
    store.token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    ml.fault("latency", seconds=0.2, count=2, path_contains="/oauth/token")  # both refreshes in flight together
    first = make(store, credentials=credentials, rotation_wait_seconds=2.0)
    second = make(store, credentials=credentials, rotation_wait_seconds=2.0)
    results = await asyncio.gather(first.get_order(external_id), second.get_order(external_id))
    assert [order.external_id for order in results] == [external_id, external_id]
    tokens = ml.token_state()
    assert (tokens["grants"], tokens["refused"]) == (2, 1)  # the first run's token, one refresh, one loser
    assert first.auth.grants + second.auth.grants == 1
    ml.control("POST", "tokens/expire")
    await make(store, credentials=credentials).get_order(external_id)  # the saved refresh token is the live one
    assert ml.token_state()["refused"] == 1


async def test_invalid_grant_once_is_retried_with_the_stored_token(ml: MLHandle, meli: MercadoLibreConnector) -> None:
    ml.fault("invalid_grant", count=1)
    external_id = order_id(ml)
    assert (await meli.get_order(external_id)).external_id == external_id
    assert [r["status"] for r in ml.requests("POST", "/oauth/token")] == [400, 200]


async def test_revoked_authorization_is_an_auth_error_after_one_retry(
    ml: MLHandle, meli: MercadoLibreConnector
) -> None:
    ml.control("POST", "tokens/revoke")
    with pytest.raises(AuthError) as caught:
        await meli.get_order(order_id(ml))
    assert "refresh token" in caught.value.message and "reconnect" in caught.value.resolution.lower()
    assert [r["status"] for r in ml.requests("POST", "/oauth/token")] == [400, 400]


async def test_token_rotated_elsewhere_and_never_saved_is_an_auth_error(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    connector = make(store)
    external_id = order_id(ml)
    await connector.get_order(external_id)
    ml.control("POST", "tokens/rotate")  # another client refreshed and kept the new token to itself
    ml.control("POST", "tokens/expire")
    with pytest.raises(AuthError):
        await make(store).get_order(external_id)


async def test_an_authorization_code_is_exchanged_once(ml: MLHandle, make: Factory) -> None:
    code = ml.control("POST", "oauth/codes")["code"]
    credentials = {"client_id": APP_ID, "client_secret": CLIENT_SECRET, "authorization_code": code}
    store = MemoryTokenStore()
    redirect = ml.sim.config.redirect_uri
    connector = make(store, credentials=credentials, redirect_uri=redirect)
    assert await connector.test_connection() == ml.sim.config.seller_nickname
    assert store.token is not None and store.token.refresh_token is not None
    with pytest.raises(AuthError):  # a code is single-use too: a store without the token cannot start over
        await make(MemoryTokenStore(), credentials=credentials, redirect_uri=redirect).test_connection()


async def test_wrong_app_secret_names_the_credentials(ml: MLHandle, make: Factory) -> None:
    credentials = ml.credentials(client_secret="not-the-secret")
    with pytest.raises(AuthError) as caught:
        await make(credentials=credentials).test_connection()
    assert "App ID and Secret Key" in caught.value.resolution


async def test_a_token_of_another_seller_is_refused(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    with pytest.raises(AuthError) as caught:
        await make(store, seller_id=987654321).test_connection()
    assert "987654321" in caught.value.message
    assert store.token is None


async def test_stored_token_is_used_without_asking_ml(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    await make(store).test_connection()
    assert store.token is not None
    kept = AccessToken(store.token.value, store.token.expires_at, store.token.refresh_token, dict(store.token.extra))
    fresh_store = MemoryTokenStore(kept)
    await make(fresh_store).test_connection()
    assert ml.token_state()["grants"] == 1 and fresh_store.saves == 0


async def test_secrets_never_reach_the_logs(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    credentials = ml.credentials()
    with structlog.testing.capture_logs() as logs:
        connector = make(store, credentials=credentials)
        await connector.get_order(order_id(ml))
        ml.fault("http_500", count=1, path_contains="/orders/")
        await connector.get_order(order_id(ml))
    assert store.token is not None and store.token.refresh_token is not None
    text = repr(logs)
    for secret in (store.token.value, store.token.refresh_token, credentials["refresh_token"], CLIENT_SECRET):
        assert secret not in text
    assert any(entry["event"] == "mercadolibre.token_granted" for entry in logs)
    assert all(r["body"] is None for r in ml.requests("POST", "/oauth/token"))  # the sandbox keeps no secrets


async def test_test_connection_names_the_seller_and_checks_the_id(ml: MLHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    assert await make(store).test_connection() == ml.sim.config.seller_nickname
    assert store.token is not None
    mismatch = make(MemoryTokenStore(store.token), seller_id=42)  # a token of seller A, settings naming B
    with pytest.raises(ConfigError) as caught:
        await mismatch.test_connection()
    assert "not seller 42" in caught.value.message

"""The Walmart client against the simulator over loopback HTTP: auth, headers, tokens, errors, rate limits."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from fenicia.connectors.base import AccessToken, Capability, ChannelConnector, MemoryTokenStore
from fenicia.connectors.walmart import SPEC, build
from fenicia.connectors.walmart.connector import WalmartConnector
from fenicia.connectors.walmart.settings import WalmartCredentials, WalmartSettings
from fenicia.core.clock import utcnow
from fenicia.core.errors import (
    AuthError,
    ConfigError,
    RateLimitedError,
    RemoteNotFound,
    TransientError,
    UnsupportedOperation,
    ValidationFailed,
)
from walmart_sim import CLIENT_SECRET, Factory, WalmartHandle, credentials


def test_spec_and_build() -> None:
    assert SPEC.key == "walmart" and SPEC.display_name == "Walmart"
    assert SPEC.default_poll_interval_seconds == 900 and SPEC.webhook_topics == ()
    assert SPEC.capabilities == {Capability.SHIP, Capability.CANCEL, Capability.TRACKING, Capability.STOCK}
    assert Capability.WEBHOOKS in SPEC.unsupported_reasons
    settings, creds = WalmartSettings(), WalmartCredentials(**credentials())
    connector = build(settings, creds)
    assert isinstance(connector, ChannelConnector)
    with pytest.raises(ConfigError):
        build(creds, creds)
    with pytest.raises(ConfigError):
        build(settings, settings)


@pytest.mark.parametrize(
    "fields",
    [
        {"api_base_url": "ftp://marketplace.walmartapis.com"},
        {"api_base_url": "http://marketplace.walmartapis.com"},
        {"token_path": "v3/token"},
        {"page_size": 201},
        {"default_method_code": "Teleport"},
        {"default_cancel_reason": "BECAUSE"},
        {"feed_type": "prices"},
        {"api_allowances": {"nope": {"rate_per_s": 1, "burst": 1}}},
        {"unknown": 1},
    ],
)
def test_bad_settings_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WalmartSettings(**fields)


def test_settings_fill_allowances_and_credentials_hide_the_secret() -> None:
    settings = WalmartSettings(api_allowances={"orders_list": {"rate_per_s": 2, "burst": 4}})
    assert settings.allowance("orders_list") is not None and settings.allowance("orders_list").burst == 4  # type: ignore[union-attr]
    assert settings.allowance("feed_submit") is not None
    creds = WalmartCredentials(client_id=" id ", client_secret="s3cret")
    assert creds.client_id == "id" and "s3cret" not in repr(creds)
    with pytest.raises(ValidationError):
        WalmartCredentials(client_id="id", client_secret="  ")


async def test_connection_and_headers_on_every_call(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.sim.create_order()
    assert "Walmart seller" in await walmart.test_connection()
    await walmart.get_order(next(iter(wm.sim.store.orders)))
    seen = wm.control("GET", "requests/headers")["headers"]
    assert [h["path"] for h in seen][:1] == ["/v3/token"]
    ids = [h["correlation_id"] for h in seen]
    assert len(set(ids)) == len(ids) == 3  # a fresh WM_QOS.CORRELATION_ID per request
    assert all(uuid.UUID(value) for value in ids)
    assert {h["service_name"] for h in seen} == {"Walmart Marketplace"}
    assert [h["has_token"] for h in seen] == ["no", "yes", "yes"]
    [grant] = wm.requests("POST", "/v3/token")
    assert grant["body"] == {"grant_type": "client_credentials"} and grant["status"] == 200


async def test_token_is_cached_and_shared_through_the_store(wm: WalmartHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    first = make(store)
    for _ in range(3):
        await first.test_connection()
    await make(store).test_connection()  # another run: the stored token is reused
    assert wm.grants() == 1 and store.saves == 1
    assert store.token is not None and store.token.expires_at > utcnow() + timedelta(minutes=14)


async def test_stale_stored_token_is_replaced_before_use(wm: WalmartHandle, make: Factory) -> None:
    stale = AccessToken("old", utcnow() + timedelta(seconds=30), extra={"client_id": credentials()["client_id"]})
    store = MemoryTokenStore(stale)
    await make(store).test_connection()  # 30 s left is inside the 60 s skew: a new token first
    assert wm.grants() == 1 and store.token is not None and store.token.value != "old"
    assert all(r["status"] == 200 for r in wm.requests("GET", "/v3/"))


async def test_token_of_another_api_key_is_not_used(wm: WalmartHandle, make: Factory) -> None:
    other = AccessToken("foreign", utcnow() + timedelta(minutes=10), extra={"client_id": "someone-else"})
    await make(MemoryTokenStore(other)).test_connection()
    assert wm.grants() == 1


async def test_expired_token_is_refreshed_once_and_the_call_repeated(wm: WalmartHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    connector = make(store)
    await connector.test_connection()
    wm.control("POST", "tokens/expire", {})
    await connector.test_connection()
    assert wm.grants() == 2 and store.saves == 2
    statuses = [r["status"] for r in wm.requests("GET", "/v3/token/detail")]
    assert statuses == [200, 401, 200]


async def test_token_refused_twice_is_an_auth_error(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.fault("expire_token", path_contains="/v3/token/detail")
    with pytest.raises(AuthError) as caught:
        await walmart.test_connection()
    assert caught.value.resolution == "Reconnect the channel in Settings."
    assert wm.grants() == 2  # the first token and exactly one refresh, no loop
    assert len(wm.requests("GET", "/v3/token/detail")) == 2


async def test_newer_token_saved_by_another_process_is_used(wm: WalmartHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    one, two = make(store), make(store)
    await one.test_connection()
    wm.control("POST", "tokens/expire", {})
    await two.test_connection()  # refreshes and saves a new token
    await one.test_connection()  # 401 with its old token: takes the stored one, grants nothing
    assert wm.grants() == 2


async def test_wrong_secret_is_an_auth_error(wm: WalmartHandle, make: Factory) -> None:
    with pytest.raises(AuthError) as caught:
        await make(secret="wrong").test_connection()
    assert "Seller Center" in caught.value.resolution and CLIENT_SECRET not in caught.value.message
    wm.fault("revoke_credentials", path_contains="/v3/token")
    with pytest.raises(AuthError):
        await make().test_connection()


async def test_forbidden_is_an_auth_error(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    wm.fault("forbidden", path_contains="/v3/orders")
    with pytest.raises(AuthError):
        await walmart.get_order("1")


async def test_unknown_order_and_bad_ids(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    with pytest.raises(RemoteNotFound):
        await walmart.get_order("999")
    with pytest.raises(ValidationFailed):
        await walmart.get_order("../token")


async def test_wrong_base_path_is_a_config_error(wm: WalmartHandle, make: Factory) -> None:
    connector = make(token_path="/v3/token", api_base_url=f"{wm.url}/nope")
    with pytest.raises((ConfigError, AuthError)):
        await connector.test_connection()


async def test_429_is_waited_for_then_retried_once(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    wm.fault("http_429", count=1, path_contains=f"/v3/orders/{po}")
    order = await walmart.get_order(po)
    assert order.external_id == po
    assert [r["status"] for r in wm.requests("GET", f"/v3/orders/{po}")] == [429, 200]


async def test_long_wait_goes_back_to_the_engine(wm: WalmartHandle, walmart: WalmartConnector, make: Factory) -> None:
    await wm_config(
        wm, {"retry_after_header": True, "allowances": {"order_get": [0.01, 1]}, "rate_limit_enabled": True}
    )
    po = wm.sim.create_order()["purchaseOrderId"]
    await walmart.get_order(po)  # takes the only call of the bucket; the answer says the next is 100 s away
    with pytest.raises(RateLimitedError) as caught:
        await walmart.get_order(po)
    assert caught.value.retry_after is not None and caught.value.retry_after > 10
    assert [r["status"] for r in wm.requests("GET", f"/v3/orders/{po}")] == [200]  # not even tried
    wm.fault("http_429", count=1, path_contains=f"/v3/orders/{po}")
    with pytest.raises(RateLimitedError):
        await make(retry_wait_cap_seconds=0.5).get_order(po)  # a fresh client learns it from the 429
    assert [r["status"] for r in wm.requests("GET", f"/v3/orders/{po}")] == [200, 429]


async def test_pacing_on_usage_headers_never_hits_429(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    """Paced on Walmart's headers: no 429, and each call goes as its token arrives (the bucket is used to
    the last token). 5 calls/s: a token every 200 ms, so only a stall of ~180 ms between a paced call's
    wake-up and its arrival (not the scheduling noise of a loaded machine) could leave a token unused."""
    await wm_config(wm, {"rate_limit_enabled": True, "allowances": {"order_get": [5.0, 2]}})
    po = wm.sim.create_order()["purchaseOrderId"]
    for _ in range(6):
        await walmart.get_order(po)
    statuses = [r["status"] for r in wm.requests("GET", f"/v3/orders/{po}")]
    assert statuses == [200] * 6
    assert walmart.client.pacer.last_token_count["order_get"] == 0


async def test_local_pacing_without_usage_headers(wm: WalmartHandle, make: Factory) -> None:
    await wm_config(wm, {"rate_limit_enabled": True, "usage_headers": False, "allowances": {"order_get": [40.0, 2]}})
    connector = make(api_allowances={"order_get": {"rate_per_s": 40.0, "burst": 2}})
    po = wm.sim.create_order()["purchaseOrderId"]
    for _ in range(8):
        await connector.get_order(po)
    assert [r["status"] for r in wm.requests("GET", f"/v3/orders/{po}")] == [200] * 8


async def test_5xx_is_retried_and_a_lasting_one_is_transient(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    wm.fault("http_503", count=1, path_contains=f"/v3/orders/{po}")
    assert (await walmart.get_order(po)).external_id == po
    wm.fault("http_500", count=None, path_contains=f"/v3/orders/{po}")
    with pytest.raises(TransientError):
        await walmart.get_order(po)
    assert [r["status"] for r in wm.requests("GET", f"/v3/orders/{po}")] == [503, 200, 500, 500]


async def test_timeout_is_transient(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    wm.fault("timeout", seconds=1.0, count=2, path_contains=f"/v3/orders/{po}")
    with pytest.raises(TransientError):
        await walmart.get_order(po)


async def test_locked_resource_is_transient(wm: WalmartHandle, walmart: WalmartConnector) -> None:
    po = wm.sim.create_order()["purchaseOrderId"]
    wm.fault("http_423", count=2, path_contains=f"/v3/orders/{po}")
    with pytest.raises(TransientError):
        await walmart.get_order(po)


async def test_webhooks_are_refused(walmart: WalmartConnector) -> None:
    with pytest.raises(UnsupportedOperation):
        walmart.verify_webhook({}, b"{}")
    with pytest.raises(UnsupportedOperation):
        walmart.parse_webhook({}, b"{}")
    with pytest.raises(UnsupportedOperation):
        await walmart.ensure_webhooks("https://example.com/hook", [])


async def wm_config(wm: WalmartHandle, changes: dict[str, Any]) -> None:
    wm.control("POST", "config", changes)

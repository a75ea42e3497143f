"""The Amazon client against the simulator over real loopback HTTP: LWA tokens, 403 refresh-once, pacing, 429."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from amazon_sim import Factory, SimHandle, running_amazon
from fenicia.connectors.amazon import SPEC, build
from fenicia.connectors.amazon.connector import AmazonConnector
from fenicia.connectors.amazon.polling import ORDERS_PATH
from fenicia.connectors.amazon.settings import AmazonCredentials, AmazonSettings
from fenicia.connectors.base import AccessToken, ChannelConnector, MemoryTokenStore, OrderCursor
from fenicia.core import netguard
from fenicia.core.clock import utcnow
from fenicia.core.errors import AuthError, FeniciaError, RateLimitedError, TransientError


async def orders_call(connector: AmazonConnector) -> None:
    params = {"MarketplaceIds": "ATVPDKIKX0DER", "LastUpdatedAfter": "2020-01-01T00:00:00Z", "MaxResultsPerPage": 1}
    await connector.client.get("getOrders", ORDERS_PATH, params)


# -- spec and settings --------------------------------------------------------------------------


def test_spec_declares_polling_ship_and_stock_only() -> None:
    assert SPEC.key == "amazon" and SPEC.display_name == "Amazon"
    assert SPEC.default_poll_interval_seconds == 900
    assert SPEC.webhook_topics == ()
    assert SPEC.capabilities == {"ship", "stock"}
    assert set(SPEC.unsupported_reasons) == {"cancel", "tracking", "webhooks"}
    assert "Seller Central" in SPEC.unsupported_reasons["cancel"]
    assert "SQS" in SPEC.unsupported_reasons["webhooks"]


def test_build_checks_model_types_and_satisfies_the_protocol() -> None:
    creds = AmazonCredentials(client_id="id", client_secret="s", refresh_token="r")
    connector = SPEC.build(AmazonSettings(seller_id="A2EUQ1WTGCTBG2"), creds, MemoryTokenStore())
    assert isinstance(connector, ChannelConnector) and isinstance(connector, AmazonConnector)
    assert connector.settings.endpoint == "https://sellingpartnerapi-na.amazon.com"
    with pytest.raises(FeniciaError):
        build(creds, creds)


@pytest.mark.parametrize(
    "fields",
    [
        {"endpoint": "ftp://sellingpartnerapi-na.amazon.com"},
        {"marketplace_ids": []},
        {"marketplace_ids": ["not a marketplace"]},
        {"page_size": 101},
        {"pacing_safety": 1.5},
        {"stock_patch_op": "add"},
        {"usage_plans": {"getOrders": {"rate_per_s": 0, "burst": 1}}},
        {"unknown": 1},
        {"seller_id": "A2 EUQ/1"},
    ],
)
def test_bad_settings_are_refused_naming_the_field(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        AmazonSettings(**({"seller_id": "A2EUQ1WTGCTBG2"} | fields))
    assert next(iter(fields)) in str(caught.value)


def test_settings_force_https_to_amazon_and_dedupe_marketplaces() -> None:
    settings = AmazonSettings(
        seller_id="A2EUQ1WTGCTBG2",
        lwa_token_url="http://api.amazon.com/auth/o2/token/",
        marketplace_ids=["ATVPDKIKX0DER", " ATVPDKIKX0DER"],
    )
    assert settings.lwa_token_url == "https://api.amazon.com/auth/o2/token"
    assert settings.marketplace_ids == ["ATVPDKIKX0DER"]
    typed = AmazonSettings.model_validate(
        {"seller_id": "A2EUQ1WTGCTBG2", "marketplace_ids": "ATVPDKIKX0DER, A2EUQ1WTGCTBG2"}
    )
    assert typed.marketplace_ids == ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]
    with pytest.raises(ValidationError):
        AmazonSettings.model_validate({})  # the merchant token is the one setting the connect form asks for


def test_credentials_hide_secrets_and_refuse_blanks() -> None:
    creds = AmazonCredentials(client_id="amzn1.app", client_secret="cs-secret", refresh_token="Atzr|secret")
    assert "cs-secret" not in repr(creds) and "Atzr|secret" not in repr(creds)
    with pytest.raises(ValidationError):
        AmazonCredentials(client_id="id", client_secret=" ", refresh_token="r")


# -- LWA tokens -----------------------------------------------------------------------------------


async def test_one_token_serves_many_calls_and_is_saved(amazon: SimHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    connector = make(store)
    for _ in range(5):
        await orders_call(connector)
    assert amazon.state()["token_grants"] == 1
    assert store.saves == 1 and store.token is not None
    assert timedelta(minutes=55) < store.token.expires_at - utcnow() <= timedelta(hours=1)
    sent = {r["api_version"] for r in amazon.requests("GET", "/orders/v0/orders")}
    assert sent == {"getOrders"}


async def test_a_stored_token_is_reused_by_another_connector(amazon: SimHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    await orders_call(make(store))
    await orders_call(make(store))  # a second run or process of the same connection
    assert amazon.state()["token_grants"] == 1 and store.saves == 1


async def test_a_token_near_expiry_is_replaced_before_use(amazon: SimHandle, make: Factory) -> None:
    store = MemoryTokenStore(AccessToken(value="Atza|old", expires_at=utcnow() + timedelta(seconds=30)))
    await orders_call(make(store, token_skew_seconds=60))
    assert amazon.state()["token_grants"] == 1
    assert store.token is not None and store.token.value != "Atza|old"
    assert all(r["status"] == 200 for r in amazon.requests("GET", "/orders/v0/orders"))


async def test_expired_token_403_is_refreshed_once_and_the_call_resent(amazon: SimHandle, make: Factory) -> None:
    store = MemoryTokenStore()
    connector = make(store)
    await orders_call(connector)
    amazon.control("POST", "tokens/expire", {})
    await orders_call(connector)
    assert amazon.state()["token_grants"] == 2 and store.saves == 2
    statuses = [r["status"] for r in amazon.requests("GET", "/orders/v0/orders")]
    assert statuses == [200, 403, 200]


async def test_concurrent_calls_share_one_refresh(amazon: SimHandle, make: Factory) -> None:
    connector = make()
    await orders_call(connector)
    amazon.control("POST", "tokens/expire", {})
    await asyncio.gather(*(orders_call(connector) for _ in range(6)))
    assert amazon.state()["token_grants"] == 2


async def test_403_with_a_fresh_token_is_a_permission_error(amazon: SimHandle, make: Factory) -> None:
    connector = make()
    await orders_call(connector)
    amazon.fault("permission_denied", path_contains="/orders/v0/orders", count=2)
    with pytest.raises(AuthError) as caught:
        await orders_call(connector)
    assert caught.value.resolution == "Reconnect the channel in Settings."
    assert "getOrders" in caught.value.message and "role" in caught.value.message
    assert amazon.state()["token_grants"] == 2  # refreshed once, then gave up
    assert [r["status"] for r in amazon.requests("GET", "/orders/v0/orders")] == [200, 403, 403]


async def test_revoked_authorization_is_an_auth_error(amazon: SimHandle, make: Factory) -> None:
    connector = make()
    await orders_call(connector)
    amazon.control("POST", "tokens/revoke", {})
    with pytest.raises(AuthError) as caught:
        await orders_call(connector)
    assert "invalid_grant" in caught.value.message and caught.value.resolution == "Reconnect the channel in Settings."


async def test_the_seller_revoking_the_app_mid_run_is_an_auth_error(amazon: SimHandle, make: Factory) -> None:
    connector = make()
    await orders_call(connector)
    amazon.fault("revoke_refresh_token", path_contains="/orders/v0/orders", count=1)
    with pytest.raises(AuthError):
        await orders_call(connector)
    assert amazon.state()["authorization_revoked"] is True
    assert [r["status"] for r in amazon.requests("POST", "/auth/o2/token")] == [200, 400]


async def test_wrong_client_secret_is_an_auth_error_and_no_secret_leaks(make: Factory, amazon: SimHandle) -> None:
    connector = make(credentials=amazon.credentials(client_secret="wrong-secret-value"))
    with pytest.raises(AuthError) as caught:
        await orders_call(connector)
    assert "invalid_client" in caught.value.message and "wrong-secret-value" not in caught.value.message


async def test_lwa_outage_is_transient(amazon: SimHandle, make: Factory) -> None:
    amazon.fault("http_503", path_contains="/auth/o2/token", count=None)
    with pytest.raises(TransientError):
        await orders_call(make())


# -- 429, 5xx, pacing -----------------------------------------------------------------------------


async def test_429_waits_for_a_token_and_resends_once(amazon: SimHandle, make: Factory) -> None:
    connector = make()
    amazon.fault("http_429", path_contains="/orders/v0/orders", count=1)
    await orders_call(connector)
    statuses = [r["status"] for r in amazon.requests("GET", "/orders/v0/orders")]
    assert statuses == [429, 200], "one throttled call, then exactly one resend"
    assert connector.client.pacers["getOrders"].wait_seconds() >= 0


async def test_429_after_the_in_call_retries_goes_to_the_engine_with_a_wait(amazon: SimHandle, make: Factory) -> None:
    connector = make(usage_plans={"getOrders": {"rate_per_s": 0.0167, "burst": 20}}, max_rate_limit_wait_seconds=5)
    amazon.fault("http_429", path_contains="/orders/v0/orders", count=None)
    with pytest.raises(RateLimitedError) as caught:
        await orders_call(connector)
    assert caught.value.retry_after is not None and caught.value.retry_after > 5  # about one token: 60 s
    assert len(amazon.requests("GET", "/orders/v0/orders")) == 1, "no resend when the wait is too long"


async def test_5xx_is_retried_inside_the_call(amazon: SimHandle, make: Factory) -> None:
    amazon.fault("http_500", path_contains="/orders/v0/orders", count=1)
    await orders_call(make())
    assert [r["status"] for r in amazon.requests("GET", "/orders/v0/orders")] == [500, 200]


async def test_timeouts_on_reads_are_retried_then_transient(amazon: SimHandle, make: Factory) -> None:
    amazon.fault("timeout", seconds=1.0, path_contains="/orders/v0/orders", count=None)
    with pytest.raises(TransientError):
        await orders_call(make())
    [rule] = amazon.control("GET", "faults")["faults"]
    assert rule["hits"] == 2  # the call and one retry


async def test_rate_header_is_adopted(amazon: SimHandle, make: Factory) -> None:
    amazon.control("POST", "config", {"usage_plans": {"getOrders": [2.5, 20]}})
    connector = make(usage_plans={})
    await orders_call(connector)
    assert connector.client.pacers["getOrders"].plan.rate_per_s == 2.5
    assert connector.client.pacers["getOrders"].plan.burst == 20  # the burst is never sent: ours stays


async def test_pacing_keeps_a_burst_of_calls_under_amazons_bucket() -> None:
    """Three times the burst at once, paced to the simulator's own plan: none refused. 5 calls/s: a token
    every 200 ms, so only a stall of about that long between a paced call's release and its arrival (not
    the scheduling noise of a loaded machine, as at 20 calls/s) could make the bucket refuse one."""
    plan = [5.0, 3.0]  # 5/s, burst 3: the simulator refuses anything faster
    with running_amazon(rate_limit_enabled=True, usage_plans={"getOrderItems": plan}) as amazon:
        order_id = amazon.new_order()["AmazonOrderId"]
        connector = build(
            amazon.settings(usage_plans={"getOrderItems": {"rate_per_s": 5.0, "burst": 3}}),
            amazon.credentials(),
            MemoryTokenStore(),
        )
        netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
        path = f"{ORDERS_PATH}/{order_id}/orderItems"
        try:
            await asyncio.gather(*(connector.client.get("getOrderItems", path) for _ in range(9)))
        finally:
            await connector.aclose()
        stats = amazon.state()["operations"]["getOrderItems"]
    assert (stats["calls"], stats["throttled"]) == (9, 0)


async def test_fetch_with_real_shaped_limits_has_no_429(amazon: SimHandle) -> None:
    """Bucket limits on in the simulator and the same plan in the client: a bulk read never hits 429."""
    amazon.control("POST", "config", {"rate_limit_enabled": True, "usage_plans": {"getOrderItems": [20.0, 5.0]}})
    amazon.control("POST", "orders/bulk", {"count": 25})
    plans = {"getOrderItems": {"rate_per_s": 20.0, "burst": 5}}
    connector = build(
        amazon.settings(usage_plans=plans, items_concurrency=8),
        amazon.credentials(),
        MemoryTokenStore(),
    )
    netguard.apply_policy(connector, allow_private=True)  # the simulator listens on loopback
    try:
        orders = [o async for page in connector.fetch_orders(OrderCursor(updated_after=None)) for o in page.orders]
    finally:
        await connector.aclose()
    assert len(orders) == 25
    operations = amazon.state()["operations"]
    assert operations["getOrderItems"]["throttled"] == 0 and operations["getOrderItems"]["calls"] == 25

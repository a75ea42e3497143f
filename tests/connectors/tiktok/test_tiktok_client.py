"""The TikTok Shop client against the simulator over real loopback HTTP: tokens, signing, paging, throttling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fenicia.connectors.base import AccessToken, MemoryTokenStore, OrderCursor, OrderPage
from fenicia.connectors.tiktok.auth import CIPHER_KEY
from fenicia.connectors.tiktok.connector import TikTokConnector
from fenicia.core.errors import AuthError, RateLimitedError, TransientError
from fenicia.orders.models import OrderStatus
from tiktok_sim import TikTokHandle, running_tiktok

LONG_AGO = datetime.now(UTC) - timedelta(days=90)


@pytest.fixture
def tt() -> Iterator[TikTokHandle]:
    with running_tiktok() as handle:
        yield handle


async def pages_of(connector: TikTokConnector, cursor: OrderCursor) -> list[OrderPage]:
    return [page async for page in connector.fetch_orders(cursor)]


async def test_one_token_serves_many_calls_and_is_shared_through_the_store(tt: TikTokHandle) -> None:
    tt.sim.bulk_create_orders(5)
    store = MemoryTokenStore()
    first = tt.connector(store)
    for _ in range(3):
        await pages_of(first, OrderCursor(updated_after=LONG_AGO))
    await first.aclose()
    assert tt.grants() == 1 and store.token is not None
    assert store.token.extra[CIPHER_KEY] == tt.sim.config.shop_cipher  # looked up once, kept with the token
    second = tt.connector(store)
    assert await second.test_connection() == "Sandbox TikTok Shop"
    await pages_of(second, OrderCursor(updated_after=LONG_AGO))
    await second.aclose()
    assert tt.grants() == 1
    assert len(tt.requests("GET", "/authorization/202309/shops")) == 2  # first connector's lookup + test_connection


@pytest.mark.parametrize("http_status", [401, 200])
async def test_expired_token_is_refreshed_once_and_the_call_resent_once(tt: TikTokHandle, http_status: int) -> None:
    tt.control("POST", "config", {"expired_token_http_status": http_status})  # [U] which status carries 105002
    created = tt.sim.create_order()
    store = MemoryTokenStore()
    connector = tt.connector(store)
    await connector.get_order(created["id"])
    before = store.token
    tt.control("POST", "tokens/expire")
    order = await connector.get_order(created["id"])
    await connector.aclose()
    assert order.external_id == created["id"] and tt.grants() == 2
    assert store.token is not None and before is not None and store.token.value != before.value
    statuses = [r["status"] for r in tt.requests("GET", "/order/202309/orders")]
    assert statuses == [200, http_status, 200]


async def test_an_expired_answer_after_the_refresh_is_an_auth_error_not_a_loop(tt: TikTokHandle) -> None:
    created = tt.sim.create_order()
    connector = tt.connector()
    tt.fault("expire_token", count=2, path_contains="/order/202309/orders")
    with pytest.raises(AuthError) as caught:
        await connector.get_order(created["id"])
    await connector.aclose()
    assert caught.value.resolution == "Reconnect the channel in Settings."
    assert len(tt.requests("GET", "/order/202309/orders")) == 2 and tt.grants() == 2


async def test_a_token_close_to_its_expiry_is_refreshed_before_use(tt: TikTokHandle) -> None:
    soon = AccessToken("stale-but-unknown", datetime.now(UTC) + timedelta(seconds=30), refresh_token=None)
    store = MemoryTokenStore(soon)
    connector = tt.connector(store)
    await connector.test_connection()
    await connector.aclose()
    assert tt.grants() == 1 and store.token is not None and store.token.value != "stale-but-unknown"
    assert [r["status"] for r in tt.requests("GET", "/authorization")] == [200]


async def test_a_rotated_refresh_token_is_saved_and_used_next_time(tt: TikTokHandle) -> None:
    tt.control("POST", "config", {"rotate_refresh_token": True})
    store = MemoryTokenStore()
    connector = tt.connector(store)
    await connector.test_connection()
    assert store.token is not None and store.token.refresh_token != tt.sim.config.refresh_token
    tt.control("POST", "tokens/expire")
    await connector.test_connection()  # the credentials' refresh token is dead now: only the saved one works
    await connector.aclose()
    assert tt.grants() == 2


async def test_a_refused_refresh_token_is_an_auth_error(tt: TikTokHandle) -> None:
    tt.sim.tokens.refresh.clear()  # the seller revoked the authorization
    connector = tt.connector()
    with pytest.raises(AuthError):
        await connector.test_connection()
    await connector.aclose()
    assert tt.grants() == 0


async def test_orders_come_in_pages_oldest_change_first_and_resume_from_a_token(tt: TikTokHandle) -> None:
    tt.sim.bulk_create_orders(120)
    connector = tt.connector()
    pages = await pages_of(connector, OrderCursor(updated_after=LONG_AGO))
    assert [len(p.orders) for p in pages] == [50, 50, 20]
    assert pages[-1].next_token is None and all(p.next_token for p in pages[:-1])
    stamps = [o.updated_at for p in pages for o in p.orders]
    assert stamps == sorted(stamps) and len({o.external_id for p in pages for o in p.orders}) == 120
    resumed = await pages_of(connector, OrderCursor(updated_after=datetime.now(UTC), resume_token=pages[0].next_token))
    assert [o.external_id for p in resumed for o in p.orders] == [o.external_id for p in pages[1:] for o in p.orders]
    search = tt.requests("POST", "orders/search")
    assert "sort_field=update_time" in search[0]["query"] and "sort_order=ASC" in search[0]["query"]
    await connector.aclose()


async def test_the_cursor_window_filters_by_update_time(tt: TikTokHandle) -> None:
    tt.sim.bulk_create_orders(30)
    newest = max(o.update_time for o in tt.sim.store.orders.values())
    connector = tt.connector()
    after = datetime.fromtimestamp(newest - 86400 * 5, UTC)
    pages = await pages_of(connector, OrderCursor(updated_after=after, updated_before=datetime.now(UTC)))
    await connector.aclose()
    got = {o.external_id for p in pages for o in p.orders}
    expected = {o.id for o in tt.sim.store.orders.values() if o.update_time >= int(after.timestamp())}
    assert got == expected and 0 < len(got) < 30
    assert tt.requests("POST", "orders/search")[0]["body"]["update_time_ge"] == int(after.timestamp())


async def test_throttle_is_honoured_by_waiting_then_one_resend(tt: TikTokHandle) -> None:
    tt.sim.create_order()
    tt.fault("http_429", count=1, seconds=0.05, path_contains="orders/search")
    connector = tt.connector()
    pages = await pages_of(connector, OrderCursor(updated_after=LONG_AGO))
    await connector.aclose()
    assert len(pages[0].orders) == 1
    assert [r["status"] for r in tt.requests("POST", "orders/search")] == [429, 200]


async def test_a_long_throttle_goes_back_to_the_engine_without_extra_calls(tt: TikTokHandle) -> None:
    tt.fault("http_429", count=None, seconds=30.0, path_contains="orders/search")
    connector = tt.connector()
    with pytest.raises(RateLimitedError) as caught:
        await pages_of(connector, OrderCursor(updated_after=LONG_AGO))
    await connector.aclose()
    assert caught.value.retry_after == 30.0
    assert len(tt.requests("POST", "orders/search")) == 1


async def test_the_throttle_code_under_http_200_is_a_rate_limit_too(tt: TikTokHandle) -> None:
    tt.fault("throttle_code", count=None)
    connector = tt.connector(max_retries_in_call=0)
    with pytest.raises(RateLimitedError):
        await connector.test_connection()
    await connector.aclose()


async def test_server_errors_are_retried_on_reads_then_reported(tt: TikTokHandle) -> None:
    tt.sim.create_order()
    tt.fault("http_500", count=1, path_contains="orders/search")
    connector = tt.connector()
    assert len((await pages_of(connector, OrderCursor(updated_after=LONG_AGO)))[0].orders) == 1
    tt.fault("http_503", count=None, path_contains="orders/search")
    with pytest.raises(TransientError):
        await pages_of(connector, OrderCursor(updated_after=LONG_AGO))
    await connector.aclose()


async def test_a_timeout_is_transient(tt: TikTokHandle) -> None:
    tt.fault("timeout", seconds=0.8)
    connector = tt.connector(max_retries_in_call=0)
    with pytest.raises(TransientError):
        await connector.test_connection()
    await connector.aclose()


async def test_a_wrong_app_secret_is_refused_by_the_signature_check(tt: TikTokHandle) -> None:
    connector = tt.connector()
    connector.client._secret = type(connector.client._secret)("not-the-secret")
    with pytest.raises(AuthError) as caught:
        await connector.test_connection()
    await connector.aclose()
    assert "signature" in caught.value.message
    assert tt.requests("GET", "/authorization")[0]["status"] == 401


async def test_orders_of_every_status_come_through_the_api(tt: TikTokHandle) -> None:
    for status in ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"):
        tt.sim.create_order(status=status)
    connector = tt.connector()
    orders = [o for p in await pages_of(connector, OrderCursor(updated_after=LONG_AGO)) for o in p.orders]
    await connector.aclose()
    by_channel = {o.channel_status.split()[0]: o for o in orders}
    assert by_channel["UNPAID"].status == OrderStatus.PENDING and by_channel["UNPAID"].shipping_address is None
    assert by_channel["ON_HOLD"].status == OrderStatus.PENDING
    assert by_channel["AWAITING_SHIPMENT"].status == OrderStatus.UNSHIPPED


@pytest.mark.parametrize(("fault", "words"), [("bad_signature", "app secret"), ("missing_scope", "access scope")])
async def test_refusals_of_the_app_itself_say_what_to_fix(tt: TikTokHandle, fault: str, words: str) -> None:
    tt.fault(fault, count=1)
    connector = tt.connector()
    with pytest.raises(AuthError) as caught:
        await connector.test_connection()
    await connector.aclose()
    assert words in caught.value.resolution and tt.grants() == 1  # not mistaken for an expired token

"""ShipHero source: reading warehouse products (basis, warehouses, cursor paging, delta, tokens, limits)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fenicia.connectors.base import LevelsCursor
from fenicia.core.errors import AuthError, RateLimitedError
from shiphero_sim import running_shiphero
from sourcekit import read_levels, read_pages, rows

PRIMARY = "V2FyZWhvdXNlOjc2NzMz"  # base64("Warehouse:76733")
SECONDARY = "V2FyZWhvdXNlOjc2NzM0"


async def test_full_read_imports_shipheros_available_per_warehouse() -> None:
    with running_shiphero() as shiphero:
        connector = shiphero.connector()
        levels = await read_levels(connector)
        await connector.aclose()
    assert connector.full_snapshot is True
    assert rows(levels) == {
        ("SH-TEE-M", PRIMARY, 34, 40, 6),
        ("SH-TEE-M", SECONDARY, 10, 12, 0),  # 2 kept in reserve
        ("0042", PRIMARY, 0, 3, 5),  # oversold: ShipHero says -2, Fenicia imports 0
        ("SH-CAP", SECONDARY, 12, 9, 1),  # sell-ahead counts in ShipHero's available
    }
    assert {lv.name for lv in levels} == {"Tee M", "Sticker (leading zeros)", "Cap"}


async def test_on_hand_basis_warehouse_names_and_one_warehouse() -> None:
    with running_shiphero() as shiphero:
        connector = shiphero.connector(quantity_basis="on_hand", location_key="identifier", warehouse_id=SECONDARY)
        levels = await read_levels(connector)
        await connector.aclose()
    assert rows(levels) == {("SH-TEE-M", "Secondary", 12, 12, 0), ("SH-CAP", "Secondary", 9, 9, 1)}


async def test_inactive_products_are_skipped_unless_asked() -> None:
    with running_shiphero() as shiphero:
        shiphero.control("POST", "products", {"sku": "OLD-1", "warehouse": "Primary", "on_hand": 4, "active": False})
        active_only, everything = shiphero.connector(), shiphero.connector(include_inactive=True)
        codes = {lv.code for lv in await read_levels(active_only)}
        all_codes = {lv.code for lv in await read_levels(everything)}
        await active_only.aclose()
        await everything.aclose()
    assert "OLD-1" not in codes
    assert "OLD-1" in all_codes


async def test_cursor_paging_reads_to_the_end() -> None:
    with running_shiphero() as shiphero:
        shiphero.control("POST", "products/bulk", {"count": 205, "prefix": "00", "width": 4, "on_hand": 2})
        shiphero.control("DELETE", "requests")
        connector = shiphero.connector(page_size=50)
        pages = await read_pages(connector)
        await connector.aclose()
        queries = shiphero.requests("/graphql")
    codes = [lv.code for page in pages for lv in page.levels]
    assert len(codes) == 209
    assert {f"00{n:04d}" for n in range(1, 206)} <= set(codes)
    assert len(queries) == 5  # 209 nodes at 50 a page
    assert [p.next_token is None for p in pages] == [False] * 4 + [True]


async def test_delta_passes_updated_from() -> None:
    with running_shiphero() as shiphero:
        for product in shiphero.sim.store.products.values():
            product.updated_at -= timedelta(hours=1)
        since = datetime.now(UTC) - timedelta(minutes=5)
        shiphero.control("POST", "products", {"sku": "SH-CAP", "warehouse": "Secondary", "on_hand": 2, "allocated": 0})
        connector = shiphero.connector()
        levels = await read_levels(connector, LevelsCursor(updated_after=since))
        await connector.aclose()
    assert connector.full_snapshot is False
    assert rows(levels) == {("SH-CAP", SECONDARY, 6, 2, 0)}


async def test_expired_token_is_refreshed_once_and_the_read_goes_on() -> None:
    with running_shiphero() as shiphero:
        connector = shiphero.connector()
        await read_levels(connector)
        shiphero.control("POST", "tokens/expire")
        levels = await read_levels(connector)
        statuses = [r["status"] for r in shiphero.requests("/graphql")]
        await connector.aclose()
    assert len(levels) == 4
    assert connector.client.token_requests == 2
    assert statuses == [200, 401, 200]


async def test_a_token_that_keeps_failing_is_an_auth_error() -> None:
    with running_shiphero() as shiphero:
        shiphero.fault("expire_token", count=2, path_contains="/graphql")
        connector = shiphero.connector()
        with pytest.raises(AuthError, match="rejected the access token"):
            await read_levels(connector)
        await connector.aclose()
    assert connector.client.token_requests == 2


async def test_credit_throttling_is_waited_out() -> None:
    with running_shiphero(credits_restore_per_s=2000) as shiphero:
        shiphero.control("POST", "credits", {"remaining": 0})
        connector = shiphero.connector()
        levels = await read_levels(connector)
        await connector.aclose()
    assert len(levels) == 4


async def test_long_throttling_goes_back_to_the_engine_with_the_wait() -> None:
    with running_shiphero(retry_after_s=90) as shiphero:
        shiphero.fault("throttle", count=1, path_contains="/graphql")
        connector = shiphero.connector()
        with pytest.raises(RateLimitedError) as caught:
            await read_levels(connector)
        await connector.aclose()
    assert caught.value.retry_after == 90
    assert "not enough credits" in caught.value.message

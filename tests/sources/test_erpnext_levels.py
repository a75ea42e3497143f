"""ERPNext source: reading Bins (basis, warehouses, paging, delta with the site's time zone, retries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from erpnext_sim import running_erpnext
from fenicia.connectors.base import LevelsCursor
from fenicia.core.errors import RateLimitedError
from sourcekit import read_levels, read_pages, rows


async def test_full_read_available_is_actual_minus_reserved_per_warehouse() -> None:
    with running_erpnext() as site:
        connector = site.connector()
        levels = await read_levels(connector)
        await connector.aclose()
    assert connector.full_snapshot is True
    assert rows(levels) == {
        ("SKU001", "Stores - WP", 15, 20, 5),  # ordered_qty 100 (projected) is not counted
        ("SKU001", "Finished Goods - WP", 4, 4, 0),
        ("000789", "Stores - WP", 0, 3, 5),  # more reserved than on hand: 0, never negative
        ("BOLT-M4", "Work In Progress - WP", 500, 500, 0),
    }
    assert {lv.name for lv in levels} == {"T-shirt", "Mug (leading zeros)", "Bolt M4"}


async def test_on_hand_basis_and_chosen_reserved_fields() -> None:
    with running_erpnext() as site:
        on_hand = site.connector(quantity_basis="on_hand", read_item_names=False)
        reserved = site.connector(reserved_fields=("reserved_qty", "reserved_qty_for_production", "reserved_stock"))
        first = await read_levels(on_hand)
        second = await read_levels(reserved)
        await on_hand.aclose()
        await reserved.aclose()
    assert ("SKU001", "Stores - WP", 20, 20, 5) in rows(first)
    assert {lv.name for lv in first} == {None}
    assert ("BOLT-M4", "Work In Progress - WP", 250, 500, 250) in rows(second)


async def test_only_chosen_warehouses() -> None:
    with running_erpnext() as site:
        connector = site.connector(warehouses=("Stores - WP",))
        levels = await read_levels(connector)
        await connector.aclose()
    assert {lv.location for lv in levels} == {"Stores - WP"}
    assert {lv.code for lv in levels} == {"SKU001", "000789"}


async def test_paging_reads_every_bin_to_the_end() -> None:
    with running_erpnext() as site:
        site.control("POST", "bins/bulk", {"count": 260, "prefix": "00", "width": 5, "actual_qty": 3})
        site.control("DELETE", "requests")
        connector = site.connector(page_size=50)
        pages = await read_pages(connector)
        await connector.aclose()
        bin_calls = site.requests("/api/resource/Bin")
    codes = [lv.code for page in pages for lv in page.levels]
    assert len(codes) == 264
    assert {f"00{n:05d}" for n in range(1, 261)} <= set(codes)
    assert len(bin_calls) == 6  # 5 full pages of 50, then a short one
    assert [p.next_token is None for p in pages] == [False] * 5 + [True]


async def test_delta_reads_bins_modified_since_in_the_site_time_zone() -> None:
    with running_erpnext(time_zone="America/New_York") as site:
        for doc in site.sim.store.docs["Bin"].values():
            doc["modified"] -= timedelta(hours=3)
        since = datetime.now(UTC) - timedelta(minutes=30)
        site.control("POST", "bins", {"item_code": "000789", "warehouse": "Stores - WP", "actual_qty": 12})
        connector = site.connector()
        levels = await read_levels(connector, LevelsCursor(updated_after=since))
        await connector.aclose()
        zone_calls = site.requests("get_time_zone")
    assert connector.full_snapshot is False
    assert rows(levels) == {("000789", "Stores - WP", 7, 12, 5)}
    assert len(zone_calls) == 1


async def test_delta_with_the_time_zone_set_does_not_ask_the_site() -> None:
    with running_erpnext(time_zone="Asia/Tokyo") as site:
        for doc in site.sim.store.docs["Bin"].values():
            doc["modified"] -= timedelta(hours=3)
        site.control("POST", "bins", {"item_code": "SKU001", "warehouse": "Stores - WP", "actual_qty": 1})
        connector = site.connector(time_zone="Asia/Tokyo")
        levels = await read_levels(connector, LevelsCursor(updated_after=datetime.now(UTC) - timedelta(minutes=5)))
        await connector.aclose()
        zone_calls = site.requests("get_time_zone")
    assert [lv.code for lv in levels] == ["SKU001"]
    assert zone_calls == []


async def test_rate_limiter_with_a_long_reset_goes_back_to_the_engine() -> None:
    with running_erpnext(rate_limit_enabled=True, rate_per_s=0.001, rate_burst=1, retry_after_s=300) as site:
        connector = site.connector()
        with pytest.raises(RateLimitedError) as caught:
            await read_levels(connector)
        await connector.aclose()
    assert caught.value.retry_after == 300

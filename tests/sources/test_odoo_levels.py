"""Odoo source: reading levels (per location and per warehouse, basis, paging, delta, retries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fenicia.connectors.base import LevelsCursor
from odoo_sim import OdooHandle, running_odoo
from sourcekit import read_levels, read_pages, rows

PROTOCOLS = ["json2", "jsonrpc"]


def ids(odoo: OdooHandle) -> dict[str, str]:
    locations = odoo.sim.store.records["stock.location"].values()
    return {odoo.sim.store.complete_name(loc): str(loc["id"]) for loc in locations}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_full_read_per_location_available_is_on_hand_minus_reserved(protocol: str) -> None:
    with running_odoo() as odoo:
        connector = odoo.connector(protocol=protocol)
        levels = await read_levels(connector)
        await connector.aclose()
        loc = ids(odoo)
    assert connector.full_snapshot is True
    assert rows(levels) == {
        ("FURN_0001", loc["WH/Stock"], 8, 10, 2),
        ("FURN_0001", loc["WH/Stock/Shelf 1"], 5, 5, 0),
        ("00123", loc["WH/Stock"], 0, 7, 7),
        ("00123", loc["EAST/Stock"], 3, 3, 0),
        ("LAMP-1", loc["EAST/Stock"], 1, 1, 1),  # 1.5 on hand, 0.5 reserved: whole units, rounded safe
    }
    assert {lv.name for lv in levels} == {"Office Desk", "Chair (leading zeros)", "Desk Lamp"}


async def test_on_hand_basis_imports_the_physical_count_and_names_locations() -> None:
    with running_odoo() as odoo:
        connector = odoo.connector(quantity_basis="on_hand", location_key="name")
        levels = await read_levels(connector)
        await connector.aclose()
    assert ("00123", "WH/Stock", 7, 7, 7) in rows(levels)
    assert ("FURN_0001", "WH/Stock/Shelf 1", 5, 5, 0) in rows(levels)


async def test_lots_of_one_product_and_location_are_summed() -> None:
    with running_odoo() as odoo:
        odoo.control("POST", "quants", {"product": "FURN_0001", "location": "WH/Stock", "quantity": 4, "lot": 77})
        connector = odoo.connector(location_key="name")
        levels = await read_levels(connector)
        await connector.aclose()
    assert ("FURN_0001", "WH/Stock", 12, 14, 2) in rows(levels)


async def test_only_chosen_locations_and_their_children() -> None:
    with running_odoo() as odoo:
        wh_stock = int(ids(odoo)["WH/Stock"])
        connector = odoo.connector(location_key="name", location_ids=[wh_stock])
        levels = await read_levels(connector)
        await connector.aclose()
    assert {lv.location for lv in levels} == {"WH/Stock", "WH/Stock/Shelf 1"}


@pytest.mark.parametrize(("basis", "desk_wh", "chair_wh"), [("available", 13, 0), ("on_hand", 15, 7)])
async def test_warehouse_scope_uses_free_qty_or_qty_available(basis: str, desk_wh: int, chair_wh: int) -> None:
    with running_odoo() as odoo:
        connector = odoo.connector(scope="warehouse", quantity_basis=basis, location_key="name")
        levels = await read_levels(connector)
        await connector.aclose()
    table = {(lv.code, lv.location): lv for lv in levels}
    assert table[("FURN_0001", "Main Warehouse")].available == desk_wh
    assert table[("FURN_0001", "Main Warehouse")].on_hand == 15
    assert table[("00123", "Main Warehouse")].available == chair_wh
    assert table[("00123", "East Warehouse")].available == 3
    assert table[("LAMP-1", "Main Warehouse")].available == 0  # zero rows are kept: a full picture
    assert connector.full_snapshot is True


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_paging_reads_every_product_to_the_end(protocol: str) -> None:
    with running_odoo() as odoo:
        odoo.control("POST", "products/bulk", {"count": 230, "prefix": "0", "width": 6, "quantity": 2})
        odoo.control("DELETE", "requests")
        connector = odoo.connector(protocol=protocol, page_size=40, product_chunk=25)
        pages = await read_pages(connector)
        await connector.aclose()
        calls = odoo.requests()
    codes = [lv.code for page in pages for lv in page.levels]
    assert len(codes) == len(set(codes)) + 2  # desk and chair have two locations each
    assert {f"{n:07d}" for n in range(1, 231)} <= set(codes)  # "0" prefix + 6 digits: leading zeros kept
    assert len(pages) > 5
    assert [p.next_token is None for p in pages] == [False] * (len(pages) - 1) + [True]
    assert len(calls) > 10


async def test_delta_reads_only_products_changed_since_the_cursor() -> None:
    with running_odoo() as odoo:
        for quant in odoo.sim.store.records["stock.quant"].values():
            quant["write_date"] -= timedelta(hours=2)
        since = datetime.now(UTC) - timedelta(minutes=30)
        odoo.control("POST", "quants", {"product": "00123", "location": "EAST/Stock", "quantity": 9})
        connector = odoo.connector(location_key="name")
        levels = await read_levels(connector, LevelsCursor(updated_after=since))
        full_after_delta = connector.full_snapshot
        await read_levels(connector)
        await connector.aclose()
    assert full_after_delta is False
    assert connector.full_snapshot is True
    assert rows(levels) == {("00123", "EAST/Stock", 9, 9, 0), ("00123", "WH/Stock", 0, 7, 7)}


async def test_delta_in_warehouse_scope_falls_back_to_a_full_read() -> None:
    with running_odoo() as odoo:
        connector = odoo.connector(scope="warehouse")
        levels = await read_levels(connector, LevelsCursor(updated_after=datetime.now(UTC)))
        await connector.aclose()
    assert connector.full_snapshot is True
    assert len(levels) == 6  # 3 products with a code x 2 warehouses

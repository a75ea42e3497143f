"""The unmapped SKUs report: what it records from sources and order lines, and both resolutions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from fenicia.catalog.models import Product
from fenicia.channels.models import Listing
from fenicia.core.errors import ConflictError, NotFoundError
from fenicia.inventory.mapping import MappingRules
from fenicia.inventory.models import PushStatus, SkuOverride
from fenicia.inventory.unmapped import (
    list_unmapped,
    record_unmapped_order_skus,
    resolve_by_mapping,
    resolve_by_new_product,
)
from inventory.inv_world import InvWorld, csv_text

HEADER = ("SKU", "Name", "Warehouse", "Qty")
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _report_id(world: InvWorld, key: str) -> int:
    return world.unmapped()[key].id


def test_the_report_counts_reads_and_keeps_the_last_quantities(world: InvWorld) -> None:
    source_id = world.source()
    with time_machine.travel(T0, tick=False):
        world.upload(source_id, csv_text([("NEW-1", "Blue mug", "W1", 4), ("NEW-1", "Blue mug", "W2", 1)], HEADER))
        world.sync(source_id)
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        world.upload(source_id, csv_text([("NEW-1", "Blue mug", "W1", 6)], HEADER))
        world.sync(source_id)

    row = world.unmapped()[f"source:{source_id}|NEW-1"]
    assert (row.first_seen_at, row.last_seen_at, row.occurrences) == (T0, T0 + timedelta(hours=1), 2)
    assert (row.last_quantity, row.quantities, row.location, row.name) == (6, {"W1": 6}, "W1", "Blue mug")


def test_mapping_a_code_to_a_product_applies_its_last_quantities_at_once(world: InvWorld) -> None:
    product_id = world.product("MUG-BLUE")
    connection_id, _ = world.listing(product_id)
    source_id = world.source()
    world.upload(source_id, csv_text([("mug blue", "", "W1", 4), ("mug blue", "", "W2", 3)], HEADER))
    world.sync(source_id)
    assert world.levels(source_id) == {}

    with world.db.session() as s:
        pushed = resolve_by_mapping(s, world.ws, _report_id(world, f"source:{source_id}|mug blue"), product_id)

    assert pushed == {connection_id}
    assert world.levels(source_id) == {("MUG-BLUE", "W1"): 4, ("MUG-BLUE", "W2"): 3}
    assert [(p.quantity, p.status) for p in world.pushes()] == [(7, PushStatus.PENDING)]
    row = world.unmapped()[f"source:{source_id}|mug blue"]
    assert row.resolved_at is not None and row.resolved_product_id == product_id
    run = world.sync(source_id)  # from now on the override maps it
    assert run.rows_unmapped == 0 and run.rows_changed == 0
    with world.db.read_session() as s:
        assert s.scalar(select(SkuOverride.product_id).where(SkuOverride.external_code == "mug blue")) == product_id


def test_creating_the_product_from_a_code_uses_the_rules_and_the_sources_name(world: InvWorld) -> None:
    source_id = world.source(mapping=MappingRules(strip_prefix="ERP-"))
    world.upload(source_id, csv_text([("ERP-TEA-1", "Green tea", "W1", 12)], HEADER))
    world.sync(source_id)
    conn_id, listing_id = world.listing(world.product("OTHER"))
    with world.db.session() as s:
        listing = s.get(Listing, listing_id)
        assert listing is not None
        listing.product_id, listing.sku = None, "TEA-1"  # a channel listing nobody linked yet

    with world.db.session() as s:
        product, pushed = resolve_by_new_product(s, world.ws, _report_id(world, f"source:{source_id}|ERP-TEA-1"))
        created = (product.sku, product.name)

    assert created == ("TEA-1", "Green tea")
    assert world.levels(source_id) == {("TEA-1", "W1"): 12}
    assert pushed == {conn_id}  # the channel's listing with that SKU is linked and gets the quantity
    with world.db.read_session() as s:
        assert s.scalar(select(SkuOverride.id).where(SkuOverride.source_id == source_id)) is None  # rules suffice
    assert world.sync(source_id).rows_unmapped == 0


def test_creating_a_product_whose_sku_exists_is_refused(world: InvWorld) -> None:
    world.product("DUP")
    source_id = world.source(mapping=MappingRules(match_on="barcode"))
    world.upload(source_id, csv_text([("DUP", "", "W1", 1)], HEADER))
    world.sync(source_id)

    with world.db.session() as s, pytest.raises(ConflictError, match="already exists"):
        resolve_by_new_product(s, world.ws, _report_id(world, f"source:{source_id}|DUP"))


def test_a_code_mapped_later_by_the_catalog_leaves_the_report(world: InvWorld) -> None:
    source_id = world.source()
    world.upload(source_id, csv_text([("LATE", "", "W1", 2)], HEADER))
    world.sync(source_id)
    world.product("LATE")

    world.sync(source_id)

    row = world.unmapped()[f"source:{source_id}|LATE"]
    assert row.resolved_at is not None and world.levels(source_id) == {("LATE", "W1"): 2}


def test_order_lines_with_unknown_skus_share_the_report_and_resolve_by_linking(world: InvWorld) -> None:
    product_id = world.product("CAP")
    connection_id, _ = world.listing(product_id)
    with world.db.session() as s:
        s.add(Listing(workspace_id=world.ws, connection_id=connection_id, sku="cap-red", external_id="L-cap-red"))
        record_unmapped_order_skus(s, world.ws, connection_id, ["cap-red", "cap-red", " ", "hat"])
    rows = world.unmapped()
    assert rows[f"channel:{connection_id}|cap-red"].occurrences == 2
    with world.db.read_session() as s:
        listed = [r.code for r in list_unmapped(s, world.ws, scope=f"channel:{connection_id}")]
    assert sorted(listed) == ["cap-red", "hat"]

    with world.db.session() as s:
        resolve_by_mapping(s, world.ws, rows[f"channel:{connection_id}|cap-red"].id, product_id)

    with world.db.read_session() as s:
        linked = s.scalar(select(Listing.product_id).where(Listing.sku == "cap-red"))
        assert linked == product_id
        assert list_unmapped(s, world.ws, scope=f"channel:{connection_id}")[0].code == "hat"


def test_another_workspaces_report_rows_and_products_are_not_found(world: InvWorld, other_world: InvWorld) -> None:
    source_id = world.source()
    world.upload(source_id, csv_text([("X", "", "W1", 1)], HEADER))
    world.sync(source_id)
    row_id = _report_id(world, f"source:{source_id}|X")
    theirs = other_world.product("X")

    with world.db.session() as s, pytest.raises(NotFoundError):
        resolve_by_mapping(s, other_world.ws, row_id, theirs)
    with world.db.session() as s, pytest.raises(NotFoundError):
        resolve_by_mapping(s, world.ws, row_id, theirs)
    with world.db.read_session() as s:
        assert s.scalar(select(Product.id).where(Product.workspace_id == world.ws)) is None

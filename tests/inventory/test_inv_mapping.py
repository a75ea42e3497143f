"""Identifier mapping: normalization rules, explicit overrides, barcodes, case-insensitive matching without
guessing, and location mapping."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from fenicia.catalog.models import Location
from fenicia.inventory.mapping import MappingRules, normalize
from fenicia.inventory.models import LocationMapping
from fenicia.inventory.overrides import delete_override, set_location_mapping, set_override
from inventory.inv_world import InvWorld, csv_text

HEADER = ("SKU", "Warehouse", "Qty")


@pytest.mark.parametrize(
    ("code", "rules", "expected"),
    [
        ("  AB-1 ", MappingRules(), "AB-1"),
        ("  AB-1 ", MappingRules(trim=False), "  AB-1 "),
        ("ERP-ab-1", MappingRules(strip_prefix="ERP-", case="upper"), "AB-1"),
        ("ab-1-EU", MappingRules(strip_suffix="-EU", add_prefix="shop-"), "shop-ab-1"),
        ("00123", MappingRules(add_suffix="/M"), "00123/M"),
        ("Mixed", MappingRules(case="lower"), "mixed"),
        ("XYZ", MappingRules(strip_prefix="ERP-"), "XYZ"),  # only a prefix that is there is stripped
    ],
)
def test_normalization_rules(code: str, rules: MappingRules, expected: str) -> None:
    assert normalize(code, rules) == expected


def test_rules_map_source_codes_to_product_skus(world: InvWorld) -> None:
    world.products(["AB-1", "CD-2"])
    source_id = world.source(mapping=MappingRules(strip_prefix="ERP-", case="upper"))
    world.upload(source_id, csv_text([("ERP-ab-1", "W1", 4), ("erp-cd-2", "W1", 2), ("cd-2", "W1", 3)], HEADER))

    run = world.sync(source_id)

    # "erp-cd-2" keeps its lower-case prefix (stripping is exact), becomes "ERP-CD-2" and matches nothing
    assert world.levels(source_id) == {("AB-1", "W1"): 4, ("CD-2", "W1"): 3}
    assert run.rows_unmapped == 1 and f"source:{source_id}|erp-cd-2" in world.unmapped()


def test_an_explicit_override_wins_over_the_rules(world: InvWorld) -> None:
    ids = world.products(["AB-1", "OTHER"])
    source_id = world.source()
    with world.db.session() as s:
        set_override(s, world.ws, source_id, "AB-1", ids["OTHER"])
    world.upload(source_id, csv_text([("AB-1", "W1", 4)], HEADER))

    world.sync(source_id)

    assert world.levels(source_id) == {("OTHER", "W1"): 4}


def test_matching_on_barcodes(world: InvWorld) -> None:
    world.product("SHIRT-M", barcode="4006381333931")
    source_id = world.source(mapping=MappingRules(match_on="barcode"))
    world.upload(source_id, csv_text([("4006381333931", "W1", 9)], ("EAN", "Warehouse", "Qty")))

    world.sync(source_id)

    assert world.levels(source_id) == {("SHIRT-M", "W1"): 9}


def test_a_code_matching_two_products_is_never_guessed(world: InvWorld) -> None:
    world.products(["ab-1", "AB-1"])
    source_id = world.source(mapping=MappingRules(case="upper"))
    world.upload(source_id, csv_text([("Ab-1", "W1", 4)], HEADER))

    run = world.sync(source_id)

    assert world.levels(source_id) == {} and run.rows_unmapped == 1
    assert any("several products" in w for w in run.warnings or [])


def test_location_keys_map_explicitly_by_code_or_by_creation(world: InvWorld) -> None:
    world.products(["A"])
    main = world.location("MAIN")
    world.location("STORE")
    source_id = world.source()
    with world.db.session() as s:
        set_location_mapping(s, world.ws, source_id, "Lager 1", main)
    rows = [("A", "Lager 1", 1), ("A", "store", 2), ("A", "Depot 9", 3)]
    world.upload(source_id, csv_text(rows, HEADER))

    world.sync(source_id)

    assert world.levels(source_id) == {("A", "MAIN"): 1, ("A", "STORE"): 2, ("A", "Depot 9"): 3}
    with world.db.read_session() as s:
        keys = set(s.scalars(select(LocationMapping.external_location).where(LocationMapping.source_id == source_id)))
    assert keys == {"Lager 1", "Depot 9"}  # the created location is remembered as the key's mapping


def test_a_source_without_locations_uses_the_only_one_and_keeps_using_it(world: InvWorld) -> None:
    world.products(["A"])
    world.location("WH")
    source_id = world.source()
    world.upload(source_id, csv_text([("A", 5)]))
    world.sync(source_id)
    world.location("SECOND")  # a second location later must not change where this source's rows go

    world.upload(source_id, csv_text([("A", 6)]))
    world.sync(source_id)

    assert world.levels(source_id) == {("A", "WH"): 6}


def test_unknown_locations_are_skipped_when_creation_is_off(world: InvWorld) -> None:
    world.products(["A"])
    world.location("MAIN")
    world.location("STORE")
    source_id = world.source(mapping=MappingRules(create_locations=False))
    world.upload(source_id, csv_text([("A", "Nowhere", 5), ("A", "main", 1)], HEADER))

    run = world.sync(source_id)

    assert run.rows_skipped == 1 and world.levels(source_id) == {("A", "MAIN"): 1}
    with world.db.read_session() as s:
        assert set(s.scalars(select(Location.code).where(Location.workspace_id == world.ws))) == {"MAIN", "STORE"}


def test_deleting_an_override_sends_the_code_back_to_the_report(world: InvWorld) -> None:
    ids = world.products(["X"])
    source_id = world.source()
    with world.db.session() as s:
        row, _ = set_override(s, world.ws, source_id, "legacy-x", ids["X"])
        override_id = row.id
    world.upload(source_id, csv_text([("legacy-x", "W1", 2)], HEADER))
    world.sync(source_id)
    assert world.levels(source_id) == {("X", "W1"): 2}

    with world.db.session() as s:
        delete_override(s, world.ws, source_id, override_id)
    run = world.sync(source_id, trigger="schedule")  # the mapping changed: the same file is read again

    assert run.rows_read == 1 and run.rows_unmapped == 1
    assert world.levels(source_id) == {("X", "W1"): 0}  # no longer in the read: zeroed

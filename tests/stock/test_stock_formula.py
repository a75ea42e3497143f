"""The available-to-sell formula term by term, through ``ats.recompute`` on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fenicia.core.clock import utcnow
from fenicia.inventory.rules import (
    Demand,
    Rule,
    apply_rule,
    connection_scope,
    listing_scope,
    units_not_reflected,
)
from stock.stock_world import StockWorld


@pytest.mark.parametrize(
    ("base", "percent", "fixed"),
    [(15, 10, 0), (1, 10, 0), (100, 33, 0), (100, 10, 5), (7, 0, 3), (0, 50, 0), (-4, 20, 0)],
)
def test_buffer_percent_rounds_the_quantity_down_then_fixed(base: int, percent: int, fixed: int) -> None:
    outcome = apply_rule(base, Rule(buffer_percent=percent, buffer_fixed=fixed))
    kept = (base * (100 - percent)) // 100 if base > 0 else base  # what remains after the percentage, floored
    assert outcome.quantity == max(0, kept - fixed)
    assert outcome.terms["buffer_percent_units"] == base - kept
    assert outcome.terms["buffer_fixed_units"] == fixed


def test_floor_pushes_zero_at_or_below_it_and_max_caps() -> None:
    rule = Rule(floor=3, max_quantity=50)
    assert apply_rule(3, rule).quantity == 0 and apply_rule(3, rule).terms["floor_applied"]
    assert apply_rule(4, rule).quantity == 4
    capped = apply_rule(80, rule)
    assert capped.quantity == 50 and capped.terms["max_applied"]


def test_units_not_reflected_by_snapshot_time() -> None:
    t0 = utcnow()
    later = Demand(order_id=1, line_id=1, quantity=3, shipped=1, received_at=t0 + timedelta(seconds=1), placed_at=t0)
    assert units_not_reflected(later, t0 + timedelta(seconds=2)) == 0  # a newer snapshot has it
    assert units_not_reflected(later, t0 - timedelta(seconds=1)) == 3  # placed after the snapshot: all units
    # placed before the snapshot, received after: what had shipped is history
    assert units_not_reflected(later, t0 + timedelta(microseconds=500)) == 3 - 1


def test_sum_of_locations_minus_buffer_clamped(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.level(p, 7, location=0)
    world.level(p, 5, location=1)
    world.rule(connection_scope(conn), conn, buffer_fixed=2, buffer_percent=10)
    world.recompute(p)
    total = 7 + 5
    expected = (total * 90) // 100 - 2  # buffers after summing locations
    assert world.ats(listing) == expected
    explanation = world.get_listing(listing).ats_explanation
    assert explanation is not None
    assert explanation["on_sources"] == total and explanation["rule"]["scope"] == connection_scope(conn)
    assert [loc["available"] for loc in explanation["locations"]] == [7, 5]

    world.rule(listing_scope(listing), conn, listing_id=listing, buffer_fixed=20)
    world.recompute(p)
    assert world.ats(listing) == 0  # clamped at zero
    explanation = world.get_listing(listing).ats_explanation
    assert explanation is not None and explanation["clamped_at_zero"]


def test_listing_rule_wins_over_connection_rule(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    ruled, plain = world.listing(conn, p), world.listing(conn, p)
    world.level(p, 40)
    world.rule(connection_scope(conn), conn, buffer_fixed=5)
    world.rule(listing_scope(ruled), conn, listing_id=ruled, max_quantity=12)
    world.recompute(p)
    assert world.ats(plain) == 40 - 5
    assert world.ats(ruled) == 12  # the listing's rule replaces the connection's entirely (no buffer here)
    explanation = world.get_listing(ruled).ats_explanation
    assert explanation is not None and explanation["rule"]["scope"] == listing_scope(ruled)


def test_location_filter_feeds_only_chosen_locations(world: StockWorld) -> None:
    p = world.product("P1")
    main_only, everywhere = world.connection(name="A"), world.connection(name="B")
    a, b = world.listing(main_only, p), world.listing(everywhere, p)
    world.level(p, 9, location=0)
    world.level(p, 4, location=1)
    world.rule(connection_scope(main_only), main_only, location_ids=[world.locations[0]])
    world.recompute(p)
    assert world.ats(a) == 9
    assert world.ats(b) == 9 + 4


def test_bundles_count_within_one_location(world: StockWorld) -> None:
    cup, saucer = world.product("CUP"), world.product("SAUCER")
    kit = world.bundle("KIT", {cup: 2, saucer: 1})
    conn = world.connection()
    listing = world.listing(conn, kit)
    world.level(cup, 5, location=0)  # 2 kits' worth of cups at MAIN ...
    world.level(saucer, 1, location=0)  # ... but one saucer: 1 kit at MAIN
    world.level(cup, 1, location=1)  # STORE has saucers but a single cup: 0 kits there
    world.level(saucer, 6, location=1)
    world.recompute(cup)
    per_location = [min(5 // 2, 1 // 1), min(1 // 2, 6 // 1)]
    assert world.ats(listing) == sum(per_location)  # pooled stock (6 cups, 7 saucers) would say 3
    explanation = world.get_listing(listing).ats_explanation
    assert explanation is not None and explanation["kind"] == "bundle"
    assert [row["bundles"] for row in explanation["bundles_per_location"]] == per_location


def test_bundle_order_consumes_components_and_component_order_lowers_bundle(world: StockWorld) -> None:
    cup, saucer = world.product("CUP"), world.product("SAUCER")
    kit = world.bundle("KIT", {cup: 2, saucer: 1})
    conn = world.connection()
    cup_listing, kit_listing = world.listing(conn, cup), world.listing(conn, kit)
    world.level(cup, 10)
    world.level(saucer, 10)
    world.recompute(cup, saucer)
    assert (world.ats(cup_listing), world.ats(kit_listing)) == (10, 10 // 2)
    world.order(conn, [("KIT", 2)])  # two kits take four cups and two saucers
    assert (world.ats(cup_listing), world.ats(kit_listing)) == (10 - 4, min((10 - 4) // 2, 10 - 2))
    world.order(conn, [("CUP", 3)])
    assert world.ats(kit_listing) == (10 - 4 - 3) // 2


def test_product_without_any_source_is_not_pushed(world: StockWorld) -> None:
    p = world.product("NEW")
    conn = world.connection()
    listing = world.listing(conn, p)
    assert world.recompute(p) == set()
    assert world.ats(listing) is None and world.pushes(listing) == []
    explanation = world.get_listing(listing).ats_explanation
    assert explanation is not None and explanation["kind"] == "untracked"


def test_floor_and_max_through_recompute(world: StockWorld) -> None:
    p = world.product("P1")
    conn = world.connection()
    listing = world.listing(conn, p)
    world.rule(connection_scope(conn), conn, floor=2, max_quantity=25)
    world.level(p, 2)
    world.recompute(p)
    assert world.ats(listing) == 0
    world.level(p, 300)
    world.recompute(p)
    assert world.ats(listing) == 25

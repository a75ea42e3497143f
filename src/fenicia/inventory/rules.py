"""The available-to-sell formula, term by term, as pure functions over plain values.

``ats.py`` loads the numbers from the database and writes the results; everything here is arithmetic,
so every term can be tested on its own and shown to the merchant ("the rule that produced it").

For one listing of product P on a channel, with its effective rule (the listing's rule if it has one,
else the connection's, else the default that changes nothing):

1. **Stock per location.** For each location feeding the channel (``location_ids``; None = every
   location), the sum over sources of the level's ``available`` (already on-hand - reserved where a
   source gives both).
2. **Orders not yet in the snapshot** (see :func:`units_not_reflected`) are taken off the location
   they most plausibly left: among the feeding locations whose snapshot predates the order, the one
   with the most stock left. Each order line is taken off once, however many locations it could be in.
3. **Bundles** (a product made of components) sell as many kits as one location can assemble:
   ``min(component net // quantity per bundle)`` per location, then summed over locations.
4. **Buffer**, applied after summing locations: the percentage first, the quantity after it rounded
   down (so 10 % of 15 leaves 13: low stock goes out early, as the market does), then the fixed units.
5. Clamped at 0; at or below ``floor`` → 0; capped at ``max_quantity``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_SCOPE = "default"
MAX_ORDERS_EXPLAINED = 20  # the explanation lists this many orders, then a count of the rest


def connection_scope(connection_id: int) -> str:
    return f"connection:{connection_id}"


def listing_scope(listing_id: int) -> str:
    return f"listing:{listing_id}"


@dataclass(frozen=True)
class Rule:
    """A channel's (or one listing's) terms. A listing's rule replaces its connection's entirely."""

    scope: str = DEFAULT_SCOPE
    buffer_fixed: int = 0
    buffer_percent: int = 0
    floor: int | None = None
    max_quantity: int | None = None
    location_ids: frozenset[int] | None = None  # None: every location feeds the channel

    def feeds(self, location_id: int) -> bool:
        return self.location_ids is None or location_id in self.location_ids

    def public(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "buffer_fixed": self.buffer_fixed,
            "buffer_percent": self.buffer_percent,
            "floor": self.floor,
            "max_quantity": self.max_quantity,
            "location_ids": None if self.location_ids is None else sorted(self.location_ids),
        }


DEFAULT_RULE = Rule()


def effective_rule(rules: Mapping[str, Rule], listing_id: int, connection_id: int) -> Rule:
    """The listing's own rule wins; else the connection's; else the default (no buffer, every location)."""
    return rules.get(listing_scope(listing_id)) or rules.get(connection_scope(connection_id)) or DEFAULT_RULE


# --- inputs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One source's number for one product at one location."""

    source_id: int
    location_id: int
    available: int
    snapshot_at: datetime
    on_hand: int | None = None
    reserved: int | None = None


@dataclass(frozen=True)
class Demand:
    """Units of one order line (or of a bundle line, expanded to one component) that consume stock."""

    order_id: int
    line_id: int
    quantity: int  # ordered - cancelled
    shipped: int
    received_at: datetime  # when Fenicia stored the order (Order.created_at)
    placed_at: datetime  # the channel's order time
    bundle_id: int | None = None  # set when the line sold a bundle containing this product


def units_not_reflected(demand: Demand, snapshot_at: datetime) -> int:
    """How many of the demand's units a source snapshot taken at ``snapshot_at`` does not know about.

    An order Fenicia received at or before the snapshot is in it (sources learn of an order no later
    than we do). An order received after it is not, whether or not it has shipped since: the snapshot
    still counts those units on the shelf. One exception keeps imports of history from eating stock:
    units that had already shipped on an order placed before the snapshot are history, not a new sale.
    Cancelled units never count (the loader leaves cancelled and deleted orders out).
    """
    if demand.received_at <= snapshot_at:
        return 0
    shipped = demand.shipped if demand.placed_at <= snapshot_at else 0
    return max(0, demand.quantity - shipped)


# --- per-location stock net of orders not yet in the snapshots ------------------------------------


@dataclass
class LocationNet:
    location_id: int
    available: int
    oldest_snapshot_at: datetime
    sources: list[dict[str, Any]] = field(default_factory=list)
    orders: int = 0  # units taken off here for orders not yet in the snapshot

    @property
    def net(self) -> int:
        return self.available - self.orders


@dataclass
class ProductStock:
    """One product's stock at the locations feeding one channel, net of orders not yet reflected."""

    product_id: int
    locations: dict[int, LocationNet]
    taken: list[dict[str, Any]]  # {"order_id", "line_id", "units", "location_id"}

    @property
    def on_sources(self) -> int:
        return sum(loc.available for loc in self.locations.values())

    @property
    def orders_not_reflected(self) -> int:
        return sum(loc.orders for loc in self.locations.values())

    @property
    def net(self) -> int:
        return self.on_sources - self.orders_not_reflected

    def net_at(self, location_id: int) -> int:
        loc = self.locations.get(location_id)
        return 0 if loc is None else loc.net


def _locations(levels: Iterable[Level], rule: Rule) -> dict[int, LocationNet]:
    out: dict[int, LocationNet] = {}
    for level in sorted(levels, key=lambda lv: (lv.location_id, lv.source_id)):
        if not rule.feeds(level.location_id):
            continue
        loc = out.get(level.location_id)
        if loc is None:
            loc = out[level.location_id] = LocationNet(level.location_id, 0, level.snapshot_at)
        loc.available += level.available
        loc.oldest_snapshot_at = min(loc.oldest_snapshot_at, level.snapshot_at)
        loc.sources.append(
            {
                "source_id": level.source_id,
                "available": level.available,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
                "snapshot_at": level.snapshot_at.isoformat(),
            }
        )
    return out


def product_stock(product_id: int, levels: Iterable[Level], demands: Iterable[Demand], rule: Rule) -> ProductStock:
    """Sums the feeding locations and takes each order not yet reflected off one of them.

    A location's snapshot is its oldest source's, so a line counts there unless every source at that
    location has seen it. Among the locations that have not seen it, the units come off the one with
    the most stock left (ties: the lower location id), a deterministic stand-in for "where it ships from".
    """
    locations = _locations(levels, rule)
    taken: list[dict[str, Any]] = []
    for demand in sorted(demands, key=lambda d: (d.received_at, d.line_id, d.bundle_id or 0)):
        candidates = [
            (loc, units)
            for loc in locations.values()
            if (units := units_not_reflected(demand, loc.oldest_snapshot_at)) > 0
        ]
        if not candidates:
            continue
        loc, units = max(candidates, key=lambda c: (c[0].net, -c[0].location_id))
        loc.orders += units
        taken.append(
            {"order_id": demand.order_id, "line_id": demand.line_id, "units": units, "location_id": loc.location_id}
        )
    return ProductStock(product_id, locations, taken)


# --- bundles --------------------------------------------------------------------------------------


def bundle_quantity(recipe: Mapping[int, int], stocks: Mapping[int, ProductStock]) -> tuple[int, list[dict[str, Any]]]:
    """Kits that can be assembled, location by location: ``min(component net // per bundle)``, summed.

    A component missing at a location makes that location assemble none; stock is never combined
    across locations for one kit.
    """
    location_ids = sorted({loc for comp in recipe for loc in stocks[comp].locations})
    total, per_location = 0, []
    for location_id in location_ids:
        counts = {comp: max(0, stocks[comp].net_at(location_id)) // max(1, per) for comp, per in recipe.items()}
        limiting = min(counts, key=lambda comp: (counts[comp], comp))
        total += counts[limiting]
        per_location.append({"location_id": location_id, "bundles": counts[limiting], "limited_by": limiting})
    return total, per_location


# --- buffer, floor, max -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    quantity: int
    terms: dict[str, Any]


def apply_rule(base: int, rule: Rule) -> Outcome:
    """Buffer (percentage, rounded down, then fixed), clamp at 0, floor, max; every step recorded."""
    after_percent = base * (100 - rule.buffer_percent) // 100 if base > 0 and rule.buffer_percent else base
    after_buffer = after_percent - rule.buffer_fixed
    clamped = max(0, after_buffer)
    floored = 0 if rule.floor is not None and clamped <= rule.floor else clamped
    capped = floored if rule.max_quantity is None else min(floored, rule.max_quantity)
    terms = {
        "before_buffer": base,
        "buffer_percent_units": base - after_percent,
        "buffer_fixed_units": rule.buffer_fixed,
        "after_buffer": after_buffer,
        "clamped_at_zero": after_buffer < 0,
        "floor_applied": floored != clamped,
        "max_applied": capped != floored,
        "quantity": capped,
    }
    return Outcome(capped, terms)


# --- the whole explanation ------------------------------------------------------------------------------


def stock_terms(stock: ProductStock) -> dict[str, Any]:
    taken = stock.taken
    return {
        "product_id": stock.product_id,
        "locations": [
            {
                "location_id": loc.location_id,
                "available": loc.available,
                "orders_not_in_snapshot": loc.orders,
                "net": loc.net,
                "sources": loc.sources,
            }
            for loc in stock.locations.values()
        ],
        "on_sources": stock.on_sources,
        "orders_not_in_snapshot": stock.orders_not_reflected,
        "orders": taken[:MAX_ORDERS_EXPLAINED],
        "more_orders": max(0, len(taken) - MAX_ORDERS_EXPLAINED),
    }


def explain_product(stock: ProductStock, rule: Rule) -> Outcome:
    """ATS of a plain product, with every term."""
    outcome = apply_rule(stock.net, rule)
    terms = {"kind": "product", "rule": rule.public(), **stock_terms(stock), **outcome.terms}
    return Outcome(outcome.quantity, terms)


def explain_bundle(
    bundle_id: int, recipe: Mapping[int, int], stocks: Mapping[int, ProductStock], rule: Rule
) -> Outcome:
    """ATS of a bundle from its components' per-location nets, with every term."""
    base, per_location = bundle_quantity(recipe, stocks)
    outcome = apply_rule(base, rule)
    components = [
        {"product_id": comp, "per_bundle": per, **stock_terms(stocks[comp])} for comp, per in sorted(recipe.items())
    ]
    terms = {
        "kind": "bundle",
        "product_id": bundle_id,
        "rule": rule.public(),
        "components": components,
        "bundles_per_location": per_location,
        **outcome.terms,
    }
    return Outcome(outcome.quantity, terms)


def untracked(product_id: int, why: str) -> dict[str, Any]:
    """The explanation of a listing Fenicia does not manage the stock of (nothing is pushed)."""
    return {"kind": "untracked", "product_id": product_id, "quantity": None, "reason": why}

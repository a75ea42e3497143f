"""Available-to-sell per channel listing: load the terms, compute (``rules.py``), store, queue pushes.

``recompute`` runs inside the caller's transaction (a source sync, an order ingest, a rule change) so the
new numbers, the listing's ATS and the queued pushes commit together with what caused them. It locks the
product rows first (``FOR UPDATE`` on PostgreSQL; SQLite's single writer already serializes), so two
transactions that each add an order for the same product cannot both compute from a state without the
other's order.

A push is queued only when the value differs from the one the channel will hold after what is already
on its way: the newest pending/sending push, else the last value sent. A newer value supersedes an
older pending push of the same listing.

A source run recomputes thousands of products per transaction, so the hot path stays lean: every query
filters on the workspace but looks rows up by product (``unindexed``: SQLite without statistics would
otherwise walk the whole workspace's index for each chunk), listings are read as plain rows, and the
new numbers and pushes are written with one executemany statement each.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from fenicia.catalog.models import BundleComponent, Product
from fenicia.channels.models import ChannelConnection, Listing
from fenicia.connectors.base import Capability
from fenicia.connectors.registry import channel_specs
from fenicia.core.clock import utcnow
from fenicia.inventory.demand import chunks, demands, recipes_of, resolve_order_skus
from fenicia.inventory.lookups import unindexed
from fenicia.inventory.models import PushStatus, StockLevel, StockPush, StockRule
from fenicia.inventory.rules import (
    Demand,
    Level,
    Outcome,
    ProductStock,
    Rule,
    connection_scope,
    effective_rule,
    explain_bundle,
    explain_product,
    listing_scope,
    product_stock,
    untracked,
)

QUEUED_KEY = "fenicia.stock_push_connections"  # session.info: connections that got new pending pushes
ACTIVE_PUSH = (PushStatus.PENDING, PushStatus.SENDING)

LISTINGS = cast(Table, Listing.__table__)
PUSHES = cast(Table, StockPush.__table__)
STORE_ATS = (
    update(LISTINGS)
    .where(LISTINGS.c.id == bindparam("b_id"))
    .values(
        ats_quantity=bindparam("quantity"),
        ats_explanation=bindparam("explanation", type_=LISTINGS.c.ats_explanation.type),
        ats_computed_at=bindparam("now", type_=LISTINGS.c.ats_computed_at.type),
        updated_at=bindparam("now", type_=LISTINGS.c.updated_at.type),
    )
)


class ListingTarget(NamedTuple):
    """A listing as a recompute reads it: a plain row, not an ORM object (a source run recomputes thousands)."""

    id: int
    workspace_id: int
    connection_id: int
    product_id: int
    last_pushed_quantity: int | None


TARGET_COLUMNS = (
    Listing.id,
    Listing.workspace_id,
    Listing.connection_id,
    Listing.product_id,
    Listing.last_pushed_quantity,
)


LEVEL_COLUMNS = (  # a stored level as a recompute reads it: its product, then ``Level``'s fields in order
    StockLevel.product_id,
    StockLevel.source_id,
    StockLevel.location_id,
    StockLevel.available,
    StockLevel.snapshot_at,
    StockLevel.on_hand,
    StockLevel.reserved,
)


def recompute(session: Session, workspace_id: int, product_ids: set[int], reason: str) -> set[int]:
    """Recomputes ATS of every listing of these products and of bundles containing them.

    Stores it on each listing (with the explanation), queues a push where the value changed, and
    returns the connection ids that got new pending pushes (also noted in ``session.info`` for
    :func:`queued_push_connections`).
    """
    if not product_ids:
        return set()
    recipes = _bundle_recipes(session, workspace_id, product_ids)
    targets = set(product_ids) | set(recipes)
    _lock_products(session, workspace_id, targets | {c for r in recipes.values() for c in r})
    now = utcnow()
    queued: set[int] = set()
    for chunk in chunks(sorted(targets)):
        queued |= _recompute_chunk(session, workspace_id, set(chunk), recipes, reason, now)
    session.info.setdefault(QUEUED_KEY, set()).update(queued)
    return queued


def queued_push_connections(session: Session) -> set[int]:
    """Connections given new pending pushes in this session so far: kick their push after commit."""
    found: set[int] = session.info.get(QUEUED_KEY, set())
    return set(found)


# --- loading ------------------------------------------------------------------------------------------


def _bundle_recipes(session: Session, workspace_id: int, product_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """Recipes of the bundles among these products and of every bundle containing one of them."""
    ids = sorted(set(product_ids))
    bundle_ids: set[int] = set()
    for chunk in chunks(ids):
        query = select(BundleComponent.bundle_id).where(
            unindexed(BundleComponent.workspace_id) == workspace_id,
            (BundleComponent.component_id.in_(chunk)) | (BundleComponent.bundle_id.in_(chunk)),
        )
        bundle_ids.update(session.scalars(query))
    return recipes_of(session, workspace_id, bundle_ids)


def _lock_products(session: Session, workspace_id: int, product_ids: set[int]) -> None:
    """Row locks in id order (PostgreSQL), so concurrent recomputes of one product run one after the other."""
    for chunk in chunks(sorted(product_ids)):
        query = (
            select(Product.id)
            .where(Product.workspace_id == workspace_id, Product.id.in_(chunk))
            .order_by(Product.id)
            .with_for_update()
        )
        session.execute(query).all()


def _levels(session: Session, workspace_id: int, product_ids: set[int]) -> dict[int, list[Level]]:
    """The products' stored levels, read as plain rows rather than ORM objects (a source run reads thousands);
    like an ORM query, it flushes the session's pending changes first."""
    out: dict[int, list[Level]] = {}
    for chunk in chunks(sorted(product_ids)):
        query = select(*LEVEL_COLUMNS).where(
            unindexed(StockLevel.workspace_id) == workspace_id, StockLevel.product_id.in_(chunk)
        )
        for product_id, source_id, location_id, available, snapshot_at, on_hand, reserved in session.execute(query):
            level = Level(source_id, location_id, available, snapshot_at, on_hand, reserved)
            out.setdefault(product_id, []).append(level)
    return out


def load_rules(session: Session, workspace_id: int, listings: Sequence[ListingTarget]) -> dict[str, Rule]:
    scopes = {listing_scope(lst.id) for lst in listings} | {connection_scope(lst.connection_id) for lst in listings}
    rules: dict[str, Rule] = {}
    for chunk in chunks(sorted(scopes)):
        query = select(StockRule).where(StockRule.workspace_id == workspace_id, StockRule.scope.in_(chunk))
        rules.update({row.scope: rule_of(row) for row in session.scalars(query)})
    return rules


def rule_of(row: StockRule) -> Rule:
    return Rule(
        scope=row.scope,
        buffer_fixed=row.buffer_fixed,
        buffer_percent=row.buffer_percent,
        floor=row.floor,
        max_quantity=row.max_quantity,
        location_ids=None if row.location_ids is None else frozenset(row.location_ids),
    )


# --- computing ------------------------------------------------------------------------------------------


@dataclass
class _Terms:
    """Everything one chunk's listings are computed from."""

    recipes: dict[int, dict[int, int]]
    levels: dict[int, list[Level]]
    demands: dict[int, list[Demand]]
    rules: dict[str, Rule]
    cache: dict[tuple[int, frozenset[int] | None], ProductStock] = field(default_factory=dict)

    def stock(self, product_id: int, rule: Rule) -> ProductStock:
        key = (product_id, rule.location_ids)
        if key not in self.cache:
            levels, demands = self.levels.get(product_id, []), self.demands.get(product_id, [])
            self.cache[key] = product_stock(product_id, levels, demands, rule)
        return self.cache[key]

    def compute(self, listing: ListingTarget) -> tuple[int | None, dict[str, Any]]:
        pid = listing.product_id
        rule = effective_rule(self.rules, listing.id, listing.connection_id)
        recipe = self.recipes.get(pid)
        if recipe:
            missing = sorted(c for c in recipe if not self.levels.get(c))
            if missing:
                return None, untracked(pid, f"No inventory source reports component product(s) {missing}.")
            outcome: Outcome = explain_bundle(pid, recipe, {c: self.stock(c, rule) for c in recipe}, rule)
        elif not self.levels.get(pid):
            return None, untracked(pid, "No inventory source reports this product yet.")
        else:
            outcome = explain_product(self.stock(pid, rule), rule)
        return outcome.quantity, outcome.terms


def _recompute_chunk(
    session: Session,
    workspace_id: int,
    targets: set[int],
    recipes: dict[int, dict[int, int]],
    reason: str,
    now: datetime,
) -> set[int]:
    query = select(*TARGET_COLUMNS).where(
        unindexed(Listing.workspace_id) == workspace_id, Listing.product_id.in_(targets)
    )
    listings = [ListingTarget._make(row) for row in session.execute(query.order_by(Listing.id))]
    if not listings:
        return set()
    sellable = {lst.product_id for lst in listings}
    stocked = {pid for pid in sellable if pid not in recipes} | {
        c for pid in sellable if pid in recipes for c in recipes[pid]
    }
    levels = _levels(session, workspace_id, stocked)
    terms = _Terms(
        recipes, levels, demands(session, workspace_id, stocked, levels), load_rules(session, workspace_id, listings)
    )
    pushable = _stock_connections(session, {lst.connection_id for lst in listings})
    active = _active_pushes(session, [lst.id for lst in listings])
    queued: set[int] = set()
    computed: list[dict[str, Any]] = []
    pushes: list[dict[str, Any]] = []
    for listing in listings:
        quantity, explanation = terms.compute(listing)
        computed.append({"b_id": listing.id, "quantity": quantity, "explanation": explanation})
        if quantity is None or listing.connection_id not in pushable:
            continue
        push = queue_push(listing, quantity, explanation, active.get(listing.id, []), reason)
        if push is not None:
            pushes.append(push)
            queued.add(listing.connection_id)
    _store(session, computed, pushes, now)
    return queued


def _store(session: Session, computed: list[dict[str, Any]], pushes: list[dict[str, Any]], now: datetime) -> None:
    """Each listing's new ATS and the new pushes, as two executemany statements (no ORM object per row).

    Listings of this session's identity map get the same values, so a caller holding one sees them."""
    session.execute(STORE_ATS, [row | {"now": now} for row in computed])
    if any(isinstance(held, Listing) for held in session.identity_map.values()):  # a source run holds none
        _refresh_held(session, computed, now)
    if pushes:
        session.execute(insert(PUSHES), [push | {"created_at": now, "updated_at": now} for push in pushes])


def _refresh_held(session: Session, computed: list[dict[str, Any]], now: datetime) -> None:
    for row in computed:
        held = session.identity_map.get(identity_key(Listing, row["b_id"]))
        if held is not None:
            for name, value in (("ats_quantity", row["quantity"]), ("ats_explanation", row["explanation"])):
                set_committed_value(held, name, value)
            set_committed_value(held, "ats_computed_at", now)
            set_committed_value(held, "updated_at", now)


def _stock_connections(session: Session, connection_ids: set[int]) -> set[int]:
    """The connections whose channel takes stock writes (others get ATS shown, nothing pushed)."""
    specs = channel_specs()
    query = select(ChannelConnection.id, ChannelConnection.channel).where(ChannelConnection.id.in_(connection_ids))
    out = set()
    for conn_id, channel in session.execute(query):
        spec = specs.get(channel)
        if spec is not None and Capability.STOCK in spec.capabilities:
            out.add(conn_id)
    return out


def _active_pushes(session: Session, listing_ids: list[int]) -> dict[int, list[StockPush]]:
    out: dict[int, list[StockPush]] = {}
    for chunk in chunks(listing_ids):
        query = (
            select(StockPush)
            .where(StockPush.listing_id.in_(chunk), StockPush.status.in_(ACTIVE_PUSH))
            .order_by(StockPush.id)
        )
        for push in session.scalars(query):
            out.setdefault(push.listing_id, []).append(push)
    return out


def queue_push(
    listing: ListingTarget,
    quantity: int,
    explanation: dict[str, Any],
    active: list[StockPush],
    reason: str,
) -> dict[str, Any] | None:
    """The new pending push of ``quantity`` for the listing, unless the channel already has (or is getting) it.

    Pending pushes it replaces become superseded. Returns the new push's values (the caller inserts it).
    """
    expected = active[-1].quantity if active else listing.last_pushed_quantity
    if expected == quantity:
        return None
    for push in active:
        if push.status == PushStatus.PENDING:
            push.status = PushStatus.SUPERSEDED
            push.error = None
    in_flight = any(push.status == PushStatus.SENDING for push in active)
    if not in_flight and listing.last_pushed_quantity == quantity:
        return None  # back to what the channel already shows: nothing to send
    return {
        "workspace_id": listing.workspace_id,
        "connection_id": listing.connection_id,
        "listing_id": listing.id,
        "product_id": listing.product_id,
        "quantity": quantity,
        "status": PushStatus.PENDING,
        "reason": reason,
        "explanation": explanation,
        "attempts": 0,
    }


# --- the order hook -------------------------------------------------------------------------------------


def order_lines_changed(
    session: Session, workspace_id: int, connection_id: int, skus: set[str], reason: str
) -> set[int]:
    """New or changed order lines on one connection: recompute their products on every channel now.

    SKUs are read as the order's channel lists them (a listing of that connection with the SKU), else as
    catalog SKUs; a bundle's components are recomputed with it. SKUs matching nothing go to the unmapped
    report. Returns the connections that got new pending pushes.
    """
    product_ids, unknown = resolve_order_skus(session, workspace_id, connection_id, skus)
    if unknown:
        _report_unmapped(session, workspace_id, connection_id, unknown)
    recipes = recipes_of(session, workspace_id, product_ids)
    return recompute(session, workspace_id, product_ids | {c for r in recipes.values() for c in r}, reason)


def _report_unmapped(session: Session, workspace_id: int, connection_id: int, skus: list[str]) -> None:
    from fenicia.inventory.unmapped import record_unmapped_order_skus  # imported here: unmapped imports this module

    record_unmapped_order_skus(session, workspace_id, connection_id, skus)

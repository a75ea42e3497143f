"""Orders a source has not absorbed yet: the order lines received after a stock level's snapshot that still
consume stock, per product (bundle lines expanded into their components), and which product an order line's
SKU means (the line's own channel listing first, then the catalog).

Available-to-sell (``ats.recompute``) subtracts these from the source's numbers, so an order taken between
the source's snapshot and the next sync never re-inflates the stock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from fenicia.catalog.models import BundleComponent, Product
from fenicia.channels.models import Listing
from fenicia.inventory.lookups import unindexed
from fenicia.inventory.rules import Demand, Level
from fenicia.orders.models import Order, OrderLine, OrderStatus

CHUNK_SIZE = 400  # products per round of queries (keeps IN lists well inside every database's limits)
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK_SIZE) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def recipes_of(session: Session, workspace_id: int, bundle_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    recipes: dict[int, dict[int, int]] = {}
    for chunk in chunks(sorted(set(bundle_ids))):
        query = select(BundleComponent).where(
            unindexed(BundleComponent.workspace_id) == workspace_id, BundleComponent.bundle_id.in_(chunk)
        )
        for row in session.scalars(query):
            recipes.setdefault(row.bundle_id, {})[row.component_id] = row.quantity
    return recipes


@dataclass
class _SkuMap:
    """Which product an order line's SKU means: the line's own channel listing first, then the catalog."""

    by_sku: dict[str, int] = field(default_factory=dict)
    by_listing: dict[tuple[int, str], int] = field(default_factory=dict)

    def product_of(self, connection_id: int, sku: str) -> int | None:
        return self.by_listing.get((connection_id, sku)) or self.by_sku.get(sku)

    def skus(self) -> list[str]:
        return sorted(set(self.by_sku) | {sku for _, sku in self.by_listing})


def sku_map(session: Session, workspace_id: int, product_ids: set[int]) -> _SkuMap:
    found = _SkuMap()
    for chunk in chunks(sorted(product_ids)):
        products = select(Product.id, Product.sku).where(
            unindexed(Product.workspace_id) == workspace_id, Product.id.in_(chunk)
        )
        found.by_sku.update({sku: pid for pid, sku in session.execute(products)})
        listings = select(Listing.connection_id, Listing.sku, Listing.product_id).where(
            unindexed(Listing.workspace_id) == workspace_id, Listing.product_id.in_(chunk), Listing.sku.is_not(None)
        )
        for conn_id, sku, pid in session.execute(listings):
            if sku is not None and pid is not None:
                found.by_listing[(conn_id, sku)] = pid
    return found


def demands(
    session: Session, workspace_id: int, stocked: set[int], levels: dict[int, list[Level]]
) -> dict[int, list[Demand]]:
    """Order lines that may not be in some snapshot yet, per stocked product (bundle lines expanded)."""
    snapshots = [lv.snapshot_at for pid in stocked for lv in levels.get(pid, [])]
    if not snapshots:
        return {}
    containing = recipes_of(session, workspace_id, _bundles_containing(session, workspace_id, stocked))
    skus = sku_map(session, workspace_id, stocked | set(containing))
    out: dict[int, list[Demand]] = {}
    for row in _lines_since(session, workspace_id, min(snapshots), skus.skus()):
        pid = skus.product_of(row.connection_id, row.sku)
        if pid is None:
            continue
        for product_id, per in containing.get(pid, {pid: 1}).items():
            if product_id in stocked:
                out.setdefault(product_id, []).append(_demand(row, per, pid if pid in containing else None))
    return out


def _bundles_containing(session: Session, workspace_id: int, product_ids: set[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(sorted(product_ids)):
        query = select(BundleComponent.bundle_id).where(
            unindexed(BundleComponent.workspace_id) == workspace_id, BundleComponent.component_id.in_(chunk)
        )
        found.update(session.scalars(query))
    return found


@dataclass(frozen=True)
class _LineRow:
    line_id: int
    order_id: int
    connection_id: int
    sku: str
    quantity: int
    shipped: int
    cancelled: int
    received_at: datetime
    placed_at: datetime


def _lines_since(session: Session, workspace_id: int, since: datetime, skus: list[str]) -> Iterator[_LineRow]:
    """Lines of orders received after ``since`` that still consume stock (not cancelled, not deleted)."""
    for chunk in chunks(skus):
        query = (
            select(
                OrderLine.id,
                OrderLine.order_id,
                Order.connection_id,
                OrderLine.sku,
                OrderLine.quantity,
                OrderLine.shipped_quantity,
                OrderLine.cancelled_quantity,
                Order.created_at,
                Order.placed_at,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                unindexed(Order.workspace_id) == workspace_id,  # driven by the lines' SKU index
                Order.created_at > since,
                Order.status != OrderStatus.CANCELLED,
                Order.deleted_at_source.is_(False),
                OrderLine.sku.in_(chunk),
            )
        )
        for line_id, order_id, conn_id, sku, quantity, shipped, cancelled, received, placed in session.execute(query):
            if sku is not None:
                yield _LineRow(line_id, order_id, conn_id, sku, quantity, shipped, cancelled, received, placed)


def _demand(row: _LineRow, per: int, bundle_id: int | None) -> Demand:
    return Demand(
        order_id=row.order_id,
        line_id=row.line_id,
        quantity=max(0, row.quantity - row.cancelled) * per,
        shipped=row.shipped * per,
        received_at=row.received_at,
        placed_at=row.placed_at,
        bundle_id=bundle_id,
    )


def resolve_order_skus(
    session: Session, workspace_id: int, connection_id: int, skus: set[str]
) -> tuple[set[int], list[str]]:
    """The products these order-line SKUs mean on this connection, and the SKUs that mean none."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(skus)):
        listings = select(Listing.sku, Listing.product_id).where(
            Listing.connection_id == connection_id, Listing.sku.in_(chunk), Listing.product_id.is_not(None)
        )
        found.update({sku: pid for sku, pid in session.execute(listings) if sku is not None and pid is not None})
        rest = [sku for sku in chunk if sku not in found]
        products = select(Product.sku, Product.id).where(Product.workspace_id == workspace_id, Product.sku.in_(rest))
        found.update({sku: pid for sku, pid in session.execute(products)})
    return set(found.values()), sorted(skus - set(found))
